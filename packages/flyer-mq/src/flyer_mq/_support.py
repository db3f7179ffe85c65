"""Whether FastStream can run here: it needs Python 3.10+ (0.7), so flyer-mq does too."""

from __future__ import annotations

import sys

SUPPORTED = sys.version_info >= (3, 10)
UNSUPPORTED_REASON = "flyer-mq needs Python 3.10+ (FastStream 0.7 does not install here)"

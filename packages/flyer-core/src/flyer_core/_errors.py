"""Start-up errors: what stops an app from starting, each one line naming the culprit."""

from __future__ import annotations


class StartupError(RuntimeError):
    """An app package, a plugin or the lifespan failed; `str(err)` names which and why."""

"""`flyer version`: every installed flyer-* distribution and its version."""

from __future__ import annotations

import platform
import re
from typing import Dict, List

from flyer_cli._table import print_rows


def installed_flyer_packages() -> List[Dict[str, str]]:
    """`[{"name": "flyer-cli", "version": "0.1.0"}, ...]`, sorted by name, one row per name."""
    import importlib.metadata

    found: Dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        raw = dist.metadata["Name"] or ""
        name = re.sub(r"[-_.]+", "-", raw).lower()
        if name.startswith("flyer-") and name not in found:
            found[name] = dist.version
    return [{"name": name, "version": found[name]} for name in sorted(found)]


def version_command(*, as_json: bool) -> int:
    """Print the flyer packages and the Python running them."""
    rows = [*installed_flyer_packages(), {"name": "python", "version": platform.python_version()}]
    print_rows(rows, ["name", "version"], as_json=as_json)
    return 0

"""Printing rows of strings as an aligned plain-text table or as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List, Sequence


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def print_rows(rows: List[Dict[str, Any]], columns: Sequence[str], *, as_json: bool) -> None:
    """Print `rows` (dicts keyed by `columns`) to stdout as a table, or as a JSON list."""
    out = sys.stdout
    if as_json:
        out.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    header = [column.upper() for column in columns]
    widths = [max([len(h)] + [len(line[i]) for line in cells]) for i, h in enumerate(header)]
    for line in [header, *cells]:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() + "\n")

"""flyer-http uses no private name of another package: a patch release cannot break it."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "flyer_http"
# `from pkg._mod import x`, `from pkg import _x`, `pkg._mod.x` for any package but flyer's own.
PRIVATE = re.compile(
    r"^\s*from\s+(?!flyer_)([a-z_][\w.]*\._\w+|[a-z_][\w.]*\s+import\s+(\w+,\s*)*_[a-z]\w*)"
    r"|\b(?!flyer_)(httpx|httpcore|anyio|tenacity|h11)(\.\w+)*\._[a-z]\w*",
    re.MULTILINE,
)


def test_no_private_names_of_other_packages() -> None:
    hits = [
        f"{path.name}:{text[: match.start()].count(chr(10)) + 1}: {match.group(0).strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for text in [path.read_text(encoding="utf-8")]
        for match in PRIVATE.finditer(text)
    ]
    assert hits == []


def test_the_check_sees_a_private_import() -> None:
    assert PRIVATE.search("from httpx._multipart import MultipartStream\n")
    assert PRIVATE.search("import httpx\nstream = httpx._content.ByteStream\n")
    assert not PRIVATE.search("from flyer_http._call import Call\n")

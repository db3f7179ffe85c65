"""The project template shipped in the wheel, read with importlib.resources and rendered.

Template files live under `flyer_cli/template/project/` with a `.tmpl` suffix (so no tool
imports, byte-compiles or lints them as part of flyer-cli). A file or folder name starting
with `dot-` gets a dot (`dot-gitignore.tmpl` -> `.gitignore`, `dot-github/` -> `.github/`),
since a real `.gitignore` inside the template would apply to the template itself. `{{ key }}`
placeholders are replaced by the project's values; an unknown key is a bug in the template
and fails loudly.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, NamedTuple, Optional, Tuple

if sys.version_info >= (3, 9):
    from importlib.resources import files
else:  # pragma: no cover - Python 3.8
    from importlib_resources import files

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_PLACEHOLDER = re.compile(r"\{\{ *([a-z_]+) *\}\}")
_SUFFIX = ".tmpl"


class RenderedFile(NamedTuple):
    """One file of the generated project: POSIX path relative to the project, bytes, mode."""

    path: str
    content: bytes
    mode: int


def _walk(node: Traversable, prefix: Tuple[str, ...]) -> Iterator[Tuple[Tuple[str, ...], bytes]]:
    for child in sorted(node.iterdir(), key=lambda item: item.name):
        if child.name == "__pycache__":
            continue
        if child.is_dir():
            yield from _walk(child, (*prefix, child.name))
        elif child.name.endswith(_SUFFIX):
            yield (*prefix, child.name), child.read_bytes()


def _dotted(name: str) -> str:
    return "." + name[len("dot-") :] if name.startswith("dot-") else name


def _output_path(parts: Tuple[str, ...]) -> str:
    *folders, name = parts
    return "/".join([*map(_dotted, folders), _dotted(name[: -len(_SUFFIX)])])


def render(text: str, values: Dict[str, str]) -> str:
    """Replace every `{{ key }}` in `text`; an unknown key raises KeyError naming it."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{ {key} }}}} has no value")
        return values[key]

    return _PLACEHOLDER.sub(substitute, text)


def _template_root() -> Traversable:
    return files("flyer_cli").joinpath("template").joinpath("project")


def flyer_dependencies() -> List[str]:
    """The flyer-* distributions the generated pyproject.toml depends on, in its order."""
    text = _template_root().joinpath("pyproject.toml.tmpl").read_text(encoding="utf-8")
    return list(dict.fromkeys(re.findall(r'^\s*"(flyer-[a-z]+)\b', text, flags=re.MULTILINE)))


def uv_sources(flyer_source: Optional[Path]) -> str:
    """The `[tool.uv.sources]` table taking flyer from the checkout `flyer_source` ("": none).

    Editable, as the checkout's own workspace installs its packages: uv reads the flyer-*
    packages' workspace sources for their siblings, and the two must agree.
    """
    if flyer_source is None:
        return ""
    lines = [
        "",
        "# flyer's packages from a local checkout (flyer create --flyer-source), not the index.",
        "[tool.uv.sources]",
    ]
    for dist in flyer_dependencies():
        path = json.dumps(str(flyer_source / "packages" / dist), ensure_ascii=False)
        lines.append(f"{dist} = {{ path = {path}, editable = true }}")
    return "\n".join(lines) + "\n"


def template_values(name: str, prefix: str, flyer_source: Optional[Path] = None) -> Dict[str, str]:
    """The placeholder values for project `name` served under `prefix`.

    `python` is this interpreter's major.minor: the project requires it (requires-python),
    pins it (.python-version) and its image runs it.
    """
    from flyer_cli.__about__ import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    return {
        "name": name,
        "compose_name": name.lower(),
        "prefix": prefix,
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "flyer_range": f">={major}.{minor},<{major}.{minor + 1}",
        "uv_sources": uv_sources(flyer_source),
    }


def render_project(
    name: str, prefix: str, flyer_source: Optional[Path] = None
) -> List[RenderedFile]:
    """Every file of a new project, rendered in memory (nothing is written here)."""
    values = template_values(name, prefix, flyer_source)
    rendered = []
    for parts, raw in _walk(_template_root(), ()):
        path = _output_path(parts)
        text = render(raw.decode("utf-8"), values)
        mode = 0o755 if path.endswith(".sh") else 0o644
        rendered.append(RenderedFile(path, text.encode("utf-8"), mode))
    return rendered

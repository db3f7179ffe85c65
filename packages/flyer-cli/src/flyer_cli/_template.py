"""The project template shipped in the wheel, read with importlib.resources and rendered.

Template files live under `flyer_cli/template/project/` with a `.tmpl` suffix (so no tool
imports, byte-compiles or lints them as part of flyer-cli). A name starting with `dot-`
becomes a dotfile (`dot-gitignore.tmpl` -> `.gitignore`), since a real `.gitignore` inside
the template would apply to the template itself. `{{ key }}` placeholders are replaced by
the project's values; an unknown key is a bug in the template and fails loudly.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Dict, Iterator, List, NamedTuple, Tuple

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


def _output_name(name: str) -> str:
    name = name[: -len(_SUFFIX)]
    return "." + name[len("dot-") :] if name.startswith("dot-") else name


def render(text: str, values: Dict[str, str]) -> str:
    """Replace every `{{ key }}` in `text`; an unknown key raises KeyError naming it."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{ {key} }}}} has no value")
        return values[key]

    return _PLACEHOLDER.sub(substitute, text)


def template_values(name: str, prefix: str) -> Dict[str, str]:
    """The placeholder values for project `name` served under `prefix`."""
    from flyer_cli.__about__ import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    return {
        "name": name,
        "prefix": prefix,
        "flyer_range": f">={major}.{minor},<{major}.{minor + 1}",
    }


def render_project(name: str, prefix: str) -> List[RenderedFile]:
    """Every file of a new project, rendered in memory (nothing is written here)."""
    values = template_values(name, prefix)
    root = files("flyer_cli").joinpath("template").joinpath("project")
    rendered = []
    for parts, raw in _walk(root, ()):
        path = "/".join((*parts[:-1], _output_name(parts[-1])))
        text = render(raw.decode("utf-8"), values)
        mode = 0o755 if path.endswith(".sh") else 0o644
        rendered.append(RenderedFile(path, text.encode("utf-8"), mode))
    return rendered

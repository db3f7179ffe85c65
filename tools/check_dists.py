"""Check every built artifact in a dist folder against its package's pyproject.

For each package: exactly one sdist and one wheel; name and version equal to
`__about__.__version__`; Requires-Python and Requires-Dist equal to the pyproject;
`py.typed` inside the wheel. Exits non-zero naming the first artifact that is off.
"""

from __future__ import annotations

import ast
import email.parser
import sys
import tarfile
import zipfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def about_version(package: str) -> str:
    src = ROOT / "packages" / f"flyer-{package}" / "src" / f"flyer_{package}" / "__about__.py"
    for node in ast.parse(src.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__version__":
            return str(ast.literal_eval(node.value))
    raise SystemExit(f"{src}: no __version__")


def expected_requires(project: dict) -> set[str]:
    reqs = {str(Requirement(r)) for r in project.get("dependencies", [])}
    for extra, items in project.get("optional-dependencies", {}).items():
        for raw in items:
            req = Requirement(raw)
            marker = f'extra == "{extra}"'
            if req.marker:
                marker = f"({req.marker}) and {marker}"
            req.marker = None
            reqs.add(f"{req}; {marker}")
    return {normalise(r) for r in reqs}


def normalise(raw: str) -> str:
    req = Requirement(raw)
    marker = str(req.marker).replace(" ", "").replace("'", '"') if req.marker else ""
    name = req.name.lower().replace("_", "-")
    extras = ",".join(sorted(req.extras))
    return f"{name}[{extras}]{req.specifier};{marker}"


def check(dist: Path, package: str) -> list[str]:
    problems: list[str] = []
    pyproject = tomllib.loads(
        (ROOT / "packages" / f"flyer-{package}" / "pyproject.toml").read_text()
    )
    project = pyproject["project"]
    version = about_version(package)
    module = f"flyer_{package}"
    wheels = list(dist.glob(f"{module}-*.whl"))
    sdists = list(dist.glob(f"{module}-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"flyer-{package}: expected one wheel and one sdist, found {wheels + sdists}"]
    with zipfile.ZipFile(wheels[0]) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        wheel_meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
        if f"{module}/py.typed" not in names:
            problems.append(f"{wheels[0].name}: no {module}/py.typed")
        if f"{module}/__about__.py" not in names:
            problems.append(f"{wheels[0].name}: no {module}/__about__.py")
    with tarfile.open(sdists[0]) as tf:
        pkg_info = next(
            m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
        )
        extracted = tf.extractfile(pkg_info)
        assert extracted is not None
        sdist_meta = email.parser.Parser().parsestr(extracted.read().decode())
    for label, meta in (("wheel", wheel_meta), ("sdist", sdist_meta)):
        where = f"flyer-{package} {label}"
        if meta["Name"] != project["name"]:
            problems.append(f"{where}: Name {meta['Name']!r} != {project['name']!r}")
        if meta["Version"] != version:
            problems.append(f"{where}: Version {meta['Version']!r} != __about__ {version!r}")
        if meta["Requires-Python"] != project["requires-python"]:
            problems.append(
                f"{where}: Requires-Python {meta['Requires-Python']!r} != {project['requires-python']!r}"
            )
        got = {normalise(r) for r in meta.get_all("Requires-Dist") or []}
        want = expected_requires(project)
        if got != want:
            problems.append(
                f"{where}: Requires-Dist differs: missing {sorted(want - got)}, extra {sorted(got - want)}"
            )
        if not meta.get("Summary"):
            problems.append(f"{where}: no Summary")
    return problems


def main() -> int:
    dist = Path(sys.argv[1])
    packages = sys.argv[2:]
    problems = [p for package in packages for p in check(dist, package)]
    for problem in problems:
        print(problem)
    artifacts = sorted(p.name for p in [*dist.glob("*.whl"), *dist.glob("*.tar.gz")])
    print(f"{len(artifacts)} artifacts checked, {len(problems)} problems")
    if len(artifacts) != 2 * len(packages):
        print(f"expected {2 * len(packages)} artifacts, found {len(artifacts)}: {artifacts}")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

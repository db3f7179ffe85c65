"""Every check flyer runs: `nox -l` lists them, plain `nox` runs the CI set.

Sessions read what they install from the packages' own pyproject.toml files:
`[project] dependencies` / `optional-dependencies` for sibling packages (always taken
from this tree, never from an index), `[dependency-groups] test` for test tools and
`[tool.flyer] test-extras` for the extras a package's tests need.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nox
from packaging.requirements import Requirement

ROOT = Path(__file__).parent
PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
NEWEST = PYTHONS[-1]
PACKAGES = ["status", "http", "cache", "db", "sched", "mcp", "mq", "telemetry", "core", "cli"]
STANDALONE = {
    # package -> distributions allowed in its env besides itself (lower-case, "-" form)
    "status": set(),
    "http": {
        "flyer-status",
        "httpx",
        "httpcore",
        "h11",
        "anyio",
        "idna",
        "sniffio",
        "certifi",
        "exceptiongroup",
        "typing-extensions",
    },
}


def _pyenv_root() -> Path | None:
    """pyenv's root: $PYENV_ROOT, else what `pyenv root` says, else ~/.pyenv if it exists."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    home = Path.home() / ".pyenv"
    return home if home.is_dir() else None


def _pyenv_interpreter(root: Path | None, version: str) -> Path | None:
    """The newest `X.Y.Z` build of `version` in pyenv's versions folder, if any."""
    if root is None or not (root / "versions").is_dir():
        return None
    builds = [
        d
        for d in (root / "versions").iterdir()
        if re.fullmatch(rf"{re.escape(version)}\.\d+", d.name)
    ]
    for build in sorted(builds, key=lambda d: int(d.name.rsplit(".", 1)[1]), reverse=True):
        exe = build / "bin" / f"python{version}"
        if os.access(exe, os.X_OK):
            return exe
    return None


def _expose_interpreters() -> list[str]:
    """Make every installed CPython in PYTHONS findable by nox, whatever the shell selected.

    nox finds `python3.X` on PATH, among uv's managed Pythons and through the *active* pyenv
    versions only, so in a plain shell (one pyenv version active) the others are not found.
    Those are linked from pyenv's versions folder into `.nox/_pythons`, which goes first on
    this process's PATH; the user's shell and pyenv settings are left alone. Returns the
    versions found nowhere.
    """
    root = _pyenv_root()
    shims = root / "shims" if root else None
    links = ROOT / ".nox" / "_pythons"
    missing = []
    for version in PYTHONS:
        name = f"python{version}"
        on_path = shutil.which(name)
        if on_path and (shims is None or Path(on_path).parent != shims):
            continue  # a real interpreter, not a pyenv shim that only works when active
        exe = _pyenv_interpreter(root, version)
        link = links / name
        if link.is_symlink() and (exe is None or Path(os.readlink(link)) != exe):
            link.unlink()  # left by an earlier run; that build is gone or superseded
        if exe is None:
            missing.append(version)
        elif not link.is_symlink():
            links.mkdir(parents=True, exist_ok=True)
            link.symlink_to(exe)
    if links.is_dir():
        os.environ["PATH"] = f"{links}{os.pathsep}{os.environ.get('PATH', '')}"
    return missing


def _uv_managed(version: str) -> bool:
    """Whether uv has `version` already, or downloads it now (output kept to one line)."""
    uv = shutil.which("uv")
    if uv is None:
        return False
    find = [uv, "python", "find", "--no-python-downloads", version]
    if subprocess.run(find, capture_output=True, timeout=60).returncode == 0:
        return True
    if os.environ.get("UV_PYTHON_DOWNLOADS") == "never":
        return False
    print(f"nox > Python {version} not found; asking uv to download it", file=sys.stderr)
    install = [uv, "python", "install", version]
    env = {**os.environ, "UV_PYTHON_INSTALL_BIN": "0"}
    try:
        return subprocess.run(install, capture_output=True, timeout=600, env=env).returncode == 0
    except subprocess.TimeoutExpired:
        return False


_LISTING = {"-l", "--list", "--list-sessions", "-h", "--help", "--version", "--json"}
MISSING_PYTHONS = _expose_interpreters()
if MISSING_PYTHONS and not _LISTING & set(sys.argv[1:]):
    MISSING_PYTHONS = [v for v in MISSING_PYTHONS if not _uv_managed(v)]
    for _version in MISSING_PYTHONS:
        print(
            f"nox > Python {_version} is not installed (looked on PATH, in pyenv's versions "
            f"folder and among uv's Pythons): install it with `pyenv install {_version}` or "
            f"`uv python install {_version}`; its sessions fail until then",
            file=sys.stderr,
        )
    if MISSING_PYTHONS:
        # uv was asked above; a second attempt per session would only repeat its error.
        nox.options.download_python = "never"

nox.needs_version = ">=2026.8.10"
nox.options.default_venv_backend = "uv|virtualenv"
# Plain `nox` (the CI set) runs two sessions at a time: most of a session's time is spent
# waiting on servers, brokers and subprocesses, so two overlap well even on two cores. Every
# session may run beside any other: tests name their tables, keys, topics and ports uniquely,
# and each session keeps its own pytest cache and build folders. A chosen session (`-s`, `-k`,
# `-p`, `-t`) runs alone with its output live, as does everything under `nox -j 1`.
_SELECTING = {"-s", "-e", "--session", "--sessions", "-k", "--keywords", "-p", "--python"}
_SELECTING |= {"--pythons", "-t", "--tags"}
if not os.environ.get("NOXSESSION") and not any(
    arg.split("=", 1)[0] in _SELECTING for arg in sys.argv[1:]
):
    nox.options.parallel = 2
nox.options.allow_parallel = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = [
    "lint",
    # The two longest sessions (about 9 and 5 minutes) start first, so that two at a time the
    # short ones fill in around them instead of one long session running alone at the end.
    f"tests-{NEWEST}(package='mq')",
    "integration",
    "typecheck",
    "build",
    "tests",
    "standalone",
    "minimums",
    "fuzz",
    "fastapi-tutorial",
]


def _pyproject(package: str) -> dict[str, Any]:
    return nox.project.load_toml(ROOT / "packages" / f"flyer-{package}" / "pyproject.toml")


def _local(dist: str) -> Path:
    return ROOT / "packages" / dist


def _siblings(package: str, extras: list[str]) -> list[str]:
    """Every flyer distribution `flyer-<package>[extras]` needs, transitively."""
    seen: set[str] = set()
    todo = [(f"flyer-{package}", set(extras))]
    while todo:
        dist, wanted = todo.pop()
        project = nox.project.load_toml(_local(dist) / "pyproject.toml")["project"]
        reqs = list(project.get("dependencies", []))
        optional = project.get("optional-dependencies", {})
        for extra in wanted:
            reqs += optional.get(extra, [])
        seen.add(dist)
        for raw in reqs:
            req = Requirement(raw)
            if req.name.startswith("flyer-") and (req.name not in seen or req.extras):
                todo.append((req.name, set(req.extras)))
    return sorted(seen)


def _install_local(session: nox.Session, package: str, extras: list[str], *args: str) -> None:
    """Install a package with its extras, its flyer siblings from this tree, and its test group."""
    spec = str(_local(f"flyer-{package}"))
    if extras:
        spec += "[" + ",".join(extras) + "]"
    others = [str(_local(d)) for d in _siblings(package, extras) if d != f"flyer-{package}"]
    groups = nox.project.dependency_groups(_pyproject(package), "test")
    session.install(*args, spec, *others, *groups)


def _test_extras(package: str) -> list[str]:
    return list(_pyproject(package).get("tool", {}).get("flyer", {}).get("test-extras", []))


def _pytest(session: nox.Session, *paths: str, skip_slow: bool = False) -> None:
    """Run pytest on `paths`, or only on the test paths given after `--` when there are any.

    `skip_slow` leaves out the tests marked `slow` (multi-process, fault and soak tests),
    unless the command line picks tests itself with `-m`.
    """
    given = [
        arg
        for arg in session.posargs
        if not arg.startswith("-") and Path(arg.split("::")[0]).exists()
    ]
    targets = [] if given else list(paths)
    marks = ["-m", "not slow"] if skip_slow and "-m" not in session.posargs else []
    # A pytest cache per session: sessions run side by side.
    cache = Path(session.virtualenv.location) / ".pytest_cache"
    session.run(
        "pytest",
        "--durations=12",  # the slowest tests, to keep CI time in view
        "-o",
        f"cache_dir={cache}",
        *targets,
        *marks,
        *session.posargs,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )


@nox.session(python=PYTHONS)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """A package's tests on one Python, against its extras and its siblings from this tree.

    The slow multi-process and fault tests run on the oldest and the newest Python, where they
    tell most; the Pythons between run everything else.
    """
    _install_local(session, package, _test_extras(package))
    middle = session.python not in (PYTHONS[0], NEWEST)
    _pytest(session, f"packages/flyer-{package}/tests", skip_slow=middle)


@nox.session(python=NEWEST)
def integration(session: nox.Session) -> None:
    """Cross-package tests: every package installed, real Redis, MariaDB and PostgreSQL."""
    _install_local(session, "core", ["all"])
    _install_local(session, "cli", [])
    _install_local(session, "db", ["mysql", "postgres", "dataset"])
    session.install(
        *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "integration")
    )
    _pytest(session, "tests/integration")


@nox.session(python=PYTHONS[0])
@nox.parametrize("package", PACKAGES)
def minimums(session: nox.Session, package: str) -> None:
    """A package's tests with every direct dependency at its declared floor (Python 3.8).

    The slow multi-process and fault tests are left to the `tests` sessions on 3.8 and the
    newest Python: they exercise processes, signals and brokers, not the dependency floors.
    """
    extras = _test_extras(package)
    _install_local(session, package, extras, "--resolution=lowest-direct")
    _pytest(session, f"packages/flyer-{package}/tests", skip_slow=True)


@nox.session(python=PYTHONS[0])
@nox.parametrize("package", list(STANDALONE))
def standalone(session: nox.Session, package: str) -> None:
    """flyer-status and flyer-http installed alone from their wheels: nothing else comes along."""
    wheels = Path(session.virtualenv.location) / "_wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    dists = [f"flyer-{package}", *sorted(d for d in STANDALONE[package] if d.startswith("flyer-"))]
    for dist in dists:
        session.run(
            "uv", "build", "--wheel", "-q", "-o", str(wheels), str(_local(dist)), external=True
        )
    session.install(*map(str, sorted(wheels.glob("*.whl"))))
    listing = session.run(
        "python",
        "-c",
        "import importlib.metadata as m, json; "
        "print(json.dumps(sorted({d.metadata['Name'].lower().replace('_', '-') for d in m.distributions()})))",
        silent=True,
    )
    installed = set(json.loads(str(listing).strip().splitlines()[-1]))
    unexpected = installed - STANDALONE[package] - {f"flyer-{package}"}
    if unexpected:
        session.error(f"flyer-{package} pulled in unexpected distributions: {sorted(unexpected)}")
    session.log(f"flyer-{package} alone installs: {sorted(installed)}")
    module = f"flyer_{package}"
    session.run("python", "-c", f"import {module}; print({module}.__name__, {module}.__version__)")
    # Then its own tests, against the wheel (plus only the test tools and test extras).
    extras = _test_extras(package)
    groups = nox.project.dependency_groups(_pyproject(package), "test")
    (own,) = wheels.glob(f"flyer_{package}-*.whl")
    extra = f"[{','.join(extras)}]" if extras else ""
    session.install(f"flyer-{package}{extra} @ {own.resolve().as_uri()}", *groups)
    _pytest(session, f"packages/flyer-{package}/tests")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree (on the Python that runs nox)."""
    session.install(*nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=NEWEST)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's src, with every package's dependencies installed."""
    _install_local(session, "core", ["all"])
    _install_local(session, "cli", [])
    _install_local(session, "db", ["mysql", "postgres", "dataset"])
    session.install(
        *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "typecheck")
    )
    # The packages nox tests (a package joins PACKAGES, and core's extras, once it is complete).
    srcs = [str(_local(f"flyer-{package}") / "src" / f"flyer_{package}") for package in PACKAGES]
    session.run("mypy", *srcs)


@nox.session(python=NEWEST)
def build(session: nox.Session) -> None:
    """sdist + wheel for every package into dist/, then check each artifact's metadata."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for package in PACKAGES:
        session.run(
            "uv", "build", "-q", "-o", str(dist), str(_local(f"flyer-{package}")), external=True
        )
    session.install("twine>=5", "packaging>=24")
    artifacts = sorted([*dist.glob("*.whl"), *dist.glob("*.tar.gz")])
    session.run("twine", "check", "--strict", *map(str, artifacts))
    session.run("python", str(ROOT / "tools" / "check_dists.py"), str(dist), *PACKAGES)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Generate a demo project into ./demo and serve it on 127.0.0.1:8080 with embedded defaults.

    Runs on the Python that runs nox: the demo needs no particular version."""
    _install_local(session, "cli", [])
    _install_local(session, "core", ["all"])
    target = ROOT / "demo"
    session.run("flyer", "create", "demo", "--dir", str(target), "--force")
    session.chdir(target)
    session.run(
        "flyer",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        os.environ.get("FLYER_DEMO_PORT", "8080"),
        *session.posargs,
    )


@nox.session(python=NEWEST, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (bench/README.md): bare Starlette, bare FastAPI and flyer side by side, start-up,
    flyer-http and flyer-sched; prints the table and writes bench/out/results.json."""
    if shutil.which("wrk") is None:
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            session.error("wrk is not installed (Debian package `wrk`: apt-get install wrk)")
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "wrk", external=True)
    if shutil.which("taskset") is None:
        session.error("taskset is not installed (Debian package `util-linux`)")
    # Installed as a deployment is: wheels built from this tree (not editable), bytecode
    # compiled (pip's default). Start-up is measured against bare FastAPI in this environment.
    deploy = ["--no-sources", "--compile-bytecode"] if session.venv_backend == "uv" else []
    try:
        _install_local(session, "core", ["all", "granian"], *deploy)
    except nox.command.CommandFailed:
        session.warn("the granian extra did not install: its rows are skipped")
        _install_local(session, "core", ["all"], *deploy)
    # The other framework of the DataResponse comparison (issue: routes at Litestar's speed)
    # gets an environment of its own: what Litestar pulls in (rich, click, ...) stays out of
    # flyer's, as it stays out of a generated project's.
    litestar = Path(session.create_tmp()).resolve() / "litestar"
    python = str(litestar / "bin" / "python")
    if not Path(python).exists():
        session.run_install(
            "uv", "venv", "--quiet", "--python", str(Path(session.bin) / "python"), str(litestar),
            external=True,
        )  # fmt: skip
    # The same uvicorn (and uvloop, httptools) serves it, and the same pydantic validates.
    uvicorn, pydantic = session.run_install(
        "python",
        "-c",
        "import uvicorn, pydantic; print(uvicorn.__version__, pydantic.VERSION)",
        silent=True,
    ).split()  # type: ignore[union-attr]
    session.run_install(
        "uv", "pip", "install", "--quiet", "--python", python, "--compile-bytecode",
        "litestar", "msgspec", f"uvicorn[standard]=={uvicorn}", f"pydantic=={pydantic}",
        str(_local("flyer-status")),
        external=True,
    )  # fmt: skip
    session.run(
        "python", "bench/run.py", *session.posargs,
        env={"PYTHONDONTWRITEBYTECODE": "1", "FLYER_BENCH_LITESTAR_PYTHON": python},
    )  # fmt: skip


@nox.session(python=NEWEST, name="fastapi-tutorial")
def fastapi_tutorial(session: nox.Session) -> None:
    """FastAPI's own tutorial tests (its `docs_src` apps and `tests/test_tutorial`), every app
    serving its routes through flyer's compiled handlers (tests/fastapi_tutorial).

    The tests come from the sdist of the FastAPI release installed here, downloaded now with
    pip (never copied into this repository), with the test dependencies it declares.
    """
    _install_local(session, "core", [])
    session.install("pip")
    version = session.run(
        "python", "-c", "import fastapi; print(fastapi.__version__)", silent=True
    ).strip()  # type: ignore[union-attr]
    tmp = Path(session.create_tmp())
    sdist = tmp / "sdist"
    shutil.rmtree(sdist, ignore_errors=True)
    session.run(
        "python", "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
        "--dest", str(sdist), f"fastapi=={version}",
    )  # fmt: skip
    archive = next(sdist.glob("fastapi-*.tar.gz"))
    shutil.unpack_archive(str(archive), str(sdist))
    source = sdist / f"fastapi-{version}"
    tests = nox.project.dependency_groups(nox.project.load_toml(source / "pyproject.toml"), "tests")
    session.install(f"fastapi[all]=={version}", *tests)
    cache = Path(session.virtualenv.location) / ".pytest_cache"
    with session.chdir(source):
        session.run(
            "python", "-m", "pytest", "-q", "-o", f"cache_dir={cache}",
            "-p", "flyer_compiled_routes", "tests/test_tutorial", *session.posargs,
            env={
                "PYTHONPATH": str(ROOT / "tests" / "fastapi_tutorial"),
                "PYTHONDONTWRITEBYTECODE": "1",
            },
        )  # fmt: skip


@nox.session(python=NEWEST)
def fuzz(session: nox.Session) -> None:
    """schemathesis against a generated project's openapi.json under `flyer serve -w 2`.

    FLYER_FUZZ_EXAMPLES sets the examples per operation (300; 100 under CI=true).
    """
    _install_local(session, "core", ["all"])
    _install_local(session, "cli", [])
    session.install(
        *nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "integration"),
        "schemathesis>=4.1,<5",
    )
    _pytest(session, "tests/fuzz")

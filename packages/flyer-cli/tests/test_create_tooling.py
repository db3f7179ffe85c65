"""A generated project's day-one tooling: uv.lock, ruff, CI, compose and a Dockerfile on pyproject.

The slow test creates a project the way a flyer developer does (`--flyer-source` this
checkout, since flyer-* come from this tree, not an index) and runs, straight after
`flyer create`, its tests, `ruff check`, `ruff format --check` and `uv lock --check`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11: pytest brings tomli
    import tomli as tomllib

CHECKOUT = Path(__file__).resolve().parents[3]
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _needs_checkout() -> None:
    if not (CHECKOUT / "packages" / "flyer-core" / "pyproject.toml").is_file():
        pytest.skip("needs the flyer checkout these tests live in (not an unpacked sdist)")


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(command: List[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=str(cwd),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _uv_lock_check(uv: str, root: Path) -> subprocess.CompletedProcess[str]:
    """`uv lock --check` offline: the lock is complete and agrees with pyproject.toml.

    Run from outside with --directory, as `flyer create` runs `uv lock`: a version manager's
    shim for `uv` (pyenv) would otherwise obey the project's .python-version before uv starts.
    """
    command = [uv, "lock", "--check", "--offline", "--directory", str(root)]
    return _run([*command, "--python", sys.executable], root.parent, timeout=600)


def _pyproject(root: Path) -> Dict[str, Any]:
    return dict(tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")))


# --- uv.lock -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_new_project_passes_its_tests_ruff_and_uv_lock_check(flyer, tmp_path: Path) -> None:
    _needs_checkout()
    uv = shutil.which("uv")
    root = tmp_path / "shop"
    created = flyer(
        "create", "shop", "--dir", str(root), "--flyer-source", str(CHECKOUT), timeout=900
    )
    assert created.returncode == 0, created.stderr
    if uv is not None:
        assert "uv.lock: the dependencies are locked" in created.stdout, created.stderr
        assert created.stderr == ""
        lock = (root / "uv.lock").read_text(encoding="utf-8")
        for dist in ("flyer-core", "flyer-cli", "flyer-db", "flyer-status", "fastapi"):
            assert f'name = "{dist}"' in lock, dist
        checked = _uv_lock_check(uv, root)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        _install_as_the_dockerfile_does(uv, root, tmp_path / "image")
    else:
        assert "uv.lock: skipped, uv is not on PATH" in created.stdout
        assert not (root / "uv.lock").exists()

    for command in (["check", "."], ["format", "--check", "."]):
        linted = _run([sys.executable, "-m", "ruff", *command], root)
        assert linted.returncode == 0, linted.stdout + linted.stderr

    tested = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"], root
    )
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-4000:]
    summary = tested.stdout.strip().splitlines()[-1]
    assert re.search(r"\b\d+ passed\b", summary), summary
    assert "failed" not in summary
    assert "error" not in summary


@pytest.mark.slow
def test_a_changed_dependency_fails_uv_lock_check(flyer, tmp_path: Path) -> None:
    """The check above can fail: a dependency added after create makes uv.lock stale."""
    _needs_checkout()
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    root = tmp_path / "shop"
    created = flyer(
        "create", "shop", "--dir", str(root), "--flyer-source", str(CHECKOUT), timeout=900
    )
    assert created.returncode == 0, created.stderr
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace("dependencies = [\n", 'dependencies = [\n    "idna>=3",\n'))
    checked = _uv_lock_check(uv, root)
    assert checked.returncode != 0
    assert "uv lock" in checked.stderr


def _install_as_the_dockerfile_does(uv: str, project: Path, image: Path) -> None:
    """The Dockerfile's dependency layer, without Docker: its first COPY's files alone in a
    folder, then its `uv sync` line, with this Python in place of the image's."""
    lines = (project / "Dockerfile").read_text().splitlines()
    copied = next(line for line in lines if line.startswith("COPY ")).split()[1:-1]
    (sync,) = [line for line in lines if line.startswith("RUN uv sync")]
    args = sync.split()[3:]
    python = args.index("--python")
    del args[python : python + 2]
    image.mkdir()
    for name in copied:
        shutil.copy2(str(project / name), str(image / name))
    venv = image / "venv"
    result = subprocess.run(
        [uv, "sync", "--directory", str(image), *args, "--python", sys.executable],
        cwd=str(image.parent),
        env={**_env(), "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    installed = {path.name for path in (venv / "bin").iterdir()}
    assert "flyer" in installed  # start.sh's command
    assert not {"pytest", "ruff"} & installed  # the test and lint groups stay out
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import flyer_core, flyer_db, pymysql"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr


def test_without_uv_the_lock_is_skipped_in_one_line(flyer, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    root = tmp_path / "shop"
    result = subprocess.run(
        [sys.executable, "-m", "flyer_cli", "create", "shop", "--dir", str(root)],
        env={**_env(), "PATH": str(empty)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = [line for line in result.stdout.splitlines() if line.startswith("uv.lock")]
    assert lines == [
        f"uv.lock: skipped, uv is not on PATH; install uv and run `uv lock` in {root} to make it."
    ]
    assert "uv sync" not in result.stdout
    assert (root / "pyproject.toml").is_file()
    assert not (root / "uv.lock").exists()


def test_no_lock_skips_the_lock_and_says_how(flyer, tmp_path: Path) -> None:
    result = flyer("create", "shop", "--no-lock", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "uv.lock: skipped (--no-lock); run `uv lock` in shop to make it." in result.stdout
    assert not (tmp_path / "shop" / "uv.lock").exists()


def test_a_failed_lock_is_one_warning_and_the_project_stands(tmp_path: Path) -> None:
    """Real uv, offline with an empty cache, cannot resolve: the lock is lost, nothing else."""
    if shutil.which("uv") is None:
        pytest.skip("uv is not on PATH")
    root = tmp_path / "shop"
    result = subprocess.run(
        [sys.executable, "-m", "flyer_cli", "create", "shop", "--dir", str(root)],
        env={**_env(), "UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty-cache")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("flyer: warning: uv.lock was not written (error: "), warning
    assert warning.endswith(f"; run `uv lock` in {root} once that is fixed."), warning
    assert "uv.lock: the dependencies are locked" not in result.stdout
    assert (root / "main.py").is_file()
    assert not (root / "uv.lock").exists()


# --- --flyer-source ------------------------------------------------------------------------


def test_flyer_source_writes_editable_sources_for_every_flyer_dependency(
    flyer, tmp_path: Path
) -> None:
    _needs_checkout()
    result = flyer("create", "shop", "--no-lock", "--flyer-source", str(CHECKOUT), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = _pyproject(tmp_path / "shop")
    names = [re.split(r"[\[<>=!~; ]", dep)[0] for dep in project["project"]["dependencies"]]
    flyer_deps = [name for name in names if name.startswith("flyer-")]
    assert flyer_deps == ["flyer-core", "flyer-cli", "flyer-db"]
    sources = project["tool"]["uv"]["sources"]
    assert set(sources) == set(flyer_deps)
    for name, source in sources.items():
        assert source == {"path": str(CHECKOUT / "packages" / name), "editable": True}
        assert Path(source["path"], "pyproject.toml").is_file()


def test_a_wrong_flyer_source_is_one_line_and_writes_nothing(flyer, tree, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    result = flyer("create", "shop", "--flyer-source", "elsewhere", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "flyer: error: --flyer-source 'elsewhere': expected a flyer checkout, whose packages/ "
        "folder holds flyer-core, flyer-cli, flyer-db; packages/flyer-core/pyproject.toml is missing"
    ]
    assert tree(tmp_path) == {"elsewhere": b"<dir>"}


# --- Python version, Dockerfile, ruff -----------------------------------------------------


def test_requires_python_the_python_version_file_and_the_image_agree(project: Path) -> None:
    pyproject = _pyproject(project)
    assert pyproject["project"]["requires-python"] == f">={PYTHON}"
    assert (project / ".python-version").read_text() == f"{PYTHON}\n"
    dockerfile = (project / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE) == [f"python:{PYTHON}-slim"]


def test_the_dockerfile_installs_the_locked_pyproject_dependencies_only(project: Path) -> None:
    dockerfile = (project / "Dockerfile").read_text()
    assert not (project / "requirements.txt").exists()
    assert "requirements" not in dockerfile
    assert "\nCOPY pyproject.toml uv.lock ./\n" in dockerfile
    (sync,) = [line for line in dockerfile.splitlines() if "uv sync" in line]
    assert "--locked" in sync
    assert "--no-default-groups" in sync  # no test or lint tools in the image
    # The groups left out are exactly the ones `uv sync` adds by default.
    pyproject = _pyproject(project)
    assert set(pyproject["tool"]["uv"]["default-groups"]) == set(pyproject["dependency-groups"])
    # The dependencies are installed before the code is copied: a code change keeps that layer.
    assert dockerfile.index("uv sync") < dockerfile.index("COPY --chown=app:app . .")
    assert "uv.lock" not in (project / ".dockerignore").read_text().splitlines()


def test_ruff_is_configured_in_the_pyproject(project: Path) -> None:
    pyproject = _pyproject(project)
    ruff = pyproject["tool"]["ruff"]
    assert "target-version" not in ruff  # taken from requires-python
    assert {"E", "F", "I", "B", "UP"} <= set(ruff["lint"]["select"])
    assert any(dep.startswith("ruff") for dep in pyproject["dependency-groups"]["lint"])


def test_ruff_check_catches_a_lint_error_in_the_project(own_project: Path) -> None:
    """The lint the slow test runs can fail: an unused import in the generated code is found."""
    module = own_project / "app" / "items" / "module.py"
    module.write_text("import os\n" + module.read_text(encoding="utf-8"))
    linted = _run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], own_project)
    assert linted.returncode == 1
    assert "F401" in linted.stdout


# --- CI workflow ---------------------------------------------------------------------------


def _steps(job: Mapping[str, Any]) -> List[str]:
    return [str(step.get("run", step.get("uses", ""))) for step in job["steps"]]


def test_the_ci_workflow_runs_lint_and_tests_from_the_lock(project: Path) -> None:
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"push", "pull_request"}
    steps = [step for job in workflow["jobs"].values() for step in _steps(job)]
    assert any(step.startswith("actions/checkout@") for step in steps)
    assert any(step.startswith("astral-sh/setup-uv@") for step in steps)
    assert any("ruff check" in step for step in steps)
    assert any("ruff format --check" in step for step in steps)
    assert any("pytest" in step for step in steps)
    syncs = [step for step in steps if step.startswith("uv sync")]
    assert syncs
    assert all("--locked" in step for step in syncs)


# --- compose -------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}")


def _interpolate(value: Any) -> str:
    """Compose's `${NAME:-default}` with NAME unset (all this file uses)."""
    text = str(value)
    assert "$" not in _VARIABLE.sub("", text), f"unsupported interpolation in {text!r}"
    return _VARIABLE.sub(lambda match: match.group(2), text)


def _compose(project: Path) -> Dict[str, Any]:
    return dict(yaml.safe_load((project / "compose.yaml").read_text()))


def test_compose_names_the_app_redis_and_mariadb(project: Path) -> None:
    compose = _compose(project)
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", compose["name"])
    services = compose["services"]
    assert set(services) == {"app", "redis", "mariadb"}
    app = services["app"]
    assert app["build"] == "."
    assert app["ports"] == ["8080:8080"]
    assert app["depends_on"] == {
        "redis": {"condition": "service_healthy"},
        "mariadb": {"condition": "service_healthy"},
    }
    for name in ("redis", "mariadb"):
        assert services[name]["image"].startswith(f"{name}:")
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    for volume in services["mariadb"]["volumes"]:
        assert volume.split(":")[0] in compose["volumes"]


def test_compose_wires_the_app_through_variables_flyer_reads(project: Path) -> None:
    from flyer_cache import CacheSettings
    from flyer_core import settings_report
    from flyer_db import DBSettings

    services = _compose(project)["services"]
    env = {key: _interpolate(value) for key, value in services["app"]["environment"].items()}
    known = {row["name"] for row in settings_report(None, {})}
    assert set(env) <= known, sorted(set(env) - known)

    cache = CacheSettings.from_env(env)
    assert cache.configured
    assert (cache.host, cache.port) == ("redis", 6379)

    db = DBSettings.from_env(env)
    url = db.url
    mariadb = {k: _interpolate(v) for k, v in services["mariadb"]["environment"].items()}
    assert url.drivername == "mysql+pymysql"
    assert (url.host, url.port) == ("mariadb", 3306)
    assert url.username == mariadb["MARIADB_USER"]
    assert url.password == mariadb["MARIADB_PASSWORD"]
    assert url.database == mariadb["MARIADB_DATABASE"]
    # The image has the driver that URL needs.
    assert any(
        dep.startswith("flyer-db[mysql]") for dep in _pyproject(project)["project"]["dependencies"]
    )


def _docker_compose() -> List[str]:
    """A Compose v2 client (`docker compose` or a v2 `docker-compose`), or [] when none is here.

    Compose v1 (1.x) predates the Compose Specification this file follows (`name:`).
    """
    candidates = []
    if shutil.which("docker"):
        candidates.append([str(shutil.which("docker")), "compose"])
    if shutil.which("docker-compose"):
        candidates.append([str(shutil.which("docker-compose"))])
    for command in candidates:
        probe = subprocess.run(
            [*command, "version", "--short"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        version = probe.stdout.strip().lstrip("v")
        if probe.returncode == 0 and version[:1].isdigit() and int(version.split(".")[0]) >= 2:
            return command
    return []


def test_docker_compose_config_accepts_the_file(project: Path) -> None:
    compose = _docker_compose()
    if not compose:
        pytest.skip("no docker compose client here: the file is read as YAML by the tests above")
    result = _run([*compose, "-f", "compose.yaml", "config", "--quiet"], project, timeout=120)
    assert result.returncode == 0, result.stderr

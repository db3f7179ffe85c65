"""Every installed plugin's settings are validated before anything binds or is set up
(issue 15, finding 4): `validate_settings(settings)` of the plugin protocol."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from flyer_core import SettingsError, StartupError, check_plugin_settings, create_app

PLUGIN = """
class BadPlugin:
    name = "demo"
    def validate_settings(self, settings):
        value = settings.environ.get("flyer_demo_port", "1")
        if not value.isdigit():
            raise ValueError(f"flyer_demo_port={value!r}: expected an integer 1-65535")
    def setup(self, app, settings):
        with open(settings.environ["journal"], "a") as f:
            f.write("setup\\n")
"""

MAIN = "from flyer_core import create_app\napp = create_app(None)\n"


class Plugin:
    def __init__(self, name: str, order: int, journal: List[str], bad: bool = False) -> None:
        self.name, self.order, self.journal, self.bad = name, order, journal, bad

    def validate_settings(self, settings: Any) -> None:
        self.journal.append(f"validate {self.name}")
        if self.bad:
            raise ValueError(f"flyer_{self.name}_x='y': expected z")

    def setup(self, app: Any, settings: Any) -> None:
        self.journal.append(f"setup {self.name}")


def test_create_app_validates_every_plugin_before_setting_any_up(make_settings: Any) -> None:
    journal: List[str] = []
    plugins = [Plugin("a", 10, journal), Plugin("b", 20, journal, bad=True)]
    with pytest.raises(SettingsError) as caught:
        create_app(None, make_settings(), plugins=plugins)
    assert str(caught.value) == "plugin 'b': flyer_b_x='y': expected z"
    assert journal == ["validate a", "validate b"]


def test_plugins_without_the_hook_are_set_up_as_before(make_settings: Any) -> None:
    journal: List[str] = []

    class Old:
        name = "old"

        def setup(self, app: Any, settings: Any) -> None:
            journal.append("setup old")

    create_app(None, make_settings(), plugins=[Old(), Plugin("a", 10, journal)])
    assert journal == ["validate a", "setup a", "setup old"]


def test_a_hook_that_crashes_is_a_startup_error_naming_the_plugin(make_settings: Any) -> None:
    class Crash:
        name = "crash"

        def validate_settings(self, settings: Any) -> None:
            raise KeyError("boom")

    with pytest.raises(StartupError, match=r"^plugin 'crash' failed to check its settings"):
        create_app(None, make_settings(), plugins=[Crash()])


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_modules: None) -> Iterator[Path]:
    root = tmp_path / "site"
    info = root / "flyer_demo_bad-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flyer_demo_bad\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[flyer.plugins]\ndemo = flyer_demo_bad_mod:BadPlugin\n")
    (root / "flyer_demo_bad_mod.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(root))
    return root


def test_check_plugin_settings_covers_installed_plugins(site: Path, make_settings: Any) -> None:
    settings = make_settings(demo_port="abc")
    with pytest.raises(SettingsError) as caught:
        check_plugin_settings(settings)
    assert str(caught.value) == "plugin 'demo': flyer_demo_port='abc': expected an integer 1-65535"
    check_plugin_settings(make_settings(demo_port="80"))


def _env(site: Path, **variables: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update({"flyer_log_format": "json", "PYTHONUNBUFFERED": "1"})
    env.update(variables)
    return env


def _bound(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    "runner", ["run_prod('main:app', port={port})", "run_dev('main:app', reload=True, port={port})"]
)
@pytest.mark.slow
def test_runners_stop_on_a_bad_plugin_setting_before_binding(
    site: Path, tmp_path: Path, free_port: Callable[[], int], runner: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text(MAIN)
    journal = tmp_path / "journal.txt"
    port = free_port()
    code = "from flyer_core import run_dev, run_prod; " + runner.format(port=port)
    env = _env(site, flyer_host="127.0.0.1", flyer_demo_port="abc", journal=str(journal))
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # a server (or reloader) kept running: the bug
        bound = _bound(port)
        os.killpg(process.pid, 9)
        out, err = process.communicate(timeout=30)
        pytest.fail(f"still running after 60 s (port bound: {bound}):\n{err[-3000:]}")
    assert process.returncode == 2, err
    assert err.strip() == "error: plugin 'demo': flyer_demo_port='abc': expected an integer 1-65535"
    assert "Traceback" not in out + err
    assert not _bound(port)
    assert not journal.exists()  # no worker got as far as setting a plugin up

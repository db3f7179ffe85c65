"""Importing flyer_core does no I/O, starts no thread and configures nothing."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, logging, os, sys, threading
cwd, path, threads = os.getcwd(), list(sys.path), threading.active_count()
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and str(args[0]).endswith((".env", ".log")) else None)
import flyer_core, flyer_core.schemas
root = logging.getLogger()
print(json.dumps({
    "cwd_same": os.getcwd() == cwd,
    "path_same": sys.path == path,
    "threads": threading.active_count() - threads,
    "root_handlers": len(root.handlers),
    "opened": opened,
    "settings_libraries": sorted({"pydantic_settings", "dotenv"} & set(sys.modules)),
}))
"""


def test_import_has_no_side_effects(tmp_path: object) -> None:
    (tmp_path / ".env").write_text("flyer_port=1\n")  # type: ignore[operator]
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True, cwd=str(tmp_path)
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {
        "cwd_same": True,
        "path_same": True,
        "threads": 0,
        "root_handlers": 0,
        "opened": [],
        # Settings are a pydantic model read by flyer's own source: no settings library
        # to import (~12 ms of every start-up).
        "settings_libraries": [],
    }


def test_public_api() -> None:
    import flyer_core
    import flyer_status
    from flyer_core import schemas

    assert flyer_core.status is flyer_status.status
    assert flyer_core.FlyerError is flyer_status.FlyerError
    assert schemas.DataResponse is flyer_status.schemas.DataResponse
    from fastapi import APIRouter

    # flyer's router is FastAPI's, with routes flyer can compile (see _fastpath)
    assert issubclass(flyer_core.APIRouter, APIRouter)
    for name in flyer_core.__all__:
        assert hasattr(flyer_core, name), name


BUILD_PROBE = """
import json, sys
from flyer_core import create_app
create_app(None, plugins=[])
print(json.dumps(sorted({"flyer_core._runners", "flyer_core._report"} & set(sys.modules))))
"""


def test_building_an_app_imports_neither_the_runners_nor_the_report(tmp_path: object) -> None:
    out = subprocess.run(
        [sys.executable, "-c", BUILD_PROBE],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
    import flyer_core
    from flyer_core._report import settings_report
    from flyer_core._runners import run_dev, run_prod

    assert (flyer_core.run_dev, flyer_core.run_prod) == (run_dev, run_prod)
    assert flyer_core.settings_report is settings_report
    assert {"run_dev", "run_prod", "settings_report"} <= set(dir(flyer_core))

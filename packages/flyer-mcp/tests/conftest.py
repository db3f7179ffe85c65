"""Shared pieces of flyer-mcp's tests: a demo app's source and a server process running it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, ContextManager, Iterator

import pytest

LOOPBACK = "127.0.0.1"

# Business apps like a generated project's (found by `create_app(apps="demoapps")`): tags,
# path, query, header and body parameters.
DEMO_ITEMS = '''
from typing import List

from fastapi import APIRouter, Query
from pydantic import BaseModel

from flyer_core.schemas import DataResponse
from flyer_status import FlyerError


class ItemIn(BaseModel):
    name: str
    price: float = 0
    tags: List[str] = []


router = APIRouter(prefix="/items", tags=["Items"])


@router.get(
    "/{item_id}", response_model=DataResponse[dict], summary="Read an item", operation_id="get_item"
)
async def get_item(item_id: int, verbose: bool = Query(False, description="more detail")) -> dict:
    """One item by id; 404 in the envelope for id 0."""
    if item_id == 0:
        raise FlyerError(404, "item not found", "no item with id 0")
    return {"data": {"id": item_id, "verbose": verbose}}


@router.post(
    "",
    response_model=DataResponse[dict],
    summary="Create an item",
    operation_id="create_item",
    status_code=201,
)
async def create_item(body: ItemIn) -> dict:
    """Store a new item and return it."""
    return {"code": 201, "message": "Created", "data": body.model_dump()}
'''

DEMO_USERS = '''
from typing import Optional

from fastapi import APIRouter, Header, Query
from flyer_core.schemas import BaseResponse, DataResponse

router = APIRouter(prefix="/users", tags=["Users"])


@router.get(
    "/{user_id}/greeting",
    response_model=DataResponse[dict],
    summary="Greet a user",
    operation_id="greet_user",
)
async def greet_user(
    user_id: str, x_lang: Optional[str] = Header(None), times: int = Query(1, ge=1, le=5)
) -> dict:
    """A greeting, repeated `times` times."""
    return {"data": {"text": " ".join(["hi " + user_id] * times), "lang": x_lang}}


@router.delete(
    "/{user_id}", response_model=BaseResponse, summary="Delete a user", operation_id="delete_user"
)
async def delete_user(user_id: str) -> dict:
    return {"message": "Deleted"}
'''


def write_demo_apps(root: Path) -> None:
    """The package `demoapps` (sub-packages `items` and `users`) under `root`."""
    for name, source in (("items", DEMO_ITEMS), ("users", DEMO_USERS)):
        package = root / "demoapps" / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(source)
    (root / "demoapps" / "__init__.py").write_text("")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(autouse=True)
def _no_flyer_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read flyer's settings from the environment: start each without `flyer_*`."""
    for name in list(os.environ):
        if name.lower().startswith("flyer_"):
            monkeypatch.delenv(name)


@pytest.fixture
def demo_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The `demoapps` package, importable for this test; yields its name for `create_app`."""
    write_demo_apps(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "demoapps"
    for name in [m for m in sys.modules if m == "demoapps" or m.startswith("demoapps.")]:
        del sys.modules[name]


@pytest.fixture
def serve_source(tmp_path: Path) -> Callable[..., ContextManager[str]]:
    """`with serve_source(source, **env) as url:` the module `source` (which defines `app`)
    under uvicorn in a subprocess on a free loopback port, answering `/health_check`;
    `url` is its base URL. The environment is this one without `flyer_*`, plus `env`."""

    @contextlib.contextmanager
    def serve(source: str, **env: str) -> Iterator[str]:
        write_demo_apps(tmp_path)
        (tmp_path / "demo_app.py").write_text(source)
        port = _free_port()
        environ = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
        environ.update(env, PYTHONDONTWRITEBYTECODE="1")
        log = tmp_path / f"server-{port}.log"
        command = [sys.executable, "-m", "uvicorn", "demo_app:app", "--host", LOOPBACK]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--port", str(port)],
                cwd=str(tmp_path),
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://{LOOPBACK}:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _answers(url + "/health_check"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log.read_text(errors='replace')[-4000:]}")
                time.sleep(0.2)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    return serve

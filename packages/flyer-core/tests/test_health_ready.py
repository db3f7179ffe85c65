"""`{base}/ready` over a real uvicorn: who learns what a failing check reported."""

from __future__ import annotations

import json
from typing import Any, Dict

import httpx
import pytest

from flyer_core import create_app

SECRET_URL = "postgresql+psycopg://app@db.internal.example:5432/orders"
DRIVER_ERROR = "psycopg.OperationalError: connection to db.internal.example refused"


class Database:
    """A plugin whose check fails the way a database plugin's does: URL and driver text."""

    name = "db"

    async def check(self) -> Dict[str, Any]:
        return {"ok": False, "databases": [{"url": SECRET_URL, "error": DRIVER_ERROR}]}


class Cache:
    name = "cache"

    async def check(self) -> Dict[str, Any]:
        return {"ok": True, "host": "cache.internal.example"}


def _leaks(text: str) -> bool:
    return any(s in text for s in ("db.internal", "psycopg", "cache.internal", "orders"))


@pytest.mark.parametrize("auth", [True, False], ids=["auth-on", "auth-off"])
def test_an_unauthenticated_caller_learns_only_which_checks_failed(
    serve: Any, make_settings: Any, logs: Any, auth: bool
) -> None:
    variables: Dict[str, Any] = {"ready_timeout": 5}
    if auth:
        variables.update(auth_enable=1, auth_user="ops", auth_pass="s3cret-pass")
    app = create_app(None, make_settings(**variables), plugins=[Database(), Cache()])
    with serve(app) as url:
        response = httpx.get(url + "/flyer/ready", timeout=10)
        wrong = httpx.get(url + "/flyer/ready", auth=("ops", "nope"), timeout=10)
    for answer in (response, wrong):
        assert answer.status_code == 503
        body = answer.json()
        assert body["detail"] == "not ready: db"
        assert body["data"] == {"checks": {"cache": {"ok": True}, "db": {"ok": False}}}
        assert not _leaks(answer.text), answer.text
    # What the check said went to the log instead.
    (line,) = logs.wait(event="not ready", request_id=response.headers["x-request-id"])
    assert SECRET_URL in json.dumps(line)
    assert DRIVER_ERROR in json.dumps(line)


def test_an_authenticated_caller_sees_the_full_report(serve: Any, make_settings: Any) -> None:
    settings = make_settings(auth_enable=1, auth_user="ops", auth_pass="s3cret-pass")
    with serve(create_app(None, settings, plugins=[Database(), Cache()])) as url:
        response = httpx.get(url + "/flyer/ready", auth=("ops", "s3cret-pass"), timeout=10)
    assert response.status_code == 503
    checks = response.json()["data"]["checks"]
    assert checks["db"]["databases"] == [{"url": SECRET_URL, "error": DRIVER_ERROR}]
    assert checks["cache"] == {"ok": True, "host": "cache.internal.example"}

"""flyer-core with every flyer plugin installed: found by entry point, started in order,
checked for readiness against real services, reported by `settings_report`, stopped."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator

import httpx
import pytest
import uvicorn

from flyer_core import create_app, load_settings, settings_report

pytestmark = pytest.mark.services

ORDER = ["cache", "db", "http", "sched"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            server.run()
        except SystemExit:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


def settings(**variables: str) -> Any:
    env: Dict[str, str] = {"flyer_log_format": "json", "flyer_ready_timeout": "3"}
    env.update({f"flyer_{k}": v for k, v in variables.items()})
    return load_settings(None, env)


def test_every_installed_plugin_is_loaded_in_order(redis_url: str) -> None:
    app = create_app(None, settings(redis_url=redis_url))
    names = [p.name for p in app.state.flyer_plugins]
    assert [n for n in names if n in ORDER] == ORDER
    orders = [p.order for p in app.state.flyer_plugins]
    assert orders == sorted(orders)


def test_ready_with_real_redis_and_sqlite(redis_url: str, capsys: Any) -> None:
    app = create_app(
        None, settings(redis_url=redis_url, auth_enable="1", auth_user="ops", auth_pass="pw")
    )
    with serve(app) as url:
        # Only an authenticated caller sees what each check reported (the backend here).
        response = httpx.get(url + "/flyer/ready", auth=("ops", "pw"), timeout=10)
        assert response.status_code == 200, response.text
        checks = response.json()["data"]["checks"]
        assert checks["cache"]["ok"] is True
        assert checks["cache"]["backend"] == "redis"
        assert all(result["ok"] for result in checks.values())
        # The scheduler plugin mounted its management routes under the base URL.
        assert httpx.get(url + "/flyer/tasks", auth=("ops", "pw")).status_code == 200
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    started = [line for line in lines if line["event"] == "app started"]
    assert started
    assert [p for p in started[0]["plugins"] if p in ORDER] == ORDER


def test_not_ready_names_the_dead_redis() -> None:
    dead = f"redis://127.0.0.1:{_free_port()}/0"
    app = create_app(None, settings(redis_url=dead))
    with serve(app) as url:
        response = httpx.get(url + "/flyer/ready", timeout=15)
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == 503
    assert "cache" in body["detail"].split("not ready: ", 1)[1].split(", ")
    assert body["data"]["checks"]["cache"]["ok"] is False
    assert body["request_id"] == response.headers["x-request-id"]


def test_management_routes_use_flyer_basic_auth(redis_url: str) -> None:
    app = create_app(
        None, settings(redis_url=redis_url, auth_enable="1", auth_user="ops", auth_pass="pw")
    )
    with serve(app) as url:
        denied = httpx.get(url + "/flyer/tasks")
        assert denied.status_code == 401
        assert denied.json()["code"] == 401
        assert httpx.get(url + "/flyer/tasks", auth=("ops", "pw")).status_code == 200
        assert httpx.get(url + "/flyer/ready").status_code == 200  # probes stay open


def test_management_routes_are_refused_with_auth_off(redis_url: str) -> None:
    with serve(create_app(None, settings(redis_url=redis_url))) as url:
        for method, path in [("GET", ""), ("POST", "/x/pause"), ("POST", "/x/run")]:
            refused = httpx.request(method, url + "/flyer/tasks" + path)
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == 403
        refused = httpx.delete(url + "/flyer/tasks/x")
        assert refused.status_code == 403


def test_settings_report_includes_every_plugin_and_masks_secrets() -> None:
    rows = {
        row["name"]: row
        for row in settings_report(
            None, {"flyer_redis_pass": "s3cret", "flyer_db_pass": "hunter2", "flyer_port": "9000"}
        )
    }
    assert rows["flyer_port"]["value"] == "9000"
    assert rows["flyer_port"]["source"] == "environment"
    for name in ("flyer_redis_pass", "flyer_db_pass"):
        assert rows[name]["secret"] is True
        assert rows[name]["value"] == "********"
    assert {"flyer_redis_host", "flyer_db_host"} <= set(rows)
    text = json.dumps(list(rows.values()))
    assert "s3cret" not in text
    assert "hunter2" not in text


def test_a_bad_plugin_setting_is_one_line() -> None:
    from flyer_core import SettingsError

    with pytest.raises(SettingsError) as err:
        create_app(None, settings(redis_port="not-a-port"))
    message = str(err.value)
    assert message.startswith("plugin 'cache': ")
    assert "flyer_redis_port" in message
    assert "\n" not in message

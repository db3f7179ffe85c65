"""flyer-cache inside a real flyer app: the plugin is found by entry point, reads Redis from
`.env`, backs `@cached` routes, reports readiness through `/ready` while a private Redis is
stopped and restarted, and closes its connections when the app stops."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import redis
from fastapi import APIRouter

from flyer_cache import cached, set_default_backend
from flyer_core import create_app, load_settings

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _no_default_store_left_behind() -> Any:
    set_default_backend(None)
    yield
    set_default_backend(None)


def _app(env_file: Path, computed: List[int], namespace: str) -> Any:
    settings = load_settings(str(env_file), environ={})
    app = create_app(apps=None, settings=settings)

    @cached(ttl=60, namespace=namespace)
    async def item(item_id: int) -> Dict[str, int]:
        computed.append(item_id)
        return {"id": item_id, "square": item_id * item_id}

    router = APIRouter()

    @router.get("/items/{item_id}")
    async def get_item(item_id: int) -> Dict[str, int]:
        return await item(item_id)

    app.include_router(router, prefix=settings.base_url)
    return app


def _client_names(url: str) -> List[str]:
    admin = redis.Redis.from_url(url)
    try:
        return [c.get("name", "") for c in admin.client_list()]
    finally:
        admin.close()


AUTH = ("ops", "pw")  # the credentials the apps below are given in their .env


def test_cache_plugin_in_an_app_with_redis_from_dotenv(
    private_redis: Any, tmp_path: Path, serve_app: Callable[..., Any]
) -> None:
    name = f"flyer-it-{uuid.uuid4().hex[:8]}"
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"flyer_redis_url={private_redis.url}?client_name={name}\nflyer_ready_timeout=3\n"
        # The full readiness report (backend names) is for authenticated callers only.
        "flyer_auth_enable=1\nflyer_auth_user=ops\nflyer_auth_pass=pw\n"
    )
    computed: List[int] = []
    app = _app(env_file, computed, namespace=name)
    with serve_app(app) as client:
        client.auth = AUTH
        assert name not in _client_names(private_redis.url)  # nothing connects at start-up
        ready = client.get("/flyer/ready")
        assert ready.status_code == 200
        assert ready.json()["data"]["checks"]["cache"] == {"ok": True, "backend": "redis"}

        for _ in range(3):
            assert client.get("/flyer/items/7").json() == {"id": 7, "square": 49}
        assert computed == [7]
        direct = redis.Redis.from_url(private_redis.url)
        try:
            assert len(list(direct.scan_iter(match=f"{name}:*"))) == 1
        finally:
            direct.close()

        private_redis.stop()
        down = client.get("/flyer/ready")
        assert down.status_code == 503
        assert "cache" in down.json()["detail"]
        assert down.json()["data"]["checks"]["cache"]["ok"] is False
        # Routes keep answering: the cached function is called directly while Redis is down.
        assert client.get("/flyer/items/8").json() == {"id": 8, "square": 64}
        assert computed == [7, 8]

        private_redis.start()
        assert client.get("/flyer/ready").status_code == 200
        # Caching resumes by itself (within the backend's retry_after): calls stop computing.
        deadline = time.monotonic() + 10
        while True:
            before = len(computed)
            assert client.get("/flyer/items/8").json() == {"id": 8, "square": 64}
            if len(computed) == before:
                break
            assert time.monotonic() < deadline, "caching did not resume"
            time.sleep(0.1)
        assert name in _client_names(private_redis.url)
    # Shutdown closed the pools: no connection of ours is left on the server.
    assert name not in _client_names(private_redis.url)


def test_cache_plugin_without_redis_uses_memory(
    tmp_path: Path, serve_app: Callable[..., Any]
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "flyer_ready_timeout=3\nflyer_auth_enable=1\nflyer_auth_user=ops\nflyer_auth_pass=pw\n"
    )
    computed: List[int] = []
    app = _app(env_file, computed, namespace="flyer-it-memory")
    with serve_app(app) as client:
        client.auth = AUTH
        ready = client.get("/flyer/ready")
        assert ready.status_code == 200
        assert ready.json()["data"]["checks"]["cache"] == {"ok": True, "backend": "memory"}
        for _ in range(3):
            assert client.get("/flyer/items/3").json() == {"id": 3, "square": 9}
        assert computed == [3]

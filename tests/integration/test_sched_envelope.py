"""flyer-sched inside a flyer app: its management errors use the app's envelope renderer, and
its settings are checked before anything binds, like every other plugin's."""

from __future__ import annotations

from typing import Any, Dict

import httpx
import pytest

from flyer_core import check_plugin_settings, create_app, load_settings

pytestmark = pytest.mark.services


def settings(**variables: str) -> Any:
    env: Dict[str, str] = {"flyer_log_format": "json"}
    env.update({f"flyer_{k}": v for k, v in variables.items()})
    return load_settings(None, env)


async def test_a_missing_job_is_a_404_with_the_apps_status_code_base(redis_url: str) -> None:
    app = create_app(
        None,
        settings(
            redis_url=redis_url,
            status_code_base="10000",
            auth_enable="1",
            auth_user="ops",
            auth_pass="pw",
        ),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.post("/flyer/tasks/no-such-job/pause", auth=("ops", "pw"))
    assert response.status_code == 404  # the HTTP status is the real one ...
    body = response.json()
    assert body["code"] == 10404  # ... the body's code carries the app's offset, once
    assert "no-such-job" in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]


def test_a_bad_sched_setting_is_refused_before_binding() -> None:
    with pytest.raises(ValueError, match="flyer_sched_lock_ttl") as caught:
        check_plugin_settings(settings(sched_lock_ttl="soon"))
    assert "\n" not in str(caught.value)

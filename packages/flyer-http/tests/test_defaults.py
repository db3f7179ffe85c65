"""The ready-made clients: the ancestor's `requests` / `aiorequests`, built from settings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any, Coroutine, Iterator, TypeVar

import pytest

import flyer_http
from flyer_http import _defaults

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a loop of its own, leaving the thread's current loop alone (unlike
    asyncio.run, which unsets it)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Forget the clients made so far, so the next access reads the settings again."""
    monkeypatch.setattr(_defaults, "_clients", {})
    monkeypatch.setenv("FLYER_HTTP_RETRY_MULTIPLIER", "0.01")
    monkeypatch.setenv("FLYER_HTTP_RETRY_MAX_WAIT", "0.05")
    yield monkeypatch
    _run(flyer_http.release_default_clients())


def test_importing_makes_no_client() -> None:
    code = (
        "import flyer_http, flyer_http._defaults as d\n"
        "assert d._clients == {}, d._clients\n"
        "assert flyer_http.requests is flyer_http.client\n"
        "assert flyer_http.aiorequests is flyer_http.aioclient\n"
        "assert isinstance(flyer_http.requests, flyer_http.Client)\n"
        "assert isinstance(flyer_http.aiorequests, flyer_http.AsyncClient)\n"
        "assert sorted(d._clients) == ['async', 'sync']\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_requests_retries_per_the_settings(upstream: Any, fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("FLYER_HTTP_RETRY_ATTEMPTS", "2")
    from flyer_http import requests

    url = upstream.script("/s", 503, 503, 503)
    assert requests.get(url).status_code == 503  # two attempts, then the last response
    assert len(upstream.hits("/s")) == 2
    assert requests.retry is not None
    assert requests.retry.attempts == 2


def test_the_ancestors_examples_run_with_the_import_changed(
    upstream: Any, fresh: pytest.MonkeyPatch
) -> None:
    from flyer_http import requests

    url = upstream.script("/api", 200, 200, 200)
    headers = {"content-type": "application/json"}
    params = {"page": "1"}
    response = requests.get(url, headers=headers, params=params)
    assert response.status_code == 200
    response = requests.post(url, json={"name": "flyer"})
    assert response.status_code == 200

    # The async example as the ancestor's README has it: a script of its own.
    script = (
        "import asyncio\n"
        "from flyer_http import aiorequests\n"
        "async def main():\n"
        f"    resp = await aiorequests.get(url={url!r}, headers={headers!r})\n"
        "    print(resp.status_code)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, timeout=60, capture_output=True, text=True
    )
    assert out.stdout.strip() == "200"
    first, second, third = upstream.hits("/api")
    assert first.path.endswith("?page=1")
    assert second.body == b'{"name":"flyer"}' or second.body == b'{"name": "flyer"}'
    assert third.method == "GET"


def test_the_async_client_works_on_one_loop_after_another(
    upstream: Any, fresh: pytest.MonkeyPatch
) -> None:
    url = upstream.script("/a", 200, 200, 200)

    async def call() -> int:
        try:
            return (await flyer_http.aiorequests.get(url)).status_code
        finally:
            await flyer_http.release_default_clients()

    assert [_run(call()) for _ in range(3)] == [200, 200, 200]


def test_a_loop_closed_with_pooled_connections_does_not_break_the_next(upstream: Any) -> None:
    url = upstream.script("/a", 200, 200)
    # In a process of its own: the first loop's pooled socket is reported unclosed when
    # collected, which is asyncio's complaint, not a failure of the second loop's call.
    code = (
        "import asyncio, flyer_http\n"
        "async def call():\n"
        f"    return (await flyer_http.aiorequests.get({url!r})).status_code\n"
        "print([asyncio.run(call()) for _ in range(2)])\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
        env={**os.environ, "FLYER_HTTP_RETRY_ATTEMPTS": "1"},
    )
    # A pool bound to the first loop would fail on the second ("Event loop is closed").
    assert out.stdout.strip() == "[200, 200]"


def test_released_clients_reconnect(upstream: Any, fresh: pytest.MonkeyPatch) -> None:
    url = upstream.script("/r", 200, 200, 200, 200)

    async def around_a_release() -> list[int]:
        codes = [(await flyer_http.aiorequests.get(url)).status_code]
        await flyer_http.release_default_clients()
        codes.append((await flyer_http.aiorequests.get(url)).status_code)
        await flyer_http.release_default_clients()  # this loop ends here
        return codes

    assert flyer_http.requests.get(url).status_code == 200
    assert _run(around_a_release()) == [200, 200]
    assert not flyer_http.requests.is_closed
    assert flyer_http.requests.get(url).status_code == 200
    assert len(upstream.hits("/r")) == 4


async def test_the_plugin_releases_them_at_shutdown(
    upstream: Any, fresh: pytest.MonkeyPatch
) -> None:
    from flyer_http._plugin import HttpPlugin

    url = upstream.script("/p", 200, 200)
    plugin = HttpPlugin()
    plugin.setup(None, None)
    await plugin.startup()
    assert (await flyer_http.aiorequests.get(url)).status_code == 200
    loop = asyncio.get_running_loop()
    assert loop in _defaults._async_transport._inner  # a pool for this loop
    await plugin.shutdown()
    assert loop not in _defaults._async_transport._inner  # closed at shutdown
    assert (await flyer_http.aiorequests.get(url)).status_code == 200  # and usable again


def test_unknown_attributes_still_raise() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        flyer_http.nope  # type: ignore[attr-defined]  # noqa: B018

"""Readiness: SELECT 1 under a deadline, against real, refusing and silent servers."""

import time
from pathlib import Path
from typing import Any, Callable

import pytest

from flyer_db import acheck_engine, check_engine

# Headroom for a machine whose cores are busy with other work: a deadline is still told apart
# from the failure it guards against (the driver's 15 s connect timeout), never held to the ms.
SLACK = 5.0


def test_a_reachable_database_is_ready(server: Any, engines: Callable[..., Any]) -> None:
    result = check_engine(engines(server.url))
    assert result["ok"] is True
    assert result["elapsed_ms"] >= 0
    assert "error" not in result


def test_sqlite_is_ready(tmp_path: Path, engines: Callable[..., Any]) -> None:
    assert check_engine(engines(f"sqlite:///{tmp_path / 'x.db'}"))["ok"]


@pytest.mark.parametrize("scheme", ["mysql", "postgresql"])
def test_a_refused_connection_fails_within_the_deadline(
    scheme: str, closed_port: int, engines: Callable[..., Any]
) -> None:
    engine = engines(f"{scheme}://root@127.0.0.1:{closed_port}/test")
    started = time.monotonic()
    result = check_engine(engine, timeout=2.0)
    assert time.monotonic() - started < 2.0 + SLACK
    assert result["ok"] is False
    assert result["error"].startswith("OperationalError")
    assert str(closed_port) in result["url"]


@pytest.mark.parametrize("scheme", ["mysql", "postgresql"])
def test_a_server_that_never_answers_fails_at_the_deadline(
    scheme: str, silent_port: int, engines: Callable[..., Any]
) -> None:
    engine = engines(
        f"{scheme}://root@127.0.0.1:{silent_port}/test", connect_args={"connect_timeout": 15}
    )
    started = time.monotonic()
    result = check_engine(engine, timeout=0.5)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 0.5 + SLACK
    assert result == {
        "ok": False,
        "url": f"{scheme}+{engine.url.get_driver_name()}://root@127.0.0.1:{silent_port}/test",
        "elapsed_ms": 500.0,
        "error": "no answer within 0.5 s",
    }
    # A second check waits for the probe still running instead of opening another connection.
    assert check_engine(engine, timeout=0.2)["error"] == "no answer within 0.2 s"


def test_readiness_recovers_when_the_server_comes_back(
    server: Any, proxy_to: Callable[[Any], Any], engines: Callable[..., Any]
) -> None:
    proxy = proxy_to(server)
    engine = engines(server.url_via(proxy.port))
    assert check_engine(engine)["ok"]
    proxy.stop()
    assert not check_engine(engine)["ok"]
    proxy.start()
    assert check_engine(engine)["ok"]


async def test_the_async_check_does_not_block_the_loop(
    server: Any, engines: Callable[..., Any]
) -> None:
    result = await acheck_engine(engines(server.url), timeout=2.0)
    assert result["ok"]


def test_a_bad_timeout_is_refused(engines: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match=r"timeout=0: expected a number of seconds > 0"):
        check_engine(engines("sqlite://"), timeout=0)

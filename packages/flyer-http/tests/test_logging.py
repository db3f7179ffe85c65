"""Log lines on `flyer.http`: structured fields, one per failed attempt and per call, no secrets."""

from __future__ import annotations

import json
import logging
from typing import Any, List

import pytest

from flyer_status import request_id_var

SECRETS = [
    "pw-secret",
    "tok-secret",
    "key-secret",
    "custom-secret",
    "bearer-secret",
    "cookie-secret",
    "proxy-secret",
    "header-secret",
    "setcookie-secret",
    "dXNlcjpwdy1zZWNyZXQ",  # base64 of user:pw-secret, the Basic auth from the URL
]


def _records(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flyer.http"]


def _dump(record: logging.LogRecord) -> str:
    fields = {k: v for k, v in vars(record).items() if k not in {"exc_info", "exc_text"}}
    return record.getMessage() + json.dumps(fields, default=str)


def test_secrets_never_reach_the_log(
    upstream: Any, make_client: Any, fast: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="flyer.http")
    url = upstream.script(
        "/api", 503, (200, {"Set-Cookie": "sid=setcookie-secret; HttpOnly"}, b'{"ok": true}')
    ).replace("http://", "http://user:pw-secret@")
    requests = make_client(
        retry=fast,
        log_headers=True,
        log_bodies=True,
        sensitive_headers=["X-Api-Key"],
        sensitive_params=["custom"],
    )
    headers = {
        "Cookie": "c=cookie-secret",
        "Proxy-Authorization": "Basic proxy-secret",
        "x-api-key": "header-secret",
        "X-Visible": "shown",
    }
    params = {"token": "tok-secret", "API_KEY": "key-secret", "custom": "custom-secret", "q": 1}
    response = requests.get(url, params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["set-cookie"].startswith("sid=setcookie-secret")
    bearer = {**headers, "Authorization": "Bearer bearer-secret"}
    plain = upstream.script("/plain", (200, {}, b"plain"))  # no echo: bodies are logged as sent
    assert requests.get(plain, headers=bearer).status_code == 200
    # The server did get every secret: redaction is for logs only.
    got = upstream.hits("/api")[0]
    assert got.headers["authorization"] == "Basic dXNlcjpwdy1zZWNyZXQ="
    assert "tok-secret" in got.path
    assert upstream.hits("/plain")[0].headers["authorization"] == "Bearer bearer-secret"
    records = _records(caplog)
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO, logging.INFO]
    text = caplog.text + "".join(_dump(r) for r in records)
    for secret in SECRETS:
        assert secret not in text, secret
    finished = records[1]
    assert finished.url == (  # type: ignore[attr-defined]
        f"http://127.0.0.1:{upstream.port}/api?token=***&API_KEY=***&custom=***&q=1"
    )
    assert finished.request_headers["authorization"] == "***"  # type: ignore[attr-defined]
    assert finished.request_headers["x-visible"] == "shown"  # type: ignore[attr-defined]
    assert finished.response_headers["set-cookie"] == "***"  # type: ignore[attr-defined]
    assert finished.response_body == '{"ok": true}'  # type: ignore[attr-defined]
    assert records[2].request_headers["authorization"] == "***"  # type: ignore[attr-defined]


def test_one_line_per_failed_attempt_and_one_per_call(
    upstream: Any, make_client: Any, fast: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flyer.http")
    url = upstream.script("/s", 503, (502, {}, b"bad gateway"))
    token = request_id_var.set("rid-7")
    try:
        assert make_client(retry=fast).get(url).status_code == 200
    finally:
        request_id_var.reset(token)
    first, second, done = _records(caplog)
    assert (first.levelname, second.levelname, done.levelname) == ("WARNING", "WARNING", "INFO")
    for attempt, record, status in [(1, first, 503), (2, second, 502)]:
        assert record.attempt == attempt  # type: ignore[attr-defined]
        assert record.status == status  # type: ignore[attr-defined]
        assert record.retry_in_ms == 10.0 * 2 ** (attempt - 1)  # type: ignore[attr-defined]
        assert f"attempt {attempt} failed: {status}" in record.getMessage()
    assert done.method == "GET"  # type: ignore[attr-defined]
    assert done.url == url  # type: ignore[attr-defined]
    assert done.status == 200  # type: ignore[attr-defined]
    assert done.attempt == 3  # type: ignore[attr-defined]
    assert done.request_id == "rid-7"  # type: ignore[attr-defined]
    assert done.outcome == "success"  # type: ignore[attr-defined]
    assert done.elapsed_ms >= first.elapsed_ms  # type: ignore[attr-defined]
    assert done.getMessage().startswith(f"GET {url} 200 in ")
    assert done.getMessage().endswith(" ms after 3 attempts")
    json.dumps({k: getattr(done, k) for k in ["method", "url", "status", "elapsed_ms"]})


def test_a_failed_call_logs_a_warning_with_the_error(
    upstream: Any, make_client: Any, fast: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flyer.http")
    url = upstream.script("/cut", "cut", "cut")
    with pytest.raises(Exception, match="RemoteProtocolError"):
        make_client(retry=fast.replace(attempts=2)).get(url)
    retry, done = _records(caplog)
    assert retry.error.startswith("RemoteProtocolError: ")  # type: ignore[attr-defined]
    assert retry.status is None  # type: ignore[attr-defined]
    assert done.levelno == logging.WARNING
    assert done.outcome == "error"  # type: ignore[attr-defined]
    assert done.attempt == 2  # type: ignore[attr-defined]
    assert "failed: RemoteProtocolError" in done.getMessage()


def test_exhausted_status_retries_finish_with_a_warning(
    upstream: Any, make_client: Any, fast: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flyer.http")
    url = upstream.script("/s", 503, 503)
    assert make_client(retry=fast.replace(attempts=2)).get(url).status_code == 503
    assert [r.levelname for r in _records(caplog)] == ["WARNING", "WARNING"]
    assert _records(caplog)[-1].outcome == "failure"  # type: ignore[attr-defined]


def test_finished_calls_can_log_at_debug(
    upstream: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flyer.http")
    requests = make_client(log_level="debug")
    requests.get(upstream.url + "/quiet")
    assert _records(caplog) == []
    caplog.set_level(logging.DEBUG, logger="flyer.http")
    requests.get(upstream.url + "/loud")
    (record,) = _records(caplog)
    assert record.levelno == logging.DEBUG


def test_headers_and_bodies_are_not_logged_unless_asked(
    upstream: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="flyer.http")
    make_client().post(upstream.url + "/x", content=b"body-text", headers={"X-Seen": "value"})
    (record,) = _records(caplog)
    for field in ["request_headers", "response_headers", "request_body", "response_body"]:
        assert not hasattr(record, field)
    assert "body-text" not in _dump(record)


def test_logged_bodies_are_truncated(
    upstream: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="flyer.http")
    make_client(log_bodies=16).post(upstream.url + "/x", content=b"a" * 5000)
    (record,) = _records(caplog)
    assert record.request_body == "a" * 16 + "... (5000 bytes)"  # type: ignore[attr-defined]
    assert record.response_body.startswith('{"method": "POST... (')  # type: ignore[attr-defined]
    assert len(record.response_body) < 60  # type: ignore[attr-defined]


def test_streamed_bodies_are_not_read_for_the_log(
    upstream: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="flyer.http")
    url = upstream.script("/s", (200, {}, b"streamed-body"))
    assert make_client(log_bodies=True).stream_bytes("GET", url) == (200, b"streamed-body")
    (record,) = _records(caplog)
    assert record.response_body is None  # type: ignore[attr-defined]

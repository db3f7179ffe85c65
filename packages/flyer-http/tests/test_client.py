"""Client and AsyncClient against a real loopback server: httpx behaviour kept, retries added."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import io
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, List

import httpx
import pytest

import flyer_http
from flyer_http import AsyncClient, Client, RetryEvent, RetryPolicy
from flyer_status import (
    FlyerError,
    ThirdPartyNetworkError,
    ThirdPartyRetryError,
    ThirdPartyTimeoutError,
    ThirdPartyUnavailableError,
    request_id_var,
)

# -- httpx behaviour is kept ---------------------------------------------------------------


def test_clients_are_httpx_clients() -> None:
    with Client() as client:
        assert isinstance(client, httpx.Client)
    assert issubclass(AsyncClient, httpx.AsyncClient)


def test_ancestor_get_and_post_calls(upstream: Any, make_client: Any) -> None:
    requests = make_client()
    headers = {"User-Agent": "My User Agent"}
    params = {"param1": "value1", "param2": "value2"}
    response = requests.get(upstream.url + "/get", headers=headers, params=params)
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["path"] == "/get?param1=value1&param2=value2"
    assert echoed["headers"]["user-agent"] == "My User Agent"
    response = requests.post(upstream.url + "/post", json={"key": "value"})
    assert response.status_code == 200
    assert json.loads(response.json()["body"]) == {"key": "value"}


def test_client_arguments_pass_through(upstream: Any, make_client: Any) -> None:
    seen: List[str] = []

    def on_request(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async def on_request_async(request: httpx.Request) -> None:
        seen.append(request.url.path)

    hook: Any = on_request if make_client.kind == "sync" else on_request_async
    requests = make_client(
        timeout=60,
        headers={"content-type": "application/json"},
        base_url=upstream.url,
        limits=httpx.Limits(max_connections=2),
        event_hooks={"request": [hook]},
    )
    response = requests.get("/relative")
    assert response.json()["headers"]["content-type"] == "application/json"
    assert response.json()["path"] == "/relative"
    assert seen == ["/relative"]
    assert requests.client.timeout == httpx.Timeout(60)


def test_bodies_of_every_kind(upstream: Any, make_client: Any) -> None:
    requests = make_client()
    url = upstream.url + "/echo"
    assert requests.post(url, content=b"\x00raw").json()["body"] == "\x00raw"
    assert requests.post(url, data={"a": "1"}).json()["body"] == "a=1"
    files = {"upload": ("a.txt", io.BytesIO(b"file-content"), "text/plain")}
    body = requests.post(url, files=files).json()["body"]
    assert 'name="upload"' in body
    assert "file-content" in body
    assert requests.request("PUT", url, json=[1]).json()["body"] == "[1]"


def test_stream_reads_the_body_in_chunks(upstream: Any, make_client: Any) -> None:
    url = upstream.script("/big", (200, {}, b"x" * 100_000))
    status, body = make_client().stream_bytes("GET", url)
    assert (status, len(body)) == (200, 100_000)


def test_custom_transport_is_used(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=f"mocked {request.url.path}")

    requests = make_client(transport=httpx.MockTransport(handler))
    assert requests.get("http://example.invalid/here").text == "mocked /here"


def _tls_server() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secure")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    here = Path(__file__).parent / "tls"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(here / "cert.pem", here / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    return server


@pytest.fixture
def tls_url() -> Iterator[str]:
    server = _tls_server()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_tls_is_verified_by_default(tls_url: str, make_client: Any) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        make_client(retry=False).get(tls_url)
    assert isinstance(caught.value, ThirdPartyUnavailableError)
    ca = str(Path(__file__).parent / "tls" / "cert.pem")
    verify: Any = ssl.create_default_context(cafile=ca)
    assert make_client(verify=verify).get(tls_url).text == "secure"


# -- retries ---------------------------------------------------------------------------------


def test_status_retries_until_success(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/flaky", 503, 502, 200)
    response = make_client(retry=fast).get(url)
    assert response.status_code == 200
    assert len(upstream.hits("/flaky")) == 3
    assert response.extensions["flyer_http.attempts"] == 3


def test_last_response_returned_when_status_retries_run_out(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    url = upstream.script("/down", 503, 504, (503, {"X-Last": "yes"}), 200)
    response = make_client(retry=fast).get(url)
    assert response.status_code == 503
    assert response.headers["x-last"] == "yes"
    assert len(upstream.hits("/down")) == 3
    with pytest.raises(ThirdPartyRetryError) as caught:
        flyer_http.raise_for_status(response)
    assert caught.value.code == 606


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_default_statuses_are_retried(
    upstream: Any, make_client: Any, fast: Any, status: int
) -> None:
    url = upstream.script("/s", status)
    assert make_client(retry=fast).get(url).status_code == 200


@pytest.mark.parametrize("status", [400, 404, 500, 501])
def test_other_statuses_are_not_retried(
    upstream: Any, make_client: Any, fast: Any, status: int
) -> None:
    url = upstream.script("/s", status)
    assert make_client(retry=fast).get(url).status_code == status
    assert len(upstream.hits("/s")) == 1


def test_statuses_are_configurable(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/s", 500, 503)
    response = make_client(retry=fast.replace(statuses={500})).get(url)
    assert response.status_code == 503
    assert len(upstream.hits("/s")) == 2


def test_idempotent_methods_are_retried(upstream: Any, make_client: Any, fast: Any) -> None:
    requests = make_client(retry=fast)
    for method in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]:
        url = upstream.script(f"/{method}", 503)
        assert requests.request(method, url).status_code == 200, method
        assert len(upstream.hits(f"/{method}")) == 2, method


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_post_and_patch_are_not_retried_by_default(
    upstream: Any, make_client: Any, fast: Any, method: str
) -> None:
    url = upstream.script("/pay", 503, "drop")
    requests = make_client(retry=fast)
    assert requests.request(method, url, json={"amount": 1}).status_code == 503
    with pytest.raises(httpx.RemoteProtocolError):
        requests.request(method, url, json={"amount": 1})
    assert len(upstream.hits("/pay")) == 2


def test_post_is_retried_when_the_caller_opts_in(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    requests = make_client(retry=fast)
    url = upstream.script("/pay", 503)
    assert requests.post(url, json={}, headers={"Idempotency-Key": "k1"}).status_code == 200
    url = upstream.script("/pay2", 503)
    assert requests.post(url, json={}, retry=True).status_code == 200
    url = upstream.script("/pay3", 503)
    policy = fast.replace(methods={"POST"})
    assert requests.post(url, json={}, retry=policy).status_code == 200
    assert [len(upstream.hits(p)) for p in ["/pay", "/pay2", "/pay3"]] == [2, 2, 2]
    assert all(r.body == b"{}" for r in upstream.hits("/pay"))


def test_retry_can_be_turned_off_per_client_and_per_call(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    url = upstream.script("/s", 503, 503)
    assert make_client(retry=False).get(url).status_code == 503
    assert make_client(retry=fast).get(url, retry=False).status_code == 503
    assert len(upstream.hits("/s")) == 2


def test_per_call_policy_overrides_the_client(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/s", 503, 503, 503, 503)
    requests = make_client(retry=fast)
    assert requests.get(url, retry=fast.replace(attempts=5)).status_code == 200
    assert len(upstream.hits("/s")) == 5


def test_retry_true_turns_retrying_on_for_a_client_without_it(
    upstream: Any, make_client: Any
) -> None:
    url = upstream.script("/s", (503, {"Retry-After": "0"}))
    assert make_client(retry=False).get(url, retry=True).status_code == 200


def test_bytes_body_is_sent_again_on_retry(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/put", 503, 503)
    assert make_client(retry=fast).request("PUT", url, content=b"payload").status_code == 200
    assert [r.body for r in upstream.hits("/put")] == [b"payload"] * 3


def test_multipart_body_is_sent_again_on_retry(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/put", 503)
    files = {"f": ("a.txt", io.BytesIO(b"file-content"), "text/plain")}
    assert make_client(retry=fast).request("PUT", url, files=files).status_code == 200
    assert [b"file-content" in r.body for r in upstream.hits("/put")] == [True, True]


class _OneWayFile(io.RawIOBase):
    """A file that reads once and cannot seek back, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, b""
        return data


def test_multipart_file_that_cannot_seek_is_sent_once(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    url = upstream.script("/put", 503)
    files = {"f": ("a.txt", _OneWayFile(b"file-content"), "text/plain")}
    assert make_client(retry=fast).request("PUT", url, files=files).status_code == 503
    assert [b"file-content" in r.body for r in upstream.hits("/put")] == [True]


def test_a_hand_built_request_with_bytes_is_retried(upstream: Any, fast: Any) -> None:
    url = upstream.script("/put", 503)
    with Client(retry=fast) as client:
        response = client.send(httpx.Request("PUT", url, content=b"payload"))
    assert response.status_code == 200
    assert [r.body for r in upstream.hits("/put")] == [b"payload"] * 2


def test_generator_body_is_not_replayed(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/put", 503)
    requests = make_client(retry=fast)
    if requests.kind == "sync":
        content: Any = iter([b"one-", b"shot"])
    else:

        async def chunks() -> Any:
            yield b"one-"
            yield b"shot"

        content = chunks()
    assert requests.request("PUT", url, content=content).status_code == 503
    assert [r.body for r in upstream.hits("/put")] == [b"one-shot"]


def test_streamed_call_retries_before_handing_over(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    url = upstream.script("/s", 503, (200, {}, b"streamed"))
    assert make_client(retry=fast).stream_bytes("GET", url) == (200, b"streamed")
    assert len(upstream.hits("/s")) == 2


def test_stream_takes_a_per_call_retry(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/s", 503)
    assert make_client(retry=fast).stream_bytes("GET", url, retry=False)[0] == 503


# -- exceptions ------------------------------------------------------------------------------


def test_connection_cut_mid_response_is_retried(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/cut", "cut", "drop")
    response = make_client(retry=fast).get(url)
    assert response.status_code == 200
    assert len(upstream.hits("/cut")) == 3


def test_network_error_after_last_attempt(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/cut", "cut", "cut", "cut")
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        make_client(retry=fast).get(url)
    err = caught.value
    assert isinstance(err, ThirdPartyNetworkError)
    assert isinstance(err, ThirdPartyRetryError)
    assert isinstance(err, FlyerError)
    assert err.code == 606
    assert err.attempts == 3  # type: ignore[attr-defined]
    assert type(err.__cause__) is httpx.RemoteProtocolError
    assert err.request.url == httpx.URL(url)


def test_single_attempt_error_keeps_its_own_code(upstream: Any, make_client: Any) -> None:
    url = upstream.script("/cut", "cut")
    with pytest.raises(ThirdPartyNetworkError) as caught:
        make_client(retry=False).get(url)
    assert caught.value.code == 605
    assert not isinstance(caught.value, ThirdPartyRetryError)
    assert isinstance(caught.value, httpx.RemoteProtocolError)


def test_timeout_is_retried_then_raised_as_604(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/slow", ("stall", 5), ("stall", 5), ("stall", 5))
    requests = make_client(retry=fast.replace(attempts=2), timeout=0.2)
    with pytest.raises(httpx.ReadTimeout) as caught:
        requests.get(url)
    assert isinstance(caught.value, ThirdPartyTimeoutError)
    assert isinstance(caught.value, httpx.TimeoutException)
    assert caught.value.http_status == 502  # 606 first: retries ran out
    assert len(upstream.hits("/slow")) == 2
    with pytest.raises(ThirdPartyTimeoutError) as caught:
        requests.get(url, retry=False)
    assert (caught.value.code, caught.value.http_status) == (604, 504)


def test_connect_refused_is_retried_then_raised_as_603(
    make_client: Any, fast: Any, closed_port: int
) -> None:
    requests = make_client(retry=fast)
    with pytest.raises(httpx.ConnectError) as caught:
        requests.get(f"http://127.0.0.1:{closed_port}/")
    assert isinstance(caught.value, ThirdPartyUnavailableError)
    assert caught.value.attempts == 3  # type: ignore[attr-defined]


def test_exceptions_are_configurable(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/cut", "cut")
    with pytest.raises(ThirdPartyNetworkError):
        make_client(retry=fast.replace(exceptions=(httpx.TimeoutException,))).get(url)
    assert len(upstream.hits("/cut")) == 1


# -- waits, Retry-After and the delay cap ----------------------------------------------------


# Wall-clock bounds here are lower bounds (a wait happened) or carry SLACK (a loaded machine
# schedules late); exact figures are asserted on the decisions the client reports to on_retry.
SLACK = 5.0


def test_backoff_waits_between_attempts(upstream: Any, make_client: Any) -> None:
    policy = RetryPolicy(attempts=3, multiplier=0.2, max_wait=0.3, jitter=0)
    retries: List[RetryEvent] = []
    url = upstream.script("/s", 503, 503)
    assert make_client(retry=policy, on_retry=retries.append).get(url).status_code == 200
    assert [e.wait for e in retries] == pytest.approx([0.2, 0.3])  # 0.4 capped by max_wait
    first, second, third = (r.at for r in upstream.hits("/s"))
    assert 0.2 <= second - first < 0.2 + SLACK
    assert 0.3 <= third - second < 0.3 + SLACK


def test_retry_after_seconds_is_honoured(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/s", (429, {"Retry-After": "1"}))
    assert make_client(retry=fast).get(url).status_code == 200
    first, second = (r.at for r in upstream.hits("/s"))
    assert second - first >= 0.95


def test_retry_after_http_date_is_honoured(upstream: Any, make_client: Any, fast: Any) -> None:
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    url = upstream.script("/s", (503, {"Retry-After": email.utils.format_datetime(when, True)}))
    assert make_client(retry=fast).get(url).status_code == 200
    _, second = upstream.hits("/s")
    # The date has one-second resolution; however slow the machine, the retry is not sent
    # before it (a timer may fire a clock tick early).
    assert second.wall >= when.replace(microsecond=0).timestamp() - 0.01


def test_retry_after_is_ignored_when_told(upstream: Any, make_client: Any, fast: Any) -> None:
    retries: List[RetryEvent] = []
    url = upstream.script("/s", (503, {"Retry-After": "30"}))
    requests = make_client(retry=fast.replace(respect_retry_after=False), on_retry=retries.append)
    started = time.monotonic()
    assert requests.get(url).status_code == 200
    assert [e.wait for e in retries] == pytest.approx([0.01])  # the backoff, not the 30 s
    assert time.monotonic() - started < 30


def test_retry_after_past_the_cap_returns_at_once(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    retries: List[RetryEvent] = []
    url = upstream.script("/s", (503, {"Retry-After": "120"}))
    started = time.monotonic()
    response = make_client(retry=fast.replace(max_delay=60), on_retry=retries.append).get(url)
    assert response.status_code == 503
    assert retries == []  # no wait was planned at all
    assert time.monotonic() - started < 60
    assert len(upstream.hits("/s")) == 1


def test_status_retries_stop_at_the_delay_cap(upstream: Any, make_client: Any) -> None:
    policy = RetryPolicy(attempts=100, max_delay=1.0, multiplier=0.1, max_wait=0.2, jitter=0)
    retries: List[RetryEvent] = []
    url = upstream.script("/s", *[503] * 100)
    started = time.monotonic()
    assert make_client(retry=policy, on_retry=retries.append).get(url).status_code == 503
    elapsed = time.monotonic() - started
    hits = upstream.hits("/s")
    # Every wait was planned to end by the cap: time spent so far plus the wait fits in 1.0 s
    # (elapsed_ms is taken a moment after the decision, hence the 50 ms).
    assert all(e.elapsed_ms / 1000 + e.wait <= 1.0 + 0.05 for e in retries)
    # It stopped because the next wait would cross the cap, not for want of attempts: the
    # last attempt ended less than one max_wait before it.
    assert elapsed >= 1.0 - 0.2
    assert len(hits) == len(retries) + 1 < 100
    assert elapsed < 1.0 + SLACK  # 100 attempts of up to 0.2 s each would take ~20 s


def test_call_never_exceeds_cap_plus_one_timeout(upstream: Any, make_client: Any) -> None:
    policy = RetryPolicy(attempts=100, max_delay=0.7, multiplier=0.1, max_wait=0.1, jitter=0)
    retries: List[RetryEvent] = []
    url = upstream.script("/slow", *[("stall", 10)] * 100)
    requests = make_client(retry=policy, timeout=0.4, on_retry=retries.append)
    started = time.monotonic()
    with pytest.raises(ThirdPartyTimeoutError) as caught:
        requests.get(url)
    elapsed = time.monotonic() - started
    # No attempt starts after the cap, so the call ends within the cap plus one timeout; an
    # unloaded machine fits one retry (0.4 s + 0.1 s wait), a loaded one maybe none.
    assert all(e.elapsed_ms / 1000 + e.wait <= 0.7 + 0.05 for e in retries)
    assert caught.value.attempts == len(retries) + 1 <= 2  # type: ignore[attr-defined]
    assert elapsed <= 0.7 + 0.4 + SLACK  # 100 attempts of 0.4 s would take ~40 s


def test_ancestor_retry_names_work(upstream: Any, make_client: Any) -> None:
    config = {
        "stop_max_attempt_number": 3,
        "stop_max_delay": 60,
        "wait_exponential_multiplier": 2,
        "wait_exponential_max": 10,
    }
    requests = make_client(**config)
    assert requests.client.retry.replace(jitter=0) == RetryPolicy(
        attempts=3, max_delay=60, multiplier=2, max_wait=10, jitter=0
    )
    fast_ancestor = make_client(
        stop_max_attempt_number=4, wait_exponential_multiplier=0.05, wait_exponential_max=0.05
    )
    url = upstream.script("/s", 503, 503, 503, 503)
    assert fast_ancestor.get(url).status_code == 503
    assert len(upstream.hits("/s")) == 4
    capped = make_client(stop_max_delay=0.3, wait_exponential_multiplier=0.2)
    url = upstream.script("/t", 503, 503, 503)
    assert capped.get(url).status_code == 503
    assert len(upstream.hits("/t")) == 2  # a third try would start past 0.3 s


# -- request id ------------------------------------------------------------------------------


def test_request_id_is_forwarded(upstream: Any, make_client: Any) -> None:
    requests = make_client()
    token = request_id_var.set("req-123")
    try:
        echoed = requests.get(upstream.url + "/a").json()["headers"]
        own = requests.get(upstream.url + "/b", headers={"X-Request-ID": "mine"}).json()["headers"]
    finally:
        request_id_var.reset(token)
    outside = requests.get(upstream.url + "/c").json()["headers"]
    assert echoed["x-request-id"] == "req-123"
    assert own["x-request-id"] == "mine"
    assert "x-request-id" not in outside


async def test_request_id_follows_each_task(upstream: Any) -> None:
    async with AsyncClient() as client:

        async def call(rid: str) -> str:
            request_id_var.set(rid)
            response = await client.get(upstream.url + "/x")
            return str(response.json()["headers"]["x-request-id"])

        ids = [f"task-{i}" for i in range(5)]
        assert await asyncio.gather(*(call(i) for i in ids)) == ids


def test_bad_arguments_say_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"retry='yes': expected a RetryPolicy"):
        Client(retry="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"stop_max_attempt_number=0: expected an integer >= 1"):
        Client(stop_max_attempt_number=0)
    with pytest.raises(ValueError, match=r"retry=False conflicts with stop_max_delay=5"):
        Client(retry=False, stop_max_delay=5)
    with pytest.raises(ValueError, match=r"log_level='loud'"):
        Client(log_level="loud")
    with pytest.raises(ValueError, match=r"sensitive_headers='X-Key'"):
        Client(sensitive_headers="X-Key")
    with pytest.raises(ValueError, match=r"on_retry=1: expected a callable"):
        Client(on_retry=1)  # type: ignore[arg-type]
    with Client() as client, pytest.raises(ValueError, match=r"retry=3: expected"):
        client.get("http://127.0.0.1:9/", retry=3)  # type: ignore[arg-type]

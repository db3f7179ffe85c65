"""Hostile input against a real flyer app: uvicorn (flyer's own dev runner) on a loopback port.

Oversized and trickled bodies, malformed JSON, wrong content types, a 10 KB `X-Request-ID`,
CR/LF and NUL in header values, path traversal in the docs asset URLs and a client that hangs
up mid-body; and, on a second server at the edge's defaults, a 1 MB header, 50 MB bodies with
and without a length, slowloris connections, 1,000 idle keep-alive connections, a forged
`Host` on a redirect and management routes with auth off (the server's memory growth for
each is printed). Requests go over raw sockets, since well-behaved clients refuse to send most of
these. Every answer is checked for the right status, flyer's envelope with a request id (for
whatever reaches the app), and the absence of tracebacks, server paths and secrets; the
server's log is checked for the credentials it was sent.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import pytest

pytestmark = pytest.mark.slow

USER = "probe"
PASSWORD = secrets.token_urlsafe(18)
CREDENTIALS = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
AUTH = f"Authorization: Basic {CREDENTIALS}"
CRASH_SECRET = "db://admin:" + secrets.token_hex(8) + "@10.9.8.7"
LIMIT = 16 * 1024
BASE = "/flyer"

PROBE_APP = '''
"""Routes for the hostile-input tests: a JSON body, a raw body and an unhandled error."""

import asyncio
from typing import Any, Dict, List

from fastapi import Request
from pydantic import BaseModel, Field

from flyer_core import APIRouter
from flyer_core.schemas import DataResponse

router = APIRouter(prefix="/probe", tags=["probe"])


class Order(BaseModel):
    item: str = Field(..., min_length=1, max_length=50)
    quantity: int = Field(..., ge=1, le=1000)
    tags: List[str] = []


@router.post("/orders", response_model=DataResponse[Order])
async def create_order(order: Order) -> Dict[str, Any]:
    return {"data": order}


@router.post("/upload", response_model=DataResponse[Dict[str, int]])
async def upload(request: Request) -> Dict[str, Any]:
    body = await request.body()
    return {"data": {"size": len(body)}}


@router.get("/slow")
async def slow(seconds: float = 1.0) -> Dict[str, Any]:
    await asyncio.sleep(min(seconds, 30.0))
    return {"data": None}


@router.get("/crash")
async def crash() -> Dict[str, Any]:
    raise RuntimeError("%s failed in /srv/internal/orders.py")
'''


class Reply(NamedTuple):
    status: int
    headers: List[Tuple[str, str]]
    body: bytes
    raw: bytes

    def header(self, name: str) -> Optional[str]:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> List[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def json(self) -> Dict[str, object]:
        loaded = json.loads(self.body)
        assert isinstance(loaded, dict), self.body[:300]
        return loaded


# The running probe app: a `start_server` handle (tests/conftest.py) with `.port`, `.root`
# (the app's directory), `.log_text()` and `.records()` (the JSON lines of its log).
Server = Any


def _parse(raw: bytes) -> Reply:
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete HTTP response: {raw[:300]!r}"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    reply = Reply(status, headers, body, raw)
    length = reply.header("content-length")
    if length is not None:
        body = body[: int(length)]
    elif (reply.header("transfer-encoding") or "").lower() == "chunked":
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2 :]
        body = decoded
    return Reply(status, headers, body, raw)


def exchange(
    port: int,
    head: bytes,
    body_parts: Sequence[bytes] = (),
    *,
    delay: float = 0.0,
    hang_up_after: Optional[int] = None,
    timeout: float = 15.0,
) -> Optional[Reply]:
    """Send `head`, then each body part `delay` seconds apart; read until the server closes.

    A server may answer and close before the whole body is sent (413): a failed send stops
    sending and the answer is read. With `hang_up_after=n`, the client closes after n parts
    and nothing is read (returns None).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for index, part in enumerate(body_parts):
            if hang_up_after is not None and index >= hang_up_after:
                return None
            if delay:
                time.sleep(delay)
            try:
                sock.sendall(part)
            except OSError:
                break
        if hang_up_after is not None:
            return None
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return _parse(b"".join(chunks))


def request(
    port: int,
    method: str,
    target: str,
    headers: Sequence[str] = (),
    body: bytes = b"",
    *,
    auth: bool = True,
    length: Optional[int] = None,
) -> Reply:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if auth:
        lines.append(AUTH)
    lines += list(headers)
    if body or length is not None:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    reply = exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    assert reply is not None
    return reply


def assert_clean(reply: Reply, server: Server) -> None:
    """No traceback, server path, credential or secret reaches the client."""
    text = reply.raw.decode("latin-1")
    for needle in (
        "Traceback",
        'File "',
        "site-packages",
        str(server.root),
        os.sep + "srv" + os.sep,
        PASSWORD,
        CREDENTIALS,
        CRASH_SECRET,
        "RuntimeError",
    ):
        assert needle not in text, f"{needle!r} leaked to the client: {text[:600]}"


def assert_envelope(reply: Reply, status: int, server: Server) -> Dict[str, object]:
    assert reply.status == status, reply.raw[:600]
    assert (reply.header("content-type") or "").startswith("application/json"), reply.raw[:600]
    body = reply.json()
    assert set(body) == {"code", "message", "detail", "data", "request_id"}, body
    assert body["code"] == status, body
    assert isinstance(body["message"], str)
    assert isinstance(body["detail"], str)
    request_id = reply.header("x-request-id")
    assert request_id, reply.raw[:600]
    assert body["request_id"] == request_id, (body, request_id)
    assert_clean(reply, server)
    return body


def assert_rejected_by_the_server(reply: Reply, server: Server) -> None:
    """A request HTTP itself forbids: 400 from the HTTP layer, before any app code runs."""
    assert reply.status == 400, reply.raw[:600]
    assert not reply.all("set-cookie"), reply.raw[:600]
    assert not reply.all("x-injected"), reply.raw[:600]
    assert_clean(reply, server)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    free_port: Callable[[], int],
    flyer_env: Callable[..., Dict[str, str]],
    start_server: Callable[..., Any],
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "app" / "probe").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "probe" / "__init__.py").write_text(PROBE_APP % CRASH_SECRET)
    (root / "main.py").write_text("from flyer_core import create_app\n\napp = create_app()\n")
    port = free_port()
    env = flyer_env(
        flyer_max_body_size=str(LIMIT),
        flyer_auth_enable="1",
        flyer_auth_user=USER,
        flyer_auth_pass=PASSWORD,
        flyer_log_format="json",
        flyer_access_log="1",
        flyer_sched_lock_dir=str(root / "locks"),
    )
    code = (
        "from flyer_core import run_dev; "
        f"run_dev('main:app', host='127.0.0.1', port={port}, reload=False)"
    )
    served = start_server(
        [sys.executable, "-c", code], port=port, cwd=root, env=env, log=root / "server.log"
    )
    try:
        served.wait_until_up(60)
        yield served
    finally:
        served.stop(timeout=20)


def _order(item: str = "notebook", quantity: int = 2) -> bytes:
    return json.dumps({"item": item, "quantity": quantity}).encode()


def test_a_well_formed_request_is_served(server: Server) -> None:
    """The baseline the hostile cases are measured against: the route works."""
    reply = request(
        server.port, "POST", f"{BASE}/probe/orders", ["Content-Type: application/json"], _order()
    )
    body = assert_envelope(reply, 200, server)
    assert body["data"] == {"item": "notebook", "quantity": 2, "tags": []}
    assert re.fullmatch(r"[0-9a-f]{32}", str(body["request_id"]))


def test_missing_credentials_are_401_in_the_envelope(server: Server) -> None:
    reply = request(server.port, "GET", f"{BASE}/probe/crash", auth=False)
    assert_envelope(reply, 401, server)
    assert (reply.header("www-authenticate") or "").lower().startswith("basic")
    wrong = base64.b64encode(f"{USER}:{PASSWORD}x".encode()).decode()
    reply = request(
        server.port, "GET", f"{BASE}/probe/crash", [f"Authorization: Basic {wrong}"], auth=False
    )
    assert_envelope(reply, 401, server)


@pytest.mark.parametrize("path", [f"{BASE}/probe/orders", f"{BASE}/probe/upload"])
def test_a_body_declared_too_large_is_413_before_it_is_read(server: Server, path: str) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {LIMIT * 8}\r\n\r\n"
    ).encode()
    # Only the head is sent: the answer must not wait for a body it will refuse.
    reply = exchange(server.port, head)
    assert reply is not None
    body = assert_envelope(reply, 413, server)
    assert str(LIMIT) in str(body["detail"])
    assert (reply.header("connection") or "").lower() == "close"


@pytest.mark.parametrize("path", [f"{BASE}/probe/orders", f"{BASE}/probe/upload"])
def test_a_chunked_body_growing_past_the_limit_is_413(server: Server, path: str) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n%s\r\n" % (4096, b" " * 4096)
    reply = exchange(server.port, head, [chunk] * (LIMIT // 4096 + 8) + [b"0\r\n\r\n"], delay=0.01)
    assert reply is not None
    assert_envelope(reply, 413, server)


def test_a_body_just_under_the_limit_is_accepted(server: Server) -> None:
    reply = request(server.port, "POST", f"{BASE}/probe/upload", body=b"x" * (LIMIT - 1))
    body = assert_envelope(reply, 200, server)
    assert body["data"] == {"size": LIMIT - 1}


@pytest.mark.parametrize(
    "payload",
    [
        b'{"item": "notebook", "quantity": ',
        b'{"item": "notebook" "quantity": 2}',
        b"{'item': 'notebook', 'quantity': 2}",
        b'{"item": "notebook", "quantity": NaN}',
        b"\x00\x01\x02",
    ],
    ids=["truncated", "missing-comma", "single-quotes", "nan", "binary"],
)
def test_malformed_json_is_a_client_error_in_the_envelope(server: Server, payload: bytes) -> None:
    reply = request(
        server.port, "POST", f"{BASE}/probe/orders", ["Content-Type: application/json"], payload
    )
    assert reply.status in (400, 422), reply.raw[:600]
    assert_envelope(reply, reply.status, server)


def test_wrongly_typed_fields_are_each_listed(server: Server) -> None:
    payload = b'{"item": "", "quantity": "many", "tags": "not-a-list"}'
    reply = request(
        server.port, "POST", f"{BASE}/probe/orders", ["Content-Type: application/json"], payload
    )
    body = assert_envelope(reply, 422, server)
    data = body["data"]
    assert isinstance(data, list)
    fields = {tuple(entry["loc"]) for entry in data}
    assert {("body", "item"), ("body", "quantity"), ("body", "tags")} <= fields, data


@pytest.mark.parametrize(
    "payload",
    [b"[" * 15000, b'{"a":' * 2600 + b"1" + b"}" * 2600, b'{"item": "\xff\xfe", "quantity": 1}'],
    ids=["deeply-nested-array", "deeply-nested-object", "invalid-utf8"],
)
def test_pathological_json_is_a_client_error_not_a_crash(server: Server, payload: bytes) -> None:
    assert len(payload) < LIMIT
    reply = request(
        server.port, "POST", f"{BASE}/probe/orders", ["Content-Type: application/json"], payload
    )
    assert 400 <= reply.status < 500, reply.raw[:600]
    assert_envelope(reply, reply.status, server)


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("text/plain", b'{"item": "notebook", "quantity": 2}'),
        ("application/xml", b"<order><item>notebook</item></order>"),
        ("application/x-www-form-urlencoded", b"item=notebook&quantity=2"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="item"\r\n\r\nnotebook\r\n--xyz--\r\n',
        ),
        ("application/octet-stream", b"\x89PNG\r\n\x1a\n"),
    ],
    ids=["text", "xml", "form", "multipart", "binary"],
)
def test_a_wrong_content_type_is_refused_in_the_envelope(
    server: Server, content_type: str, payload: bytes
) -> None:
    reply = request(
        server.port, "POST", f"{BASE}/probe/orders", [f"Content-Type: {content_type}"], payload
    )
    assert reply.status in (400, 415, 422), reply.raw[:600]
    assert_envelope(reply, reply.status, server)


def _records_of(server: Server, request_id: str) -> List[Dict[str, object]]:
    """The log records of one request, once its access line is written (lines are flushed
    once per event-loop iteration, so they may land just after the response; 5 s at most)."""
    deadline = time.monotonic() + 5
    while True:
        records = [r for r in server.records() if r.get("request_id") == request_id]
        if any(r.get("logger") == "flyer.access" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


@pytest.mark.parametrize(
    "incoming",
    ["a" * 10 * 1024, "<script>alert(1)</script>", "id with spaces", "ünïcode", ""],
    ids=["10KB", "markup", "spaces", "non-ascii", "empty"],
)
def test_an_insane_request_id_is_replaced_not_echoed(server: Server, incoming: str) -> None:
    reply = request(
        server.port,
        "POST",
        f"{BASE}/probe/orders",
        ["Content-Type: application/json", f"X-Request-ID: {incoming}"],
        _order(),
    )
    body = assert_envelope(reply, 200, server)
    assert re.fullmatch(r"[0-9a-f]{32}", str(body["request_id"])), body["request_id"]
    logged = _records_of(server, body["request_id"])
    assert logged, "the request has no access line"
    if incoming:
        assert incoming.encode("latin-1", "replace") not in reply.raw
        assert all(incoming not in json.dumps(r) for r in logged)


def test_a_sane_request_id_is_echoed_and_logged(server: Server) -> None:
    incoming = "order-" + secrets.token_hex(6)
    reply = request(server.port, "GET", f"{BASE}/health_check", [f"X-Request-ID: {incoming}"])
    assert reply.header("x-request-id") == incoming


@pytest.mark.parametrize(
    "header",
    [
        "X-Request-ID: abc\rSet-Cookie: pwned=1",
        "X-Request-ID: abc\nSet-Cookie: pwned=1",
        "X-Request-ID: abc\r\n Set-Cookie: pwned=1",
        "X-Note: abc\x00X-Injected: 1",
        "X-Note: abc\r\rX-Injected: 1",
    ],
    ids=["bare-cr", "bare-lf", "obs-fold", "nul", "double-cr"],
)
def test_cr_lf_and_nul_in_header_values_are_refused(server: Server, header: str) -> None:
    reply = request(server.port, "GET", f"{BASE}/health_check", [header])
    assert_rejected_by_the_server(reply, server)


def test_a_split_header_line_is_two_headers_and_nothing_is_reflected(server: Server) -> None:
    """A CRLF sent on the wire ends the header: the second line is an ordinary request header,
    and no request header comes back as a response header."""
    reply = request(
        server.port,
        "GET",
        f"{BASE}/health_check",
        ["X-Request-ID: ok-id-1", "Set-Cookie: pwned=1", "X-Injected: 1"],
    )
    assert reply.status == 200
    assert reply.header("x-request-id") == "ok-id-1"
    assert not reply.all("set-cookie")
    assert not reply.all("x-injected")


@pytest.mark.parametrize(
    "target",
    [
        f"{BASE}/probe/%0d%0aSet-Cookie:%20pwned=1",
        f"{BASE}/probe/%0d%0aSet-Cookie:%20pwned=1/",
        f"{BASE}/docs/%0d%0aX-Injected:%201/",
        "/%0d%0aX-Injected:%201",
    ],
)
def test_encoded_cr_lf_in_the_path_injects_no_header(server: Server, target: str) -> None:
    reply = request(server.port, "GET", target)
    assert not reply.all("set-cookie"), reply.raw[:600]
    assert not reply.all("x-injected"), reply.raw[:600]
    location = reply.header("location")
    if location is not None:
        assert not re.search(r"\s", location), location
    assert reply.status in (301, 302, 307, 308, 404), reply.raw[:600]
    if reply.status == 404:
        assert_envelope(reply, 404, server)


def test_the_docs_assets_are_served(server: Server) -> None:
    """The asset route works, so the traversal cases below are refused for the right reason."""
    reply = request(server.port, "GET", f"{BASE}/static/swagger-ui-bundle.js")
    assert reply.status == 200
    assert b"SwaggerUI" in reply.body


@pytest.mark.parametrize(
    "target",
    [
        f"{BASE}/static/../../../../etc/passwd",
        f"{BASE}/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        f"{BASE}/static/%2e%2e%2f%2e%2e%2f_settings.py",
        f"{BASE}/static/%2e%2e",
        f"{BASE}/static/..%5c..%5c_settings.py",
        f"{BASE}/static/%252e%252e%252f_settings.py",
        f"{BASE}/static/..%c0%af..%c0%af_settings.py",
        f"{BASE}/static/VERSIONS",
        f"{BASE}/static/swagger-ui.LICENSE",
        f"{BASE}/static/__init__.py",
        f"{BASE}/static/swagger-ui-bundle.js%00.py",
        f"{BASE}/static//etc/passwd",
        f"{BASE}/static/%2fetc%2fpasswd",
    ],
)
def test_path_traversal_in_docs_asset_urls_is_404(server: Server, target: str) -> None:
    reply = request(server.port, "GET", target)
    assert_envelope(reply, 404, server)
    for needle in (b"root:", b"import ", b"swagger-ui-dist", b"Apache License", b"BaseSettings"):
        assert needle not in reply.body, (target, reply.body[:300])


def test_unknown_methods_are_405_in_the_envelope(server: Server) -> None:
    reply = request(server.port, "TRACE", f"{BASE}/probe/orders")
    assert_envelope(reply, 405, server)
    assert "POST" in (reply.header("allow") or "")


def test_an_unhandled_error_is_a_generic_500_and_the_traceback_stays_in_the_log(
    server: Server,
) -> None:
    reply = request(server.port, "GET", f"{BASE}/probe/crash")
    body = assert_envelope(reply, 500, server)
    assert body["detail"] == ""
    assert body["data"] is None
    errors = [r for r in _records_of(server, body["request_id"]) if r.get("level") == "error"]
    assert len(errors) == 1, errors
    assert "RuntimeError" in json.dumps(errors[0])


def test_a_slow_client_trickling_its_body_blocks_no_one(server: Server) -> None:
    payload = _order("trickled", 7)
    head = (
        f"POST {BASE}/probe/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    outcome: Dict[str, Optional[Reply]] = {}
    done = threading.Event()

    def trickle() -> None:
        try:
            outcome["reply"] = exchange(
                server.port, head, [payload[i : i + 1] for i in range(len(payload))], delay=0.1
            )
        finally:
            done.set()

    slow = threading.Thread(target=trickle, daemon=True)
    slow.start()
    time.sleep(0.3)
    served_meanwhile = 0
    for _ in range(10):
        reply = request(
            server.port,
            "POST",
            f"{BASE}/probe/orders",
            ["Content-Type: application/json"],
            _order(),
        )
        assert reply.status == 200, reply.raw[:600]
        served_meanwhile += 1
    # The trickle takes several seconds: the other requests were answered while it was running.
    assert not done.is_set(), "the fast requests waited for the slow client"
    assert served_meanwhile == 10
    slow.join(30)
    assert done.is_set()
    trickled = outcome.get("reply")
    assert trickled is not None
    body = assert_envelope(trickled, 200, server)
    assert body["data"] == {"item": "trickled", "quantity": 7, "tags": []}


def test_a_slow_client_trickling_past_the_limit_gets_413(server: Server) -> None:
    head = (
        f"POST {BASE}/probe/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {LIMIT * 2}\r\n"
        "X-Request-ID: trickle-past-limit\r\nConnection: close\r\n\r\n"
    ).encode()
    # The declared length is refused at once; an undeclared (chunked) one as it streams in.
    reply = exchange(server.port, head, [b"y" * 1024] * 4, delay=0.05)
    assert reply is not None
    assert_envelope(reply, 413, server)
    head = head.replace(f"Content-Length: {LIMIT * 2}".encode(), b"Transfer-Encoding: chunked")
    chunk = b"%x\r\n%s\r\n" % (1024, b"y" * 1024)
    reply = exchange(server.port, head, [chunk] * (LIMIT // 1024 + 4), delay=0.02)
    assert reply is not None
    assert_envelope(reply, 413, server)


@pytest.mark.parametrize("path", [f"{BASE}/probe/orders", f"{BASE}/probe/upload"])
def test_a_client_hanging_up_mid_body_is_not_a_server_error(server: Server, path: str) -> None:
    """The client is gone: nothing to answer, but no 500, no error-level traceback in the log
    (a client that can write tracebacks into the log at will can flood it)."""
    request_id = "hang-up-" + secrets.token_hex(6)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\nX-Request-ID: {request_id}\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    ).encode()
    exchange(server.port, head, [b'{"item": ', b'"x"'], delay=0.2, hang_up_after=1)
    deadline = time.monotonic() + 10
    lines: List[Dict[str, object]] = []
    while time.monotonic() < deadline:
        lines = [r for r in server.records() if r.get("request_id") == request_id]
        if any(r.get("logger") == "flyer.access" for r in lines):
            break
        time.sleep(0.1)
    access = [r for r in lines if r.get("logger") == "flyer.access"]
    assert len(access) == 1, lines
    assert access[0]["status"] != 500, lines
    assert not [r for r in lines if r.get("level") in ("error", "critical")], lines
    # And the server still answers.
    assert request(server.port, "GET", "/health_check").status == 200


def test_the_log_holds_no_credentials(server: Server) -> None:
    """Every test above sent the Basic credentials; none of them reached the log."""
    request(server.port, "GET", f"{BASE}/probe/crash")
    request(server.port, "GET", f"{BASE}/health_check", [f"Cookie: session={PASSWORD}"])
    text = server.log_text()
    assert "flyer.access" in text
    assert PASSWORD not in text
    assert CREDENTIALS not in text


# The edge's limits, at their defaults except for short arrival times, on a second server.
# Each case prints the server's resident memory before and after (and its peak), from
# /proc/<pid>/status; no bound is asserted on them.

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 3
KEEPALIVE = 3
HEADROOM = 30.0  # seconds a "closed within the configured time" check allows at most
DEFAULT_BODY_LIMIT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def edge_server(
    tmp_path_factory: pytest.TempPathFactory,
    free_port: Callable[[], int],
    flyer_env: Callable[..., Dict[str, str]],
    start_server: Callable[..., Any],
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("edge")
    (root / "app" / "probe").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "probe" / "__init__.py").write_text(PROBE_APP % CRASH_SECRET)
    (root / "main.py").write_text("from flyer_core import create_app\n\napp = create_app()\n")
    port = free_port()
    env = flyer_env(
        flyer_header_timeout=str(HEADER_TIMEOUT),
        flyer_body_timeout=str(BODY_TIMEOUT),
        flyer_keepalive=str(KEEPALIVE),
        flyer_log_format="json",
        flyer_access_log="0",
        flyer_sched_lock_dir=str(root / "locks"),
    )
    code = (
        "from flyer_core import run_dev; "
        f"run_dev('main:app', host='127.0.0.1', port={port}, reload=False)"
    )
    served = start_server(
        [sys.executable, "-c", code], port=port, cwd=root, env=env, log=root / "server.log"
    )
    try:
        served.wait_until_up(60)
        yield served
    finally:
        served.stop(timeout=20)


def _memory(pid: int) -> Dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    found: Dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


class _Rss:
    """Prints the server's memory growth over a `with` block."""

    def __init__(self, server: Server, case: str) -> None:
        self.server, self.case = server, case

    def __enter__(self) -> _Rss:
        self.before = _memory(self.server.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        after = _memory(self.server.pid)
        print(
            f"\nRSS {self.case}: {self.before['VmRSS'] / 1024:.1f} -> {after['VmRSS'] / 1024:.1f} MiB"
            f" ({(after['VmRSS'] - self.before['VmRSS']) / 1024:+.1f} MiB),"
            f" peak {self.before['VmHWM'] / 1024:.1f} -> {after['VmHWM'] / 1024:.1f} MiB"
        )


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=HEADROOM)


def _read_until_closed(sock: socket.socket, deadline: float) -> Tuple[bytes, bool]:
    """Everything the server sends until it closes (True) or `deadline` passes (False)."""
    chunks: List[bytes] = []
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return b"".join(chunks), True
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def _edge_envelope(
    raw: bytes, status: int, server: Server, close: bool = True
) -> Dict[str, object]:
    reply = _parse(raw)
    body = assert_envelope(reply, status, server)
    if close:
        assert (reply.header("connection") or "").lower() == "close", raw[:400]
    return body


def test_a_1mb_header_is_431_in_the_envelope(edge_server: Server) -> None:
    with _Rss(edge_server, "1 MB header"), _connect(edge_server) as sock:
        head = f"GET {BASE}/probe/crash HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".encode()
        sock.sendall(head + b"a" * (1024 * 1024) + b"\r\n\r\n")
        raw, closed = _read_until_closed(sock, time.monotonic() + HEADROOM)
    assert closed
    body = _edge_envelope(raw, 431, edge_server)
    assert str(64 * 1024) in str(body["detail"])


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_50mb_body_is_413_in_the_envelope_the_client_can_read(
    edge_server: Server, declared: bool
) -> None:
    """The client sends all 50 MB before it reads (as most clients do) and still reads the
    413: the server drops the body instead of resetting the connection under it."""
    size = 50 * 1024 * 1024
    block = b"y" * (1024 * 1024)
    case = f"50 MB body ({'declared' if declared else 'chunked'})"
    with _Rss(edge_server, case), _connect(edge_server) as sock:
        framing = f"Content-Length: {size}" if declared else "Transfer-Encoding: chunked"
        sock.sendall(
            f"POST {BASE}/probe/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n"
            f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n".encode()
        )
        failure = None
        try:
            for _ in range(size // len(block)):
                sock.sendall(block if declared else b"%x\r\n%s\r\n" % (len(block), block))
            if not declared:
                sock.sendall(b"0\r\n\r\n")
        except OSError as exc:
            failure = repr(exc)
        raw, _ = _read_until_closed(sock, time.monotonic() + HEADROOM)
    assert failure is None, f"the server stopped reading mid-body: {failure}"
    # A chunked body read to its end leaves a clean connection, which may stay open.
    body = _edge_envelope(raw, 413, edge_server, close=declared)
    assert str(DEFAULT_BODY_LIMIT) in str(body["detail"])


def test_two_slowloris_connections_are_closed_within_the_header_timeout(
    edge_server: Server,
) -> None:
    outcome: Dict[int, Tuple[bytes, bool, float]] = {}

    def slowloris(index: int) -> None:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", edge_server.port), timeout=HEADROOM) as sock:
            sock.sendall(f"GET {BASE}/probe/crash HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
            raw, closed = b"", False
            while not closed and time.monotonic() - started < HEADROOM:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    more, closed = _read_until_closed(sock, time.monotonic() + 1)
                    raw += more
                    break
                more, closed = _read_until_closed(sock, time.monotonic() + 0.5)
                raw += more
        outcome[index] = (raw, closed, time.monotonic() - started)

    with _Rss(edge_server, "two slowloris connections"):
        threads = [threading.Thread(target=slowloris, args=(i,), daemon=True) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HEADROOM + 10)
    for raw, closed, took in outcome.values():
        assert closed, f"still open after {took:.1f} s"
        assert took < HEADER_TIMEOUT + HEADROOM
        _edge_envelope(raw, 408, edge_server)
    assert len(outcome) == 2
    print(f"slowloris closed after {sorted(round(t, 1) for _, _, t in outcome.values())} s")


def test_1000_idle_keep_alive_connections_then_a_real_request(edge_server: Server) -> None:
    """1,000 connections each make a request and stay open (flyer_worker_connections is 1000):
    a real request still gets its answer at once, and the idle ones are closed within
    flyer_keepalive."""
    request_bytes = (
        b"GET /health_check HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"
    )
    idle: List[socket.socket] = []
    with _Rss(edge_server, "1000 idle keep-alive connections + a request"):
        try:
            for _ in range(1000):
                sock = socket.create_connection(("127.0.0.1", edge_server.port), timeout=HEADROOM)
                sock.sendall(request_bytes)
                idle.append(sock)
            for sock in idle:
                data = b""
                while b'"request_id"' not in data:
                    chunk = sock.recv(65536)
                    assert chunk, "an idle connection was closed before its answer"
                    data += chunk
                assert data.startswith(b"HTTP/1.1 200 "), data[:200]
            started = time.monotonic()
            reply = request(
                edge_server.port,
                "POST",
                f"{BASE}/probe/orders",
                ["Content-Type: application/json"],
                _order(),
            )
            answered = time.monotonic() - started
            assert_envelope(reply, 200, edge_server)
            # ...and the idle connections are all closed by the server within flyer_keepalive.
            deadline = time.monotonic() + KEEPALIVE + HEADROOM
            still_open = 0
            for sock in idle:
                _, closed = _read_until_closed(sock, deadline)
                still_open += not closed
        finally:
            for sock in idle:
                sock.close()
    assert still_open == 0, f"{still_open} idle connections still open"
    print(f"real request answered in {answered:.2f} s beside 1000 idle connections")


def test_redirects_and_management_routes_on_an_open_server(edge_server: Server) -> None:
    """With auth off, /tasks (flyer-sched's management routes) is refused, not served, and
    a trailing-slash redirect is relative whatever `Host` the client sent."""
    for method, path in [("GET", ""), ("POST", "/x/pause"), ("POST", "/x/run"), ("DELETE", "/x")]:
        reply = request(edge_server.port, method, f"{BASE}/tasks{path}", auth=False)
        body = assert_envelope(reply, 403, edge_server)
        assert "flyer_management_open_without_auth" in str(body["detail"])
    raw = exchange(
        edge_server.port,
        f"GET {BASE}/docs/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode(),
    )
    assert raw is not None
    assert raw.status in (301, 302, 307, 308), raw.raw[:300]
    assert raw.header("location") == f"{BASE}/docs"


# The same limits under `flyer serve`'s runner: gunicorn with flyer's uvicorn worker.

GUNICORN_CONNECTIONS = 20


@pytest.fixture(scope="module")
def gunicorn_server(
    tmp_path_factory: pytest.TempPathFactory,
    free_port: Callable[[], int],
    flyer_env: Callable[..., Dict[str, str]],
    start_server: Callable[..., Any],
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("edge-gunicorn")
    (root / "app" / "probe").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "probe" / "__init__.py").write_text(PROBE_APP % CRASH_SECRET)
    (root / "main.py").write_text("from flyer_core import create_app\n\napp = create_app()\n")
    port = free_port()
    env = flyer_env(
        flyer_worker_connections=str(GUNICORN_CONNECTIONS),
        flyer_keepalive="60",
        flyer_graceful_timeout="2",
        flyer_log_format="json",
        flyer_access_log="0",
        flyer_sched_lock_dir=str(root / "locks"),
    )
    code = (
        "from flyer_core import run_prod; "
        f"run_prod('main:app', workers=1, host='127.0.0.1', port={port})"
    )
    served = start_server(
        [sys.executable, "-c", code], port=port, cwd=root, env=env, log=root / "server.log"
    )
    try:
        served.wait_until_up(60)
        yield served
    finally:
        served.stop(timeout=20)


def _keep_alive_get(server: Server, path: str) -> socket.socket:
    sock = _connect(server)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n\r\n".encode())
    return sock


def test_under_gunicorn_idle_connections_make_room_and_busy_ones_get_a_503_envelope(
    gunicorn_server: Server,
) -> None:
    """flyer_worker_connections=20: 20 idle keep-alive connections do not lock a real request
    out; 20 busy ones get the next client a 503 in the envelope (gunicorn's uvicorn worker
    used to answer plain-text "Service Unavailable")."""
    idle = [_keep_alive_get(gunicorn_server, "/health_check") for _ in range(GUNICORN_CONNECTIONS)]
    try:
        for sock in idle:
            data = b""
            while b'"request_id"' not in data:
                chunk = sock.recv(65536)
                assert chunk
                data += chunk
            assert data.startswith(b"HTTP/1.1 200 "), data[:200]
        reply = request(gunicorn_server.port, "GET", "/health_check")
        assert_envelope(reply, 200, gunicorn_server)
    finally:
        for sock in idle:
            sock.close()
    busy = [
        _keep_alive_get(gunicorn_server, f"{BASE}/probe/slow?seconds=20")
        for _ in range(GUNICORN_CONNECTIONS)
    ]
    try:
        # Accepted in order: all 20 are open and none idle when the next one arrives.
        with _connect(gunicorn_server) as sock:
            sock.sendall(b"GET /health_check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            raw, closed = _read_until_closed(sock, time.monotonic() + HEADROOM)
        assert closed
        body = _edge_envelope(raw, 503, gunicorn_server)
        assert f"flyer_worker_connections={GUNICORN_CONNECTIONS}" in str(body["detail"])
    finally:
        for sock in busy:
            sock.close()


def test_under_gunicorn_a_1mb_header_is_431_in_the_envelope(gunicorn_server: Server) -> None:
    with _connect(gunicorn_server) as sock:
        head = f"GET {BASE}/probe/crash HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".encode()
        sock.sendall(head + b"a" * (1024 * 1024) + b"\r\n\r\n")
        raw, closed = _read_until_closed(sock, time.monotonic() + HEADROOM)
    assert closed
    _edge_envelope(raw, 431, gunicorn_server)

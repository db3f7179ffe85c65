"""The access line's own paths: the middleware's entry (`log_request`), the lines rendered
together from held fields, the structlog context looked up when they are rendered."""

from __future__ import annotations

import asyncio
import contextvars
import enum
import json
import logging
import math
import random
import re
from typing import Any, List, Optional

import pytest
import structlog

from flyer_core import configure_logging

_TIMESTAMP = re.compile(r'"timestamp": "[0-9T:.-]+Z"')


def _without_timestamp(text: str) -> str:
    assert len(_TIMESTAMP.findall(text)) == text.count("\n"), text
    return _TIMESTAMP.sub('"timestamp": "T"', text)


def _served_handlers(monkeypatch: Any) -> logging.Handler:
    """flyer's handlers only on the root logger, as in a served app (no pytest capture)."""
    root = logging.getLogger()
    monkeypatch.setattr(
        root, "handlers", [h for h in root.handlers if hasattr(h, "_flyer_handler")]
    )
    (console,) = root.handlers
    return console


def _durations() -> List[float]:
    rng = random.Random(20)
    values = [
        0.0,
        -0.0,
        0.0004,
        0.0005,
        0.0015,
        0.0025,
        0.1,
        0.4321234,
        1.5,
        2.0,
        9.9995,
        10.0,
        123.4565,
        999_999_999.999,
        1e9 - 1e-6,
        1e9,
        1e12 + 0.5,
        1e17,
        -0.0004,
        -1.25,
        math.inf,
        -math.inf,
        math.nan,
    ]
    for exponent in range(-4, 10):
        values += [rng.uniform(0, 10.0**exponent) for _ in range(300)]
    # Halfway cases as written in decimal (their binary values lie either side).
    values += [n / 1000 + 0.0005 for n in range(0, 5000, 7)]
    return values


def test_held_lines_write_the_duration_as_the_record_would(monkeypatch: Any) -> None:
    from flyer_core import _logging as flyer_logging

    created = 1_700_000_000.25
    flyer_logging._iso(created)  # the second's prefix is made: the usual, quick rendering
    for duration in _durations():
        entry = (created, "GET", "/a", 200, duration, "1.2.3.4", None, None, "rid")
        (line,) = flyer_logging._render_lines([entry]).splitlines()
        expected = flyer_logging._render_access(
            created, "GET", "/a", 200, round(duration, 3), "1.2.3.4", "rid", None, "rid"
        )
        assert line == expected, duration
        if math.isfinite(duration):
            written = re.search(r'"duration_ms": ([^,]+),', line)
            assert written is not None
            assert written.group(1) == repr(round(duration, 3)), duration


@pytest.mark.parametrize(
    "fraction", [0.0, 1e-7, 0.000001, 0.25, 0.5, 0.9999994, 0.9999996, 0.999999]
)
@pytest.mark.parametrize("prefix_made", [False, True], ids=["new-second", "known-second"])
def test_held_lines_write_the_time_as_the_record_would(fraction: float, prefix_made: bool) -> None:
    from flyer_core import _logging as flyer_logging

    created = 1_700_000_123 + fraction
    if prefix_made:
        flyer_logging._iso(created)
    entry = (created, "GET", "/a", 200, 0.5, "c", None, None, "rid")
    (line,) = flyer_logging._render_lines([entry]).splitlines()
    assert json.loads(line)["timestamp"] == flyer_logging._iso(created)


def test_held_lines_keep_their_order_with_other_lines() -> None:
    from flyer_core import _logging as flyer_logging

    entries: List[Any] = [
        "first",
        (1_700_000_000.5, "GET", "/a", 200, 0.5, "c", None, None, "r1"),
        "between",
        (1_700_000_000.5, "PUT", "/b", 204, 0.25, "c", "given", {"user": "u"}, None),
    ]
    lines = flyer_logging._render_lines(entries).splitlines()
    assert lines[0::2] == ["first", "between"]
    assert [json.loads(line)["request_id"] for line in lines[1::2]] == ["r1", "given"]
    assert [json.loads(line).get("user") for line in lines[1::2]] == [None, "u"]
    assert flyer_logging._render_lines(entries).endswith("}\n")


def test_the_part_caches_stay_small() -> None:
    from flyer_core import _logging as flyer_logging

    created = 1_700_000_000.5
    flyer_logging._iso(created)
    entries = [
        (created, "GET", f"/items/{n}", 200, 0.5, f"10.0.{n // 256}.{n % 256}", None, None, "r")
        for n in range(3 * flyer_logging._PARTS_MAX)
    ]
    lines = flyer_logging._render_lines(entries).splitlines()
    assert [json.loads(line)["path"] for line in lines] == [f"/items/{n}" for n in range(3072)]
    assert len(flyer_logging._ROUTES) <= flyer_logging._PARTS_MAX
    assert len(flyer_logging._CLIENTS) <= flyer_logging._PARTS_MAX


def test_the_context_is_the_one_bound_when_the_line_was_logged() -> None:
    from flyer_core import _logging as flyer_logging

    plain = contextvars.ContextVar("plain")  # not structlog's: remembered as such
    plain.set(1)
    try:
        nothing = contextvars.copy_context()
        assert flyer_logging._bound_in(nothing) is None
        assert plain in flyer_logging._OTHER_VARS
        structlog.contextvars.bind_contextvars(user="u-1", tenant=3)
        bound = contextvars.copy_context()
        structlog.contextvars.unbind_contextvars("user")
        unbound = contextvars.copy_context()
        structlog.contextvars.clear_contextvars()
        cleared = contextvars.copy_context()
    finally:
        structlog.contextvars.clear_contextvars()
    assert flyer_logging._bound_in(bound) == {"user": "u-1", "tenant": 3}
    assert flyer_logging._bound_in(unbound) == {"tenant": 3}
    assert flyer_logging._bound_in(cleared) is None
    for context, expected in [(bound, {"user": "u-1", "tenant": 3}), (cleared, {})]:
        bound_then = flyer_logging._bound_in(context)
        entry = (1_700_000_000.5, "GET", "/a", 200, 0.5, "c", None, bound_then, "rid")
        line = json.loads(flyer_logging._render_lines([entry]))
        assert {k: line[k] for k in ("user", "tenant") if k in line} == expected


_SCOPE = {"type": "http", "method": "POST", "path": "/orders", "client": ("10.0.0.2", 5000)}
_START, _END = 100.0, 100.00234567
_DURATION_MS = (_END - _START) * 1000


def _logged_in_a_loop(
    monkeypatch: Any, request_id: Optional[str], status: Any, bind: bool = False
) -> None:
    """`log_request` inside a running event loop, with `request_id` in `request_id_var`,
    the request `_DURATION_MS` long."""
    from flyer_core import _logging as flyer_logging
    from flyer_status import request_id_var

    monkeypatch.setattr(flyer_logging, "_perf_counter", lambda: _END)

    async def main() -> None:
        if request_id is not None:
            request_id_var.set(request_id)
        if bind:
            structlog.contextvars.bind_contextvars(user="u-2")
        flyer_logging.log_request(_SCOPE, status, _START)
        structlog.contextvars.bind_contextvars(late="after the line")
        await asyncio.sleep(0)

    asyncio.run(main())


@pytest.mark.parametrize("request_id", ["rid-7", None], ids=["in-request", "no-request-id"])
@pytest.mark.parametrize("bind", [False, True], ids=["no-context", "bound-context"])
def test_the_middlewares_line_is_log_access_with_the_current_request_id(
    make_settings: Any, capsys: Any, monkeypatch: Any, request_id: Optional[str], bind: bool
) -> None:
    from flyer_core._logging import log_access
    from flyer_status import request_id_var

    configure_logging(make_settings())
    _served_handlers(monkeypatch)
    try:
        _logged_in_a_loop(monkeypatch, request_id, 201, bind)
        served = capsys.readouterr().out

        async def same_with_log_access() -> None:
            if request_id is not None:
                request_id_var.set(request_id)
            if bind:
                structlog.contextvars.bind_contextvars(user="u-2")
            log_access("POST", "/orders", 201, _DURATION_MS, "10.0.0.2", request_id or "")
            await asyncio.sleep(0)

        asyncio.run(same_with_log_access())
        direct = capsys.readouterr().out
    finally:
        structlog.contextvars.clear_contextvars()
    assert served.count("\n") == 1
    assert _without_timestamp(served) == _without_timestamp(direct)
    line = json.loads(served)
    assert (line["request_id"], line["status"], line["duration_ms"]) == (
        request_id or "",
        201,
        2.346,
    )
    assert "late" not in line
    assert ("user" in line) is bind
    assert request_id_var.get() is None


class _Status(enum.IntEnum):
    CREATED = 201


def test_a_status_that_is_not_a_plain_int_is_written_by_the_record_path(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    configure_logging(make_settings())
    _served_handlers(monkeypatch)
    _logged_in_a_loop(monkeypatch, "rid-8", _Status.CREATED)
    line = json.loads(capsys.readouterr().out)
    assert (line["request_id"], line["status"], line["path"]) == ("rid-8", 201, "/orders")


def test_filters_see_the_middlewares_records(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core._logging import access_logger

    configure_logging(make_settings())
    console = _served_handlers(monkeypatch)
    seen: List[logging.LogRecord] = []

    def drop(record: logging.LogRecord) -> bool:
        seen.append(record)
        return False

    for target in (access_logger, console):
        target.addFilter(drop)
        try:
            _logged_in_a_loop(monkeypatch, "rid-9", 200)
        finally:
            target.removeFilter(drop)
        assert capsys.readouterr().out == ""
    assert [(r.request_id, r.status, r.duration_ms) for r in seen] == [("rid-9", 200, 2.346)] * 2


def test_held_middleware_lines_are_written_on_flush_and_close(
    make_settings: Any, capsys: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    from flyer_core._logging import access_logger, flush_access_lines, log_request
    from flyer_status import request_id_var

    access = tmp_path / "access.log"
    configure_logging(make_settings(access_logfile=str(access)))
    (handler,) = [h for h in access_logger.handlers if hasattr(h, "_flyer_handler")]

    async def main() -> None:
        request_id_var.set("r-flush")
        log_request(_SCOPE, 200, 0.0)
        assert access.read_text() == ""  # held for the end of the iteration
        flush_access_lines()
        assert json.loads(access.read_text())["request_id"] == "r-flush"
        request_id_var.set("r-close")
        log_request(_SCOPE, 200, 0.0)
        handler.close()  # as logging.shutdown() at exit, before the loop turns again

    asyncio.run(main())
    lines = [json.loads(line) for line in access.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == ["r-flush", "r-close"]
    access_logger.removeHandler(handler)
    access_logger.propagate = True


@pytest.mark.parametrize(
    "request_id", ["0123abcdef", "ID-7", 'a"b', "back\\slash", "tab\there", "ü1", "", "é"]
)
def test_held_lines_quote_any_request_id_as_json_does(request_id: str) -> None:
    from flyer_core import _logging as flyer_logging

    created = 1_700_000_000.75
    flyer_logging._iso(created)
    entry = (created, "GET", "/a", 200, 0.5, "c", request_id, None, "r")
    (line,) = flyer_logging._render_lines([entry]).splitlines()
    expected = flyer_logging._render_access(
        created, "GET", "/a", 200, 0.5, "c", request_id, None, "r"
    )
    assert line == expected
    assert json.loads(line)["request_id"] == request_id


def test_a_request_without_a_client_is_logged_with_an_empty_one(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core._logging import log_request

    configure_logging(make_settings())
    console = _served_handlers(monkeypatch)

    async def main() -> None:
        log_request({"method": "GET", "path": "/a"}, 200, 0.0)
        log_request({"method": "GET", "path": "/b", "client": None}, 200, 0.0)
        await asyncio.sleep(0)

    asyncio.run(main())
    console.addFilter(lambda record: True)  # the record path too
    asyncio.run(main())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["path"], line["client"], line["request_id"]) for line in lines] == [
        ("/a", "", ""),
        ("/b", "", ""),
    ] * 2


def test_no_held_line_is_lost_or_doubled_while_another_thread_flushes(
    make_settings: Any, tmp_path: Any
) -> None:
    import threading

    from flyer_core._logging import access_logger, flush_access_lines, log_request
    from flyer_status import request_id_var

    access = tmp_path / "access.log"
    configure_logging(make_settings(access_logfile=str(access)))
    (handler,) = [h for h in access_logger.handlers if hasattr(h, "_flyer_handler")]
    done = threading.Event()

    def flushing() -> None:
        while not done.is_set():
            flush_access_lines()

    async def main() -> None:
        for number in range(4000):
            request_id_var.set(f"r{number}")
            log_request(_SCOPE, 200, 0.0)
            if number % 7 == 0:
                await asyncio.sleep(0)

    flusher = threading.Thread(target=flushing)
    flusher.start()
    try:
        asyncio.run(main())
    finally:
        done.set()
        flusher.join()
    handler.close()
    access_logger.removeHandler(handler)
    access_logger.propagate = True
    lines = [json.loads(line) for line in access.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == [f"r{number}" for number in range(4000)]


@pytest.mark.parametrize("request_id", ["0123abcdef", 'a"b', "é", None])
@pytest.mark.parametrize("bind", [False, True], ids=["no-context", "bound-context"])
def test_a_request_holds_the_values_of_its_line_not_its_scope_or_context(
    make_settings: Any, monkeypatch: Any, request_id: Optional[str], bind: bool
) -> None:
    # Until the iteration's lines are written, a request's line is held as the values it
    # shows (log_access's entry): the request's scope and context end with the request.
    from flyer_core import _logging as flyer_logging
    from flyer_status import request_id_var

    configure_logging(make_settings())
    console = _served_handlers(monkeypatch)
    created = 1_700_000_000.25
    monkeypatch.setattr(flyer_logging, "_perf_counter", lambda: _END)
    monkeypatch.setattr(flyer_logging, "_time", lambda: created)
    scope = {"type": "http", "method": "GET", "path": "/a/ü", "client": ("10.0.0.9", 4000)}
    held: List[Any] = []

    async def main() -> None:
        request_id_var.set(request_id)
        if bind:
            structlog.contextvars.bind_contextvars(user="u-3")
        try:
            flyer_logging.log_request(scope, 200, _START)
            flyer_logging.log_request({"type": "http", "method": "GET", "path": "/"}, 204, _START)
        finally:
            structlog.contextvars.clear_contextvars()
        held.extend(entry for entry in console.pending if not isinstance(entry, str))

    asyncio.run(main())
    bound = {"user": "u-3"} if bind else None
    assert held == [
        (created, "GET", "/a/ü", 200, _DURATION_MS, "10.0.0.9", None, bound, request_id),
        (created, "GET", "/", 204, _DURATION_MS, "", None, bound, request_id),
    ]
    line = json.loads(flyer_logging._render_lines(held[:1]))
    assert (line["request_id"], line["path"], line["duration_ms"]) == (
        request_id or "",
        "/a/ü",
        2.346,
    )
    assert ("user" in line) is bind


def test_the_requests_of_one_iteration_go_to_the_handlers_of_its_first_in_order(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core import _logging as flyer_logging
    from flyer_status import request_id_var

    configure_logging(make_settings())
    console = _served_handlers(monkeypatch)
    seen: List[str] = []

    def watch(record: logging.LogRecord) -> bool:
        seen.append(record.getMessage())
        return True

    async def iteration(first: int) -> None:
        for number in range(first, first + 3):
            request_id_var.set(f"r{number}")
            flyer_logging.log_request(_SCOPE, 200, 0.0)
            logging.getLogger("app").info("after %d", number)

    async def main() -> None:
        await iteration(0)
        assert flyer_logging._batch.loop is asyncio.get_running_loop()
        await asyncio.sleep(0)  # the iteration's lines are written, its handlers forgotten
        assert flyer_logging._batch.loop is None
        console.addFilter(watch)  # the next iteration's access lines are records again
        try:
            await iteration(3)
            await asyncio.sleep(0)
        finally:
            console.removeFilter(watch)

    asyncio.run(main())
    lines = capsys.readouterr().out.splitlines()
    events = [
        line.get("request_id") if line["event"] == "request" else line["event"]
        for line in map(json.loads, lines)
    ]
    assert events == [x for n in range(6) for x in (f"r{n}", f"after {n}")]
    assert seen == [x for n in range(3, 6) for x in ("request", f"after {n}")]

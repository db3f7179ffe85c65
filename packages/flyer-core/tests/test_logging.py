"""Logging: one format for flyer's, the servers' and the leaf packages' lines; files, levels."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import httpx
import pytest
import structlog

from flyer_core import configure_logging, create_app, logger


def test_stdlib_loggers_render_like_flyer_lines(make_settings: Any, logs: Any) -> None:
    configure_logging(make_settings())
    logging.getLogger("apscheduler.scheduler").info("Added job %s", "tick")
    logging.getLogger("uvicorn.error").warning("something odd")
    logging.getLogger("flyer.sched").info("job ran", extra={"job_id": "tick", "elapsed_ms": 2.5})
    logger.info("hello", user=7)
    lines = logs.read()
    by_event = {line["event"]: line for line in lines}
    assert by_event["Added job tick"]["logger"] == "apscheduler.scheduler"
    assert by_event["something odd"]["level"] == "warning"
    assert by_event["job ran"]["job_id"] == "tick"
    assert by_event["job ran"]["elapsed_ms"] == 2.5
    assert by_event["hello"]["user"] == 7
    assert by_event["hello"]["logger"] == "flyer"
    assert all("timestamp" in line and "level" in line for line in lines)


def test_configuring_twice_does_not_duplicate_lines(make_settings: Any, logs: Any) -> None:
    create_app(None, make_settings(), plugins=[])
    create_app(None, make_settings(), plugins=[])
    logger.info("once")
    assert len(logs.where(event="once")) == 1


def test_uvicorn_access_logger_reaches_no_handler(make_settings: Any) -> None:
    # uvicorn builds its access line (client address, quoted path) per response whenever
    # `uvicorn.access` has a handler anywhere up the tree; flyer writes its own line.
    configure_logging(make_settings())
    uvicorn_access = logging.getLogger("uvicorn.access")
    assert logging.getLogger().handlers  # flyer's console handler is on the root
    assert not uvicorn_access.hasHandlers()
    assert not uvicorn_access.isEnabledFor(logging.INFO)


def test_console_level(make_settings: Any, logs: Any) -> None:
    configure_logging(make_settings(console_log_level="warn"))
    logger.info("quiet")
    logger.warn("loud")
    assert [line["event"] for line in logs.read()] == ["loud"]


def test_console_renderer(make_settings: Any, capsys: Any) -> None:
    configure_logging(make_settings(log_format="console"))
    logger.info("pretty line", answer=42)
    out = capsys.readouterr().out
    assert "pretty line" in out
    assert "answer" in out
    assert "42" in out
    assert not out.lstrip().startswith("{")


def test_log_file_rotates_and_has_its_own_level(make_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    settings = make_settings(
        log_file=str(path),
        log_file_max_bytes="2k",
        log_file_backup_count=2,
        file_log_level="warning",
        console_log_level="error",
    )
    configure_logging(settings)
    logger.info("not in the file")
    for i in range(60):
        logger.warning("into the file", i=i, pad="x" * 50)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["app.log", "app.log.1", "app.log.2"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines
    assert all(line["event"] == "into the file" for line in lines)
    assert lines[-1]["i"] == 59


def test_access_lines_to_their_own_file(
    serve: Any, make_settings: Any, tmp_path: Path, logs: Any
) -> None:
    access = tmp_path / "access.log"
    app = create_app(None, make_settings(access_logfile=str(access)), plugins=[])
    with serve(app) as url:
        response = httpx.get(url + "/health_check")
    (line,) = [json.loads(text) for text in access.read_text().splitlines()]
    assert line["path"] == "/health_check"
    assert line["request_id"] == response.headers["x-request-id"]
    assert logs.where(logger="flyer.access") == []  # not on the console as well


def test_server_lines_during_a_request_carry_no_stale_request_id(
    serve: Any, make_settings: Any, logs: Any
) -> None:
    with serve(create_app(None, make_settings(), plugins=[])) as url:
        httpx.get(url + "/health_check")
    after = [line for line in logs.read() if line["event"] in ("app stopped", "Shutting down")]
    assert after
    assert all("request_id" not in line for line in after)


ACCESS_FIELDS: Dict[str, Any] = {
    "method": "GET",
    "path": '/x/"quoted"/ü\\',
    "status": 201,
    "duration_ms": 1.5,
    "client": "10.0.0.1",
    "request_id": "rid-1",
}
_TIMESTAMP = re.compile(r'"timestamp": "[0-9T:.-]+Z"')


def _without_timestamp(line: str) -> str:
    assert len(_TIMESTAMP.findall(line)) == 1, line
    return _TIMESTAMP.sub('"timestamp": "T"', line)


def _served_handlers(monkeypatch: Any) -> logging.Handler:
    """flyer's handlers only on the root logger, as in a served app (no pytest capture)."""
    root = logging.getLogger()
    monkeypatch.setattr(
        root, "handlers", [h for h in root.handlers if hasattr(h, "_flyer_handler")]
    )
    (console,) = root.handlers
    return console


def _chain_line(handler: logging.Handler, record: logging.LogRecord) -> str:
    """What structlog's ProcessorFormatter (its whole processor chain) renders for `record`."""
    formatter = handler.formatter
    assert isinstance(formatter, structlog.stdlib.ProcessorFormatter)
    return str(structlog.stdlib.ProcessorFormatter.format(formatter, record)) + "\n"


@pytest.mark.parametrize(
    "bound",
    [{}, {"user": "u-7", "request_id": "bound-id", "tenant": {"id": 3}, "message": "m"}],
    ids=["no-context", "bound-context"],
)
@pytest.mark.parametrize("in_request", [False, True], ids=["bare", "in-request"])
def test_the_access_line_is_byte_for_byte_the_line_structlogs_chain_writes(
    make_settings: Any, capsys: Any, monkeypatch: Any, bound: Dict[str, Any], in_request: bool
) -> None:
    from flyer_core import _logging as flyer_logging
    from flyer_core._logging import access_logger, log_access
    from flyer_status import request_id_var

    configure_logging(make_settings())
    console = _served_handlers(monkeypatch)
    records: List[logging.LogRecord] = []
    built: List[Any] = []
    chain_runs: List[logging.LogRecord] = []
    chain = structlog.stdlib.ProcessorFormatter.format

    def counted(self: Any, record: logging.LogRecord) -> str:
        chain_runs.append(record)
        return chain(self, record)

    monkeypatch.setattr(structlog.stdlib.ProcessorFormatter, "format", counted)
    monkeypatch.setattr(
        flyer_logging, "_access_record", _counting(flyer_logging._access_record, built)
    )
    token = request_id_var.set("var-id") if in_request else None
    structlog.contextvars.bind_contextvars(**bound)
    try:
        # Only flyer's handler, no filter: the line is rendered without building a record.
        log_access(**ACCESS_FIELDS)
        unseen_line = capsys.readouterr().out
        # In an event loop the line is held to the end of the iteration and rendered then,
        # with what was bound when it was logged.
        asyncio.run(_log_then_bind(log_access))
        held_line = capsys.readouterr().out
        assert built == []
        # A filter sees records: now there is one, and flyer's formatter renders it.
        console.addFilter(lambda record: records.append(record) or True)
        log_access(**ACCESS_FIELDS)
        flyer_line = capsys.readouterr().out
        assert len(built) == 1
        assert chain_runs == []  # both rendered without the chain
        chain_line = _chain_line(console, records[0])  # the same record, the whole chain
        access_logger.info("request", extra=ACCESS_FIELDS)  # an ordinary record, the chain
        extra_line = capsys.readouterr().out
    finally:
        structlog.contextvars.clear_contextvars()
        if token is not None:
            request_id_var.reset(token)
    for line in (unseen_line, held_line, flyer_line):
        assert line.count("\n") == 1
        assert line.endswith("\n")
        assert _without_timestamp(line) == _without_timestamp(chain_line)
        assert _without_timestamp(line) == _without_timestamp(extra_line)
    line = json.loads(flyer_line)
    assert next(iter(line)) == "event"
    assert {k: line[k] for k in ACCESS_FIELDS} == ACCESS_FIELDS
    assert (line["logger"], line["level"], line["event"]) == ("flyer.access", "info", "request")
    assert {k: line[k] for k in bound if k not in ("request_id", "message")} == {
        k: v for k, v in bound.items() if k not in ("request_id", "message")
    }


async def _log_then_bind(log_access: Any) -> None:
    log_access(**ACCESS_FIELDS)
    structlog.contextvars.bind_contextvars(late="bound after the line was logged")
    await asyncio.sleep(0)


def _counting(function: Any, calls: List[Any]) -> Any:
    def counted(*args: Any) -> Any:
        calls.append(args)
        return function(*args)

    return counted


def test_a_record_a_filter_changed_is_rendered_by_the_chain(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core._logging import access_logger, log_access

    configure_logging(make_settings())
    _served_handlers(monkeypatch)

    def redact(record: logging.LogRecord) -> bool:
        record.path = "/redacted"
        record.user = "u-1"  # as `extra=` would add it
        return True

    def retype(record: logging.LogRecord) -> bool:
        record.status = "two hundred"  # a value the usual template could not write
        return True

    lines = []
    for changer, changed in [
        (redact, {"path": "/redacted", "user": "u-1"}),
        (retype, {"status": "two hundred"}),
    ]:
        access_logger.addFilter(changer)
        try:
            log_access(**ACCESS_FIELDS)
        finally:
            access_logger.removeFilter(changer)
        flyer_line = capsys.readouterr().out
        access_logger.info("request", extra={**ACCESS_FIELDS, **changed})
        assert _without_timestamp(flyer_line) == _without_timestamp(capsys.readouterr().out)
        lines.append(json.loads(flyer_line))
    assert (lines[0]["path"], lines[0]["user"]) == ("/redacted", "u-1")
    assert lines[1]["status"] == "two hundred"


def test_a_filter_on_the_access_logger_drops_lines(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core._logging import access_logger, log_access

    configure_logging(make_settings())
    _served_handlers(monkeypatch)

    def not_health(record: logging.LogRecord) -> bool:
        return getattr(record, "path", "") != "/health_check"

    access_logger.addFilter(not_health)
    try:
        for path in ["/health_check", "/a", "/health_check", "/b"]:
            log_access("GET", path, 200, 0.5, "1.1.1.1", "r")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finally:
        access_logger.removeFilter(not_health)
    assert [line["path"] for line in lines] == ["/a", "/b"]


def test_a_filter_on_flyers_handler_drops_lines(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core._logging import log_access

    configure_logging(make_settings())
    console = _served_handlers(monkeypatch)

    def not_bots(record: logging.LogRecord) -> bool:
        return getattr(record, "client", "") != "10.9.9.9"

    console.addFilter(not_bots)
    try:
        for path, client in [("/a", "10.9.9.9"), ("/b", "1.1.1.1"), ("/c", "10.9.9.9")]:
            log_access("GET", path, 200, 0.5, client, "r")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finally:
        console.removeFilter(not_bots)
    assert [line["path"] for line in lines] == ["/b"]


def test_a_filter_on_the_access_logger_drops_lines_of_a_served_app(
    serve: Any, make_settings: Any, logs: Any
) -> None:
    from flyer_core._logging import access_logger

    def not_health(record: logging.LogRecord) -> bool:
        return getattr(record, "path", "") != "/health_check"

    app = create_app(None, make_settings(), plugins=[])
    access_logger.addFilter(not_health)
    try:
        with serve(app) as url:
            httpx.get(url + "/health_check")
            missing = httpx.get(url + "/missing")
            assert logs.wait(logger="flyer.access")
    finally:
        access_logger.removeFilter(not_health)
    access = logs.where(logger="flyer.access")
    assert [(line["path"], line["status"]) for line in access] == [("/missing", 404)]
    assert access[0]["request_id"] == missing.headers["x-request-id"]


@pytest.mark.parametrize("where", ["flyer.access", "flyer", ""], ids=["access", "flyer", "root"])
def test_a_users_handler_gets_an_ordinary_access_record(
    make_settings: Any, capsys: Any, monkeypatch: Any, where: str
) -> None:
    from flyer_core._logging import log_access

    configure_logging(make_settings())
    _served_handlers(monkeypatch)
    seen: List[logging.LogRecord] = []
    text = io.StringIO()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    plain = logging.StreamHandler(text)
    plain.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s %(process)d %(threadName)s %(message)s "
            "%(method)s %(path)s %(status)d %(duration_ms)s %(client)s %(request_id)s"
        )
    )
    handlers = [Collect(), plain]
    target = logging.getLogger(where)  # the access logger, a parent, the root
    for handler in handlers:
        target.addHandler(handler)
    try:
        log_access("POST", "/orders", 201, 2.34567, "10.0.0.2", "r-9")
    finally:
        for handler in handlers:
            target.removeHandler(handler)
    (record,) = seen
    assert isinstance(record, logging.LogRecord)
    assert (record.name, record.levelno, record.levelname) == ("flyer.access", 20, "INFO")
    assert record.getMessage() == "request"
    assert {k: getattr(record, k) for k in ACCESS_FIELDS} == {
        "method": "POST",
        "path": "/orders",
        "status": 201,
        "duration_ms": 2.346,
        "client": "10.0.0.2",
        "request_id": "r-9",
    }
    # Every attribute `LogRecord()` sets is there, with values of the same kind.
    made = logging.LogRecord("flyer.access", logging.INFO, "", 0, "request", None, None)
    assert set(made.__dict__) <= set(record.__dict__)
    assert (record.process, record.thread) == (made.process, made.thread)
    assert (record.threadName, record.processName) == (made.threadName, made.processName)
    assert abs(record.created - made.created) < 60
    line = text.getvalue().strip()
    assert line.endswith(
        f"INFO flyer.access {made.process} {made.threadName} request "
        "POST /orders 201 2.346 10.0.0.2 r-9"
    )
    assert json.loads(capsys.readouterr().out)["request_id"] == "r-9"  # flyer's line too


def test_a_handler_added_later_gets_access_records(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core._logging import log_access

    configure_logging(make_settings())
    root = logging.getLogger()
    flyer_only = [h for h in root.handlers if hasattr(h, "_flyer_handler")]
    monkeypatch.setattr(root, "handlers", flyer_only)
    fields = {"method": "GET", "path": "/a", "status": 200, "duration_ms": 0.25}
    log_access(**fields, client="127.0.0.1", request_id="r1")
    assert json.loads(capsys.readouterr().out)["request_id"] == "r1"

    seen: list = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root.addHandler(Collect())
    log_access(**fields, client="127.0.0.1", request_id="r2")
    assert [(r.name, r.request_id, r.status) for r in seen] == [("flyer.access", "r2", 200)]
    assert json.loads(capsys.readouterr().out)["request_id"] == "r2"  # flyer's line too


_SERVED = """
import sys

import uvicorn

from flyer_core import create_app, load_settings

app = create_app(None, load_settings(None, {"flyer_log_format": "json"}), plugins=[])


@app.get("/items/{number}")
async def item(number: int) -> dict:
    return {"number": number}


uvicorn.run(
    app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False,
    lifespan="on",
)
"""


def test_every_access_line_of_a_served_app_is_written_by_exit(
    tmp_path: Path, free_port: Any
) -> None:
    # Many requests at once end in the same event-loop iterations, whose lines are written
    # together at the end of each; the server is stopped right after the last answer.
    script = tmp_path / "served.py"
    script.write_text(_SERVED)
    port = free_port()
    log = tmp_path / "served.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads while the server runs
        server = subprocess.Popen(
            [sys.executable, str(script), str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/items/0", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)

        async def load() -> List[str]:
            limits = httpx.Limits(max_connections=16)
            async with httpx.AsyncClient(base_url=url, limits=limits) as client:
                replies = await asyncio.gather(
                    *(client.get(f"/items/{number}") for number in range(1, 301))
                )
            assert {reply.status_code for reply in replies} == {200}
            return [reply.headers["x-request-id"] for reply in replies]

        request_ids = asyncio.run(load())
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    output = log.read_text()
    lines = [json.loads(text) for text in output.splitlines() if text.startswith("{")]
    access = [line for line in lines if line.get("logger") == "flyer.access"]
    assert len(access) == 301, output[-2000:]  # the readiness probe's request too
    assert {line["request_id"] for line in access} >= set(request_ids)
    assert any(line["event"] == "app stopped" for line in lines)


_EXITING = """
import asyncio
import sys

from flyer_core import configure_logging, load_settings
from flyer_core._logging import log_access

configure_logging(
    load_settings(None, {"flyer_log_format": "json", "flyer_access_logfile": sys.argv[2]})
)


async def main() -> None:
    for number in range(int(sys.argv[1])):
        log_access("GET", f"/items/{number}", 200, 0.5, "127.0.0.1", f"r{number}")
    sys.exit(0)  # before the loop turns again: the lines are still held by the handler


asyncio.run(main())
"""


@pytest.mark.parametrize("target", ["console", "access_file"])
def test_access_lines_held_for_the_loop_are_written_at_exit(tmp_path: Path, target: str) -> None:
    script = tmp_path / "exiting.py"
    script.write_text(_EXITING)
    access = tmp_path / "access.log"
    done = subprocess.run(
        [sys.executable, str(script), "50", str(access) if target == "access_file" else "-"],
        capture_output=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        timeout=60,
        check=True,
    )
    text = access.read_text() if target == "access_file" else done.stdout.decode()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [line["request_id"] for line in lines] == [f"r{number}" for number in range(50)]

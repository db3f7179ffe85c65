"""Logging: one format for flyer's, the servers' and the leaf packages' lines; files, levels."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx

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


def test_the_access_line_is_the_line_structlogs_chain_writes(
    make_settings: Any, capsys: Any
) -> None:
    from flyer_core._logging import log_access

    configure_logging(make_settings())
    fields = {
        "method": "GET",
        "path": '/x/"quoted"/ü',
        "status": 201,
        "duration_ms": 1.5,
        "client": "10.0.0.1",
        "request_id": "rid-1",
    }
    log_access(**fields)
    flyer_line = json.loads(capsys.readouterr().out)
    logging.getLogger("flyer.access").info("request", extra=fields)  # the generic path
    chain_line = json.loads(capsys.readouterr().out)
    assert sorted(flyer_line) == sorted(chain_line)
    assert {k: v for k, v in flyer_line.items() if k != "timestamp"} == {
        k: v for k, v in chain_line.items() if k != "timestamp"
    }
    assert flyer_line["path"] == '/x/"quoted"/ü'


def test_filters_on_the_access_logger_and_its_handlers_are_honoured(
    make_settings: Any, capsys: Any, monkeypatch: Any
) -> None:
    from flyer_core._logging import access_logger, log_access

    configure_logging(make_settings())
    root = logging.getLogger()  # flyer's handlers only, as in a served app (no pytest capture)
    monkeypatch.setattr(
        root, "handlers", [h for h in root.handlers if hasattr(h, "_flyer_handler")]
    )

    def not_health(record: logging.LogRecord) -> bool:
        return getattr(record, "path", "") != "/health_check"

    access_logger.addFilter(not_health)
    (console,) = root.handlers

    def not_bots(record: logging.LogRecord) -> bool:
        return getattr(record, "client", "") != "10.9.9.9"

    console.addFilter(not_bots)
    try:
        for path, client in [("/health_check", "1.1.1.1"), ("/a", "10.9.9.9"), ("/b", "1.1.1.1")]:
            log_access("GET", path, 200, 0.5, client, "r")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finally:
        access_logger.removeFilter(not_health)
        console.removeFilter(not_bots)
    assert [line["path"] for line in lines] == ["/b"]


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

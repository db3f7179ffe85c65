"""Logging: structlog for flyer's own lines and every stdlib logger, one format for all.

`configure_logging(settings)` installs flyer's handlers on the root logger (console, an
optional rotating file, an optional access-log file) with a structlog `ProcessorFormatter`,
so uvicorn, gunicorn, apscheduler and the `flyer.*` loggers of the leaf packages render
exactly like `logger.info("x", k=v)`. Calling it again replaces flyer's handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import logging.handlers
import os
import sys
import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterator,
    List,
    MutableMapping,
    Optional,
    TextIO,
    Tuple,
)

import structlog

from flyer_core._settings import Settings, SettingsError
from flyer_status import request_id_var

logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger("flyer")
"""flyer's logger: `logger.info("saved", item=7)`; `logger.warn("text")` works too."""

access_logger = logging.getLogger("flyer.access")

_FLYER_HANDLER = "_flyer_handler"
# Loggers servers configure with handlers of their own; flyer routes them to the root.
_SERVER_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "gunicorn",
    "gunicorn.error",
    "gunicorn.access",
)
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


if TYPE_CHECKING:
    _StreamHandler = logging.StreamHandler[TextIO]
else:
    _StreamHandler = logging.StreamHandler


class _StdoutHandler(_StreamHandler):
    """A stream handler that writes to whatever `sys.stdout` is at the time of the write."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def add_request_id(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Processor: the current request's id (`flyer_status.request_id_var`) on every line."""
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _shared_processors() -> List[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(kind: str, colors: bool = False) -> List[Any]:
    if kind == "json":
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
        ]
    return [structlog.dev.ConsoleRenderer(colors=colors)]


def _drop_duplicates(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # `message` repeats `event` for stdlib records; uvicorn adds a coloured copy.
    event.pop("message", None)
    event.pop("color_message", None)
    event.pop("flyer_event", None)
    return event


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_SECOND: Tuple[int, str] = (-1, "")


def _iso(created: float) -> str:
    """`created` as structlog's TimeStamper(fmt="iso", utc=True) writes it, cached per second."""
    global _SECOND
    second = int(created)
    cached, prefix = _SECOND
    if cached != second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _SECOND = (second, prefix)
    return f"{prefix}.{int((created - second) * 1_000_000):06d}Z"


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's ProcessorFormatter, with a fast lane for access lines in JSON.

    The access line is written for every request, so the middleware hands over its event
    ready-made (`record.flyer_event`); rendering it is one `json.dumps` instead of the whole
    processor chain. The line is the same as the chain would produce.
    """

    def __init__(self, *args: Any, fast_json: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast_json = fast_json

    def format(self, record: logging.LogRecord) -> str:
        event = record.__dict__.get("flyer_event")
        if event is None or not self.fast_json:
            return str(super().format(record))
        line = {
            **event,
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": _iso(record.created),
        }
        return _ENCODER.encode(line)


_STARTED = time.time()


class _AccessRecord(logging.LogRecord):
    """A LogRecord for the access line, built without LogRecord's caller and process
    look-ups (it runs once per request); every attribute handlers read is set."""

    def __init__(
        self,
        fields: Dict[str, Any],
        created: Optional[float] = None,
        bound: Optional[Dict[str, Any]] = None,
    ) -> None:
        now = time.time() if created is None else created
        self.__dict__.update(fields)  # as `extra=` would, for any other handler
        self.flyer_event = {"event": "request", **(bound or {}), **fields}
        self.name = access_logger.name
        self.msg = "request"
        self.args = None
        self.levelname = "INFO"
        self.levelno = logging.INFO
        self.pathname = self.filename = self.module = ""
        self.lineno = 0
        self.funcName = ""
        self.exc_info = None
        self.exc_text = None
        self.stack_info = None
        self.created = now
        self.msecs = (now - int(now)) * 1000
        self.relativeCreated = (now - _STARTED) * 1000
        self.thread = threading.get_ident()
        self.threadName = None
        self.processName = None
        self.process = os.getpid()
        self.taskName = None


_FAST_LANE = "_flyer_fast_lane"
_encode_str = json.encoder.encode_basestring
_ROOT = logging.getLogger()
# The handlers an access line last reached (a copy, to compare with) and the verdict on them.
_fast_lane_seen: Tuple[Optional[logging.Logger], List[logging.Handler], Optional[List[Any]]] = (
    None,
    [],
    None,
)


def _fast_lane_handlers() -> Optional[List[logging.StreamHandler]]:  # type: ignore[type-arg]
    """flyer's JSON stream handlers, when they are all an access line would reach and no
    filter is set on the `flyer.access` logger or on them (a filter sees every record)."""
    global _fast_lane_seen
    if access_logger.filters:
        return None
    target = _ROOT if access_logger.propagate else access_logger
    handlers = target.handlers
    seen_target, seen, verdict = _fast_lane_seen
    if target is not seen_target or handlers != seen:  # other handler objects than last time
        verdict = (
            handlers if handlers and all(getattr(h, _FAST_LANE, False) for h in handlers) else None
        )
        _fast_lane_seen = (target, list(handlers), verdict)
    if verdict is not None:
        for handler in verdict:  # a loop, not any(): no generator per access line
            if handler.filters:
                return None
    return verdict


_ACCESS_LINE = (
    '{"event": "request", "method": %s, "path": %s, "status": %d, "duration_ms": %r, '
    '"client": %s, "request_id": %s, "logger": "flyer.access", "level": "info", '
    '"timestamp": "%s"}\n'
)

# An access line waiting to be written: method, path, status, duration_ms (not rounded yet),
# client, request_id, time.time() of the request, the structlog context bound then (or None).
_Entry = Tuple[str, str, int, float, str, str, float, Optional[Dict[str, Any]]]

# Access lines waiting for the end of their event-loop iteration, by loop.
_PENDING: Dict[int, List[_Entry]] = {}


def _fields(entry: _Entry) -> Dict[str, Any]:
    method, path, status, duration_ms, client, request_id, _, _ = entry
    return {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "client": client,
        "request_id": request_id,
    }


def log_access(
    method: str, path: str, status: int, duration_ms: float, client: str, request_id: str
) -> None:
    """Write one access line (`flyer.access`, INFO), cheaply.

    When flyer's own JSON handlers are the only destinations and no filter is set on the
    logger or on them, the request's fields are queued
    and, at the end of the event-loop iteration, every queued line is rendered (the same line
    `_Formatter` renders) and written in one write per stream (with PYTHONUNBUFFERED, usual in
    containers, every write is a system call). Otherwise, or outside an event loop, it is a
    normal log record, handled at once.
    """
    entry: _Entry = (
        method,
        path,
        status,
        duration_ms,
        client,
        request_id,
        time.time(),
        structlog.contextvars.get_contextvars() or None,
    )
    if _fast_lane_handlers() is None:
        access_logger.handle(_AccessRecord(_fields(entry), entry[6], entry[7]))
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _emit([entry])
        return
    pending = _PENDING.get(id(loop))
    if pending is None:
        _PENDING[id(loop)] = [entry]
        loop.call_soon(_drain, id(loop))
    else:
        pending.append(entry)


def _emit(entries: List[_Entry]) -> None:
    handlers = _fast_lane_handlers()
    if handlers is None:  # logging was reconfigured since the lines were queued
        for entry in entries:
            access_logger.handle(_AccessRecord(_fields(entry), entry[6], entry[7]))
        return
    lines = []
    for entry in entries:
        method, path, status, duration_ms, client, request_id, created, bound = entry
        if bound:
            event = {"event": "request", **bound, **_fields(entry)}
            event.update(logger=access_logger.name, level="info", timestamp=_iso(created))
            lines.append(_ENCODER.encode(event) + "\n")
        else:
            lines.append(
                _ACCESS_LINE
                % (
                    _encode_str(method),
                    _encode_str(path),
                    status,
                    round(duration_ms, 3),
                    _encode_str(client),
                    _encode_str(request_id),
                    _iso(created),
                )
            )
    text = "".join(lines)
    for handler in handlers:
        if handler.level <= logging.INFO:
            _write(handler, text)


def _write(handler: logging.StreamHandler, text: str) -> None:  # type: ignore[type-arg]
    handler.acquire()
    try:
        stream = handler.stream
        if stream is not None:  # a closed FileHandler has none
            stream.write(text)
            stream.flush()
    finally:
        handler.release()


def _drain(loop_id: int) -> None:
    entries = _PENDING.pop(loop_id, None)
    if entries:
        _emit(entries)


def flush_access_lines() -> None:
    """Write every queued access line now (at shutdown, or before reading the log)."""
    for loop_id in list(_PENDING):
        _drain(loop_id)


def make_formatter(kind: str = "json", colors: bool = False) -> logging.Formatter:
    """A stdlib formatter that renders any record (structlog's or not) the flyer way."""
    return _Formatter(
        fast_json=kind == "json",
        foreign_pre_chain=[
            *_shared_processors(),
            structlog.stdlib.ExtraAdder(),
            _drop_duplicates,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(kind, colors),
        ],
    )


def _console_kind(settings: Settings) -> str:
    if settings.log_format != "auto":
        return settings.log_format
    return "console" if _isatty(sys.stdout) else "json"


def _isatty(stream: Optional[TextIO]) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def _tag(handler: logging.Handler) -> logging.Handler:
    setattr(handler, _FLYER_HANDLER, True)
    return handler


def _remove_flyer_handlers(log: logging.Logger) -> None:
    for handler in list(log.handlers):
        if getattr(handler, _FLYER_HANDLER, False):
            log.removeHandler(handler)
            handler.close()


@contextlib.contextmanager
def _opening(variable: str, path: str) -> Iterator[None]:
    """A log file that cannot be opened is a one-line `SettingsError`, not a traceback."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SettingsError(
            f"{variable}={path!r}: cannot be opened for writing ({reason}); "
            "expected a writable file path"
        ) from None


def configure_logging(settings: Settings) -> None:
    """Install flyer's logging for this process from `settings` (idempotent).

    Raises `SettingsError` (one line) when a log file cannot be opened.
    """
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    flush_access_lines()
    _remove_flyer_handlers(root)
    _remove_flyer_handlers(access_logger)

    kind = _console_kind(settings)
    console = _tag(_StdoutHandler())
    setattr(console, _FAST_LANE, kind == "json")
    console.setFormatter(make_formatter(kind, colors=kind == "console" and _isatty(sys.stdout)))
    console.setLevel(_LEVELS[settings.console_log_level])
    root.addHandler(console)
    levels = [console.level]

    if settings.log_file:
        file_handler: logging.Handler
        with _opening("flyer_log_file", settings.log_file):
            if settings.log_file_max_bytes:
                file_handler = logging.handlers.RotatingFileHandler(
                    settings.log_file,
                    maxBytes=settings.log_file_max_bytes,
                    backupCount=settings.log_file_backup_count,
                    encoding="utf-8",
                )
            else:
                file_handler = logging.handlers.WatchedFileHandler(
                    settings.log_file, encoding="utf-8"
                )
        _tag(file_handler).setFormatter(make_formatter("json"))
        file_handler.setLevel(_LEVELS[settings.file_log_level])
        root.addHandler(file_handler)
        levels.append(file_handler.level)
    root.setLevel(min(levels))

    # Access lines go to their own file when flyer_access_logfile names one.
    if settings.access_logfile not in ("", "-"):
        with _opening("flyer_access_logfile", settings.access_logfile):
            access_file = _tag(logging.FileHandler(settings.access_logfile, encoding="utf-8"))
        setattr(access_file, _FAST_LANE, True)
        access_file.setFormatter(make_formatter("json"))
        access_logger.addHandler(access_file)
        access_logger.propagate = False
    else:
        access_logger.propagate = True
    access_logger.setLevel(logging.INFO)

    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        for handler in list(server_logger.handlers):
            server_logger.removeHandler(handler)
        server_logger.propagate = True
        server_logger.setLevel(logging.NOTSET)
    # flyer writes the access line itself (with the request id); uvicorn's would repeat it.
    # uvicorn builds its line whenever the logger has a handler anywhere up the tree
    # (`hasHandlers()`), whatever the level: without a handler or propagation it skips
    # that work too, as with its own --no-access-log.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.propagate = False
    uvicorn_access.setLevel(logging.WARNING)

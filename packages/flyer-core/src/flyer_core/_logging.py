"""Logging: structlog for flyer's own lines and every stdlib logger, one format for all.

`configure_logging(settings)` installs flyer's handlers on the root logger (console, an
optional rotating file, an optional access-log file) with a structlog `ProcessorFormatter`,
so uvicorn, gunicorn, apscheduler and the `flyer.*` loggers of the leaf packages render
exactly like `logger.info("x", k=v)`. Calling it again replaces flyer's handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import logging.handlers
import os
import sys
import threading
import time
import traceback
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    MutableMapping,
    Optional,
    Set,
    TextIO,
    Tuple,
    Union,
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


# An access line's fields, as `log_access` and `log_request` hand them to flyer's handlers
# when nothing else could see its record: time, method, path, status, duration_ms, client,
# request_id (None: the one in `request_id_var`, "" without one), the structlog variables
# bound then (None: none), the request id in `request_id_var` then. Only these values are
# held until the line is written, not the request's scope or context: those end with the
# request.
_AccessEntry = Tuple[
    float, str, str, int, float, str, Optional[str], Optional[Dict[str, Any]], Optional[str]
]
_Held = Union[str, _AccessEntry]


class _LineHandler(_StreamHandler):
    """A stream handler that, inside a running event loop, writes the lines logged during one
    loop iteration with one write at its end (each write of a line is a system call when the
    stream is unbuffered, as usual in containers, or flushed per line, as StreamHandler does).

    Nothing waits longer than the iteration: a WARNING or worse, a line logged outside an
    event loop or from another loop writes what is pending at once, and `flush()` (which
    `logging.shutdown()` calls at exit, and `close()`) writes it too. Under `wrk -c 32` a
    flyer server ends about 25 requests per iteration: one write instead of 25.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Lines, or the fields of access lines (rendered when written, see `log_access`); one
        # list for the handler's life, lines taken out of it in place (see `take_locked`).
        self.pending: List[_Held] = []
        self.flush_on: Optional[asyncio.AbstractEventLoop] = None  # the loop asked to flush

    def emit(self, record: logging.LogRecord) -> None:
        # Called under the handler's lock (Handler.handle holds it).
        try:
            self.take(self.format(record), record.levelno)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def take(self, line: _Held, level: int) -> None:
        """Write `line` (a rendered record of `level`, or an access line's fields), or hold
        it for the end of the loop iteration. The caller holds the handler's lock."""
        if level < logging.WARNING:
            try:
                loop: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                if self.flush_on is None:
                    self.flush_on = loop
                    loop.call_soon(self._flush_soon)
                if self.flush_on is loop:
                    self.pending.append(line)
                    return
        self.pending.append(line)
        self._write_pending()

    def take_locked(self, entry: _AccessEntry) -> None:
        """`take` an access line's fields (INFO) as `Handler.handle` would: under the lock,
        a failure reported by `handleError`.

        Inside the event loop this handler holds lines for (the usual case in a busy
        server), the entry joins them with one append and no lock: `_write_pending` takes
        lines out of `pending` in place, so an entry appended while another thread writes is
        either written then or stays for the flush this loop has scheduled already."""
        try:
            loop: Optional[asyncio.AbstractEventLoop] = _running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and loop is self.flush_on:
            self.pending.append(entry)
            return
        lock = self.lock
        if lock is not None:
            lock.acquire()
        try:
            self.take(entry, _INFO)
        except RecursionError:
            raise
        except Exception:
            self.handleError(_entry_record(entry))
        finally:
            if lock is not None:
                lock.release()

    def _write_pending(self) -> None:
        stream: Optional[TextIO] = self.stream
        if stream is None:  # a closed file has none (and was flushed when it was closed)
            self.pending.clear()
            return
        pending = self.pending
        if pending:
            # Taken out in place (see `take_locked`), whatever happens next: a failure
            # cannot pile them up.
            taken = pending[:]
            del pending[: len(taken)]
            # Access lines are rendered here, together: a loop over hot code, not one
            # rendering in the middle of each request.
            stream.write(_render_lines(taken))
        if hasattr(stream, "flush"):
            stream.flush()

    def _flush_soon(self) -> None:
        try:
            self.flush()
        except Exception:  # a stream that fails is reported as StreamHandler would
            if logging.raiseExceptions:
                traceback.print_exc(file=sys.stderr)

    def flush(self) -> None:
        """Write the lines held for the end of the loop iteration, and flush the stream."""
        _batch.loop = None  # the handlers' iteration ends (see `_RequestBatch`)
        self.acquire()
        try:
            self.flush_on = None
            self._write_pending()
        finally:
            self.release()

    def close(self) -> None:
        self.flush()
        super().close()


class _StdoutHandler(_LineHandler):
    """flyer's console handler: writes to whatever `sys.stdout` is at the time of the write."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _FileHandler(_LineHandler, logging.FileHandler):
    """The access-log file: a FileHandler writing one loop iteration's lines at once."""

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is None:  # closed: FileHandler opens the file again, as it would
            logging.FileHandler.emit(self, record)
        else:
            super().emit(record)


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


# `message` repeats `event` for stdlib records; uvicorn adds a coloured copy.
_DUPLICATES = ("message", "color_message")


def _drop_duplicates(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in _DUPLICATES:
        event.pop(key, None)
    return event


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_encode_str = json.encoder.encode_basestring  # what json.dumps writes for a str
_SECOND: Tuple[int, str] = (-1, "")


def _iso(created: float) -> str:
    """`created` as structlog's TimeStamper(fmt="iso", utc=True) writes a time (datetime's
    `isoformat()`: microseconds rounded half to even, left out when 0); the part up to the
    second is cached in `_SECOND`."""
    global _SECOND
    second = int(created)
    micro = round((created - second) * 1_000_000)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    cached, prefix = _SECOND
    if cached != second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _SECOND = (second, prefix)
    return f"{prefix}.{micro:06d}Z" if micro else f"{prefix}Z"


# The fields of an access line (the record's attributes, as `extra=` would set them).
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client", "request_id")
_ACCESS_EVENT = "request"
_HAS_TASK_NAME = sys.version_info >= (3, 12)  # LogRecord.taskName is new in 3.12
_STARTED = time.time()


class _AccessRecord(logging.LogRecord):
    """The access line's LogRecord (`log_access` builds it): every attribute a LogRecord
    has, the fields as `extra=` would set them; `_Formatter` knows it by its type."""


_RECORD_CONSTANTS: Dict[str, Any] = {
    "name": access_logger.name,
    "msg": _ACCESS_EVENT,
    "args": None,
    "levelname": "INFO",
    "levelno": logging.INFO,
    "pathname": "",
    "filename": "",
    "module": "",
    "exc_info": None,
    "exc_text": None,
    "stack_info": None,
    "lineno": 0,
    "funcName": "",
}
# How many attributes an access record has before any filter or other formatter adds one.
_ACCESS_RECORD_SIZE = len(_RECORD_CONSTANTS) + 7 + _HAS_TASK_NAME + len(ACCESS_FIELDS)
_process_names: Tuple[int, Optional[str]] = (0, None)


def _process_name(pid: int) -> Optional[str]:
    """The process's name as LogRecord gives it (multiprocessing's, when that is imported)."""
    global _process_names
    cached, name = _process_names
    if cached != pid:
        name = "MainProcess"
        multiprocessing = sys.modules.get("multiprocessing")
        if multiprocessing is not None:
            with contextlib.suppress(Exception):
                name = multiprocessing.current_process().name
        _process_names = (pid, name)
    return name


_new_record = object.__new__
_time, _pid, _current_task = time.time, os.getpid, asyncio.current_task
_perf_counter = time.perf_counter
_thread_id, _current_thread = threading.get_ident, threading.current_thread
_running_loop, _copy_context = asyncio.get_running_loop, contextvars.copy_context
_INFO = logging.INFO

_PREFIX = structlog.contextvars.STRUCTLOG_KEY_PREFIX
_PREFIX_LEN = len(_PREFIX)
# Context variables seen in a context that are not structlog's (a request's context holds
# a few: the request id, the server's, a tracer's); capped, in case an app makes many.
_OTHER_VARS: Set[contextvars.ContextVar[Any]] = set()
_OTHER_VARS_MAX = 4096


def _bound_context() -> Optional[Dict[str, Any]]:
    """What `structlog.contextvars.get_contextvars()` returns now, None for nothing bound."""
    return _bound_in(_copy_context())


def _bound_in(context: contextvars.Context) -> Optional[Dict[str, Any]]:
    """What `structlog.contextvars.get_contextvars()` returns in `context`, None for nothing.

    Usually no structlog variable is in the context: one check of the context's variables
    against those known not to be structlog's says so, without looking at each by name."""
    if _OTHER_VARS.issuperset(context):
        return None
    bound: Dict[str, Any] = {}
    for variable in context:
        name = variable.name
        if name.startswith(_PREFIX):
            value = context[variable]
            if value is not Ellipsis:  # structlog's mark for an unbound variable
                bound[name[_PREFIX_LEN:]] = value
        elif len(_OTHER_VARS) < _OTHER_VARS_MAX:
            _OTHER_VARS.add(variable)
    return bound or None


def log_access(
    method: str, path: str, status: int, duration_ms: float, client: str, request_id: str
) -> None:
    """Log one access line: `flyer.access` at INFO, the fields as the record's attributes.

    The record goes through `access_logger.handle`, so filters on the logger and on every
    handler it reaches, and their levels, decide as for any record; flyer's JSON formatter
    writes it without structlog's processor chain (the same line, see `_Formatter`). The
    record is built as `LogRecord()` builds one, without looking up the caller (it is the
    middleware; `pathname`, `lineno` and the like are empty).

    When nothing could see the record but flyer's own JSON handlers (no filter on the logger
    or on them, no other handler up the tree: `_only_flyer_handlers`), handling it would
    give each of them the line `_access_line` renders. Then the record is not built: the
    fields, the time and the structlog variables bound now go to those handlers as
    `Handler.handle` would give a record (`take_locked`), and the line is rendered when the
    handler writes it, with the other lines of the loop iteration (`_render_lines`: in a
    busy server, a tight loop over warm code instead of one rendering inside each request).
    """
    if not access_logger.isEnabledFor(_INFO):
        return
    handlers = _only_flyer_handlers()
    if (
        handlers is not None
        and type(status) is int
        and type(duration_ms) is float
        and type(method) is str
        and type(path) is str
        and type(client) is str
        and type(request_id) is str
    ):
        # What rendering needs from this moment: the time, the variables bound now (the
        # duration is rounded when the line is rendered, as the record's is when built).
        entry: _AccessEntry = (
            _time(),
            method,
            path,
            status,
            duration_ms,
            client,
            request_id,
            _bound_context(),
            request_id_var.get(),
        )
        for handler in handlers:
            handler.take_locked(entry)
        return
    access_logger.handle(
        _access_record(method, path, status, round(duration_ms, 3), client, request_id)
    )


class _RequestBatch:
    """Where `log_request` puts a request's entry during one event-loop iteration.

    The first access line of an iteration finds its handlers as `log_access` does
    (`_only_flyer_handlers`) and hands them the entry; when they are all flyer's and hold
    lines for this loop until the end of the iteration, they are remembered here, and the
    iteration's later requests append their entries to those handlers' held lines directly.
    Any flush of a flyer handler (the end of the iteration, `flush_access_lines()`, closing)
    forgets them: a change to the logging configuration (a handler, a filter, a level) made
    during an iteration applies to access lines from the next iteration on.
    """

    __slots__ = ("add", "loop")

    def __init__(self) -> None:
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.add: Callable[[_AccessEntry], None] = _ignore

    def remember(
        self, loop: Optional[asyncio.AbstractEventLoop], handlers: List[_LineHandler]
    ) -> None:
        if loop is None:
            return
        for handler in handlers:
            if handler.flush_on is not loop:
                return
        if len(handlers) == 1:
            self.add = handlers[0].pending.append
        else:
            lists = [handler.pending for handler in handlers]

            def add(entry: _AccessEntry) -> None:
                for pending in lists:
                    pending.append(entry)

            self.add = add
        self.loop = loop


def _ignore(entry: _AccessEntry) -> None:
    pass


_batch = _RequestBatch()


def log_request(scope: Mapping[str, Any], status: int, start: float) -> None:
    """The access line of the request an ASGI HTTP `scope` describes, answered with `status`,
    begun at `start` (`time.perf_counter()`): `log_access` with the scope's method, path and
    client host ("" without one), the milliseconds since `start` and the request id in
    `request_id_var` ("" without one). flyer's `RequestId` middleware calls it at the end of
    every request (the scope's values are strings, as ASGI has them).

    The entry is `log_access`'s, with the request id left to `request_id_var`'s: the line
    is made of it when the handlers write the iteration's lines (`_render_lines`), and the
    handlers of the iteration's first line take the others directly (`_RequestBatch`)."""
    duration_ms = (_perf_counter() - start) * 1000
    try:
        loop: Optional[asyncio.AbstractEventLoop] = _running_loop()
    except RuntimeError:
        loop = None
    batched = loop is not None and _batch.loop is loop
    if not batched and not access_logger.isEnabledFor(_INFO):
        return
    address = scope.get("client")
    entry: _AccessEntry = (
        _time(),
        scope["method"],
        scope["path"],
        status,
        duration_ms,
        address[0] if address else "",
        None,
        _bound_context(),
        request_id_var.get(),
    )
    if batched:
        _batch.add(entry)
        return
    handlers = _only_flyer_handlers()
    if handlers is None or type(status) is not int:
        access_logger.handle(_entry_record(entry))
        return
    for handler in handlers:
        handler.take_locked(entry)
    _batch.remember(loop, handlers)


def _entry_record(entry: _AccessEntry) -> logging.LogRecord:
    """The record `log_access` would have built for an entry (handled when something else
    could see it; reported by `handleError`)."""
    _, method, path, status, duration_ms, client, given, _, current_id = entry
    if given is None:
        given = current_id or ""
    return _access_record(method, path, status, round(duration_ms, 3), client, given)


def _only_flyer_handlers() -> Optional[List[_LineHandler]]:
    """The handlers `access_logger.handle` would give an access record to, when they are all
    flyer's own with its JSON formatter, none has a filter and the logger has none (so
    nothing but them could see the record); otherwise None."""
    if access_logger.filters or access_logger.disabled:
        return None
    found: List[_LineHandler] = []
    logger: Optional[logging.Logger] = access_logger
    while logger is not None:  # the walk of Logger.callHandlers
        for handler in logger.handlers:
            if type(handler) is _StdoutHandler:
                pass
            elif type(handler) is _FileHandler:
                stream: Optional[TextIO] = handler.stream
                if stream is None:  # closed: handle() would open it again
                    return None
            else:
                return None
            formatter = handler.formatter
            if handler.filters or type(formatter) is not _Formatter or not formatter.fast_json:
                return None
            if handler.level <= _INFO:
                found.append(handler)
        logger = logger.parent if logger.propagate else None
    return found or None  # no handler at all: the record goes to logging.lastResort


def _access_record(
    method: str, path: str, status: int, duration_ms: float, client: str, request_id: str
) -> logging.LogRecord:
    """The access line's LogRecord: every attribute `LogRecord()` sets, then the fields."""
    record = _new_record(_AccessRecord)
    attributes = record.__dict__
    attributes.update(_RECORD_CONSTANTS)
    created = _time()
    attributes["created"] = created
    attributes["msecs"] = (created - int(created)) * 1000
    attributes["relativeCreated"] = (created - _STARTED) * 1000
    if logging.logThreads:
        attributes["thread"] = _thread_id()
        attributes["threadName"] = _current_thread().name
    else:
        attributes["thread"] = attributes["threadName"] = None
    pid = _pid()
    attributes["process"] = pid if logging.logProcesses else None
    attributes["processName"] = _process_name(pid) if logging.logMultiprocessing else None
    if _HAS_TASK_NAME:
        task = None
        if getattr(logging, "logAsyncioTasks", False):
            try:
                task = _current_task()
            except RuntimeError:  # no running event loop
                pass
        attributes["taskName"] = None if task is None else task.get_name()
    attributes["method"] = method
    attributes["path"] = path
    attributes["status"] = status
    attributes["duration_ms"] = duration_ms
    attributes["client"] = client
    attributes["request_id"] = request_id
    return record


# The line structlog's chain (`make_formatter("json")`) renders for an access record with no
# context bound: "event", then the request id where `add_request_id` puts it when
# `request_id_var` is set (in a request, always), logger, level, timestamp, then the fields
# as `ExtraAdder` adds them.
_ACCESS_LINE = (
    '{"event": "request", "logger": "flyer.access", "level": "info", '
    '"timestamp": "%s.%06dZ", "method": %s, "path": %s, "status": %d, "duration_ms": %r, '
    '"client": %s, "request_id": %s}'
)
_ACCESS_LINE_IN_REQUEST = (
    '{"event": "request", "request_id": %s, "logger": "flyer.access", "level": "info", '
    '"timestamp": "%s.%06dZ", "method": %s, "path": %s, "status": %d, "duration_ms": %r, '
    '"client": %s}'
)


def _access_line(record: logging.LogRecord) -> Optional[str]:
    """The line structlog's chain renders for an access record no filter added to or
    changed the kind of a field of; None for any other record (the chain renders it)."""
    attributes = record.__dict__
    if not (
        len(attributes) == _ACCESS_RECORD_SIZE  # no attribute added (by a filter, a formatter)
        and attributes["msg"] is _ACCESS_EVENT
        and attributes["args"] is None
        and attributes["levelno"] == _INFO
        and attributes["levelname"] == "INFO"
        and attributes["name"] == "flyer.access"
        and type(attributes["status"]) is int
        and type(attributes["duration_ms"]) is float
        and type(attributes["method"]) is str
        and type(attributes["path"]) is str
        and type(attributes["client"]) is str
        and type(attributes["request_id"]) is str
    ):
        return None
    return _render_access(
        attributes["created"],
        attributes["method"],
        attributes["path"],
        attributes["status"],
        attributes["duration_ms"],
        attributes["client"],
        attributes["request_id"],
        _bound_context(),
        request_id_var.get(),
    )


def _render_lines(pending: List[_Held]) -> str:
    """The text of a handler's held lines: each rendered line as it is, each access entry
    as `_render_access` renders its fields (the duration rounded, the structlog variables
    bound when it was logged), one line each.

    The usual entry (logged in a request, no structlog variable bound, a duration under
    1e9 ms, its second's time prefix made already) is put together from parts made once
    per route and client (`_ROUTES`, `_CLIENTS`); its duration is written as `{:.3f}`
    without trailing zeros, which is `repr(round(duration_ms, 3))` there: both round the
    exact binary value to three decimals, and a decimal of at most 13 digits prints back as
    itself. Anything else takes `_render_access`.
    """
    lines: List[str] = []
    add = lines.append
    routes, clients, encode = _ROUTES, _CLIENTS, _encode_str
    head, time_head, digits = _HEAD_IN_REQUEST, _TIME_IN_REQUEST, _DIGITS
    for item in pending:
        if isinstance(item, str):
            add(item)
            continue
        created, method, path, status, duration_ms, client, given, bound, current_id = item
        request_id = (current_id or "") if given is None else given
        if bound is None and current_id is not None and 0.0 <= duration_ms < 1e9:
            second = int(created)
            micro = round((created - second) * 1_000_000)
            cached, prefix = _SECOND
            if cached == second and 0 < micro < 1_000_000:
                route = routes.get((method, path, status))
                if route is None:
                    route = _route_part(method, path, status)
                tail = clients.get(client)
                if tail is None:
                    tail = _client_part(client)
                milliseconds = f"{duration_ms:.3f}".rstrip("0")
                if milliseconds[-1] == ".":
                    milliseconds += "0"
                quoted = encode(request_id)  # (quicker than telling when it needs no escaping)
                add(
                    f"{head}{quoted}{time_head}{prefix}.{digits[micro // 1000]}"
                    f"{digits[micro % 1000]}{route}{milliseconds}{tail}"
                )
                continue
        add(
            _render_access(
                created,
                method,
                path,
                status,
                round(duration_ms, 3),
                client,
                request_id,
                bound,
                current_id,
            )
        )
    lines.append("")
    return "\n".join(lines)


# The parts of an in-request access line around its request id, time and duration (see
# `_ACCESS_LINE_IN_REQUEST`); the part with the method, path and status per route and the
# one with the client per client are made once (`_ROUTES`, `_CLIENTS`, each capped).
_HEAD_IN_REQUEST = '{"event": "request", "request_id": '
_TIME_IN_REQUEST = ', "logger": "flyer.access", "level": "info", "timestamp": "'
_ROUTES: Dict[Tuple[str, str, int], str] = {}
_DIGITS = [f"{n:03d}" for n in range(1000)]  # a microsecond count as two halves of three
_CLIENTS: Dict[str, str] = {}
_PARTS_MAX = 1024


def _route_part(method: str, path: str, status: int) -> str:
    part = (
        f'Z", "method": {_encode_str(method)}, "path": {_encode_str(path)}, '
        f'"status": {status:d}, "duration_ms": '
    )
    if len(_ROUTES) >= _PARTS_MAX:
        _ROUTES.clear()
    _ROUTES[(method, path, status)] = part
    return part


def _client_part(client: str) -> str:
    part = f', "client": {_encode_str(client)}}}'
    if len(_CLIENTS) >= _PARTS_MAX:
        _CLIENTS.clear()
    _CLIENTS[client] = part
    return part


def _render_access(
    created: float,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    client: str,
    request_id: str,
    context: Optional[Dict[str, Any]],
    current_id: Optional[str],
) -> str:
    """The access line structlog's chain renders for these fields, at `created`, with the
    context variables bound then (None: none)."""
    second = int(created)
    micro = round((created - second) * 1_000_000)
    cached, prefix = _SECOND
    if context or cached != second or not 0 < micro < 1_000_000:
        # The chain's steps, in its order, on a dictionary (`_iso` caches the next second).
        event: Dict[str, Any] = {"event": _ACCESS_EVENT}
        if context:
            for key, value in context.items():
                event.setdefault(key, value)
        if current_id is not None:
            event.setdefault("request_id", current_id)
        event["logger"] = "flyer.access"
        event["level"] = "info"
        event["timestamp"] = _iso(created)
        event["method"] = method
        event["path"] = path
        event["status"] = status
        event["duration_ms"] = duration_ms
        event["client"] = client
        event["request_id"] = request_id
        for key in _DUPLICATES:
            event.pop(key, None)
        return _ENCODER.encode(event)
    if current_id is None:
        return _ACCESS_LINE % (
            prefix,
            micro,
            _encode_str(method),
            _encode_str(path),
            status,
            duration_ms,
            _encode_str(client),
            _encode_str(request_id),
        )
    return _ACCESS_LINE_IN_REQUEST % (
        _encode_str(request_id),
        prefix,
        micro,
        _encode_str(method),
        _encode_str(path),
        status,
        duration_ms,
        _encode_str(client),
    )


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's ProcessorFormatter; in JSON, access records skip the processor chain.

    The access line is written for every request: its record (`_AccessRecord`) carries the
    fields ready, so rendering it is a string template (one JSON encoding when context
    variables are bound) instead of the chain, which copies the record and runs a dozen
    processors. The line is the one the chain writes for the same record (a test compares
    them); a record a filter added an attribute to goes through the chain.
    """

    def __init__(self, *args: Any, fast_json: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast_json = fast_json

    def format(self, record: logging.LogRecord) -> str:
        if self.fast_json and type(record) is _AccessRecord:
            line = _access_line(record)
            if line is not None:
                return line
        return str(super().format(record))


def flush_access_lines() -> None:
    """Flush flyer's handlers: the lines they hold for the end of the event-loop iteration
    are written now (`logging.shutdown()` at exit does the same)."""
    for handler in [*logging.getLogger().handlers, *access_logger.handlers]:
        if getattr(handler, _FLYER_HANDLER, False):
            handler.flush()


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
    _remove_flyer_handlers(root)
    _remove_flyer_handlers(access_logger)

    kind = _console_kind(settings)
    console = _tag(_StdoutHandler())
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
            access_file = _tag(_FileHandler(settings.access_logfile, encoding="utf-8"))
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

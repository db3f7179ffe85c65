"""A `dataset` database whose operations survive lost connections (needs flyer-db[dataset])."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import threading
from typing import Any, Callable, Dict, List, Optional, TypeVar, cast

import dataset
from dataset.util import ResultIter, normalize_table_name
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from flyer_db import _registry
from flyer_db._retry import RetryPolicy, is_configuration_error, is_read_statement
from flyer_db._url import sa_major, safe_url

logger = logging.getLogger("flyer.db")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# dataset 1 (SQLAlchemy 1.4, Python < 3.10) never closes the connection a streamed result opened.
_DATASET_MAJOR = int(importlib.metadata.version("dataset").split(".")[0])

# Connections a forked child inherited from its parent: kept referenced so that garbage
# collection never closes (and so never talks on) the parent's sockets; never used.
_inherited: List[Any] = []


class _ThreadState(threading.local):
    depth = 0  # > 0 while an operation of this thread runs
    connected = False  # the running attempt holds a connection
    write_sent = False  # the running attempt handed a write statement to the driver


class RetryingDatabase(dataset.Database):
    """A `dataset.Database` that reconnects, and retries what is safe to run again.

    Outside an explicit transaction each operation (a `Table` method, `query`, `tables`...)
    checks a connection out of the pool (pinged first, so one the server closed while idle is
    replaced before anything is sent), runs, and returns it: no thread pins a connection.
    When a connection dies under an operation, the operation runs again on a new connection,
    with backoff, only if nothing it sent could have changed data: an operation that sent
    only reads, or that failed before any write statement reached the driver (connecting
    included). A write that may have been applied is never sent twice; its error is raised.
    Inside `with db:` nothing is retried, as the transaction died with its connection.
    After the last attempt the original exception is raised.
    """

    def __init__(self, url: str, *, retry: Optional[RetryPolicy] = None, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.retry = retry or RetryPolicy()
        # flyer's own table cache (dataset's is internal): name -> RetryingTable.
        self._flyer_tables: Dict[str, RetryingTable] = {}
        self._flyer = _ThreadState()
        self._safe_url = safe_url(url)
        if self.engine is not None:
            event.listen(self.engine, "before_cursor_execute", self._note_statement)
            _registry.track(self.engine)
        _registry.on_fork(self)

    # -- connections -------------------------------------------------------------------

    @property
    def executable(self) -> Connection:
        """This thread's connection, checked out of the pool when it has none."""
        tid = threading.get_ident()
        connection: Optional[Connection] = self.connections.get(tid)
        if connection is None or connection.closed:
            engine = self.engine
            if engine is None:
                raise RuntimeError(f"{self._safe_url}: the database was closed")
            connection = engine.connect()
            with self.lock:
                self.connections[tid] = connection
        return connection

    def _take_connection(self) -> Optional[Connection]:
        with self.lock:
            taken: Optional[Connection] = self.connections.pop(threading.get_ident(), None)
            return taken

    def _release(self, *, commit: bool) -> None:
        """Give this thread's connection back to the pool after an operation outside `with db:`."""
        if self.in_transaction:
            return
        connection = self._take_connection()
        if connection is None:
            return
        try:
            # SQLAlchemy 2 begins a transaction on first use and dataset 2 commits only its
            # own writes: commit what `query()` wrote, as dataset 1 did.
            if commit and not connection.invalidated and connection.in_transaction():
                connection.commit()
        finally:
            connection.close()

    def _drop(self) -> None:
        """Close this thread's connection (rolling back) unless `with db:` still uses it."""
        if self.in_transaction:
            return
        connection = self._take_connection()
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection: the pool has already discarded it
                logger.debug("closing a broken connection failed", exc_info=True)

    def _after_fork_in_child(self) -> None:
        _inherited.extend(self.connections.values())
        self.connections = {}
        self.lock = threading.RLock()
        self.local = threading.local()
        self._flyer = _ThreadState()

    # -- running operations ------------------------------------------------------------

    def _note_statement(self, *args: Any) -> None:
        # before_cursor_execute(conn, cursor, statement, parameters, context, executemany)
        if not is_read_statement(args[2]):
            self._flyer.write_sent = True

    def _run(self, call: Callable[[], T], operation: str, *, buffer: bool = False) -> T:
        """Run `call` as one operation: retried when safe, connection released afterwards."""
        state = self._flyer
        if state.depth or self.in_transaction:
            state.depth += 1
            try:
                return call()
            finally:
                state.depth -= 1
        policy = self.retry
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_delay),
            wait=lambda retry_state: policy.wait(retry_state.attempt_number),
            retry=retry_if_exception(self._retryable),
            before_sleep=functools.partial(self._log_retry, operation),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._attempt(call, buffer)
        raise AssertionError("tenacity returned without a result")  # reraise=True raises

    def _attempt(self, call: Callable[[], T], buffer: bool) -> T:
        state = self._flyer
        state.depth, state.connected, state.write_sent = 1, False, False
        try:
            _ = self.executable  # check out (and ping) first: a failure here sent nothing
            state.connected = True
            result = call()
            if buffer and isinstance(result, ResultIter):
                # Fetch every row inside the retried call, so a connection lost while
                # reading is retried too, and the connection can go back to the pool.
                proxy = result.result_proxy
                returns_rows = proxy is not None and proxy.returns_rows
                result._iter = iter(list(result._iter) if returns_rows else [])
            self._release(commit=state.write_sent)
            return result
        except BaseException:
            self._drop()
            raise
        finally:
            state.depth = 0

    def _retryable(self, error: BaseException) -> bool:
        if not isinstance(error, DBAPIError):
            return False
        state = self._flyer
        if not state.connected:
            return error.orig is None or not is_configuration_error(error.orig)
        return bool(error.connection_invalidated) and not state.write_sent

    def _log_retry(self, operation: str, retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        original = getattr(error, "orig", error)
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.warning(
            "database connection lost, retrying %s",
            operation,
            extra={
                "operation": operation,
                "attempt": retry_state.attempt_number,
                "wait_s": round(wait, 3),
                "error": f"{type(original).__name__}: {original}"[:300],
                "url": self._safe_url,
            },
        )

    # -- dataset API -------------------------------------------------------------------

    def query(self, query: Any, *args: Any, **kwargs: Any) -> ResultIter:
        """`dataset.Database.query`, retried when the statement only reads."""
        call = functools.partial(super().query, query, *args, **kwargs)
        return self._run(call, "query", buffer=True)

    @property
    def tables(self) -> List[str]:
        return self._run(lambda: dataset.Database.tables.__get__(self), "tables")

    @property
    def views(self) -> List[str]:
        return self._run(lambda: dataset.Database.views.__get__(self), "views")

    def has_table(self, name: str) -> bool:
        return self._run(functools.partial(super().has_table, name), "has_table")

    def __contains__(self, table_name: str) -> bool:
        return self._run(functools.partial(super().__contains__, table_name), "contains")

    def begin(self) -> None:
        """Start a transaction: `with db:` commits at the end, rolls back on an exception."""
        self._run(super().begin, "begin")

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._drop()

    def rollback(self) -> None:
        try:
            super().rollback()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The server ended the transaction with the connection: nothing is left to undo.
        finally:
            self._flyer_forget_metadata()
            if not self.in_transaction:
                self._drop()

    def _flyer_forget_metadata(self) -> None:
        """After a rollback the tables' cached structure may be wrong (a table or column
        created in the transaction is gone): every table reads it again on next use."""
        with self.lock:
            tables = list(self._flyer_tables.values())
        for table in tables:
            table.flyer_reset()

    def close(self) -> None:
        """Close every connection and the pool; the object is unusable afterwards (idempotent)."""
        if self.engine is not None:
            super().close()
        with self.lock:
            self._flyer_tables = {}

    def create_table(
        self,
        table_name: str,
        primary_id: Any = None,
        primary_type: Any = None,
        primary_increment: Optional[bool] = None,
    ) -> RetryingTable:
        """Load or create a table (on first write); see `dataset.Database.create_table`."""
        if isinstance(primary_type, str):
            raise TypeError("primary_type: expected a db.types type, not a string")
        name = normalize_table_name(table_name)
        with self.lock:
            table = self._flyer_tables.get(name)
            if table is None:
                table = self._flyer_tables[name] = RetryingTable(
                    self,
                    name,
                    primary_id=primary_id,
                    primary_type=primary_type,
                    primary_increment=primary_increment,
                    auto_create=True,
                )
            return table

    def load_table(self, table_name: str) -> RetryingTable:
        """A table that must exist; see `dataset.Database.load_table`."""
        name = normalize_table_name(table_name)
        with self.lock:
            table = self._flyer_tables.get(name)
            if table is None:
                table = self._flyer_tables[name] = RetryingTable(self, name)
            return table


def _operation(method: F, *, buffer: bool = False) -> F:
    """`method` of `dataset.Table` run as one operation of its database."""
    name = method.__name__.strip("_")

    @functools.wraps(method)
    def run(self: RetryingTable, *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            if sa_major() < 2 and dataset.Table.exists.__get__(self):
                # dataset 1 binds table metadata to the connection of the moment and runs
                # insert_many through it: point it at this operation's connection.
                cast(Any, dataset.Table.table.__get__(self).metadata).bind = self.db.executable
            return method(self, *args, **kwargs)

        streamed = bool(kwargs.get("_streamed"))
        result = self._database._run(call, name, buffer=buffer and not streamed)
        if streamed and _DATASET_MAJOR < 2 and isinstance(result, ResultIter):
            # dataset 1 never closes the connection it opened to stream a result, and the
            # transaction left open on it blocks DDL (MariaDB's metadata lock) for ever.
            connection = getattr(result.result_proxy, "connection", None)
            if connection is not None:
                result = _ClosingResultIter(result, connection)
        return result

    return cast(F, run)


class _ClosingResultIter(ResultIter):
    """A streamed result that closes its own connection once exhausted or closed."""

    def __init__(self, source: ResultIter, connection: Connection) -> None:
        self.__dict__.update(source.__dict__)
        self._flyer_connection: Optional[Connection] = connection

    def close(self) -> None:
        try:
            super().close()
        finally:
            connection, self._flyer_connection = self._flyer_connection, None
            if connection is not None:
                connection.close()


class RetryingTable(dataset.Table):
    """A `dataset.Table` whose methods run as retried operations of a `RetryingDatabase`."""

    def __init__(self, database: RetryingDatabase, table_name: str, **options: Any) -> None:
        super().__init__(database, table_name, **options)
        self._flyer_options = options

    def flyer_reset(self) -> None:
        """Forget the table's cached structure (read again from the database on next use)."""
        dataset.Table.__init__(self, self.db, self.name, **self._flyer_options)

    @property
    def _database(self) -> RetryingDatabase:
        return cast(RetryingDatabase, self.db)

    @property
    def exists(self) -> bool:
        return bool(self._database._run(lambda: dataset.Table.exists.__get__(self), "exists"))

    @property
    def table(self) -> Any:
        return self._database._run(lambda: dataset.Table.table.__get__(self), "table")

    @property
    def columns(self) -> List[str]:
        return self._database._run(lambda: dataset.Table.columns.__get__(self), "columns")

    has_column = _operation(dataset.Table.has_column)
    insert = _operation(dataset.Table.insert)
    insert_ignore = _operation(dataset.Table.insert_ignore)
    insert_many = _operation(dataset.Table.insert_many)
    update = _operation(dataset.Table.update)
    update_many = _operation(dataset.Table.update_many)
    upsert = _operation(dataset.Table.upsert)
    upsert_many = _operation(dataset.Table.upsert_many)
    delete = _operation(dataset.Table.delete)
    create_column = _operation(dataset.Table.create_column)
    create_column_by_example = _operation(dataset.Table.create_column_by_example)
    drop_column = _operation(dataset.Table.drop_column)
    drop = _operation(dataset.Table.drop)
    has_index = _operation(dataset.Table.has_index)
    create_index = _operation(dataset.Table.create_index)
    find = _operation(dataset.Table.find, buffer=True)
    all = find
    find_one = _operation(dataset.Table.find_one)
    count = _operation(dataset.Table.count)
    distinct = _operation(dataset.Table.distinct, buffer=True)
    __len__ = _operation(dataset.Table.__len__)
    __iter__ = _operation(dataset.Table.__iter__, buffer=True)

    def __repr__(self) -> str:
        return f"<Table({self.name})>"

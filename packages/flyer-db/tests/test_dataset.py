"""The dataset helper against real servers: the ancestor's calls, and connections that die."""

# The ancestor's settings code is quoted verbatim, lower-case variable names included.
# ruff: noqa: SIM112

import logging
import threading
import time
from os import getenv
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest
import sqlalchemy
from sqlalchemy.exc import DBAPIError

import flyer_db
from flyer_db import RetryPolicy, get_dataset_pool

dataset = pytest.importorskip("dataset")

RETRY_LOG = "database connection lost, retrying"


@pytest.fixture(params=["sqlite", "mysql", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flyer.db'}"
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def open_db() -> Iterator[Callable[..., Any]]:
    """`open_db(...)`: `get_dataset_pool(...)`, closed after the test."""
    opened: List[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        database = get_dataset_pool(*args, **kwargs)
        opened.append(database)
        return database

    yield make
    for database in opened:
        database.close()


@pytest.fixture
def retry_log(caplog: pytest.LogCaptureFixture) -> Callable[[], List[logging.LogRecord]]:
    caplog.set_level(logging.WARNING, logger="flyer.db")
    return lambda: [r for r in caplog.records if r.getMessage().startswith(RETRY_LOG)]


def in_thread(work: Callable[[], Any]) -> Callable[[], None]:
    """Run `work` in a thread now; the returned `join()` re-raises what it raised."""
    errors: List[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> None:
        thread.join(10)
        assert not thread.is_alive()
        if errors:
            raise errors[0]

    return join


def connection_id(database: Any, server: Any) -> int:
    return int(next(iter(database.query(server.id_sql)))["id"])


# -- the ancestor's calls ------------------------------------------------------------------


def test_the_ancestors_dataset_calls_work_unchanged(
    mysql_url: str, table_name: str, monkeypatch: pytest.MonkeyPatch, open_db: Callable[..., Any]
) -> None:
    server = sqlalchemy.engine.make_url(mysql_url)
    monkeypatch.setenv("flyer_db_host", server.host or "")
    monkeypatch.setenv("flyer_db_port", str(server.port))
    monkeypatch.setenv("flyer_db_name", server.database or "")

    class DataBase:  # the ancestor's settings.py, verbatim apart from the import
        db_user = getenv("flyer_db_user", "root")
        db_pass = getenv("flyer_db_pass", "")
        db_host = getenv("flyer_db_host", "localhost")
        db_port = getenv("flyer_db_port", 3306)
        db_name = getenv("flyer_db_name", "flyer")
        db_chartset = getenv("flyer_db_chartset", "utf8")
        db_recycle_rate = int(getenv("flyer_db_recycle_rate", 900))
        db_pool_size = int(getenv("flyer_db_pool_size", 32))

        data_set = open_db(
            db_host, db_port, db_name, db_user, db_pass, db_recycle_rate, db_pool_size
        )

    table: dataset.Table = DataBase.data_set[table_name]
    try:
        table.upsert({"key_item": 0, "item1": 1, "item2": 2}, keys=["key_item"])
        rows = [{"key_item": 0, "item1": 2, "item2": 3}, {"key_item": 1, "item1": 2, "item2": 3}]
        table.upsert_many(rows, keys=["key_item"])
        query = {"item1": 2, "_limit": 100, "_offset": 0, "order_by": "key_item"}
        assert [row["key_item"] for row in table.find(**query)] == [0, 1]
        one = table.find_one(**{"key_item": 1, "order_by": "key_item"})
        assert one is not None
        assert one["item2"] == 3
        assert table.delete(key_item=1) is True
        assert table.delete(key_item=1) is False
        assert len(table) == 1
    finally:
        table.drop()


def test_crud_and_transactions_on_every_backend(
    db_url: str, table_name: str, open_db: Callable[..., Any]
) -> None:
    database = open_db(url=db_url)
    table = database[table_name]
    try:
        assert table.insert({"name": "a", "n": 1}) == 1
        table.insert_many([{"name": "b", "n": 2}, {"name": "c", "n": 3}])
        assert table.update({"name": "b", "n": 20}, ["name"]) == 1
        assert [r["n"] for r in table.find(order_by="-n")] == [20, 3, 1]
        assert [r["name"] for r in table.find(n={">": 1}, order_by="name", _limit=1)] == ["b"]
        assert table.count(n={"<": 10}) == 2
        assert [r["name"] for r in table.distinct("name")] == ["a", "b", "c"]
        assert sorted(table.columns) == ["id", "n", "name"]
        assert table_name in database
        assert [
            r["total"] for r in database.query(f"SELECT SUM(n) AS total FROM {table_name}")
        ] == [24]
        with database:
            table.insert({"name": "d", "n": 4})
        with pytest.raises(KeyError), database:  # noqa: PT012 - the block is the transaction
            table.insert({"name": "e", "n": 5})
            raise KeyError("rolled back")
        assert table.find_one(name="d") is not None
        assert table.find_one(name="e") is None
        database.query(f"DELETE FROM {table_name} WHERE name = 'a'")  # committed, as dataset 1 did
        assert table.count() == 3
        assert repr(table) == f"<Table({table_name})>"
    finally:
        table.drop()
    assert table_name not in database


def test_a_table_created_in_a_rolled_back_transaction_is_created_again(
    postgres_url: str, table_name: str, open_db: Callable[..., Any]
) -> None:
    # PostgreSQL rolls DDL back: the table object must forget the structure it cached.
    database = open_db(url=postgres_url)
    table = database[table_name]
    with pytest.raises(KeyError), database:  # noqa: PT012 - the block is the transaction
        table.insert({"name": "gone", "n": 1})
        raise KeyError("rolled back")
    assert table_name not in database
    try:
        assert table.insert({"name": "kept", "n": 2}) is not None
        assert [r["name"] for r in database[table_name].find()] == ["kept"]
        assert database[table_name] is table
    finally:
        table.drop()


def test_the_url_forms_and_sharing(tmp_path: Path, open_db: Callable[..., Any]) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    database = open_db(url=url)
    assert open_db(url) is database  # a first argument with :// is a URL
    assert open_db(url=url, retry=RetryPolicy(attempts=2)) is not database
    database.close()
    assert open_db(url=url) is not database  # a closed database is replaced
    with pytest.raises(ValueError, match="not both"):
        get_dataset_pool("localhost", url=url)


def test_the_readmes_other_positional_order_is_refused_without_showing_the_password() -> None:
    db_user, db_pass, db_host, db_port, db_name = "root", "hunter2", "localhost", "3306", "flyer"
    with pytest.raises(ValueError) as caught:
        get_dataset_pool(db_user, db_pass, db_host, db_port, db_name)
    message = str(caught.value)
    assert "hunter2" not in message
    assert "port=a str of length 7: expected an integer 1-65535" in message
    assert "host, port, name, user, password" in message
    with pytest.raises(ValueError, match="port=a str of length 0"):
        get_dataset_pool("root", "", "localhost", "3306", "flyer")


def test_keywords_work_in_any_order(mariadb: Any, open_db: Callable[..., Any]) -> None:
    database = open_db(
        user=mariadb.user,
        password="",
        host=mariadb.host,
        port=str(mariadb.port),
        name=mariadb.database,
        pool_size=4,
    )
    assert database.engine.pool.size() == 4
    assert connection_id(database, mariadb) > 0


def test_the_password_stays_out_of_reprs(open_db: Callable[..., Any]) -> None:
    database = open_db(url="mysql://root:hunter2@127.0.0.1:1/flyer")
    assert "hunter2" not in repr(database)
    assert "hunter2" not in repr(database.engine)
    assert "hunter2" not in repr(database["t"])


def test_reads_see_rows_other_connections_committed(
    server: Any, table_name: str, open_db: Callable[..., Any]
) -> None:
    """No read keeps a snapshot open (MariaDB's REPEATABLE READ would freeze it)."""
    database = open_db(url=server.url)
    table = database[table_name]
    try:
        table.insert({"n": 1})
        assert table.count() == 1
        server.execute(f"INSERT INTO {table_name} (n) VALUES (2)")
        assert table.count() == 2
        assert [r["n"] for r in table.find(order_by="n")] == [1, 2]
    finally:
        table.drop()


def test_threads_do_not_pin_connections(
    server: Any, table_name: str, open_db: Callable[..., Any]
) -> None:
    database = open_db(url=server.url)
    table = database[table_name]
    table.insert({"n": 0})
    try:
        joins = [in_thread(lambda i=i: table.insert({"n": i})) for i in range(1, 9)]
        for join in joins:
            join()
        assert table.count() == 9
        assert database.connections == {}
        assert database.engine.pool.checkedout() == 0
    finally:
        table.drop()


# -- connections that die ------------------------------------------------------------------


def test_a_connection_killed_between_two_calls_is_replaced(
    server: Any, table_name: str, open_db: Callable[..., Any], retry_log: Callable[[], list]
) -> None:
    database = open_db(url=server.url)
    table = database[table_name]
    try:
        table.insert({"n": 1})
        first = connection_id(database, server)
        server.kill(first)
        table.insert({"n": 2})  # a write: safe, nothing reached the dead connection
        server.kill(connection_id(database, server))
        assert [r["n"] for r in table.find(order_by="n")] == [1, 2]
        assert server.count(table_name) == 2
        assert connection_id(database, server) != first
    finally:
        table.drop()


def test_a_read_whose_connection_dies_mid_flight_is_retried(
    server: Any, table_name: str, open_db: Callable[..., Any], retry_log: Callable[[], list]
) -> None:
    database = open_db(url=server.url)
    marker = f"read_{table_name}"
    join = in_thread(lambda: server.kill(server.wait_running(marker)))
    rows = list(database.query(f"SELECT {server.sleep_sql} AS s, 7 AS seven /* {marker} */"))
    join()
    assert [row["seven"] for row in rows] == [7]
    (record,) = retry_log()
    assert record.operation == "query"
    assert record.attempt == 1
    assert record.error.startswith(("OperationalError", "AdminShutdown"))
    assert record.url == flyer_db.safe_url(database.engine.url)


@pytest.fixture
def slow_table(server: Any, table_name: str) -> Iterator[Tuple[str, str]]:
    """A table whose inserts take 0.5 s after the row is written (MyISAM on MariaDB, so a
    killed statement keeps its row as a crashed-after-write statement would), and the text
    that shows the server is running such an insert."""
    if server.kind == "mysql":
        server.execute(
            f"CREATE TABLE {table_name} (id INT AUTO_INCREMENT PRIMARY KEY, n INT) ENGINE=MyISAM"
        )
        server.execute(
            f"CREATE TRIGGER {table_name}_slow AFTER INSERT ON {table_name} "
            f"FOR EACH ROW SET @{table_name}_slow = SLEEP(0.5)"
        )
        marker = f"@{table_name}_slow"  # MariaDB shows the trigger's statement
    else:
        server.execute(f"CREATE TABLE {table_name} (id SERIAL PRIMARY KEY, n INTEGER)")
        server.execute(
            f"CREATE FUNCTION {table_name}_slow() RETURNS trigger AS $$ "
            "BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        server.execute(
            f"CREATE TRIGGER {table_name}_slow AFTER INSERT ON {table_name} "
            f"FOR EACH ROW EXECUTE PROCEDURE {table_name}_slow()"
        )
        marker = f"INSERT INTO {table_name}"
    try:
        yield table_name, marker
    finally:
        server.drop(table_name)
        if server.kind == "postgres":
            server.execute(f"DROP FUNCTION IF EXISTS {table_name}_slow()")


@pytest.mark.parametrize("how", ["table.insert", "query"])
def test_a_write_whose_connection_dies_mid_flight_is_raised_not_replayed(
    server: Any,
    slow_table: Tuple[str, str],
    open_db: Callable[..., Any],
    retry_log: Callable[[], list],
    how: str,
) -> None:
    name, marker = slow_table
    database = open_db(url=server.url)
    table = database.load_table(name)
    assert table.columns  # reflect first, so the only statement in flight is the INSERT
    join = in_thread(lambda: server.kill(server.wait_running(marker)))
    write = (
        (lambda: database.query(f"INSERT INTO {name} (n) VALUES (1)"))
        if how == "query"
        else (lambda: table.insert({"n": 1}))
    )
    with pytest.raises(DBAPIError) as caught:
        write()
    join()
    assert caught.value.connection_invalidated
    assert retry_log() == []
    # MariaDB's MyISAM kept the row the killed statement wrote, PostgreSQL rolled it back:
    # either way it is there at most once, as no one sent it again.
    assert server.count(name) == (1 if server.kind == "mysql" else 0)
    table.insert({"n": 2})  # the next call works on a new connection
    assert server.count(name) == (2 if server.kind == "mysql" else 1)


def test_a_transaction_whose_connection_dies_raises_and_is_rolled_back(
    server: Any, table_name: str, open_db: Callable[..., Any], retry_log: Callable[[], list]
) -> None:
    database = open_db(url=server.url)
    table = database[table_name]
    table.insert({"n": 0})
    try:
        with pytest.raises(DBAPIError) as caught, database:  # noqa: PT012 - one transaction
            table.insert({"n": 1})
            server.kill(connection_id(database, server))
            table.insert({"n": 2})
        assert caught.value.connection_invalidated
        assert retry_log() == []
        assert not database.in_transaction
        assert server.count(table_name) == 1
        table.insert({"n": 3})
        assert [r["n"] for r in table.find(order_by="n")] == [0, 3]
    finally:
        table.drop()


def test_an_idle_connection_the_server_timed_out_is_replaced(
    mariadb: Any, table_name: str, open_db: Callable[..., Any]
) -> None:
    database = open_db(url=mariadb.url)
    table = database[table_name]
    try:
        table.insert({"n": 1})
        database.query("SET SESSION wait_timeout = 1")
        idle = connection_id(database, mariadb)
        mariadb.wait_gone(idle)  # MariaDB closes it after one idle second
        table.insert({"n": 2})
        assert table.count() == 2
        assert connection_id(database, mariadb) != idle
    finally:
        table.drop()


def test_operations_ride_out_a_server_restart(
    server: Any,
    table_name: str,
    proxy_to: Callable[[Any], Any],
    open_db: Callable[..., Any],
    retry_log: Callable[[], list],
) -> None:
    proxy = proxy_to(server)
    database = open_db(url=server.url_via(proxy.port))
    table = database[table_name]
    try:
        table.insert({"n": 1})
        proxy.stop()  # every connection drops, new ones are refused ...
        restart = threading.Timer(0.5, proxy.start)  # ... for half a second
        restart.start()
        started = time.monotonic()
        table.insert({"n": 2})  # connecting failed: nothing was sent, so it is retried
        restart.join()
        assert time.monotonic() - started >= 0.4
        assert [r["n"] for r in table.find(order_by="n")] == [1, 2]
        assert server.count(table_name) == 2
        assert len(retry_log()) >= 1
    finally:
        server.drop(table_name)


def test_after_the_last_attempt_the_original_error_is_raised(
    server: Any,
    table_name: str,
    proxy_to: Callable[[Any], Any],
    open_db: Callable[..., Any],
    retry_log: Callable[[], list],
) -> None:
    proxy = proxy_to(server)
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
    database = open_db(url=server.url_via(proxy.port), retry=policy)
    table = database[table_name]
    try:
        table.insert({"n": 1})
        proxy.stop()
        with pytest.raises(sqlalchemy.exc.OperationalError) as caught:
            table.count()
        assert type(caught.value.orig).__module__.split(".")[0] in {
            "pymysql",
            "psycopg",
            "psycopg2",
        }
        assert [r.attempt for r in retry_log()] == [1, 2]
    finally:
        server.drop(table_name)


class _SteppedWaits(RetryPolicy):
    """Waits of 0.01 s times the attempt number, without the random part: easy to recognise."""

    __slots__ = ()

    def wait(self, attempt: int) -> float:
        return 0.01 * attempt


def test_the_waits_between_attempts_are_the_policys(
    server: Any,
    table_name: str,
    proxy_to: Callable[[Any], Any],
    open_db: Callable[..., Any],
    retry_log: Callable[[], list],
) -> None:
    proxy = proxy_to(server)
    database = open_db(url=server.url_via(proxy.port), retry=_SteppedWaits(attempts=4))
    table = database[table_name]
    try:
        table.insert({"n": 1})
        proxy.stop()
        with pytest.raises(sqlalchemy.exc.OperationalError):
            table.count()
        assert [(r.attempt, r.wait_s) for r in retry_log()] == [(1, 0.01), (2, 0.02), (3, 0.03)]
    finally:
        server.drop(table_name)


def test_a_configuration_error_is_not_retried(
    mysql_url: str, open_db: Callable[..., Any], retry_log: Callable[[], list]
) -> None:
    url = sqlalchemy.engine.make_url(mysql_url).set(database="flyer_no_such_database")
    database = open_db(url=url.render_as_string(hide_password=False))
    with pytest.raises(sqlalchemy.exc.OperationalError, match="1049"):
        _ = database.tables
    assert retry_log() == []


def test_the_engine_is_tracked_for_readiness_and_shutdown(
    db_url: str, open_db: Callable[..., Any]
) -> None:
    database = open_db(url=db_url)
    assert database.engine in flyer_db._registry.engines()
    assert flyer_db.check_engine(database.engine)["ok"]


def test_streamed_results_are_not_buffered(
    db_url: str, table_name: str, open_db: Callable[..., Any]
) -> None:
    database = open_db(url=db_url)
    table = database[table_name]
    try:
        table.insert_many([{"n": i} for i in range(5)])
        result: Optional[Any] = table.find(order_by="n", _streamed=True, _step=2)
        assert [r["n"] for r in result] == [0, 1, 2, 3, 4]
    finally:
        table.drop()

# The ancestor's settings code is quoted verbatim, lower-case variable names included.
# ruff: noqa: SIM112

import os
import sys
from os import getenv
from pathlib import Path
from typing import Any, Callable

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

import flyer_db
from flyer_db import DBSettings, create_engine, get_engine, get_mysql_pool


def test_sqlalchemy_line_matches_the_python_and_extras() -> None:
    """Python 3.8/3.9 with the dataset extra run SQLAlchemy 1.4; newer Pythons run 2.x."""
    major = int(sqlalchemy.__version__.split(".")[0])
    if sys.version_info < (3, 10):
        assert major == 1, sqlalchemy.__version__
    else:
        assert major == 2, sqlalchemy.__version__


def test_server_engines_get_pre_ping_recycle_and_pool_sizes_from_settings(
    mysql_url: str,
) -> None:
    settings = DBSettings.from_env(
        {"flyer_db_recycle_rate": "120", "flyer_db_pool_size": "7", "flyer_db_max_overflow": "3"}
    )
    engine = create_engine(mysql_url, settings=settings)
    try:
        assert engine.pool._pre_ping
        assert engine.pool._recycle == 120
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 7
        assert engine.pool._max_overflow == 3
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("flyer_db_pool_size", "5")
    engine = create_engine("mysql://root@127.0.0.1:1/x")
    try:
        assert engine.pool.size() == 5
        assert engine.pool._recycle == 900
        assert engine.pool._max_overflow == 64
    finally:
        engine.dispose()


def test_keywords_pass_through_and_win() -> None:
    engine = create_engine("mysql://root@127.0.0.1:1/x", pool_size=2, pool_pre_ping=False)
    try:
        assert engine.pool.size() == 2
        assert not engine.pool._pre_ping
    finally:
        engine.dispose()


def test_sqlite_is_the_embedded_default_and_the_file_appears_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.lower().startswith("flyer_db_"):
            monkeypatch.delenv(name)
    engine = create_engine()
    try:
        assert engine.url.get_backend_name() == "sqlite"
        assert not (tmp_path / "flyer.db").exists()
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        assert (tmp_path / "flyer.db").exists()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t")).scalar() == 1
    finally:
        engine.dispose()


def test_the_ancestors_get_mysql_pool_call_works_unchanged(
    mysql_url: str, monkeypatch: pytest.MonkeyPatch
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
        db_max_overflow = int(getenv("flyer_threads", 64))
        mysql_pool = get_mysql_pool(
            db_user,
            db_pass,
            db_host,
            db_port,
            db_name,
            db_recycle_rate,
            db_pool_size,
            db_max_overflow,
        )

    engine = DataBase.mysql_pool
    assert isinstance(engine, sqlalchemy.engine.Engine)
    assert engine.pool.size() == 32
    assert engine.pool._recycle == 900
    with engine.connect() as connection:
        assert connection.execute(text("SELECT DATABASE()")).scalar() == server.database
    # Same arguments, same engine: calling it per request opens no new pool.
    again = get_mysql_pool("root", "", server.host, str(server.port), server.database, 900, 32, 64)
    assert again is engine
    assert get_mysql_pool("root", "", server.host, server.port, server.database) is engine
    other = get_mysql_pool("root", "", server.host, server.port, server.database, 900, 4)
    assert other is not engine
    other.dispose()


def test_get_mysql_pool_names_a_bad_argument() -> None:
    with pytest.raises(ValueError, match=r"port='x': expected an integer 1-65535"):
        get_mysql_pool("root", "", "localhost", "x", "flyer")
    with pytest.raises(ValueError, match=r"pool_size='lots': expected an integer >= 0"):
        get_mysql_pool("root", "", "localhost", 3306, "flyer", 900, "lots")


def test_get_engine_is_shared_per_settings(tmp_path: Path) -> None:
    settings = DBSettings.from_env({"flyer_db_url": f"sqlite:///{tmp_path / 'a.db'}"})
    engine = get_engine(settings)
    try:
        assert get_engine(settings) is engine
        assert get_engine(DBSettings.from_env({"flyer_db_url": "sqlite://"})) is not engine
    finally:
        engine.dispose()


def test_a_connection_the_server_killed_is_replaced_before_use(
    server: Any, engines: Callable[..., sqlalchemy.engine.Engine]
) -> None:
    engine = engines(server.url)
    with engine.connect() as connection:
        first = connection.execute(text(server.id_sql)).scalar()
    server.kill(first)
    with engine.connect() as connection:  # the pre-ping finds it dead and reconnects
        second = connection.execute(text(server.id_sql)).scalar()
    assert second != first


def test_an_idle_connection_the_server_timed_out_is_replaced(
    mariadb: Any, engines: Callable[..., sqlalchemy.engine.Engine]
) -> None:
    engine = engines(mariadb.url)
    with engine.connect() as connection:
        connection.execute(text("SET SESSION wait_timeout = 1"))
        first = connection.execute(text(mariadb.id_sql)).scalar()
    mariadb.wait_gone(first)  # the server closes it after one idle second
    with engine.connect() as connection:
        assert connection.execute(text(mariadb.id_sql)).scalar() != first


def test_dispose_engines_closes_idle_connections(
    mysql_url: str, engines: Callable[..., sqlalchemy.engine.Engine]
) -> None:
    engine = engines(mysql_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert engine.pool.checkedin() == 1
    assert flyer_db.dispose_engines() >= 1
    assert engine.pool.checkedin() == 0
    with engine.connect() as connection:  # still usable afterwards
        assert connection.execute(text("SELECT 1")).scalar() == 1

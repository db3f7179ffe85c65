import pytest

from flyer_db import RetryPolicy, is_read_statement
from flyer_db._retry import is_configuration_error


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  select * from t where a = 1",
        "/* note */ SELECT a FROM t",
        "-- note\nSELECT a FROM t",
        "(SELECT a FROM t) UNION (SELECT b FROM u)",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "SHOW FULL TABLES",
        "DESCRIBE t",
        "EXPLAIN SELECT 1",
        "PRAGMA table_info(t)",
        "SELECT updated_at, deleted FROM t",
    ],
)
def test_reads(sql: str) -> None:
    assert is_read_statement(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1)",
        "CREATE TABLE t (a INT)",
        "DROP TABLE t",
        "ALTER TABLE t ADD b INT",
        "SET SESSION wait_timeout = 1",
        "CALL p()",
        "SELECT a INTO @x FROM t",
        "SELECT * INTO new_t FROM t",
        "SELECT nextval('s')",
        "SELECT a FROM t FOR UPDATE",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "EXPLAIN ANALYZE DELETE FROM t",
        "PRAGMA journal_mode=WAL",
        "",
        "/* only a comment */",
    ],
)
def test_writes_and_anything_unsure(sql: str) -> None:
    assert not is_read_statement(sql)


def test_policy_defaults_ride_out_a_few_seconds() -> None:
    policy = RetryPolicy()
    assert policy.attempts >= 5
    assert (
        sum(min(policy.backoff * 2**n, policy.max_backoff) for n in range(policy.attempts - 1)) >= 3
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "attempts=0: expected an integer >= 1"),
        ({"attempts": True}, "attempts=True: expected an integer >= 1"),
        ({"backoff": -1}, "backoff=-1: expected a number of seconds >= 0"),
        ({"max_delay": float("inf")}, "max_delay=inf: expected a number of seconds >= 0"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        RetryPolicy(**kwargs)


def test_configuration_errors_are_told_from_outages() -> None:
    pymysql = pytest.importorskip("pymysql")
    assert is_configuration_error(pymysql.err.OperationalError(1045, "Access denied"))
    assert is_configuration_error(pymysql.err.OperationalError(1049, "Unknown database"))
    assert not is_configuration_error(pymysql.err.OperationalError(2003, "Can't connect"))
    assert not is_configuration_error(pymysql.err.OperationalError(1040, "Too many connections"))
    psycopg = pytest.importorskip("psycopg")
    assert is_configuration_error(
        psycopg.OperationalError('FATAL:  password authentication failed for user "x"')
    )
    assert not is_configuration_error(psycopg.OperationalError("Connection refused"))

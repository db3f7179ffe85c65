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


def test_policy_is_the_shared_type_with_every_name_accepted() -> None:
    import flyer_status

    policy = RetryPolicy(stop_max_attempt_number=4, wait_exponential_multiplier=0.2, max_wait=1)
    assert isinstance(policy, flyer_status.RetryPolicy)
    assert policy == RetryPolicy(attempts=4, backoff=0.2, max_backoff=1)
    assert (policy.backoff, policy.max_backoff, policy.max_delay) == (0.2, 1, 15.0)
    assert policy.replace(backoff=0.5).multiplier == 0.5
    with pytest.raises(ValueError, match=r"backoff=0.5 conflicts with multiplier=0.2"):
        RetryPolicy(multiplier=0.2, backoff=0.5)
    with pytest.raises(ValueError, match=r"RetryPolicy jitter=0.5: expected 0"):
        RetryPolicy(jitter=0.5)


def test_waits_double_up_to_max_backoff_plus_up_to_backoff_at_random() -> None:
    policy = RetryPolicy(backoff=0.1, max_backoff=0.3)
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.3)]:
        waits = [policy.wait(attempt) for _ in range(100)]
        assert all(base <= w <= base + 0.1 for w in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 50

import pytest
import sqlalchemy

import flyer_db
from flyer_db._url import mysql_url, normalize_url, parse_port

PSYCOPG = "psycopg" if sqlalchemy.__version__.startswith("2.") else "psycopg2"


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("mysql://root@h/db", "mysql+pymysql"),
        ("mariadb://root@h/db", "mariadb+pymysql"),
        ("postgresql://u@h/db", f"postgresql+{PSYCOPG}"),
        ("postgres://u@h/db", f"postgresql+{PSYCOPG}"),
        ("postgresql+psycopg://u@h/db", f"postgresql+{PSYCOPG}"),
        ("mysql+mysqldb://root@h/db", "mysql+mysqldb"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_urls_without_a_driver_get_the_one_flyer_installs(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


def test_safe_url_hides_the_password() -> None:
    url = "mysql+pymysql://root:hunter2@h:3306/db"
    assert flyer_db.safe_url(url) == "mysql+pymysql://root:***@h:3306/db"
    assert "hunter2" not in flyer_db.safe_url(normalize_url(url))


def test_engine_repr_hides_the_password() -> None:
    engine = flyer_db.create_engine("mysql://root:hunter2@127.0.0.1:1/db")
    try:
        assert "hunter2" not in repr(engine)
        assert "hunter2" not in repr(engine.url)
    finally:
        engine.dispose()


def test_mysql_url_takes_special_characters_and_empty_passwords() -> None:
    url = mysql_url("app", "p@ss:w/rd", "h", 3306, "db", "utf8mb4")
    assert url.password == "p@ss:w/rd"
    assert sqlalchemy.engine.make_url(url.render_as_string(hide_password=False)) == url
    assert mysql_url("root", "", "h", 3306, "db").password is None


@pytest.mark.parametrize("value", [3306, "3306", " 3306 "])
def test_ports_may_be_strings_as_getenv_returns_them(value: object) -> None:
    assert parse_port(value) == 3306


@pytest.mark.parametrize("value", ["", "0", "65536", "abc", True, 3.5])
def test_bad_ports_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="expected an integer 1-65535"):
        parse_port(value)


def test_a_port_error_can_leave_the_value_out() -> None:
    with pytest.raises(ValueError) as caught:
        parse_port("hunter2", show=False)
    assert "hunter2" not in str(caught.value)
    assert "a str of length 7" in str(caught.value)

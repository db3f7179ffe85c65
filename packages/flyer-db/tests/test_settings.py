import os

import pytest

from flyer_db import DBSettings
from flyer_db._settings import settings_fields


def test_defaults_are_the_ancestors_and_select_embedded_sqlite() -> None:
    settings = DBSettings.from_env({})
    password = settings.password.get_secret_value()
    assert (settings.user, password, settings.host, settings.port, settings.name) == (
        "root",
        "",
        "localhost",
        3306,
        "flyer",
    )
    assert (settings.recycle_rate, settings.pool_size, settings.max_overflow) == (900, 32, 64)
    assert settings.charset == "utf8mb4"
    assert not settings.server
    url = settings.url
    assert url.get_backend_name() == "sqlite"
    assert url.database == os.path.abspath("flyer.db")


def test_variables_are_read_case_insensitively() -> None:
    settings = DBSettings.from_env(
        {
            "FLYER_DB_USER": "app",
            "flyer_db_pass": "s3cret",
            "Flyer_Db_Host": "db.internal",
            "flyer_db_port": "3307",
            "flyer_db_name": "orders",
            "flyer_db_chartset": "utf8",
            "flyer_db_recycle_rate": "300",
            "flyer_db_pool_size": "8",
        }
    )
    assert settings.server
    assert settings.url.render_as_string(hide_password=False) == (
        "mysql+pymysql://app:s3cret@db.internal:3307/orders?charset=utf8"
    )
    assert (settings.recycle_rate, settings.pool_size) == (300, 8)


def test_any_server_part_selects_mysql_with_ancestor_defaults() -> None:
    settings = DBSettings.from_env({"flyer_db_host": "127.0.0.1"})
    assert settings.url.render_as_string(hide_password=False) == (
        "mysql+pymysql://root@127.0.0.1:3306/flyer?charset=utf8mb4"
    )


def test_url_wins_over_parts() -> None:
    settings = DBSettings.from_env(
        {"flyer_db_url": "postgresql://u:p@pg:5432/app", "flyer_db_host": "ignored"}
    )
    assert settings.url.host == "pg"
    assert settings.url.get_backend_name() == "postgresql"


def test_charset_spelling_works_too() -> None:
    assert DBSettings.from_env({"flyer_db_charset": "latin1"}).charset == "latin1"
    both = {"flyer_db_charset": "latin1", "flyer_db_chartset": "utf8"}
    assert DBSettings.from_env(both).charset == "latin1"


def test_max_overflow_comes_from_flyer_threads_as_the_ancestor_read_it() -> None:
    assert DBSettings.from_env({"flyer_threads": "5"}).max_overflow == 5
    explicit = {"flyer_threads": "5", "flyer_db_max_overflow": "20"}
    assert DBSettings.from_env(explicit).max_overflow == 20


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"flyer_db_port": "abc"}, "flyer_db_port='abc': expected an integer 1-65535"),
        ({"flyer_db_port": "70000"}, "flyer_db_port='70000': expected an integer 1-65535"),
        ({"flyer_db_pool_size": "-1"}, "flyer_db_pool_size='-1': expected an integer >= 0"),
        ({"flyer_db_recycle_rate": "x"}, "flyer_db_recycle_rate='x': expected an integer >= -1"),
        ({"flyer_threads": "many"}, "flyer_threads='many': expected an integer >= -1"),
        ({"flyer_db_chartset": "utf 8"}, "flyer_db_chartset='utf 8': expected a character set"),
        ({"flyer_db_url": "not a url"}, "flyer_db_url: expected dialect[+driver]://"),
    ],
)
def test_bad_values_fail_in_one_line_naming_the_value(variables: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        DBSettings.from_env(variables)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_password_is_never_in_repr() -> None:
    settings = DBSettings.from_env(
        {"flyer_db_pass": "s3cret", "flyer_db_url": "mysql://u:hunter2@h/db"}
    )
    assert "hunter2" not in repr(settings)
    assert "s3cret" not in repr(settings)
    assert "***" in repr(settings)
    assert "s3cret" not in repr(DBSettings.from_env({"flyer_db_pass": "s3cret"}))


def test_password_and_url_are_secrets_everywhere() -> None:
    settings = DBSettings.from_env(
        {"flyer_db_pass": "s3cret", "flyer_db_url": "mysql://u:hunter2@h/db"}
    )
    for shown in (str(settings.password), repr(settings.password), f"{settings.database_url}"):
        assert "s3cret" not in shown
        assert "hunter2" not in shown
    assert settings.password.get_secret_value() == "s3cret"
    assert settings.url.password == "hunter2"
    assert DBSettings(password="given").password.get_secret_value() == "given"


def test_from_env_reads_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYER_DB_NAME", "from_env")
    assert DBSettings.from_env().name == "from_env"


def test_settings_fields_list_every_variable_and_mark_secrets() -> None:
    fields = {field["name"]: field for field in settings_fields()}
    assert set(fields) == {
        "flyer_db_url",
        "flyer_db_user",
        "flyer_db_pass",
        "flyer_db_host",
        "flyer_db_port",
        "flyer_db_name",
        "flyer_db_chartset",
        "flyer_db_recycle_rate",
        "flyer_db_pool_size",
        "flyer_db_max_overflow",
    }
    assert fields["flyer_db_pass"]["secret"]
    assert fields["flyer_db_url"]["secret"]
    assert not fields["flyer_db_host"]["secret"]
    assert fields["flyer_db_port"]["default"] == "3306"
    assert all(field["help"] for field in fields.values())

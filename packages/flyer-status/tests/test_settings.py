"""`flyer_status.settings`: the strict `.env` reader, the merged environment, the field rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from flyer_status import SettingsError, settings
from flyer_status.settings import Environment, Secret, environment, read_env_file


def test_env_file_grammar(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\ufeff# a comment\n"
        "\n"
        "export A=1\n"
        "B = two words # trailing comment\n"
        "C='single \\' quoted # not a comment'\n"
        'D="line\\nbreak \\"quoted\\""\n'
        'E="spans\nlines"\n'
        "F=\n"
        "G= # only a comment\n"
        "H=#kept\n"
        "BARE\n"
        "I=${A}-${MISSING:-fallback}\n",
        encoding="utf-8",
    )
    assert read_env_file(str(env_file), {}) == {
        "A": "1",
        "B": "two words",
        "C": "single ' quoted # not a comment",
        "D": 'line\nbreak "quoted"',
        "E": "spans\nlines",
        "F": "",
        "G": "",
        "H": "#kept",
        "I": "1-fallback",
    }


def test_a_missing_env_file_is_empty(tmp_path: Path) -> None:
    assert read_env_file(str(tmp_path / "nope")) == {}
    assert read_env_file(None) == {}


@pytest.mark.parametrize(
    ("content", "line", "variable"),
    [
        ('flyer_auth_pass="hunter2\n', 1, "flyer_auth_pass"),
        ("# c\n\n\nA=1\nflyer_port='9000\nB=2\n", 5, "flyer_port"),
        ("A=1\nthis is not an assignment hunter2\n", 2, None),
        ("A='x' trailing hunter2\n", 1, "A"),
    ],
)
def test_an_unparsable_line_names_file_and_line_never_the_value(
    tmp_path: Path, content: str, line: int, variable: str
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(content)
    with pytest.raises(SettingsError) as caught:
        read_env_file(str(env_file))
    message = str(caught.value)
    assert message.startswith(f"{env_file}, line {line}: ")
    assert "\n" not in message
    assert "hunter2" not in message
    assert "9000" not in message
    if variable is not None:
        assert f": {variable}: " in message


def test_environment_reads_env_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FLYER_X_A=from-file\nflyer_x_b=from-file\n")
    monkeypatch.setenv("FLYER_X_B", "from-env")
    env = environment()
    assert (env["flyer_x_a"], env["FLYER_X_B"]) == ("from-file", "from-env")
    assert environment(env_file=None).get("flyer_x_a") is None
    # A given mapping is complete: no file is read into it.
    assert dict(environment({"FLYER_X_C": "1"})) == {"flyer_x_c": "1"}


def test_importing_never_reads_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('A="unclosed\n')
    code = "import flyer_status, flyer_status.settings"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr
    with pytest.raises(SettingsError):  # the same file fails once it is read
        environment(env_file=str(tmp_path / ".env"))


PORTS = [("8080", 8080), (" 1 ", 1), ("65535", 65535), ("0", None), ("65536", None)]
PORTS += [("-1", None), ("abc", None), ("80.0", None), ("", None), ("+80", 80), ("8_080", 8080)]
PORTS += [("8__080", None), ("_80", None), ("\u0663\u0663", None)]


@pytest.mark.parametrize(("raw", "expected"), PORTS)
def test_port_rule(raw: str, expected: int) -> None:
    if expected is None:
        with pytest.raises(SettingsError) as caught:
            settings.parse_port("flyer_x_port", raw)
        assert str(caught.value) == f"flyer_x_port={raw!r}: expected an integer 1-65535"
    else:
        assert settings.parse_port("flyer_x_port", raw) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: settings.parse_integer("v", "x", 0), "v='x': expected an integer >= 0"),
        (lambda: settings.parse_integer("v", "-2", -1), "v='-2': expected an integer >= -1"),
        (lambda: settings.parse_seconds("v", "0"), "v='0': expected a number of seconds > 0"),
        (lambda: settings.parse_seconds("v", "inf"), "v='inf': expected a number of seconds > 0"),
        (
            lambda: settings.parse_seconds("v", "-1", positive=False),
            "v='-1': expected a number of seconds >= 0",
        ),
        (lambda: settings.parse_number("v", "nan", 0.1), "v='nan': expected a number >= 0.1"),
        (lambda: settings.parse_boolean("v", "maybe"), f"v='maybe': expected {settings.BOOLEAN}"),
        (lambda: settings.parse_choice("v", "x", ("a", "b")), "v='x': expected one of a, b"),
    ],
)
def test_bad_values_are_one_line_naming_variable_value_and_rule(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        call()
    assert str(caught.value) == message


def test_good_values() -> None:
    assert settings.parse_seconds("v", "0", positive=False) == 0.0
    assert settings.parse_seconds("v", " 2.5 ") == 2.5
    assert settings.parse_boolean("v", " Yes ") is True
    assert settings.parse_boolean("v", "off") is False
    assert settings.parse_choice("v", " B ", ("a", "b")) == "b"
    assert settings.parse_names(" a, b,,c ") == ("a", "b", "c")
    assert settings.parse_names("a|b;c", ",|;") == ("a", "b", "c")


def test_environment_readers_default_when_unset_or_blank() -> None:
    env = Environment({"FLYER_P": " ", "flyer_q": "7", "flyer_s": "pw"})
    assert env.port("flyer_p", 6379) == 6379
    assert env.port("flyer_q", 1) == 7
    assert env.integer("flyer_none", None) is None
    assert env.secret("flyer_s") == Secret("pw")
    assert env.secret("flyer_none") is None
    assert env.names("flyer_none") == ()
    assert env.has_any(["flyer_q"])
    assert not env.has_any(["flyer_p"])


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter2@h:1/0",
        "redis://user:hunter2@h/0",
        "redis:/:hunter2@h:1/0",
        "hunter2",
        "mysql://u:hunter2@h/db",
        "redis://h/0?password=hunter2",
        "redis://h/0#x@hunter2",
    ],
)
def test_urls_never_show_their_password(url: str) -> None:
    assert "hunter2" not in settings.redact_url(url)
    with pytest.raises(SettingsError) as caught:
        settings.parse_url("flyer_x_url", url, ("postgres",))
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("flyer_x_url=")
    assert "expected a URL starting with postgres://" in str(caught.value)


def test_parse_url_accepts_an_allowed_scheme() -> None:
    assert settings.parse_url("v", " Redis://h:1/0 ", ("redis",)) == "Redis://h:1/0"
    assert settings.redact_url("redis://u:pw@h:1/0") == "redis://u:***@h:1/0"


def test_redact_url_shows_only_the_schemes_it_is_given_for_text_it_cannot_parse() -> None:
    assert settings.redact_url("abc:hunter2") == "abc:***"
    assert settings.redact_url("abc:hunter2", schemes=("redis",)) == "***"
    assert settings.redact_url("REDIS:/:hunter2@h", schemes=("redis",)) == "redis:***"
    assert settings.redact_url("abc://u:hunter2@h", schemes=("redis",)) == "abc://u:***@h"


def test_secret_is_masked_everywhere() -> None:
    secret = Secret("hunter2")
    assert secret.get_secret_value() == "hunter2"
    for text in (repr(secret), str(secret), f"{secret}", f"{secret:>10}", repr([secret])):
        assert "hunter2" not in text
    assert secret == Secret("hunter2")
    assert secret != "hunter2"
    assert not Secret("")
    assert len(secret) == 7


def test_default_text_is_what_flyer_config_shows() -> None:
    values = (5.0, 0.5, 3, True, False, ("a", "b"), (), None, Secret("pw"), "x")
    shown = [settings.default_text(value) for value in values]
    assert shown == ["5", "0.5", "3", "1", "0", "a,b", "", "", "********", "x"]

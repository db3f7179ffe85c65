"""HttpSettings from flyer_http_* variables, and the flyer-core plugin built on them."""

from __future__ import annotations

import importlib.metadata
import types
from typing import Any

import pytest

from flyer_http import AsyncClient, Client, HttpSettings, RetryPolicy
from flyer_http._plugin import HttpPlugin


def test_defaults() -> None:
    settings = HttpSettings.from_env({})
    assert settings == HttpSettings()
    assert settings.retry_policy() == RetryPolicy()
    assert settings.timeout == 5


def test_variables_are_read_case_insensitively() -> None:
    settings = HttpSettings.from_env(
        {
            "FLYER_HTTP_TIMEOUT": "2.5",
            "flyer_http_retry_attempts": "5",
            "Flyer_Http_Retry_Max_Delay": "30",
            "flyer_http_retry_multiplier": "0.5",
            "flyer_http_retry_max_wait": "4",
            "flyer_http_log_level": "DEBUG",
            "flyer_http_sensitive_headers": "X-Api-Key, X-Other",
            "flyer_http_sensitive_params": "sig",
            "unrelated": "x",
        }
    )
    assert settings.retry_policy() == RetryPolicy(
        attempts=5, max_delay=30, multiplier=0.5, max_wait=4
    )
    assert (settings.timeout, settings.log_level) == (2.5, "debug")
    assert settings.sensitive_headers == ("X-Api-Key", "X-Other")
    with Client(**settings.client_kwargs()) as client:
        assert client.timeout.read == 2.5
        assert client.retry == settings.retry_policy()


def test_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYER_HTTP_RETRY_ATTEMPTS", "7")
    assert HttpSettings.from_env().retry_attempts == 7


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("flyer_http_timeout", "0", "expected a number of seconds > 0"),
        ("flyer_http_timeout", "abc", "expected a number of seconds > 0"),
        ("flyer_http_retry_attempts", "0", "expected an integer >= 1"),
        ("flyer_http_retry_attempts", "two", "expected an integer >= 1"),
        ("flyer_http_retry_max_delay", "-1", "expected a number >= 0"),
        ("flyer_http_retry_multiplier", "inf", "expected a number >= 0"),
        ("flyer_http_log_level", "loud", "expected one of debug, info"),
    ],
)
def test_bad_values_fail_in_one_line(variable: str, value: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        HttpSettings.from_env({variable.upper(): value})
    assert str(caught.value) == f"{variable}={value!r}: {message}"


async def test_plugin_shares_one_async_client_per_app() -> None:
    app = types.SimpleNamespace(state=types.SimpleNamespace())
    core_settings = types.SimpleNamespace(
        base_url="/flyer", environ={"flyer_http_retry_attempts": "2", "flyer_http_timeout": "3"}
    )
    plugin = HttpPlugin()
    assert (plugin.name, plugin.order) == ("http", 30)
    plugin.setup(app, core_settings)
    await plugin.startup()
    client: Any = app.state.http
    assert isinstance(client, AsyncClient)
    assert client.retry.attempts == 2
    assert client.timeout.connect == 3
    await plugin.shutdown()
    assert client.is_closed
    await plugin.shutdown()  # twice is harmless
    names = [field["name"] for field in plugin.settings_fields()]
    assert names[:2] == ["flyer_http_timeout", "flyer_http_retry_attempts"]
    assert all(not field["secret"] for field in plugin.settings_fields())


def test_plugin_entry_point_is_registered() -> None:
    found = importlib.metadata.entry_points()
    group = (
        found.select(group="flyer.plugins")  # type: ignore[attr-defined]
        if hasattr(found, "select")
        else found.get("flyer.plugins", [])  # Python 3.8-3.9
    )
    (entry,) = [e for e in group if e.name == "http"]
    assert entry.load() is HttpPlugin

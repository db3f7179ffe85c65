"""A settings error never shows a secret or a URL, also on a project's own fields
(issue 15, finding 3): the variable and what is allowed, not the value."""

from __future__ import annotations

from typing import Optional

import pytest
from pydantic import AnyUrl, Field, SecretStr

from flyer_core import Settings, SettingsError, load_settings
from flyer_core._settings import hidden_fields


class ProjectSettings(Settings):
    api_key: SecretStr = Field(SecretStr("default-key-123"), min_length=12)
    maybe_key: Optional[SecretStr] = Field(None, min_length=12)
    upstream: Optional[AnyUrl] = None
    shop_name: str = Field("shop", max_length=8)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("flyer_api_key", "topsecret"),
        ("flyer_maybe_key", "topsecret"),
        ("flyer_upstream", "http://user:topsecret@host:notaport/x"),
        ("flyer_upstream", "topsecret"),
    ],
)
def test_a_project_secret_or_url_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    for key in ("flyer_api_key", "flyer_maybe_key", "flyer_upstream"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        ProjectSettings(_env_file=None)
    message = str(caught.value)
    assert "topsecret" not in message
    assert message.startswith(f"{variable}='********': ")
    assert "\n" not in message


def test_a_plain_project_field_still_shows_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("flyer_shop_name", "far-too-long")
    with pytest.raises(SettingsError, match=r"^flyer_shop_name='far-too-long': "):
        ProjectSettings()


def test_hidden_fields() -> None:
    assert hidden_fields(Settings) == {"auth_pass"}
    assert hidden_fields(ProjectSettings) == {"auth_pass", "api_key", "maybe_key", "upstream"}


def test_core_secret_is_masked() -> None:
    env = {"flyer_auth_enable": "1", "flyer_auth_user": "x:y", "flyer_auth_pass": "topsecret"}
    with pytest.raises(SettingsError) as caught:
        load_settings(None, env)
    assert "topsecret" not in str(caught.value)

"""HTTP Basic auth per RFC 7617: UTF-8 credentials work against a served app, and a user name
that Basic auth cannot carry is a one-line start-up error (issue 15, finding 2)."""

from __future__ import annotations

import base64
import unicodedata
from typing import Any

import httpx
import pytest

from flyer_core import APIRouter, SettingsError, create_app, load_settings

USER = "jürgen-管理"
PASSWORD = "pässwörd ✓ ß"


def _app(make_settings: Any, user: str = USER, password: str = PASSWORD) -> Any:
    router = APIRouter()

    @router.get("/who")
    def who() -> dict:
        return {"data": "in"}

    settings = make_settings(auth_enable=1, auth_user=user, auth_pass=password)
    app = create_app(None, settings, plugins=[])
    app.include_router(router, prefix="/flyer")
    return app


def _basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def test_non_ascii_credentials_work_with_a_real_client(serve: Any, make_settings: Any) -> None:
    with serve(_app(make_settings)) as url:
        # httpx sends the credentials UTF-8 encoded, as RFC 7617's charset="UTF-8" asks.
        ok = httpx.get(url + "/flyer/openapi.json", auth=(USER, PASSWORD))
        assert ok.status_code == 200, ok.text
        raw = f"{USER}:{PASSWORD}".encode()
        assert httpx.get(url + "/flyer/docs", headers=_basic(raw)).status_code == 200


def test_the_challenge_names_utf8(serve: Any, make_settings: Any) -> None:
    with serve(_app(make_settings)) as url:
        denied = httpx.get(url + "/flyer/openapi.json")
        assert denied.status_code == 401
        challenge = denied.headers["www-authenticate"]
        assert challenge.startswith('Basic realm="flyer"')
        assert 'charset="UTF-8"' in challenge
        assert denied.json()["code"] == 401


def test_normalisation_forms_of_the_same_text_match(serve: Any, make_settings: Any) -> None:
    with serve(_app(make_settings)) as url:
        user = unicodedata.normalize("NFD", USER)
        password = unicodedata.normalize("NFD", PASSWORD)
        assert user != USER
        assert httpx.get(url + "/flyer/openapi.json", auth=(user, password)).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        f"{USER}:{PASSWORD}".encode("utf-16"),  # another encoding of the right text
        f"{USER}:wrong".encode(),
        f"jurgen-管理:{PASSWORD}".encode(),
        f"{USER}{PASSWORD}".encode(),  # no colon
        b"\xff\xfe:\xff",  # not UTF-8
        b":",  # empty user and password
    ],
)
def test_wrong_or_malformed_credentials_are_401(serve: Any, make_settings: Any, raw: bytes) -> None:
    with serve(_app(make_settings)) as url:
        reply = httpx.get(url + "/flyer/openapi.json", headers=_basic(raw))
        assert reply.status_code == 401
        assert reply.json()["code"] == 401


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic", "Bearer abc", "Basic a b"])
def test_a_garbled_header_is_401(serve: Any, make_settings: Any, header: str) -> None:
    with serve(_app(make_settings)) as url:
        reply = httpx.get(url + "/flyer/openapi.json", headers={"Authorization": header})
        assert reply.status_code == 401
        assert reply.json()["code"] == 401


def test_a_colon_in_the_password_is_fine(serve: Any, make_settings: Any) -> None:
    with serve(_app(make_settings, user="admin", password="a:b:c")) as url:
        assert httpx.get(url + "/flyer/openapi.json", auth=("admin", "a:b:c")).status_code == 200


@pytest.mark.parametrize("user", ["ad:min", "admin\t", "ad\x00min", "\x7fadmin"])
def test_a_user_name_basic_auth_cannot_carry_is_a_start_up_error(user: str) -> None:
    env = {"flyer_auth_enable": "1", "flyer_auth_user": user, "flyer_auth_pass": "s3cret-x"}
    with pytest.raises(SettingsError) as caught:
        load_settings(None, env)
    message = str(caught.value)
    assert message.startswith(f"flyer_auth_user={user!r}: expected ")
    assert "':'" in message
    assert "\n" not in message
    assert "s3cret-x" not in message

from __future__ import annotations

import pickle
from typing import Type

import pytest

import flyer_status
from flyer_status import (
    FlyerError,
    ThirdPartyDataError,
    ThirdPartyError,
    ThirdPartyNetworkError,
    ThirdPartyRetryError,
    ThirdPartyStatusError,
    ThirdPartyTimeoutError,
    ThirdPartyUnavailableError,
    request_id_var,
)

THIRD_PARTY = [
    (ThirdPartyError, 600, 502),
    (ThirdPartyStatusError, 601, 502),
    (ThirdPartyDataError, 602, 502),
    (ThirdPartyUnavailableError, 603, 503),
    (ThirdPartyTimeoutError, 604, 504),
    (ThirdPartyNetworkError, 605, 502),
    (ThirdPartyRetryError, 606, 502),
]


def test_flyer_error_carries_its_fields_and_http_status() -> None:
    err = FlyerError(404, "no such item", detail="item 7", data={"id": 7})
    assert (err.code, err.message, err.detail, err.data, err.http_status) == (
        404,
        "no such item",
        "item 7",
        {"id": 7},
        404,
    )
    assert str(err) == "404 no such item: item 7"
    assert isinstance(err, Exception)


def test_flyer_error_message_defaults_to_the_phrase() -> None:
    assert FlyerError(409).message == "Conflict"
    assert FlyerError(4001).message == ""
    assert FlyerError(4001).http_status == 500


def test_explicit_http_status_wins_and_is_validated() -> None:
    assert FlyerError(4001, "business rule", http_status=409).http_status == 409
    with pytest.raises(ValueError, match="http_status=700"):
        FlyerError(400, http_status=700)


def test_code_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="code='404'"):
        FlyerError("404")  # type: ignore[arg-type]


@pytest.mark.parametrize(("cls", "code", "http_status"), THIRD_PARTY)
def test_third_party_errors(cls: Type[ThirdPartyError], code: int, http_status: int) -> None:
    err = cls("upstream said no", detail="GET /x")
    assert (err.code, err.http_status) == (code, http_status)
    assert (cls.code, cls.http_status) == (code, http_status)
    assert isinstance(err, ThirdPartyError)
    assert isinstance(err, FlyerError)
    assert err.to_dict(request_id="r1") == {
        "code": code,
        "message": "upstream said no",
        "detail": "GET /x",
        "data": None,
        "request_id": "r1",
    }
    assert cls().message == flyer_status.phrase(code)


@pytest.mark.parametrize(("cls", "code", "http_status"), THIRD_PARTY)
def test_errors_survive_pickling(cls: Type[ThirdPartyError], code: int, http_status: int) -> None:
    err = cls("m", "d", [1, 2])
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls
    assert (copy.code, copy.message, copy.detail, copy.data, copy.http_status) == (
        code,
        "m",
        "d",
        [1, 2],
        http_status,
    )
    base = pickle.loads(pickle.dumps(FlyerError(418, "tea", http_status=400)))
    assert (base.code, base.message, base.http_status) == (418, "tea", 400)


def test_to_dict_takes_the_current_request_id() -> None:
    token = request_id_var.set("abc123")
    try:
        assert FlyerError(400, "bad").to_dict()["request_id"] == "abc123"
    finally:
        request_id_var.reset(token)
    assert FlyerError(400, "bad").to_dict()["request_id"] == ""

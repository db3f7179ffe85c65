from __future__ import annotations

import pytest

from flyer_status import code_name, describe, http_status_for, is_known, phrase
from flyer_status._table import CODES


def test_phrases_in_english_and_chinese() -> None:
    assert phrase(404) == "Not Found"
    assert phrase(404, "zh") == "资源未找到"
    assert phrase(605) == "Third Party Network Error"
    assert phrase(605, "zh") == "请求第三方服务网络异常"
    assert phrase(1000) == "Normal Closure"
    assert phrase(1000, "zh") == "正常关闭"


def test_descriptions_are_one_line_in_both_languages() -> None:
    for info in CODES:
        for lang in ("en", "zh"):
            text = describe(info.code, lang)
            assert text, (info.code, lang)
            assert "\n" not in text
    assert describe(604) == "A call to a third-party service timed out"
    assert describe(604, "zh") == "请求第三方服务超时异常"


def test_code_names() -> None:
    assert code_name(413) == "HTTP_413_CONTENT_TOO_LARGE"
    assert code_name(1015) == "WS_1015_TLS_HANDSHAKE"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (200, 200),
        (404, 404),
        (599, 599),
        (600, 502),
        (601, 502),
        (602, 502),
        (603, 503),
        (604, 504),
        (605, 502),
        (606, 502),
        (699, 502),
        (1000, 500),
        (42, 500),
    ],
)
def test_http_status_for(code: int, expected: int) -> None:
    assert http_status_for(code) == expected


def test_unknown_code_is_a_one_line_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"^code=799: not a known status code") as info:
        phrase(799)
    assert "\n" not in str(info.value)
    assert not is_known(799)
    assert is_known(418)


def test_unknown_language_is_a_one_line_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"^lang='fr': expected one of en, zh$"):
        describe(200, "fr")

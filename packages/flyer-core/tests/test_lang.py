"""flyer_lang: the messages flyer writes in English or Chinese, per app or per request."""

from __future__ import annotations

from typing import Any, Dict

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from flyer_core import create_app
from flyer_status import EnvelopeRenderer, FlyerError, preferred_language


class Item(BaseModel):
    name: str
    price: float


def router() -> APIRouter:
    api = APIRouter()

    @api.post("/items")
    async def create_item(item: Item) -> Dict[str, Any]:
        return {"data": item.model_dump() if hasattr(item, "model_dump") else item.dict()}

    @api.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    @api.get("/custom")
    async def custom() -> None:
        raise FlyerError(409, "order already placed")

    return api


class Failing:
    """A plugin whose readiness check fails."""

    name = "probe"

    async def check(self) -> Dict[str, Any]:
        return {"ok": False}


def _app(make_settings: Any, **variables: Any) -> Any:
    app = create_app(None, make_settings(**variables), plugins=[Failing()])
    app.include_router(router(), prefix="/flyer")
    return app


def _messages(base: str, headers: Any = None) -> Dict[str, Any]:
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        replies = {
            "404": client.get("/nope"),
            "422": client.post("/flyer/items", json={"name": "x", "price": "free"}),
            "500": client.get("/flyer/boom"),
            "ready": client.get("/flyer/ready"),
            "custom": client.get("/flyer/custom"),
        }
    assert [r.status_code for r in replies.values()] == [404, 422, 500, 503, 409]
    return {key: reply.json() for key, reply in replies.items()}


ZH = {"404": "资源未找到", "422": "无法处理的实体", "500": "服务器内部错误", "ready": "服务不可用"}
EN = {"404": "Not Found", "422": "Unprocessable Content", "500": "Internal Server Error"}


def test_flyer_lang_zh_answers_in_chinese(serve: Any, make_settings: Any) -> None:
    with serve(_app(make_settings, lang="zh")) as base:
        bodies = _messages(base)
    assert {key: bodies[key]["message"] for key in ZH} == ZH
    # Validation details stay machine-readable; a message the app wrote stays its own.
    assert bodies["422"]["data"][0]["loc"] == ["body", "price"]
    assert bodies["custom"]["message"] == "order already placed"


def test_english_by_default_whatever_the_client_prefers(serve: Any, make_settings: Any) -> None:
    with serve(_app(make_settings)) as base:
        bodies = _messages(base, {"Accept-Language": "zh-CN,zh;q=0.9"})
    assert {key: bodies[key]["message"] for key in EN} == EN


def test_negotiated_per_request(serve: Any, make_settings: Any) -> None:
    with serve(_app(make_settings, lang_negotiate=1, status_code_base=10000)) as base:
        chinese = _messages(base, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
        english = _messages(base, {"Accept-Language": "en-US,en;q=0.9,zh;q=0.1"})
        default = _messages(base)
    assert {key: chinese[key]["message"] for key in ZH} == ZH
    assert {key: english[key]["message"] for key in EN} == EN
    assert {key: default[key]["message"] for key in EN} == EN
    assert chinese["404"]["code"] == english["404"]["code"] == 10404  # one offset, either way


def test_a_bad_language_is_one_line(make_settings: Any) -> None:
    with pytest.raises(ValueError, match=r"flyer_lang='fr': expected one of en, zh"):
        make_settings(lang="fr")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh;q=0.1", "en"),
        ("fr-FR,fr;q=0.9", None),
        ("zh;q=0, en;q=0.2", "en"),
        ("zh;q=oops", None),
        ("", None),
    ],
)
def test_preferred_language(header: str, expected: Any) -> None:
    assert preferred_language(header) == expected


def test_the_renderer_translates_only_its_own_phrases() -> None:
    zh = EnvelopeRenderer(7, "zh")
    assert zh.body(404)["message"] == "资源未找到"
    assert zh.body(404, "Not Found")["message"] == "资源未找到"
    assert zh.body(404, "no order 12")["message"] == "no order 12"
    assert zh.localized("en").body(404)["message"] == "Not Found"
    assert zh.localized("en").localized("zh") is zh
    assert zh.localized("en").code(404) == 411

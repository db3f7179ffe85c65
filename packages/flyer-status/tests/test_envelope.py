from __future__ import annotations

import contextvars
import json
import subprocess
import sys

import pytest

from flyer_status import EnvelopeRenderer, envelope, get_request_id, request_id_var


def test_envelope_shape_and_defaults() -> None:
    assert envelope(200, data={"itemId": 1}) == {
        "code": 200,
        "message": "OK",
        "detail": "",
        "data": {"itemId": 1},
        "request_id": "",
    }
    assert envelope(4001, "custom") == {
        "code": 4001,
        "message": "custom",
        "detail": "",
        "data": None,
        "request_id": "",
    }


def test_request_id_is_per_context() -> None:
    assert get_request_id() is None

    def inside() -> tuple:
        request_id_var.set("req-1")
        return get_request_id(), envelope(200)["request_id"]

    assert contextvars.copy_context().run(inside) == ("req-1", "req-1")
    assert get_request_id() is None
    assert envelope(200, request_id="given")["request_id"] == "given"


def test_codes_errors_and_envelope_need_no_third_party_package() -> None:
    probe = (
        "import sys, json\n"
        "from flyer_status import status, FlyerError, ThirdPartyTimeoutError, envelope, phrase\n"
        "e = ThirdPartyTimeoutError('slow')\n"
        "out = {'env': e.to_dict(), 'phrase': phrase(status.HTTP_404_NOT_FOUND),\n"
        "       'third_party': sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "                              ('pydantic', 'pydantic_core', 'typing_extensions', 'httpx'))}\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert result["third_party"] == []
    assert result["phrase"] == "Not Found"
    assert result["env"]["code"] == 604


def test_renderer_offsets_every_code_but_200_once() -> None:
    renderer = EnvelopeRenderer(1000)
    assert renderer.code(200) == 200
    assert renderer.code(404) == 1404
    body = renderer.body(404, detail="item 7", request_id="r-1")
    assert body == {
        "code": 1404,
        "message": "Not Found",  # the phrase of 404, not of 1404
        "detail": "item 7",
        "data": None,
        "request_id": "r-1",
    }
    assert renderer.body(200, data=[1])["code"] == 200
    assert json.loads(renderer.render(503, data={"ü": 1})) == {
        **renderer.body(503, data={"ü": 1}),
    }
    assert "ü".encode() in renderer.render(400, "ü")
    assert EnvelopeRenderer().body(404)["code"] == 404


def test_renderer_refuses_a_bad_base_and_nan() -> None:
    for bad in (-1, True, "10"):
        with pytest.raises(ValueError, match="code_base="):
            EnvelopeRenderer(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EnvelopeRenderer().render(200, data=float("nan"))


def test_current_renderer_is_the_requests_or_a_plain_one() -> None:
    from flyer_status import current_renderer, renderer_var

    assert current_renderer().code(404) == 404

    def inside() -> int:
        renderer_var.set(EnvelopeRenderer(1000))
        return current_renderer().code(404)

    assert contextvars.copy_context().run(inside) == 1404
    assert current_renderer().code(404) == 404

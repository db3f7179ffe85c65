from __future__ import annotations

import contextvars
from typing import List

import pytest

pydantic = pytest.importorskip("pydantic", reason="the envelope models need flyer-status[models]")

from flyer_status import request_id_var  # noqa: E402
from flyer_status.schemas import (  # noqa: E402
    BaseResponse,
    DataResponse,
    ErrorResponse,
    PageDataResponse,
    PageInfo,
    PageResponse,
)


def ref(prop: dict) -> str:
    """A property's $ref, written directly (pydantic >= 2.9) or as allOf: [{$ref}] (older)."""
    return str(prop["$ref"] if "$ref" in prop else prop["allOf"][0]["$ref"])


class Item(pydantic.BaseModel):
    itemId: int
    name: str


def test_ancestor_defaults_and_field_names() -> None:
    assert BaseResponse().model_dump() == {"code": 200, "message": "", "detail": ""}
    assert PageInfo().model_dump() == {"total": 0, "offset": 1, "size": 50}
    page = PageDataResponse(data=[1, 2])
    assert set(page.model_dump()) == {"code", "message", "detail", "data", "pageInfo", "request_id"}
    assert PageDataResponse is PageResponse


def test_data_response_validates_a_returned_dict_like_fastflyer_routes_do() -> None:
    model = DataResponse[Item].model_validate({"code": 200, "data": {"itemId": 1, "name": "a"}})
    assert model.data == Item(itemId=1, name="a")
    with pytest.raises(pydantic.ValidationError):
        DataResponse[Item].model_validate({"data": {"itemId": "x"}})


def test_request_id_fills_itself_from_the_current_request() -> None:
    def build() -> str:
        request_id_var.set("rid-42")
        return DataResponse[int](data=1).request_id

    assert contextvars.copy_context().run(build) == "rid-42"
    assert DataResponse[int](data=1).request_id == ""
    assert DataResponse[int](data=1, request_id="explicit").request_id == "explicit"


def test_generic_parameters_show_in_the_json_schema() -> None:
    schema = DataResponse[Item].model_json_schema()
    data = schema["properties"]["data"]
    refs = [branch.get("$ref") for branch in data.get("anyOf", [data])]
    assert "#/$defs/Item" in refs
    assert schema["$defs"]["Item"]["properties"]["itemId"]["type"] == "integer"
    assert "Item" in schema["title"]

    page = PageResponse[Item].model_json_schema()
    assert ref(page["properties"]["data"]["items"]) == "#/$defs/Item"
    assert ref(page["properties"]["pageInfo"]) == "#/$defs/PageInfo"


def test_list_parameter_and_error_model() -> None:
    schema = DataResponse[List[Item]].model_json_schema()
    data = schema["properties"]["data"]
    assert any(branch.get("type") == "array" for branch in data["anyOf"])
    err = ErrorResponse(code=422, message="invalid", data=[{"loc": ["query", "id"]}])
    assert err.model_dump()["code"] == 422
    assert set(ErrorResponse.model_json_schema()["properties"]) == {
        "code",
        "message",
        "detail",
        "data",
        "request_id",
    }

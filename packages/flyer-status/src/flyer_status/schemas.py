"""The response envelope as pydantic models, typed for OpenAPI (needs `flyer-status[models]`).

`DataResponse[Item]` documents `data` as an `Item`; `request_id` fills itself from the current
request. Field names are FastFlyer's, so its clients keep working.
"""

from __future__ import annotations

from typing import Generic, List, Optional, TypeVar

from pydantic import BaseModel, Field

from flyer_status._context import get_request_id

T = TypeVar("T")

__all__ = [
    "BaseResponse",
    "DataResponse",
    "ErrorResponse",
    "PageDataResponse",
    "PageInfo",
    "PageResponse",
]


def _current_request_id() -> str:
    return get_request_id() or ""


class BaseResponse(BaseModel):
    """`code`, `message` and `detail`: the part every flyer response shares."""

    code: int = Field(default=200, title="Code", description="Body code: the HTTP status, or 60x")
    message: str = Field(default="", title="Message", description="What happened, for people")
    detail: str = Field(default="", title="Detail", description="More about what happened")


class DataResponse(BaseResponse, Generic[T]):
    """A response carrying `data` and the request id: `DataResponse[Item]`."""

    data: Optional[T] = Field(default=None, title="Data")
    request_id: str = Field(
        default_factory=_current_request_id, title="Request id", description="X-Request-ID"
    )


class ErrorResponse(BaseResponse):
    """An error in the envelope: `data` may carry details such as the invalid fields."""

    code: int = Field(default=500, title="Code", description="Body code: the HTTP status, or 60x")
    data: Optional[object] = Field(default=None, title="Data")
    request_id: str = Field(
        default_factory=_current_request_id, title="Request id", description="X-Request-ID"
    )


class PageInfo(BaseModel):
    """Where a page sits in the whole: total rows, the page's offset and its size."""

    total: int = Field(default=0, ge=0, title="Total rows")
    offset: int = Field(default=1, ge=0, title="Offset of this page")
    size: int = Field(default=50, ge=0, title="Page size")


class PageResponse(BaseResponse, Generic[T]):
    """A page of rows: `data` is the list, `pageInfo` says where it sits."""

    data: List[T] = Field(default_factory=list, title="Data")
    pageInfo: PageInfo = Field(default_factory=PageInfo, title="Page")
    request_id: str = Field(
        default_factory=_current_request_id, title="Request id", description="X-Request-ID"
    )


PageDataResponse = PageResponse
"""FastFlyer's name for `PageResponse`."""

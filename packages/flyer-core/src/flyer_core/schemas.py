"""The envelope models, as FastFlyer's `fastflyer.schemas` offered them.

`from flyer_core.schemas import DataResponse` works like `from fastflyer.schemas import
DataResponse` did; the models live in `flyer_status.schemas`.
"""

from flyer_status.schemas import (
    BaseResponse,
    DataResponse,
    ErrorResponse,
    PageDataResponse,
    PageInfo,
    PageResponse,
)

__all__ = [
    "BaseResponse",
    "DataResponse",
    "ErrorResponse",
    "PageDataResponse",
    "PageInfo",
    "PageResponse",
]

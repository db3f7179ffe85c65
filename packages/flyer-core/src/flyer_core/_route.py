"""flyer's route class: FastAPI's `APIRoute`, with one schema field per documented model.

Every flyer route documents its error envelope (`responses` 422 and 500, management routes
401/403 and their own), so most routes of an app list the same model several times. For
each `responses` entry with a `model`, FastAPI builds a field (a pydantic `TypeAdapter`)
while the route is built; the field is read only to write the OpenAPI document. `FlyerRoute`
builds that field once per model and gives it to every later route documenting the model:
an app with the six `/tasks` routes built 34 fields of `ErrorResponse`, now one.

Only pydantic models share a field: the document refers to them by name (`$ref`), so one
field documents them the same in every route. Anything else (a list, a plain type) gets its
own field, as before. The routes serve exactly what `APIRoute` serves.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel

# model -> the field FastAPI built for it in the first route documenting it. Models are
# classes of the application's modules, few and alive as long as the process.
_fields: Dict[Any, Any] = {}


def _shareable(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, BaseModel)


class FlyerRoute(APIRoute):
    """`APIRoute` whose `responses` models reuse the fields earlier routes built for them."""

    def __init__(
        self,
        path: str,
        endpoint: Any,
        *,
        responses: Optional[Dict[Any, Dict[str, Any]]] = None,
        **options: Any,
    ) -> None:
        documented = responses or {}
        reused: Dict[Any, Any] = {}
        given: Dict[Any, Dict[str, Any]] = {}
        for code, response in documented.items():
            model = response.get("model") if isinstance(response, dict) else None
            field = _fields.get(model) if _shareable(model) else None
            if field is not None and is_body_allowed_for_status_code(code):
                reused[code] = field
                given[code] = {key: value for key, value in response.items() if key != "model"}
            else:
                given[code] = response  # FastAPI builds (and checks) this one
        super().__init__(path, endpoint, responses=given, **options)
        if not documented:
            return
        built = dict(self.response_fields)
        for code, response in documented.items():
            model = response.get("model") if isinstance(response, dict) else None
            if code in built and _shareable(model):
                # A model this route lists twice gets one field too (setdefault is atomic).
                built[code] = _fields.setdefault(model, built[code])
        self.responses = documented
        fields = {**built, **reused}
        self.response_fields = {code: fields[code] for code in documented if code in fields}

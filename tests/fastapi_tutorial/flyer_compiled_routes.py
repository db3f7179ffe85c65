"""pytest plugin: every FastAPI app serves its routes through flyer's compiled handlers.

`nox -s fastapi-tutorial` runs FastAPI's own tutorial tests (from the sdist of the installed
FastAPI) with `-p flyer_compiled_routes`: each app compiles its routes when it builds its
middleware stack (its first request), as a flyer app does, and every `include_router` adds
concrete routes first, so FastAPI's expectations judge the compiled answers.
"""

from __future__ import annotations

from typing import Any

import fastapi
import pytest
from fastapi import routing

from flyer_core._fastpath import compile_routes, include_router_eagerly, unsupported_reason

_build_middleware_stack = fastapi.FastAPI.build_middleware_stack
_include_router = routing.APIRouter.include_router
COMPILED = {"routes": 0, "apps": 0}


def build_middleware_stack(self: fastapi.FastAPI) -> Any:
    COMPILED["routes"] += compile_routes(self.router.routes)
    COMPILED["apps"] += 1
    return _build_middleware_stack(self)


def include_router(self: routing.APIRouter, router: Any, **kwargs: Any) -> None:
    if include_router_eagerly(self, router, **kwargs):
        return
    _include_router(self, router, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    reason = unsupported_reason()
    if reason is not None:
        raise pytest.UsageError(f"flyer's compiled routes are off with this FastAPI: {reason}")
    fastapi.FastAPI.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]
    routing.APIRouter.include_router = include_router  # type: ignore[method-assign]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"flyer: {COMPILED['routes']} routes compiled in {COMPILED['apps']} app builds"
    )

"""`{base}/metrics`: the Prometheus text format, behind the app's auth when auth is on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from flyer_telemetry._metrics import Metrics


def mount_metrics(app: Any, metrics: Metrics, path: str) -> None:
    """Add `GET path` to `app`, protected by flyer's Basic auth when the app has it on, and
    keep it out of the access log."""
    auth = getattr(app.state, "flyer_auth", None)

    def metrics_endpoint() -> Response:
        # A plain function: FastAPI runs it in its thread pool, so reading every worker's
        # files never holds the event loop.
        from prometheus_client import CONTENT_TYPE_LATEST

        metrics.update_process()
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    router = APIRouter()
    router.add_api_route(
        path,
        metrics_endpoint,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[Depends(auth)] if auth is not None else None,
    )
    # Straight into the route table: flyer guards the management routes plugins add (refused
    # with auth off); metrics follow the app's auth instead, open when it is off.
    app.router.routes.extend(router.routes)
    options = getattr(app, "flyer_request_options", None)
    if isinstance(options, dict):
        excluded = frozenset(options.get("exclude", frozenset())) | {path}
        app.flyer_request_options = {**options, "exclude": excluded}

"""schemathesis drives the route corpus of flyer-core's compiled-route test: every generated
request (schema-valid and not) goes to the corpus app built twice, compiled routes on and off,
and the two answers must be the same bytes (status, headers, body; `X-Process-Time` aside).

FLYER_FUZZ_EXAMPLES sets the examples per operation (300; 100 under CI=true).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() == "true"
EXAMPLES = int(os.environ.get("FLYER_FUZZ_EXAMPLES") or (100 if CI else 300))


def _corpus() -> Any:
    """flyer-core's route corpus (packages/flyer-core/tests/test_fastpath.py)."""
    path = ROOT / "packages" / "flyer-core" / "tests" / "test_fastpath.py"
    spec = importlib.util.spec_from_file_location("flyer_core_route_corpus", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its annotations are resolved through its module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def clients() -> Iterator[Tuple[TestClient, TestClient]]:
    from flyer_core import create_app, load_settings

    corpus = _corpus()
    apps = []
    for fast in ("1", "0"):
        environ = {"flyer_fast_routes": fast, "flyer_access_log": "0", "flyer_log_format": "json"}
        app = create_app(None, load_settings(None, environ), plugins=[])
        for router in corpus._routers():
            app.include_router(router, prefix="/flyer")
        apps.append(app)
    with TestClient(apps[0], raise_server_exceptions=False) as fast, TestClient(
        apps[1], raise_server_exceptions=False
    ) as slow:
        yield fast, slow


def test_compiled_routes_answer_schemathesis_as_fastapi_does(
    clients: Tuple[TestClient, TestClient],
) -> None:
    # schemathesis' strategies driven by hypothesis directly, operation by operation (its
    # pytest integration reads pytest internals).
    schema = schemathesis.openapi.from_asgi("/flyer/openapi.json", clients[0].app)
    operations = [result.ok() for result in schema.get_all_operations()]
    corpus = [
        op
        for op in operations
        if op.path.startswith("/flyer/") and op.path.split("/")[2] not in _OWN
    ]
    assert len(corpus) >= 15, [op.path for op in operations]
    sent = 0

    for operation in corpus:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same cases every run: CI is reproducible
        )
        def same_answer(case: Any) -> None:
            nonlocal sent
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "x-request-id": "fuzz"}
            kwargs = {k: v for k, v in kwargs.items() if k in _TRANSPORT}
            cookies = kwargs.pop("cookies", None) or {}
            if cookies:  # per-request cookies are deprecated in httpx: a header instead
                kwargs["headers"]["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            # A header value outside ASCII goes as its UTF-8 bytes, as a raw client sends it
            # (the client refuses a str it cannot encode as ASCII).
            kwargs["headers"] = {
                k: v.encode("utf-8") if isinstance(v, str) else v
                for k, v in kwargs["headers"].items()
            }
            answers = []
            for client in clients:
                response = client.request(follow_redirects=False, **kwargs)
                kept = sorted((k, v) for k, v in response.headers.items() if k != "x-process-time")
                answers.append((response.status_code, kept, response.content))
            sent += 1
            assert answers[0] == answers[1], (case.method, case.formatted_path, kwargs)

        same_answer()
    assert sent >= len(corpus) * min(EXAMPLES, 10)


# flyer's own routes under the prefix (docs, readiness, ...), not the corpus.
_OWN = {"ready", "openapi.json", "docs", "redoc", "static"}
_TRANSPORT = {"method", "url", "headers", "params", "cookies", "json", "content", "data", "files"}

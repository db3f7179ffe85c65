"""A generated project answers the same with compiled routes as with FastAPI's handlers.

`flyer create` makes a project; the same sequence of requests — every operation of its
OpenAPI document, each with well-formed and malformed path values, query values and bodies —
is sent to its app in two fresh processes, `flyer_fast_routes=1` and `=0`, and every answer
(status, headers, body bytes; `X-Process-Time` aside, and the process id the heartbeat route
reports) must be the same. The OpenAPI documents
must be equal, and the compiled process must have compiled most of the project's routes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

pytestmark = pytest.mark.slow

DRIVER = r'''
import json, re, sys
from fastapi.testclient import TestClient

from main import app

def sample(schema, spec, depth=0):
    """A value of `schema` (the first choice of every union), for a well-formed body."""
    if depth > 6:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return sample(spec["components"]["schemas"][name], spec, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return sample(schema[key][0], spec, depth + 1)
    if "example" in schema:
        return schema["example"]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: sample(v, spec, depth + 1) for k, v in props.items()}
    if kind == "array":
        return [sample(schema.get("items", {}), spec, depth + 1)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if "enum" in schema:
        return schema["enum"][0]
    return "x" * max(int(schema.get("minLength", 1)), 1)

answers = []
with TestClient(app, raise_server_exceptions=False) as client:
    spec = app.openapi()
    answers.append(["openapi", json.dumps(spec, sort_keys=True)])
    number = 0
    for path, item in sorted(spec["paths"].items()):
        for method, operation in sorted(item.items()):
            params = operation.get("parameters", [])
            for variant in ("good", "bad"):
                url = path
                for p in params:
                    if p["in"] == "path":
                        value = sample(p.get("schema", {}), spec) if variant == "good" else "%20x"
                        url = url.replace("{" + p["name"] + "}", str(value))
                query = {
                    p["name"]: (sample(p.get("schema", {}), spec) if variant == "good" else "x y")
                    for p in params
                    if p["in"] == "query"
                }
                bodies = [None]
                content = (operation.get("requestBody") or {}).get("content", {})
                if "application/json" in content:
                    schema = content["application/json"].get("schema", {})
                    bodies = [json.dumps(sample(schema, spec)).encode(), b"{}", b"{", b"[]"]
                for body in bodies:
                    number += 1
                    headers = {"x-request-id": f"d-{number}"}
                    if body is not None:
                        headers["content-type"] = "application/json"
                    response = client.request(
                        method.upper(), url, params=query, content=body, headers=headers,
                        follow_redirects=False,
                    )
                    text = response.content.decode("utf-8", "replace")
                    # The heartbeat route reports its process id: the two processes differ.
                    text, pids = re.subn(r'"pid":\d+', '"pid":0', text)
                    drop = {"x-process-time"} | ({"content-length"} if pids else set())
                    kept = sorted((k, v) for k, v in response.headers.items() if k not in drop)
                    answers.append(
                        [method.upper(), url, query, body.decode() if body else None,
                         response.status_code, kept, text]
                    )
compiled = sum(
    1 for route in app.router.routes
    if getattr(getattr(route, "app", None), "__name__", "") == "compiled"
)
api_routes = sum(1 for route in app.router.routes if type(route).__name__ == "APIRoute")
print(json.dumps({"answers": answers, "compiled": compiled, "api_routes": api_routes}))
'''


def _answers(root: Path, env: Dict[str, str]) -> Dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_generated_project_answers_the_same_compiled_or_not(
    tmp_path: Path,
    run_flyer: Callable[..., subprocess.CompletedProcess[str]],
    flyer_env: Callable[..., Dict[str, str]],
) -> None:
    from flyer_core._fastpath import unsupported_reason

    root = tmp_path / "demo"
    created = run_flyer("create", "demo", "--dir", str(root), "--no-lock", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    common = {
        "flyer_access_log": "0",
        "flyer_sched_lock_dir": str(tmp_path / "locks"),
    }
    fast = _answers(root, flyer_env(flyer_fast_routes="1", **common))
    slow = _answers(root, flyer_env(flyer_fast_routes="0", **common))
    assert len(fast["answers"]) == len(slow["answers"]) > 20
    differing: List[Any] = [
        (one[:4], one[4:], other[4:])
        for one, other in zip(fast["answers"], slow["answers"])
        if one != other
    ]
    assert differing == []
    statuses = {answer[4] for answer in fast["answers"][1:]}
    assert {200, 422} <= statuses
    assert slow["compiled"] == 0
    if unsupported_reason() is None:
        # Every business route of the template is of an ordinary shape.
        assert fast["compiled"] >= 8, fast["compiled"]

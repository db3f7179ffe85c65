"""schemathesis against a generated project's openapi.json, served by `flyer serve -w 2`.

Every operation of the project `flyer create` makes (its demo apps and flyer's built-in routes)
is fuzzed with schema-valid and schema-invalid requests, in all four schemathesis phases
(examples, coverage, fuzzing and stateful sequences built from the responses). Enforced:

- no 5xx (`not_a_server_error`) and no response slower than 1 s (`--max-response-time`);
- every response carries `X-Request-ID`, and every error response is flyer's envelope
  `{code, message, detail, data, request_id}` with that request id, code = HTTP status (60x
  codes travel as 502/503/504) and no traceback or server path (the `flyer_envelope` check);
- responses match their documented schemas and content types, documented headers are sent,
  and schema-invalid input is refused.

Not enforced (`--checks all` reports them; see bench/README.md): that every status an operation
can answer is documented, that `Allow` on a 405 lists every method of the path, and the stateful
resource checks, which the demo's per-worker in-memory stores cannot meet under two workers.

FLYER_FUZZ_EXAMPLES sets the examples per operation and phase (300; 100 under CI=true).
The run's JSON report is copied to bench/out/fuzz-report.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
PREFIX = "/demo"
CI = os.environ.get("CI", "").lower() == "true"
EXAMPLES = int(os.environ.get("FLYER_FUZZ_EXAMPLES") or (100 if CI else 300))
ENFORCED = [
    "not_a_server_error",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "missing_required_header",
    "flyer_envelope",
]

HOOKS = '''
"""flyer's own schemathesis check: the envelope and the request id."""

import json

import schemathesis

FIELDS = {"code", "message", "detail", "data", "request_id"}
LEAKS = ("Traceback", 'File "', "site-packages", "/tmp/", "/home/", "/root/")
SENT = []  # what every request of the run sent, as JSON text


@schemathesis.check
def flyer_envelope(ctx, response, case):
    """Every response has X-Request-ID; every error is the envelope with that request id."""
    request_id = (response.headers.get("x-request-id") or [""])[0]
    if not request_id:
        raise AssertionError("the response has no X-Request-ID header")
    text = response.content.decode("utf-8", "replace")
    # What clients sent may come back (an echoed name "/tmp/" is no leak, nor an item stored
    # by an earlier request of the run and listed now): only text the server added counts.
    sent = json.dumps(
        [case.path_parameters, case.query, case.body, case.headers, case.cookies], default=str
    )
    SENT.append(sent)
    for leak in LEAKS:
        if leak not in text:
            continue
        echoed = any(leak in s or json.dumps(leak)[1:-1] in s for s in SENT)
        if not echoed:
            raise AssertionError(f"the response body contains {leak!r}")
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"error {response.status_code} is not JSON: {text[:200]!r}") from None
    if not isinstance(body, dict) or set(body) != FIELDS:
        raise AssertionError(f"error {response.status_code} is not the envelope: {text[:300]}")
    code = body["code"]
    sixty = isinstance(code, int) and 600 <= code <= 699 and response.status_code in (502, 503, 504)
    if code != response.status_code and not sixty:
        raise AssertionError(f"envelope code {code!r} for HTTP {response.status_code}")
    if body["request_id"] != request_id:
        raise AssertionError(
            f"envelope request_id {body['request_id']!r} != X-Request-ID {request_id!r}"
        )
    if not isinstance(body["message"], str) or not isinstance(body["detail"], str):
        raise AssertionError(f"message and detail must be strings: {text[:300]}")
    return None
'''

# The demo job's real id, so the management routes reach their logic instead of 404.
CONFIG = """
hooks = "flyer_fuzz_hooks"

[[operations]]
include-path-regex = "/tasks/\\\\{job_id\\\\}"
parameters = { "path.job_id" = "heartbeat" }
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, serve_project: Callable[..., Any]
) -> Iterator[Any]:
    """A generated project under `flyer serve -w 2`, access log on, on a free loopback port."""
    base_dir = tmp_path_factory.mktemp("fuzz")
    with serve_project(
        base_dir, workers=2, flyer_log_format="json", flyer_access_log="1"
    ) as server:
        yield server


def test_schemathesis_finds_no_server_error_and_every_error_is_the_envelope(
    served: Any,
    tmp_path: Path,
    http_get: Callable[..., Tuple[int, bytes]],
    flyer_env: Callable[..., Dict[str, str]],
) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert st is not None, "schemathesis is not installed"
    (tmp_path / "flyer_fuzz_hooks.py").write_text(HOOKS)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
    status, body = http_get(f"{served.url}{PREFIX}/openapi.json")
    assert status == 200, body[:300]
    documented = sum(
        1
        for item in json.loads(body)["paths"].values()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    )
    command = [
        st,
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{served.url}{PREFIX}/openapi.json",
        "--checks",
        ",".join(ENFORCED),
        "--max-examples",
        str(EXAMPLES),
        "--max-response-time",
        "1",
        "--request-timeout",
        "10",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--workers",
        "2",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--suppress-health-check",
        "too_slow",
    ]
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=str(tmp_path),
        env=flyer_env(PYTHONPATH=str(tmp_path), SCHEMATHESIS_HOOKS="flyer_fuzz_hooks"),
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    took = time.monotonic() - started
    output = result.stdout[-12000:] + result.stderr[-3000:]
    assert report.exists(), output
    summary = json.loads(report.read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report, OUT / "fuzz-report.json")
    print(
        f"schemathesis {summary['schemathesis_version']}: {summary['operations']['tested']} "
        f"operations, {summary['test_cases']['generated']} test cases "
        f"(max {EXAMPLES} examples per operation and phase) in {took:.0f} s"
    )

    assert summary["complete"], output
    assert summary["errors"] == [], output
    assert summary["failures"] == [], output
    assert result.returncode == 0, output
    assert summary["operations"]["errored"] == 0, output
    assert summary["operations"]["tested"] == summary["operations"]["total"] >= documented, output
    assert all(phase["status"] == "success" for phase in summary["phases"].values()), summary[
        "phases"
    ]
    # Not a vacuous run: a good share of the examples were generated and sent.
    assert summary["test_cases"]["generated"] >= documented * min(EXAMPLES, 20), summary[
        "test_cases"
    ]

    # The server took it all without an unhandled error and both workers still answer.
    records = served.records()
    unhandled = [r for r in records if r.get("event") == "unhandled error"]
    assert unhandled == [], unhandled[:3]
    errors = [r for r in records if r.get("level") in ("error", "critical")]
    assert errors == [], errors[:3]
    statuses = {r.get("status") for r in records if r.get("logger") == "flyer.access"}
    assert statuses, "no access lines: the access log was on"
    assert not {s for s in statuses if isinstance(s, int) and s >= 500}, statuses
    assert http_get(f"{served.url}/health_check")[0] == 200

"""One process's request metrics: counts and cumulative buckets as Prometheus reads them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from flyer_telemetry._metrics import Metrics


def test_counts_and_cumulative_buckets_with_bounds_inclusive() -> None:
    metrics = Metrics(CollectorRegistry())
    for seconds in (0.001, 0.002, 0.3, 99.0):
        metrics.observe("GET", "/a/{b}", 200, seconds)
    metrics.observe("POST", "/a/{b}", 500, 0.01)
    text = generate_latest(metrics.registry).decode()  # type: ignore[arg-type]
    lines = set(text.splitlines())
    route = 'method="GET",route="/a/{b}"'
    assert f'flyer_requests_total{{{route},status="200"}} 4.0' in lines
    assert 'flyer_requests_total{method="POST",route="/a/{b}",status="500"} 1.0' in lines
    assert f'flyer_request_duration_seconds_bucket{{le="0.001",{route}}} 1.0' in lines
    assert f'flyer_request_duration_seconds_bucket{{le="0.0025",{route}}} 2.0' in lines
    assert f'flyer_request_duration_seconds_bucket{{le="0.5",{route}}} 3.0' in lines
    assert f'flyer_request_duration_seconds_bucket{{le="10.0",{route}}} 3.0' in lines
    assert f'flyer_request_duration_seconds_bucket{{le="+Inf",{route}}} 4.0' in lines
    assert f"flyer_request_duration_seconds_count{{{route}}} 4.0" in lines
    (total,) = [x for x in lines if x.startswith(f"flyer_request_duration_seconds_sum{{{route}}}")]
    assert abs(float(total.rsplit(" ", 1)[1]) - 99.303) < 1e-9

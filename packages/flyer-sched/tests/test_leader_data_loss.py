"""A leader held by one of three processes while its Redis restarts without persistence.

The restarted Redis has forgotten the lease, so another process can win it at once while the
old leader still believes it leads, until its next renewal finds the lease gone. The overlap
of two leaders must stay within one renewal interval, and fencing tokens keep increasing
across the loss (a write fenced by the old leader's token is refused after the new one's).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Tuple

import pytest

pytestmark = pytest.mark.slow

TTL = 4.0  # flyer_sched_lock_ttl's default
RENEW = TTL / 4  # renewal interval
RESTARTS = 3


def _terms(rows: List[Dict[str, Any]], end: float) -> List[Tuple[int, float, float, int]]:
    """(pid, from, to, fence) of every time a process led, from its `leading` record to its
    `stepped_down` record (or its last beat)."""
    terms = []
    open_terms: Dict[int, Tuple[float, int]] = {}
    last_beat: Dict[int, float] = {}
    for row in sorted(rows, key=lambda r: r["t"]):
        pid = row["pid"]
        if row["event"] == "leading":
            open_terms[pid] = (row["t"], row["fence"])
        elif row["event"] == "beat":
            last_beat[pid] = row["t"]
        elif row["event"] == "stepped_down" and pid in open_terms:
            start, fence = open_terms.pop(pid)
            terms.append((pid, start, row["t"], fence))
    for pid, (start, fence) in open_terms.items():
        terms.append((pid, start, last_beat.get(pid, end), fence))
    return sorted(terms, key=lambda term: term[1])


def test_leaders_overlap_at_most_one_renewal_interval_after_redis_loses_its_data(
    fleets: Callable[[str], Any], private_redises: Callable[[], Any]
) -> None:
    fleet = fleets("leader-data-loss")
    server = private_redises()
    config = {"mode": "leader", "scheduler": "background", "job_id": "loss", "duration": 120}
    procs = [fleet.spawn(config, {"FLYER_REDIS_URL": server.url}) for _ in range(3)]
    fleet.wait_for(lambda rows: [r for r in rows if r["event"] == "leading"], 60)
    restarts = []
    for _ in range(RESTARTS):
        time.sleep(2.0)
        server.stop()  # SIGKILL: nothing saved, nothing to load
        server.start()
        up = time.time()
        restarts.append(up)
        fleet.wait_for(
            lambda rows, up=up: [r for r in rows if r["event"] == "leading" and r["t"] > up], 60
        )
    time.sleep(2.0)
    for proc in procs:
        proc.terminate()
    assert fleet.wait_all(30) == [0, 0, 0], fleet.logs()[-20:]

    rows = fleet.records()
    terms = _terms(rows, max(r["t"] for r in rows))
    overlaps = [
        min(a[2], b[2]) - max(a[1], b[1])
        for i, a in enumerate(terms)
        for b in terms[i + 1 :]
        if a[0] != b[0]
    ]
    worst = max([0.0, *overlaps])
    print(f"leader terms: {len(terms)}; worst overlap {worst:.3f}s (renewal interval {RENEW}s)")
    assert worst <= RENEW, f"two leaders for {worst:.2f}s: {terms}"
    fences = [fence for _, _, _, fence in terms]
    assert fences == sorted(fences)
    assert len(set(fences)) == len(fences), "a fencing token was handed out twice"
    assert len(terms) >= 1 + RESTARTS  # every restart ended a term and started one

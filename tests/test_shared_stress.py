"""8 processes x 8 threads against one shared breaker on a real Redis, calling a flaky
function: the probe limit is never exceeded fleet-wide, no outcome is lost or counted twice,
and the merged event log of all processes replays clean on the reference model."""

from __future__ import annotations

import json
import multiprocessing
import pathlib
from typing import Any

from shared_stress_worker import CONFIG, run_process

from breakerlab.model import BreakerConfig
from breakerlab.runtime import replay_log
from breakerlab.runtime.shared import SharedCircuitBreaker, merge_event_logs

PROCESSES, THREADS, CALLS = 8, 8, 25


def test_eight_processes_of_eight_threads_share_one_breaker(redis_server: Any, tmp_path: pathlib.Path) -> None:
    logs = [str(tmp_path / f"process-{i}.jsonl") for i in range(PROCESSES)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(
            run_process, [(redis_server.socket, "stress", logs[i], i, THREADS, CALLS) for i in range(PROCESSES)]
        )
    assert all(r["store_errors"] == 0 and r["pending"] == 0 for r in results), results
    seen = {kind: sum(r[kind] for r in results) for kind in ("success", "failure", "rejected")}
    assert sum(seen.values()) == PROCESSES * THREADS * CALLS

    shared = SharedCircuitBreaker(BreakerConfig(**CONFIG), redis=redis_server.client(), name="stress")
    stats = shared.stats
    # every outcome counted once: what the callers saw is exactly what the store recorded
    assert (stats.successes, stats.failures, stats.rejections) == (seen["success"], seen["failure"], seen["rejected"])
    assert stats.admitted == seen["success"] + seen["failure"] and stats.released == 0
    assert shared.store.outstanding() == 0
    assert stats.state_changes > 10  # the breaker did open, half-open and close many times

    merged = tmp_path / "merged.jsonl"
    events = merge_event_logs(logs, merged)
    assert events == stats.admitted * 2 + stats.rejections + _polls(merged)
    most_probes = 0
    for line in merged.read_text().splitlines()[1:]:
        counters = json.loads(line)["counters"]
        most_probes = max(most_probes, counters["probes_admitted"], counters["probes_inflight"])
    assert 1 <= most_probes <= CONFIG["half_open_max_calls"]  # probes happened; never more than the limit
    report = replay_log(merged)
    assert report.ok, report.mismatch
    assert report.events == events
    shared.store.delete()


def _polls(merged: pathlib.Path) -> int:
    return sum(1 for line in merged.read_text().splitlines()[1:] if json.loads(line)["event"] == "poll")

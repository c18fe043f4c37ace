"""Digests of single-instance runs, recorded before fleets existed: a one-instance fleet must
reproduce every metric and time series of the single caller exactly (``tests/test_fleet.py``).

Regenerate only for an intended change of the single caller's results:
``python tests/fleet_identity.py`` (from the repository's root) rewrites the file.
"""

from __future__ import annotations

import hashlib
import json
import pathlib

from breakerlab.model import BreakerConfig
from breakerlab.sim import RetryPolicy, Scenario, Service, Workload, simulate
from breakerlab.sim.scenario import Jitter, ServiceKind
from breakerlab.sim.traces.families import CapacityLoss, FlappingRandom, GcPauses, HardDown, HardDownHang

DIGESTS = pathlib.Path(__file__).parent / "data" / "single_instance_digests.json"

SCENARIOS = {
    "hard_down": Scenario(trace=HardDown(start_s=30.0, duration_s=60.0), breaker=BreakerConfig(reset_timeout=5.0),
                          workload=Workload(rate_rps=40.0), horizon_s=150.0),
    "hang_retries_budget": Scenario(
        trace=HardDownHang(start_s=20.0, duration_s=40.0), breaker=BreakerConfig(fail_max=3, reset_timeout=4.0),
        workload=Workload(rate_rps=30.0, workers=16, queue_limit=8, retry=RetryPolicy(
            max_retries=2, backoff_s=0.05, jitter=Jitter.FULL, budget_ratio=0.2, budget_burst=3.0)),
        horizon_s=120.0),
    "capacity_loss": Scenario(
        trace=CapacityLoss(start_s=20.0, duration_s=20.0, capacity_factor=0.3),
        breaker=BreakerConfig(fail_max=5, reset_timeout=2.0),
        workload=Workload(rate_rps=120.0, workers=256, retry=RetryPolicy(max_retries=1, backoff_s=0.02)),
        service=Service(kind=ServiceKind.CAPACITY, servers=8), horizon_s=80.0),
    "serialized_at_deadline": Scenario(
        trace=FlappingRandom(start_s=10.0, duration_s=60.0),
        breaker=BreakerConfig(fail_max=2, reset_timeout=3.0, half_open_entry="at_deadline", admit_at_deadline=False),
        workload=Workload(rate_rps=20.0, workers=8), serialize_calls=True, horizon_s=100.0),
    "gc_retry_breaker": Scenario(
        trace=GcPauses(start_s=10.0, period_s=15.0, pause_s=2.0),
        workload=Workload(rate_rps=50.0, retry=RetryPolicy(max_retries=2, breaker_threshold=0.3, breaker_window=20)),
        horizon_s=90.0),
}


def digests() -> dict[str, dict[str, str]]:
    """Per scenario (seed 11), a SHA-256 of each policy's every metric and time series."""
    found: dict[str, dict[str, str]] = {}
    for name, scenario in SCENARIOS.items():
        result = simulate(scenario, 11)
        found[name] = {}
        for policy, run in result.runs.items():
            for key, value in {**run.metrics.as_dict(), **run.series.as_dict()}.items():
                text = json.dumps(value, sort_keys=True, default=str)
                found[name][f"{policy}.{key}"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return found


if __name__ == "__main__":
    DIGESTS.write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {DIGESTS}")

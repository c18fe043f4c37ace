"""A dependency that load can damage: the capacity service crashing under overload and warming
up after a restart or an outage, and the metastable failure it makes possible."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from breakerlab.model import BreakerConfig, InvalidConfigError
from breakerlab.sim import RetryPolicy, Scenario, Service, Workload, simulate
from breakerlab.sim.scenario import Baseline, ServiceKind
from breakerlab.sim.traces.families import CapacityLoss, HardDown

#: 16 servers at a mean service time of 57 ms: about 280 calls per second when warm.
FRAGILE = Service(kind=ServiceKind.CAPACITY, servers=16, queue_limit=200, crash_after_s=2.0, restart_s=10.0,
                  warmup_s=30.0)


def outage(reset_timeout_s: float, service: Service = FRAGILE) -> Scenario:
    """A fleet of 20 instances offering 200 calls per second, retrying twice, through a 30 s
    hard outage of the service."""
    return Scenario(
        trace=HardDown(start_s=30.0, duration_s=30.0), service=service,
        breaker=BreakerConfig(fail_max=5, reset_timeout=reset_timeout_s),
        workload=Workload(rate_rps=200.0, instances=20, workers=32, retry=RetryPolicy(max_retries=2, backoff_s=0.1)),
        horizon_s=240.0,
    )


@pytest.mark.parametrize("seed", [1, 4])
def test_callers_knock_a_cold_dependency_down_again_unless_the_breakers_wait(seed: int) -> None:
    """After the outage the service comes back cold (10% of its capacity, warming over 30 s,
    slower under overload). The whole load returning at once overloads it and it crashes again
    and again: without a breaker, and with breakers that probe every second (a metastable
    failure: the trigger is over, the failure is not). Breakers that stay open for 60 s keep
    the load off while it warms: no crash after the outage, and the callers recover."""
    short = simulate(outage(1.0), seed)
    long = simulate(outage(60.0), seed)
    unprotected = short.runs["no_breaker"].metrics
    assert unprotected.service_crashes_after_fault >= 5 and unprotected.time_to_recover_s is None
    assert short.metrics.service_crashes_after_fault >= 5 and short.metrics.time_to_recover_s is None
    assert long.metrics.service_crashes_after_fault == 0 and long.metrics.time_to_recover_s is not None
    assert long.metrics.availability > short.metrics.availability + 0.3
    # Each crash after the outage followed 2 s of overload (crash_after_s); the waiting
    # breakers never overloaded the recovering service at all.
    for metrics in (unprotected, short.metrics):
        assert metrics.overloaded_after_fault_s >= 2.0 * metrics.service_crashes_after_fault - 1e-9
    assert long.metrics.overloaded_after_fault_s == 0.0
    robust = simulate(outage(1.0, Service(kind=ServiceKind.CAPACITY, servers=16, queue_limit=200)), seed)
    assert robust.runs["no_breaker"].metrics.overloaded_after_fault_s == 0.0  # 200 calls/s against 280


def test_a_crash_loses_the_work_and_the_service_fails_fast_while_it_restarts() -> None:
    """Capacity falls to a fifth for 20 s under a load it cannot serve, with no breaker to shed
    it: the queue fills, and after 2 s of overload the service crashes. Every queued and
    in-flight call gets an error at once (nothing is left unanswered), and for restart_s
    nothing succeeds."""
    scenario = Scenario(
        trace=CapacityLoss(start_s=10.0, duration_s=20.0, capacity_factor=0.2),
        service=Service(kind=ServiceKind.CAPACITY, servers=8, queue_limit=50, crash_after_s=2.0, restart_s=5.0),
        workload=Workload(rate_rps=100.0, workers=256), horizon_s=60.0, baselines=(Baseline.NO_BREAKER,),
    )
    run = simulate(scenario, 2, breaker=False).runs["no_breaker"]
    metrics = run.metrics
    assert metrics.service_crashes >= 1 and metrics.unfinished == 0
    assert metrics.succeeded + metrics.failed == metrics.offered
    down = np.flatnonzero(run.series.succeeded[10:35] == 0)
    assert len(down) >= 4  # at least the 5 s restart, in whole seconds
    robust = simulate(scenario.replace(service=dataclasses.replace(scenario.service, crash_after_s=None)), 2,
                      breaker=False).runs["no_breaker"].metrics
    assert robust.service_crashes == 0 and robust.succeeded > metrics.succeeded


def test_a_cold_service_recovers_more_slowly_and_more_slowly_still_under_load() -> None:
    """After an outage, with breakers that close while the service is still warming (5 s), a
    warm-up makes recovery slower than an instant return, and warming at a quarter of the speed
    while overloaded slower still than warming at full speed regardless."""
    def recovery(**warmup: float) -> float:
        service = Service(kind=ServiceKind.CAPACITY, servers=16, queue_limit=200, **warmup)  # type: ignore[arg-type]
        metrics = simulate(outage(5.0, service), 3).metrics
        assert metrics.time_to_recover_s is not None
        return metrics.time_to_recover_s

    instant = recovery()
    warm = recovery(warmup_s=30.0, warmup_overload_factor=1.0)
    sluggish = recovery(warmup_s=30.0, warmup_overload_factor=0.25)
    assert instant < warm < sluggish


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"crash_after_s": 0.0}, "'crash_after_s' must be a finite number > 0 or None (got 0.0)"),
        ({"restart_s": -1.0}, "'restart_s' must be a finite number >= 0 (got -1.0)"),
        ({"warmup_floor": 0.0}, "'warmup_floor' must be a finite number in (0, 1] (got 0.0)"),
        ({"warmup_overload_factor": 2.0}, "'warmup_overload_factor' must be a finite number in (0, 1] (got 2.0)"),
    ],
)
def test_fragility_options_are_validated(options: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidConfigError, match=re.escape(message)):
        Service(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [1, 4])
def test_the_oracle_is_the_reference_on_a_fragile_dependency(seed: int) -> None:
    """The oracle sends only calls that can succeed, and while the service warms up it sheds
    calls rather than queue them (queued work slows the warm-up): it never knocks the
    recovering service down, and it succeeds more often than the run without a breaker and
    than breakers closing after 1 s, 5 s or 60 s. A greedy oracle that queued whatever might
    still end in time kept the service crowded and lost to the 60 s breakers."""
    baselines = simulate(outage(60.0), seed, breaker=False).runs
    oracle = baselines["oracle"].metrics
    assert oracle.service_crashes == 0 and oracle.overloaded_after_fault_s == 0.0
    assert baselines["no_breaker"].metrics.succeeded < oracle.succeeded
    for reset_timeout_s in (1.0, 5.0, 60.0):
        breaker = simulate(outage(reset_timeout_s), seed, baselines=False).metrics
        assert breaker.succeeded < oracle.succeeded, reset_timeout_s

"""Fleets: many caller instances, each with its own pool and breaker (or one shared breaker),
sharing the load and one service."""

from __future__ import annotations

import dataclasses
import json
import pickle
import re

import numpy as np
import pytest
from fleet_identity import DIGESTS, digests

from breakerlab.model import BreakerConfig, InvalidConfigError
from breakerlab.sim import Scenario, Service, Workload, simulate
from breakerlab.sim.engine import Plan
from breakerlab.sim.scenario import ServiceKind
from breakerlab.sim.sweeps.spec import SweepSpec
from breakerlab.sim.traces.families import CapacityLoss, HardDown

OUTAGE = HardDown(start_s=30.0, duration_s=60.0)


def fleet(instances: int, **workload: object) -> Scenario:
    return Scenario(
        trace=OUTAGE,
        breaker=BreakerConfig(fail_max=5, reset_timeout=10.0),
        workload=Workload(rate_rps=200.0, instances=instances, **workload),  # type: ignore[arg-type]
        horizon_s=150.0,
    )


def test_a_one_instance_fleet_reproduces_the_single_caller_bit_for_bit() -> None:
    """Every metric and time series of the single caller, recorded before fleets existed
    (``tests/fleet_identity.py``: open-loop and capacity services, retries with a budget and a
    retry breaker, a serialising breaker, the exclusive deadline), is reproduced exactly."""
    recorded = json.loads(DIGESTS.read_text())
    now = digests()
    for scenario, keys in recorded.items():
        changed = [key for key, digest in keys.items() if now[scenario].get(key) != digest]
        assert not changed, (scenario, changed)


def test_the_balancer_spreads_requests_over_the_instances() -> None:
    """round_robin sends request i to instance i mod N; random draws each uniformly from its own
    stream (the same for every seed's policies), close to N equal shares."""
    plan = Plan.draw(fleet(7, balancer="round_robin"), 3)
    assert list(plan.instance_of) == [i % 7 for i in range(len(plan.arrivals_s))]
    plan = Plan.draw(fleet(7), 3)
    counts = np.bincount(plan.instance_of, minlength=7)
    expected = len(plan.arrivals_s) / 7
    assert counts.min() > 0.9 * expected and counts.max() < 1.1 * expected
    assert Plan.draw(fleet(7), 3).instance_of == plan.instance_of
    assert Plan.draw(fleet(1), 3).instance_of == ()
    # The balancer has its own stream: arrivals and draws are those of the single caller.
    single = Plan.draw(fleet(1), 3)
    assert single.arrivals_s == plan.arrivals_s and single.error_draws == plan.error_draws


def test_each_instance_has_its_own_breaker_so_a_fleet_probes_n_times_as_often() -> None:
    """In a hard outage each of N instance breakers trips on its own calls and sends its own
    probe every reset_timeout: N times the probes and trips of one breaker, N open at once."""
    one = simulate(fleet(1), 5).metrics
    many = simulate(fleet(10), 5).metrics
    assert one.peak_open_instances == 1 and many.peak_open_instances == 10
    assert many.trips == 10 * one.trips and many.calls_to_unhealthy_probes == 10 * one.calls_to_unhealthy_probes
    assert many.offered == one.offered and many.unfinished == 0
    # Every instance needs its own fail_max failures to trip: detection takes longer.
    assert many.requests_to_open is not None and one.requests_to_open is not None
    assert many.time_to_open_s is not None and one.time_to_open_s is not None
    assert many.time_to_open_s >= one.time_to_open_s


def test_a_shared_breaker_is_one_breaker_for_the_whole_fleet() -> None:
    """With breaker_scope="shared" the fleet's calls all count towards one breaker, whose
    verdict holds for every instance: while no pool fills, every metric equals the single
    caller's, but for the number of instances open at once (all of them)."""
    one = dataclasses.asdict(simulate(fleet(1), 5).metrics)
    shared = dataclasses.asdict(simulate(fleet(10, breaker_scope="shared"), 5).metrics)
    assert shared.pop("peak_open_instances") == 10 and one.pop("peak_open_instances") == 1
    assert shared == one


@pytest.mark.parametrize("delay_s", [0.25, 2.0])
def test_a_shared_breaker_hears_outcomes_late_by_the_propagation_delay(delay_s: float) -> None:
    """Outcomes reach the shared breaker ``shared_propagation_s`` after their calls end. Before
    the trip every admission sees closed in either run, so the outcomes are the same ones,
    each heard ``delay_s`` later: the breaker opens exactly ``delay_s`` later, and lets the
    calls of that time through to the failing service."""
    prompt = simulate(fleet(10, breaker_scope="shared"), 5).metrics
    late = simulate(fleet(10, breaker_scope="shared", shared_propagation_s=delay_s), 5).metrics
    assert prompt.time_to_open_s is not None and late.time_to_open_s is not None
    assert late.time_to_open_s == pytest.approx(prompt.time_to_open_s + delay_s, abs=1e-9)
    extra = late.calls_to_unhealthy_before_trip - prompt.calls_to_unhealthy_before_trip
    assert extra == pytest.approx(200.0 * delay_s, rel=0.5)  # about the load of delay_s
    assert late.unfinished == 0 and late.peak_open_instances == 10


def test_a_propagation_delay_needs_a_shared_breaker() -> None:
    with pytest.raises(InvalidConfigError, match="'shared_propagation_s' must be 0 unless breaker_scope is 'shared'"):
        Workload(instances=3, shared_propagation_s=1.0)
    with pytest.raises(InvalidConfigError, match="'shared_propagation_s' must be a finite number >= 0"):
        Workload(instances=3, breaker_scope="shared", shared_propagation_s=-1.0)  # type: ignore[arg-type]


def test_the_open_instances_series_counts_the_fleet_open_over_time() -> None:
    """Per bin, the time-averaged number of instances whose breaker is open: between 0 and N,
    N through the middle of the outage, 0 before it; zeros for the baselines."""
    result = simulate(fleet(10), 5)
    series = result.runs["breaker"].series
    open_ = series.open_instances
    assert len(open_) == len(series.admitted)
    assert open_.min() >= 0 and open_.max() <= 10 + 1e-9
    assert open_[:30].max() == 0 and open_[45:85].mean() > 8
    assert not result.runs["no_breaker"].series.open_instances.any()


def test_fleet_runs_are_deterministic_and_resolve_every_request() -> None:
    """The same fleet and seed give bit-identical results; with serialising breakers (a lock per
    breaker: per instance, or one for the fleet) and on the capacity service, nothing is lost."""
    scenario = fleet(8, workers=4, queue_limit=2)
    assert pickle.dumps(simulate(scenario, 2)) == pickle.dumps(simulate(scenario, 2))
    for scope in ("instance", "shared"):
        metrics = simulate(dataclasses.replace(scenario, serialize_calls=True, workload=dataclasses.replace(
            scenario.workload, breaker_scope=scope)), 2).metrics
        assert metrics.unfinished == 0 and metrics.succeeded + metrics.failed == metrics.offered
    capacity = Scenario(
        trace=CapacityLoss(start_s=20.0, duration_s=20.0, capacity_factor=0.3),
        workload=Workload(rate_rps=100.0, instances=5, workers=64),
        service=Service(kind=ServiceKind.CAPACITY, servers=8), horizon_s=60.0,
    )
    metrics = simulate(capacity, 2).metrics
    assert metrics.unfinished == 0 and metrics.peak_open_instances == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"instances": 0}, "'instances' must be an int in [1, 10000] (got 0)"),
        ({"balancer": "least_loaded"}, "'balancer' must be one of"),
        ({"breaker_scope": "global"}, "'breaker_scope' must be one of"),
    ],
)
def test_fleet_options_are_validated(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfigError, match=re.escape(message)):
        Workload(**options)  # type: ignore[arg-type]


def test_a_sweep_can_vary_the_fleet() -> None:
    """`workload.instances` and `workload.breaker_scope` are sweep options like any other."""
    spec = SweepSpec.from_mapping({
        "name": "fleet", "replications": 1, "horizon_s": 30.0,
        "grid": {"workload.instances": [1, 20], "workload.breaker_scope": ["instance", "shared"]},
        "traces": [{"family": "hard_down", "start_s": 5.0, "duration_s": 10.0}],
    })
    built = {(c.scenario.workload.instances, c.scenario.workload.breaker_scope.value) for c in spec.cells()}
    assert built == {(1, "instance"), (1, "shared"), (20, "instance"), (20, "shared")}

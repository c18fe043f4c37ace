"""The simulator against known results (closed forms and bounds), not only against itself.

Each statistical check compares a mean over independent seeds with its closed form, with a
tolerance of four standard errors estimated from the same sample (a false alarm about once in
15,000 runs); the seeds are fixed, so the checks are deterministic.
"""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import configs

from breakerlab.model import BreakerConfig
from breakerlab.sim import RetryPolicy, Scenario, Service, Workload, simulate
from breakerlab.sim.scenario import Arrivals, Baseline, ServiceKind
from breakerlab.sim.traces.families import (
    BackgroundNoise,
    Brownout,
    CapacityLoss,
    FlappingSquare,
    HardDown,
    HardDownHang,
)

#: A service that answers at once: with zero latency no call overlaps another, so the order of
#: outcomes is the order of arrivals, as the closed forms assume.
INSTANT = Service(latency_median_s=0.0, latency_sigma=0.0, error_latency_s=0.0)


def _within(sample: list[float], expected: float, label: str) -> None:
    mean = statistics.fmean(sample)
    error = statistics.stdev(sample) / math.sqrt(len(sample))
    assert abs(mean - expected) <= 4 * error + 1e-9, f"{label}: mean {mean:.4g} vs {expected:.4g} (se {error:.3g})"


@pytest.mark.parametrize("fail_max", [1, 3, 8])
def test_requests_to_open_is_fail_max_under_a_hard_fail_fast_outage(fail_max: int) -> None:
    """With a consecutive-count breaker and a service that fails every call at once, exactly
    fail_max calls reach the failing service before the breaker opens, on every seed."""
    scenario = Scenario(
        trace=HardDown(start_s=10.0, duration_s=100.0),
        breaker=BreakerConfig(fail_max=fail_max, reset_timeout=1000.0),
        workload=Workload(rate_rps=50.0),
        service=INSTANT,
        horizon_s=60.0,
        baselines=(),
    )
    for seed in range(20):
        metrics = simulate(scenario, seed).metrics
        assert metrics.requests_to_open == fail_max
        assert metrics.calls_to_unhealthy_before_trip == fail_max
        assert metrics.calls_to_unhealthy == fail_max  # reset_timeout outlasts the run: no probes
        assert metrics.trips == 1


@pytest.mark.parametrize(("fail_max", "rate_rps"), [(5, 100.0), (2, 10.0)])
def test_mean_time_to_open_is_fail_max_over_the_arrival_rate(fail_max: int, rate_rps: float) -> None:
    """Under Poisson arrivals at rate λ, the breaker opens on the fail_max-th arrival after the
    outage starts: the time to open is Gamma(fail_max, λ), with mean fail_max/λ."""
    scenario = Scenario(
        trace=HardDown(start_s=5.0, duration_s=100.0),
        breaker=BreakerConfig(fail_max=fail_max, reset_timeout=1000.0),
        workload=Workload(rate_rps=rate_rps),
        service=INSTANT,
        horizon_s=20.0,
        baselines=(),
    )
    times = []
    for seed in range(400):
        time_to_open = simulate(scenario, seed).metrics.time_to_open_s
        assert time_to_open is not None
        times.append(time_to_open)
    _within(times, fail_max / rate_rps, "time_to_open_s")
    # Its variance is fail_max/λ² (Gamma): check the spread too, loosely.
    assert statistics.variance(times) == pytest.approx(fail_max / rate_rps**2, rel=0.3)


@pytest.mark.parametrize(("p", "fail_max"), [(0.3, 2), (0.5, 3), (0.2, 1)])
def test_requests_between_false_trips_match_the_closed_form(p: float, fail_max: int) -> None:
    """With independent background errors at probability p, the mean number of calls a closed
    consecutive-count breaker admits per trip is (1 − p^F) / ((1 − p)·p^F)."""
    expected = (1 - p**fail_max) / ((1 - p) * p**fail_max)
    scenario = Scenario(
        trace=BackgroundNoise(error_rate=p),
        breaker=BreakerConfig(fail_max=fail_max, reset_timeout=0.5),
        workload=Workload(rate_rps=50.0),
        service=INSTANT,
        horizon_s=200.0,
        baselines=(),
    )
    per_trip = []
    for seed in range(30):
        metrics = simulate(scenario, seed).metrics
        assert metrics.trips_from_closed > 20
        per_trip.append(metrics.admitted_closed / metrics.trips_from_closed)
    # A ratio of sums per run: biased by O(1/trips), far below the tolerance at these counts.
    _within(per_trip, expected, "calls per false trip")


def test_background_noise_trips_count_as_false_trips() -> None:
    """Every opening under background noise only is a false trip, reported per healthy hour."""
    scenario = Scenario(
        trace=BackgroundNoise(error_rate=0.3),
        breaker=BreakerConfig(fail_max=3, reset_timeout=1.0),
        service=INSTANT,
        horizon_s=360.0,
        baselines=(),
    )
    metrics = simulate(scenario, 1).metrics
    assert metrics.trips > 0
    assert metrics.false_trips == metrics.trips
    assert metrics.false_trips_per_hour == pytest.approx(metrics.false_trips * 10.0)


_TRACES = st.one_of(
    st.builds(HardDown, start_s=st.just(20.0), duration_s=st.sampled_from([5.0, 40.0])),
    st.builds(Brownout, start_s=st.just(20.0), duration_s=st.just(60.0), error_rate=st.sampled_from([0.2, 0.6])),
    st.builds(FlappingSquare, start_s=st.just(10.0), duration_s=st.just(80.0), down_s=st.just(3.0), up_s=st.just(4.0)),
    st.builds(HardDownHang, start_s=st.just(20.0), duration_s=st.just(30.0)),
)


@settings(max_examples=25, deadline=None)
@given(breaker=configs(), trace=_TRACES, retries=st.integers(0, 2), seed=st.integers(0, 2**32))
def test_the_oracle_bounds_every_breakers_goodput(breaker: BreakerConfig, trace: object, retries: int, seed: int) -> None:
    """On an open-loop service with a pool that never fills, no breaker succeeds more often than
    the oracle, which sends exactly the attempts that would succeed; and the run without a
    breaker rejects nothing. With retries too: an attempt the oracle withholds fails for its
    caller when it would have, so its retry comes as the run without a breaker's does."""
    scenario = Scenario(
        trace=trace,  # type: ignore[arg-type]
        breaker=breaker,
        workload=Workload(rate_rps=40.0, workers=1000, call_timeout_s=0.5,
                          retry=RetryPolicy(max_retries=retries, backoff_s=0.05)),
        horizon_s=120.0,
    )
    result = simulate(scenario, seed)
    oracle = result.runs[Baseline.ORACLE].metrics
    none = result.runs[Baseline.NO_BREAKER].metrics
    assert result.metrics.succeeded <= oracle.succeeded
    assert none.succeeded == oracle.succeeded  # the oracle only withholds doomed attempts
    assert oracle.false_rejections == 0 and oracle.calls_to_unhealthy_before_trip <= none.calls_to_unhealthy
    assert none.rejected == 0 and none.false_rejections == 0 and none.trips == 0
    for metrics in (result.metrics, oracle, none):
        assert metrics.unfinished == 0
        assert metrics.succeeded + metrics.failed == metrics.offered


@settings(max_examples=20, deadline=None)
@given(
    breaker=configs(),
    servers=st.integers(2, 8),
    factor=st.sampled_from([0.2, 0.5, 0.8]),
    sigma=st.sampled_from([0.0, 0.5, 1.0]),
    load=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
    retries=st.integers(0, 2),
    seed=st.integers(0, 2**32),
)
def test_on_the_capacity_service_no_policy_and_no_counterfactual_beats_the_servers(
    breaker: BreakerConfig, servers: int, factor: float, sigma: float, load: float, retries: int, seed: int
) -> None:
    """The capacity service's servers complete about ``servers * capacity_factor / mean
    latency`` calls per second, whoever sends them. No policy succeeds more often than that:
    not the breaker, not the run without one, and not the oracle, which knows the service's
    condition and backlog but not each call's size (choosing calls by their size would beat
    the servers' capacity, and then it would be no bound). Nor do the false rejections, the
    rejected calls a free server could really have served, exceed it. Offered load from half
    to four times the capacity; the slack covers sampling (service times vary, log-normal)."""
    service = Service(kind=ServiceKind.CAPACITY, servers=servers, latency_sigma=sigma)
    capacity_rps = servers * factor / service.mean_latency_s
    horizon_s, timeout_s = 30.0, 1.0
    scenario = Scenario(
        trace=CapacityLoss(start_s=0.0, duration_s=horizon_s, capacity_factor=factor),
        breaker=breaker, service=service, horizon_s=horizon_s,
        workload=Workload(rate_rps=load * capacity_rps, workers=100_000, call_timeout_s=timeout_s,
                          retry=RetryPolicy(max_retries=retries, backoff_s=0.05)),
    )
    result = simulate(scenario, seed)
    bound = 1.3 * capacity_rps * (horizon_s + timeout_s) + servers
    for name, run in result.runs.items():
        assert run.metrics.succeeded <= bound, (name, run.metrics.succeeded, bound)
        assert run.metrics.false_rejections <= bound, (name, run.metrics.false_rejections, bound)
        assert run.metrics.unfinished == 0


def test_a_breaker_rejects_doomed_calls_the_no_breaker_run_sends() -> None:
    """During a long hard outage the breaker withholds most calls from the dead service, which
    the run without a breaker sends every one of."""
    scenario = Scenario(trace=HardDown(start_s=30.0, duration_s=120.0), breaker=BreakerConfig(reset_timeout=10.0), horizon_s=300.0)
    result = simulate(scenario, 3)
    none = result.runs[Baseline.NO_BREAKER].metrics
    assert none.calls_to_unhealthy > 10_000
    assert result.metrics.calls_to_unhealthy < none.calls_to_unhealthy / 100
    assert result.metrics.rejected > 10_000


def test_constant_arrivals_are_evenly_spaced_at_the_rate() -> None:
    """`constant` arrivals at 10 rps over 60 s are exactly 600 requests."""
    scenario = Scenario(
        trace=HardDown(start_s=100.0, duration_s=1.0),
        workload=Workload(rate_rps=10.0, arrivals=Arrivals.CONSTANT),
        horizon_s=60.0,
        baselines=(),
    )
    assert simulate(scenario, 0).metrics.offered == 600


def test_poisson_arrival_count_matches_the_rate() -> None:
    """The mean number of Poisson arrivals over the horizon is rate × horizon."""
    scenario = Scenario(trace=HardDown(start_s=100.0, duration_s=1.0), workload=Workload(rate_rps=20.0), horizon_s=50.0, baselines=())
    counts = [float(simulate(scenario, seed).metrics.offered) for seed in range(60)]
    _within(counts, 1000.0, "arrivals")

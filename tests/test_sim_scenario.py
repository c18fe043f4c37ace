"""Scenario validation: every bad value is refused at construction, naming field, rule and value."""

from __future__ import annotations

import math

import pytest

from breakerlab.model import InvalidConfigError
from breakerlab.sim import RetryPolicy, Scenario, Service, Workload, simulate
from breakerlab.sim.traces.families import HardDown

TRACE = HardDown()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Workload(rate_rps=0), "'rate_rps' must be a finite number > 0 (got 0)"),
        (lambda: Workload(rate_rps=math.inf), "'rate_rps' must be a finite number > 0 (got inf)"),
        (lambda: Workload(rate_rps="fast"), "'rate_rps' must be a number > 0 (got 'fast')"),
        (lambda: Workload(workers=0), "'workers' must be an int >= 1 (got 0)"),
        (lambda: Workload(workers=2.5), "'workers' must be an int >= 1 (got 2.5)"),
        (lambda: Workload(queue_limit=-1), "'queue_limit' must be an int >= 0 (got -1)"),
        (lambda: Workload(call_timeout_s=0), "'call_timeout_s' must be a finite number > 0 (got 0)"),
        (lambda: Workload(arrivals="bursty"), "'arrivals' must be one of 'poisson', 'constant' (got 'bursty')"),
        (lambda: Workload(rate_schedule=((10, 5), (5, 5))), "'rate_schedule' must be a finite number > 10"),
        (lambda: Workload(rate_schedule=((10,),)), "'rate_schedule' must be pairs (time_s, rate_rps)"),
        (lambda: RetryPolicy(max_retries=-1), "'max_retries' must be an int in [0, 100] (got -1)"),
        (lambda: RetryPolicy(backoff_multiplier=0.5), "'backoff_multiplier' must be a finite number >= 1 (got 0.5)"),
        (lambda: RetryPolicy(backoff_s=5, backoff_cap_s=1), "'backoff_cap_s' must be a finite number >= backoff_s"),
        (lambda: RetryPolicy(jitter="some"), "'jitter' must be one of 'none', 'full', 'equal' (got 'some')"),
        (lambda: RetryPolicy(budget_ratio=2), "'budget_ratio' must be a finite number in [0, 1] or None (got 2)"),
        (lambda: Service(kind="magic"), "'kind' must be one of 'open_loop', 'capacity' (got 'magic')"),
        (lambda: Service(latency_median_s=-1), "'latency_median_s' must be a finite number >= 0 (got -1)"),
        (lambda: Service(latency_sigma=9), "'latency_sigma' must be a finite number in [0, 5] (got 9)"),
        (lambda: Service(servers=0), "'servers' must be an int >= 1 (got 0)"),
        (lambda: Scenario(trace="hard_down"), "'trace' must be a trace family or a Trace"),
        (lambda: Scenario(trace=TRACE, breaker={"fail_max": 3}), "'breaker' must be a BreakerConfig"),
        (lambda: Scenario(trace=TRACE, horizon_s=-5), "'horizon_s' must be a finite number > 0 (got -5)"),
        (lambda: Scenario(trace=TRACE, horizon_s=1e7, bin_s=1), "'bin_s' must be >= horizon_s / 1,000,000 (got 1)"),
        (lambda: Scenario(trace=TRACE, baselines=("magic",)), "'baselines' must be one of 'no_breaker', 'oracle'"),
        (lambda: Scenario(trace=TRACE, baselines=("oracle", "oracle")), "'baselines' must be without repeats"),
        (lambda: simulate(Scenario(trace=TRACE), seed=-1), "'seed' must be an int in [0, 2**63) (got -1)"),
        (lambda: simulate(Scenario(trace=TRACE), seed=1.5), "'seed' must be an int in [0, 2**63) (got 1.5)"),
    ],
)
def test_bad_values_name_the_field_the_rule_and_the_value(build: object, message: str) -> None:
    """Each invalid value raises InvalidConfigError whose message names the field, rule and value."""
    with pytest.raises(InvalidConfigError) as caught:
        build()  # type: ignore[operator]
    assert message in str(caught.value)


def test_enum_fields_accept_their_string_values() -> None:
    """String values of enum fields are converted (as from a sweep file or a command line)."""
    workload = Workload(arrivals="constant", retry=RetryPolicy(jitter="equal"))
    assert workload.arrivals.value == "constant" and workload.retry.jitter.value == "equal"
    assert Scenario(trace=TRACE, baselines=("oracle",)).baselines[0].value == "oracle"


def test_retry_delays_follow_the_backoff_and_jitter() -> None:
    """Retry k waits backoff·multiplier^k, capped, scaled by the jitter variant."""
    none = RetryPolicy(backoff_s=0.1, backoff_multiplier=2, backoff_cap_s=0.3, jitter="none")
    assert [none.delay_s(k, 0.5) for k in range(3)] == [0.1, 0.2, 0.3]
    assert RetryPolicy(backoff_s=0.1, jitter="full").delay_s(0, 0.5) == pytest.approx(0.05)
    assert RetryPolicy(backoff_s=0.1, jitter="equal").delay_s(0, 0.5) == pytest.approx(0.075)


def test_scenarios_are_frozen_values() -> None:
    """A scenario cannot be changed in place; replace() makes a validated copy."""
    scenario = Scenario(trace=TRACE)
    with pytest.raises(AttributeError):
        scenario.horizon_s = 5  # type: ignore[misc]
    assert scenario.replace(horizon_s=5).horizon_s == 5
    with pytest.raises(InvalidConfigError):
        scenario.replace(horizon_s=0)

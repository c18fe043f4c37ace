"""``Breaker.next_deadline``: when the next time-driven transition is due, from the table."""

from __future__ import annotations

import math

import pytest

from breakerlab.model import Breaker, BreakerConfig, ManualClock, State
from breakerlab.sim import Scenario, Workload, simulate
from breakerlab.sim.traces.families import HardDown


def _opened(**options: object) -> tuple[Breaker, ManualClock]:
    clock = ManualClock(17.01)
    breaker = Breaker(BreakerConfig(fail_max=1, reset_timeout=10.0, **options), clock=clock)  # type: ignore[arg-type]
    breaker.fail(breaker.admit())
    assert breaker.state is State.OPEN
    return breaker, clock


@pytest.mark.parametrize("inclusive", [True, False])
def test_at_deadline_enters_half_open_at_the_first_instant_the_guard_allows(inclusive: bool) -> None:
    """With at_deadline entry, next_deadline() is open_until (inclusive boundary) or the first
    float after it (exclusive), and poll() there enters half-open, one ulp earlier it does not."""
    breaker, _ = _opened(half_open_entry="at_deadline", admit_at_deadline=inclusive)
    open_until = 17.01 + 10.0
    due = breaker.next_deadline()
    assert due == (open_until if inclusive else math.nextafter(open_until, math.inf))
    assert breaker.poll(math.nextafter(due, -math.inf)) is None
    assert breaker.state is State.OPEN
    change = breaker.poll(due)
    assert change is not None and change.dest is State.HALF_OPEN and breaker.state is State.HALF_OPEN


def test_lazy_entry_has_no_time_driven_transition_while_open() -> None:
    """Lazy half-open entry: nothing happens without a call, so there is no deadline."""
    breaker, _ = _opened()
    assert breaker.next_deadline() is None


def test_half_open_maximum_wait_is_a_deadline() -> None:
    """In half-open, next_deadline() is half_open_since + half_open_max_wait."""
    breaker, clock = _opened(half_open_max_wait=3.0)
    clock.advance(10.0)
    breaker.admit()  # the probe: half-open since now
    assert breaker.state is State.HALF_OPEN
    assert breaker.next_deadline() == clock() + 3.0
    assert breaker.poll(clock() + 3.0) is not None and breaker.state is State.OPEN


@pytest.mark.parametrize("inclusive", [True, False])
def test_simulator_enters_half_open_just_after_the_deadline_with_either_boundary(inclusive: bool) -> None:
    """The simulator polls at next_deadline(): half-open is entered reset_timeout after the trip
    (not at the next arrival), with the inclusive and the exclusive boundary alike."""
    scenario = Scenario(
        trace=HardDown(start_s=10.0, duration_s=200.0),
        workload=Workload(rate_rps=0.3),
        breaker=BreakerConfig(fail_max=1, reset_timeout=10.0, half_open_entry="at_deadline", admit_at_deadline=inclusive),
        horizon_s=120.0,
    )
    changes = simulate(scenario, seed=3).runs["breaker"].series.state_changes
    opened = next(t for t, state in changes if state == "open")
    entered = next(t for t, state in changes if state == "half_open" and t > opened)
    expected = opened + 10.0
    assert entered == (expected if inclusive else math.nextafter(expected, math.inf))

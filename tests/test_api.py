"""Tests of the public API of ``breakerlab.model``, written against ``model/SEMANTICS.md``.

Every test drives a ``Breaker`` on a ``ManualClock`` (or a hand-set clock), so no test sleeps.
"""

from __future__ import annotations
import __future__

import asyncio
import math
import pickle
import types
from collections.abc import Callable
from typing import Any

import pytest

import breakerlab.model
from breakerlab.model import (
    Breaker,
    BreakerConfig,
    BreakerError,
    BreakerListener,
    BreakerStats,
    CircuitOpenError,
    ManualClock,
    Outcome,
    Permit,
    PermitError,
    Rejection,
    State,
    StateChange,
)
from breakerlab.model.table import TRIGGERS


class Recorder:
    """A listener that keeps every state change and rejection it is told about."""

    def __init__(self) -> None:
        self.changes: list[StateChange] = []
        self.rejections: list[Rejection] = []

    def state_change(self, change: StateChange) -> None:
        self.changes.append(change)

    def rejection(self, rejection: Rejection) -> None:
        self.rejections.append(rejection)

    def steps(self) -> list[tuple[float, State, State, str, int]]:
        """The state changes as (time, source, dest, cause, generation) tuples."""
        return [(c.time, c.source, c.dest, c.cause, c.generation) for c in self.changes]


class SetClock:
    """A clock set by hand to any value, including one earlier than before."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


class HTTPError(Exception):
    """An error carrying an HTTP status code."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def make(**options: Any) -> tuple[Breaker, ManualClock]:
    """A breaker with ``options`` on a fresh ManualClock at 0.0."""
    clock = ManualClock()
    return Breaker(BreakerConfig(**options), clock=clock), clock


def fail(breaker: Breaker, times: int = 1) -> None:
    """Record ``times`` admitted calls as counted failures."""
    for _ in range(times):
        breaker.record_failure(breaker.acquire())


def in_state(setup: str) -> tuple[Breaker, ManualClock]:
    """A breaker (fail_max=1, reset_timeout=5) driven into state ``setup``."""
    breaker, clock = make(fail_max=1, reset_timeout=5)
    if setup in ("open", "half_open"):
        fail(breaker)
    if setup == "half_open":
        clock.advance(5.0)
        breaker.acquire()
    if setup == "forced_open":
        breaker.force_open()
    if setup == "disabled":
        breaker.disable()
    assert breaker.state.value == setup
    return breaker, clock



def raiser(error: BaseException) -> Any:
    """A function that raises ``error`` when called."""

    def fn() -> Any:
        raise error

    return fn


def tripped(**options: Any) -> tuple[Breaker, ManualClock]:
    """A breaker opened at t=0 by ``fail_max`` failures."""
    breaker, clock = make(**options)
    fail(breaker, breaker.config.fail_max)
    assert breaker.state is State.OPEN
    return breaker, clock


# -- the public surface ----------------------------------------------------------------------


def test_documented_imports_work() -> None:
    """The names of the article's example import from breakerlab.model."""
    from breakerlab.model import Breaker, BreakerConfig, CircuitOpenError, ManualClock, State  # noqa: F401,F811


def test_all_equals_the_public_names_and_every_name_resolves() -> None:
    """breakerlab.model.__all__ lists exactly its public non-module names, once each, and each resolves."""
    module = breakerlab.model
    exported = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and not isinstance(value, __future__._Feature)
    }
    assert len(module.__all__) == len(set(module.__all__))
    assert set(module.__all__) == exported
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_error_hierarchy() -> None:
    """Every breaker error derives from BreakerError; config and permit errors are also ValueErrors."""
    assert issubclass(CircuitOpenError, BreakerError)
    assert issubclass(PermitError, BreakerError) and issubclass(PermitError, ValueError)
    assert issubclass(BreakerError, Exception)


def test_manual_clock_starts_at_zero() -> None:
    """A new ManualClock reads 0.0."""
    clock = ManualClock()
    assert clock() == 0.0
    assert isinstance(clock(), float)


def test_manual_clock_advance_returns_the_new_time() -> None:
    """advance(dt) moves the clock forward by dt and returns the new time."""
    clock = ManualClock(10.0)
    assert clock.advance(1.5) == 11.5
    assert clock.advance(0) == 11.5
    assert clock() == 11.5


@pytest.mark.parametrize("dt", [-1.0, -1e-9, float("nan")])
def test_manual_clock_rejects_negative_or_nan_dt(dt: float) -> None:
    """advance() rejects a negative or NaN dt with a ValueError naming 'dt', leaving time unchanged."""
    clock = ManualClock(3.0)
    with pytest.raises(ValueError, match="'dt'"):
        clock.advance(dt)
    assert clock() == 3.0


def test_manual_clock_rejects_nan_start() -> None:
    """A ManualClock cannot start at NaN."""
    with pytest.raises(ValueError, match="start_s"):
        ManualClock(float("nan"))


def test_manual_clock_repr_shows_the_time() -> None:
    """The repr of a ManualClock shows its current time."""
    clock = ManualClock()
    clock.advance(2.5)
    assert repr(clock) == "ManualClock(now=2.5)"


def test_state_values_are_lower_case_strings() -> None:
    """State members have the lower-case string values used in tables and logs."""
    assert {s.name: s.value for s in State} == {
        "CLOSED": "closed",
        "OPEN": "open",
        "HALF_OPEN": "half_open",
        "FORCED_OPEN": "forced_open",
        "DISABLED": "disabled",
    }
    assert State("half_open") is State.HALF_OPEN
    assert State.OPEN == "open"


@pytest.mark.parametrize("clock", [None, 0.0, "monotonic"])
def test_breaker_rejects_a_non_callable_clock(clock: object) -> None:
    """Breaker(clock=...) rejects a clock that is not callable, naming 'clock'."""
    with pytest.raises(TypeError, match="'clock'"):
        Breaker(BreakerConfig(), clock=clock)  # type: ignore[arg-type]


def test_breaker_defaults_to_the_article_config() -> None:
    """A Breaker built without a config uses BreakerConfig() and starts closed at generation 0."""
    breaker = Breaker(clock=ManualClock())
    assert breaker.config == BreakerConfig()
    assert breaker.state is State.CLOSED
    assert breaker.generation == 0
    assert breaker.consecutive_failures == 0


# -- the article scenario --------------------------------------------------------------------


def test_article_fifth_consecutive_failure_trips() -> None:
    """With fail_max=5, four failures leave the breaker closed and the fifth opens it."""
    breaker, clock = make(fail_max=5, reset_timeout=60)
    for count in range(1, 5):
        fail(breaker)
        assert breaker.state is State.CLOSED
        assert breaker.consecutive_failures == count
    clock.advance(7.0)
    fail(breaker)
    assert breaker.state is State.OPEN
    snapshot = breaker.snapshot()
    assert snapshot["opened_at"] == 7.0
    assert snapshot["open_until"] == 67.0


def test_article_success_resets_the_consecutive_count() -> None:
    """A success between failures resets the count, so four, a success, then four more do not trip."""
    breaker, _ = make(fail_max=5)
    fail(breaker, 4)
    breaker.record_success(breaker.acquire())
    assert breaker.consecutive_failures == 0
    fail(breaker, 4)
    assert breaker.state is State.CLOSED


@pytest.mark.parametrize("elapsed", [0.0, 0.5, 30.0, 59.75])
def test_article_rejection_carries_the_time_left(elapsed: float) -> None:
    """While open, acquire() raises CircuitOpenError with remaining_s == 60 - elapsed and state open."""
    breaker, clock = tripped(fail_max=5, reset_timeout=60)
    clock.advance(elapsed)
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.remaining_s == 60.0 - elapsed
    assert info.value.state is State.OPEN
    assert breaker.time_until_half_open() == 60.0 - elapsed


def test_article_probe_admitted_exactly_at_the_deadline() -> None:
    """At exactly opened_at + reset_timeout a call is admitted as the half-open probe."""
    breaker, clock = tripped(fail_max=5, reset_timeout=60)
    clock.advance(60.0)
    permit = breaker.acquire()
    assert permit.is_probe
    assert permit.state is State.HALF_OPEN
    assert breaker.state is State.HALF_OPEN


def test_deadline_is_exclusive_without_admit_at_deadline() -> None:
    """With admit_at_deadline=False, a call at exactly the deadline is rejected and one just after is a probe."""
    breaker, clock = tripped(reset_timeout=60, admit_at_deadline=False)
    clock.advance(60.0)
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.remaining_s == 0.0
    assert info.value.state is State.OPEN
    clock.advance(0.25)
    assert breaker.acquire().is_probe


def test_article_probe_failure_reopens_with_the_timer_restarted() -> None:
    """A failed probe re-opens the breaker and restarts the open timer at the failure time."""
    breaker, clock = tripped(fail_max=5, reset_timeout=60)
    clock.advance(60.0)
    probe = breaker.acquire()
    clock.advance(3.0)
    breaker.record_failure(probe)
    assert breaker.state is State.OPEN
    assert breaker.snapshot()["opened_at"] == 63.0
    clock.advance(59.0)
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.remaining_s == 1.0
    clock.advance(1.0)
    assert breaker.acquire().is_probe


def test_article_probe_success_closes() -> None:
    """A successful probe closes the breaker, with the failure count cleared."""
    breaker, clock = tripped(fail_max=5, reset_timeout=60)
    clock.advance(60.0)
    breaker.record_success(breaker.acquire())
    assert breaker.state is State.CLOSED
    assert breaker.consecutive_failures == 0
    permit = breaker.acquire()
    assert not permit.is_probe
    assert permit.state is State.CLOSED


def test_article_scenario_through_call() -> None:
    """The article's story through call(): five failures trip, calls are rejected, a probe closes."""
    breaker, clock = make(fail_max=5, reset_timeout=60)
    for _ in range(5):
        with pytest.raises(ConnectionError):
            breaker.call(raiser(ConnectionError("down")))
    assert breaker.state is State.OPEN
    clock.advance(10.0)
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(lambda: "never")
    assert info.value.remaining_s == 50.0
    clock.advance(50.0)
    assert breaker.call(lambda: "up") == "up"
    assert breaker.state is State.CLOSED


# -- rejection details -----------------------------------------------------------------------


def test_half_open_without_a_free_slot_rejects_with_zero_remaining() -> None:
    """In half-open with the only probe slot taken, acquire() raises CircuitOpenError(0.0, half_open)."""
    breaker, clock = tripped()
    clock.advance(60.0)
    breaker.acquire()
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.remaining_s == 0.0
    assert info.value.state is State.HALF_OPEN


def test_forced_open_rejects_with_infinite_remaining() -> None:
    """In forced_open, acquire() raises CircuitOpenError(inf, forced_open), however much time passes."""
    breaker, clock = make()
    breaker.force_open()
    for dt in (0.0, 1e9):
        clock.advance(dt)
        with pytest.raises(CircuitOpenError) as info:
            breaker.acquire()
        assert info.value.remaining_s == math.inf
        assert info.value.state is State.FORCED_OPEN
    assert breaker.time_until_half_open() == math.inf


def test_circuit_open_error_pickles() -> None:
    """A CircuitOpenError survives pickling with its remaining time and state."""
    error = pickle.loads(pickle.dumps(CircuitOpenError(12.5, State.OPEN)))
    assert (error.remaining_s, error.state) == (12.5, State.OPEN)


# -- call() ------------------------------------------------------------------------------------


def test_call_returns_the_result_and_passes_arguments() -> None:
    """call(fn, *args, **kwargs) returns fn(*args, **kwargs) and counts a success."""
    breaker, _ = make()
    assert breaker.call(lambda a, b=0: a + b, 2, b=3) == 5
    assert breaker.stats.successes == 1


def test_call_reraises_the_original_error() -> None:
    """call() re-raises the very exception fn raised and counts a failure."""
    breaker, _ = make()
    error = ValueError("boom")
    with pytest.raises(ValueError) as info:
        breaker.call(raiser(error))
    assert info.value is error
    assert breaker.consecutive_failures == 1


def test_tripping_call_raises_its_own_error_by_default() -> None:
    """With the default trip_error, the call whose failure opens the breaker raises its own error."""
    breaker, _ = make(fail_max=2)
    fail(breaker)
    error = OSError("down")
    with pytest.raises(OSError) as info:
        breaker.call(raiser(error))
    assert info.value is error
    assert breaker.state is State.OPEN


def test_tripping_call_raises_circuit_open_chained_with_trip_error_circuit_open() -> None:
    """With trip_error="circuit_open", the tripping call raises CircuitOpenError chained from its error."""
    breaker, _ = make(fail_max=2, reset_timeout=30, trip_error="circuit_open")
    with pytest.raises(OSError):
        breaker.call(raiser(OSError("first")))
    error = OSError("second")
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(raiser(error))
    assert info.value.__cause__ is error
    assert info.value.state is State.OPEN
    assert info.value.remaining_s == 30.0
    assert breaker.state is State.OPEN


def test_failed_probe_call_raises_circuit_open_with_trip_error_circuit_open() -> None:
    """With trip_error="circuit_open", a probe whose failure re-opens the breaker raises CircuitOpenError chained."""
    breaker, clock = tripped(reset_timeout=60, trip_error="circuit_open")
    clock.advance(60.0)
    error = OSError("still down")
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(raiser(error))
    assert info.value.__cause__ is error
    assert (info.value.state, info.value.remaining_s) == (State.OPEN, 60.0)


def test_rejected_call_does_not_invoke_fn() -> None:
    """A call rejected by an open breaker raises CircuitOpenError without calling fn."""
    breaker, _ = tripped()
    invoked: list[bool] = []
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: invoked.append(True))
    assert invoked == []


@pytest.mark.parametrize("cancel", [asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit])
def test_cancellation_releases_the_permit_and_never_counts(cancel: type[BaseException]) -> None:
    """A cancellation raised by fn propagates, releases the permit and counts neither success nor failure."""
    breaker, _ = make(fail_max=2)
    fail(breaker)
    for _ in range(3):
        with pytest.raises(cancel):
            breaker.call(raiser(cancel()))
    assert breaker.state is State.CLOSED
    assert breaker.consecutive_failures == 1
    stats = breaker.stats
    assert (stats.released, stats.failures, stats.successes) == (3, 1, 0)


@pytest.mark.parametrize("cancel", [asyncio.CancelledError, KeyboardInterrupt])
def test_cancelled_probe_frees_its_half_open_slot(cancel: type[BaseException]) -> None:
    """A probe cancelled in half-open frees its slot, so the next call is admitted as a probe."""
    breaker, clock = tripped()
    clock.advance(60.0)
    with pytest.raises(cancel):
        breaker.call(raiser(cancel()))
    assert breaker.state is State.HALF_OPEN
    assert breaker.snapshot()["probes_admitted"] == 0
    assert breaker.snapshot()["probes_inflight"] == 0
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state is State.CLOSED


def test_released_probe_frees_its_slot() -> None:
    """release() of the current probe lets another probe in."""
    breaker, clock = tripped()
    clock.advance(60.0)
    breaker.release(breaker.acquire())
    assert breaker.acquire().is_probe


SEQUENCE = "FFFXFF"


@pytest.mark.parametrize(
    ("excluded_outcome", "states_after"),
    [
        ("neutral", ["closed"] * 5 + ["open"]),
        ("success", ["closed"] * 6),
    ],
)
def test_excluded_exceptions_follow_excluded_outcome(excluded_outcome: str, states_after: list[str]) -> None:
    """F F F X F F with fail_max=5 trips when X is neutral and does not when X counts as a success."""
    breaker, _ = make(fail_max=5, excluded_exceptions=(KeyError,), excluded_outcome=excluded_outcome)
    seen = []
    for step in SEQUENCE:
        error: Exception = KeyError("x") if step == "X" else OSError("f")
        with pytest.raises(type(error)) as info:
            breaker.call(raiser(error))
        assert info.value is error
        seen.append(breaker.state.value)
    assert seen == states_after
    if excluded_outcome == "success":
        assert breaker.consecutive_failures == 2


def test_excluded_is_checked_before_failure_exceptions() -> None:
    """An exception matching both excluded_exceptions and failure_exceptions is not a failure."""
    breaker, _ = make(fail_max=1, failure_exceptions=(LookupError,), excluded_exceptions=(KeyError,))
    with pytest.raises(KeyError):
        breaker.call(raiser(KeyError("k")))
    assert breaker.state is State.CLOSED
    assert breaker.stats.released == 1


def test_exception_outside_failure_exceptions_is_uncounted() -> None:
    """An exception not in failure_exceptions is uncounted (neutral by default), and still raised."""
    breaker, _ = make(fail_max=1, failure_exceptions=(OSError,))
    with pytest.raises(TypeError):
        breaker.call(raiser(TypeError("bug")))
    assert breaker.state is State.CLOSED
    assert breaker.stats.failures == 0
    assert breaker.stats.released == 1


def test_is_failure_counts_only_server_errors() -> None:
    """With is_failure accepting only 5xx, 4xx errors never trip and 5xx errors do."""
    breaker, _ = make(fail_max=3, is_failure=lambda e: getattr(e, "status", 500) >= 500)
    for _ in range(10):
        with pytest.raises(HTTPError):
            breaker.call(raiser(HTTPError(404)))
    assert breaker.state is State.CLOSED
    assert breaker.consecutive_failures == 0
    for _ in range(3):
        with pytest.raises(HTTPError):
            breaker.call(raiser(HTTPError(503)))
    assert breaker.state is State.OPEN


def test_is_failure_result_counts_but_returns_the_value() -> None:
    """A result for which is_failure_result is true is returned and counted as a failure."""
    breaker, _ = make(fail_max=2, is_failure_result=lambda r: r["status"] >= 500)
    bad = {"status": 503}
    assert breaker.call(lambda: bad) is bad
    assert breaker.consecutive_failures == 1
    assert breaker.call(lambda: {"status": 200}) == {"status": 200}
    assert breaker.consecutive_failures == 0
    breaker.call(lambda: bad)
    assert breaker.call(lambda: bad) is bad
    assert breaker.state is State.OPEN


def test_is_failure_result_trip_raises_circuit_open_with_trip_error_circuit_open() -> None:
    """With trip_error="circuit_open", a result failure that opens the breaker raises CircuitOpenError."""
    breaker, _ = make(fail_max=1, is_failure_result=lambda r: r is None, trip_error="circuit_open")
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(lambda: None)
    assert info.value.state is State.OPEN


@pytest.mark.parametrize(("duration", "counted_failure"), [(2.0, False), (2.5, True)])
def test_call_timeout_turns_an_overrun_into_a_failure(duration: float, counted_failure: bool) -> None:
    """A success lasting strictly more than call_timeout is a failure, and its result is still returned."""
    breaker, clock = make(call_timeout=2.0)

    def slow() -> str:
        clock.advance(duration)
        return "late"

    assert breaker.call(slow) == "late"
    assert breaker.consecutive_failures == (1 if counted_failure else 0)
    assert breaker.stats.failures == (1 if counted_failure else 0)
    assert breaker.stats.successes == (0 if counted_failure else 1)


def test_call_timeout_applies_to_record_success() -> None:
    """record_success() of a permit held longer than call_timeout is a counted failure that can trip."""
    breaker, clock = make(fail_max=1, call_timeout=1.0)
    permit = breaker.acquire()
    clock.advance(1.5)
    breaker.record_success(permit)
    assert breaker.state is State.OPEN


# -- record_failure with an error ------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "failures", "released", "successes"),
    [
        ({}, ValueError(), 1, 0, 0),
        ({}, None, 1, 0, 0),
        ({"excluded_exceptions": ValueError}, ValueError(), 0, 1, 0),
        ({"excluded_exceptions": ValueError}, None, 1, 0, 0),
        ({"excluded_exceptions": ValueError, "excluded_outcome": "success"}, ValueError(), 0, 0, 1),
        ({"failure_exceptions": OSError}, ValueError(), 0, 1, 0),
        ({"is_failure": lambda e: False}, ValueError(), 0, 1, 0),
        ({}, KeyboardInterrupt(), 0, 1, 0),
        ({}, asyncio.CancelledError(), 0, 1, 0),
    ],
)
def test_record_failure_classifies_its_error(
    options: dict[str, Any], error: BaseException | None, failures: int, released: int, successes: int
) -> None:
    """record_failure(permit, error) classifies the error; without an error it is always a failure."""
    breaker, _ = make(**options)
    breaker.record_failure(breaker.acquire(), error=error)
    stats = breaker.stats
    assert (stats.failures, stats.released, stats.successes) == (failures, released, successes)
    assert breaker.consecutive_failures == failures


# -- permits -----------------------------------------------------------------------------------


def test_permit_fields() -> None:
    """A permit records its id, generation, admitting state, probe flag and admission time."""
    breaker, clock = make()
    clock.advance(4.0)
    first, second = breaker.acquire(), breaker.acquire()
    assert isinstance(first, Permit)
    assert (first.id, second.id) == (1, 2)
    assert (first.generation, first.state, first.is_probe, first.acquired_at) == (0, State.CLOSED, False, 4.0)


@pytest.mark.parametrize("first", ["record_success", "record_failure", "release"])
@pytest.mark.parametrize("second", ["record_success", "record_failure", "release"])
def test_settling_a_permit_twice_raises_permit_error(first: str, second: str) -> None:
    """A permit settled once cannot be settled again, by any method."""
    breaker, _ = make()
    permit = breaker.acquire()
    getattr(breaker, first)(permit)
    before = breaker.stats
    with pytest.raises(PermitError):
        getattr(breaker, second)(permit)
    assert breaker.stats == before


@pytest.mark.parametrize("method", ["record_success", "record_failure", "release"])
def test_settling_with_another_breaker_raises_permit_error(method: str) -> None:
    """A permit settled with a breaker that did not issue it raises PermitError and changes nothing."""
    issuer, _ = make()
    other, _ = make(fail_max=1)
    permit = issuer.acquire()
    with pytest.raises(PermitError):
        getattr(other, method)(permit)
    assert other.state is State.CLOSED
    assert other.stats == BreakerStats(0, 0, 0, 0, 0, 0)
    issuer.record_success(permit)


def test_record_failure_with_error_on_foreign_permit_raises_permit_error() -> None:
    """record_failure(permit, error) checks the permit whatever the error's classification."""
    issuer, _ = make()
    other, _ = make(excluded_exceptions=KeyError)
    for error in (KeyError(), KeyboardInterrupt(), ValueError()):
        with pytest.raises(PermitError):
            other.record_failure(issuer.acquire(), error=error)


# -- listeners ---------------------------------------------------------------------------------


def test_listener_gets_every_state_change_and_rejection() -> None:
    """A listener receives each state change (time, source, dest, cause, generation) and each rejection."""
    breaker, clock = make(fail_max=2, reset_timeout=60)
    recorder = Recorder()
    breaker.add_listener(recorder)
    clock.advance(1.0)
    fail(breaker, 2)
    clock.advance(10.0)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(50.0)
    probe = breaker.acquire()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(2.0)
    breaker.record_failure(probe)
    clock.advance(60.0)
    breaker.record_success(breaker.acquire())
    breaker.reset()
    O, C, H = State.OPEN, State.CLOSED, State.HALF_OPEN
    assert recorder.steps() == [
        (1.0, C, O, "trip", 1),
        (61.0, O, H, "deadline_reached", 2),
        (63.0, H, O, "probe_failed", 3),
        (123.0, O, H, "deadline_reached", 4),
        (123.0, H, C, "probes_succeeded", 5),
        (123.0, C, C, "reset", 6),
    ]
    assert [(r.time, r.state, r.remaining_s) for r in recorder.rejections] == [
        (11.0, O, 50.0),
        (61.0, H, 0.0),
    ]
    assert breaker.generation == 6


def test_try_admit_returns_none_for_a_rejection_and_notifies_it() -> None:
    """try_admit admits like admit and returns None where admit raises, counting and notifying
    the rejection the same way."""
    breaker, clock = make(fail_max=2, reset_timeout=60)
    recorder = Recorder()
    breaker.add_listener(recorder)
    clock.advance(1.0)
    assert breaker.try_admit() == (0, State.CLOSED, False, 1.0)
    fail(breaker, 2)
    clock.advance(10.0)
    assert breaker.try_admit() is None
    assert breaker.remaining_s() == 50.0
    clock.advance(50.0)
    assert breaker.try_admit() == (2, State.HALF_OPEN, True, 61.0)
    assert breaker.try_admit() is None
    assert [(r.time, r.state, r.remaining_s) for r in recorder.rejections] == [(11.0, State.OPEN, 50.0), (61.0, State.HALF_OPEN, 0.0)]
    assert breaker.stats.rejections == 2


def test_machine_built_on_first_read_is_in_the_current_state_and_performs_later_changes() -> None:
    """A breaker's own machine, built when first read, starts in the breaker's current state,
    has the breaker's formal state as its only model, and performs the state changes after it."""
    breaker, _ = make(fail_max=1, reset_timeout=5)
    fail(breaker, 1)
    assert breaker.state is State.OPEN
    machine = breaker.machine
    assert machine.models == [machine.model] and breaker.state is State.OPEN
    assert breaker.machine is machine
    breaker.reset()
    assert breaker.state is State.CLOSED and machine.model.state is State.CLOSED
    # Once read, the breaker's own machine performs its state changes: what is added to it runs.
    entered: list[State] = []
    machine.get_state(State.OPEN).on_enter.append(lambda event: entered.append(event.model.state))
    fail(breaker, 1)
    assert breaker.state is State.OPEN and entered == [State.OPEN]
    assert Breaker(breaker.config, clock=ManualClock()).machine is not machine


def test_listener_methods_are_optional() -> None:
    """A listener may define only state_change or only rejection; BreakerListener gives no-op defaults."""

    class ChangesOnly(BreakerListener):
        def __init__(self) -> None:
            self.dests: list[State] = []

        def state_change(self, change: StateChange) -> None:
            self.dests.append(change.dest)

    class RejectionsOnly:
        def __init__(self) -> None:
            self.states: list[State] = []

        def rejection(self, rejection: Rejection) -> None:
            self.states.append(rejection.state)

    breaker, _ = make(fail_max=1)
    changes, rejections = ChangesOnly(), RejectionsOnly()
    breaker.add_listener(changes)
    breaker.add_listener(rejections)
    breaker.add_listener(BreakerListener())
    fail(breaker)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    assert changes.dests == [State.OPEN]
    assert rejections.states == [State.OPEN]


@pytest.mark.parametrize("listener", [object(), 42, lambda change: None])
def test_add_listener_rejects_an_object_with_neither_method(listener: object) -> None:
    """add_listener() raises TypeError for an object with neither state_change nor rejection."""
    breaker, _ = make()
    with pytest.raises(TypeError, match="state_change"):
        breaker.add_listener(listener)


# -- observability -----------------------------------------------------------------------------


def test_stats_totals() -> None:
    """stats counts admitted calls, successes, failures, released outcomes, rejections and state changes."""
    breaker, clock = make(fail_max=2, reset_timeout=10)
    assert breaker.stats == BreakerStats(0, 0, 0, 0, 0, 0)
    breaker.record_success(breaker.acquire())
    breaker.release(breaker.acquire())
    fail(breaker, 2)  # trips: one state change
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            breaker.acquire()
    clock.advance(10.0)
    breaker.record_success(breaker.acquire())  # open->half_open->closed: two state changes
    assert breaker.stats == BreakerStats(
        admitted=5, successes=2, failures=2, released=1, rejections=3, state_changes=3
    )


def test_time_until_half_open() -> None:
    """time_until_half_open() is the time left while open, 0 when closed or half-open, inf when forced open."""
    breaker, clock = make(fail_max=1, reset_timeout=60)
    assert breaker.time_until_half_open() == 0.0
    fail(breaker)
    clock.advance(15.0)
    assert breaker.time_until_half_open() == 45.0
    clock.advance(100.0)
    assert breaker.time_until_half_open() == 0.0
    assert breaker.state is State.OPEN  # reading never changes the state
    breaker.acquire()
    assert breaker.time_until_half_open() == 0.0
    breaker.force_open()
    assert breaker.time_until_half_open() == math.inf
    breaker.disable()
    assert breaker.time_until_half_open() == 0.0


def test_snapshot_keys() -> None:
    """snapshot() holds the state and every formal state variable, by name."""
    breaker, _ = make()
    assert set(breaker.snapshot()) == {
        "state",
        "generation",
        "consecutive_failures",
        "opened_at",
        "open_until",
        "next_open_duration",
        "half_open_since",
        "probes_admitted",
        "probes_inflight",
        "probe_successes",
        "probe_failures",
    }
    assert breaker.snapshot()["state"] is State.CLOSED
    assert breaker.snapshot()["next_open_duration"] == 60.0


def test_breaker_repr() -> None:
    """repr(breaker) shows its name, state, generation and consecutive failures."""
    breaker = Breaker(BreakerConfig(fail_max=3), clock=ManualClock(), name="payments")
    fail(breaker)
    assert repr(breaker) == "<Breaker 'payments' closed generation=0 consecutive_failures=1>"
    fail(breaker, 2)
    assert repr(breaker) == "<Breaker 'payments' open generation=1 consecutive_failures=0>"


def test_each_public_operation_reads_the_clock_once() -> None:
    """acquire, record_*, release, poll, force_open, disable and reset each read the clock exactly once."""
    clock = SetClock()
    breaker = Breaker(BreakerConfig(), clock=clock)
    permits = [breaker.acquire() for _ in range(5)]
    operations: list[Callable[[], object]] = [
        lambda: breaker.acquire(),
        lambda: breaker.record_success(permits[0]),
        lambda: breaker.record_failure(permits[1]),
        lambda: breaker.record_failure(permits[2], error=ValueError()),
        lambda: breaker.record_failure(permits[3], error=KeyboardInterrupt()),
        lambda: breaker.release(permits[4]),
        lambda: breaker.poll(),
        lambda: breaker.force_open(),
        lambda: breaker.disable(),
        lambda: breaker.reset(),
    ]
    for operation in operations:
        before = clock.reads
        operation()
        assert clock.reads == before + 1


# -- manual control ----------------------------------------------------------------------------


@pytest.mark.parametrize("setup", ["closed", "open", "half_open", "disabled"])
def test_force_open_from_any_state(setup: str) -> None:
    """force_open() moves every state but forced_open to forced_open, and time does not leave it."""
    breaker, clock = in_state(setup)
    generation = breaker.generation
    breaker.force_open()
    assert breaker.state is State.FORCED_OPEN
    assert breaker.generation == generation + 1
    clock.advance(1e6)
    breaker.poll()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    assert breaker.state is State.FORCED_OPEN


def test_force_open_when_forced_open_changes_nothing() -> None:
    """force_open() in forced_open is not a state change."""
    breaker, _ = make()
    breaker.force_open()
    recorder = Recorder()
    breaker.add_listener(recorder)
    breaker.force_open()
    assert breaker.generation == 1
    assert recorder.changes == []


def test_outcomes_are_ignored_while_forced_open() -> None:
    """Outcomes recorded while forced open change nothing; only reset() or disable() leave it."""
    breaker, _ = make(fail_max=1, late_result="current_state")
    permit = breaker.acquire()
    breaker.force_open()
    breaker.record_failure(permit)
    assert breaker.state is State.FORCED_OPEN
    assert breaker.generation == 1
    breaker.disable()
    assert breaker.state is State.DISABLED
    breaker.force_open()
    breaker.reset()
    assert breaker.state is State.CLOSED


def test_disable_admits_everything_and_counts_nothing() -> None:
    """While disabled every call is admitted and no outcome is counted, so it never trips."""
    breaker, clock = make(fail_max=2)
    breaker.disable()
    for _ in range(10):
        with pytest.raises(OSError):
            breaker.call(raiser(OSError()))
    assert breaker.state is State.DISABLED
    assert breaker.consecutive_failures == 0
    clock.advance(1e6)
    breaker.poll()
    assert breaker.state is State.DISABLED
    generation = breaker.generation
    breaker.disable()
    assert breaker.generation == generation


@pytest.mark.parametrize("setup", ["open", "half_open", "forced_open"])
def test_disable_from_any_state(setup: str) -> None:
    """disable() moves open, half_open and forced_open to disabled, which admits calls."""
    breaker, clock = in_state(setup)
    breaker.disable()
    assert breaker.state is State.DISABLED
    assert not breaker.acquire().is_probe


def test_reset_from_closed_is_a_real_state_change() -> None:
    """reset() in closed is a closed->closed change: new generation, counters cleared, listeners told."""
    breaker, clock = make(fail_max=5)
    recorder = Recorder()
    breaker.add_listener(recorder)
    fail(breaker, 3)
    stale = breaker.acquire()
    clock.advance(2.0)
    breaker.reset()
    assert breaker.state is State.CLOSED
    assert breaker.generation == 1
    assert breaker.consecutive_failures == 0
    assert recorder.steps() == [(2.0, State.CLOSED, State.CLOSED, "reset", 1)]
    breaker.record_failure(stale)  # stale: ignored under the default late-result policy
    assert breaker.consecutive_failures == 0


@pytest.mark.parametrize("setup", ["open", "half_open", "forced_open", "disabled"])
def test_reset_closes_from_any_state(setup: str) -> None:
    """reset() closes the breaker from every state, clearing the counters."""
    breaker, _ = in_state(setup)
    breaker.reset()
    assert breaker.state is State.CLOSED
    snapshot = breaker.snapshot()
    assert (snapshot["consecutive_failures"], snapshot["probes_admitted"], snapshot["probes_inflight"]) == (0, 0, 0)


def test_reset_clears_the_backoff() -> None:
    """After reset(), the next opening lasts reset_timeout again, not the backed-off duration."""
    breaker, clock = make(fail_max=1, reset_timeout=10, open_duration_policy="exponential", backoff_factor=2.0)
    fail(breaker)
    clock.advance(10.0)
    breaker.record_failure(breaker.acquire())  # second opening: 20 s
    assert breaker.time_until_half_open() == 20.0
    breaker.reset()
    fail(breaker)
    assert breaker.time_until_half_open() == 10.0


def test_closing_clears_the_backoff() -> None:
    """A successful probe closes and resets the backoff, so the next opening lasts reset_timeout."""
    breaker, clock = make(fail_max=1, reset_timeout=10, open_duration_policy="exponential", backoff_factor=3.0)
    fail(breaker)
    clock.advance(10.0)
    breaker.record_failure(breaker.acquire())
    assert breaker.time_until_half_open() == 30.0
    clock.advance(30.0)
    breaker.record_success(breaker.acquire())
    assert breaker.state is State.CLOSED
    fail(breaker)
    assert breaker.time_until_half_open() == 10.0


# -- time-driven transitions -------------------------------------------------------------------


def test_poll_enters_half_open_at_the_deadline_with_at_deadline_entry() -> None:
    """With half_open_entry="at_deadline", poll() at the deadline enters half-open with no probe admitted."""
    breaker, clock = tripped(reset_timeout=60, half_open_entry="at_deadline")
    recorder = Recorder()
    breaker.add_listener(recorder)
    clock.advance(59.5)
    breaker.poll()
    assert breaker.state is State.OPEN
    clock.advance(0.5)
    breaker.poll()
    assert breaker.state is State.HALF_OPEN
    assert breaker.snapshot()["probes_admitted"] == 0
    assert breaker.snapshot()["half_open_since"] == 60.0
    assert recorder.steps() == [(60.0, State.OPEN, State.HALF_OPEN, "deadline_reached", 2)]
    breaker.poll()
    assert breaker.generation == 2
    assert breaker.acquire().is_probe


def test_poll_respects_admit_at_deadline_false() -> None:
    """With admit_at_deadline=False, poll() at exactly the deadline stays open and just after enters half-open."""
    breaker, clock = tripped(reset_timeout=60, half_open_entry="at_deadline", admit_at_deadline=False)
    clock.advance(60.0)
    breaker.poll()
    assert breaker.state is State.OPEN
    clock.advance(0.125)
    breaker.poll()
    assert breaker.state is State.HALF_OPEN


def test_poll_does_nothing_at_the_deadline_with_lazy_entry() -> None:
    """With the default lazy entry, poll() past the deadline leaves the breaker open."""
    breaker, clock = tripped(reset_timeout=60)
    clock.advance(120.0)
    breaker.poll()
    assert breaker.state is State.OPEN
    assert breaker.generation == 1


def test_half_open_max_wait_ends_a_wedged_episode_via_poll() -> None:
    """A half-open episode undecided after half_open_max_wait is re-opened by poll(), timer restarted then."""
    breaker, clock = tripped(reset_timeout=60, half_open_max_wait=5.0)
    recorder = Recorder()
    breaker.add_listener(recorder)
    clock.advance(60.0)
    breaker.acquire()  # a probe that never reports
    clock.advance(4.5)
    breaker.poll()
    assert breaker.state is State.HALF_OPEN
    clock.advance(0.5)
    breaker.poll()
    assert breaker.state is State.OPEN
    assert (breaker.snapshot()["opened_at"], breaker.snapshot()["open_until"]) == (65.0, 125.0)
    assert recorder.steps()[-1] == (65.0, State.HALF_OPEN, State.OPEN, "half_open_timeout", 3)


def test_half_open_max_wait_ends_a_wedged_episode_via_acquire() -> None:
    """An acquire() after half_open_max_wait re-opens the breaker and is rejected with a full open time."""
    breaker, clock = tripped(reset_timeout=60, half_open_max_wait=5.0)
    clock.advance(60.0)
    breaker.acquire()
    clock.advance(5.0)
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert breaker.state is State.OPEN
    assert info.value.state is State.OPEN
    assert info.value.remaining_s == 60.0
    assert breaker.snapshot()["opened_at"] == 65.0
    clock.advance(60.0)
    assert breaker.acquire().is_probe


def test_without_half_open_max_wait_a_lost_probe_wedges_half_open() -> None:
    """Without half_open_max_wait, a probe that never reports keeps the breaker half-open, rejecting."""
    breaker, clock = tripped(reset_timeout=60)
    clock.advance(60.0)
    breaker.acquire()
    clock.advance(1e6)
    breaker.poll()
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.state is State.HALF_OPEN
    assert breaker.state is State.HALF_OPEN


def test_a_backwards_clock_does_not_shorten_the_open_time() -> None:
    """When the clock goes back before a trip, the breaker opens at the largest time already seen."""
    clock = SetClock(100.0)
    breaker = Breaker(BreakerConfig(fail_max=1, reset_timeout=60), clock=clock)
    permit = breaker.acquire()
    clock.now = 50.0
    breaker.record_failure(permit)
    assert breaker.state is State.OPEN
    assert (breaker.snapshot()["opened_at"], breaker.snapshot()["open_until"]) == (100.0, 160.0)
    clock.now = 110.0
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.remaining_s == 50.0
    clock.now = 159.5
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.now = 160.0
    assert breaker.acquire().is_probe


def test_a_backwards_clock_does_not_lengthen_the_remaining_time() -> None:
    """When the clock goes back while open, the remaining time is measured from the largest time seen."""
    clock = SetClock(100.0)
    breaker = Breaker(BreakerConfig(fail_max=1, reset_timeout=60), clock=clock)
    breaker.record_failure(breaker.acquire())
    clock.now = 40.0
    assert breaker.time_until_half_open() == 60.0
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.remaining_s == 60.0


# -- pickling and the machine ----------------------------------------------------------------


def test_breaker_cannot_be_pickled_but_its_config_can() -> None:
    """Pickling a Breaker raises TypeError pointing at its config, which pickles and round-trips."""
    breaker, _ = make(fail_max=3, excluded_exceptions=KeyError)
    with pytest.raises(TypeError, match="config"):
        pickle.dumps(breaker)
    assert pickle.loads(pickle.dumps(breaker.config)) == breaker.config


def test_machine_has_no_auto_transitions() -> None:
    """The transitions machine declares only the table's triggers: no to_<state>() shortcuts."""
    breaker, _ = make()
    machine = breaker.machine
    model = machine.model
    assert machine.auto_transitions is False
    assert set(machine.events) == set(TRIGGERS)
    for state in State:
        assert not hasattr(model, f"to_{state.value}")
        assert not hasattr(model, f"to_{state.name}")
    assert not [name for name in dir(model) if name.startswith("to_")]


def test_machine_unknown_trigger_raises() -> None:
    """Firing a trigger the machine does not know raises instead of being ignored."""
    breaker, _ = make()
    assert breaker.machine.ignore_invalid_triggers is False
    with pytest.raises(AttributeError):
        breaker.machine.model.trigger("to_open")
    with pytest.raises(AttributeError):
        breaker.machine.model.trigger("explode")
    assert breaker.state is State.CLOSED


def test_success_and_failure_listeners_on_the_reference_breaker() -> None:
    """A Breaker calls success()/failure() after each recorded outcome, marking stale outcomes."""
    breaker, clock = make(fail_max=1, reset_timeout=5)
    seen: list[tuple[str, str, int, bool, float]] = []

    class Outcomes(BreakerListener):
        def success(self, outcome: Outcome) -> None:
            seen.append(("success", outcome.state.value, outcome.generation, outcome.stale, outcome.duration_s))

        def failure(self, outcome: Outcome) -> None:
            seen.append(("failure", outcome.state.value, outcome.generation, outcome.stale, outcome.duration_s))

    breaker.add_listener(Outcomes())
    early = breaker.acquire()
    clock.advance(1.0)
    breaker.record_failure(breaker.acquire())  # trips: generation 0 -> 1
    breaker.record_success(early)  # stale: admitted in generation 0
    assert seen == [("failure", "closed", 0, False, 0.0), ("success", "open", 1, True, 1.0)]


@pytest.mark.parametrize(
    ("cancellation_outcome", "counts"),
    [("release", (0, 0, 1)), ("failure", (0, 1, 0)), ("success", (1, 0, 0))],
)
def test_cancellation_outcome_decides_what_a_cancellation_counts_as(
    cancellation_outcome: str, counts: tuple[int, int, int]
) -> None:
    """A cancellation (asyncio.CancelledError, KeyboardInterrupt) is released, a failure or a
    success per `cancellation_outcome`; a cancelled probe under "success" closes the breaker."""
    for error in (asyncio.CancelledError(), KeyboardInterrupt()):
        breaker, _ = make(fail_max=2, cancellation_outcome=cancellation_outcome)
        breaker.record_failure(breaker.acquire(), error)
        stats = breaker.stats
        assert (stats.successes, stats.failures, stats.released) == counts
    breaker, clock = make(fail_max=1, reset_timeout=10, cancellation_outcome=cancellation_outcome)
    breaker.record_failure(breaker.acquire())
    clock.advance(10)
    probe = breaker.acquire()
    breaker.record_failure(probe, asyncio.CancelledError())
    expected = {"release": State.HALF_OPEN, "failure": State.OPEN, "success": State.CLOSED}[cancellation_outcome]
    assert breaker.state is expected

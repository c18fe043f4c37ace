"""Model-based test: the breaker and tests/oracle.py run side by side and agree after every step.

Hypothesis draws a configuration, then a program of acquires, settlements (late and out of
order), clock moves and manual operations. After each step the breaker's snapshot must equal
the oracle's state, and the contract's invariants must hold. A failure prints as a program
that can be pasted into a regression test.

The transition table is the class attribute ``TABLE``; ``tests/test_mutants.py`` swaps it for
seeded mutants to show that this test notices each of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from oracle import (
    CLOSED,
    DISABLED,
    FORCED_OPEN,
    HALF_OPEN,
    OPEN,
    Kind,
    Oracle,
    OraclePermit,
    OracleRejection,
)
from strategies import call_durations, config_options, errors, time_steps

from breakerlab.model import (
    Breaker,
    BreakerConfig,
    BreakerListener,
    CircuitOpenError,
    ManualClock,
    Permit,
    Rejection,
    StateChange,
)
from breakerlab.model.table import TABLE

MANUAL_STATES = (FORCED_OPEN, DISABLED)


@dataclass(frozen=True)
class HeldPermit:
    """An outstanding permit: the breaker's own, and what the oracle expects of it.

    Attributes:
        real: The permit ``Breaker.acquire()`` returned.
        expected: The oracle's view of the same admission.
    """

    real: Permit
    expected: OraclePermit


class ChangeRecorder(BreakerListener):
    """A listener that keeps the state changes and rejections announced during one step."""

    def __init__(self) -> None:
        """Start with nothing recorded."""
        self.changes: list[StateChange] = []
        self.rejections: list[Rejection] = []

    def state_change(self, change: StateChange) -> None:
        """Record one announced state change.

        Args:
            change: The change the breaker announced.
        """
        self.changes.append(change)

    def rejection(self, rejection: Rejection) -> None:
        """Record one announced rejection.

        Args:
            rejection: The rejection the breaker announced.
        """
        self.rejections.append(rejection)


class BreakerComparison(RuleBasedStateMachine):
    """Drives a ``Breaker`` and an ``Oracle`` with the same operations and compares them.

    Class attributes:
        TABLE: The transition table given to the breaker (swapped by the mutant tests).
    """

    TABLE: ClassVar[Any] = TABLE
    MANUAL_OPERATIONS: ClassVar[int] = 2
    """How many manual operations one program may apply in an automatic state (closed, open,
    half-open). Manual states admit nothing of interest, so unlimited manual operations would
    spend most steps there. In ``forced_open`` and ``disabled`` manual operations are free (so
    a program can always leave), and only ``acquire``, ``poll``, settlements and manual
    operations are enabled, so programs leave them quickly. The three operations share one
    rule so that Hypothesis' swarm testing cannot enable ``force_open`` while disabling every
    operation that leaves it."""
    permits = Bundle("permits")

    config: BreakerConfig
    breaker: Breaker
    oracle: Oracle
    recorder: ChangeRecorder

    def __init__(self) -> None:
        """Create the manual clock; the breaker is built once a configuration is drawn."""
        super().__init__()
        self.clock = ManualClock()
        self.max_generation_seen = 0
        self._generation_before = 0
        self._state_before = CLOSED
        self.manual_operations_left = self.MANUAL_OPERATIONS

    def __repr__(self) -> str:
        """Show the virtual time and what the oracle says the breaker is doing."""
        oracle = getattr(self, "oracle", None)
        described = oracle.describe() if oracle is not None else "not built"
        return f"BreakerComparison(t={self.clock()}, {described})"

    # ----------------------------------------------------------------------------------------
    # Setup

    @initialize(options=config_options())
    def build(self, options: dict[str, Any]) -> None:
        """Build the breaker under test and its oracle from one configuration."""
        config = BreakerConfig(**options)
        self.config = config
        # Read through the class so a plain function stored as a table is not bound.
        self.breaker = Breaker(config, clock=self.clock, table=type(self).TABLE)
        self.recorder = ChangeRecorder()
        self.breaker.add_listener(self.recorder)
        self.oracle = Oracle(config)

    # ----------------------------------------------------------------------------------------
    # Calls

    @rule(target=permits)
    def acquire(self) -> Any:
        """Ask for a permit; an admitted permit joins the bundle of outstanding permits."""
        held = self._admit()
        return multiple() if held is None else held

    @rule(target=permits, count=st.integers(2, 4))
    def acquire_several(self, count: int) -> Any:
        """Ask for ``count`` permits at once (concurrent callers); admitted ones join the bundle."""
        admitted = [self._admit() for _ in range(count)]
        return multiple(*[held for held in admitted if held is not None])

    @rule(held=consumes(permits))
    def record_success(self, held: HeldPermit) -> None:
        """Report that an outstanding call succeeded."""
        self._settle(held, "success", lambda: self.breaker.record_success(held.real))

    @rule(held=consumes(permits))
    def record_failure(self, held: HeldPermit) -> None:
        """Report that an outstanding call failed (no error given: always a counted failure)."""
        self._settle(held, "failure", lambda: self.breaker.record_failure(held.real))

    @rule(held=consumes(permits))
    def release(self, held: HeldPermit) -> None:
        """Give back an outstanding permit without an outcome."""
        self._settle(held, "release", lambda: self.breaker.release(held.real))

    @rule(held=consumes(permits), error=errors())
    def record_error(self, held: HeldPermit, error: BaseException) -> None:
        """Report that an outstanding call raised ``error``, which the breaker classifies."""
        kind = self.oracle.classify_error(error)
        self._settle(held, kind, lambda: self.breaker.record_failure(held.real, error=error))

    @precondition(lambda self: self.oracle.state not in MANUAL_STATES)
    @rule(duration=call_durations())
    def call_succeeds(self, duration: float) -> None:
        """Make a call; if admitted, it succeeds after ``duration`` seconds."""
        held = self._admit()
        if held is not None:
            self.clock.advance(duration)
            self._settle(held, "success", lambda: self.breaker.record_success(held.real))

    @precondition(lambda self: self.oracle.state not in MANUAL_STATES)
    @rule(duration=call_durations())
    def call_fails(self, duration: float) -> None:
        """Make a call; if admitted, it fails after ``duration`` seconds."""
        held = self._admit()
        if held is not None:
            self.clock.advance(duration)
            self._settle(held, "failure", lambda: self.breaker.record_failure(held.real))

    # ----------------------------------------------------------------------------------------
    # Time

    @precondition(lambda self: self.oracle.state not in MANUAL_STATES)
    @rule(dt=time_steps())
    def advance(self, dt: float) -> None:
        """Move the clock forward by ``dt`` seconds."""
        self.clock.advance(dt)

    @precondition(
        lambda self: self.oracle.state == OPEN
        and self.oracle.open_until is not None
        and self.clock() < self.oracle.open_until
    )
    @rule()
    def advance_to_open_deadline(self) -> None:
        """Move the clock exactly to the open deadline."""
        assert self.oracle.open_until is not None
        self._advance_to(self.oracle.open_until)

    @precondition(
        lambda self: self.oracle.state == HALF_OPEN
        and self.config.half_open_max_wait is not None
        and self.oracle.half_open_since is not None
        and self.clock() < self.oracle.half_open_since + self.config.half_open_max_wait
    )
    @rule()
    def advance_to_half_open_max_wait(self) -> None:
        """Move the clock exactly to the end of the half-open episode's allowed wait."""
        assert self.oracle.half_open_since is not None
        assert self.config.half_open_max_wait is not None
        self._advance_to(self.oracle.half_open_since + self.config.half_open_max_wait)

    # ----------------------------------------------------------------------------------------
    # Manual operations

    @rule()
    def poll(self) -> None:
        """Let the breaker act on time alone."""
        self._operate(self.oracle.poll, self.breaker.poll)

    @precondition(
        lambda self: self.manual_operations_left > 0 or self.oracle.state in MANUAL_STATES
    )
    @rule(operation=st.sampled_from(["force_open", "trip", "half_open", "disable", "reset"]))
    def manual(self, operation: str) -> None:
        """Apply one manual operation: ``force_open()``, ``trip()``, ``half_open()``,
        ``disable()`` or ``reset()``."""
        if self.oracle.state not in MANUAL_STATES:
            self.manual_operations_left -= 1
        operations: dict[str, tuple[Callable[[float], None], Callable[[], Any]]] = {
            "force_open": (self.oracle.force_open, self.breaker.force_open),
            "trip": (self.oracle.trip, self.breaker.trip),
            "half_open": (self.oracle.half_open, self.breaker.half_open),
            "disable": (self.oracle.disable, self.breaker.disable),
            "reset": (self.oracle.reset, self.breaker.reset),
        }
        self._operate(*operations[operation])

    # ----------------------------------------------------------------------------------------
    # Invariants

    @invariant()
    def agrees_with_oracle(self) -> None:
        """The breaker's state, generation and relevant counters equal the oracle's."""
        snapshot = self.formal_snapshot()
        expected = self._expected_snapshot()
        actual = {key: snapshot[key] for key in expected}
        actual["state"] = str(actual["state"])
        assert actual == expected, (
            f"breaker and oracle disagree at t={self.clock()}:\n"
            f"  breaker {actual}\n  oracle  {expected}"
        )
        assert self.breaker.state == self.oracle.state
        assert self.breaker.generation == self.oracle.generation

    @invariant()
    def counters_within_bounds(self) -> None:
        """Counters stay inside the ranges the contract allows in the current state."""
        snapshot = self.formal_snapshot()
        config = self.config
        state = str(snapshot["state"])
        generation = snapshot["generation"]
        assert generation >= self.max_generation_seen, "generation went backwards"
        self.max_generation_seen = generation
        if state == CLOSED:
            assert snapshot["consecutive_failures"] >= 0
            if config.trip_rule == "consecutive":
                assert snapshot["consecutive_failures"] < config.fail_max
        elif state == OPEN:
            opened_at, open_until = snapshot["opened_at"], snapshot["open_until"]
            # Jitter only lengthens the open time; backoff never shortens it.
            assert open_until - opened_at >= config.reset_timeout * (1 - 1e-12)
        elif state == HALF_OPEN:
            admitted, inflight = snapshot["probes_admitted"], snapshot["probes_inflight"]
            successes, failures = snapshot["probe_successes"], snapshot["probe_failures"]
            assert 0 <= inflight <= admitted
            assert successes >= 0 and failures >= 0
            if config.half_open_limit == "per_episode":
                assert admitted <= config.half_open_max_calls
            else:
                assert inflight <= config.half_open_max_calls
            if config.close_rule == "consecutive":
                # Any probe failure re-opens; reaching success_threshold closes.
                assert failures == 0
                assert successes < config.success_threshold
            else:
                assert successes + failures < config.half_open_max_calls

    # ----------------------------------------------------------------------------------------
    # Helpers

    def formal_snapshot(self) -> dict[str, Any]:
        """The breaker's snapshot, typed loosely: values are compared, not type-checked."""
        return dict(self.breaker.snapshot())

    def _begin(self) -> float:
        """Start a step: forget last step's announcements and read the clock."""
        self.recorder.changes.clear()
        self.recorder.rejections.clear()
        self._generation_before = self.oracle.generation
        self._state_before = self.oracle.state
        return self.clock()

    def _check_changes(self, now: float) -> None:
        """Check that the step announced exactly the state changes the oracle made."""
        changes = self.recorder.changes
        expected = self.oracle.generation - self._generation_before
        assert len(changes) <= 1, f"one operation made {len(changes)} state changes: {changes}"
        assert len(changes) == expected, (
            f"listener saw {len(changes)} state changes, the oracle made {expected}"
        )
        if changes:
            change = changes[0]
            announced = (str(change.source), str(change.dest), change.generation, change.time)
            modelled = (self._state_before, self.oracle.state, self.oracle.generation, now)
            assert announced == modelled, (
                f"announced change (source, dest, generation, time) {announced}, "
                f"oracle made {modelled}"
            )

    def _admit(self) -> HeldPermit | None:
        """Acquire on both sides and compare; return the permit, or None if rejected."""
        before = self.formal_snapshot()
        now = self._begin()
        expected = self.oracle.acquire(now)
        try:
            permit = self.breaker.acquire()
        except CircuitOpenError as error:
            self._check_changes(now)
            assert isinstance(expected, OracleRejection), (
                f"breaker rejected the call (state={error.state}, remaining_s="
                f"{error.remaining_s}) but the oracle admits it: {expected}"
            )
            actual_rejection = OracleRejection(str(error.state), error.remaining_s)
            assert actual_rejection == expected, (
                f"rejection differs: breaker {actual_rejection}, oracle {expected}"
            )
            announced = [
                (OracleRejection(str(r.state), r.remaining_s), r.time)
                for r in self.recorder.rejections
            ]
            assert announced == [(expected, now)], (
                f"listener saw rejections {announced}, expected one {expected} at t={now}"
            )
            return None
        self._check_changes(now)
        assert not self.recorder.rejections, "an admitted call was announced as rejected"
        assert isinstance(expected, OraclePermit), (
            f"breaker admitted {permit!r} but the oracle rejects the call: {expected}"
        )
        actual = OraclePermit(
            permit.generation, str(permit.state), permit.is_probe, permit.acquired_at
        )
        assert actual == expected, f"permit differs: breaker {actual}, oracle {expected}"
        if before["state"] == OPEN:
            # Independent of the oracle: open admits nothing before its deadline.
            deadline = before["open_until"]
            reached = now >= deadline if self.config.admit_at_deadline else now > deadline
            assert reached, f"admitted at t={now} while open until {deadline}"
        return HeldPermit(permit, expected)

    def _operate(self, model_op: Callable[[float], None], breaker_op: Callable[[], Any]) -> None:
        """Apply one manual operation to both sides."""
        now = self._begin()
        model_op(now)
        breaker_op()
        self._check_changes(now)

    def _settle(self, held: HeldPermit, kind: Kind, settle: Callable[[], None]) -> None:
        """Settle a permit on both sides, then check the contract's postconditions."""
        before = self.formal_snapshot()
        now = self._begin()
        stale = held.expected.generation != self.oracle.generation
        counted = self.oracle.effective_kind(held.expected, kind, now)
        self.oracle.record(held.expected, kind, now)
        settle()
        self._check_changes(now)
        after = self.formal_snapshot()
        config = self.config

        if stale and config.late_result == "ignore":
            assert after == before, f"a stale permit changed the breaker: {before} -> {after}"

        if not stale and before["state"] == CLOSED and config.trip_rule == "consecutive":
            if counted != "release":
                should_trip = (
                    counted == "failure" and before["consecutive_failures"] + 1 >= config.fail_max
                )
                tripped = str(after["state"]) == OPEN
                assert tripped == should_trip, (
                    f"closed with {before['consecutive_failures']} consecutive failures, "
                    f"a counted {counted} {'tripped' if tripped else 'did not trip'} "
                    f"(fail_max={config.fail_max})"
                )

        if (
            not stale
            and before["state"] == HALF_OPEN
            and config.close_rule == "consecutive"
            and counted == "failure"
        ):
            assert str(after["state"]) == OPEN, "a probe failure did not re-open"
            assert after["opened_at"] == now, (
                f"a probe failure at t={now} re-opened with opened_at={after['opened_at']}"
            )

    def _advance_to(self, target: float) -> None:
        """Move the clock to exactly ``target`` when floats allow, else to just past it."""
        now = self.clock()
        step = target - now
        for candidate in (step, math.nextafter(step, math.inf), math.nextafter(step, -math.inf)):
            if now + candidate == target and candidate >= 0:
                step = candidate
                break
        self.clock.advance(step)

    def _expected_snapshot(self) -> dict[str, Any]:
        """The snapshot entries the oracle predicts for its current state."""
        oracle = self.oracle
        expected: dict[str, Any] = {"state": oracle.state, "generation": oracle.generation}
        if oracle.state == CLOSED:
            expected["consecutive_failures"] = oracle.consecutive_failures
            expected["next_open_duration"] = oracle.next_open_duration
        elif oracle.state == OPEN:
            expected["opened_at"] = oracle.opened_at
            expected["open_until"] = oracle.open_until
            expected["next_open_duration"] = oracle.next_open_duration
        elif oracle.state == HALF_OPEN:
            expected["half_open_since"] = oracle.half_open_since
            expected["probes_admitted"] = oracle.probes_admitted
            expected["probes_inflight"] = oracle.probes_inflight
            expected["probe_successes"] = oracle.probe_successes
            expected["probe_failures"] = oracle.probe_failures
            expected["next_open_duration"] = oracle.next_open_duration
        return expected


TestBreakerComparison = BreakerComparison.TestCase
TestBreakerComparison.__doc__ = "The breaker agrees with the oracle on every generated program."


# --------------------------------------------------------------------------------------------
# Hand-written programs for deep paths that random programs reach only rarely (late results
# arriving in a later episode). They run the same rules and checks as the generated programs.


class Replay:
    """Runs ``BreakerComparison`` rules by hand, checking its invariants after each step."""

    def __init__(self, **options: Any) -> None:
        """Build the machine from ``options`` (``BreakerConfig`` keyword arguments).

        Args:
            **options: Configuration options, as the ``build`` rule receives them.
        """
        self.machine = BreakerComparison()
        self.machine.build(options=options)
        self._check()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        """Return the rule ``name`` wrapped so that the invariants run after it."""
        rule_function = getattr(self.machine, name)

        def step(*args: Any, **kwargs: Any) -> Any:
            result = rule_function(*args, **kwargs)
            self._check()
            return result

        return step

    def _check(self) -> None:
        self.machine.agrees_with_oracle()
        self.machine.counters_within_bounds()

    @property
    def snapshot(self) -> dict[str, Any]:
        """The breaker's current snapshot."""
        return self.machine.formal_snapshot()


def test_stale_probe_success_closes_a_later_episode_under_admitting_state() -> None:
    """A probe success from an earlier half-open episode closes the current one at once."""
    state = Replay(
        fail_max=1, reset_timeout=1.0, half_open_max_calls=2, success_threshold=2,
        late_result="admitting_state",
    )
    state.record_failure(held=state.acquire())
    state.advance_to_open_deadline()
    early_probe, failing_probe = state.acquire(), state.acquire()
    state.record_failure(held=failing_probe)
    state.advance_to_open_deadline()
    state.acquire()
    state.record_success(held=early_probe)
    assert state.snapshot["state"] == CLOSED


def test_stale_probe_failure_reopens_closed_under_admitting_state() -> None:
    """A probe failure arriving after its episode closed re-opens the breaker at that time."""
    state = Replay(
        fail_max=1, reset_timeout=1.0, half_open_max_calls=2, late_result="admitting_state"
    )
    state.record_failure(held=state.acquire())
    state.advance_to_open_deadline()
    late_probe, closing_probe = state.acquire(), state.acquire()
    state.record_success(held=closing_probe)
    state.advance(dt=0.5)
    state.record_failure(held=late_probe)
    assert state.snapshot["state"] == OPEN
    assert state.snapshot["opened_at"] == 1.5


def test_stale_probe_success_closes_open_under_admitting_state() -> None:
    """A probe success arriving after its episode re-opened closes the breaker."""
    state = Replay(
        fail_max=1, reset_timeout=1.0, half_open_max_calls=2, late_result="admitting_state"
    )
    state.record_failure(held=state.acquire())
    state.advance_to_open_deadline()
    late_probe, failing_probe = state.acquire(), state.acquire()
    state.record_failure(held=failing_probe)
    state.record_success(held=late_probe)
    assert state.snapshot["state"] == CLOSED


def test_stale_closed_failure_restarts_open_under_admitting_state() -> None:
    """A late failure of a call admitted while closed restarts the open timer (open -> open)."""
    state = Replay(fail_max=1, reset_timeout=1.0, late_result="admitting_state")
    late_call = state.acquire()
    state.record_failure(held=state.acquire())
    state.advance(dt=0.5)
    state.record_failure(held=late_call)
    assert state.snapshot["state"] == OPEN
    assert state.snapshot["generation"] == 2
    assert state.snapshot["opened_at"] == 0.5


def test_stale_outcome_counts_toward_rate_decision_under_current_state() -> None:
    """Under current_state a late failure counts toward the half-open rate decision."""
    state = Replay(
        fail_max=1, reset_timeout=1.0, half_open_max_calls=2, close_rule="rate",
        failure_rate_threshold=0.5, late_result="current_state",
    )
    late_call = state.acquire()
    state.record_failure(held=state.acquire())
    state.advance_to_open_deadline()
    probe = state.acquire()
    state.record_failure(held=late_call)
    assert state.snapshot["probe_failures"] == 1
    state.record_success(held=probe)
    assert state.snapshot["state"] == OPEN


def test_call_admitted_while_disabled_changes_nothing_later_under_admitting_state() -> None:
    """An outcome of a call admitted while disabled changes nothing once the breaker is enabled."""
    state = Replay(fail_max=1, late_result="admitting_state")
    state.manual(operation="disable")
    late_call = state.acquire()
    state.manual(operation="reset")
    before = state.snapshot
    state.record_failure(held=late_call)
    assert state.snapshot == before


def test_concurrent_limit_admits_a_probe_once_another_settles() -> None:
    """With a concurrent limit, a settled probe that did not decide the episode frees a slot."""
    state = Replay(
        fail_max=1, reset_timeout=1.0, half_open_max_calls=2, half_open_limit="concurrent",
        success_threshold=3,
    )
    state.record_failure(held=state.acquire())
    state.advance_to_open_deadline()
    first, _second = state.acquire(), state.acquire()
    assert not isinstance(state.acquire(), HeldPermit)
    state.record_success(held=first)
    assert isinstance(state.acquire(), HeldPermit)
    assert state.snapshot["state"] == HALF_OPEN
    assert state.snapshot["probes_inflight"] == 2


def test_outcome_exactly_window_duration_old_leaves_the_time_window() -> None:
    """An outcome recorded exactly window_duration seconds ago no longer counts."""
    state = Replay(
        trip_rule="time_window", window_duration=1.0, minimum_calls=2, failure_rate_threshold=1.0
    )
    state.call_fails(duration=0.0)
    state.advance(dt=1.0)
    state.call_fails(duration=0.0)
    assert state.snapshot["state"] == CLOSED
    state.call_fails(duration=0.0)
    assert state.snapshot["state"] == OPEN


def test_manual_trip_restarts_open_and_half_open_admits_probes_at_once() -> None:
    """trip() while open re-opens (a new generation, the period restarted); half_open() from
    forced_open admits a probe before any deadline, and that probe's success closes."""
    state = Replay(fail_max=3, reset_timeout=2.0, jitter_ratio=0.5)
    state.manual(operation="trip")
    state.advance(dt=1.0)
    state.manual(operation="trip")
    assert state.snapshot["state"] == OPEN and state.snapshot["generation"] == 2
    assert state.snapshot["opened_at"] == 1.0
    state.manual(operation="force_open")
    state.manual(operation="half_open")
    state.manual(operation="half_open")  # already half-open: nothing
    assert state.snapshot["generation"] == 4
    state.record_success(held=state.acquire())
    assert state.snapshot["state"] == CLOSED

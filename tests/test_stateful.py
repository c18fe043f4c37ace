"""Model-based test: the breaker and the oracle of tests/oracle.py run side by side and must agree after every step.

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
from strategies import config_options, errors, time_steps

from breakerlab.model import (
    Breaker,
    BreakerConfig,
    BreakerListener,
    CircuitOpenError,
    ManualClock,
    Permit,
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
    """A listener that keeps the state changes announced during the current step."""

    def __init__(self) -> None:
        """Start with no recorded changes."""
        self.changes: list[StateChange] = []

    def state_change(self, change: StateChange) -> None:
        """Record one announced state change.

        Args:
            change: The change the breaker announced.
        """
        self.changes.append(change)


class BreakerComparison(RuleBasedStateMachine):
    """Drives a ``Breaker`` and an ``Oracle`` with the same operations and compares them.

    Class attributes:
        TABLE: The transition table given to the breaker (swapped by the mutant tests).
    """

    TABLE: ClassVar[Any] = TABLE
    MANUAL_OPERATIONS: ClassVar[int] = 2
    """How many ``force_open``/``disable``/``reset`` (from an automatic state) one program may
    make. Manual states admit nothing of interest, so unlimited manual operations would spend
    most steps there; a ``reset`` that leaves ``forced_open`` or ``disabled`` is always allowed."""
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
        before = self.breaker.snapshot()
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
            return multiple()
        self._check_changes(now)
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

    # ----------------------------------------------------------------------------------------
    # Time

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

    @precondition(lambda self: self.manual_operations_left > 0)
    @rule()
    def force_open(self) -> None:
        """Force the breaker open."""
        self.manual_operations_left -= 1
        self._operate(self.oracle.force_open, self.breaker.force_open)

    @precondition(lambda self: self.manual_operations_left > 0)
    @rule()
    def disable(self) -> None:
        """Disable the breaker."""
        self.manual_operations_left -= 1
        self._operate(self.oracle.disable, self.breaker.disable)

    @precondition(
        lambda self: self.manual_operations_left > 0 or self.oracle.state in MANUAL_STATES
    )
    @rule()
    def reset(self) -> None:
        """Reset the breaker to closed."""
        if self.oracle.state not in MANUAL_STATES:
            self.manual_operations_left -= 1
        self._operate(self.oracle.reset, self.breaker.reset)

    # ----------------------------------------------------------------------------------------
    # Invariants

    @invariant()
    def agrees_with_oracle(self) -> None:
        """The breaker's state, generation and relevant counters equal the oracle's."""
        snapshot = self.breaker.snapshot()
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
        snapshot = self.breaker.snapshot()
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

    def _begin(self) -> float:
        """Start a step: forget last step's announcements and read the clock."""
        self.recorder.changes.clear()
        self._generation_before = self.oracle.generation
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
            assert str(changes[0].dest) == self.oracle.state, (
                f"announced change to {changes[0].dest}, oracle is {self.oracle.state}"
            )
            assert changes[0].time == now

    def _operate(self, model_op: Callable[[float], None], breaker_op: Callable[[], Any]) -> None:
        """Apply one manual operation to both sides."""
        now = self._begin()
        model_op(now)
        breaker_op()
        self._check_changes(now)

    def _settle(self, held: HeldPermit, kind: Kind, settle: Callable[[], None]) -> None:
        """Settle a permit on both sides, then check the contract's postconditions."""
        before = self.breaker.snapshot()
        now = self._begin()
        stale = held.expected.generation != self.oracle.generation
        counted = self.oracle.effective_kind(held.expected, kind, now)
        self.oracle.record(held.expected, kind, now)
        settle()
        self._check_changes(now)
        after = self.breaker.snapshot()
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

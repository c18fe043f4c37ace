"""A plain, obviously-correct reimplementation of model/SEMANTICS.md for the stateful tests.

The oracle is written for reading, not for speed: every operation is a chain of ``if``s on the
current state, in the order SEMANTICS.md describes them, with no transition table. It does not
import the breaker's implementation; it only reads a ``BreakerConfig`` (the configuration object
is part of the contract, not of the implementation).

Exact numeric formulas (shared with the implementation, so floats agree bit for bit):

* open durations: ``d0 = reset_timeout``; after each opening ``d = min(d * backoff_factor,
  backoff_cap)`` for ``"exponential"`` (``backoff_cap=None`` is ``math.inf``), unchanged for
  ``"fixed"``; back to ``reset_timeout`` whenever ``closed`` is entered.
* jitter: one ``random.Random(jitter_seed)`` made at construction; at each opening
  ``u = rng.random() * jitter_ratio`` if ``jitter_ratio > 0`` else ``0.0`` (no draw), and
  ``open_until = now + d * (1.0 + u)``.
* rates: a threshold is ``Fraction(threshold).limit_denominator(1_000_000) = num / den``;
  ``bad / calls`` meets it iff ``bad * den >= num * calls`` (``trip_on_equal_rate``) or
  ``bad * den > num * calls``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from breakerlab.model import BreakerConfig

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
FORCED_OPEN = "forced_open"
DISABLED = "disabled"

Kind = Literal["success", "failure", "release"]
"""How a settled permit is counted: a success, a failure, or not at all (released)."""


@dataclass(frozen=True)
class OraclePermit:
    """What the oracle expects ``acquire()`` to return when it admits a call.

    Attributes:
        generation: The breaker generation at admission (after any state change the
            ``acquire()`` itself made).
        state: The state that admitted the call.
        is_probe: Whether the call is a half-open probe.
        acquired_at: Admission time, seconds on the injected clock.
    """

    generation: int
    state: str
    is_probe: bool
    acquired_at: float


@dataclass(frozen=True)
class OracleRejection:
    """What the oracle expects ``acquire()`` to raise when it rejects a call.

    Attributes:
        state: The state that rejected the call.
        remaining_s: Seconds until a probe can be admitted (``0.0`` in half-open,
            ``math.inf`` when forced open).
    """

    state: str
    remaining_s: float


def rate_meets(bad: int, calls: int, threshold: float, *, or_equal: bool) -> bool:
    """Tell whether ``bad / calls`` reaches ``threshold``, compared exactly.

    Args:
        bad: Number of bad outcomes (failures or slow calls).
        calls: Number of outcomes; at least 1.
        threshold: The rate threshold, a fraction in (0, 1].
        or_equal: Whether a rate exactly equal to the threshold counts as reaching it.

    Returns:
        True if the rate meets the threshold.
    """
    exact = Fraction(threshold).limit_denominator(1_000_000)
    num, den = exact.numerator, exact.denominator
    if or_equal:
        return bad * den >= num * calls
    return bad * den > num * calls


class Oracle:
    """Reference model of one breaker, driven with explicit times.

    Invariants: ``generation`` increases by exactly one on every state change; time never runs
    back (the oracle uses the largest time it was given). All times are seconds.

    Attributes:
        state: Current state name (``"closed"``, ``"open"``, ``"half_open"``,
            ``"forced_open"``, ``"disabled"``).
        generation: Number of state changes since construction.
        consecutive_failures: Counted failures since the last counted success (closed).
        opened_at: Time of the latest opening.
        open_until: Deadline of the latest opening.
        next_open_duration: Open duration (before jitter) of the next opening.
        half_open_since: Time the current half-open episode began.
        probes_admitted: Probes admitted in this episode and not released.
        probes_inflight: Probes admitted in this episode and not yet settled.
        probe_successes: Probe successes counted in this episode.
        probe_failures: Probe failures counted in this episode.
    """

    def __init__(self, config: BreakerConfig) -> None:
        """Start closed with generation 0, as a new breaker does.

        Args:
            config: The configuration; only its fields are read.
        """
        self.config = config
        self._rng = random.Random(config.jitter_seed)
        self._latest_time = -math.inf
        # (time, failure, slow) for each counted outcome in closed, oldest first.
        self._window: list[tuple[float, bool, bool]] = []
        self.state = CLOSED
        self.generation = 0
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.open_until: float | None = None
        self.next_open_duration: float = config.reset_timeout
        self.half_open_since: float | None = None
        self.probes_admitted = 0
        self.probes_inflight = 0
        self.probe_successes = 0
        self.probe_failures = 0

    def __repr__(self) -> str:
        """Show the state and the counters that matter in it."""
        return f"Oracle({self.describe()})"

    def describe(self) -> str:
        """Return the state and its relevant counters as ``name=value`` pairs."""
        parts = [f"state={self.state}", f"generation={self.generation}"]
        if self.state == CLOSED:
            parts.append(f"consecutive_failures={self.consecutive_failures}")
            parts.append(f"window={self._window}")
        if self.state == OPEN:
            parts.append(f"opened_at={self.opened_at}, open_until={self.open_until}")
        if self.state == HALF_OPEN:
            parts.append(
                f"half_open_since={self.half_open_since}, admitted={self.probes_admitted}, "
                f"inflight={self.probes_inflight}, successes={self.probe_successes}, "
                f"failures={self.probe_failures}"
            )
        return ", ".join(parts)

    # ----------------------------------------------------------------------------------------
    # Public operations (each takes the clock reading of that operation)

    def acquire(self, now: float) -> OraclePermit | OracleRejection:
        """Model ``Breaker.acquire()``.

        Args:
            now: The clock reading.

        Returns:
            The expected permit, or the expected rejection.
        """
        now = self._tick(now)
        if self.state == CLOSED or self.state == DISABLED:
            return OraclePermit(self.generation, self.state, False, now)
        if self.state == FORCED_OPEN:
            return OracleRejection(FORCED_OPEN, math.inf)
        if self.state == OPEN:
            if self._deadline_reached(now):
                self._change_state(HALF_OPEN, now)
                self.probes_admitted = 1
                self.probes_inflight = 1
                return OraclePermit(self.generation, HALF_OPEN, True, now)
            assert self.open_until is not None
            return OracleRejection(OPEN, self.open_until - now)
        # half_open
        if self._half_open_wait_expired(now):
            self._change_state(OPEN, now)
            assert self.open_until is not None
            return OracleRejection(OPEN, self.open_until - now)
        if self._probe_slot_free():
            self.probes_admitted += 1
            self.probes_inflight += 1
            return OraclePermit(self.generation, HALF_OPEN, True, now)
        return OracleRejection(HALF_OPEN, 0.0)

    def record(self, permit: OraclePermit, kind: Kind, now: float) -> None:
        """Model settling a permit: ``record_success``, ``record_failure`` or ``release``.

        Args:
            permit: The oracle's view of the permit being settled.
            kind: ``"success"``, ``"failure"`` (counted failure) or ``"release"``.
            now: The clock reading.
        """
        now = self._tick(now)
        kind = self.effective_kind(permit, kind, now)
        duration = now - permit.acquired_at
        if permit.generation == self.generation:
            self._record_current(kind, duration, now)
        elif self.config.late_result == "ignore":
            pass
        elif self.config.late_result == "current_state":
            self._record_stale_in_current_state(kind, duration, now)
        else:
            self._record_stale_by_admitting_state(permit, kind, duration, now)

    def poll(self, now: float) -> None:
        """Model ``Breaker.poll()``.

        Args:
            now: The clock reading.
        """
        now = self._tick(now)
        if self.state == OPEN:
            if self.config.half_open_entry == "at_deadline" and self._deadline_reached(now):
                self._change_state(HALF_OPEN, now)
        elif self.state == HALF_OPEN:
            if self._half_open_wait_expired(now):
                self._change_state(OPEN, now)

    def force_open(self, now: float) -> None:
        """Model ``Breaker.force_open()``.

        Args:
            now: The clock reading.
        """
        now = self._tick(now)
        if self.state != FORCED_OPEN:
            self._change_state(FORCED_OPEN, now)

    def trip(self, now: float) -> None:
        """Model ``Breaker.trip()``: open now, from any state, as a tripped breaker does (an
        opening like any other; from open a real restart of the open period).

        Args:
            now: The clock reading.
        """
        now = self._tick(now)
        self._change_state(OPEN, now)

    def half_open(self, now: float) -> None:
        """Model ``Breaker.half_open()``: enter half-open now with no probe admitted yet,
        whatever the deadline; nothing when already half-open.

        Args:
            now: The clock reading.
        """
        now = self._tick(now)
        if self.state != HALF_OPEN:
            self._change_state(HALF_OPEN, now)

    def disable(self, now: float) -> None:
        """Model ``Breaker.disable()``.

        Args:
            now: The clock reading.
        """
        now = self._tick(now)
        if self.state != DISABLED:
            self._change_state(DISABLED, now)

    def reset(self, now: float) -> None:
        """Model ``Breaker.reset()``: always a state change, even from closed.

        Args:
            now: The clock reading.
        """
        now = self._tick(now)
        self._change_state(CLOSED, now)

    # ----------------------------------------------------------------------------------------
    # Classification

    def classify_error(self, error: BaseException) -> Kind:
        """Classify an exception given to ``record_failure`` (SEMANTICS.md, outcome classification).

        Args:
            error: The exception the call raised.

        Returns:
            ``"failure"``, ``"release"``, or ``"success"`` (an uncounted error under
            ``excluded_outcome="success"``).
        """
        if not isinstance(error, Exception):
            # a cancellation: released unless cancellation_outcome counts it
            return {"failure": "failure", "success": "success"}.get(str(self.config.cancellation_outcome), "release")
        if isinstance(error, tuple(self.config.excluded_exceptions)):
            return self._uncounted()
        if isinstance(error, tuple(self.config.failure_exceptions)):
            if self.config.is_failure is None or self.config.is_failure(error):
                return "failure"
        return self._uncounted()

    def _uncounted(self) -> Kind:
        if self.config.excluded_outcome == "success":
            return "success"
        return "release"

    def effective_kind(self, permit: OraclePermit, kind: Kind, now: float) -> Kind:
        """Apply ``call_timeout``: a success that took strictly too long is a failure.

        Args:
            permit: The permit being settled.
            kind: The outcome as reported.
            now: The clock reading at settlement.

        Returns:
            The outcome that is counted.
        """
        timeout = self.config.call_timeout
        if kind == "success" and timeout is not None and now - permit.acquired_at > timeout:
            return "failure"
        return kind

    # ----------------------------------------------------------------------------------------
    # Settling: current permits, then the two late-result policies that do something

    def _record_current(self, kind: Kind, duration: float, now: float) -> None:
        # A current permit was admitted by the current state (any state change bumps the
        # generation), and open / forced_open admit nothing, so only three states remain.
        if self.state == CLOSED:
            if kind != "release":
                self._count_in_closed(kind == "failure", duration, now)
        elif self.state == HALF_OPEN:
            # Every call admitted in half-open is a probe of this episode.
            self.probes_inflight -= 1
            if kind == "release":
                self.probes_admitted -= 1  # a released probe frees its slot
            else:
                self._count_probe_outcome(kind == "failure", now)
        # disabled: nothing is counted.

    def _record_stale_in_current_state(self, kind: Kind, duration: float, now: float) -> None:
        if kind == "release":
            return
        if self.state == CLOSED:
            self._count_in_closed(kind == "failure", duration, now)
        elif self.state == HALF_OPEN:
            # Counts toward the decision without having held a probe slot.
            self._count_probe_outcome(kind == "failure", now)
        # open, forced_open, disabled: nothing.

    def _record_stale_by_admitting_state(
        self, permit: OraclePermit, kind: Kind, duration: float, now: float
    ) -> None:
        admitted_in = permit.state
        if kind == "release":
            return
        if admitted_in != CLOSED and admitted_in != HALF_OPEN:
            return  # e.g. admitted while disabled: changes nothing
        if kind == "failure":
            if self.state == OPEN or self.state == HALF_OPEN:
                self._change_state(OPEN, now)  # open -> open is a real restart
            elif self.state == CLOSED:
                if admitted_in == HALF_OPEN:
                    self._change_state(OPEN, now)
                else:
                    self._count_in_closed(True, duration, now)
        else:  # success
            if admitted_in == HALF_OPEN and (self.state == OPEN or self.state == HALF_OPEN):
                self._change_state(CLOSED, now)
            elif admitted_in == CLOSED and self.state == CLOSED:
                self._count_in_closed(False, duration, now)

    # ----------------------------------------------------------------------------------------
    # Counting rules

    def _count_in_closed(self, failure: bool, duration: float, now: float) -> None:
        config = self.config
        if failure:
            self.consecutive_failures += 1
        else:
            self.consecutive_failures = 0

        if config.trip_rule == "consecutive":
            if failure and self.consecutive_failures >= config.fail_max:
                self._change_state(OPEN, now)
            return

        slow_threshold = config.slow_call_duration_threshold
        slow = slow_threshold is not None and duration > slow_threshold
        self._window.append((now, failure, slow))
        if config.trip_rule == "count_window":
            self._window = self._window[-config.window_size :]
        else:  # time_window
            self._window = [o for o in self._window if o[0] > now - config.window_duration]

        calls = len(self._window)
        failures = sum(1 for _, f, _ in self._window if f)
        slows = sum(1 for _, _, s in self._window if s)
        if calls < config.minimum_calls:
            return
        or_equal = config.trip_on_equal_rate
        too_many_failures = rate_meets(
            failures, calls, config.failure_rate_threshold, or_equal=or_equal
        )
        too_many_slow = slow_threshold is not None and rate_meets(
            slows, calls, config.slow_call_rate_threshold, or_equal=or_equal
        )
        if too_many_failures or too_many_slow:
            self._change_state(OPEN, now)

    def _count_probe_outcome(self, failure: bool, now: float) -> None:
        config = self.config
        if failure:
            self.probe_failures += 1
        else:
            self.probe_successes += 1

        if config.close_rule == "consecutive":
            if failure:
                self._change_state(OPEN, now)
            elif self.probe_successes >= config.success_threshold:
                self._change_state(CLOSED, now)
            return

        # close_rule == "rate": decide once enough outcomes are in.
        decided = self.probe_successes + self.probe_failures
        if decided >= config.half_open_max_calls:
            if rate_meets(
                self.probe_failures,
                decided,
                config.failure_rate_threshold,
                or_equal=config.trip_on_equal_rate,
            ):
                self._change_state(OPEN, now)
            else:
                self._change_state(CLOSED, now)

    # ----------------------------------------------------------------------------------------
    # Predicates on time and slots

    def _deadline_reached(self, now: float) -> bool:
        assert self.open_until is not None
        if self.config.admit_at_deadline:
            return now >= self.open_until
        return now > self.open_until

    def _half_open_wait_expired(self, now: float) -> bool:
        max_wait = self.config.half_open_max_wait
        if max_wait is None:
            return False
        assert self.half_open_since is not None
        return now >= self.half_open_since + max_wait

    def _probe_slot_free(self) -> bool:
        if self.config.half_open_limit == "per_episode":
            return self.probes_admitted < self.config.half_open_max_calls
        return self.probes_inflight < self.config.half_open_max_calls

    # ----------------------------------------------------------------------------------------
    # State changes

    def _tick(self, now: float) -> float:
        self._latest_time = max(self._latest_time, now)
        return self._latest_time

    def _change_state(self, new_state: str, now: float) -> None:
        self.generation += 1
        self.state = new_state
        if new_state == CLOSED:
            self.consecutive_failures = 0
            self._window = []
            self.next_open_duration = self.config.reset_timeout
        elif new_state == OPEN:
            self._open(now)
        elif new_state == HALF_OPEN:
            self.half_open_since = now
            self.probes_admitted = 0
            self.probes_inflight = 0
            self.probe_successes = 0
            self.probe_failures = 0
        # forced_open and disabled keep every counter as it is.

    def _open(self, now: float) -> None:
        config = self.config
        if config.jitter_ratio > 0:
            u = self._rng.random() * config.jitter_ratio
        else:
            u = 0.0
        self.opened_at = now
        self.open_until = now + self.next_open_duration * (1.0 + u)
        if config.open_duration_policy == "exponential":
            cap = math.inf if config.backoff_cap is None else config.backoff_cap
            self.next_open_duration = min(self.next_open_duration * config.backoff_factor, cap)

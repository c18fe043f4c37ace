"""``Breaker``: the reference circuit breaker, executing the transition table on an injected clock.

Admission and outcome are separate steps because calls overlap::

    permit = breaker.acquire()          # or CircuitOpenError
    breaker.record_success(permit)      # or record_failure(permit, error) / release(permit)

Every event is resolved against the table compiled for this breaker's configuration. When the
row taken does not change state (admitting or recording a call in the closed state, the common
case), the compiled dispatch function performs it directly. When it changes state, the
``transitions`` machine built from the same table performs it, and the breaker checks that the
machine took the very row the dispatch selected.

A ``Breaker`` is not thread-safe: one thread or event loop drives it (the simulator does).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from transitions import Machine

from .classify import Classification, classify_exception
from .clock import Clock
from .config import BreakerConfig, ExcludedOutcome, TripError, TripRule
from .errors import CircuitOpenError, PermitError, TableError
from .events import Outcome, Rejection, StateChange

#: The methods a listener may have (each optional).
LISTENER_METHODS = ("state_change", "rejection", "success", "failure")
from .expr import Value, evaluate
from .machine import build_machine
from .permit import BreakerStats, Permit
from .pycompile import CompiledTable, compile_table
from .states import State
from .table import TABLE, VARIABLES, Table, Verdict
from .window import CountWindow, TimeWindow

__all__ = ["Breaker", "BreakerStats", "Permit"]

P = ParamSpec("P")
R = TypeVar("R")


class _Core:
    """The ``transitions`` model: the current state and the formal state variables."""

    state: State
    row_taken: int
    generation: int
    consecutive_failures: int
    opened_at: float
    open_until: float
    next_open_duration: float
    half_open_since: float
    probes_admitted: int
    probes_inflight: int
    probe_successes: int
    probe_failures: int


class _EventArgs:
    """The arguments of the event being processed (one reusable instance per breaker)."""

    __slots__ = (
        "now",
        "permit_generation",
        "permit_state",
        "window_calls",
        "window_failures",
        "window_slow",
        "failed",
        "slow",
        "_rng",
        "_jitter_ratio",
    )

    def __init__(self, rng: random.Random, jitter_ratio: float) -> None:
        self.now = 0.0
        self.permit_generation = -1
        self.permit_state = State.CLOSED
        self.window_calls = self.window_failures = self.window_slow = 0
        self.failed = self.slow = False
        self._rng = rng
        self._jitter_ratio = jitter_ratio

    def jitter(self) -> float:
        """The fraction added to this opening's duration; draws only when jitter is on."""
        if self._jitter_ratio > 0:
            return self._rng.random() * self._jitter_ratio
        return 0.0


class Breaker:
    """A circuit breaker whose behaviour is the transition table ``TABLE``.

    Args:
        config: Options (``BreakerConfig()`` when omitted: the article's defaults).
        clock: The only source of time: a callable returning seconds (``ManualClock`` in
            tests, ``MonotonicClock`` in real use, the simulator's virtual time).
        table: An alternative table (seeded mutants use this); defaults to ``TABLE``.
        name: Shown in ``repr`` and messages.

    Invariants (proved in ``proofs/``, tested in ``tests/``): no call is admitted while open
    before the deadline; half-open never admits more than ``half_open_max_calls`` probes; the
    breaker opens exactly when the trip rule is met; a stale permit changes nothing under the
    default late-result policy; each event performs at most one state change.
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        clock: Clock,
        table: Table = TABLE,
        name: str = "breaker",
        fast_path: bool = True,
    ) -> None:
        if not callable(clock):
            raise TypeError(f"'clock' must be a callable returning seconds, e.g. ManualClock() (got {clock!r})")
        self.config = config if config is not None else BreakerConfig()
        self.name = name
        self._clock_object = clock
        # A clock may offer a faster function giving the same readings (MonotonicClock does).
        self._clock: Clock = getattr(clock, "reading_function", clock)
        self._clock_never_runs_back = bool(getattr(clock, "never_runs_back", False))
        self._table = table
        params = self.config.table_params()
        self._compiled: CompiledTable = compile_table(table, params)

        window: CountWindow | TimeWindow | None = None
        if self.config.trip_rule is TripRule.COUNT_WINDOW:
            window = CountWindow(self.config.window_size)
        elif self.config.trip_rule is TripRule.TIME_WINDOW:
            window = TimeWindow(self.config.window_duration)
        self._window = window

        core = _Core()
        for variable, initial in VARIABLES.items():
            setattr(core, variable, evaluate(initial, params))
        core.row_taken = -1
        self._core = core
        self._machine: Machine = build_machine(core, self._compiled, window)
        self._args = _EventArgs(random.Random(self.config.jitter_seed), self.config.jitter_ratio)

        rows = table.rows
        self._changes = tuple(row.dest is not None for row in rows)
        self._trivial_admission = self._state_admitting_trivially() if fast_path else None
        self._verdicts = tuple(row.verdict for row in rows)
        dispatch = self._compiled.dispatch
        self._fast_path = fast_path
        self._acquire = {s: dispatch[s]["acquire"] for s in State}
        self._success = {s: dispatch[s]["record_success"] for s in State}
        self._success_kernels = {s: self._compiled.kernels.get((s, "record_success")) for s in State}
        self._failure = {s: dispatch[s]["record_failure"] for s in State}
        self._release = {s: dispatch[s]["release"] for s in State}
        self._triggers: dict[str, Callable[..., bool]] = {
            trigger: getattr(core, trigger) for trigger in {r.trigger for r in rows}
        }
        self._call_timeout = self.config.call_timeout
        self._slow_threshold = self.config.slow_call_duration_threshold
        self._last_now = -math.inf
        self._next_id = 0
        self._admitted = self._successes = self._failures = self._released = 0
        self._rejections = self._state_changes = 0
        self._on_state_change: list[Callable[[StateChange], object]] = []
        self._on_rejection: list[Callable[[Rejection], object]] = []
        self._on_success: list[Callable[[Outcome], object]] = []
        self._on_failure: list[Callable[[Outcome], object]] = []
        self._plain_success = self._success_is_plain()

    def _state_admitting_trivially(self) -> State | None:
        """``closed`` if, under this configuration, the table's only live ``acquire`` row in
        ``closed`` admits with no action and no state change; else ``None``."""
        live = self._compiled.live_rows[(State.CLOSED, "acquire")]
        if len(live) != 1:
            return None
        row = self._table.rows[live[0]]
        if row.dest is None and not row.actions and row.verdict is Verdict.ADMIT:
            return State.CLOSED
        return None

    # -- reading -----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state (reading it never changes it, even past the open deadline)."""
        return self._core.state

    @property
    def generation(self) -> int:
        """Number of state changes so far; permits from earlier generations are stale."""
        return self._core.generation

    @property
    def consecutive_failures(self) -> int:
        """Counted failures since the last success (consecutive trip rule, closed state)."""
        return self._core.consecutive_failures

    @property
    def last_event_time(self) -> float:
        """The clock reading the latest event was performed at (``-inf`` before any event)."""
        return self._last_now

    @property
    def clock(self) -> Clock:
        """The breaker's clock."""
        return self._clock_object

    @property
    def table(self) -> Table:
        """The transition table this breaker executes."""
        return self._table

    @property
    def compiled(self) -> CompiledTable:
        """The table specialised to this breaker's configuration."""
        return self._compiled

    @property
    def machine(self) -> Machine:
        """The ``transitions`` machine that performs every state change."""
        return self._machine

    @property
    def stats(self) -> BreakerStats:
        """Totals since construction: admitted, successes, failures, released, rejections."""
        return BreakerStats(
            admitted=self._admitted,
            successes=self._successes,
            failures=self._failures,
            released=self._released,
            rejections=self._rejections,
            state_changes=self._state_changes,
        )

    def time_until_half_open(self) -> float:
        """Seconds until a probe can be admitted: 0 unless open (``inf`` when forced open)."""
        state = self._core.state
        if state is State.OPEN:
            return max(0.0, self._core.open_until - self._peek_now())
        if state is State.FORCED_OPEN:
            return math.inf
        return 0.0

    def snapshot(self) -> dict[str, Value]:
        """The formal state: ``state`` plus every table variable, by name."""
        core = self._core
        result: dict[str, Value] = {"state": core.state}
        for variable in VARIABLES:
            result[variable] = getattr(core, variable)
        return result

    def add_listener(self, listener: object) -> None:
        """Register ``listener``: its ``state_change(change)``, ``rejection(rejection)``,
        ``success(outcome)`` and ``failure(outcome)`` methods (each optional) are called
        synchronously after the event."""
        methods = {name: getattr(listener, name, None) for name in LISTENER_METHODS}
        if all(method is None for method in methods.values()):
            raise TypeError(
                f"listener {listener!r} has none of {', '.join(m + '()' for m in LISTENER_METHODS)}; "
                "subclass breakerlab.model.BreakerListener"
            )
        for name, method in methods.items():
            if method is not None:
                getattr(self, f"_on_{name}").append(method)
        self._plain_success = self._success_is_plain()

    def _success_is_plain(self) -> bool:
        """Whether recording a success needs nothing but the table's dispatch: no window, no
        ``call_timeout``, no success listener, and the fast path on."""
        return self._window is None and self._call_timeout is None and not self._on_success and self._fast_path

    # -- events ------------------------------------------------------------------------------

    def acquire(self) -> Permit:
        """Ask to make a call.

        Returns:
            A ``Permit`` to settle with ``record_success``, ``record_failure`` or ``release``.

        Raises:
            CircuitOpenError: the call is rejected (``remaining_s`` says for how long).
        """
        generation, state, probe, now = self._admit()
        self._next_id += 1
        return Permit(self._next_id, generation, state, probe, now, self)

    def _admit(self) -> tuple[int, State, bool, float]:
        """Admit a call or raise ``CircuitOpenError``: (generation, state, is_probe, time).

        The per-call path without a ``Permit`` object, for callers that settle the call
        themselves exactly once (``call``, the runtime and the simulator).
        """
        now = self._clock()
        if now < self._last_now:  # time never runs back (see _now)
            now = self._last_now
        else:
            self._last_now = now
        core = self._core
        source = core.state
        if source is self._trivial_admission:
            # The table admits every call in this state with no action and no state change
            # (derived from the compiled rows at construction): nothing to dispatch.
            self._admitted += 1
            return core.generation, source, False, now
        args = self._args
        args.now = now
        if self._fast_path:
            index = self._acquire[source](core, args, self._window)
            if self._changes[index]:
                self._fire("acquire", index, source, now)
        else:
            index = self._fire("acquire", -1, source, now)
        verdict = self._verdicts[index]
        if verdict is Verdict.REJECT:
            self._reject(now, index)
        self._admitted += 1
        return core.generation, core.state, verdict is Verdict.ADMIT_PROBE, now

    def _succeed(self, generation: int, state: State, acquired_at: float) -> int:
        """Record the success of a call admitted by ``_admit`` (a failure past
        ``call_timeout``); returns the row taken."""
        if not self._plain_success:
            return self._record_at(generation, state, acquired_at, None, False)
        # The common case, with nothing that depends on the call's duration: the same steps
        # as _record_at, without its branches.
        now = self._clock()
        if now < self._last_now:
            now = self._last_now
        else:
            self._last_now = now
        return self._plain_succeed(now, generation, state)

    def _plain_succeed(self, now: float, generation: int, state: State) -> int:
        """Dispatch a success at ``now`` when ``_plain_success`` holds (positional kernel when
        the compiled table has one for the current state)."""
        core = self._core
        source = core.state
        self._successes += 1
        kernel = self._success_kernels[source]
        if kernel is not None:
            index = kernel(core, now, generation, state)
            if not self._changes[index]:
                return index
        args = self._args
        args.now = now
        args.permit_generation = generation
        args.permit_state = state
        if kernel is None:
            index = self._success[source](core, args, None)
            if not self._changes[index]:
                return index
        self._fire("record_success", index, source, now)
        return index

    def record_success(self, permit: Permit) -> None:
        """The call made with ``permit`` succeeded (a failure if it overran ``call_timeout``)."""
        now = self._now()
        if permit._owner is not self or permit.settled:
            self._settle(permit)  # raises the right PermitError
        permit.settled = True
        timeout = self._call_timeout
        acquired_at = permit.acquired_at
        self._record_at(
            permit.generation, permit.state, acquired_at, now, timeout is not None and now - acquired_at > timeout
        )

    def record_failure(self, permit: Permit, error: BaseException | None = None) -> None:
        """The call made with ``permit`` failed.

        With ``error``, the error is classified first: a cancellation releases the permit, and
        an excluded error is recorded per ``excluded_outcome`` (released, or a success).
        """
        if error is not None:
            kind = classify_exception(self.config, error)
            if kind is Classification.CANCELLED:
                self.release(permit)
                return
            if kind is Classification.EXCLUDED:
                self._record_excluded(permit)
                return
            if kind is Classification.SUCCESS:
                self.record_success(permit)
                return
        now = self._now()
        self._settle(permit)
        self._record(permit, now, True)

    def release(self, permit: Permit) -> None:
        """Settle ``permit`` without an outcome (excluded error, cancellation): nothing is
        counted, and a current half-open probe frees its slot."""
        now = self._now()
        self._settle(permit)
        self._released += 1
        args = self._args
        args.now = now
        args.permit_generation = permit.generation
        args.permit_state = permit.state
        core = self._core
        self._step("release", self._release[core.state], now)

    def poll(self) -> None:
        """Let time-driven transitions happen with no call: open→half_open at the deadline
        (``half_open_entry="at_deadline"``) and the half-open maximum wait."""
        self._event("poll")

    def force_open(self) -> None:
        """Reject every call until ``reset()`` or ``disable()``."""
        self._event("force_open")

    def disable(self) -> None:
        """Admit every call and count nothing until ``reset()`` or ``force_open()``."""
        self._event("disable")

    def reset(self) -> None:
        """Close the breaker, clearing every counter, the window and the backoff."""
        self._event("reset")

    # -- protected calls ---------------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Acquire, run ``fn(*args, **kwargs)``, classify and record the outcome.

        Returns ``fn``'s result and re-raises ``fn``'s exception. With
        ``trip_error="circuit_open"``, the call whose failure opens the breaker raises
        ``CircuitOpenError`` chained from its error instead.

        Raises:
            CircuitOpenError: the call was rejected (``fn`` was not called), or it tripped the
                breaker and ``trip_error`` is ``"circuit_open"``.
        """
        permit = self.acquire()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            opened = self._settle_exception(permit, exc)
            if opened and self.config.trip_error is TripError.CIRCUIT_OPEN:
                raise self._open_error() from exc
            raise
        predicate = self.config.is_failure_result
        try:
            failed_result = predicate is not None and bool(predicate(result))
        except BaseException:
            self.release(permit)
            raise
        if failed_result:
            opened = self._record_failure_result(permit)
            if opened and self.config.trip_error is TripError.CIRCUIT_OPEN:
                raise self._open_error()
        else:
            self.record_success(permit)
        return result

    # -- internals ---------------------------------------------------------------------------

    def _now(self) -> float:
        now = self._clock()
        if now < self._last_now:  # time never runs back (protects the open duration)
            return self._last_now
        self._last_now = now
        return now

    def _peek_now(self) -> float:
        return max(self._clock(), self._last_now)

    def _settle(self, permit: Permit) -> None:
        if permit._owner is not self:
            raise PermitError(f"{permit!r} was issued by another breaker; settle it with the breaker that issued it")
        if permit.settled:
            raise PermitError(f"{permit!r} was already settled: record each call's outcome exactly once")
        permit.settled = True

    def _record(self, permit: Permit, now: float, failed: bool) -> int:
        return self._record_at(permit.generation, permit.state, permit.acquired_at, now, failed)

    def _record_at(
        self, generation: int, state: State, acquired_at: float, now: float | None, failed: bool
    ) -> int:
        """Record an outcome of a call admitted at ``acquired_at`` in ``generation``/``state``.

        ``now=None``: read the clock here, and apply ``call_timeout`` to a success.
        """
        if now is None:
            now = self._now()
            timeout = self._call_timeout
            if timeout is not None and not failed and now - acquired_at > timeout:
                failed = True
        args = self._args
        args.now = now
        args.permit_generation = generation
        args.permit_state = state
        window = self._window
        if window is not None:
            threshold = self._slow_threshold
            slow = threshold is not None and now - acquired_at > threshold
            args.failed = failed
            args.slow = slow
            args.window_calls, args.window_failures, args.window_slow = window.counts_after(now, failed, slow)
        core = self._core
        source = core.state
        if failed:
            self._failures += 1
            trigger, dispatch, listeners = "record_failure", self._failure[source], self._on_failure
        else:
            self._successes += 1
            trigger, dispatch, listeners = "record_success", self._success[source], self._on_success
        if listeners:
            outcome = Outcome(now, source, core.generation, state, generation != core.generation, now - acquired_at)
        if self._fast_path:
            index = dispatch(core, args, window)
            if self._changes[index]:
                self._fire(trigger, index, source, now)
        else:
            index = self._fire(trigger, -1, source, now)
        if listeners:
            for callback in listeners:
                callback(outcome)
        return index

    def _step(self, trigger: str, dispatch: Callable[[Any, Any, Any], int], now: float) -> int:
        """Take the row ``dispatch`` selects; a state change goes through the machine."""
        core = self._core
        source = core.state
        if self._fast_path:
            index = dispatch(core, self._args, self._window)
            if self._changes[index]:
                self._fire(trigger, index, source, now)
            return index
        return self._fire(trigger, -1, source, now)

    def _opened_by(self, index: int) -> bool:
        return self._table.rows[index].dest is State.OPEN

    def _record_excluded(self, permit: Permit) -> None:
        if self.config.excluded_outcome is ExcludedOutcome.SUCCESS:
            self.record_success(permit)
        else:
            self.release(permit)

    def _record_failure_result(self, permit: Permit) -> bool:
        now = self._now()
        self._settle(permit)
        return self._opened_by(self._record(permit, now, True))

    def _settle_exception(self, permit: Permit, exc: BaseException) -> bool:
        """Record ``exc`` as ``permit``'s outcome; True if that opened the breaker."""
        kind = classify_exception(self.config, exc)
        if kind is Classification.CANCELLED:
            self.release(permit)
            return False
        if kind is Classification.EXCLUDED:
            self._record_excluded(permit)
            return False
        if kind is Classification.SUCCESS:
            self.record_success(permit)
            return False
        now = self._now()
        self._settle(permit)
        return self._opened_by(self._record(permit, now, True))

    def _open_error(self) -> CircuitOpenError:
        """The error raised by a call that opened the breaker (timed at that call's record)."""
        state = self._core.state
        if state is State.OPEN:
            return CircuitOpenError(max(0.0, self._core.open_until - self._last_now), state)
        return CircuitOpenError(math.inf if state is State.FORCED_OPEN else 0.0, state)

    def _event(self, trigger: str) -> None:
        now = self._now()
        args = self._args
        args.now = now
        self._step(trigger, self._compiled.dispatch[self._core.state][trigger], now)

    def _fire(self, trigger: str, expected: int, source: State, now: float) -> int:
        """Let the ``transitions`` machine take a row (checking it is ``expected`` unless -1),
        then notify listeners of a state change. Returns the row's index."""
        core = self._core
        core.row_taken = -1
        self._triggers[trigger](self._args)
        index = core.row_taken
        if expected != -1 and index != expected:
            raise TableError(
                f"internal error: the transitions machine took row {index} for "
                f"{trigger!r} in {source.value!r} but the dispatch selected row {expected}"
            )
        row = self._table.rows[index]
        if row.dest is None:
            return index
        self._state_changes += 1
        if self._on_state_change:
            change = StateChange(now, source, core.state, row.cause, core.generation)
            for callback in self._on_state_change:
                callback(change)
        return index

    def _reject(self, now: float, index: int) -> None:
        state = self._core.state
        if state is State.OPEN:
            remaining = max(0.0, self._core.open_until - now)
        elif state is State.FORCED_OPEN:
            remaining = math.inf
        else:
            remaining = 0.0
        self._rejections += 1
        if self._on_rejection:
            rejection = Rejection(now, state, remaining, self._table.rows[index].cause)
            for callback in self._on_rejection:
                callback(rejection)
        raise CircuitOpenError(remaining, state)

    def __repr__(self) -> str:
        return (
            f"<Breaker {self.name!r} {self._core.state.value} generation={self._core.generation} "
            f"consecutive_failures={self._core.consecutive_failures}>"
        )

    def __getstate__(self) -> Any:
        raise TypeError("a Breaker holds a live clock and state machine and cannot be pickled; pickle its config")

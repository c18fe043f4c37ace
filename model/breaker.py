"""``Breaker``: the reference circuit breaker, executing the transition table on an injected clock.

Admission and outcome are separate events because calls overlap. The stepping API takes each
event with an explicit time (``None``: the breaker's clock) and returns what happened::

    admission = breaker.admit(now)          # (generation, state, is_probe, admitted_at), or CircuitOpenError
    change = breaker.succeed(admission, now)  # or fail / discard / settle_exception: a StateChange or None

(``try_admit(now)`` is ``admit`` returning ``None`` for a rejection instead of raising: for a
caller that only counts rejections, such as the simulator.)

The ``Permit`` API (``acquire``/``record_success``/``record_failure``/``release``) wraps it and
checks that each permit is settled once. Every event is resolved against the table compiled
for this breaker's configuration: the compiled dispatch function selects the row, and its
compiled actions perform it. The ``transitions`` machine built from the same table performs
every state change of a breaker whose ``machine`` has been read (and every event of one built
with ``fast_path=False``); the breaker then checks that the machine took the very row the
dispatch selected. Tests drive both ways with the same events and compare every outcome.

A ``Breaker`` is not thread-safe: one thread or event loop drives it (the simulator does;
``breakerlab.runtime.CircuitBreaker`` puts a lock around each event).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from transitions import Machine

from .classify import Settlement, settlement_for, settlement_for_result
from .clock import Clock
from .config import BreakerConfig
from .entries import Tally, build_call, build_entries
from .errors import CircuitOpenError, PermitError, TableError
from .events import Outcome, Rejection, StateChange
from .expr import Value, evaluate
from .listeners import Listeners
from .machine import build_machine, shared_machine
from .permit import Admission, BreakerStats, Permit, require_error, require_permit
from .pycompile import LAZY_ARGS, CompiledTable, compile_table
from .rejection import remaining_s, trip_error_for
from .states import State
from .table import ARGS, TABLE, VARIABLES, Table, Verdict
from .window import load_counts, window_for

__all__ = ["Admission", "Breaker", "BreakerStats", "Permit"]

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

    # The table's event arguments (ARGS; those computed on demand are methods), and what the
    # trip window reads.
    __slots__ = (*(name for name in ARGS if name not in LAZY_ARGS), "failed", "slow", "rng", "jitter_ratio")
    # For the type checker (the slots above are what exists at run time).
    now: float
    permit_generation: int
    permit_state: State
    window_calls: int
    window_failures: int
    window_slow: int
    failed: bool
    slow: bool
    rng: random.Random
    jitter_ratio: float

    def __init__(self, rng: random.Random, jitter_ratio: float) -> None:
        for name, kind in ARGS.items():
            if name not in LAZY_ARGS:
                setattr(self, name, State.CLOSED if kind is State else kind())
        self.permit_generation = -1
        self.failed = self.slow = False
        self.rng = rng
        self.jitter_ratio = jitter_ratio

    def jitter(self) -> float:
        """The fraction added to this opening's duration; draws only when jitter is on."""
        if self.jitter_ratio > 0:
            return self.rng.random() * self.jitter_ratio
        return 0.0


class Breaker:
    """A circuit breaker whose behaviour is the transition table ``TABLE``.

    Args:
        config: Options (``BreakerConfig()`` when omitted: the article's defaults).
        clock: The only source of time: a callable returning seconds (``ManualClock`` in
            tests, ``MonotonicClock`` in real use, the simulator's virtual time). Events given
            an explicit time do not read it.
        table: An alternative table (seeded mutants use this); defaults to ``TABLE``.
        name: Shown in ``repr`` and messages.
        fast_path: Perform each event from the compiled table directly (default); ``False`` sends
            every event through the ``transitions`` machine (tests compare the two).

    Raises:
        TypeError: ``config`` is not a ``BreakerConfig``, or ``clock`` is not callable.

    Invariants (proved in ``proofs/``, tested in ``tests/``): no call is admitted while open
    before the deadline; half-open never admits more than ``half_open_max_calls`` probes; the
    breaker opens exactly when the trip rule is met; a stale permit changes nothing under the
    default late-result policy; each event performs at most one state change; time never runs
    back (an event timed before the latest one is performed at the latest one's time).
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
        if config is not None and not isinstance(config, BreakerConfig):
            raise TypeError(f"'config' must be a BreakerConfig, e.g. BreakerConfig(fail_max=3) (got {config!r})")
        self.config = config if config is not None else BreakerConfig()
        self.name = name
        self._clock_object = clock
        # A clock may offer a faster function giving the same readings (MonotonicClock does).
        self._read_clock: Callable[[], float] = getattr(clock, "reading_function", clock)
        self._table = table
        params = self.config.table_params()
        compiled = compile_table(table, params)
        self._compiled: CompiledTable = compiled
        self._window = window_for(self.config)
        core = _Core()
        core.state = table.initial
        for variable, initial in VARIABLES.items():
            setattr(core, variable, evaluate(initial, params))
        core.row_taken = -1
        self._core = core
        # Events sent through a machine (``fast_path=False``) are fired on the machine shared by
        # the breakers of this compiled table until ``machine`` is first read, which builds this
        # breaker's own; from then on it performs every state change (see ``machine``).
        self._machine: Machine | None = None
        self._events = shared_machine(compiled).events
        self._args = _EventArgs(random.Random(self.config.jitter_seed), self.config.jitter_ratio)
        self._fast_path = fast_path
        # Read on every call: references into the compiled table, not computed here.
        self._dispatch = compiled.dispatch
        self._kernels = compiled.kernels
        self._changes = compiled.changes
        self._apply = compiled.apply
        self._listeners = Listeners(name)
        self._next_id = 0
        tally = self._tally = Tally()
        tally.plain_success = self._success_is_plain()
        entries = self._entries = build_entries(
            compiled, core, tally, self._read_clock, self._admit_at, self._try_admit_at, self._succeed_at,
            self._reject, self._refuse, fast_path=fast_path,
        )
        self._time = entries.time
        # The generated entry points replace the methods of the same name on this instance
        # (the methods delegate to them, so both are the same code).
        self.admit = entries.admit  # type: ignore[method-assign]
        self.try_admit = entries.try_admit  # type: ignore[method-assign]
        self.succeed = entries.succeed  # type: ignore[method-assign]

    # -- reading -----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state (reading it never changes it, even past the open deadline)."""
        return self._core.state

    @property
    def generation(self) -> int:
        """Number of state changes so far; admissions from earlier generations are stale."""
        return self._core.generation

    @property
    def consecutive_failures(self) -> int:
        """Counted failures since the last success (consecutive trip rule, closed state)."""
        return self._core.consecutive_failures

    @property
    def last_event_time(self) -> float:
        """The time the latest event was performed at (``-inf`` before any event)."""
        return self._tally.last_now

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
        """The ``transitions`` machine of this breaker, with its formal state as the model.

        Built on first read, in the current state. Until then the breaker performs each state
        change from the compiled table directly (the row's compiled actions, which are the
        machine's ``before`` callbacks, then its destination: all the machine would do), so a
        breaker whose machine nobody reads (a simulated fleet's) costs no machine and no
        ``transitions`` trigger. From the first read on, every state change goes through this
        machine, so what is added to it (callbacks, ``add_transition``) applies to this
        breaker alone, and the breaker checks that it takes the row the dispatch selected.
        """
        if self._machine is None:
            self._machine = build_machine(self._core, self._compiled)
            self._events = self._machine.events
        return self._machine

    @property
    def stats(self) -> BreakerStats:
        """Totals since construction: admitted, successes, failures, released, rejections."""
        tally = self._tally
        return BreakerStats(
            admitted=tally.admitted,
            successes=tally.successes,
            failures=tally.failures,
            released=tally.released,
            rejections=tally.rejections,
            state_changes=tally.state_changes,
        )

    def remaining_s(self, now: float | None = None) -> float:
        """Seconds from ``now`` (default: the clock, never before the latest event) until a
        call can be admitted again: 0 unless open, ``inf`` when forced open."""
        state = self._core.state
        if state is State.OPEN and now is None:
            now = max(self._read_clock(), self._tally.last_now)
        return remaining_s(state, self._core.open_until, 0.0 if now is None else now)

    def time_until_half_open(self) -> float:
        """``remaining_s()`` at the clock's time: seconds until a probe can be admitted."""
        return self.remaining_s()

    def next_deadline(self) -> float | None:
        """When the next time-driven transition (a ``poll`` row) can be taken, or ``None``.

        Computed from the table's time guards for the current state and configuration,
        honouring the deadline boundary: with ``admit_at_deadline=False`` the open deadline is
        the first float after ``open_until``, the first instant the guard ``now > open_until``
        holds. ``poll()`` at or after this time takes the transition (unless another event
        changed the state first). ``None`` for a breaker whose time-driven transitions are all
        disabled (e.g. lazy half-open entry and no half-open maximum wait).
        """
        return self._compiled.deadlines[self._core.state](self._core)

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
        synchronously after the event. A listener that raises changes nothing the breaker or
        its caller sees: its error is logged to the ``"breakerlab"`` logger (see
        ``breakerlab.model.listeners.LOGGER``) and the other listeners are still called."""
        self._listeners.add(listener)
        self._tally.plain_success = self._success_is_plain()

    def _success_is_plain(self) -> bool:
        """Whether recording a success needs nothing but the table's kernel: no window, no
        ``call_timeout``, no success listener, and the fast path on."""
        return (
            self._window is None
            and self.config.call_timeout is None
            and not self._listeners.success
            and self._fast_path
        )

    # -- the stepping API --------------------------------------------------------------------

    def admit(self, now: float | None = None) -> Admission:
        """Ask to make a call at ``now`` (``None``: the clock's time; time never runs back).

        Returns:
            The ``Admission`` ``(generation, state, is_probe, admitted_at)``; settle it exactly
            once with ``succeed``, ``fail``, ``discard`` or ``settle_exception``.

        Raises:
            CircuitOpenError: the call is rejected (``remaining_s`` says for how long).
        """
        return self._entries.admit(now)

    def try_admit(self, now: float | None = None) -> Admission | None:
        """``admit``, returning ``None`` when the call is rejected instead of raising
        ``CircuitOpenError`` (the rejection is counted and notified all the same; read
        ``remaining_s`` for how long it lasts). Raising costs more than the whole admission,
        and a caller that rejects calls by the thousand (a simulated outage) only counts them.
        """
        return self._entries.try_admit(now)

    def succeed(self, admission: Admission, now: float | None = None) -> StateChange | None:
        """The call admitted as ``admission`` succeeded at ``now`` (a failure if it overran
        ``call_timeout``). Returns the state change it caused, if any."""
        return self._entries.succeed(admission, now)  # type: ignore[no-any-return]

    def compile_call(
        self,
        *,
        enter: Callable[[], object],
        leave: Callable[[], object],
        admit: Callable[[], Admission],
        succeed: Callable[[Admission], object],
        settle: Callable[[Admission, BaseException], None],
    ) -> Callable[..., Any]:
        """A generated ``call(fn, /, *args, **kwargs)`` for a caller that wraps each event in a
        critical section (``breakerlab.runtime.CircuitBreaker``: ``enter``/``leave`` are its
        lock's acquire and release).

        It admits, runs ``fn(*args, **kwargs)`` outside the section and records a success,
        performing the common cases (an admission with no action, a success that changes no
        state, no listener to call) inline between ``enter()`` and ``leave()``; every other case
        it hands to ``admit()`` / ``succeed(admission)`` (which perform the whole event,
        notifying listeners), and an exception from ``fn`` to ``settle(admission, error)``,
        outside the section. Valid while no listener is added that wants successes (the
        generated code checks the breaker's current ``plain success`` condition on each call).
        """
        if not self._fast_path:
            raise ValueError("compile_call needs the fast path (Breaker(..., fast_path=True))")
        return build_call(
            self._compiled, self._core, self._tally, self._read_clock, enter, leave, admit, succeed, settle
        )

    def _admit_at(self, now: float) -> Admission:
        """``admit`` at a clamped ``now``, in the cases the generated entry does not inline."""
        admission = self._try_admit_at(now, self._reject)
        assert admission is not None  # a rejection raised
        return admission

    def _try_admit_at(self, now: float, reject: Callable[[float, int], None] | None = None) -> Admission | None:
        """``try_admit`` at a clamped ``now``, in the cases the generated entry does not inline
        (a rejection is handed to ``reject``, by default ``_refuse``)."""
        core = self._core
        self._args.now = now
        index = self._take("acquire", core.state, now)[0]
        verdict = self._compiled.verdicts[index]
        if verdict is Verdict.REJECT:
            return (reject or self._refuse)(now, index)
        self._tally.admitted += 1
        return core.generation, core.state, verdict is Verdict.ADMIT_PROBE, now

    def _succeed_at(self, admission: Admission, now: float) -> StateChange | None:
        """``succeed`` at a clamped ``now``, in the cases the generated entry does not inline."""
        if self._tally.plain_success:
            core = self._core
            source = core.state
            kernel = self._kernels[source]
            if kernel is not None:
                generation, state = admission[0], admission[1]
                index = kernel(core, now, generation, state)
                self._tally.successes += 1
                if not self._changes[index]:
                    return None
                args = self._args
                args.now = now
                args.permit_generation = generation
                args.permit_state = state
                return self._fire("record_success", index, source, now)[1]
        timeout = self.config.call_timeout
        return self._record(admission, now, timeout is not None and now - admission[3] > timeout)

    def fail(self, admission: Admission, now: float | None = None) -> StateChange | None:
        """The call admitted as ``admission`` failed at ``now`` (counted, unclassified).
        Returns the state change it caused (``dest`` ``open`` when it tripped), if any."""
        return self._record(admission, self._time(now), True)

    def discard(self, admission: Admission, now: float | None = None) -> StateChange | None:
        """Settle ``admission`` without an outcome (an excluded error, a cancellation): nothing
        is counted, and a current half-open probe frees its slot."""
        now = self._time(now)
        self._tally.released += 1
        args = self._args
        args.now = now
        args.permit_generation = admission[0]
        args.permit_state = admission[1]
        return self._take("release", self._core.state, now)[1]

    def settle_exception(
        self, admission: Admission, error: BaseException, now: float | None = None
    ) -> StateChange | None:
        """Settle ``admission`` with the exception its call raised, classified per the
        configuration (``failure_exceptions``, ``excluded_exceptions``, ``is_failure``,
        ``excluded_outcome``, ``cancellation_outcome``): a failure, a success, or discarded."""
        settlement = settlement_for(self.config, error)
        if settlement is Settlement.FAILURE:
            return self.fail(admission, now)
        if settlement is Settlement.SUCCESS:
            return self.succeed(admission, now)
        return self.discard(admission, now)

    def settle_result(self, admission: Admission, result: object, now: float | None = None) -> StateChange | None:
        """Settle ``admission`` with its call's return value: a failure if ``is_failure_result``
        says so, else a success. If the predicate raises, the admission is discarded and the
        predicate's exception propagates."""
        try:
            settlement = settlement_for_result(self.config, result)
        except BaseException:
            self.discard(admission, now)
            raise
        return self.fail(admission, now) if settlement is Settlement.FAILURE else self.succeed(admission, now)

    def poll(self, now: float | None = None) -> StateChange | None:
        """Let time-driven transitions happen with no call: open→half_open at the deadline
        (``half_open_entry="at_deadline"``) and the half-open maximum wait; see
        ``next_deadline``."""
        return self._event("poll", now)

    def force_open(self, now: float | None = None) -> StateChange | None:
        """Reject every call until another manual operation (``reset()``, ``disable()``, ``trip()``,
        ``half_open()``)."""
        return self._event("force_open", now)

    def trip(self, now: float | None = None) -> StateChange | None:
        """Open now, from any state, as a tripped breaker does: a new opening for the current
        open duration (with jitter and the backoff step), after which half-open comes as usual
        (``half_open_entry``). Already open, it re-opens, restarting the open period. This is
        pybreaker's ``open()``; to reject every call until told otherwise, use ``force_open()``."""
        return self._event("trip", now)

    def half_open(self, now: float | None = None) -> StateChange | None:
        """Enter half-open now, from any other state, with no probe admitted yet: the next
        acquires are probes that decide between closed and open. Nothing when already
        half-open. This is pybreaker's ``half_open()``."""
        return self._event("half_open", now)

    def disable(self, now: float | None = None) -> StateChange | None:
        """Admit every call and count nothing until another manual operation (``reset()``,
        ``force_open()``, ``trip()``, ``half_open()``)."""
        return self._event("disable", now)

    def reset(self, now: float | None = None) -> StateChange | None:
        """Close the breaker, clearing every counter, the window and the backoff."""
        return self._event("reset", now)

    # -- the permit API ----------------------------------------------------------------------

    def acquire(self) -> Permit:
        """Ask to make a call now (``admit`` at the clock's time, as a ``Permit``).

        Returns:
            A ``Permit`` to settle with ``record_success``, ``record_failure`` or ``release``.

        Raises:
            CircuitOpenError: the call is rejected (``remaining_s`` says for how long).
        """
        admission = self.admit()
        self._next_id += 1
        return Permit(self._next_id, admission, self)

    def record_success(self, permit: Permit) -> None:
        """The call made with ``permit`` succeeded (a failure if it overran ``call_timeout``)."""
        self._settle(permit)
        self.succeed(permit.admission)

    def record_failure(self, permit: Permit, error: BaseException | None = None) -> None:
        """The call made with ``permit`` failed.

        With ``error``, the error is classified first (``settle_exception``): a cancellation
        releases the permit, and an excluded error is recorded per ``excluded_outcome``.
        """
        require_error(error)
        self._settle(permit)
        if error is None:
            self.fail(permit.admission)
        else:
            self.settle_exception(permit.admission, error)

    def release(self, permit: Permit) -> None:
        """Settle ``permit`` without an outcome (``discard``)."""
        self._settle(permit)
        self.discard(permit.admission)

    def _settle(self, permit: Permit) -> None:
        require_permit(permit)
        if permit.owner is not self:
            raise PermitError(f"{permit!r} was issued by another breaker; settle it with the breaker that issued it")
        if permit.settled:
            raise PermitError(f"{permit!r} was already settled: record each call's outcome exactly once")
        permit.settled = True

    # -- protected calls ---------------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Admit, run ``fn(*args, **kwargs)``, classify and record the outcome.

        Returns ``fn``'s result and re-raises ``fn``'s exception. With
        ``trip_error="circuit_open"``, the call whose failure opens the breaker raises
        ``CircuitOpenError`` chained from its error instead.

        Raises:
            CircuitOpenError: the call was rejected (``fn`` was not called), or it tripped the
                breaker and ``trip_error`` is ``"circuit_open"``.
        """
        admission = self.admit()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            error = self.trip_error(self.settle_exception(admission, exc))
            if error is not None:
                raise error from exc
            raise
        error = self.trip_error(self.settle_result(admission, result))
        if error is not None:
            raise error
        return result

    def trip_error(self, change: StateChange | None) -> CircuitOpenError | None:
        """The error a call whose settlement caused ``change`` raises instead of its own
        outcome: ``CircuitOpenError`` if its failure opened the breaker under
        ``trip_error="circuit_open"``, else ``None``."""
        return trip_error_for(self.config, change, self._core.open_until)

    # -- internals ---------------------------------------------------------------------------

    def _record(self, admission: Admission, now: float, failed: bool) -> StateChange | None:
        """Record an outcome of the call admitted as ``admission`` at ``now``."""
        generation, state, _, admitted_at = admission
        args = self._args
        args.now = now
        args.permit_generation = generation
        args.permit_state = state
        window = self._window
        if window is not None:
            threshold = self.config.slow_call_duration_threshold
            slow = threshold is not None and now - admitted_at > threshold
            args.failed = failed
            args.slow = slow
            load_counts(window, args)
        core = self._core
        source = core.state
        if failed:
            self._tally.failures += 1
            trigger, listeners = "record_failure", self._listeners.failure
        else:
            self._tally.successes += 1
            trigger, listeners = "record_success", self._listeners.success
        if listeners:
            outcome = Outcome(now, source, core.generation, state, generation != core.generation, now - admitted_at)
        change = self._take(trigger, source, now)[1]
        if listeners:
            self._listeners.notify(listeners, outcome)
        return change

    def _take(self, trigger: str, source: State, now: float) -> tuple[int, StateChange | None]:
        """Take the row the compiled dispatch selects for ``trigger`` (the event's arguments are
        set); a state change goes through the machine."""
        if self._fast_path:
            index = self._dispatch[source][trigger](self._core, self._args, self._window)
            if not self._changes[index]:
                return index, None
            return self._fire(trigger, index, source, now)
        return self._fire(trigger, -1, source, now)

    def _event(self, trigger: str, now: float | None) -> StateChange | None:
        now = self._time(now)
        self._args.now = now
        return self._take(trigger, self._core.state, now)[1]

    def _fire(self, trigger: str, expected: int, source: State, now: float) -> tuple[int, StateChange | None]:
        """Take the row ``expected`` selected by the compiled dispatch, or let the ``transitions``
        machine take a row (``expected == -1``: every event through the machine); then notify
        listeners of a state change. Returns the row's index and the change.

        While nobody has read ``machine``, the selected row is performed directly: its compiled
        actions (the same function the machine's ``before`` callback calls), then its
        destination, which is all the machine does with it (it declares no other callback), at
        a tenth of the cost. Once ``machine`` is read, the breaker's own machine performs every
        state change, and the breaker checks that it took the row the dispatch selected.
        """
        core = self._core
        if expected != -1 and self._machine is None:
            # Nobody holds this breaker's machine: perform the row the dispatch selected as the
            # shared machine would (the row's compiled actions, then its destination).
            self._apply[expected](core, self._args, self._window)
            index = core.row_taken = expected
            row = self._table.rows[index]
            if row.dest is not None:
                core.state = row.dest
        else:
            core.row_taken = -1
            self._events[trigger].trigger(core, self._args, self._window)
            index = core.row_taken
            if expected != -1 and index != expected:
                raise TableError(
                    f"internal error: the transitions machine took row {index} for "
                    f"{trigger!r} in {source.value!r} but the dispatch selected row {expected}"
                )
            row = self._table.rows[index]
        if row.dest is None:
            return index, None
        self._tally.state_changes += 1
        change = StateChange(now, source, core.state, row.cause, core.generation, trigger)
        listeners = self._listeners
        if listeners.state_change:
            listeners.notify(listeners.state_change, change)
        return index, change

    def _reject(self, now: float, index: int) -> None:
        """A rejection at ``now`` by row ``index``: counted, notified, raised."""
        state = self._core.state
        remaining = self.remaining_s(now)
        self._refuse(now, index, state, remaining)
        raise CircuitOpenError(remaining, state)

    def _refuse(self, now: float, index: int, state: State | None = None, remaining: float | None = None) -> None:
        """A rejection at ``now`` by row ``index``: counted and notified (``state`` and
        ``remaining``: as read before either, computed here if not given)."""
        self._tally.rejections += 1
        if self._listeners.rejection:
            if state is None:
                state = self._core.state
            if remaining is None:
                remaining = self.remaining_s(now)
            rejection = Rejection(now, state, remaining, self._table.rows[index].cause)
            self._listeners.notify(self._listeners.rejection, rejection)

    def __repr__(self) -> str:
        return (
            f"<Breaker {self.name!r} {self._core.state.value} generation={self._core.generation} "
            f"consecutive_failures={self._core.consecutive_failures}>"
        )

    def __getstate__(self) -> Any:
        raise TypeError("a Breaker holds a live clock and state machine and cannot be pickled; pickle its config")

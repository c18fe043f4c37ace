"""``CircuitBreaker``: the verified model as a real breaker for threads and asyncio.

It wraps one reference ``Breaker`` (the same table the proofs check and the simulator runs)
and adds what production code needs:

* **Thread and task safety without serialising calls.** One short critical section (a
  ``threading.Lock``) covers each *event* (acquire, an outcome, poll, manual control) and
  nothing else: the protected call runs outside it, so a slow or hung call never blocks other
  callers, and half-open rejects extra callers immediately. Listeners are called after the
  lock is released, so a listener may call the breaker; a listener that raises changes
  nothing the breaker or the caller sees (its error is logged, see ``breakerlab.model.listeners``).
* **Every way of calling**: ``call(fn)``, ``@breaker`` (sync or ``async def``), ``with
  breaker:``, ``async with breaker:``, ``await breaker.call_async(coro_fn)``.
* **Timeouts.** With ``call_timeout``, every call's duration is measured on the breaker's clock
  (admission to settlement) and one lasting strictly longer is counted as a failure, its result
  still returned. ``call_async`` also cancels the call when the event loop's timer fires at
  the timeout (``TimeoutError`` is raised); a call that completes later without having been
  cancelled (the loop was busy, or the coroutine blocked it) is an overrun like a sync one.
* **Time-driven transitions without a timer.** No thread or timer runs in the background:
  reading ``state``, ``snapshot()`` or ``time_until_half_open()`` first performs the
  transition that is due (``half_open_entry="at_deadline"``, ``half_open_max_wait``) as a
  ``poll`` event, so it is logged and listeners hear it; ``poll()`` does so explicitly.
* **Cancellation** of the caller (``asyncio.CancelledError``, ``KeyboardInterrupt``) releases the
  permit without counting it, and is re-raised.
* **A structured event log** (``event_log=``): every event as a JSON line, replayable with
  ``breakerlab replay LOG`` (see ``eventlog.py``).
"""

from __future__ import annotations

import dataclasses
import difflib
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from breakerlab.model.breaker import Admission, Breaker, BreakerStats, Permit
from breakerlab.model.classify import Settlement, settlement_for
from breakerlab.model.clock import Clock, MonotonicClock
from breakerlab.model.config import BreakerConfig
from breakerlab.model.errors import BreakerError, CircuitOpenError
from breakerlab.model.events import Outcome, Rejection, StateChange
from breakerlab.model.expr import Value
from breakerlab.model.listeners import Listeners
from breakerlab.model.permit import require_error, require_permit
from breakerlab.model.states import State
from breakerlab.model.table import TABLE, Table

from .calling import ProtectedCalls
from .eventlog import EventLogTarget, Record, header, open_sink

__all__ = ["CircuitBreaker"]

P = ParamSpec("P")
R = TypeVar("R")

_VERDICT = {True: "admit_probe", False: "admit"}


Note = StateChange | Rejection | tuple[str, Outcome]


class _Relay:
    """Collects the inner breaker's notifications during one event, for delivery after it."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending: list[Note] = []

    def state_change(self, change: StateChange) -> None:
        self.pending.append(change)

    def rejection(self, rejection: Rejection) -> None:
        self.pending.append(rejection)

    def take(self) -> list[Note]:
        """The notifications collected so far, emptying the list."""
        notes, self.pending = self.pending, []
        return notes


class _OutcomeRelay:
    """Also collects successes and failures (registered only once a listener wants them, so
    calls without such listeners build no ``Outcome``)."""

    __slots__ = ("relay",)

    def __init__(self, relay: _Relay) -> None:
        self.relay = relay

    def success(self, outcome: Outcome) -> None:
        self.relay.pending.append(("success", outcome))

    def failure(self, outcome: Outcome) -> None:
        self.relay.pending.append(("failure", outcome))


def _config_from_options(config: BreakerConfig | None, options: dict[str, Any]) -> BreakerConfig:
    """The ``BreakerConfig`` that keyword ``options`` give (``CircuitBreaker(fail_max=5)``).

    Raises:
        TypeError: ``config`` is given too, or an option is not a ``BreakerConfig`` field.
    """
    if config is not None:
        names = sorted(options)
        raise TypeError(
            f"CircuitBreaker() got both 'config' and the options {', '.join(names)}: use one, either "
            f"config=BreakerConfig(...) or the options as keywords (to change a config: "
            f"config=config.replace({names[0]}=...))"
        )
    valid = [field.name for field in dataclasses.fields(BreakerConfig)]
    unknown = [name for name in options if name not in valid]
    if unknown:
        described = []
        for name in unknown:
            close = difflib.get_close_matches(name, valid, 1)
            described.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
        raise TypeError(
            f"CircuitBreaker() got unknown option(s) {', '.join(described)}; valid options (the fields of "
            f"BreakerConfig): {', '.join(valid)}; and config, clock, name, event_log, table"
        )
    return BreakerConfig(**options)


class CircuitBreaker(ProtectedCalls[Permit]):
    """A thread-safe, asyncio-ready circuit breaker executing the reference transition table.

    The options are given either as one ``BreakerConfig`` or as its fields, by keyword (the
    article's form ``CircuitBreaker(fail_max=5, reset_timeout=60)``), not both.

    Args:
        config: Options (the article's defaults when omitted); see ``model/SEMANTICS.md``.
        clock: Seconds, monotonic (default ``MonotonicClock()``; tests pass a ``ManualClock``).
        name: Shown in messages and the event log.
        event_log: Where to log every event as JSON lines: a path, a text stream, or a
            callable taking one record (dict). ``None``: no log.
        table: The transition table (``TABLE``; seeded mutants use others).
        **options: Fields of ``BreakerConfig`` (``fail_max=5``), instead of ``config``.

    Raises:
        TypeError: ``config`` is not a ``BreakerConfig``; both ``config`` and options are given;
            an option is not a ``BreakerConfig`` field; or ``event_log`` is none of the above.
        InvalidConfigError: an option's value breaks its rule.

    >>> from breakerlab.model import BreakerConfig, ManualClock
    >>> from breakerlab.runtime import CircuitBreaker
    >>> breaker = CircuitBreaker(BreakerConfig(fail_max=3), clock=ManualClock())
    >>> CircuitBreaker(fail_max=3, clock=ManualClock()).config == breaker.config
    True
    >>> @breaker
    ... def fetch() -> str:
    ...     return "ok"
    >>> fetch()
    'ok'
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        clock: Clock | None = None,
        name: str = "breaker",
        event_log: EventLogTarget | None = None,
        table: Table = TABLE,
        **options: Any,
    ) -> None:
        if options:
            config = _config_from_options(config, options)
        self._breaker = Breaker(config, clock=clock if clock is not None else MonotonicClock(), table=table, name=name)
        self.config = self._breaker.config
        self.name = name
        self._lock = threading.Lock()
        self._relay = _Relay()
        self._breaker.add_listener(self._relay)
        self._listeners = Listeners(name)
        self._sink, self._owned_log = open_sink(event_log)
        self._seq = 0
        self._closed = False
        # Calls that need a Permit (logged, or results classified) take the general path.
        self._general_calls = self._sink is not None or self.config.is_failure_result is not None
        self._init_calls(name)
        if self._sink is not None:
            self._sink(header(self.config, name))
        if not self._general_calls:
            # The per-call path: no Permit object, one short critical section on each side of
            # the call; its common cases are generated by the model (Breaker.compile_call), the
            # others come back to the locked events below.
            self.call = self._breaker.compile_call(  # type: ignore[method-assign]
                enter=self._lock.acquire,
                leave=self._lock.release,
                admit=self._locked_admit,
                succeed=self._locked_succeed,
                settle=self._locked_settle,
            )

    # -- reading -----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state, after the time-driven transition that is due, if any (performed
        first, as a ``poll`` event: logged, and heard by listeners)."""
        self._poll_if_due()
        return self._breaker.state

    @property
    def stats(self) -> BreakerStats:
        """Totals since construction."""
        with self._lock:
            return self._breaker.stats

    @property
    def breaker(self) -> Breaker:
        """The wrapped reference breaker (drive it only through this object)."""
        return self._breaker

    def snapshot(self) -> dict[str, Value]:
        """The formal state, read consistently (after the due time-driven transition, as ``state``)."""
        self._poll_if_due()
        with self._lock:
            return self._breaker.snapshot()

    def time_until_half_open(self) -> float:
        """Seconds until a probe can be admitted (0 unless open; ``inf`` when forced open),
        after the due time-driven transition, as ``state``."""
        self._poll_if_due()
        with self._lock:
            return self._breaker.time_until_half_open()

    def add_listener(self, listener: object) -> None:
        """Register ``listener`` (``state_change(change)``, ``rejection(rejection)``,
        ``success(outcome)``, ``failure(outcome)``, each optional). Listeners run after the
        event, outside the critical section. A listener's ``Exception`` is logged to the
        ``"breakerlab"`` logger and changes nothing else: the event was performed, the other
        listeners hear it, the caller gets its own result or error."""
        listeners = self._listeners
        with self._lock:
            wanted_outcomes = bool(listeners.success or listeners.failure)
            listeners.add(listener)
            if not wanted_outcomes and (listeners.success or listeners.failure):
                self._breaker.add_listener(_OutcomeRelay(self._relay))

    def close(self) -> None:
        """Flush and close the event log this breaker opened. Closing twice is harmless; any
        event afterwards raises ``BreakerError`` (before changing anything) rather than run
        unlogged, and reading ``state`` performs no due transition any more."""
        if self._owned_log is not None:
            self._owned_log.close()
        if self._sink is not None:
            self._closed = True

    # -- events (each one short critical section) --------------------------------------------

    def acquire(self) -> Permit:
        """Ask to make a call: a ``Permit``, or ``CircuitOpenError``."""
        permit, _ = self._event("acquire", None)
        assert permit is not None
        return permit

    def record_success(self, permit: Permit) -> None:
        """The call succeeded (a failure if it overran ``call_timeout``)."""
        require_permit(permit)
        self._event("record_success", permit)

    def record_failure(self, permit: Permit, error: BaseException | None = None) -> None:
        """The call failed; ``error`` is classified first (see ``Breaker.settle_exception``)."""
        require_permit(permit)
        require_error(error)
        event = Settlement.FAILURE if error is None else settlement_for(self.config, error)
        self._event(event.value, permit)

    def release(self, permit: Permit) -> None:
        """Settle without an outcome (excluded error, cancellation)."""
        require_permit(permit)
        self._event("release", permit)

    def poll(self) -> None:
        """Let time-driven transitions happen (at_deadline entry, half-open maximum wait).
        Reading ``state`` does it too when one is due; there is no background timer."""
        self._event("poll", None)

    def _poll_if_due(self) -> None:
        """Perform the time-driven transition that is due (``Breaker.next_deadline()`` has
        passed), if any, as a ``poll`` event at the clock's time (not back-dated to the
        deadline). Not after ``close()``: a logged breaker performs nothing unlogged."""
        if self._poll_is_due() and not self._closed:
            self._event("poll", None, only_if_due=True)

    def _poll_is_due(self) -> bool:
        breaker = self._breaker
        deadline = breaker.next_deadline()
        return deadline is not None and max(breaker.clock(), breaker.last_event_time) >= deadline

    def force_open(self) -> None:
        """Reject every call until another manual operation (``reset()``, ``disable()``, ``trip()``,
        ``half_open()``)."""
        self._event("force_open", None)

    def trip(self) -> None:
        """Open now, from any state, as a tripped breaker does: half-open comes after the open
        duration (``Breaker.trip``). Already open, it re-opens, restarting the open period.
        This is pybreaker's ``open()``; ``force_open()`` rejects every call until told otherwise."""
        self._event("trip", None)

    def half_open(self) -> None:
        """Enter half-open now, with no probe admitted yet; nothing when already half-open
        (``Breaker.half_open``). This is pybreaker's ``half_open()``."""
        self._event("half_open", None)

    def disable(self) -> None:
        """Admit every call and count nothing until another manual operation (``reset()``,
        ``force_open()``, ``trip()``, ``half_open()``)."""
        self._event("disable", None)

    def reset(self) -> None:
        """Close, clearing every counter, the window and the backoff."""
        self._event("reset", None)

    def _event(
        self, event: str, permit: Permit | None, *, only_if_due: bool = False
    ) -> tuple[Permit | None, StateChange | None]:
        """Perform one event in the critical section; returns the permit an acquire got and
        the state change the event caused. Listeners run after the lock is released.
        ``only_if_due``: a ``poll`` performed (and logged) only if a transition is still due
        once the lock is held."""
        breaker = self._breaker
        relay = self._relay
        result: Permit | None = None
        rejected: CircuitOpenError | None = None
        if self._closed:
            raise BreakerError(
                f"{self!r} was closed, and with it its event log: create a new CircuitBreaker to go on"
            )
        with self._lock:
            if only_if_due and not self._poll_is_due():
                return None, None
            source = breaker.state
            try:
                if permit is None:
                    if event == "acquire":
                        result = breaker.acquire()
                    else:
                        getattr(breaker, event)()
                else:
                    getattr(breaker, event)(permit)
            except CircuitOpenError as exc:
                rejected = exc
            finally:
                notes = relay.take()
            if self._sink is not None:
                self._log(event, permit if permit is not None else result, rejected, source, notes)
        self._notify(notes)
        if rejected is not None:
            raise rejected
        return result, next((n for n in notes if isinstance(n, StateChange)), None)

    def _log(
        self,
        event: str,
        permit: Permit | None,
        rejected: CircuitOpenError | None,
        source: State,
        notes: list[Note],
    ) -> None:
        breaker = self._breaker
        self._seq += 1
        counters = breaker.snapshot()
        state = counters.pop("state")
        change = next((n for n in notes if isinstance(n, StateChange)), None)
        record: Record = {
            "seq": self._seq,
            "t": breaker.last_event_time,
            "event": event,
            "permit": permit.id if permit is not None else None,
            "permit_generation": permit.generation if permit is not None else None,
            "permit_state": permit.state.value if permit is not None else None,
            "verdict": None,
            "source": source.value,
            "dest": str(state),
            "generation": counters["generation"],
            "cause": change.cause if change is not None else None,
            "counters": counters,
        }
        if event == "acquire":
            record["verdict"] = "reject" if rejected is not None else _VERDICT[bool(permit and permit.is_probe)]
            if rejected is not None:
                record["remaining_s"] = rejected.remaining_s
        assert self._sink is not None
        self._sink(record)

    def _notify(self, notes: list[Note]) -> None:
        """Tell the listeners of each note (a listener's error is logged, never raised)."""
        listeners = self._listeners
        for note in notes:
            callbacks: list[Callable[[Any], object]]
            if isinstance(note, tuple):
                kind, payload = note
                callbacks = listeners.success if kind == "success" else listeners.failure
                if callbacks:
                    listeners.notify(callbacks, payload)
                continue
            callbacks = listeners.state_change if isinstance(note, StateChange) else listeners.rejection
            if callbacks:
                listeners.notify(callbacks, note)

    # -- protected calls ---------------------------------------------------------------------

    def _settle_error(self, permit: Permit, exc: BaseException, *, force_failure: bool = False) -> None:
        """Record ``exc`` as the permit's outcome; raise ``CircuitOpenError`` from it if its
        failure opened the breaker under ``trip_error="circuit_open"``."""
        event = Settlement.FAILURE if force_failure else settlement_for(self.config, exc)
        error = self._breaker.trip_error(self._event(event.value, permit)[1])
        if error is not None:
            raise error from exc

    def _settle_result(self, permit: Permit, result: object) -> None:
        predicate = self.config.is_failure_result
        try:
            failed = predicate is not None and bool(predicate(result))
        except BaseException:
            self._event("release", permit)
            raise
        error = self._breaker.trip_error(self._event("record_failure" if failed else "record_success", permit)[1])
        if error is not None:
            raise error

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Admit, run ``fn`` outside the critical section, classify and record the outcome."""
        # Replaced on the instance by the per-call path when no event needs a Permit (see
        # __init__); this is the path for logged calls and classified results.
        return self._call_with_permit(fn, *args, **kwargs)

    def _locked_admit(self) -> Admission:
        lock = self._lock
        relay = self._relay
        lock.acquire()
        try:
            admission = self._breaker.admit()
        except BaseException:
            notes = relay.take()
            lock.release()
            self._notify(notes)
            raise
        notes = relay.take()
        lock.release()
        self._notify(notes)
        return admission

    def _locked_succeed(self, admission: Admission) -> None:
        with self._lock:
            try:
                self._breaker.succeed(admission)
            finally:
                notes = self._relay.take()
        self._notify(notes)

    def _locked_settle(self, admission: Admission, exc: BaseException) -> None:
        error = self._settle_admission(admission, exc)
        if error is not None:
            raise error from exc

    def _settle_admission(self, admission: Admission, exc: BaseException) -> CircuitOpenError | None:
        """Settle the per-call path's admission with ``exc``; the trip error to raise, if any."""
        with self._lock:
            try:
                change = self._breaker.settle_exception(admission, exc)
            finally:
                notes = self._relay.take()
        self._notify(notes)
        return self._breaker.trip_error(change)

    def _settle_success(self, permit: Permit) -> None:
        self._event("record_success", permit)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state.value}>"

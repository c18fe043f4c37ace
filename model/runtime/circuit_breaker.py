"""``CircuitBreaker``: the verified model as a real breaker for threads and asyncio.

It wraps one reference ``Breaker`` (the same table the proofs check and the simulator runs)
and adds what production code needs:

* **Thread and task safety without serialising calls.** One short critical section (a
  ``threading.Lock``) covers each *event* (acquire, an outcome, poll, manual control) and
  nothing else: the protected call runs outside it, so a slow or hung call never blocks other
  callers, and half-open rejects extra callers immediately. Listeners are called after the
  lock is released, so a listener may call the breaker.
* **Every way of calling**: ``call(fn)``, ``@breaker`` (sync or ``async def``), ``with
  breaker:``, ``await breaker.call_async(coro_fn)``.
* **Timeouts.** With ``call_timeout``, an async call is cancelled at the timeout and counted as
  a failure (``TimeoutError`` is raised). A sync call cannot be interrupted: its duration is
  measured and an overrun counts as a failure, but its result is still returned.
* **Cancellation** of the caller (``asyncio.CancelledError``, ``KeyboardInterrupt``) releases the
  permit without counting it, and is re-raised.
* **A structured event log** (``event_log=``): every event as a JSON line, replayable with
  ``breakerlab replay LOG`` (see ``eventlog.py``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import threading
from collections.abc import Awaitable, Callable
from typing import IO, Any, ParamSpec, TypeVar, overload

from breakerlab.model.breaker import Breaker, BreakerStats, Permit
from breakerlab.model.classify import Classification, classify_exception
from breakerlab.model.clock import Clock, MonotonicClock
from breakerlab.model.config import BreakerConfig, ExcludedOutcome, TripError
from breakerlab.model.errors import BreakerError, CircuitOpenError
from .eventlog import JsonLinesLog, Record, Sink, header
from breakerlab.model.breaker import LISTENER_METHODS
from breakerlab.model.events import Outcome, Rejection, StateChange
from breakerlab.model.expr import Value
from breakerlab.model.states import State
from breakerlab.model.table import TABLE, Table

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


class CircuitBreaker:
    """A thread-safe, asyncio-ready circuit breaker executing the reference transition table.

    Args:
        config: Options (the article's defaults when omitted); see ``model/SEMANTICS.md``.
        clock: Seconds, monotonic (default ``MonotonicClock()``; tests pass a ``ManualClock``).
        name: Shown in messages and the event log.
        event_log: Where to log every event as JSON lines: a path, a text stream, or a
            callable taking one record (dict). ``None``: no log.
        table: The transition table (``TABLE``; seeded mutants use others).

    >>> from breakerlab.model import BreakerConfig, ManualClock
    >>> from breakerlab.runtime import CircuitBreaker
    >>> breaker = CircuitBreaker(BreakerConfig(fail_max=3), clock=ManualClock())
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
        event_log: str | os.PathLike[str] | IO[str] | Sink | None = None,
        table: Table = TABLE,
    ) -> None:
        self._breaker = Breaker(config, clock=clock if clock is not None else MonotonicClock(), table=table, name=name)
        self.config = self._breaker.config
        self.name = name
        self._lock = threading.Lock()
        self._relay = _Relay()
        self._breaker.add_listener(self._relay)
        self._on_state_change: list[Callable[[StateChange], object]] = []
        self._on_rejection: list[Callable[[Rejection], object]] = []
        self._on_success: list[Callable[[Outcome], object]] = []
        self._on_failure: list[Callable[[Outcome], object]] = []
        self._owned_log: JsonLinesLog | None = None
        self._sink: Sink | None
        if event_log is None:
            self._sink = None
        elif callable(event_log) and not isinstance(event_log, str | os.PathLike) and not hasattr(event_log, "write"):
            self._sink = event_log
        else:
            self._owned_log = JsonLinesLog(event_log)  # type: ignore[arg-type]
            self._sink = self._owned_log
        self._seq = 0
        self._closed = False
        # Calls that need a Permit (logged, or results classified) take the general path.
        self._general_calls = self._sink is not None or self.config.is_failure_result is not None
        self._entered: contextvars.ContextVar[tuple[Permit, ...]] = contextvars.ContextVar(
            f"breakerlab_permits_{id(self)}", default=()
        )
        if self._sink is not None:
            self._sink(header(self.config, name))

    # -- reading -----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state."""
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
        """The formal state, read consistently."""
        with self._lock:
            return self._breaker.snapshot()

    def time_until_half_open(self) -> float:
        """Seconds until a probe can be admitted (0 unless open; ``inf`` when forced open)."""
        with self._lock:
            return self._breaker.time_until_half_open()

    def add_listener(self, listener: object) -> None:
        """Register ``listener`` (``state_change(change)``, ``rejection(rejection)``,
        ``success(outcome)``, ``failure(outcome)``, each optional). Listeners run after the
        event, outside the critical section."""
        methods = {name: getattr(listener, name, None) for name in LISTENER_METHODS}
        if all(method is None for method in methods.values()):
            raise TypeError(f"listener {listener!r} has none of {', '.join(m + '()' for m in LISTENER_METHODS)}")
        with self._lock:
            wants_outcomes = not (self._on_success or self._on_failure)
            for name, method in methods.items():
                if method is not None:
                    getattr(self, f"_on_{name}").append(method)
            if wants_outcomes and (self._on_success or self._on_failure):
                self._breaker.add_listener(_OutcomeRelay(self._relay))

    def close(self) -> None:
        """Flush and close the event log this breaker opened. Closing twice is harmless; any
        event afterwards raises ``BreakerError`` (before changing anything) rather than run
        unlogged."""
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
        self._event("record_success", permit)

    def record_failure(self, permit: Permit, error: BaseException | None = None) -> None:
        """The call failed; ``error`` is classified first (see ``Breaker.record_failure``)."""
        if error is not None:
            kind = classify_exception(self.config, error)
            if kind is Classification.CANCELLED:
                self._event("release", permit)
                return
            if kind is Classification.EXCLUDED:
                self._excluded(permit)
                return
            if kind is Classification.SUCCESS:
                self._event("record_success", permit)
                return
        self._event("record_failure", permit)

    def release(self, permit: Permit) -> None:
        """Settle without an outcome (excluded error, cancellation)."""
        self._event("release", permit)

    def poll(self) -> None:
        """Let time-driven transitions happen (at_deadline entry, half-open maximum wait)."""
        self._event("poll", None)

    def force_open(self) -> None:
        """Reject every call until ``reset()`` or ``disable()``."""
        self._event("force_open", None)

    def disable(self) -> None:
        """Admit every call and count nothing until ``reset()`` or ``force_open()``."""
        self._event("disable", None)

    def reset(self) -> None:
        """Close, clearing every counter, the window and the backoff."""
        self._event("reset", None)

    def _event(self, event: str, permit: Permit | None) -> tuple[Permit | None, bool]:
        """Perform one event in the critical section; returns the permit an acquire got and
        whether this event opened the breaker. Listeners run after the lock is released."""
        breaker = self._breaker
        relay = self._relay
        result: Permit | None = None
        rejected: CircuitOpenError | None = None
        if self._closed:
            raise BreakerError(
                f"{self!r} was closed, and with it its event log: create a new CircuitBreaker to go on"
            )
        with self._lock:
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
                notes, relay.pending = relay.pending, []
            if self._sink is not None:
                self._log(event, permit if permit is not None else result, rejected, source, notes)
        self._notify(notes)
        if rejected is not None:
            raise rejected
        opened = any(isinstance(n, StateChange) and n.dest is State.OPEN for n in notes)
        return result, opened

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
        for note in notes:
            callbacks: list[Callable[[Any], object]]
            if isinstance(note, tuple):
                kind, payload = note
                callbacks = self._on_success if kind == "success" else self._on_failure
                for callback in callbacks:
                    callback(payload)
                continue
            callbacks = self._on_state_change if isinstance(note, StateChange) else self._on_rejection
            for callback in callbacks:
                callback(note)

    # -- protected calls ---------------------------------------------------------------------

    def _excluded(self, permit: Permit) -> None:
        if self.config.excluded_outcome is ExcludedOutcome.SUCCESS:
            self._event("record_success", permit)
        else:
            self._event("release", permit)

    def _settle_error(self, permit: Permit, exc: BaseException, *, force_failure: bool = False) -> bool:
        """Record ``exc`` as the outcome; True if the breaker is open afterwards because of it."""
        kind = Classification.FAILURE if force_failure else classify_exception(self.config, exc)
        if kind is Classification.CANCELLED:
            self._event("release", permit)
            return False
        if kind is Classification.EXCLUDED:
            self._excluded(permit)
            return False
        if kind is Classification.SUCCESS:
            self._event("record_success", permit)
            return False
        return self._event("record_failure", permit)[1]

    def _settle_result(self, permit: Permit, result: object) -> None:
        predicate = self.config.is_failure_result
        try:
            failed = predicate is not None and bool(predicate(result))
        except BaseException:
            self._event("release", permit)
            raise
        if not failed:
            self._event("record_success", permit)
            return
        _, opened = self._event("record_failure", permit)
        if opened and self.config.trip_error is TripError.CIRCUIT_OPEN:
            raise CircuitOpenError(self.time_until_half_open(), State.OPEN)

    def _trip_error(self, opened: bool, exc: BaseException) -> None:
        if opened and self.config.trip_error is TripError.CIRCUIT_OPEN:
            raise CircuitOpenError(self.time_until_half_open(), State.OPEN) from exc

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Acquire, run ``fn`` outside the critical section, classify and record the outcome."""
        if self._general_calls:
            return self._call_with_permit(fn, *args, **kwargs)
        # The per-call path: no Permit object and one short critical section on each side of
        # the call. Its two common cases (an admission the table makes with no action, a
        # success that changes no state) perform the same steps as Breaker._admit/_succeed,
        # inlined because this is the cost users pay on every call, and produce no
        # notification; everything else goes through the breaker's general methods. The
        # equivalence with the general path is tested (tests/test_runtime.py).
        breaker = self._breaker
        lock = self._lock
        probe = False
        # lock.acquire()/release() rather than `with lock:`: the same critical section, cheaper.
        lock.acquire()
        core = breaker._core
        state = core.state
        if state is breaker._trivial_admission:
            try:
                acquired_at = breaker._clock()
                if breaker._clock_never_runs_back:
                    breaker._last_now = acquired_at
                elif acquired_at < breaker._last_now:
                    acquired_at = breaker._last_now
                else:
                    breaker._last_now = acquired_at
                breaker._admitted += 1
                generation = core.generation
            finally:
                lock.release()
        else:
            rejected: CircuitOpenError | None = None
            relay = self._relay
            try:
                generation, state, probe, acquired_at = breaker._admit()
            except CircuitOpenError as exc:
                rejected = exc
            finally:
                notes = relay.pending
                relay.pending = []
                lock.release()
            if notes:
                self._notify(notes)
            if rejected is not None:
                raise rejected
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            permit = Permit(0, generation, state, probe, acquired_at, breaker)
            self._trip_error(self._settle_error(permit, exc), exc)
            raise
        lock.acquire()
        pending: list[Note] | None = None
        try:
            if breaker._plain_success:  # no timeout, window or success listener needs more
                now = breaker._clock()
                if breaker._clock_never_runs_back:
                    breaker._last_now = now
                elif now < breaker._last_now:
                    now = breaker._last_now
                else:
                    breaker._last_now = now
                kernel = breaker._success_kernels[core.state]  # core: the breaker's, as above
                if kernel is not None and not breaker._changes[kernel(core, now, generation, state)]:
                    breaker._successes += 1  # done: the row changed no state, nothing to notify
                    return result
                breaker._plain_succeed(now, generation, state)  # a state change, or no kernel
            else:
                breaker._succeed(generation, state, acquired_at)
            relay = self._relay
            pending = relay.pending
            relay.pending = []
        finally:
            lock.release()
            if pending:
                self._notify(pending)
        return result

    def _call_with_permit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        permit = self.acquire()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._trip_error(self._settle_error(permit, exc), exc)
            raise
        self._settle_result(permit, result)
        return result

    async def call_async(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Like ``call`` for a coroutine function; with ``call_timeout`` the call is cancelled
        at the timeout, counted as a failure, and ``TimeoutError`` is raised."""
        permit = self.acquire()
        timeout = self.config.call_timeout
        try:
            if timeout is None:
                result = await fn(*args, **kwargs)
            else:
                async with asyncio.timeout(timeout) as scope:
                    result = await fn(*args, **kwargs)
        except BaseException as exc:
            # our timeout fired (not the caller's cancellation racing with it)
            timed_out = timeout is not None and scope.expired() and isinstance(exc, TimeoutError)
            self._trip_error(self._settle_error(permit, exc, force_failure=timed_out), exc)
            raise
        self._settle_result(permit, result)
        return result

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...

    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a function (or an ``async def``) so every call goes through the breaker."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await self.call_async(fn, *args, **kwargs)

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            return self.call(fn, *args, **kwargs)

        return wrapper

    def __enter__(self) -> Permit:
        permit = self.acquire()
        self._entered.set((*self._entered.get(), permit))
        return permit

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        stack = self._entered.get()
        if not stack:
            raise RuntimeError("CircuitBreaker.__exit__ without a matching __enter__ in this context")
        permit = stack[-1]
        self._entered.set(stack[:-1])
        if exc is None:
            self._event("record_success", permit)
            return
        self._trip_error(self._settle_error(permit, exc), exc)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state.value}>"

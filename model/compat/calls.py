"""How one pybreaker-style call goes through the runtime breaker, and what its listeners hear.

A call is the runtime breaker's Permit API: ``acquire`` (admitted, or ``CircuitOpenError``),
then ``record_success``, ``record_failure`` or ``release``. The runtime breaker tells its
listeners of a state change synchronously, in the thread that performed the event; the
change is kept here for the duration of that event (one context variable per breaker) so the
pybreaker listeners hear it in pybreaker's order:

* admission: the state change (open to half-open), then ``before_call``;
* a failure: ``failure(cb, exc)``, then the state change (closed or half-open to open);
* a success (or an excluded exception): the state change (half-open to closed), then
  ``success(cb)``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from breakerlab.model.classify import Settlement, settlement_for
from breakerlab.model.errors import BreakerError, CircuitOpenError
from breakerlab.model.events import StateChange
from breakerlab.model.permit import Permit
from breakerlab.model.states import State

from .listener import Hooks
from .states import CircuitBreakerState
from .storage import RuntimeBreaker

if TYPE_CHECKING:
    from .pybreaker import CircuitBreaker

__all__ = ["CallPath", "CircuitBreakerError", "calling_block", "release_unsettled"]

_TRIP_MESSAGES = {
    State.CLOSED: "Failures threshold reached, circuit breaker opened",
    State.HALF_OPEN: "Trial call failed, circuit breaker opened",
}
_REJECT_MESSAGES = {
    State.OPEN: "Timeout not elapsed yet, circuit breaker still open",
    State.HALF_OPEN: "Trial call in progress, circuit breaker still half-open",
}


class CircuitBreakerError(BreakerError):
    """A call was not made because the circuit is open (or half-open with its trial call in
    flight), or its failure opened the circuit (``throw_new_error_on_trip=True``).

    A rejection is chained from the runtime breaker's ``CircuitOpenError`` (``__cause__``), a
    trip from the call's own exception.

    Attributes:
        remaining_s: For a rejection, seconds until a trial call can be admitted (``0.0`` while
            a trial call is in flight); ``None`` for a trip.
    """

    def __init__(self, *args: object, remaining_s: float | None = None) -> None:
        super().__init__(*args)
        self.remaining_s = remaining_s


def calling_block() -> None:
    """What ``before_call`` receives as ``func`` for the body of a ``with cb.calling():`` block."""


def release_unsettled(runtime: RuntimeBreaker, permit: Permit) -> None:
    """Release ``permit`` if its call has not been settled (a guarded generator closed early or
    never run, a ``calling()`` block never left: neither a success nor a failure)."""
    if not permit.settled:
        runtime.release(permit)


class CallPath:
    """The calls of one compat breaker: admission and settlement on its runtime breaker, and
    the pybreaker hooks around them.

    Attributes:
        used: A call has been attempted (or a manual operation made): the configuration is fixed.
        ever_opened: The circuit has been seen to open (``opened_at`` is ``None`` until then).
        throw_new_error_on_trip: A failure that opens the circuit raises ``CircuitBreakerError``.
    """

    def __init__(
        self, owner: CircuitBreaker, hooks: Hooks, states: dict[State, CircuitBreakerState],
        throw_new_error_on_trip: bool,
    ) -> None:
        self._hooks = hooks
        self._states = states
        self.throw_new_error_on_trip = throw_new_error_on_trip
        self.used = False
        self.ever_opened = False
        self._capture: contextvars.ContextVar[list[StateChange] | None] = contextvars.ContextVar(
            f"breakerlab_compat_changes_{id(owner)}", default=None
        )

    def heard(self, change: StateChange) -> None:
        """A state change of the runtime breaker: kept for the call whose event caused it, or
        told to the listeners now (a manual operation, another API of the runtime breaker)."""
        if change.dest is State.OPEN:
            self.ever_opened = True
        pending = self._capture.get()
        if pending is not None:
            pending.append(change)
        else:
            self._announce(change)

    def _announce(self, change: StateChange) -> None:
        self._hooks.call("state_change", self._states[change.source], self._states[change.dest])

    def admit(self, runtime: RuntimeBreaker, func: Callable[..., Any], args: Any, kwargs: Any) -> Permit:
        """Ask ``runtime`` to admit a call of ``func``: the state change it caused, then
        ``before_call``; or ``CircuitBreakerError`` (chained from the ``CircuitOpenError``)."""
        self.used = True
        pending: list[StateChange] = []
        token = self._capture.set(pending)
        rejected: CircuitOpenError | None = None
        try:
            permit = runtime.acquire()
        except CircuitOpenError as exc:
            rejected = exc
        finally:
            self._capture.reset(token)
        for change in pending:
            self._announce(change)
        if rejected is not None:
            message = _REJECT_MESSAGES.get(rejected.state) if type(rejected) is CircuitOpenError else None
            raise CircuitBreakerError(message or str(rejected), remaining_s=rejected.remaining_s) from rejected
        self._hooks.call("before_call", func, *args, **kwargs)
        return permit

    def settle(self, runtime: RuntimeBreaker, permit: Permit, exc: BaseException | None) -> None:
        """Record the call's outcome (``exc``: what it raised, ``None``: it returned), classified
        by the model; tell the listeners; raise ``CircuitBreakerError`` from ``exc`` if this
        failure opened the circuit and ``throw_new_error_on_trip`` (never in place of an
        interruption such as ``KeyboardInterrupt`` or ``asyncio.CancelledError``)."""
        if exc is None:
            settlement = Settlement.SUCCESS
        else:
            try:
                settlement = settlement_for(runtime.config, exc)
            except BaseException:
                runtime.release(permit)  # an exclusion callable raised: its error propagates
                raise
        pending: list[StateChange] = []
        token = self._capture.set(pending)
        try:
            if settlement is Settlement.FAILURE:
                runtime.record_failure(permit)
            elif settlement is Settlement.SUCCESS:
                runtime.record_success(permit)
            else:
                runtime.release(permit)
        finally:
            self._capture.reset(token)
        if settlement is Settlement.FAILURE:
            self._hooks.call("failure", exc)
        for change in pending:
            self._announce(change)
        if settlement is Settlement.SUCCESS:
            self._hooks.call("success")
        if settlement is Settlement.FAILURE and self.throw_new_error_on_trip and isinstance(exc, Exception):
            # Only this failure's event ran while its changes were kept: a change to open is its trip.
            opened = next((change for change in pending if change.dest is State.OPEN), None)
            if opened is not None:
                raise CircuitBreakerError(_TRIP_MESSAGES.get(opened.source, "Circuit breaker opened")) from exc

    def guard(
        self, runtime: RuntimeBreaker, permit: Permit, generator: Generator[Any, Any, Any]
    ) -> Generator[Any, Any, Any]:
        """``generator``, with its call settled when it ends: a success when exhausted, its
        exception's classification when it raises, released when closed early."""
        try:
            result = yield from generator
        except GeneratorExit:
            release_unsettled(runtime, permit)
            raise
        except BaseException as exc:
            self.settle(runtime, permit, exc)
            raise
        self.settle(runtime, permit, None)
        return result

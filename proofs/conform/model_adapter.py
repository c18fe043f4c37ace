"""The reference model as one more adapter: the same scripts, run on ``breakerlab.model.Breaker``.

The model runs synchronously on a ``ManualClock``: a call that the breaker admits enters at
once, and completes when its outcome is known (at once for ``Call``, at ``Finish`` for
``Begin``). With ``serializes_calls`` the adapter also holds a first-come-first-served lock
across each call, as pybreaker does: a caller arriving while another call is inside waits
(``blocked``) and goes through, in order, when the lock frees. With ``half_open_waits``
(cockatiel) a call that half-open has no probe slot for waits instead of being rejected, and
tries again, in order, whenever a call completes (so once the probes have decided). With a
``call_timeout`` the call is failed by a timer, as ``CircuitBreaker.call_async`` and opossum
do: when an ``Advance`` reaches ``admission + call_timeout`` of a call still in flight, its
caller gets ``TimeoutError`` and the breaker records a failure. The observations use the same
vocabulary as the libraries' (``breakerlab.proofs.conform.script``), so a run of the model
configured with a library's fingerprint can be compared with a run of the library, step by step.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from breakerlab.model import Breaker, BreakerConfig, CircuitOpenError, ManualClock, State
from breakerlab.model.config import TripError
from breakerlab.model.permit import Permit

from .adapters.base import Backend, Flight, FrozenClock, LibraryConfig, caller_result
from .adapters.runner import Runner
from .script import Abort, Boom, Excluded, Observation, Step, validate_script

__all__ = ["ModelAdapter", "comparable"]

#: The exceptions a protected function raises, by outcome (what reaches the caller unchanged).
_RAISED: dict[str, Callable[[], BaseException]] = {
    "failure": Boom,
    "excluded": Excluded,
    "cancel": lambda: __import__("asyncio").CancelledError(),
    "base": Abort,
}
#: Names of those exceptions: any other raised exception is the breaker's own.
OWN_ERRORS = frozenset({"Boom", "Excluded", "CancelledError", "Abort"})


def comparable(observation: Observation) -> tuple[Any, ...]:
    """What is compared between a library and the model: every field, with the breaker's own
    exception named ``breaker_error`` whatever the library calls it (``CircuitBreakerError``,
    ``OpenedState``, ``CircuitOpenError``)."""
    result = observation.result
    kind, _, name = result.partition(":")
    if kind == "rejected":
        result = "rejected"
    elif kind == "raised" and name not in OWN_ERRORS:
        result = "raised:breaker_error"
    return (observation.step, observation.kind, result, observation.call_id, observation.entered)


class _ModelBackend(Backend):
    """Runs the calls of one script on a reference breaker, synchronously."""

    def __init__(self, breaker: Breaker, serializes_calls: bool, half_open_waits: bool = False) -> None:
        self._breaker = breaker
        self._serialize = serializes_calls
        self._half_open_waits = half_open_waits
        self._holder: Flight | None = None
        self._waiting: collections.deque[Flight] = collections.deque()
        self._half_open_waiting: collections.deque[Flight] = collections.deque()
        self._admitted: dict[int, tuple[Permit, Flight]] = {}  # by call id, until settled
        self._order = 0

    def _changed(self, flight: Flight) -> None:
        self._order += 1
        flight.changed = self._order

    def start(self, flight: Flight) -> None:
        if self._serialize and self._holder is not None:
            self._waiting.append(flight)  # blocked on the lock
            return
        self._admit(flight)

    def _enter(self, flight: Flight, complete: bool = True) -> bool:
        """Admit or reject ``flight`` (an armed call admitted completes at once, unless
        ``complete`` is false); ``False`` when it waits for half-open's decision instead."""
        try:
            permit = self._breaker.acquire()
        except CircuitOpenError as rejection:
            if self._half_open_waits and rejection.state is State.HALF_OPEN:
                return False
            flight.done, flight.result = True, caller_result(False, rejection)
            self._changed(flight)
            return True
        flight.entered = True
        self._changed(flight)
        self._admitted[flight.call_id] = (permit, flight)
        if self._serialize:
            self._holder = flight
        if flight.armed and complete:
            self._complete(flight)
        return True

    def _admit(self, flight: Flight) -> None:
        if not self._enter(flight):
            self._half_open_waiting.append(flight)

    def _wake_half_open_waiters(self) -> None:
        """The waiters try again, in arrival order, whenever a call completes (the probes have
        decided, or a probe slot is free again); as in an event loop, every one of them gets in
        (or is rejected, or waits again) before any admitted armed call completes."""
        if not self._half_open_waiting:
            return
        waiting, self._half_open_waiting = list(self._half_open_waiting), collections.deque()
        admitted = []
        for flight in waiting:
            if not self._enter(flight, complete=False):
                self._half_open_waiting.append(flight)
            elif flight.entered:
                admitted.append(flight)
        for flight in admitted:
            if flight.armed and not flight.done:
                self._complete(flight)

    def _complete(self, flight: Flight, timed_out: bool = False) -> None:
        breaker = self._breaker
        permit, _ = self._admitted.pop(flight.call_id)
        outcome = flight.outcome
        if outcome == "success" and not timed_out:
            breaker.record_success(permit)
            flight.result = caller_result(True, None)
        else:
            error = TimeoutError() if timed_out else _RAISED[str(outcome)]()
            generation = breaker.generation
            # A timed-out call is a failure whatever the classification (call_async's rule); any
            # other error is classified: excluded, cancellation, failure.
            breaker.record_failure(permit, None if timed_out else error)
            opened = breaker.generation != generation and breaker.state is State.OPEN
            tripped = opened and breaker.config.trip_error is TripError.CIRCUIT_OPEN
            # The tripping call raises the breaker's error (trip_error="circuit_open"), as call() does.
            flight.result = caller_result(True, CircuitOpenError(0.0, breaker.state) if tripped else error)
        flight.done = True
        self._changed(flight)
        if self._holder is flight:
            self._holder = None
            self._pass_lock()
        self._wake_half_open_waiters()

    def _pass_lock(self) -> None:
        while self._holder is None and self._waiting:
            self._admit(self._waiting.popleft())

    def release(self, flight: Flight) -> None:
        if flight.entered and not flight.done:
            self._complete(flight)

    def advance(self, clock: ManualClock, seconds: float) -> None:
        """Move ``clock`` on by ``seconds``, failing on the way, in deadline order, every call in
        flight whose ``call_timeout`` expires (at ``admission + call_timeout``)."""
        timeout = self._breaker.config.call_timeout
        target = clock() + seconds
        while timeout is not None:
            due = sorted(
                (permit.acquired_at + timeout, flight.changed, flight)
                for permit, flight in self._admitted.values()
                if not flight.armed
            )
            if not due or due[0][0] > target:
                break
            deadline, _, flight = due[0]
            clock.advance(max(0.0, deadline - clock()))
            self._complete(flight, timed_out=True)
        clock.advance(max(0.0, target - clock()))

    def wait_for(self, predicate: Callable[[], bool], long: bool = False) -> bool:
        return predicate()  # nothing runs in the background: every change has already happened

    def locked(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def read_state(self) -> str:
        breaker = self._breaker
        now = breaker.clock()
        due = breaker.next_deadline()
        while due is not None and now >= due:  # the timer such a breaker runs on has fired
            breaker.poll(now)
            after = breaker.next_deadline()
            if after == due:
                break
            due = after
        return str(breaker.state.value)

    def close(self) -> None:
        for flight in self._waiting:
            flight.outcome = flight.outcome or "success"
        self._pass_lock()


@dataclasses.dataclass
class ModelAdapter:
    """The reference breaker with ``options`` (``BreakerConfig`` fields beyond the three every
    adapter sets), optionally behind a whole-call lock.

    Attributes:
        options: ``BreakerConfig`` keyword arguments, e.g. ``{"trip_error": "circuit_open"}``.
        serializes_calls: Hold a lock across each call (pybreaker).
        half_open_waits: A call half-open has no probe slot for waits for the probes' decision
            instead of being rejected (cockatiel).
    """

    options: Mapping[str, Any]
    serializes_calls: bool = False
    half_open_waits: bool = False
    name: str = "model"
    version: str = "reference"
    _config: LibraryConfig | None = None

    def configure(
        self, fail_max: int, reset_timeout_s: float, excluded: tuple[type[BaseException], ...] = ()
    ) -> None:
        """Set fail_max, reset_timeout and the excluded errors for the following runs."""
        self._config = LibraryConfig(fail_max=fail_max, reset_timeout_s=reset_timeout_s, excluded=tuple(excluded))

    def breaker_config(self) -> BreakerConfig:
        """The configuration a run uses."""
        if self._config is None:
            raise ValueError("call configure() before run()")
        return BreakerConfig(
            fail_max=self._config.fail_max,
            reset_timeout=self._config.reset_timeout_s,
            excluded_exceptions=self._config.excluded,
            **self.options,
        )

    def run(self, script: Sequence[Step]) -> tuple[Observation, ...]:
        """Run ``script`` on a fresh reference breaker."""
        steps = validate_script(script)
        clock = ManualClock()
        backend = _ModelBackend(Breaker(self.breaker_config(), clock=clock), self.serializes_calls, self.half_open_waits)

        def advance(seconds: float) -> None:
            backend.advance(clock, seconds)

        observations = Runner(backend, FrozenClock(advance)).run(steps)
        backend.close()
        return observations

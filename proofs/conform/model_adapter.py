"""The reference model as one more adapter: the same scripts, run on ``breakerlab.model.Breaker``.

The model runs synchronously on a ``ManualClock``: a call that the breaker admits enters at
once, and completes when its outcome is known (at once for ``Call``, at ``Finish`` for
``Begin``). With ``serializes_calls`` the adapter also holds a first-come-first-served lock
across each call, as pybreaker does: a caller arriving while another call is inside waits
(``blocked``) and goes through, in order, when the lock frees. The observations use the same
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

    def __init__(self, breaker: Breaker, serializes_calls: bool) -> None:
        self._breaker = breaker
        self._serialize = serializes_calls
        self._holder: Flight | None = None
        self._waiting: collections.deque[Flight] = collections.deque()
        self._permits: dict[int, Permit] = {}
        self._order = 0

    def _changed(self, flight: Flight) -> None:
        self._order += 1
        flight.changed = self._order

    def start(self, flight: Flight) -> None:
        if self._serialize and self._holder is not None:
            self._waiting.append(flight)  # blocked on the lock
            return
        self._enter(flight)

    def _enter(self, flight: Flight) -> None:
        try:
            permit = self._breaker.acquire()
        except CircuitOpenError as rejection:
            flight.done, flight.result = True, caller_result(False, rejection)
            self._changed(flight)
            return
        flight.entered = True
        self._changed(flight)
        self._permits[flight.call_id] = permit
        if self._serialize:
            self._holder = flight
        if flight.armed:
            self._complete(flight)

    def _complete(self, flight: Flight) -> None:
        breaker = self._breaker
        permit = self._permits.pop(flight.call_id)
        outcome = flight.outcome
        if outcome == "success":
            breaker.record_success(permit)
            flight.result = caller_result(True, None)
        else:
            error = _RAISED[str(outcome)]()
            generation = breaker.generation
            breaker.record_failure(permit, error)  # classified: excluded, cancellation, failure
            opened = breaker.generation != generation and breaker.state is State.OPEN
            tripped = opened and breaker.config.trip_error is TripError.CIRCUIT_OPEN
            # The tripping call raises the breaker's error (trip_error="circuit_open"), as call() does.
            flight.result = caller_result(True, CircuitOpenError(0.0, breaker.state) if tripped else error)
        flight.done = True
        self._changed(flight)
        if self._holder is flight:
            self._holder = None
            self._pass_lock()

    def _pass_lock(self) -> None:
        while self._holder is None and self._waiting:
            self._enter(self._waiting.popleft())

    def release(self, flight: Flight) -> None:
        if flight.entered and not flight.done:
            self._complete(flight)

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
        for flight in list(self._waiting):
            flight.outcome = flight.outcome or "success"
        self._pass_lock()


@dataclasses.dataclass
class ModelAdapter:
    """The reference breaker with ``options`` (``BreakerConfig`` fields beyond the three every
    adapter sets), optionally behind a whole-call lock.

    Attributes:
        options: ``BreakerConfig`` keyword arguments, e.g. ``{"trip_error": "circuit_open"}``.
        serializes_calls: Hold a lock across each call (pybreaker).
    """

    options: Mapping[str, Any]
    serializes_calls: bool = False
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
        backend = _ModelBackend(Breaker(self.breaker_config(), clock=clock), self.serializes_calls)
        def advance(seconds: float) -> None:
            clock.advance(seconds)

        observations = Runner(backend, FrozenClock(advance)).run(steps)
        backend.close()
        return observations

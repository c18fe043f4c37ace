"""Execute a validated script step by step on a backend and turn what the calls did into observations."""

from __future__ import annotations

from collections.abc import Sequence

from ..script import Advance, Begin, Call, Finish, Observation, ObservationKind, Step
from .base import AdapterError, Backend, Flight, FrozenClock

__all__ = ["Runner"]


class Runner:
    """Runs one script once; not reusable.

    Timing rules (the only places real time matters):

    - ``Call`` waits until the call returns, ``Begin`` until it enters the protected function
      or returns; a call that does neither within the backend's short wait is ``blocked``.
    - Blocked calls are re-examined (``settled``) after every ``Finish`` step and at the end,
      the moments a call can release what they wait for. Progress seen at the start of any
      other step is recorded too. When several calls progress together, they are recorded in
      the order they entered or returned.
    - After the last step, calls still in flight are finished one at a time, in id order, with
      ``success``; blocked calls are armed with ``success`` first, so they return as soon as
      the library lets them in. Each is recorded as ``drained``.
    """

    def __init__(self, backend: Backend, clock: FrozenClock) -> None:
        self._backend = backend
        self._clock = clock
        self._flights: dict[int, Flight] = {}
        self._observations: list[Observation] = []

    def run(self, steps: Sequence[Step]) -> tuple[Observation, ...]:
        """Execute ``steps`` (already validated) and drain the calls left over; return the observations."""
        if self._observations:
            raise AdapterError("a Runner runs one script once; create a new one")
        for index, step in enumerate(steps):
            self._collect(index, "resumed")
            if isinstance(step, Call):
                self._start(index, Flight(step.call_id, begun=False, outcome=step.outcome))
            elif isinstance(step, Begin):
                self._start(index, Flight(step.call_id, begun=True, outcome=None))
            elif isinstance(step, Finish):
                self._finish(index, step)
            elif isinstance(step, Advance):
                self._clock.advance(step.seconds)
                self._observations.append(Observation(index, "advance", self._clock.label))
            else:
                self._observations.append(Observation(index, "state", self._backend.read_state()))
        self._drain(len(steps))
        return tuple(self._observations)

    def _report(self, index: int, kind: ObservationKind, flight: Flight) -> None:
        with self._backend.locked():
            status, entered = flight.status, flight.entered
            flight.reported = status
        self._observations.append(Observation(index, kind, status, call_id=flight.call_id, entered=entered))

    def _start(self, index: int, flight: Flight) -> None:
        self._flights[flight.call_id] = flight
        self._backend.start(flight)
        if flight.begun:
            self._backend.wait_for(lambda: flight.entered or flight.done)
        else:
            self._backend.wait_for(lambda: flight.done)  # noqa: B023  (called here, in this iteration)
        self._report(index, "begin" if flight.begun else "call", flight)

    def _finish(self, index: int, step: Finish) -> None:
        flight = self._flights[step.call_id]
        with self._backend.locked():
            done = flight.done
        if done:
            self._observations.append(
                Observation(index, "finish", "not_in_flight", call_id=flight.call_id, entered=flight.entered)
            )
            return
        flight.outcome = step.outcome
        self._backend.release(flight)
        if flight.entered:
            self._backend.wait_for(lambda: flight.done)  # noqa: B023  (called here, in this iteration)
        self._report(index, "finish", flight)
        self._settle(index, "resumed")

    def _collect(self, index: int, kind: ObservationKind) -> bool:
        """Record every call whose status changed since last recorded, in order of change."""
        with self._backend.locked():
            changed = sorted(
                (flight for flight in self._flights.values() if flight.status != flight.reported),
                key=lambda flight: flight.changed,
            )
        for flight in changed:
            self._report(index, kind, flight)
        return bool(changed)

    def _settle(self, index: int, kind: ObservationKind) -> None:
        """Record progress of blocked calls until none progresses within the backend's wait."""
        while True:
            self._collect(index, kind)
            with self._backend.locked():
                watched = [f for f in self._flights.values() if not f.done and (not f.entered or f.armed)]
            if not watched:
                return
            if not self._backend.wait_for(lambda: any(f.status != f.reported for f in watched)):  # noqa: B023
                return

    def _drain(self, index: int) -> None:
        self._collect(index, "drained")
        with self._backend.locked():
            pending = sorted((f for f in self._flights.values() if not f.done), key=lambda f: f.call_id)
            waiting = [f for f in pending if not f.entered]
            inside = [f for f in pending if f.entered]
        for flight in waiting:
            if not flight.armed:
                flight.outcome = "success"
            self._backend.release(flight)
        for flight in inside:
            if not flight.armed:
                flight.outcome = "success"
            self._backend.release(flight)
            self._backend.wait_for(lambda: flight.done)  # noqa: B023  (called here, in this iteration)
            self._settle(index, "drained")
        self._settle(index, "drained")
        if not self._backend.wait_for(lambda: all(f.done for f in pending), long=True):
            stuck = [f.call_id for f in pending if not f.done]
            raise AdapterError(f"calls {stuck} never returned after every other call was finished")
        self._collect(index, "drained")

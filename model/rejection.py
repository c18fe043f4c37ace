"""What a caller is told when the breaker stops its call: how long rejections last, and when a
tripping failure is reported as ``CircuitOpenError``. One definition for every breaker that
reports them (``Breaker``, and the breaker shared through Redis, whose state lives in the store)."""

from __future__ import annotations

import math

from .config import BreakerConfig, TripError
from .errors import CircuitOpenError
from .events import StateChange
from .states import State

__all__ = ["remaining_s", "trip_error_for"]


def remaining_s(state: State, open_until: float, now: float) -> float:
    """Seconds from ``now`` until a call can be admitted again, in ``state`` with the formal
    variable ``open_until``: 0 unless open (or when the deadline has passed), ``inf`` when
    forced open (only manual control ends it)."""
    if state is State.OPEN:
        return max(0.0, open_until - now)
    if state is State.FORCED_OPEN:
        return math.inf
    return 0.0


def trip_error_for(config: BreakerConfig, change: StateChange | None, open_until: float) -> CircuitOpenError | None:
    """The error a call whose settlement caused ``change`` raises instead of its own outcome:
    ``CircuitOpenError`` if its failure opened the breaker (until ``open_until``) under
    ``trip_error="circuit_open"``, else ``None``."""
    if (
        change is None
        or change.dest is not State.OPEN
        or change.trigger != "record_failure"
        or config.trip_error is not TripError.CIRCUIT_OPEN
    ):
        return None
    return CircuitOpenError(remaining_s(State.OPEN, open_until, change.time), State.OPEN)

"""breakerlab.model: the reference circuit breaker, declared as a transition table.

>>> from breakerlab.model import Breaker, BreakerConfig, ManualClock, State
>>> clock = ManualClock()
>>> breaker = Breaker(BreakerConfig(fail_max=2, reset_timeout=60), clock=clock)
>>> for _ in range(2):
...     breaker.record_failure(breaker.acquire())
>>> breaker.state
<State.OPEN: 'open'>
>>> _ = clock.advance(60)
>>> breaker.record_success(breaker.acquire())  # the probe
>>> breaker.state
<State.CLOSED: 'closed'>
"""

from __future__ import annotations

from .breaker import Breaker, BreakerStats, Permit
from .clock import Clock, ManualClock, MonotonicClock
from .config import (
    BreakerConfig,
    CancellationOutcome,
    CloseRule,
    ExcludedOutcome,
    HalfOpenEntry,
    HalfOpenLimit,
    LateResultPolicy,
    OpenDurationPolicy,
    TripError,
    TripRule,
)
from .errors import BreakerError, CircuitOpenError, InvalidConfigError, PermitError, TableError
from .events import BreakerListener, Outcome, Rejection, StateChange
from .states import State
from .table import TABLE, Table

__all__ = [
    "Breaker",
    "BreakerConfig",
    "BreakerError",
    "BreakerListener",
    "BreakerStats",
    "CancellationOutcome",
    "CircuitOpenError",
    "Clock",
    "CloseRule",
    "ExcludedOutcome",
    "HalfOpenEntry",
    "HalfOpenLimit",
    "InvalidConfigError",
    "LateResultPolicy",
    "ManualClock",
    "MonotonicClock",
    "OpenDurationPolicy",
    "Outcome",
    "Permit",
    "PermitError",
    "Rejection",
    "State",
    "StateChange",
    "TABLE",
    "Table",
    "TableError",
    "TripError",
    "TripRule",
]

"""``Driver``: a fresh breaker on a manual clock, driven through recorded events by name.

Event logs (``breakerlab.runtime.replay``), z3 counterexamples and SPIN trails
(``breakerlab.proofs``) are all replayed with it.
"""

from __future__ import annotations

from collections.abc import Hashable

from .breaker import Breaker, Permit
from .clock import ManualClock
from .config import BreakerConfig
from .errors import CircuitOpenError
from .table import TABLE, Table

__all__ = ["EVENTS", "OTHERS", "OUTCOMES", "Driver"]

OUTCOMES = ("record_success", "record_failure", "release")
OTHERS = ("poll", "force_open", "trip", "half_open", "disable", "reset")
EVENTS = ("acquire", *OUTCOMES, *OTHERS)


class Driver:
    """Drives a fresh ``Breaker`` on a ``ManualClock`` through recorded events.

    The one place that turns "at time t, event e, with the permit known as k" into calls on a
    breaker: event logs, z3 counterexamples and SPIN trails are all replayed with it.
    """

    def __init__(self, config: BreakerConfig, table: Table = TABLE) -> None:
        self.clock = ManualClock()
        self.breaker = Breaker(config, clock=self.clock, table=table)
        self.permits: dict[Hashable, Permit] = {}

    def step(self, t: float, event: str, key: Hashable | None = None) -> str | None:
        """Perform ``event`` at time ``t``; returns the verdict of an acquire (``admit``,
        ``admit_probe``, ``reject``), else ``None``. An admitted permit is kept under ``key``;
        an outcome settles the permit kept under ``key`` (``KeyError`` if there is none)."""
        if t < self.clock():
            raise ValueError(f"time runs back: {t} after {self.clock()}")
        self.clock.advance(t - self.clock())
        breaker = self.breaker
        if event == "acquire":
            try:
                permit = breaker.acquire()
            except CircuitOpenError:
                return "reject"
            if key is not None:
                self.permits[key] = permit
            return "admit_probe" if permit.is_probe else "admit"
        if event in OUTCOMES:
            getattr(breaker, event)(self.permits.pop(key))
        elif event in OTHERS:
            getattr(breaker, event)()
        else:
            raise ValueError(f"unknown event {event!r}; valid: {', '.join(EVENTS)}")
        return None

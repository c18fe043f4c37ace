"""Clocks: the only source of time for a breaker.

A clock is any zero-argument callable returning seconds as a float that never decreases. A
breaker does not trust that: it never lets its time run back (an event read before the
latest one is performed at the latest one's time). A clock may also offer
``reading_function``, a cheaper plain function giving the same readings.
``ManualClock`` moves only when told (tests, notebooks); ``MonotonicClock`` reads the operating
system's monotonic clock (real use) and is the only place in ``breakerlab.model`` that touches
real time. The simulator passes its own virtual time.
"""

from __future__ import annotations

import datetime
import math
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "MonotonicClock", "utc_now"]


def utc_now() -> datetime.datetime:
    """The wall-clock time as an aware UTC datetime: for *reporting* a time the way a library
    reports it (``breakerlab.compat.pybreaker``'s ``opened_at``), never for a breaker's rules,
    which run on a ``Clock``."""
    return datetime.datetime.now(datetime.UTC)


@runtime_checkable
class Clock(Protocol):
    """Anything that returns the current time in seconds when called."""

    def __call__(self) -> float: ...


class ManualClock:
    """A virtual clock that starts at ``start_s`` (default 0.0) and moves only by ``advance``.

    >>> clock = ManualClock()
    >>> clock.advance(1.5)
    1.5
    >>> clock()
    1.5
    """

    __slots__ = ("_now_s",)

    def __init__(self, start_s: float = 0.0) -> None:
        if not isinstance(start_s, int | float) or isinstance(start_s, bool) or not -math.inf < start_s < math.inf:
            raise ValueError(f"'start_s' must be a finite number of seconds (got {start_s!r})")
        self._now_s = float(start_s)

    def __call__(self) -> float:
        return self._now_s

    def advance(self, dt: float) -> float:
        """Move time forward by ``dt`` seconds (``dt >= 0``) and return the new time."""
        if not 0 <= dt < math.inf:  # also rejects NaN
            raise ValueError(f"'dt' must be a finite number of seconds >= 0: a clock never runs back (got {dt!r})")
        self._now_s += dt
        return self._now_s

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now_s!r})"


class MonotonicClock:
    """Seconds from ``time.monotonic()``: immune to wall-clock steps (NTP, DST, manual changes).

    ``reading_function`` is the same reading as a plain function; a breaker calls it directly,
    which is cheaper than calling the instance.
    """

    __slots__ = ()

    reading_function = staticmethod(time.monotonic)

    def __call__(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "MonotonicClock()"

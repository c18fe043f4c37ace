"""Trip windows: the recent outcomes a rate-based trip rule looks at.

A window is an auxiliary structure of the breaker. The transition table does not contain it;
it sees the window only through the event arguments ``window_calls``, ``window_failures`` and
``window_slow`` (the counts *including* the outcome being recorded) and acts on it through the
effects ``window_record`` and ``window_clear``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .config import BreakerConfig

__all__ = ["CountWindow", "OutcomeArgs", "TimeWindow", "Window", "load_counts", "window_for"]


class OutcomeArgs(Protocol):
    """The event fields a window reads when an outcome is recorded, and the counts it sets."""

    now: float
    failed: bool
    slow: bool
    window_calls: int
    window_failures: int
    window_slow: int


class Window(Protocol):
    """What the breaker needs from a trip window."""

    def counts_after(self, now: float, failed: bool, slow: bool) -> tuple[int, int, int]:
        """``(calls, failures, slow)`` the window would hold after recording this outcome."""
        ...

    def window_record(self, a: OutcomeArgs) -> None:
        """Record the outcome described by ``a``."""
        ...

    def window_clear(self, a: object) -> None:
        """Forget every outcome."""
        ...


class CountWindow:
    """The last ``size`` outcomes.

    Invariant: ``calls == len(outcomes) <= size``, ``failures`` and ``slow`` count the failed
    and slow outcomes among them.
    """

    __slots__ = ("size", "_outcomes", "calls", "failures", "slow")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"'size' must be >= 1 (got {size!r})")
        self.size = size
        self._outcomes: deque[tuple[bool, bool]] = deque()
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def counts_after(self, now: float, failed: bool, slow: bool) -> tuple[int, int, int]:
        if self.calls < self.size:
            return self.calls + 1, self.failures + failed, self.slow + slow
        old_failed, old_slow = self._outcomes[0]
        return self.calls, self.failures + failed - old_failed, self.slow + slow - old_slow

    def window_record(self, a: OutcomeArgs) -> None:
        if self.calls == self.size:
            old_failed, old_slow = self._outcomes.popleft()
            self.failures -= old_failed
            self.slow -= old_slow
            self.calls -= 1
        self._outcomes.append((a.failed, a.slow))
        self.calls += 1
        self.failures += a.failed
        self.slow += a.slow

    def window_clear(self, a: object = None) -> None:
        self._outcomes.clear()
        self.calls = self.failures = self.slow = 0

    def __repr__(self) -> str:
        return f"CountWindow(size={self.size}, calls={self.calls}, failures={self.failures}, slow={self.slow})"


class TimeWindow:
    """The outcomes recorded in the last ``duration_s`` seconds.

    An outcome recorded at ``t`` is in the window at ``now`` iff ``t > now - duration_s``.
    """

    __slots__ = ("duration_s", "_outcomes", "calls", "failures", "slow")

    def __init__(self, duration_s: float) -> None:
        if not duration_s > 0:
            raise ValueError(f"'duration_s' must be > 0 (got {duration_s!r})")
        self.duration_s = duration_s
        self._outcomes: deque[tuple[float, bool, bool]] = deque()
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def _expire(self, now: float) -> None:
        horizon = now - self.duration_s
        outcomes = self._outcomes
        while outcomes and outcomes[0][0] <= horizon:
            _, failed, slow = outcomes.popleft()
            self.calls -= 1
            self.failures -= failed
            self.slow -= slow

    def counts_after(self, now: float, failed: bool, slow: bool) -> tuple[int, int, int]:
        # Expiring is safe even if the outcome is then not recorded: time never runs back.
        self._expire(now)
        return self.calls + 1, self.failures + failed, self.slow + slow

    def window_record(self, a: OutcomeArgs) -> None:
        self._expire(a.now)
        self._outcomes.append((a.now, a.failed, a.slow))
        self.calls += 1
        self.failures += a.failed
        self.slow += a.slow

    def window_clear(self, a: object = None) -> None:
        self._outcomes.clear()
        self.calls = self.failures = self.slow = 0

    def __repr__(self) -> str:
        return (
            f"TimeWindow(duration_s={self.duration_s}, calls={self.calls}, "
            f"failures={self.failures}, slow={self.slow})"
        )


def window_for(config: BreakerConfig) -> CountWindow | TimeWindow | None:
    """The trip window ``config``'s trip rule keeps, or ``None`` (consecutive failures)."""
    from .config import TripRule

    if config.trip_rule is TripRule.COUNT_WINDOW:
        return CountWindow(config.window_size)
    if config.trip_rule is TripRule.TIME_WINDOW:
        return TimeWindow(config.window_duration)
    return None


def load_counts(window: Window, a: OutcomeArgs) -> None:
    """Set the event's ``window_*`` arguments: the counts the window would hold after
    recording the outcome ``a`` describes (what the table's window guards read)."""
    a.window_calls, a.window_failures, a.window_slow = window.counts_after(a.now, a.failed, a.slow)

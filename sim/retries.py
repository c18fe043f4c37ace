"""The retry breaker: a caller stops retrying, never its first tries, while too many of its
recent attempts failed.

From Marc Brooker, "Fixing retries with token buckets and circuit breakers" (2022): retries
help when failures are rare and independent, and multiply the load when the dependency is
down, so a client-side breaker on *retries alone* keeps their benefit and drops their harm.
Unlike the breaker under study it never rejects a first try.

What counts (this model's choice, see ``RetryPolicy``): the outcomes of the caller's attempts
that reached the dependency and were answered (a success; an error or a timeout), over the
last ``window`` of them. Attempts the breaker rejected and attempts that found the pool full
never reached the dependency, so they say nothing about it and are not counted.
"""

from __future__ import annotations

import collections

__all__ = ["RetryBreaker"]


class RetryBreaker:
    """The failure ratio of a caller's last ``window`` answered attempts, and whether it allows
    a retry (the ratio is at most ``threshold``; with no attempt answered yet, it allows)."""

    __slots__ = ("threshold", "outcomes", "failures")

    def __init__(self, threshold: float, window: int) -> None:
        self.threshold = threshold
        self.outcomes: collections.deque[bool] = collections.deque(maxlen=window)
        self.failures = 0

    def record(self, ok: bool) -> None:
        """An attempt reached the dependency and was answered (``ok``: it succeeded)."""
        outcomes = self.outcomes
        if len(outcomes) == outcomes.maxlen and not outcomes[0]:
            self.failures -= 1  # the oldest outcome, a failure, leaves the window
        outcomes.append(ok)
        if not ok:
            self.failures += 1

    def allows_retry(self) -> bool:
        """The failure ratio over the window is at most the threshold."""
        return self.failures <= self.threshold * len(self.outcomes)

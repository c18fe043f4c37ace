"""Adapter for circuitbreaker (fabfuel): synchronous, lock-free, half-open computed from ``time.monotonic``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

from .base import LibraryConfig, normalise_state
from .threads import SyncSession, ThreadedAdapter

__all__ = ["CircuitbreakerAdapter"]

_STATES = {"closed": "closed", "open": "open", "half_open": "half_open"}
_NAME = "breakerlab-conform"


def _failure_predicate(
    excluded: tuple[type[BaseException], ...],
) -> Callable[[type[BaseException], BaseException], bool]:
    """The library's default rule (``expected_exception=Exception``) minus the excluded types."""

    def is_failure(exc_type: type[BaseException], exc: BaseException) -> bool:
        return issubclass(exc_type, Exception) and not issubclass(exc_type, excluded)

    return is_failure


class _Session:
    def __init__(self, config: LibraryConfig) -> None:
        import circuitbreaker

        self._breaker: Any = circuitbreaker.CircuitBreaker(
            failure_threshold=config.fail_max,
            recovery_timeout=config.reset_timeout_s,
            expected_exception=_failure_predicate(config.excluded) if config.excluded else None,
            name=_NAME,
        )

    def call(self, fn: Callable[[], None]) -> object:
        # The decorator, not CircuitBreaker.call: only the decorated wrapper checks `opened`.
        return self._breaker(fn)()

    def state(self) -> str:
        return normalise_state(self._breaker.state, _STATES)

    def parked(self) -> frozenset[int]:
        # Lock-free: the library never makes a caller wait.
        return frozenset()


class CircuitbreakerAdapter(ThreadedAdapter):
    """circuitbreaker through its decorator (``failure_threshold``, ``recovery_timeout``).

    Exclusion: the library has no exclude list, so ``expected_exception`` is a predicate
    reproducing its default (every ``Exception``) minus the excluded types.

    Clock: the module binds ``from time import monotonic``, which time-machine does not
    patch; during a run the adapter points ``circuitbreaker.monotonic`` at ``time.time``,
    which time-machine freezes (so every library sees the same virtual time).
    """

    name = "circuitbreaker"
    distribution = "circuitbreaker"

    def _time_patches(self) -> contextlib.AbstractContextManager[object]:
        import circuitbreaker

        return mock.patch.object(circuitbreaker, "monotonic", time.time)

    def _session(self, config: LibraryConfig, notify: Callable[[], None]) -> SyncSession:
        return _Session(config)

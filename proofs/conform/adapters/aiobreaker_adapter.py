"""Adapter for aiobreaker (arlyon): an asyncio fork of pybreaker without locking."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

from .base import Backend, LibraryConfig, normalise_state
from .tasks import AsyncioAdapter, AsyncSession

__all__ = ["AiobreakerAdapter"]


class _Session:
    def __init__(self, config: LibraryConfig) -> None:
        import aiobreaker

        self._breaker: Any = aiobreaker.CircuitBreaker(
            fail_max=config.fail_max,
            timeout_duration=timedelta(seconds=config.reset_timeout_s),
            exclude=list(config.excluded),
        )
        self._states = {
            aiobreaker.CircuitBreakerState.CLOSED: "closed",
            aiobreaker.CircuitBreakerState.OPEN: "open",
            aiobreaker.CircuitBreakerState.HALF_OPEN: "half_open",
        }

    async def call(self, fn: Callable[[], Awaitable[None]]) -> object:
        return await self._breaker.call_async(fn)

    def state(self) -> str:
        return normalise_state(self._breaker.current_state, self._states)


class AiobreakerAdapter(AsyncioAdapter):
    """aiobreaker through ``CircuitBreaker.call_async`` (``fail_max``, ``timeout_duration``, ``exclude``).

    Clock: ``datetime.utcnow()`` (and ``datetime.now()`` for the reopen time it reports),
    both frozen by time-machine.
    """

    name = "aiobreaker"
    distribution = "aiobreaker"

    @contextlib.contextmanager
    def _open(self, config: LibraryConfig) -> Iterator[Backend]:
        # aiobreaker calls datetime.utcnow(), deprecated from Python 3.12 on. One filter for the
        # whole run (entered once, in the thread that owns the loop; tasks never touch it).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"datetime\.datetime\.utcnow", DeprecationWarning)
            with super()._open(config) as backend:
                yield backend

    async def _session(self, config: LibraryConfig) -> AsyncSession:
        return _Session(config)

"""Adapter for purgatory (mardiros): the asyncio circuit-breaker factory with its in-memory unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .base import LibraryConfig, normalise_state
from .tasks import AsyncioAdapter, AsyncSession

__all__ = ["PurgatoryAdapter"]

_STATES = {"closed": "closed", "opened": "open", "half-opened": "half_open"}
_NAME = "breakerlab-conform"


class _Session:
    def __init__(self, factory: Any, context: Any) -> None:
        self._factory = factory
        self._context = context

    async def call(self, fn: Callable[[], Awaitable[None]]) -> object:
        # The factory's decorator, as users write it: it looks the breaker up on every call.
        return await self._factory(_NAME)(fn)()

    def state(self) -> str:
        # The in-memory repository shares one Context per name; reading it changes nothing.
        return normalise_state(self._context.state, _STATES)


class PurgatoryAdapter(AsyncioAdapter):
    """purgatory through ``AsyncCircuitBreakerFactory`` (``default_threshold``, ``default_ttl``, ``exclude``).

    The asynchronous factory is used (purgatory's primary API; the sync one is generated from
    it with unasync). Clock: ``time.time()``, frozen by time-machine.
    """

    name = "purgatory"
    distribution = "purgatory"

    async def _session(self, config: LibraryConfig) -> AsyncSession:
        import purgatory

        factory = purgatory.AsyncCircuitBreakerFactory(
            default_threshold=config.fail_max,
            default_ttl=config.reset_timeout_s,
            exclude=list(config.excluded),
        )
        breaker = await factory.get_breaker(_NAME)
        return _Session(factory, breaker.context)

"""Every way of making a protected call, written once for the breakers of the runtime.

``ProtectedCalls`` turns a breaker's events (``acquire``, and settling a permit with a result,
an exception or a success) into ``call``, ``call_async``, the decorator (sync or ``async def``),
``with`` and ``async with``. ``breakerlab.runtime.CircuitBreaker`` (one process) and
``breakerlab.runtime.shared.SharedCircuitBreaker`` (shared through Redis) both inherit it, so
the two cannot drift apart in how a call is admitted, timed out, classified and settled.
"""

from __future__ import annotations

import abc
import asyncio
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, TypeVar, overload

from breakerlab.model.config import BreakerConfig
from breakerlab.model.permit import Permit

__all__ = ["ProtectedCalls"]

P = ParamSpec("P")
R = TypeVar("R")
PermitT = TypeVar("PermitT", bound=Permit)


class ProtectedCalls(abc.ABC, Generic[PermitT]):
    """The protected-call API over a breaker's events (see the module docstring).

    A subclass provides ``config``, ``acquire`` and the three ways of settling a permit, and
    calls ``_init_calls(name)`` in its constructor.
    """

    config: BreakerConfig
    _entered: contextvars.ContextVar[tuple[PermitT, ...]]

    def _init_calls(self, name: str) -> None:
        """Set up the per-task stack of the permits ``with`` blocks hold."""
        self._entered = contextvars.ContextVar(f"breakerlab_permits_{name}_{id(self)}", default=())

    @abc.abstractmethod
    def acquire(self) -> PermitT:
        """Ask to make a call: a permit, or ``CircuitOpenError``."""

    @abc.abstractmethod
    def _settle_error(self, permit: PermitT, exc: BaseException, *, force_failure: bool = False) -> None:
        """Settle ``permit`` with the exception its call raised (classified, or a failure when
        ``force_failure``); raise ``CircuitOpenError`` from it if that opened the breaker under
        ``trip_error="circuit_open"``."""

    @abc.abstractmethod
    def _settle_result(self, permit: PermitT, result: object) -> None:
        """Settle ``permit`` with its call's return value (``is_failure_result`` decides)."""

    @abc.abstractmethod
    def _settle_success(self, permit: PermitT) -> None:
        """Settle ``permit`` as a success (a ``with`` block that ended without an exception)."""

    def _call_with_permit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Admit, run ``fn(*args, **kwargs)`` outside every lock, classify and record the outcome."""
        permit = self.acquire()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._settle_error(permit, exc)
            raise
        self._settle_result(permit, result)
        return result

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Admit, run ``fn`` outside every lock, classify and record the outcome; returns
        ``fn``'s result and re-raises its exception (``CircuitOpenError`` if rejected)."""
        return self._call_with_permit(fn, *args, **kwargs)

    async def call_async(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Like ``call`` for a coroutine function.

        With ``call_timeout``, the call is cancelled when the event loop's timer fires at the
        timeout, counted as a failure, and ``TimeoutError`` is raised. A call that completes
        is measured like a sync one, on the breaker's clock from admission to settlement: one
        lasting strictly longer than ``call_timeout`` (the loop could not fire the timer in
        time: it was busy, or the coroutine blocked it) is a counted failure, and its result
        is returned all the same.
        """
        permit = self.acquire()
        timeout = self.config.call_timeout
        try:
            if timeout is None:
                result = await fn(*args, **kwargs)
            else:
                async with asyncio.timeout(timeout) as scope:
                    result = await fn(*args, **kwargs)
        except BaseException as exc:
            # our timeout fired (not the caller's cancellation racing with it)
            timed_out = timeout is not None and scope.expired() and isinstance(exc, TimeoutError)
            self._settle_error(permit, exc, force_failure=timed_out)
            raise
        self._settle_result(permit, result)
        return result

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...

    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a function (or an ``async def``) so every call goes through the breaker."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await self.call_async(fn, *args, **kwargs)

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            return self.call(fn, *args, **kwargs)

        return wrapper

    def __enter__(self) -> PermitT:
        """Acquire a permit for the block (``CircuitOpenError`` if rejected). Leaving the block
        records a success, or classifies its exception like ``call`` does (the exception
        propagates; a failure that trips the breaker under ``trip_error="circuit_open"``
        raises ``CircuitOpenError`` from it). With ``call_timeout`` the block is measured,
        never interrupted."""
        permit = self.acquire()
        self._entered.set((*self._entered.get(), permit))
        return permit

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        stack = self._entered.get()
        if not stack:
            raise RuntimeError(f"{type(self).__name__}.__exit__ without a matching __enter__ in this context")
        permit = stack[-1]
        self._entered.set(stack[:-1])
        if exc is None:
            self._settle_success(permit)
            return
        self._settle_error(permit, exc)

    async def __aenter__(self) -> PermitT:
        """``async with breaker:``: exactly ``with breaker:`` (the block is measured against
        ``call_timeout``, not cancelled: use ``call_async`` for that). Nested and concurrent
        blocks each settle their own permit (one stack per task)."""
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        """Settle the block's permit as ``__exit__`` does (a cancellation releases it)."""
        self.__exit__(exc_type, exc, tb)

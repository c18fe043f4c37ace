"""pybreaker's listener interface, and how its hooks are called.

pybreaker calls four hooks on every registered listener: ``before_call(cb, func, *args,
**kwargs)``, ``success(cb)``, ``failure(cb, exc)`` and ``state_change(cb, old_state,
new_state)``. They are called here with the same arguments and in the same order around a
call (see ``breakerlab.compat.pybreaker``), with one deliberate difference: a hook that
raises an ``Exception`` is logged, as breakerlab's own listeners are, and changes nothing the
breaker or the caller sees (in pybreaker it propagates out of the call, replacing the call's
own outcome and skipping the state change still to come).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from breakerlab.model.listeners import LOGGER

if TYPE_CHECKING:
    from .pybreaker import CircuitBreaker
    from .states import CircuitBreakerState

__all__ = ["CircuitBreakerListener", "Hooks"]


class CircuitBreakerListener:
    """Base class of pybreaker listeners: override the hooks you need (each is a no-op here)."""

    def before_call(self, cb: CircuitBreaker, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Called before the breaker ``cb`` calls ``func`` (not for a rejected call)."""

    def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
        """Called when a call made by ``cb`` raised ``exc`` and it was counted as a failure."""

    def success(self, cb: CircuitBreaker) -> None:
        """Called when a call made by ``cb`` succeeded (or raised an excluded exception)."""

    def state_change(self, cb: CircuitBreaker, old_state: CircuitBreakerState | None, new_state: CircuitBreakerState) -> None:
        """Called after the state of ``cb`` changed from ``old_state`` to ``new_state``."""


class Hooks:
    """The listeners of one breaker, in registration order, and the calls of their hooks.

    The list is replaced, never mutated, so a hook being called while another thread adds or
    removes a listener sees one consistent list. A listener may lack a hook (it is then not
    called); pybreaker's base class ``CircuitBreakerListener`` has all four.
    """

    def __init__(self, owner: CircuitBreaker, listeners: Iterable[object] = ()) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self.listeners: tuple[object, ...] = tuple(listeners)

    def add(self, listener: object) -> None:
        """Register ``listener`` (after those already registered)."""
        with self._lock:
            self.listeners = (*self.listeners, listener)

    def remove(self, listener: object) -> None:
        """Unregister ``listener``.

        Raises:
            ValueError: it is not registered (as ``list.remove``, which pybreaker uses).
        """
        with self._lock:
            listeners = list(self.listeners)
            listeners.remove(listener)
            self.listeners = tuple(listeners)

    def call(self, hook: str, *args: Any, **kwargs: Any) -> None:
        """Call ``hook(owner, *args, **kwargs)`` on every listener that has it, in order. A
        hook's ``Exception`` is logged to the ``"breakerlab"`` logger and the next listener is
        called; any other ``BaseException`` (``KeyboardInterrupt``) propagates."""
        owner = self._owner
        for listener in self.listeners:
            method = getattr(listener, hook, None)
            if method is None:
                continue
            try:
                method(owner, *args, **kwargs)
            except Exception as error:
                LOGGER.error(
                    "breaker %r: pybreaker listener %r raised %r in %s(); the call and the breaker "
                    "went on as if it had not",
                    owner.name, listener, error, hook,
                    exc_info=error,
                    extra={"breaker": owner.name, "listener": method, "event": hook},
                )

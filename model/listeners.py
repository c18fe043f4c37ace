"""Listener registration: the callbacks a breaker calls after its events, by kind, and what
happens when one of them raises."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["LISTENER_METHODS", "LOGGER", "Listeners"]

#: The methods a listener may have (each optional).
LISTENER_METHODS = ("state_change", "rejection", "success", "failure")

#: Where a listener's error is reported: the ``"breakerlab"`` logger, at ``ERROR``, with the
#: traceback and the record attributes ``breaker`` (the breaker's name), ``listener`` (the
#: method that raised) and ``event`` (the ``StateChange``, ``Rejection`` or ``Outcome`` it was
#: given).
LOGGER = logging.getLogger("breakerlab")


class Listeners:
    """The registered callbacks of each kind, in registration order.

    A callback that raises an ``Exception`` never changes what the breaker or its caller sees:
    the event has been performed completely, every other callback still hears it, the caller
    gets its own result or error, and the exception is logged (see ``LOGGER``). An exception
    that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``) propagates, and so
    does any exception of a listener that declares ``propagate_errors = True``: a listener
    that is part of the program's own logic (the simulator's, whose results would otherwise
    be silently incomplete) rather than an observer.

    Attributes:
        state_change: Called with a ``StateChange`` after every state change.
        rejection: Called with a ``Rejection`` for every rejected call.
        success: Called with an ``Outcome`` for every call recorded as a success.
        failure: Called with an ``Outcome`` for every call recorded as a failure.
        owner: The name of the breaker that notifies them (in the log of a listener's error).
    """

    __slots__ = (*LISTENER_METHODS, "owner")

    def __init__(self, owner: str = "breaker") -> None:
        self.state_change: list[Callable[[Any], object]] = []
        self.rejection: list[Callable[[Any], object]] = []
        self.success: list[Callable[[Any], object]] = []
        self.failure: list[Callable[[Any], object]] = []
        self.owner = owner

    def add(self, listener: object) -> None:
        """Register each of ``listener``'s ``state_change``, ``rejection``, ``success`` and
        ``failure`` methods that it has.

        Raises:
            TypeError: ``listener`` has none of them.
        """
        methods = {name: getattr(listener, name, None) for name in LISTENER_METHODS}
        if all(method is None for method in methods.values()):
            raise TypeError(
                f"listener {listener!r} has none of {', '.join(m + '()' for m in LISTENER_METHODS)}; "
                "subclass breakerlab.model.BreakerListener"
            )
        for name, method in methods.items():
            if method is not None:
                getattr(self, name).append(method)

    def notify(self, callbacks: list[Callable[[Any], object]], event: object) -> None:
        """Call each of ``callbacks`` (one of this object's lists) with ``event``, in order.

        Callers test the list first (``if listeners.success: ...``), so that a breaker without
        listeners of a kind pays nothing for them. A callback's ``Exception`` is logged and
        the next callback is called.
        """
        for callback in callbacks:
            try:
                callback(event)
            except Exception as error:
                if getattr(getattr(callback, "__self__", None), "propagate_errors", False):
                    raise
                LOGGER.error(
                    "breaker %r: listener %r raised %r when notified of %r; the event was "
                    "performed and the other listeners notified",
                    self.owner, callback, error, event,
                    exc_info=error,
                    extra={"breaker": self.owner, "listener": callback, "event": event},
                )

"""Listener registration: the callbacks a breaker calls after its events, by kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LISTENER_METHODS", "Listeners"]

#: The methods a listener may have (each optional).
LISTENER_METHODS = ("state_change", "rejection", "success", "failure")


class Listeners:
    """The registered callbacks of each kind, in registration order.

    Attributes:
        state_change: Called with a ``StateChange`` after every state change.
        rejection: Called with a ``Rejection`` for every rejected call.
        success: Called with an ``Outcome`` for every call recorded as a success.
        failure: Called with an ``Outcome`` for every call recorded as a failure.
    """

    __slots__ = LISTENER_METHODS

    def __init__(self) -> None:
        self.state_change: list[Callable[[Any], object]] = []
        self.rejection: list[Callable[[Any], object]] = []
        self.success: list[Callable[[Any], object]] = []
        self.failure: list[Callable[[Any], object]] = []

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

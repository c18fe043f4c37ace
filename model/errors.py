"""The breaker's exceptions: one root, ``BreakerError``, and one subclass per kind of problem."""

from __future__ import annotations

import math

from .states import State

__all__ = ["BreakerError", "CircuitOpenError", "InvalidConfigError", "PermitError", "TableError"]


class BreakerError(Exception):
    """Root of every exception raised by breakerlab."""


class InvalidConfigError(BreakerError, ValueError):
    """A configuration value breaks a rule; the message names the field, the rule and the value."""

    def __init__(self, field: str, rule: str, value: object, hint: str = "") -> None:
        self.field = field
        self.rule = rule
        self.value = value
        message = f"'{field}' must be {rule} (got {value!r})"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class PermitError(BreakerError, ValueError):
    """A permit was settled twice, or handed to a breaker that did not issue it."""


class TableError(BreakerError, ValueError):
    """A transition table is malformed (missing fallback row, unknown name, ...)."""


class CircuitOpenError(BreakerError):
    """The breaker rejected a call.

    Attributes:
        remaining_s: Seconds until a probe can be admitted: the time left to the open deadline
            when open, ``0.0`` when half-open has no free probe slot, ``math.inf`` when forced
            open.
        state: The state that rejected the call.
    """

    def __init__(self, remaining_s: float, state: State) -> None:
        # The message is formatted only when shown: a rejection is a hot path (half the
        # calls of a simulated outage), and most rejections are counted, never printed.
        super().__init__(remaining_s, state)
        self.remaining_s = remaining_s
        self.state = state

    def __str__(self) -> str:
        if math.isinf(self.remaining_s):
            detail = "until reset() or disable()"
        elif self.state is State.HALF_OPEN:
            detail = "all half-open probe slots are taken"
        else:
            detail = f"{self.remaining_s:.6g} s until a probe is allowed"
        return f"circuit {self.state.value}: call rejected ({detail})"

    def __reduce__(self) -> tuple[type[CircuitOpenError], tuple[float, State]]:
        return (CircuitOpenError, (self.remaining_s, self.state))

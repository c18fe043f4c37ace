"""The breaker's states, as a string-valued enum."""

from __future__ import annotations

import enum

__all__ = ["State"]


class State(enum.StrEnum):
    """A breaker state. The values are the lower-case names used in tables, logs and plots."""

    CLOSED = "closed"
    """Normal operation: every call is admitted and outcomes feed the trip rule."""
    OPEN = "open"
    """Tripped: calls are rejected until the open deadline."""
    HALF_OPEN = "half_open"
    """Probing: a limited number of calls decide between closed and open."""
    FORCED_OPEN = "forced_open"
    """Manually opened: every call is rejected until ``reset()`` or ``disable()``."""
    DISABLED = "disabled"
    """Manually disabled: every call is admitted and nothing is counted."""

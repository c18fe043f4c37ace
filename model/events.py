"""What a breaker tells its listeners: state changes and rejections."""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable

from .states import State

__all__ = ["BreakerListener", "ListenerProtocol", "Outcome", "Rejection", "StateChange"]


@dataclasses.dataclass(frozen=True, slots=True)
class StateChange:
    """The breaker moved from ``source`` to ``dest`` at ``time`` (seconds on its clock).

    ``cause`` names the table row that fired (``"trip"``, ``"deadline_reached"``,
    ``"probe_failed"``, ``"probes_succeeded"``, ``"half_open_timeout"``, ``"reset"``, ...);
    ``generation`` is the breaker's generation after the change; ``trigger`` the event that
    caused it (``"record_failure"``, ``"acquire"``, ``"poll"``, ...).
    """

    time: float
    source: State
    dest: State
    cause: str
    generation: int
    trigger: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Rejection:
    """A call was rejected at ``time`` in ``state``; a probe may be admitted in ``remaining_s``."""

    time: float
    state: State
    remaining_s: float
    cause: str


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """A call's outcome was recorded at ``time``: as a success or a failure (which listener
    method is called says which; a success that overran ``call_timeout`` is a failure).

    ``state`` and ``generation`` are the breaker's before the outcome; ``stale`` says the call
    was admitted in an earlier generation (its effect then follows ``late_result``);
    ``duration_s`` is the time since admission.
    """

    time: float
    state: State
    generation: int
    permit_state: State
    stale: bool
    duration_s: float


@runtime_checkable
class ListenerProtocol(Protocol):
    """A listener: every method is optional on objects passed to ``Breaker.add_listener``."""

    def state_change(self, change: StateChange) -> None: ...

    def rejection(self, rejection: Rejection) -> None: ...

    def success(self, outcome: Outcome) -> None: ...

    def failure(self, outcome: Outcome) -> None: ...


class BreakerListener:
    """Base class with no-op methods: override the ones you need.

    >>> class Log(BreakerListener):
    ...     def state_change(self, change: StateChange) -> None:
    ...         print(change.source, "->", change.dest)
    """

    def state_change(self, change: StateChange) -> None:
        """Called after every state change."""

    def rejection(self, rejection: Rejection) -> None:
        """Called for every rejected call."""

    def success(self, outcome: Outcome) -> None:
        """Called for every call recorded as a success."""

    def failure(self, outcome: Outcome) -> None:
        """Called for every call recorded as a failure."""

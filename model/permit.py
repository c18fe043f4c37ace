"""Permits (permission to make one call) and the breaker's observable totals."""

from __future__ import annotations

import dataclasses

from .states import State

__all__ = ["BreakerStats", "Permit"]


class Permit:
    """Permission to make one call, returned by ``Breaker.acquire``; settle it exactly once.

    Attributes:
        id: Sequence number of the admission (1, 2, ...) within its breaker.
        generation: The breaker's generation when the call was admitted.
        state: The state that admitted the call.
        is_probe: Whether the call is a half-open probe.
        acquired_at: Admission time, seconds on the breaker's clock.
    """

    __slots__ = ("id", "generation", "state", "is_probe", "acquired_at", "settled", "_owner")

    def __init__(
        self, id: int, generation: int, state: State, is_probe: bool, acquired_at: float, owner: object
    ) -> None:
        self.id = id
        self.generation = generation
        self.state = state
        self.is_probe = is_probe
        self.acquired_at = acquired_at
        self.settled = False
        self._owner = owner

    def __repr__(self) -> str:
        probe = ", probe" if self.is_probe else ""
        done = ", settled" if self.settled else ""
        return (
            f"Permit(#{self.id}, generation={self.generation}, state={self.state.value}"
            f"{probe}, acquired_at={self.acquired_at!r}{done})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class BreakerStats:
    """Totals since the breaker was built (observability, not part of the formal state)."""

    admitted: int
    successes: int
    failures: int
    released: int
    rejections: int
    state_changes: int

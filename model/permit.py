"""Admissions and permits (permission to make one call), and the breaker's observable totals."""

from __future__ import annotations

import dataclasses

from .states import State

__all__ = ["Admission", "BreakerStats", "Permit", "require_error", "require_permit"]

Admission = tuple[int, State, bool, float]
"""What ``Breaker.admit`` returns: ``(generation, state, is_probe, admitted_at)``.

The breaker's generation and the state that admitted the call, whether it is a half-open
probe, and the admission time (seconds on the breaker's clock). A plain tuple, because it is
made on every call; unpack it by position. Settle it exactly once with ``succeed``, ``fail``,
``discard`` or ``settle_exception``.
"""


class Permit:
    """Permission to make one call, returned by ``Breaker.acquire``; settle it exactly once.

    The ``Permit`` API checks what the stepping API (``admit``/``succeed``) leaves to its
    caller: that a permit is settled once, by the breaker that issued it.

    Attributes:
        id: Sequence number of the admission (1, 2, ...) within its breaker.
        admission: The ``Admission`` it carries.
        generation: The breaker's generation when the call was admitted.
        state: The state that admitted the call.
        is_probe: Whether the call is a half-open probe.
        acquired_at: Admission time, seconds on the breaker's clock.
        owner: The breaker that issued it.
        settled: Whether its outcome has been recorded.
    """

    __slots__ = ("id", "admission", "generation", "state", "is_probe", "acquired_at", "owner", "settled")

    def __init__(self, id: int, admission: Admission, owner: object) -> None:
        self.id = id
        self.admission = admission
        self.generation, self.state, self.is_probe, self.acquired_at = admission
        self.owner = owner
        self.settled = False

    def __repr__(self) -> str:
        probe = ", probe" if self.is_probe else ""
        done = ", settled" if self.settled else ""
        return (
            f"Permit(#{self.id}, generation={self.generation}, state={self.state.value}"
            f"{probe}, acquired_at={self.acquired_at!r}{done})"
        )


def require_permit(permit: object) -> None:
    """Check that ``permit`` is a ``Permit`` (what ``record_success``, ``record_failure`` and
    ``release`` settle).

    Raises:
        TypeError: it is not.
    """
    if not isinstance(permit, Permit):
        raise TypeError(
            f"'permit' must be the Permit that acquire() returned, e.g. permit = breaker.acquire() (got {permit!r})"
        )


def require_error(error: object) -> None:
    """Check that ``error`` (``record_failure``'s optional exception) is an exception or ``None``.

    Raises:
        TypeError: it is neither.
    """
    if error is not None and not isinstance(error, BaseException):
        raise TypeError(
            f"'error' must be the exception the call raised, or None for a plain failure (got {error!r})"
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

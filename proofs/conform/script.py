"""The scripting vocabulary of the conformance harness: steps a script is made of, and what a run observes.

A script is a sequence of frozen steps: ``Call`` (a call that completes at once), ``Begin`` and
``Finish`` (a call that stays inside the protected function until finished, so calls overlap
and results arrive late), ``Advance`` (move the frozen clock) and ``ReadState`` (record the state
the library reports). Running it against an adapter yields one ``Observation`` per step, plus
observations for blocked calls that later resume and for calls drained at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args

from breakerlab.model.errors import BreakerError

__all__ = [
    "OUTCOMES",
    "Abort",
    "Advance",
    "Begin",
    "Boom",
    "Call",
    "Excluded",
    "Finish",
    "Observation",
    "ObservationKind",
    "Outcome",
    "ReadState",
    "ScriptError",
    "Step",
    "calls",
    "failures",
    "raise_outcome",
    "script",
    "validate_script",
]

#: What the protected function does when it completes.
#:
#: - ``success``: returns ``None``.
#: - ``failure``: raises ``Boom`` (a ``RuntimeError``), which every breaker counts by default.
#: - ``excluded``: raises ``Excluded``, which the adapters configure each breaker to exclude.
#: - ``cancel``: raises ``asyncio.CancelledError``, what a cancelled task delivers at the
#:   function's ``await`` point; the same class is raised for synchronous libraries.
#: - ``base``: raises ``Abort``, a ``BaseException`` that is not an ``Exception`` (like
#:   ``KeyboardInterrupt`` or ``SystemExit``, without their side effects).
Outcome = Literal["success", "failure", "excluded", "cancel", "base"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

#: Which step (or which later event) an observation records.
ObservationKind = Literal["call", "begin", "finish", "advance", "state", "resumed", "drained"]
_KINDS: tuple[str, ...] = get_args(ObservationKind)


class ScriptError(BreakerError, ValueError):
    """A script is malformed: unknown outcome, reused call id, ``Finish`` of a call never begun."""


class Boom(RuntimeError):
    """The failure the protected function raises for outcome ``failure``."""


class Excluded(Exception):
    """The error every adapter configures its breaker to exclude (outcome ``excluded``)."""


class Abort(BaseException):
    """A ``BaseException`` that is not an ``Exception`` (outcome ``base``)."""


def raise_outcome(outcome: str) -> None:
    """Complete the protected function with ``outcome``: return, or raise its exception.

    Raises:
        Boom, Excluded, asyncio.CancelledError, Abort: as the outcome says.
        ScriptError: if ``outcome`` is not one of ``OUTCOMES``.
    """
    if outcome == "success":
        return
    if outcome == "failure":
        raise Boom("scripted failure")
    if outcome == "excluded":
        raise Excluded("scripted excluded error")
    if outcome == "cancel":
        raise asyncio.CancelledError("scripted cancellation")
    if outcome == "base":
        raise Abort("scripted BaseException")
    raise ScriptError(f"'outcome' must be one of {', '.join(OUTCOMES)} (got {outcome!r})")


def _check_id(call_id: object) -> None:
    if not isinstance(call_id, int) or isinstance(call_id, bool) or call_id < 1:
        raise ScriptError(f"'call_id' must be a positive int (got {call_id!r})")


def _check_outcome(outcome: object) -> None:
    if outcome not in OUTCOMES:
        raise ScriptError(f"'outcome' must be one of {', '.join(OUTCOMES)} (got {outcome!r})")


@dataclasses.dataclass(frozen=True)
class Call:
    """A call that completes at once with ``outcome`` once the breaker lets it in.

    Attributes:
        call_id: Positive id, unique within the script.
        outcome: One of ``OUTCOMES``.
    """

    call_id: int
    outcome: Outcome = "success"

    def __post_init__(self) -> None:
        _check_id(self.call_id)
        _check_outcome(self.outcome)


@dataclasses.dataclass(frozen=True)
class Begin:
    """Start a call that stays in flight inside the protected function until ``Finish(call_id)``.

    Attributes:
        call_id: Positive id, unique within the script.
    """

    call_id: int

    def __post_init__(self) -> None:
        _check_id(self.call_id)


@dataclasses.dataclass(frozen=True)
class Finish:
    """Let in-flight call ``call_id`` (started by an earlier ``Begin``) complete with ``outcome``.

    Attributes:
        call_id: The id of an earlier ``Begin``; each call is finished at most once.
        outcome: One of ``OUTCOMES``.
    """

    call_id: int
    outcome: Outcome = "success"

    def __post_init__(self) -> None:
        _check_id(self.call_id)
        _check_outcome(self.outcome)


@dataclasses.dataclass(frozen=True)
class Advance:
    """Move the frozen clock forward.

    Attributes:
        seconds: Virtual seconds, finite and > 0.
    """

    seconds: float

    def __post_init__(self) -> None:
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, (int, float)):
            raise ScriptError(f"'seconds' must be a number (got {self.seconds!r})")
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise ScriptError(f"'seconds' must be finite and > 0 (got {self.seconds!r})")


@dataclasses.dataclass(frozen=True)
class ReadState:
    """Record the state the library reports, normalised to ``closed``, ``open`` or ``half_open``."""


Step = Call | Begin | Finish | Advance | ReadState


def validate_script(steps: Iterable[Step]) -> tuple[Step, ...]:
    """Check a script's cross-step rules and return it as a tuple.

    Rules: every item is a step; ``Call`` and ``Begin`` ids are unique; ``Finish`` names an
    earlier ``Begin`` and is not repeated.

    Raises:
        ScriptError: naming the offending step.
    """
    result = tuple(steps)
    started: set[int] = set()
    begun: set[int] = set()
    finished: set[int] = set()
    for index, step in enumerate(result):
        if not isinstance(step, (Call, Begin, Finish, Advance, ReadState)):
            raise ScriptError(f"step {index} must be Call, Begin, Finish, Advance or ReadState (got {step!r})")
        if isinstance(step, (Call, Begin)):
            if step.call_id in started:
                raise ScriptError(f"step {index}: call id {step.call_id} is already used; ids must be unique")
            started.add(step.call_id)
            if isinstance(step, Begin):
                begun.add(step.call_id)
        elif isinstance(step, Finish):
            if step.call_id not in begun:
                raise ScriptError(f"step {index}: Finish({step.call_id}) needs an earlier Begin({step.call_id})")
            if step.call_id in finished:
                raise ScriptError(f"step {index}: call {step.call_id} is finished twice")
            finished.add(step.call_id)
    return result


def script(*parts: Step | Sequence[Step]) -> tuple[Step, ...]:
    """Flatten steps and sequences of steps into one validated script.

    Example: ``script(failures(3), Advance(10), Call(4))``.
    """
    steps: list[Step] = []
    for part in parts:
        if isinstance(part, (Call, Begin, Finish, Advance, ReadState)):
            steps.append(part)
        else:
            steps.extend(part)
    return validate_script(steps)


def calls(outcome: Outcome, count: int, first_id: int = 1) -> tuple[Call, ...]:
    """``count`` immediate calls with the same outcome, ids ``first_id, first_id + 1, ...``."""
    if count < 0:
        raise ScriptError(f"'count' must be >= 0 (got {count!r})")
    return tuple(Call(first_id + k, outcome) for k in range(count))


def failures(count: int, first_id: int = 1) -> tuple[Call, ...]:
    """``count`` consecutive failing calls (enough to trip a breaker with ``fail_max=count``)."""
    return calls("failure", count, first_id)


@dataclasses.dataclass(frozen=True)
class Observation:
    """What one step (or one later event of a call) showed.

    Attributes:
        step: Index of the script step during which it was observed (``len(script)`` for
            calls drained after the last step).
        kind: ``call``/``begin``/``finish`` for those steps, ``advance``, ``state``,
            ``resumed`` (a blocked call made progress during a later step) or ``drained``
            (a call still in flight or blocked at the end, finished with ``success``).
        call_id: The call concerned (``None`` for ``advance`` and ``state``).
        entered: Whether the protected function had been invoked (``None`` when no call).
        result: For calls: ``ok``; ``raised:<Exc>`` (the protected function ran and the caller
            got ``Exc``); ``rejected:<Exc>`` (the function never ran); ``blocked`` (the call
            neither entered nor returned within the adapter's real-time wait);
            ``in_flight`` (entered, not returned); ``not_in_flight`` (``Finish`` of a call that
            had already returned or was rejected). For ``state``: ``closed``, ``open`` or
            ``half_open``. For ``advance``: ``t=<virtual seconds since the start>``.
    """

    step: int
    kind: ObservationKind
    result: str
    call_id: int | None = None
    entered: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ScriptError(f"'kind' must be one of {', '.join(_KINDS)} (got {self.kind!r})")

    def brief(self) -> str:
        """A compact, human-readable form, e.g. ``call 4: rejected:CircuitBreakerError``.

        ``entered`` is implied by the result (``ok``/``raised``/``in_flight`` ran,
        ``rejected`` did not); it is spelled out only where it is not: ``(not entered)``
        after ``ok``, ``(entered)`` after ``blocked``.
        """
        if self.kind == "advance":
            return self.result
        if self.kind == "state":
            return f"state: {self.result}"
        suffix = ""
        if self.result == "ok" and self.entered is False:
            suffix = " (not entered)"
        elif self.result == "blocked" and self.entered:
            suffix = " (entered)"
        return f"{self.kind} {self.call_id}: {self.result}{suffix}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (round-trips through ``from_dict``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        """Rebuild an observation from ``to_dict`` output."""
        return cls(**data)

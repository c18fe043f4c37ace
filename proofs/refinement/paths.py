"""Paths through the breaker: the steps a refinement check takes, and replaying them.

A path is a program for a fresh breaker on a manual clock: each step waits some seconds, then
fires a trigger; an outcome names the permit it settles by the number of the step whose
``acquire`` issued it. ``replay_path`` runs one and observes every step, so a reported mismatch
is a test that can be pasted and rerun.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from breakerlab.model import Breaker, BreakerConfig, CircuitOpenError, ManualClock, Permit, State
from breakerlab.model.driver import OTHERS
from breakerlab.model.expr import Value
from breakerlab.model.table import TABLE, Table

__all__ = [
    "OTHER_EVENTS",
    "OUTCOMES",
    "WAIT",
    "LiveBreaker",
    "PathStep",
    "PermitClass",
    "StepObservation",
    "apply_event",
    "permit_class",
    "replay_path",
    "start_breaker",
]

OUTCOMES: tuple[str, ...] = ("record_success", "record_failure", "release")
OTHER_EVENTS: tuple[str, ...] = OTHERS
"""The events without a permit besides ``acquire``: ``poll`` and the manual operations (the
driver's list, so a path replays every event a client can produce)."""
WAIT = "wait"
"""The pseudo-event of a path that only moves the clock (not a step of the relation)."""

PermitClass = tuple[bool, State, bool]
"""An outstanding permit, abstracted: (current, admitting state, probe)."""


@dataclasses.dataclass(frozen=True)
class PathStep:
    """One step of a path: ``dt`` seconds after the previous step, ``trigger`` (or ``"wait"``),
    and for an outcome the number (1-based) of the path step whose ``acquire`` issued the permit."""

    dt: float
    trigger: str
    permit: int | None = None

    def __str__(self) -> str:
        delay = f"+{self.dt:g}s " if self.dt else ""
        return f"{delay}{self.trigger}" + (f"(P{self.permit})" if self.permit is not None else "")


@dataclasses.dataclass(frozen=True)
class StepObservation:
    """What the breaker did on one step of a path: the time, its verdict (``VERDICTS``), and
    its snapshot after the step."""

    time: float
    step: PathStep
    verdict: str
    snapshot: Mapping[str, Value]
    permit: PermitClass | None = None
    """For an outcome: the settled permit's class just before the step."""


def permit_class(permit: Permit, generation: int) -> PermitClass:
    """The class of an outstanding ``permit`` when the breaker is in ``generation``."""
    return (permit.generation == generation, permit.state, permit.is_probe)



def apply_event(breaker: Breaker, trigger: str, permit: Permit | None) -> tuple[str, Permit | None]:
    """Perform one event through the public API; return the verdict and any new permit."""
    if trigger == "acquire":
        try:
            issued = breaker.acquire()
        except CircuitOpenError:
            return "reject", None
        return ("admit_probe" if issued.is_probe else "admit"), issued
    if trigger in OUTCOMES:
        if permit is None:
            raise ValueError(f"{trigger!r} needs a permit")
        getattr(breaker, trigger)(permit)
    elif trigger in OTHER_EVENTS:
        getattr(breaker, trigger)()
    else:
        raise ValueError(f"unknown event {trigger!r}; valid: acquire, {', '.join(OUTCOMES + OTHER_EVENTS)}, {WAIT}")
    return "none", None


@dataclasses.dataclass
class LiveBreaker:
    """A breaker at some state, its clock, the permits it issued (by path step number) and the
    time of its last event (the relation's ghost clock)."""

    breaker: Breaker
    clock: ManualClock
    permits: dict[int, Permit]
    last_event: float = 0.0


def start_breaker(
    config: BreakerConfig, table: Table, path: Sequence[PathStep], observations: list[StepObservation] | None = None
) -> LiveBreaker:
    """A fresh breaker with ``path`` replayed on it."""
    clock = ManualClock()
    live = LiveBreaker(Breaker(config, clock=clock, table=table), clock, {})
    for number, step in enumerate(path, 1):
        clock.advance(step.dt)
        verdict, settled = "none", None
        if step.trigger != WAIT:
            permit = live.permits.get(step.permit) if step.permit is not None else None
            if step.permit is not None and permit is None:
                raise ValueError(f"step {number} ({step}) settles P{step.permit}, which no earlier acquire issued")
            if permit is not None:
                settled = permit_class(permit, live.breaker.generation)
            verdict, issued = apply_event(live.breaker, step.trigger, permit)
            live.last_event = clock()
            if issued is not None:
                live.permits[number] = issued
        if observations is not None:
            observations.append(StepObservation(clock(), step, verdict, live.breaker.snapshot(), settled))
    return live


def replay_path(config: BreakerConfig, path: Sequence[PathStep], *, table: Table = TABLE) -> list[StepObservation]:
    """Run ``path`` on a fresh ``Breaker(config, table=table)``: one observation per step."""
    observations: list[StepObservation] = []
    start_breaker(config, table, path, observations)
    return observations

"""Refinement mismatches: the first step on which the breaker and the relation disagree, in words.

``diagnose`` re-derives a divergence on a fresh breaker replaying its path and prints the path
as a numbered step list (times, states, counters, the breaker's step and the relation's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from breakerlab.model import BreakerConfig
from breakerlab.model.expr import Value
from breakerlab.model.table import Table

from ..concrete import ConcreteRelation
from .paths import WAIT, PathStep, PermitClass, StepObservation, apply_event, permit_class, start_breaker

__all__ = ["Mismatch", "describe", "diagnose"]


def describe(config: BreakerConfig) -> str:
    """The configuration's options that differ from the defaults, as ``name=value``."""
    default = BreakerConfig()
    parts = [
        f"{field.name}={getattr(getattr(config, field.name), 'value', getattr(config, field.name))!r}"
        for field in dataclasses.fields(config)
        if getattr(config, field.name) != getattr(default, field.name)
    ]
    return ", ".join(parts) or "defaults"


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """The first step on which the breaker and the relation disagree.

    Attributes:
        reason: What disagrees, in words.
        path: Reproduces it from the initial state; its last step is the divergent one.
        actual: The breaker's observation of that step (``None`` if it raised).
        expected: The relation's unique (verdict, post-state) for it (``None`` if the
            relation's environment excludes the event).
        text: The path as a numbered step list with times, states and counters.
    """

    reason: str
    path: tuple[PathStep, ...]
    actual: StepObservation | None
    expected: tuple[str, Mapping[str, Value]] | None
    text: str

    def __str__(self) -> str:
        return self.text


def _state_text(snapshot: Mapping[str, Value]) -> str:
    s = snapshot
    return (
        f"{str(s['state']):<11} gen={s['generation']} failures={s['consecutive_failures']} "
        f"opened_at={s['opened_at']:g} open_until={s['open_until']:g} next_open={s['next_open_duration']:g} "
        f"half_open_since={s['half_open_since']:g} probes(admitted={s['probes_admitted']} "
        f"inflight={s['probes_inflight']} ok={s['probe_successes']} failed={s['probe_failures']})"
    )


def _class_text(cls: PermitClass) -> str:
    current, state, probe = cls
    return f"{'current' if current else 'stale'} {state.value}{' probe' if probe else ''}"


def _event_text(step: PathStep, verdict: str, number: int, permit: PermitClass | None) -> str:
    if step.trigger == "acquire":
        outcome = {"admit": f"admit P{number}", "admit_probe": f"probe P{number}", "reject": "reject"}[verdict]
        return f"acquire -> {outcome}"
    if step.trigger == WAIT:
        return f"wait {step.dt:g}s"
    if step.permit is not None and permit is not None:
        return f"{step.trigger}(P{step.permit}: {_class_text(permit)})"
    return step.trigger


def diagnose(
    config: BreakerConfig, table: Table, relation: ConcreteRelation, path: tuple[PathStep, ...]
) -> Mismatch | None:
    """Replay ``path`` on a fresh breaker; describe the divergence of its last step, if any."""
    observations: list[StepObservation] = []
    live = start_breaker(config, table, path[:-1], observations)
    pre, pre_clock, last = live.breaker.snapshot(), live.last_event, path[-1]
    now = live.clock.advance(last.dt)
    permit = live.permits.get(last.permit) if last.permit is not None else None
    expected = relation.successor(pre, pre_clock, last.trigger, now, permit)
    settled = permit_class(permit, live.breaker.generation) if permit is not None else None
    actual: StepObservation | None = None
    try:
        verdict, _ = apply_event(live.breaker, last.trigger, permit)
    except Exception as error:  # noqa: BLE001 - reported
        reason = f"the breaker refused an event the relation allows: {error!r}"
    else:
        actual = StepObservation(now, last, verdict, live.breaker.snapshot(), settled)
        if relation.check(pre, pre_clock, last.trigger, now, permit, actual.snapshot, verdict) is not None:
            return None
        if relation.environment_allows(pre, pre_clock, last.trigger, now, permit):
            reason = "the breaker's step is not the relation's"
        else:
            reason = "the breaker produced an event that the relation's environment excludes"
    initial = start_breaker(config, table, ()).breaker.snapshot()
    lines = [
        f"refinement mismatch ({describe(config)}): {reason}",
        f"  #0   t={0:<4g} {'(initial)':<46} {_state_text(initial)}",
    ]
    for number, seen in enumerate(observations, 1):
        event = _event_text(seen.step, seen.verdict, number, seen.permit)
        lines.append(f"  #{number:<3} t={seen.time:<4g} {event:<46} {_state_text(seen.snapshot)}")
    number = len(path)
    if actual is not None:
        event = _event_text(last, actual.verdict, number, settled)
        lines.append(f"  #{number:<3} t={now:<4g} {event:<46} {_state_text(actual.snapshot)}  <- breaker")
    if expected is not None:
        event = _event_text(last, expected[0], number, settled)
        lines.append(f"  {'':<4} t={now:<4g} {event:<46} {_state_text(expected[1])}  <- relation")
    else:
        lines.append("  (the relation's environment excludes this event: it has no successor)")
    lines.append("  path: " + ", ".join(map(str, path)))
    return Mismatch(reason, path, actual, expected, "\n".join(lines))

"""Replaying saved counterexamples of every layer on the Python breaker (``breakerlab prove --replay``).

A file from ``breakerlab prove --json`` holds one counterexample per verdict that shows one (or
is one counterexample object); each names its ``layer``, which chooses the reader and the
replayer: z3 traces (``trace_json``, ``counterexample.replay_trace``: the property evaluated on
the breaker's own steps), SPIN trails (``spin.trail_json``, ``spin.trail.follow_trail``: the
breaker must follow every step, verdicts, mode and every printed variable) and refinement
mismatches (``refinement.mismatch_json``: every step checked against the reference relation).
Each is replayed on the breaker of the mutant it was found on and on the reference breaker.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from breakerlab.model.errors import BreakerError
from breakerlab.model.table import TABLE, Table

from .counterexample import TraceReplay, replay_trace
from .mutants import MUTANTS
from .trace_json import LAYERS, FieldReader, counterexample_objects, load_document, trace_from_json

__all__ = ["BreakerReplay", "Counterexample", "CounterexampleReplay", "read_counterexamples", "replay"]


@dataclasses.dataclass(frozen=True)
class Counterexample:
    """One saved counterexample, whatever its layer: what it claims, and how to replay it.

    Attributes:
        expected: The violation is a deliverable (SPIN's wedge): the proofs claim the reference
            breaker exhibits it.
        steps: How many steps it has.
        run: Replays it on a fresh breaker running a table (``None``: the reference).
        judge: One line saying whether a replay reproduces the violation.
    """

    layer: str
    property_id: str
    kind: str
    mutant: str | None
    expected: bool
    description: str
    steps: int
    run: Callable[[Table | None], TraceReplay]
    judge: Callable[[TraceReplay], str]


def _z3(data: Any, source: str) -> Counterexample:
    trace, mutant = trace_from_json(data, source)
    steps, prop = len(trace.steps), trace.property_id

    def judge(outcome: TraceReplay) -> str:
        if outcome.reproduces:
            how = "following every step of the trace" if outcome.matches else f"on its own run ({outcome.detail})"
            return f"reproduces: step {outcome.violated_step} violates {prop}, {how}"
        ran = f"all {steps} steps" if outcome.steps_run == steps else f"{outcome.steps_run} of {steps} steps"
        if outcome.matches:
            return f"does not reproduce: {prop} holds on {ran}, and the breaker follows every step of the trace"
        return f"does not reproduce: {prop} holds on {ran}; it leaves the trace at {outcome.detail}"

    return Counterexample(
        "z3", prop, trace.kind, mutant, False, trace.describe(), steps, lambda table: replay_trace(trace, table), judge
    )


def _spin(data: Any, source: str) -> Counterexample:
    from .spin.trail import follow_trail
    from .spin.trail_json import trail_from_json

    trail = trail_from_json(data, source)
    steps = len(trail.steps)

    def judge(outcome: TraceReplay) -> str:
        if outcome.reproduces:
            if trail.kind == "acceptance_cycle":
                start = next(int(str(s["n"])) for s in trail.steps if s["cycle"])
                return (f"reproduces: follows all {steps} steps of the trail, into the cycle of steps {start} to "
                        f"{steps} that repeats forever ({trail.property_id} violated)")
            return f"reproduces: follows all {steps} steps of the trail, to the violation of {trail.property_id} at step {steps}"
        stopped = "" if outcome.steps_run in (steps, outcome.steps_matched + 1) else f"; {outcome.steps_run} of {steps} steps run"
        return f"does not reproduce: leaves the trail at {outcome.detail}{stopped}"

    return Counterexample(
        "spin",
        trail.property_id,
        trail.kind,
        trail.mutant,
        trail.expected,
        trail.describe(),
        steps,
        lambda table: follow_trail(trail.steps, trail.config, table if table is not None else TABLE),
        judge,
    )


def _refinement(data: Any, source: str) -> Counterexample:
    from .refinement.mismatch_json import mismatch_from_json, replay_mismatch

    saved = mismatch_from_json(data, source)
    steps = len(saved.path)

    def judge(outcome: TraceReplay) -> str:
        if outcome.reproduces:
            how = "following every recorded state" if outcome.matches else f"leaving the recorded path at {outcome.detail}"
            return f"reproduces: step {outcome.violated_step} is not a step of the relation, {how}"
        ran = f"all {steps} steps" if outcome.steps_run == steps else f"{outcome.steps_run} of {steps} steps"
        tail = "" if outcome.matches else f"; it leaves the recorded path at {outcome.detail}"
        return f"does not reproduce: {ran} are steps of the relation{tail}"

    return Counterexample(
        "refinement", "R", "mismatch", saved.mutant, False, saved.describe(), steps,
        lambda table: replay_mismatch(saved, table), judge,
    )


_READERS: dict[str, Callable[[Any, str], Counterexample]] = {"z3": _z3, "spin": _spin, "refinement": _refinement}


def read_counterexamples(path: str | os.PathLike[str]) -> list[Counterexample]:
    """Every counterexample in ``path`` (one object, or a whole ``breakerlab prove --json`` output).

    Raises:
        TraceFileError: The file cannot be read, is not JSON, holds no counterexample, or one
            of them has a bad field (the message names the file, the field and the rule).
    """
    source = str(path)
    objects = counterexample_objects(load_document(path), source)
    read = FieldReader(source)
    return [_READERS[read.choice(data.get("layer", "z3"), "layer", LAYERS)](data, source) for data in objects]


@dataclasses.dataclass(frozen=True)
class BreakerReplay:
    """One counterexample replayed on one breaker (``mutant`` ``None``: the reference)."""

    label: str
    mutant: str | None
    outcome: TraceReplay
    line: str

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        o = self.outcome
        return {
            "breaker": self.label,
            "mutant": self.mutant,
            "reproduces": o.reproduces,
            "violated_step": o.violated_step,
            "matches": o.matches,
            "steps_matched": o.steps_matched,
            "steps_run": o.steps_run,
            "detail": o.detail,
            "verdict": self.line,
        }


@dataclasses.dataclass(frozen=True)
class CounterexampleReplay:
    """A counterexample replayed on the mutant's breaker (if any) and the reference breaker (last)."""

    counterexample: Counterexample
    replays: tuple[BreakerReplay, ...]

    @property
    def ok(self) -> bool:
        """The reference breaker does what the proofs claim: it exhibits no unexpected violation,
        and it exhibits an expected one found on the reference table."""
        reference = self.replays[-1].outcome
        cx = self.counterexample
        if cx.expected:
            return reference.reproduces or cx.mutant is not None
        return not reference.reproduces

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        cx = self.counterexample
        return {
            "layer": cx.layer,
            "property": cx.property_id,
            "kind": cx.kind,
            "found_on": cx.mutant,
            "expected": cx.expected,
            "replays": [r.as_json() for r in self.replays],
            "ok": self.ok,
        }


def replay(counterexample: Counterexample, mutant: str | None = None, source: str = "the file") -> CounterexampleReplay:
    """Replay ``counterexample`` on the breaker of ``mutant`` (default: the one it was found on)
    and on the reference breaker.

    Raises:
        BreakerError: The mutant is not one of the seeded mutants.
    """
    name = mutant or counterexample.mutant
    if name is not None and name not in MUTANTS:
        raise BreakerError(
            f"'mutant' in {source} must be one of the seeded mutants ({', '.join(MUTANTS)}) (got {name!r}); "
            "or name the table with --mutant"
        )
    targets: list[tuple[str, str | None, Table | None]] = []
    if name:
        targets.append((f"mutant {name!r}", name, MUTANTS[name].table))
    targets.append(("reference", None, None))
    replays = []
    for label, target, table in targets:
        outcome = counterexample.run(table)
        replays.append(BreakerReplay(label, target, outcome, counterexample.judge(outcome)))
    return CounterexampleReplay(counterexample, tuple(replays))

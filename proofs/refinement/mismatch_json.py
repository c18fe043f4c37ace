"""Refinement mismatches as data: the JSON ``breakerlab prove --json`` writes for one, read back,
and replayed on a Python breaker (``breakerlab prove --replay FILE``).

A mismatch's path is an event sequence from the initial state, so it replays like the other
layers' counterexamples. The object has the z3 traces' shape (``breakerlab.proofs.trace_json``)
with ``"layer": "refinement"``, ``"kind": "mismatch"`` and ``"property": "R"``: the mutant whose
table the breaker ran, the ``BreakerConfig`` options, the relation it was checked against (the
reference table's), the ``reason`` in words, ``replayable``: whether a fresh breaker running that
table reproduces it (``false`` for a divergence seen only on a reused breaker), the initial state, one object per step (the event, or ``wait``; its arguments: the permit an outcome
settles, named by the number of the step whose acquire issued it; the time; the verdict; the
relation row it is, ``null`` for none; the breaker's state before and after; what changed), and
``expected``: the relation's verdict and state for the last step (``null`` if its environment
excludes the event). Reading checks every field the replay uses; ``before``, ``changed``,
``row`` and ``text`` are for readers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from breakerlab.model import Breaker, BreakerConfig, ManualClock, Permit, State, Table
from breakerlab.model.expr import Value
from breakerlab.model.table import TABLE

from ..concrete import concrete_relation
from ..counterexample import TraceReplay
from ..trace_json import FORMAT, VERSION, FieldReader, config_options, property_words
from .explore import RefinementResult, validate
from .paths import OTHER_EVENTS, OUTCOMES, WAIT, PathStep, apply_event

__all__ = ["SavedMismatch", "mismatch_from_json", "mismatch_to_json", "replay_mismatch"]

_EVENTS = ("acquire", *OUTCOMES, *OTHER_EVENTS, WAIT)
_VERDICTS = ("none", "admit", "admit_probe", "reject")


@dataclasses.dataclass(frozen=True)
class _Observed:
    """One step of a path on a breaker: the time, the verdict, the state before and after (``None``
    if the breaker raised), the relation row it is (``None``: no row; a wait has none), whether
    the relation allows it, and why the run stopped there, if it did (``stop``)."""

    time: float
    verdict: str
    before: dict[str, Value]
    after: dict[str, Value] | None
    row: int | None
    allowed: bool = True
    stop: str = ""


def _plain(snapshot: Mapping[str, Value]) -> dict[str, Value]:
    return {k: (v.value if isinstance(v, State) else v) for k, v in snapshot.items()}


def _run(config: BreakerConfig, path: tuple[PathStep, ...], table: Table) -> list[_Observed]:
    """``path`` on a fresh breaker running ``table``, each step checked against the reference
    relation; stops at a step the breaker refuses or whose permit it never issued."""
    relation = concrete_relation(TABLE, config)
    clock = ManualClock()
    breaker = Breaker(config, clock=clock, table=table)
    permits: dict[int, Permit] = {}
    last_event = 0.0
    out: list[_Observed] = []
    for number, step in enumerate(path, 1):
        now = clock.advance(step.dt)
        before = breaker.snapshot()
        if step.trigger == WAIT:
            out.append(_Observed(now, "none", _plain(before), _plain(before), None))
            continue
        permit = permits.get(step.permit) if step.permit is not None else None
        if step.permit is not None and permit is None:
            stop = f"step {number}: {step} settles P{step.permit}, which this breaker never issued (it rejected that acquire)"
            out.append(_Observed(now, "none", _plain(before), None, None, True, stop))
            break
        try:
            verdict, issued = apply_event(breaker, step.trigger, permit)
        except Exception as exc:  # noqa: BLE001 - refusing an event is what the check reports
            out.append(_Observed(now, "none", _plain(before), None, None, False, f"step {number}: the breaker refused {step}: {exc!r}"))
            break
        after = breaker.snapshot()
        row = relation.check(before, last_event, step.trigger, now, permit, after, verdict)
        last_event = now
        if issued is not None:
            permits[number] = issued
        out.append(_Observed(now, verdict, _plain(before), _plain(after), row, row is not None))
    return out


def _event_text(number: int, step: PathStep, verdict: str) -> str:
    if step.trigger == WAIT:
        return f"wait {step.dt:g}s"
    if step.trigger == "acquire":
        return "acquire() = " + (verdict if verdict == "reject" else f"{verdict} as P{number}")
    return f"{step.trigger}(P{step.permit})" if step.permit is not None else f"{step.trigger}()"


def _changes(before: Mapping[str, Value], after: Mapping[str, Value]) -> str:
    return " ".join(f"{k} {before.get(k)!s}->{v!s}" for k, v in after.items() if k != "state" and before.get(k) != v)


def _line(number: int, time: float, event: str, after: Mapping[str, Value] | None, before: Mapping[str, Value]) -> str:
    shown = f"-> {after['state']!s:<11} {_changes(before, after)}" if after is not None else "-> (the breaker raised)"
    return f"{number:>3}. t={time:<6g} {event:<36} {shown}".rstrip()


def mismatch_to_json(result: RefinementResult, table: Table, mutant: str | None) -> dict[str, Any]:
    """The mismatch of ``result`` (found on a breaker running ``table``) as a JSON-ready dict."""
    mismatch = result.mismatch
    if mismatch is None:
        raise ValueError("'result' must have a mismatch (got a result that refines)")
    config, path = result.config, mismatch.path
    observed = _run(config, path, table)
    rows = TABLE.rows
    previous = _plain(Breaker(config, clock=ManualClock(), table=table).snapshot())
    initial = dict(previous)
    steps = []
    for number, (step, seen) in enumerate(zip(path, observed), start=1):
        after = seen.after
        if number == len(path) and mismatch.actual is not None:
            after = _plain(mismatch.actual.snapshot)  # what the check saw (a fresh replay agrees unless history-dependent)
        steps.append(
            {
                "number": number,
                "event": step.trigger,
                "arguments": {"permit": step.permit} if step.permit is not None else {},
                "time": seen.time,
                "verdict": seen.verdict,
                "row": rows[seen.row].cause if seen.row is not None else None,
                "before": previous,
                "after": after,
                "changed": {k: [previous.get(k), v] for k, v in (after or {}).items() if previous.get(k) != v},
                "text": _line(number, seen.time, _event_text(number, step, seen.verdict), after, previous).strip(),
            }
        )
        previous = after if after is not None else previous
    replay = replay_mismatch(SavedMismatch(mutant, config, mismatch.reason, True, path, (), None), table)
    expected = mismatch.expected
    return {
        "format": FORMAT,
        "version": VERSION,
        "layer": "refinement",
        "property": "R",
        "kind": "mismatch",
        "property_name": property_words("R"),
        "mutant": mutant,
        "relation": "reference",
        "config": config_options(config),
        "reason": mismatch.reason,
        "replayable": replay.reproduces,
        "initial": initial,
        "steps": steps,
        "expected": {"verdict": expected[0], "after": _plain(expected[1])} if expected is not None else None,
        "violation": f"step {len(path)} is not a step of the relation: {mismatch.reason}",
    }


@dataclasses.dataclass(frozen=True)
class SavedMismatch:
    """A refinement mismatch read back: the path, the breaker states recorded along it (``None``
    where the breaker raised or nothing was recorded), and the relation's expected last step."""

    mutant: str | None
    config: BreakerConfig
    reason: str
    replayable: bool
    path: tuple[PathStep, ...]
    recorded: tuple[tuple[str, dict[str, Any] | None], ...]
    expected: tuple[str, dict[str, Any]] | None

    def describe(self) -> str:
        """The path as a numbered step list, with the relation's expected last step."""
        origin = f"mutant {self.mutant!r}" if self.mutant else "the reference table"
        lines = [f"refinement mismatch on {origin} with BreakerConfig({_kwargs(self.config)}): {self.reason}"]
        time = 0.0
        previous: Mapping[str, Any] = _plain(Breaker(self.config, clock=ManualClock()).snapshot())
        before_last = previous
        for number, (step, (verdict, after)) in enumerate(zip(self.path, self.recorded), start=1):
            time += step.dt
            lines.append("  " + _line(number, time, _event_text(number, step, verdict), after, previous))
            before_last, previous = previous, after if after is not None else previous
        if self.expected is not None:
            verdict, after = self.expected
            event = _event_text(len(self.path), self.path[-1], verdict)
            lines.append(f"  the relation's step {len(self.path)}: {event} -> {after['state']}  {_changes(before_last, after)}".rstrip())
        else:
            lines.append("  (the relation's environment excludes the last event: it has no successor)")
        if not self.replayable:
            lines.append("  (recorded as not replayable: the breaker diverged only when reused, not on a fresh replay)")
        return "\n".join(lines)


def _kwargs(config: BreakerConfig) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in config_options(config).items())


class _MismatchReader(FieldReader):
    """The refinement fields: events, waits, permits named by step number, breaker states."""

    def recorded(self, value: object, field: str) -> dict[str, Any] | None:
        return None if value is None else self.state(value, field)

    def path(self, raw: list[Any]) -> tuple[tuple[PathStep, ...], tuple[tuple[str, dict[str, Any] | None], ...]]:
        path: list[PathStep] = []
        recorded: list[tuple[str, dict[str, Any] | None]] = []
        settled: set[int] = set()
        time = 0.0
        for index, item in enumerate(raw):
            field = f"steps[{index}]"
            data = self.mapping(item, field)
            event = self.choice(data.get("event"), f"{field}.event", _EVENTS)
            now = float(self.number(data.get("time"), f"{field}.time"))
            if now < time:
                raise self.fail(f"{field}.time", f"at least the previous step's time {time:g}", now, "time never runs back")
            permit = self.mapping(data.get("arguments", {}), f"{field}.arguments").get("permit")
            if event in OUTCOMES:
                acquires = [i + 1 for i, s in enumerate(path) if s.trigger == "acquire" and i + 1 not in settled]
                if isinstance(permit, bool) or not isinstance(permit, int) or permit not in acquires:
                    rule = f"the number of an earlier acquire step not yet settled ({', '.join(map(str, acquires)) or 'none'})"
                    raise self.fail(f"{field}.arguments.permit", rule, permit)
                settled.add(permit)
            elif permit is not None:
                raise self.fail(f"{field}.arguments.permit", f"absent for {event} (only an outcome settles a permit)", permit)
            verdict = self.choice(data.get("verdict", "none"), f"{field}.verdict", _VERDICTS)
            if (event == "acquire") != (verdict != "none"):
                rule = "admit, admit_probe or reject for an acquire" if event == "acquire" else f"none for {event}"
                raise self.fail(f"{field}.verdict", rule, verdict)
            last = index == len(raw) - 1
            after = self.recorded(data.get("after"), f"{field}.after") if last else self.state(data.get("after"), f"{field}.after")
            path.append(PathStep(now - time, event, permit))
            recorded.append((verdict, after))
            time = now
        return tuple(path), tuple(recorded)


def mismatch_from_json(data: Mapping[str, Any], source: str = "counterexample") -> SavedMismatch:
    """The refinement mismatch in ``data`` (as ``mismatch_to_json`` wrote it).

    Raises:
        TraceFileError: A field is missing or breaks its rule (the message names it).
    """
    read = _MismatchReader(source)
    read.choice(data.get("kind"), "kind", ("mismatch",))
    read.choice(data.get("property"), "property", ("R",))
    read.choice(data.get("relation", "reference"), "relation", ("reference",))
    mutant = read.mutant(data.get("mutant"))
    config = read.config(data.get("config", {}))
    try:
        validate(config, 2, (1.0,))
    except ValueError as exc:
        raise read.fail("config", "a configuration the refinement check explores", config_options(config), str(exc)) from None
    path, recorded = read.path(read.steps(data.get("steps")))
    raw_expected = data.get("expected")
    expected = None
    if raw_expected is not None:
        block = read.mapping(raw_expected, "expected")
        verdict = read.choice(block.get("verdict"), "expected.verdict", _VERDICTS)
        expected = (verdict, read.state(block.get("after"), "expected.after"))
    reason = data.get("reason", "")
    return SavedMismatch(
        mutant=mutant,
        config=config,
        reason=reason if isinstance(reason, str) else str(reason),
        replayable=read.flag(data.get("replayable", True), "replayable"),
        path=path,
        recorded=recorded,
        expected=expected,
    )


def _differences(recorded: Mapping[str, Any], actual: Mapping[str, Value]) -> list[str]:
    """The keys on which a recorded state and the breaker's differ."""
    differ = []
    for key, value in recorded.items():
        mine = actual.get(key)
        if isinstance(value, str) or isinstance(mine, str):
            same = value == mine
        else:
            same = math.isclose(float(value), float(mine), rel_tol=0, abs_tol=1e-9)  # type: ignore[arg-type]
        if not same:
            differ.append(key)
    return differ


def replay_mismatch(saved: SavedMismatch, table: Table | None = None) -> TraceReplay:
    """Run the mismatch's path on a fresh breaker running ``table`` (default the reference) and
    check every step against the relation of the reference table, as the refinement check does.

    ``violated_step`` is the first step the relation does not allow (or the breaker refuses);
    ``matches`` says whether the breaker went through every verdict and state the file records.
    The run stops at an outcome whose permit this breaker never issued.
    """
    observed = _run(saved.config, saved.path, table if table is not None else TABLE)
    violated = next((number for number, seen in enumerate(observed, start=1) if not seen.allowed), None)
    mismatch: tuple[int, str] | None = None
    for number, seen in enumerate(observed, start=1):
        if seen.stop and seen.allowed:
            mismatch = mismatch or (number - 1, seen.stop)
        if mismatch is not None or number > len(saved.recorded):
            continue
        verdict, after = saved.recorded[number - 1]
        differs = _differences(after, seen.after) if after is not None and seen.after is not None else []
        if saved.path[number - 1].trigger == "acquire" and verdict != seen.verdict:
            differs.append("verdict")
        if differs:
            mine = dict(seen.after or {}, verdict=seen.verdict)
            recorded = dict(after or {}, verdict=verdict)
            shown = ", ".join(f"{k}: file {recorded.get(k)!r} vs breaker {mine.get(k)!r}" for k in differs)
            mismatch = (number - 1, f"step {number}: {shown}")
    steps_run = sum(1 for seen in observed if not (seen.stop and seen.allowed))  # a refused step was offered
    if mismatch is not None:
        return TraceReplay(False, mismatch[0], mismatch[1], violated, steps_run)
    return TraceReplay(True, len(saved.path), "every step matches", violated, steps_run)

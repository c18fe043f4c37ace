"""Counterexamples as JSON: what ``breakerlab prove --json`` writes for a z3 counterexample, and
what ``breakerlab prove --replay FILE`` reads back to replay on the Python breaker.

A trace is one object (``"format": "breakerlab-counterexample"``): the property, the seeded
mutant it was found on (``null`` for the reference table), the ``BreakerConfig`` options it
needs (those that differ from the defaults), the initial state, and one object per step with
the event, its arguments (the permit an outcome settles, the slot an admission fills), the
time, the acquire verdict, the table row taken, the state before and after (``state`` and every
table variable), the variables that changed, and the step as the text report prints it.
Reading checks every field a replay uses and names the first bad one; ``before``, ``changed``
and ``text`` are for readers and are recomputed, not read.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from breakerlab.model import BreakerConfig, State
from breakerlab.model.errors import BreakerError
from breakerlab.model.table import TRIGGERS, VARIABLES

from .counterexample import OUTCOME_TRIGGERS, Trace, TraceStep
from .encoding import VAR_SORTS, VERDICTS
from .properties import INVARIANTS, STEP_PROPERTIES

__all__ = ["FORMAT", "MAX_FILE_BYTES", "MAX_STEPS", "TraceFileError", "read_trace_file", "trace_from_json", "trace_to_json"]

FORMAT = "breakerlab-counterexample"
VERSION = 1
#: Limits on what a replay reads: a counterexample has a dozen steps, so these only stop
#: a wrong file (a sweep's results, a log) from taking minutes to refuse.
MAX_STEPS = 1000
MAX_FILE_BYTES = 10 * 2**20
KINDS = ("invariant", "step")


class TraceFileError(BreakerError, ValueError):
    """A counterexample file that cannot be replayed; the message names the file, the field,
    the rule and the value."""

    def __init__(self, source: str, field: str, rule: str, value: object, hint: str = "") -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        message = f"{source}: '{field}' must be {rule} (got {shown})"
        super().__init__(message + (f"; {hint}" if hint else ""))


# -- writing ----------------------------------------------------------------------------------


def _config_options(config: BreakerConfig) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for field in dataclasses.fields(BreakerConfig):
        value = getattr(config, field.name)
        if value == field.default:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ValueError(f"a counterexample's {field.name}={value!r} has no JSON form")
        options[field.name] = value
    return options


def _property_name(property_id: str, kind: str) -> str:
    properties = INVARIANTS if kind == "invariant" else STEP_PROPERTIES
    return next((p.name for p in properties if p.id == property_id), "")


def trace_to_json(trace: Trace, mutant: str | None = None) -> dict[str, Any]:
    """``trace`` as a JSON-ready dict; ``mutant`` names the seeded mutant it was found on."""
    steps = []
    previous = {k: v for k, v in trace.initial.items() if k != "clock"}
    for step in trace.steps:
        arguments = {"permit": step.slot} if step.slot is not None else {}
        changed = {k: [previous.get(k), v] for k, v in step.state.items() if previous.get(k) != v}
        steps.append(
            {
                "number": step.number,
                "event": step.trigger,
                "arguments": arguments,
                "time": step.time,
                "verdict": step.verdict,
                "row": step.row_cause,
                "before": dict(previous),
                "after": dict(step.state),
                "changed": changed,
                "text": step.describe(previous).strip(),
            }
        )
        previous = step.state
    name = _property_name(trace.property_id, trace.kind)
    where = "the state after step" if trace.kind == "invariant" else "step"
    return {
        "format": FORMAT,
        "version": VERSION,
        "property": trace.property_id,
        "kind": trace.kind,
        "property_name": name,
        "mutant": mutant,
        "config": _config_options(trace.config),
        "initial": dict(trace.initial),
        "steps": steps,
        "violation": f"{where} {len(trace.steps)} violates {trace.property_id}: {name}",
    }


# -- reading ----------------------------------------------------------------------------------


class _Reader:
    """Field checks for one file, each naming the field and the rule it breaks."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, rule: str, value: object, hint: str = "") -> TraceFileError:
        return TraceFileError(self.source, field, rule, value, hint)

    def mapping(self, value: object, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, "a JSON object", value)
        return value

    def choice(self, value: object, field: str, valid: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in valid:
            raise self.fail(field, f"one of {', '.join(valid)}", value)
        return value

    def number(self, value: object, field: str, integer: bool = False) -> float | int:
        if integer:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(field, "an integer", value)
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(field, "a finite number", value)
        return float(value)

    def state(self, value: object, field: str) -> dict[str, Any]:
        data = self.mapping(value, field)
        result: dict[str, Any] = {"state": self.choice(data.get("state"), f"{field}.state", tuple(s.value for s in State))}
        for name in VARIABLES:
            if name not in data:
                raise self.fail(field, f"an object with every table variable ({', '.join(VARIABLES)})", sorted(data))
            result[name] = self.number(data[name], f"{field}.{name}", integer=VAR_SORTS[name] == "int")
        return result

    def config(self, value: object) -> BreakerConfig:
        options = dict(self.mapping(value, "config"))
        known = {f.name for f in dataclasses.fields(BreakerConfig)}
        for name in options:
            if name not in known:
                raise self.fail("config", f"made of BreakerConfig options ({', '.join(sorted(known))})", name, "check the spelling")
        try:
            return BreakerConfig(**options)
        except (TypeError, ValueError) as exc:
            raise self.fail("config", "a valid BreakerConfig", options, str(exc)) from None

    def step(self, value: object, index: int, previous_time: float) -> TraceStep:
        field = f"steps[{index}]"
        data = self.mapping(value, field)
        trigger = self.choice(data.get("event"), f"{field}.event", TRIGGERS)
        arguments = self.mapping(data.get("arguments", {}), f"{field}.arguments")
        slot = arguments.get("permit")
        if slot is not None:
            slot = self.number(slot, f"{field}.arguments.permit", integer=True)
        admits = trigger == "acquire" and str(data.get("verdict", "")).startswith("admit")
        if slot is None and (trigger in OUTCOME_TRIGGERS or admits):
            raise self.fail(f"{field}.arguments.permit", f"the permit that {trigger} uses (an integer)", None)
        time = self.number(data.get("time"), f"{field}.time")
        if time < previous_time:
            raise self.fail(f"{field}.time", f"at least the previous step's time {previous_time:g}", time, "time never runs back")
        verdict = self.choice(data.get("verdict", "none"), f"{field}.verdict", VERDICTS)
        row = data.get("row", "")
        return TraceStep(
            number=index + 1,
            trigger=trigger,
            slot=int(slot) if slot is not None else None,
            time=float(time),
            verdict=verdict,
            row_cause=row if isinstance(row, str) else str(row),
            state=self.state(data.get("after"), f"{field}.after"),
        )


def trace_from_json(data: object, source: str = "counterexample") -> tuple[Trace, str | None]:
    """The trace in ``data`` (as ``trace_to_json`` wrote it) and the mutant it was found on.

    Raises:
        TraceFileError: A field is missing or breaks its rule (the message names it).
    """
    read = _Reader(source)
    top = read.mapping(data, "counterexample")
    if top.get("format") != FORMAT:
        raise read.fail("format", repr(FORMAT), top.get("format"), "write the file with breakerlab prove --json")
    kind = read.choice(top.get("kind"), "kind", KINDS)
    ids = tuple(p.id for p in (INVARIANTS if kind == "invariant" else STEP_PROPERTIES))
    property_id = read.choice(top.get("property"), "property", ids)
    mutant = top.get("mutant")
    if mutant is not None and not isinstance(mutant, str):
        raise read.fail("mutant", "a seeded mutant's name or null", mutant)
    config = read.config(top.get("config", {}))
    initial = read.state(top.get("initial"), "initial")
    initial["clock"] = read.number(read.mapping(top.get("initial"), "initial").get("clock", 0.0), "initial.clock")
    raw_steps = top.get("steps")
    if not isinstance(raw_steps, list) or not 1 <= len(raw_steps) <= MAX_STEPS:
        shown = f"{len(raw_steps)} steps" if isinstance(raw_steps, list) else raw_steps
        raise read.fail("steps", f"a list of 1 to {MAX_STEPS} steps", shown)
    steps: list[TraceStep] = []
    time = float(initial["clock"])
    for index, raw in enumerate(raw_steps):
        steps.append(read.step(raw, index, time))
        time = steps[-1].time
    return Trace(property_id, kind, config, initial, tuple(steps)), mutant


def _replayable(document: object) -> object:
    """The counterexample in ``document``: the object itself, or the one z3 trace of a whole
    ``breakerlab prove --json`` output (its verdicts' ``trace``)."""
    if isinstance(document, dict) and "verdicts" in document and "format" not in document:
        verdicts = document.get("verdicts")
        found = [v["trace"] for v in verdicts if isinstance(v, dict) and v.get("trace")] if isinstance(verdicts, list) else []
        if not found:
            return None
        return found[0]
    return document


def read_trace_file(path: str | os.PathLike[str]) -> tuple[Trace, str | None]:
    """Read a counterexample from ``path``: one trace object, or a whole ``breakerlab prove
    --json`` output with a z3 counterexample in it.

    Raises:
        TraceFileError: The file cannot be read, is not JSON, or holds no replayable trace.
    """
    file = pathlib.Path(path)
    source = str(path)
    try:
        if not file.is_file():
            what = "a directory" if file.is_dir() else "missing" if not file.exists() else "not a regular file"
            raise TraceFileError(source, "FILE", "an existing regular file", what)
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TraceFileError(source, "FILE", f"at most {MAX_FILE_BYTES // 2**20} MiB", f"{size:,} bytes")
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TraceFileError(source, "FILE", "readable", exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise TraceFileError(source, "FILE", "UTF-8 text", f"byte {exc.start}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFileError(source, "FILE", "JSON", f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise TraceFileError(source, "FILE", "JSON nested at most a few hundred levels deep", "deeper") from None
    trace = _replayable(document)
    if trace is None:
        raise TraceFileError(
            source,
            "verdicts",
            "a list with a z3 counterexample (a verdict with a 'trace')",
            "none",
            "SPIN trails and refinement mismatches are not replayed; run e.g. breakerlab prove --mutant NAME --layer z3 --json",
        )
    return trace_from_json(trace, source)

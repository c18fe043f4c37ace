"""Counterexamples as JSON: what ``breakerlab prove --json`` writes for a z3 counterexample, and
what ``breakerlab prove --replay FILE`` reads back to replay on the Python breaker; plus what
every layer's counterexample file shares (the format tag, the file checks, the field reader).

A counterexample is one object (``"format": "breakerlab-counterexample"``) whose ``layer``
(``z3``, ``spin``, ``refinement``; ``z3`` when absent) says which replayer reads it; SPIN trails
and refinement mismatches are written by ``breakerlab.proofs.spin.trail_json`` and
``breakerlab.proofs.refinement.mismatch_json`` in the same style. A z3 trace holds the property,
the seeded mutant it was found on (``null`` for the reference table), the ``BreakerConfig``
options it needs (those that differ from the defaults), the initial state, and one object per
step with the event, its arguments (the permit an outcome settles, the slot an admission fills),
the time, the acquire verdict, the table row taken, the state before and after (``state`` and
every table variable), the variables that changed, and the step as the text report prints it.
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
import re
from collections.abc import Mapping
from typing import Any

from breakerlab.model import BreakerConfig, State
from breakerlab.model.errors import BreakerError
from breakerlab.model.table import TRIGGERS, VARIABLES

from .counterexample import OUTCOME_TRIGGERS, Trace, TraceStep
from .encoding import VAR_SORTS, VERDICTS
from .properties import INVARIANTS, STEP_PROPERTIES

__all__ = [
    "FORMAT",
    "LAYERS",
    "MAX_FILE_BYTES",
    "MAX_STEPS",
    "VERSION",
    "FieldReader",
    "TraceFileError",
    "config_options",
    "counterexample_objects",
    "load_document",
    "property_words",
    "read_trace_file",
    "trace_from_json",
    "trace_to_json",
]

FORMAT = "breakerlab-counterexample"
VERSION = 1
#: Limits on what a replay reads: a counterexample has a dozen steps, so these only stop
#: a wrong file (a sweep's results, a log) from taking minutes to refuse.
MAX_STEPS = 1000
MAX_FILE_BYTES = 10 * 2**20
#: Beyond this an integer is not a counter or a time of any counterexample (and a float cannot hold it).
MAX_INTEGER = 10**15
KINDS = ("invariant", "step")
#: The layers whose counterexamples a file can hold, each with its own replayer.
LAYERS = ("z3", "spin", "refinement")


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


def config_options(config: BreakerConfig) -> dict[str, Any]:
    """The options of ``config`` that differ from the defaults, JSON-ready (enums by value)."""
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


def property_words(ids: str) -> str:
    """The start of the catalogue's plain words for each of the space-separated property ``ids``
    (``"S4 S9"``, ``"L5"``): it covers a property's invariant and step forms alike."""
    from .catalogue import PROPERTY_CATALOGUE

    words = {info.id: info.words for info in PROPERTY_CATALOGUE}
    found = [re.split(r"[.:;] ", words[i], maxsplit=1)[0].rstrip(".") for i in ids.split() if i in words]
    return "; ".join(found)


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
        "layer": "z3",
        "property": trace.property_id,
        "kind": trace.kind,
        "property_name": name,
        "mutant": mutant,
        "config": config_options(trace.config),
        "initial": dict(trace.initial),
        "steps": steps,
        "violation": f"{where} {len(trace.steps)} violates {trace.property_id}: {name}",
    }


# -- reading ----------------------------------------------------------------------------------


class FieldReader:
    """Field checks for one file, each naming the field and the rule it breaks (every layer's
    reader uses them, so every bad file is refused in the same words)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, rule: str, value: object, hint: str = "") -> TraceFileError:
        """The error for ``field`` breaking ``rule`` with ``value``."""
        return TraceFileError(self.source, field, rule, value, hint)

    def mapping(self, value: object, field: str) -> Mapping[str, Any]:
        """``value`` if it is a JSON object."""
        if not isinstance(value, dict):
            raise self.fail(field, "a JSON object", value)
        return value

    def choice(self, value: object, field: str, valid: tuple[str, ...]) -> str:
        """``value`` if it is one of the strings ``valid``."""
        if not isinstance(value, str) or value not in valid:
            raise self.fail(field, f"one of {', '.join(valid)}", value)
        return value

    def flag(self, value: object, field: str) -> bool:
        """``value`` if it is ``true`` or ``false``."""
        if not isinstance(value, bool):
            raise self.fail(field, "true or false", value)
        return value

    def mutant(self, value: object) -> str | None:
        """The ``mutant`` field: a name or ``null`` (the CLI checks the name)."""
        if value is not None and not isinstance(value, str):
            raise self.fail("mutant", "a seeded mutant's name or null", value)
        return value

    def steps(self, value: object) -> list[Any]:
        """The ``steps`` field: a list of 1 to ``MAX_STEPS`` items."""
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_STEPS:
            shown = f"{len(value)} steps" if isinstance(value, list) else value
            raise self.fail("steps", f"a list of 1 to {MAX_STEPS} steps", shown)
        return value

    def number(self, value: object, field: str, integer: bool = False) -> float | int:
        """``value`` if it is a finite number (an integer with ``integer``)."""
        if integer:
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INTEGER:
                raise self.fail(field, f"an integer of magnitude at most {MAX_INTEGER:.0e}", value)
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(field, "a finite number", value)
        if isinstance(value, int) and abs(value) > MAX_INTEGER:
            raise self.fail(field, f"a number of magnitude at most {MAX_INTEGER:.0e}", value)
        return float(value)

    def state(self, value: object, field: str) -> dict[str, Any]:
        """A breaker state: ``state`` and every table variable."""
        data = self.mapping(value, field)
        result: dict[str, Any] = {"state": self.choice(data.get("state"), f"{field}.state", tuple(s.value for s in State))}
        for name in VARIABLES:
            if name not in data:
                raise self.fail(field, f"an object with every table variable ({', '.join(VARIABLES)})", sorted(data))
            result[name] = self.number(data[name], f"{field}.{name}", integer=VAR_SORTS[name] == "int")
        return result

    def config(self, value: object) -> BreakerConfig:
        """The ``config`` field: ``BreakerConfig`` options."""
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
        """Step ``index`` of a z3 trace."""
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
    read = FieldReader(source)
    top = read.mapping(data, "counterexample")
    if top.get("format") != FORMAT:
        raise read.fail("format", repr(FORMAT), top.get("format"), "write the file with breakerlab prove --json")
    read.choice(top.get("layer", "z3"), "layer", ("z3",))
    kind = read.choice(top.get("kind"), "kind", KINDS)
    ids = tuple(p.id for p in (INVARIANTS if kind == "invariant" else STEP_PROPERTIES))
    property_id = read.choice(top.get("property"), "property", ids)
    mutant = read.mutant(top.get("mutant"))
    config = read.config(top.get("config", {}))
    initial = read.state(top.get("initial"), "initial")
    initial["clock"] = read.number(read.mapping(top.get("initial"), "initial").get("clock", 0.0), "initial.clock")
    raw_steps = read.steps(top.get("steps"))
    steps: list[TraceStep] = []
    time = float(initial["clock"])
    for index, raw in enumerate(raw_steps):
        steps.append(read.step(raw, index, time))
        time = steps[-1].time
    return Trace(property_id, kind, config, initial, tuple(steps)), mutant


def counterexample_objects(document: object, source: str) -> list[Mapping[str, Any]]:
    """The counterexamples in ``document``: the object itself, or every ``trace`` of a whole
    ``breakerlab prove --json`` output's verdicts, in order.

    Raises:
        TraceFileError: ``document`` is neither, or its verdicts carry no counterexample.
    """
    read = FieldReader(source)
    top = read.mapping(document, "FILE")
    if "verdicts" not in top or "format" in top:
        return [top]
    verdicts = top.get("verdicts")
    found = [v["trace"] for v in verdicts if isinstance(v, dict) and v.get("trace")] if isinstance(verdicts, list) else []
    if not found:
        raise read.fail(
            "verdicts",
            "a list with a z3 counterexample, SPIN trail or refinement mismatch (a verdict with a 'trace')",
            "none",
            "save one with breakerlab prove --mutant NAME --json (only failed checks and expected violations carry one)",
        )
    return [read.mapping(trace, "verdicts[].trace") for trace in found]


def load_document(path: str | os.PathLike[str]) -> object:
    """The JSON in the regular file ``path`` (at most ``MAX_FILE_BYTES``).

    Raises:
        TraceFileError: The file cannot be read or is not JSON.
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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFileError(source, "FILE", "JSON", f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise TraceFileError(source, "FILE", "JSON nested at most a few hundred levels deep", "deeper") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise TraceFileError(source, "FILE", "JSON with numbers Python can read", str(exc)[:60]) from None


def read_trace_file(path: str | os.PathLike[str]) -> tuple[Trace, str | None]:
    """Read a z3 counterexample from ``path``: one trace object, or the first z3 trace of a whole
    ``breakerlab prove --json`` output (``breakerlab.proofs.replay`` reads every layer's).

    Raises:
        TraceFileError: The file cannot be read, is not JSON, or holds no z3 trace.
    """
    source = str(path)
    objects = counterexample_objects(load_document(path), source)
    z3_traces = [o for o in objects if o.get("layer", "z3") == "z3"]
    if not z3_traces:
        raise TraceFileError(source, "layer", "z3 for a z3 trace", objects[0].get("layer"))
    return trace_from_json(z3_traces[0], source)

"""SPIN trails as JSON: what ``breakerlab prove --json`` writes for a SPIN counterexample, and
what ``breakerlab prove --replay FILE`` reads back to replay on the Python breaker.

The object has the z3 traces' shape (``breakerlab.proofs.trace_json``) with ``"layer": "spin"``:
the property (the failed assertion's tags, ``S4 S9``, or the LTL property), ``kind``
(``assertion``, ``invalid_end_state`` or ``acceptance_cycle``: the steps marked ``cycle``
repeat forever), the SPIN case, its callers and check, whether the violation is ``expected``
(a deliverable such as the wedge), the mutant, the ``BreakerConfig`` options, the model's
initial state, and one object per step: the ``process`` that took it (``caller0``, ``caller1``,
..., ``clock``, ``env``, ``manual``, ``poller``: the trail is concurrent), the event, its
arguments (the permit is the caller's: a caller holds at most one), the time in ticks, the
acquire verdict, the table row, whether it is in the cycle, and the model state before and after
(``state`` and every variable the model prints: time variables relative to now, ``_rel``, and
the environment's ``healthy``, ``down``, ``up``, ``since_up``). Reading checks every field the
replay uses; ``before``, ``changed`` and ``text`` are for readers.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from breakerlab.model import BreakerConfig, State, Table
from breakerlab.model.driver import OUTCOMES, Driver
from breakerlab.model.table import VARIABLES

from ..catalogue import PROPERTY_CATALOGUE
from ..time_abstraction import RELATIVE_SUFFIX, TimeAbstraction
from ..trace_json import FORMAT, VERSION, FieldReader, config_options, property_words
from .scope import check_config
from .suite import SuiteResult
from .trail import ENVIRONMENT_INITIAL, STEP_KEYS, format_steps
from .vocabulary import AGENTS, EVENTS

__all__ = ["KINDS", "SavedTrail", "trail_from_json", "trail_to_json"]

KINDS = ("assertion", "invalid_end_state", "acceptance_cycle")
#: Events a caller takes with its permit (an admitted acquire fills it).
_PERMIT_EVENTS = ("acquire", *OUTCOMES, "lost")
_VERDICTS = ("none", "admit", "admit_probe", "reject")
_MAX_CALLERS = min(AGENTS) - 1


@dataclasses.dataclass(frozen=True)
class SavedTrail:
    """A SPIN counterexample read back: what ``follow_trail`` needs, and what the replay prints.

    Attributes:
        steps: The trail as ``parse_steps`` gives it (``row`` holds the row's cause).
        expected: SPIN was meant to find this violation (the reference table has it by design).
    """

    property_id: str
    kind: str
    mutant: str | None
    expected: bool
    config: BreakerConfig
    callers: int
    case: str
    check: str
    failure: str
    steps: tuple[dict[str, object], ...]

    def describe(self) -> str:
        """The trail as a numbered step list, with its case and violation."""
        origin = f"mutant {self.mutant!r}" if self.mutant else "the reference table"
        lines = [f"SPIN trail ({self.failure}) on {origin}, case {self.case} ({self.callers} callers, {self.check}):"]
        lines.append(format_steps(self.steps))
        lines.append(f"  => {_violation(self.kind, self.property_id, self.steps)}")
        return "\n".join(lines)


def _violation(kind: str, property_id: str, steps: tuple[Mapping[str, object], ...]) -> str:
    last = len(steps)
    words = property_words(property_id)
    named = f"{property_id}: {words}" if words else property_id
    if kind == "acceptance_cycle":
        start = next(int(str(s["n"])) for s in steps if s["cycle"])
        return f"steps {start} to {last} repeat forever (an acceptance cycle), violating {named}"
    if kind == "invalid_end_state":
        return f"step {last} ends in an invalid end state (no process can move)"
    return f"step {last} violates {named}"


def _model_state(step: Mapping[str, object]) -> dict[str, object]:
    return {"state": step["mode"], **{k: v for k, v in step.items() if k not in STEP_KEYS}}


def _initial(keys: list[str], config: BreakerConfig, table: Table) -> dict[str, object]:
    """The model's state before its first step: the breaker's initial values (the model
    starts from the same ones, its times relative to 0) and the environment's."""
    snapshot = Driver(config, table).breaker.snapshot()
    times = TimeAbstraction.of(config, table)
    stored = {times.stored_name(v): v for v in VARIABLES}
    state: dict[str, object] = {"state": State.CLOSED.value}
    for key in keys:
        if key in ENVIRONMENT_INITIAL:
            state[key] = ENVIRONMENT_INITIAL[key]
        elif key in stored:
            state[key] = int(snapshot[stored[key]])
    return state


def trail_to_json(result: SuiteResult, table: Table, mutant: str | None, property_id: str) -> dict[str, Any]:
    """The trail of ``result`` (a violated check) as a JSON-ready dict; ``property_id`` is the
    check's property, used when the failure names no assertion tag."""
    steps = result.result.steps
    failure = result.result.failure
    tag = re.search(r"\[([^\]]+)\]$", failure)
    prop = tag.group(1) if tag else property_id
    if any(s["cycle"] for s in steps):
        kind = "acceptance_cycle"
    elif "invalid end state" in failure:
        kind = "invalid_end_state"
    else:
        kind = "assertion"
    config = result.case.config
    keys = [k for k in steps[0] if k not in STEP_KEYS] if steps else []
    previous = _initial(keys, config, table)
    initial = dict(previous)
    texts = format_steps(steps, table).splitlines()
    out = []
    for step, text in zip(steps, texts, strict=True):
        after = _model_state(step)
        who, event, verdict = str(step["who"]), str(step["event"]), step["verdict"] or "none"
        holds = event in _PERMIT_EVENTS and (event != "acquire" or verdict != "reject")
        row = step["row"]
        out.append(
            {
                "number": step["n"],
                "process": who,
                "event": event,
                "arguments": {"permit": who} if holds else {},
                "time": step["now"],
                "verdict": verdict,
                "row": table.rows[row].cause if isinstance(row, int) and row >= 0 else "",
                "cycle": step["cycle"],
                "before": previous,
                "after": after,
                "changed": {k: [previous.get(k), v] for k, v in after.items() if previous.get(k) != v},
                "text": text.strip(),
            }
        )
        previous = after
    check = result.check
    return {
        "format": FORMAT,
        "version": VERSION,
        "layer": "spin",
        "property": prop,
        "kind": kind,
        "property_name": property_words(prop),
        "mutant": mutant,
        "case": result.case.name,
        "callers": result.case.callers,
        "check": check.label,
        "expected": check.expect == "violated",
        "failure": failure,
        "config": config_options(config),
        "initial": initial,
        "steps": out,
        "violation": _violation(kind, prop, steps),
    }


class _TrailReader(FieldReader):
    """The SPIN fields: processes, events, ticks and model states."""

    def __init__(self, source: str, callers: int) -> None:
        super().__init__(source)
        self.processes = (*(f"caller{i}" for i in range(callers)), *AGENTS.values())
        self.callers = self.processes[:callers]
        # a time variable is printed relative to now (``_rel``); which ones are times depends on the table
        stored = {*VARIABLES, *(v + RELATIVE_SUFFIX for v in VARIABLES)} - {"generation", "generation" + RELATIVE_SUFFIX}
        self.variables = tuple(sorted(stored | set(ENVIRONMENT_INITIAL)))

    def model_state(self, value: object, field: str, keys: tuple[str, ...] | None) -> dict[str, object]:
        data = self.mapping(value, field)
        state = self.choice(data.get("state"), f"{field}.state", tuple(s.value for s in State))
        names = tuple(k for k in data if k != "state")
        for name in names:
            if name not in self.variables:
                raise self.fail(field, f"made of 'state' and model variables ({', '.join(self.variables)})", name)
        if keys is not None and names != keys:
            raise self.fail(field, f"an object with the first step's variables ({', '.join(keys)})", list(names))
        values = {name: self.number(data[name], f"{field}.{name}", integer=True) for name in names}
        return {"state": state, **values}

    def trail_step(self, value: object, index: int, time: int, keys: tuple[str, ...] | None, cycle: bool) -> dict[str, object]:
        field = f"steps[{index}]"
        data = self.mapping(value, field)
        who = self.choice(data.get("process"), f"{field}.process", self.processes)
        event = self.choice(data.get("event"), f"{field}.event", EVENTS)
        if event in _PERMIT_EVENTS and who not in self.callers:
            raise self.fail(f"{field}.process", f"a caller for {event} ({', '.join(self.callers)})", who)
        now = self.number(data.get("time"), f"{field}.time", integer=True)
        if now < time:
            raise self.fail(f"{field}.time", f"at least the previous step's time {time}", now, "time never runs back")
        verdict = self.choice(data.get("verdict", "none"), f"{field}.verdict", _VERDICTS)
        if (event == "acquire") != (verdict != "none"):
            rule = "admit, admit_probe or reject for an acquire" if event == "acquire" else f"none for {event}"
            raise self.fail(f"{field}.verdict", rule, verdict)
        in_cycle = self.flag(data.get("cycle", False), f"{field}.cycle")
        if cycle and not in_cycle:
            raise self.fail(f"{field}.cycle", "true once a previous step is in the cycle", in_cycle)
        row = data.get("row", "")
        after = self.model_state(data.get("after"), f"{field}.after", keys)
        return {
            "n": index + 1,
            "who": who,
            "event": event,
            "verdict": None if verdict == "none" else verdict,
            "cycle": in_cycle,
            "mode": after.pop("state"),
            "row": row if isinstance(row, str) else str(row),
            "now": int(now),
            **after,
        }


def trail_from_json(data: Mapping[str, Any], source: str = "counterexample") -> SavedTrail:
    """The SPIN trail in ``data`` (as ``trail_to_json`` wrote it).

    Raises:
        TraceFileError: A field is missing or breaks its rule (the message names it).
    """
    read = FieldReader(source)
    kind = read.choice(data.get("kind"), "kind", KINDS)
    prop = data.get("property")
    known = {info.id for info in PROPERTY_CATALOGUE} | {"S1-S10,L4"}
    if not isinstance(prop, str) or not prop.split() or any(p not in known for p in prop.split()):
        raise read.fail("property", "property ids from proofs/README.md, space-separated (S4 S9, L3)", prop)
    mutant = read.mutant(data.get("mutant"))
    config = read.config(data.get("config", {}))
    try:
        check_config(config)
    except ValueError as exc:
        raise read.fail("config", "a configuration SPIN models", config_options(config), str(exc)) from None
    callers = data.get("callers")
    if isinstance(callers, bool) or not isinstance(callers, int) or not 1 <= callers <= _MAX_CALLERS:
        raise read.fail("callers", f"an integer from 1 to {_MAX_CALLERS}", callers)
    expected = read.flag(data.get("expected", False), "expected")
    reader = _TrailReader(source, callers)
    raw = read.steps(data.get("steps"))
    steps: list[dict[str, object]] = []
    keys: tuple[str, ...] | None = None
    for index, item in enumerate(raw):
        previous_time = int(str(steps[-1]["now"])) if steps else 0
        in_cycle = bool(steps and steps[-1]["cycle"])
        step = reader.trail_step(item, index, previous_time, keys, in_cycle)
        keys = keys if keys is not None else tuple(k for k in step if k not in STEP_KEYS)
        steps.append(step)
    if kind == "acceptance_cycle":
        _check_cycle(read, steps, reader.model_state(data.get("initial"), "initial", keys))
    elif any(s["cycle"] for s in steps):
        raise read.fail("kind", "acceptance_cycle for a trail with steps in a cycle", kind)
    text = data.get("failure", "")
    return SavedTrail(
        property_id=prop,
        kind=kind,
        mutant=mutant,
        expected=expected,
        config=config,
        callers=callers,
        case=str(data.get("case", "")),
        check=str(data.get("check", "")),
        failure=text if isinstance(text, str) else str(text),
        steps=tuple(steps),
    )


def _check_cycle(read: FieldReader, steps: list[dict[str, object]], initial: dict[str, object]) -> None:
    """An acceptance cycle must end in the state it starts from (else it cannot repeat)."""
    start = next((i for i, s in enumerate(steps) if s["cycle"]), None)
    if start is None:
        raise read.fail("steps", "a trail with steps in the cycle ('cycle': true) for an acceptance_cycle", "none")
    before = _model_state(steps[start - 1]) if start else initial
    end = _model_state(steps[-1])
    if before != end:
        changed = sorted(k for k in end if before.get(k) != end[k])
        raise read.fail(
            f"steps[{len(steps) - 1}].after",
            f"the state before the cycle's first step {start + 1} (a cycle repeats)",
            {k: end[k] for k in changed},
        )

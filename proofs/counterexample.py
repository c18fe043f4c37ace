"""Counterexamples: reachable traces found by bounded model checking, printed as numbered steps
and replayed against the Python breaker.

When induction fails, the failing step may start from a state no run reaches. So for every
violated property we search, with z3, for the shortest run from the initial state (depth up
to ``MAX_DEPTH``) that violates it, over a pool of real permits (so every outcome is recorded
with a permit some earlier step obtained) and parameters a ``BreakerConfig`` can express
exactly (integer times, consecutive trip rule, no jitter). Such a trace can be replayed step by
step on the real ``Breaker``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import z3

from breakerlab.model import BreakerConfig, Permit, State
from breakerlab.model.config import TripRule
from breakerlab.model.driver import Driver
from breakerlab.model.expr import Value
from breakerlab.model.params import NOT_INVERTIBLE, config_from_params
from breakerlab.model.table import TABLE, TRIGGERS, VARIABLES, Table

from .encoding import (
    PARAM_SORTS,
    VAR_SORTS,
    VERDICTS,
    Encoding,
    StateVars,
    Step,
    code,
    decode,
    model_value,
    z3_value,
)
from .properties import INVARIANTS, STEP_PROPERTIES

__all__ = ["Trace", "TraceReplay", "TraceStep", "find_first_trace", "find_trace", "replay_trace"]

MAX_DEPTH = 12
#: Bounds on the parameters of a counterexample: integers at most this times their preferred
#: value; real parameters (times, the backoff factor) whole numbers up to ``MAX_SECONDS``.
INT_SCALE = 3
MAX_SECONDS = 1000
PERMIT_SLOTS = 3
OUTCOME_TRIGGERS = ("record_success", "record_failure", "release")


@dataclasses.dataclass(frozen=True)
class TraceStep:
    """One step of a trace: the event and the state after it."""

    number: int
    trigger: str
    slot: int | None
    time: float
    verdict: str
    row_cause: str
    state: dict[str, Any]

    def describe(self, previous: dict[str, Any] | None = None) -> str:
        """``3. t=2 record_failure(permit 1) -> open [trip]  generation 0->1 ...``: the counters
        that changed since ``previous`` (all of them when ``None``)."""
        event = self.trigger + (f"(permit {self.slot})" if self.slot is not None else "()")
        if self.trigger == "acquire":
            event = "acquire() = " + self.verdict
            if self.verdict.startswith("admit"):
                event += f" as permit {self.slot}"
        changes = []
        for key, value in self.state.items():
            if key == "state":
                continue
            if previous is None:
                changes.append(f"{key}={_fmt(value)}")
            elif previous.get(key) != value:
                changes.append(f"{key} {_fmt(previous.get(key))}->{_fmt(value)}")
        return (
            f"{self.number:>3}. t={_fmt(self.time):<6} {event:<36} -> {self.state['state']:<11} "
            f"[{self.row_cause}]  {' '.join(changes)}".rstrip()
        )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclasses.dataclass(frozen=True)
class Trace:
    """A run from the initial state that violates ``property_id``."""

    property_id: str
    kind: str
    config: BreakerConfig
    initial: dict[str, Any]
    steps: tuple[TraceStep, ...]

    def describe(self) -> str:
        """The trace as a numbered step list, with the configuration it needs."""
        changed = {
            f.name: getattr(self.config, f.name)
            for f in dataclasses.fields(BreakerConfig)
            if getattr(self.config, f.name) != f.default
        }
        lines = [f"counterexample to {self.property_id} ({self.kind}) with BreakerConfig({_kwargs(changed)}):"]
        first = {k: v for k, v in self.initial.items() if k != "clock"}
        counters = " ".join(f"{k}={_fmt(v)}" for k, v in first.items() if k != "state")
        start = f"    0. t={_fmt(self.initial['clock']):<6} {'(initial state)':<36}"
        lines.append(f"{start} -> {first['state']:<11} {counters}")
        previous = first
        for step in self.steps:
            lines.append("  " + step.describe(previous))
            previous = step.state
        names = {p.id: p.name for p in (INVARIANTS if self.kind == "invariant" else STEP_PROPERTIES)}
        where = "the state after step" if self.kind == "invariant" else "step"
        lines.append(f"  => {where} {len(self.steps)} violates {self.property_id}: {names.get(self.property_id, '')}")
        return "\n".join(lines)


def _kwargs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v.value if hasattr(v, 'value') else v!r}" for k, v in values.items())


def _python_value(name: str, value: Any) -> Value:
    """A z3 model's value of parameter ``name`` as ``BreakerConfig.table_params()`` holds it."""
    sort = PARAM_SORTS[name]
    if sort == "enum":
        return decode(value)
    if sort == "real":
        return float(value)
    return bool(value) if sort == "bool" else int(value)


#: The configuration whose parameter values a counterexample should use unless the violation
#: needs others: the article's defaults with small numbers, so the printed configuration is short.
PREFERRED = BreakerConfig(fail_max=2, reset_timeout=2)


def _replayable_parameters(enc: Encoding) -> z3.BoolRef:
    """Parameters whose runs replay on a ``Breaker`` exactly and read well: the consecutive trip
    rule (a trace's window counts are free inputs, which no real window need produce), the
    default value of every parameter ``config_from_params`` cannot set back, whole seconds, and
    integers at most ``INT_SCALE`` times their ``PREFERRED`` value (small bounds keep z3 fast)."""
    p = enc.params
    defaults = BreakerConfig().table_params()
    preferred = PREFERRED.table_params()
    facts = [p["trip_rule"] == code(TripRule.CONSECUTIVE)]
    facts += [p[name] == z3_value(defaults[name]) for name in NOT_INVERTIBLE]
    for name, sort in PARAM_SORTS.items():
        if sort == "real":
            facts += [z3.IsInt(p[name]), p[name] <= MAX_SECONDS]
        elif sort == "int":
            facts.append(p[name] <= INT_SCALE * int(preferred[name]))
    return z3.And(*facts)


def _prefer_simple(enc: Encoding, solver: z3.Optimize) -> None:
    for name, value in PREFERRED.table_params().items():
        if not (isinstance(value, float) and math.isinf(value)):
            solver.add_soft(enc.params[name] == z3_value(value), weight=2)


class _Pool:
    """Permit slots at one time point of the unrolling."""

    def __init__(self, tag: str) -> None:
        self.valid = [z3.Bool(f"{tag}_valid{j}") for j in range(PERMIT_SLOTS)]
        self.gen = [z3.Int(f"{tag}_gen{j}") for j in range(PERMIT_SLOTS)]
        self.state = [z3.Int(f"{tag}_state{j}") for j in range(PERMIT_SLOTS)]


def _pool_step(enc: Encoding, step: Step, slot: z3.ArithRef, pool: _Pool, after: _Pool) -> z3.BoolRef:
    e = step.event
    is_acquire = enc.is_trigger(e, "acquire")
    is_outcome = enc.is_trigger(e, *OUTCOME_TRIGGERS)
    facts: list[z3.BoolRef] = [slot >= 0, slot < PERMIT_SLOTS]
    for j in range(PERMIT_SLOTS):
        chosen = slot == j
        keep = z3.And(after.valid[j] == pool.valid[j], after.gen[j] == pool.gen[j], after.state[j] == pool.state[j])
        admitted = z3.And(is_acquire, enc.admits(e))
        facts.append(
            z3.If(
                chosen,
                z3.If(
                    admitted,
                    z3.And(
                        z3.Not(pool.valid[j]),
                        after.valid[j],
                        after.gen[j] == step.post["generation"],
                        after.state[j] == step.post.mode,
                    ),
                    z3.If(
                        is_outcome,
                        z3.And(
                            pool.valid[j],
                            z3.Not(after.valid[j]),
                            e["permit_generation"] == pool.gen[j],
                            e["permit_state"] == pool.state[j],
                            after.gen[j] == pool.gen[j],
                            after.state[j] == pool.state[j],
                        ),
                        keep,
                    ),
                ),
                keep,
            )
        )
    return z3.And(*facts)


def find_first_trace(table: Table, violated: Sequence[tuple[str, str]], max_depth: int = MAX_DEPTH) -> Trace | None:
    """A counterexample for the first of ``violated`` ((id, kind) pairs) that has one; step
    properties are tried first (their counterexamples are usually the shortest)."""
    ordered = sorted(violated, key=lambda item: item[1] != "step")
    for property_id, kind in ordered:
        trace = find_trace(table, property_id, kind, max_depth)
        if trace is not None:
            return trace
    return None


def find_trace(table: Table, property_id: str, kind: str, max_depth: int = MAX_DEPTH) -> Trace | None:
    """The shortest replayable run (up to ``max_depth`` steps) violating ``property_id``
    (``kind`` is ``"invariant"`` or ``"step"``: some ids have both forms)."""
    invariants = [i for i in INVARIANTS if i.id == property_id] if kind == "invariant" else []
    steps_props = [p for p in STEP_PROPERTIES if p.id == property_id] if kind == "step" else []
    if not invariants and not steps_props:
        raise KeyError(f"unknown {kind} property {property_id!r}")
    enc = Encoding(table)
    solver = z3.Optimize()
    solver.set("timeout", 60_000)
    solver.add(enc.parameter_assumptions(), _replayable_parameters(enc))
    _prefer_simple(enc, solver)
    states: list[StateVars] = [enc.state("b0")]
    pools: list[_Pool] = [_Pool("pool0")]
    solver.add(enc.initial(states[0]), states[0].clock == 0)
    solver.add(*[z3.Not(v) for v in pools[0].valid])
    steps: list[Step] = []
    slots: list[z3.ArithRef] = []
    for depth in range(1, max_depth + 1):
        step = enc.step(f"b{depth}", pre=states[-1])
        slot = z3.Int(f"b{depth}_slot")
        pool = _Pool(f"pool{depth}")
        e = step.event
        solver.add(
            enc.environment(step.pre, e),
            enc.transition(step),
            _pool_step(enc, step, slot, pools[-1], pool),
            z3.IsInt(e["now"]),
            e["jitter"] == 0,
        )
        states.append(step.post)
        pools.append(pool)
        steps.append(step)
        slots.append(slot)
        if invariants:
            violation = z3.Not(invariants[0].holds(enc, step.post))
        else:
            violation = z3.Not(steps_props[0].holds(enc, step))
        solver.push()
        solver.add(violation)
        if solver.check() == z3.sat:
            return _trace(enc, solver.model(), property_id, kind, states, steps, slots, table)
        solver.pop()
    return None


def _state_values(model: z3.ModelRef, state: StateVars) -> dict[str, Any]:
    values: dict[str, Any] = {"state": decode(model_value(model, state.mode))}
    for name in VARIABLES:
        value = model_value(model, state[name])
        values[name] = float(value) if isinstance(value, Fraction) else value
    return values


def _trace(
    enc: Encoding,
    model: z3.ModelRef,
    property_id: str,
    kind: str,
    states: Sequence[StateVars],
    steps: Sequence[Step],
    slots: Sequence[z3.ArithRef],
    table: Table,
) -> Trace:
    params = {name: _python_value(name, model_value(model, enc.params[name])) for name in PARAM_SORTS}
    config = config_from_params(params)
    initial = _state_values(model, states[0]) | {"clock": float(model_value(model, states[0].clock))}
    out: list[TraceStep] = []
    for number, (step, slot) in enumerate(zip(steps, slots, strict=True), start=1):
        trigger = TRIGGERS[model_value(model, step.event.trigger)]
        verdict_code = model_value(model, step.event.verdict)
        row = table.rows[model_value(model, step.event.row)]
        uses_slot = trigger in OUTCOME_TRIGGERS or (trigger == "acquire" and VERDICTS[verdict_code].startswith("admit"))
        out.append(
            TraceStep(
                number=number,
                trigger=trigger,
                slot=model_value(model, slot) if uses_slot else None,
                time=float(model_value(model, step.event["now"])),
                verdict=VERDICTS[verdict_code],
                row_cause=row.cause,
                state=_state_values(model, step.post),
            )
        )
    return Trace(property_id, kind, config, initial, tuple(out))


@dataclasses.dataclass(frozen=True)
class TraceReplay:
    """The outcome of replaying a counterexample's events on a Python breaker (every layer's
    replay gives one: z3 traces here, SPIN trails in ``spin.trail.follow_trail``, refinement
    mismatches in ``refinement.mismatch_json.replay_mismatch``).

    Attributes:
        matches: Whether the breaker went through every state of the trace.
        steps_matched: Steps before the first one on which the breaker leaves the trace.
        detail: Where and how the breaker leaves the trace ("every step matches" if it does not).
        violated_step: The first step on which the breaker's own run violates the trace's
            property (z3: evaluated on the breaker's states, not the trace's; SPIN: the trail's
            last step, when the breaker follows the whole trail; refinement: the first step the
            relation does not allow), or ``None``.
        steps_run: Steps the breaker performed: all of them, unless an outcome names a permit
            the breaker never admitted (it rejected that acquire).
    """

    matches: bool
    steps_matched: int
    detail: str
    violated_step: int | None = None
    steps_run: int = 0

    @property
    def reproduces(self) -> bool:
        """Whether the breaker exhibits the violation."""
        return self.violated_step is not None


def replay_trace(trace: Trace, table: Table | None = None) -> TraceReplay:
    """Run ``trace``'s events on a real ``Breaker`` (with ``table``, default the reference),
    compare every state with the trace's, and check the trace's property on the breaker's steps.

    The events go on after the breaker leaves the trace (its own run on the same inputs) until
    an outcome names a permit the breaker never admitted.
    """
    driver = Driver(trace.config, table if table is not None else TABLE)
    breaker = driver.breaker
    check = _PropertyCheck(trace)
    mismatch: tuple[int, str] | None = None
    violated: int | None = None
    clock = float(trace.initial.get("clock", 0.0))
    steps_run = 0
    for step in trace.steps:
        before = _plain(breaker.snapshot())
        permit = driver.permits.get(step.slot) if step.trigger in OUTCOME_TRIGGERS else None
        if step.trigger in OUTCOME_TRIGGERS and permit is None:
            missing = f"step {step.number}: {step.trigger}(permit {step.slot}) names a permit the breaker never admitted"
            mismatch = mismatch or (step.number - 1, missing)
            break
        verdict = driver.step(step.time, step.trigger, step.slot) or "none"
        steps_run += 1
        actual = _plain(breaker.snapshot())
        if violated is None and check.violated(before, actual, step, verdict, clock, permit):
            violated = step.number
        clock = step.time
        if mismatch is None:
            expected = step.state
            mismatched = [k for k in expected if not _same(actual[k], expected[k])]
            if step.trigger == "acquire" and verdict != step.verdict:
                mismatched.append("verdict")
            if mismatched:
                detail = f"step {step.number}: " + ", ".join(
                    f"{k}: trace {expected.get(k, step.verdict)!r} vs breaker {actual.get(k, verdict)!r}"
                    for k in mismatched
                )
                mismatch = (step.number - 1, detail)
    if mismatch is not None:
        return TraceReplay(False, mismatch[0], mismatch[1], violated, steps_run)
    return TraceReplay(True, len(trace.steps), "every step matches", violated, steps_run)


def _plain(snapshot: dict[str, Value]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, State) else v) for k, v in snapshot.items()}


#: Above every duration a replayed run reaches: stands for an uncapped backoff (see
#: ``Encoding.concrete_parameters``, which leaves an infinite cap symbolic).
_NO_CAP = 2**53


class _PropertyCheck:
    """The trace's property evaluated on concrete steps of a breaker, with z3 (every value
    fixed, so the check is an evaluation, not a search)."""

    def __init__(self, trace: Trace) -> None:
        self.enc = Encoding(TABLE)
        self.config = trace.config
        self.kind = trace.kind
        if trace.kind == "invariant":
            self.invariant = next(i for i in INVARIANTS if i.id == trace.property_id)
        else:
            self.step_property = next(p for p in STEP_PROPERTIES if p.id == trace.property_id)

    def violated(
        self,
        pre: dict[str, Any],
        post: dict[str, Any],
        step: TraceStep,
        verdict: str,
        clock: float,
        permit: Permit | None,
    ) -> bool:
        """Whether the breaker's step (``pre`` -> ``post`` at ``step.time``) violates the property."""
        values = [*pre.values(), *post.values(), step.time, clock]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            return False  # the relation has no infinite values: such a step is not one of its runs
        enc, solver = self.enc, z3.Solver()
        z3_step = enc.step("replay")
        solver.add(enc.concrete_parameters(self.config))
        if math.isinf(self.config.table_params()["backoff_cap"]):  # type: ignore[arg-type]
            solver.add(enc.params["backoff_cap"] > _NO_CAP)
        solver.add(*_pin(z3_step.pre, pre, clock), *_pin(z3_step.post, post, step.time))
        event = z3_step.event
        generation, state = (permit.generation, permit.state.value) if permit is not None else (pre["generation"], pre["state"])
        arguments: dict[str, Value] = {
            "now": float(step.time),
            "permit_generation": generation,
            "permit_state": state,
            "window_calls": 1,
            "window_failures": 1 if step.trigger == "record_failure" else 0,
            "window_slow": 0,
            "jitter": 0.0,
        }
        solver.add(event.trigger == TRIGGERS.index(step.trigger), event.verdict == VERDICTS.index(verdict))
        solver.add(*[event[name] == z3_value(arguments[name]) for name in event.args])
        if self.kind == "invariant":
            solver.add(z3.Not(self.invariant.holds(enc, z3_step.post)))
        else:
            solver.add(z3.Not(self.step_property.holds(enc, z3_step)))
        return bool(solver.check() == z3.sat)


def _pin(state: StateVars, values: dict[str, Any], clock: float) -> list[z3.BoolRef]:
    facts = [state.mode == code(values["state"]), state.clock == z3_value(float(clock))]
    for name in VARIABLES:
        value = values[name]
        facts.append(state[name] == z3_value(float(value) if VAR_SORTS[name] == "real" else int(value)))
    return facts


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)
    return bool(a == b)

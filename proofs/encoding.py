"""The transition table as a z3 transition relation, with every parameter symbolic.

``to_z3`` translates the table's expression language to z3 terms, so the relation is generated
from the same rows the breaker executes; nothing is retyped. A *state* is the breaker's mode,
its formal variables and a ghost ``clock`` (the time of the last event); an *event* is a
trigger, its arguments, and the row and verdict it produced.

Parameters are z3 constants shared by every step: proving a property with them symbolic proves
it for every configuration that ``BreakerConfig`` accepts (``parameter_assumptions`` translates
the constraints declared once in ``breakerlab.model.params``, and a test checks every valid
config satisfies them). Their sorts come from the same declaration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import z3

from breakerlab.model import BreakerConfig, State
from breakerlab.model.expr import Arg, Assign, BinOp, BoolOp, Cmp, Const, Expr, Ite, Not, Param, Var, evaluate
from breakerlab.model.params import PARAMETERS
from breakerlab.model.table import ARGS, TRIGGERS, VARIABLES, Table, Verdict

__all__ = [
    "Encoding",
    "Event",
    "Step",
    "StateVars",
    "code",
    "decode",
]

_ALL_STRINGS: list[str] = []
for _value in (*(state.value for state in State), *(value for spec in PARAMETERS for value in spec.values)):
    if _value not in _ALL_STRINGS:
        _ALL_STRINGS.append(_value)
_CODES: dict[str, int] = {value: i for i, value in enumerate(_ALL_STRINGS)}

VERDICTS: tuple[str, ...] = ("none", *(v.value for v in Verdict))

#: The window counts of the event arguments besides ``window_calls``: each counts some of the
#: window's calls (``window_failures``, ``window_slow``, any count a new trip rule adds).
WINDOW_SUBCOUNTS: tuple[str, ...] = tuple(n for n in ARGS if n.startswith("window_") and n != "window_calls")


def code(value: str) -> int:
    """The integer that stands for an enum value (or a state) in z3 and Promela."""
    return _CODES[str(value)]


def decode(number: int) -> str:
    """The enum value (or state) an integer code stands for."""
    return _ALL_STRINGS[number]


def _var_sorts() -> dict[str, str]:
    params = BreakerConfig().table_params()
    return {name: "int" if isinstance(evaluate(init, params), int) else "real" for name, init in VARIABLES.items()}


#: The z3 sort of every parameter, from its declaration (an enum is an integer code).
PARAM_SORTS: Mapping[str, str] = {spec.name: spec.sort.value for spec in PARAMETERS}
VAR_SORTS = _var_sorts()
ARG_SORTS = {name: {float: "real", int: "int", State: "enum"}[kind] for name, kind in ARGS.items()}


def _const(name: str, sort: str) -> z3.ExprRef:
    if sort == "bool":
        return z3.Bool(name)
    if sort == "real":
        return z3.Real(name)
    return z3.Int(name)


def z3_value(value: object) -> z3.ExprRef:
    """A Python constant of the expression language as a z3 value (floats exactly)."""
    if isinstance(value, bool):
        return z3.BoolVal(value)
    if isinstance(value, int):
        return z3.IntVal(value)
    if isinstance(value, float):
        fraction = Fraction(value)
        return z3.RealVal(f"{fraction.numerator}/{fraction.denominator}")
    if isinstance(value, str):
        return z3.IntVal(code(value))
    raise TypeError(f"no z3 value for {value!r}")


@dataclasses.dataclass(frozen=True)
class StateVars:
    """One state: the mode (a state code), every table variable, and the ghost clock."""

    mode: z3.ArithRef
    vars: Mapping[str, z3.ExprRef]
    clock: z3.ArithRef

    def __getitem__(self, name: str) -> z3.ExprRef:
        return self.vars[name]

    def all(self) -> list[z3.ExprRef]:
        """Every z3 constant of the state, in a fixed order."""
        return [self.mode, *self.vars.values(), self.clock]


@dataclasses.dataclass(frozen=True)
class Event:
    """One event: trigger code, arguments, and the row and verdict the relation chose."""

    trigger: z3.ArithRef
    args: Mapping[str, z3.ExprRef]
    row: z3.ArithRef
    verdict: z3.ArithRef

    def __getitem__(self, name: str) -> z3.ExprRef:
        return self.args[name]


@dataclasses.dataclass(frozen=True)
class Step:
    """A state, an event, and the next state."""

    pre: StateVars
    event: Event
    post: StateVars


def to_z3(
    expr: Expr,
    params: Mapping[str, z3.ExprRef],
    state: Mapping[str, z3.ExprRef],
    args: Mapping[str, z3.ExprRef],
) -> z3.ExprRef:
    """Translate an expression of the table to a z3 term."""
    if isinstance(expr, Const):
        return z3_value(expr.value)
    if isinstance(expr, Var):
        return state[expr.name]
    if isinstance(expr, Param):
        return params[expr.name]
    if isinstance(expr, Arg):
        return args[expr.name]
    if isinstance(expr, BinOp):
        left = to_z3(expr.left, params, state, args)
        right = to_z3(expr.right, params, state, args)
        if expr.op == "min":
            return z3.If(left <= right, left, right)
        return {"+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right}[expr.op]()
    if isinstance(expr, Cmp):
        left = to_z3(expr.left, params, state, args)
        right = to_z3(expr.right, params, state, args)
        ops = {
            "<": lambda: left < right,
            "<=": lambda: left <= right,
            ">": lambda: left > right,
            ">=": lambda: left >= right,
            "==": lambda: left == right,
            "!=": lambda: left != right,
        }
        return ops[expr.op]()
    if isinstance(expr, BoolOp):
        operands = [to_z3(o, params, state, args) for o in expr.operands]
        return z3.And(*operands) if expr.op == "and" else z3.Or(*operands)
    if isinstance(expr, Not):
        return z3.Not(to_z3(expr.operand, params, state, args))
    if isinstance(expr, Ite):
        return z3.If(
            to_z3(expr.cond, params, state, args),
            to_z3(expr.then, params, state, args),
            to_z3(expr.orelse, params, state, args),
        )
    raise TypeError(f"unknown expression node {expr!r}")


class Encoding:
    """z3 constants and formulas for one table: parameters, states, events, the relation."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.params: dict[str, z3.ExprRef] = {name: _const(f"p_{name}", sort) for name, sort in PARAM_SORTS.items()}

    # -- constants -----------------------------------------------------------------------------

    def state(self, tag: str) -> StateVars:
        """Fresh constants for a state named ``tag``."""
        return StateVars(
            mode=z3.Int(f"{tag}_mode"),
            vars={name: _const(f"{tag}_{name}", sort) for name, sort in VAR_SORTS.items()},
            clock=z3.Real(f"{tag}_clock"),
        )

    def event(self, tag: str) -> Event:
        """Fresh constants for an event named ``tag``."""
        return Event(
            trigger=z3.Int(f"{tag}_trigger"),
            args={name: _const(f"{tag}_{name}", sort) for name, sort in ARG_SORTS.items()},
            row=z3.Int(f"{tag}_row"),
            verdict=z3.Int(f"{tag}_verdict"),
        )

    def step(self, tag: str, pre: StateVars | None = None) -> Step:
        """A fresh step (pre-state, event, post-state) named ``tag``."""
        return Step(pre or self.state(f"{tag}_pre"), self.event(f"{tag}_ev"), self.state(f"{tag}_post"))

    def expr(self, expression: Expr, state: StateVars, event: Event | None = None) -> z3.ExprRef:
        """Translate a table expression over ``state`` (and ``event``'s arguments)."""
        return to_z3(expression, self.params, state.vars, event.args if event is not None else {})

    # -- assumptions ---------------------------------------------------------------------------

    def parameter_assumptions(self) -> z3.BoolRef:
        """What ``BreakerConfig`` validation guarantees about the table's parameters: every
        declared assumption of ``breakerlab.model.params.PARAMETERS``, as a z3 term."""
        return z3.And(*[to_z3(fact, self.params, {}, {}) for spec in PARAMETERS for fact in spec.assumptions])

    def concrete_parameters(self, config: BreakerConfig) -> z3.BoolRef:
        """Fix every parameter to ``config``'s value (an uncapped backoff is left symbolic:
        on any finite run it behaves as a cap above every duration reached)."""
        values = config.table_params()
        facts = []
        for name, value in values.items():
            if name == "backoff_cap" and value == float("inf"):
                continue
            facts.append(self.params[name] == z3_value(value))
        return z3.And(*facts)

    def initial(self, state: StateVars) -> z3.BoolRef:
        """The initial state: ``closed``, every variable at its declared initial value."""
        facts = [state.mode == code(self.table.initial.value), state.clock >= 0]
        for name, init in VARIABLES.items():
            facts.append(state[name] == to_z3(init, self.params, {}, {}))
        return z3.And(*facts)

    def environment(self, pre: StateVars, event: Event) -> z3.BoolRef:
        """What the world guarantees about an event.

        Time never runs back; jitter is not negative; window counts are consistent and count
        the outcome being recorded; a permit's generation is not in the future, and a permit of
        the current generation was admitted in the current state, which admits calls (and in
        half-open it is one of the probes in flight): this is the permit discipline the
        breaker enforces (each permit settled once, by the breaker that issued it).
        """
        a = event.args
        trigger = event.trigger
        is_outcome = z3.Or(*[trigger == TRIGGERS.index(t) for t in ("record_success", "record_failure", "release")])
        current = a["permit_generation"] == pre["generation"]
        admitting_states = (State.CLOSED, State.HALF_OPEN, State.DISABLED)
        admitting = z3.Or(*[a["permit_state"] == code(s.value) for s in admitting_states])
        return z3.And(
            trigger >= 0,
            trigger < len(TRIGGERS),
            a["now"] >= pre.clock,
            a["jitter"] >= 0,
            a["window_calls"] >= 1,
            *[z3.And(a[name] >= 0, a[name] <= a["window_calls"]) for name in WINDOW_SUBCOUNTS],
            z3.Implies(trigger == TRIGGERS.index("record_failure"), a["window_failures"] >= 1),
            z3.Implies(trigger == TRIGGERS.index("record_success"), a["window_failures"] <= a["window_calls"] - 1),
            z3.Implies(
                is_outcome,
                z3.And(
                    a["permit_generation"] >= 0,
                    a["permit_generation"] <= pre["generation"],
                    admitting,
                    z3.Implies(
                        current,
                        z3.And(
                            a["permit_state"] == pre.mode,
                            z3.Implies(pre.mode == code(State.HALF_OPEN), pre["probes_inflight"] >= 1),
                        ),
                    ),
                ),
            ),
        )

    # -- the relation --------------------------------------------------------------------------

    def transition(self, step: Step) -> z3.BoolRef:
        """The table's transition relation: the first row whose guard holds is taken."""
        pre, event, post = step.pre, step.event, step.post
        cases: list[z3.BoolRef] = []
        for trigger_code, trigger in enumerate(TRIGGERS):
            for source in State:
                rows = [(i, r) for i, r in enumerate(self.table.rows) if r.trigger == trigger and r.source is source]
                earlier: list[z3.BoolRef] = []
                for index, row in rows:
                    guard = self.expr(row.guard, pre, event)
                    assigned = {a.var: a.expr for a in row.actions if isinstance(a, Assign)}
                    updates = [
                        post[name] == (self.expr(assigned[name], pre, event) if name in assigned else pre[name])
                        for name in VARIABLES
                    ]
                    dest = row.dest if row.dest is not None else source
                    verdict = VERDICTS.index(row.verdict.value) if row.verdict is not None else 0
                    cases.append(
                        z3.And(
                            event.trigger == trigger_code,
                            pre.mode == code(source.value),
                            guard,
                            *[z3.Not(g) for g in earlier],
                            event.row == index,
                            event.verdict == verdict,
                            post.mode == code(dest.value),
                            *updates,
                        )
                    )
                    earlier.append(guard)
        return z3.And(post.clock == event.args["now"], z3.Or(*cases))

    # -- helpers for properties ----------------------------------------------------------------

    def is_trigger(self, event: Event, *names: str) -> z3.BoolRef:
        """The event's trigger is one of ``names``."""
        return z3.Or(*[event.trigger == TRIGGERS.index(n) for n in names])

    def is_mode(self, state: StateVars, *modes: State) -> z3.BoolRef:
        """The state's mode is one of ``modes``."""
        return z3.Or(*[state.mode == code(m.value) for m in modes])

    def is_param(self, name: str, value: str) -> z3.BoolRef:
        """Enum parameter ``name`` has ``value``."""
        return self.params[name] == code(value)

    def admits(self, event: Event) -> z3.BoolRef:
        """The event is an admission."""
        return z3.Or(
            event.verdict == VERDICTS.index(Verdict.ADMIT.value),
            event.verdict == VERDICTS.index(Verdict.ADMIT_PROBE.value),
        )


def unchanged(pre: StateVars, post: StateVars, names: Sequence[str] | None = None) -> z3.BoolRef:
    """The mode and the named variables (all when ``None``) are equal in both states."""
    chosen = list(VARIABLES) if names is None else list(names)
    return z3.And(post.mode == pre.mode, *[post[n] == pre[n] for n in chosen])


def model_value(model: z3.ModelRef, term: z3.ExprRef) -> Any:
    """A z3 model's value of ``term`` as a Python bool, int or Fraction."""
    value = model.eval(term, model_completion=True)
    if z3.is_true(value):
        return True
    if z3.is_false(value):
        return False
    if z3.is_int_value(value):
        return value.as_long()
    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    if z3.is_algebraic_value(value):
        return Fraction(value.approx(20).as_fraction())
    raise TypeError(f"unexpected z3 value {value}")

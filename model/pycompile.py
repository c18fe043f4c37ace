"""Compile the transition table, specialised to one configuration, into Python functions.

The table is folded with the breaker's parameters (options it does not use disappear), then
turned into Python source and compiled once per (table, configuration):

* one *dispatch* function per (state, trigger): it tries the rows in order and returns the
  index of the row taken. For an internal row (no state change) it also performs the row's
  actions, so admitting and recording a call without a state change costs a few attribute
  operations. For a state-changing row it performs nothing: the caller fires the
  ``transitions`` machine, which takes the same row;
* one *guard* and one *apply* function per row, which the ``transitions`` machine uses as the
  row's condition and its ``before`` callback.

Generated functions take ``v`` (the object holding the formal state variables as attributes),
``a`` (the event arguments) and ``fx`` (the auxiliary structures that ``Effect`` s act on).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from .errors import TableError
from .expr import (
    Arg,
    Assign,
    BinOp,
    BoolOp,
    Cmp,
    Const,
    Effect,
    Expr,
    Ite,
    Not,
    Param,
    Value,
    Var,
    fold,
    names,
)
from .states import State
from .table import Row, Table, Verdict

__all__ = ["CompiledTable", "compile_table", "first_match_lines", "python_source", "time_bounds"]

#: Event arguments computed on demand (a method call), because computing them has a cost or a
#: side effect (drawing a random number).
LAZY_ARGS = frozenset({"jitter"})

Dispatch = Callable[[Any, Any, Any], int]
Kernel = Callable[[Any, float, int, State], int]
Deadline = Callable[[Any], float | None]

#: Triggers on the per-call path that get a positional variant of their dispatch function.
KERNEL_TRIGGERS = frozenset({"record_success"})
#: The event arguments a kernel takes positionally, and the local names they have in it.
KERNEL_ARGS: Mapping[str, str] = {"now": "now", "permit_generation": "permit_generation", "permit_state": "permit_state"}
#: The trigger whose rows are the time-driven transitions (``next_deadline`` reads their guards).
TIME_TRIGGER = "poll"

Guard = Callable[[Any, Any], bool]
Apply = Callable[[Any, Any, Any], None]


def python_source(expr: Expr, args: Mapping[str, str] | None = None) -> str:
    """Python source for a folded expression (``Param`` s must already be substituted).

    ``args``: event arguments rendered as local names (``{"now": "now"}``) instead of
    attributes of ``a``; an event argument not in it raises ``KeyError`` when given.
    """
    if isinstance(expr, Const):
        value = expr.value
        if isinstance(value, float) and math.isinf(value):
            return "_inf" if value > 0 else "(-_inf)"
        return repr(value)
    if isinstance(expr, Var):
        return f"v.{expr.name}"
    if isinstance(expr, Arg):
        if args is not None:
            return args[expr.name]
        return f"a.{expr.name}()" if expr.name in LAZY_ARGS else f"a.{expr.name}"
    if isinstance(expr, Param):
        raise ValueError(f"parameter {expr.name!r} has no value: fold the expression with the config first")
    if isinstance(expr, BinOp):
        left, right = python_source(expr.left, args), python_source(expr.right, args)
        if expr.op == "min":
            return f"_min({left}, {right})"
        return f"({left} {expr.op} {right})"
    if isinstance(expr, Cmp):
        return f"({python_source(expr.left, args)} {expr.op} {python_source(expr.right, args)})"
    if isinstance(expr, BoolOp):
        return "(" + f" {expr.op} ".join(python_source(o, args) for o in expr.operands) + ")"
    if isinstance(expr, Not):
        return f"(not {python_source(expr.operand, args)})"
    if isinstance(expr, Ite):
        return f"({python_source(expr.then, args)} if {python_source(expr.cond, args)} else {python_source(expr.orelse, args)})"
    raise TypeError(f"unknown expression node {expr!r}")


def _action_lines(row: Row, params: Mapping[str, Value], indent: str, args: Mapping[str, str] | None = None) -> list[str]:
    """Python statements performing a row's actions as one simultaneous assignment."""
    folded = [
        (a.var, fold(a.expr, params)) for a in row.actions if isinstance(a, Assign)
    ]
    # An assignment of a variable to itself (a folded-away option) does nothing.
    folded = [(var, expr) for var, expr in folded if expr != Var(var)]
    assigned = {var for var, _ in folded}
    reads = {var: names(expr, Var) & assigned for var, expr in folded}
    lines: list[str] = []
    late: list[str] = []
    for n, (var, expr) in enumerate(folded):
        source = python_source(expr, args)
        read_by_others = any(var in r for other, r in reads.items() if other != var)
        if reads[var] <= {var} and not read_by_others:
            late.append(f"{indent}v.{var} = {source}")  # reads nothing another assignment changes
        else:
            lines.append(f"{indent}_t{n} = {source}")  # evaluated before any assignment
            late.append(f"{indent}v.{var} = _t{n}")
    lines.extend(late)
    for effect in (a for a in row.actions if isinstance(a, Effect)):
        when = fold(effect.when, params)
        if when == Const(False):
            continue
        if args is not None:
            raise KeyError(effect.name)  # a positional kernel has no auxiliary structures
        call = f"fx.{effect.name}(a)"
        lines.append(f"{indent}{call}" if when == Const(True) else f"{indent}if {python_source(when)}: {call}")
    return lines


Terminal = Callable[[int, Row], list[str]]


def _return_index(index: int, row: Row) -> list[str]:
    return [f"return {index}"]


def first_match_lines(
    table: Table,
    indices: list[int] | tuple[int, ...],
    params: Mapping[str, Value],
    args: Mapping[str, str] | None,
    terminal: Terminal = _return_index,
) -> tuple[list[str], list[int]]:
    """The body (indented for a function) of code trying ``indices`` in order: the first row
    whose guard holds ends it with ``terminal(index, row)``'s statements; an internal row (no
    state change) performs its actions first.

    ``args=None`` reads the event's arguments from ``a`` (a dispatch function); otherwise they
    are the named locals (a positional kernel, an inlined entry point), and ``KeyError`` says
    a row needs another one. ``terminal`` defaults to ``return <index>``. Returns the lines and
    the rows that can be taken under ``params``.
    """
    lines: list[str] = []
    taken: list[int] = []
    for index in indices:
        row = table.rows[index]
        guard = fold(row.guard, params)
        if guard == Const(False):
            continue
        taken.append(index)
        body = [] if row.changes_state else _action_lines(row, params, "        ", args)
        body.extend("        " + line for line in terminal(index, row))
        if guard == Const(True):
            lines.extend(line[4:] for line in body)
            break
        lines.append(f"    if {python_source(guard, args)}:")
        lines.extend(body)
    return lines, taken


def time_bounds(guard: Expr) -> tuple[list[tuple[Expr, bool]], list[Expr]] | None:
    """A folded time-driven guard as lower bounds on ``now`` and conditions free of ``now``.

    Returns ``(bounds, conditions)``: the guard holds exactly when every condition holds and
    ``now`` has reached every bound (``(bound, inclusive)``: ``now >= bound`` or
    ``now > bound``); ``None`` if the guard has another shape (a disjunction over ``now``, an
    upper bound), for which no deadline can be computed.
    """
    conjuncts = guard.operands if isinstance(guard, BoolOp) and guard.op == "and" else (guard,)
    bounds: list[tuple[Expr, bool]] = []
    conditions: list[Expr] = []
    for conjunct in conjuncts:
        if "now" not in names(conjunct, Arg):
            conditions.append(conjunct)
            continue
        if not isinstance(conjunct, Cmp):
            return None
        left, op, right = conjunct.left, conjunct.op, conjunct.right
        if right == Arg("now") and op in ("<=", "<"):  # bound <= now  ->  now >= bound
            left, right, op = right, left, {"<=": ">=", "<": ">"}[op]
        if left != Arg("now") or op not in (">=", ">") or names(right, Arg):
            return None
        bounds.append((right, op == ">="))
    return bounds, conditions


def _deadline_lines(name: str, table: Table, indices: tuple[int, ...], params: Mapping[str, Value]) -> list[str]:
    """A function ``(v) -> float | None``: the first instant at which one of the state-changing
    time-driven rows ``indices`` can be taken (the latest of its bounds; just after an
    exclusive one), or ``None`` if none can."""
    lines = [f"def {name}(v):", "    due = None"]
    for index in indices:
        row = table.rows[index]
        if not row.changes_state:
            continue
        shape = time_bounds(fold(row.guard, params))
        if shape is None or not shape[0]:
            raise TableError(
                f"{row}: a time-driven row's guard must be a conjunction of lower bounds on 'now' "
                "(now >= E, now > E) and conditions free of 'now', so its deadline can be computed"
            )
        bounds, conditions = shape
        parts = [python_source(b) if inclusive else f"_after({python_source(b)})" for b, inclusive in bounds]
        at = parts[0] if len(parts) == 1 else f"max({', '.join(parts)})"
        indent = "    "
        if conditions:
            lines.append(f"    if {' and '.join(python_source(c) for c in conditions)}:")
            indent = "        "
        lines.append(f"{indent}t = {at}")
        lines.append(f"{indent}if due is None or t < due: due = t")
    lines.extend(["    return due", ""])
    return lines


@dataclasses.dataclass(frozen=True)
class CompiledTable:
    """A table specialised to one configuration and compiled to Python.

    Attributes:
        table: The source table.
        params: The parameter values it was folded with.
        dispatch: ``dispatch[state][trigger](v, a, fx)`` -> index of the row taken.
        kernels: Per state, for ``record_success`` when its live rows read no event argument
            but ``now``, ``permit_generation`` and ``permit_state`` (and touch no auxiliary
            structure), the same dispatch taking those three positionally:
            ``kernel(v, now, permit_generation, permit_state)``; ``None`` otherwise.
        deadlines: Per state, ``deadline(v) -> float | None``: when the next time-driven
            (``poll``) transition can be taken, from the rows' guards.
        live_rows: Per (state, trigger), the indices of the rows that can be taken under
            ``params`` (the others were folded away), in order.
        guards: Per row index, the guard as a function ``(v, a) -> bool``.
        apply: Per row index, the actions as a function ``(v, a, fx) -> None``.
        changes: Per row index, whether the row changes state.
        opens: Per row index, whether the row's destination is ``open``.
        verdicts: Per row index, the row's admission verdict (``None`` but for ``acquire``).
        trivial_admission: ``closed`` if its only live ``acquire`` row admits with no action
            and no state change (nothing to dispatch), else ``None``.
        source: The generated Python source, for reading and debugging.
    """

    table: Table
    params: Mapping[str, Value]
    dispatch: Mapping[State, Mapping[str, Dispatch]]
    kernels: Mapping[State, Kernel | None]
    deadlines: Mapping[State, Deadline]
    live_rows: Mapping[tuple[State, str], tuple[int, ...]]
    guards: Mapping[int, Guard]
    apply: Mapping[int, Apply]
    changes: tuple[bool, ...]
    opens: tuple[bool, ...]
    verdicts: tuple[Verdict | None, ...]
    trivial_admission: State | None
    source: str


def _trivial_admission(table: Table, live: Mapping[tuple[State, str], tuple[int, ...]]) -> State | None:
    rows = live[(State.CLOSED, "acquire")]
    if len(rows) != 1:
        return None
    row = table.rows[rows[0]]
    if row.dest is None and not row.actions and row.verdict is Verdict.ADMIT:
        return State.CLOSED
    return None


def _compile(table: Table, params: Mapping[str, Value]) -> CompiledTable:
    lines: list[str] = []
    live: dict[tuple[State, str], tuple[int, ...]] = {}
    by_pair: dict[tuple[State, str], list[int]] = {}
    for index, row in enumerate(table.rows):
        by_pair.setdefault((row.source, row.trigger), []).append(index)

    guard_names: dict[int, str] = {}
    apply_names: dict[int, str] = {}
    dispatch_names: dict[tuple[State, str], str] = {}
    kernel_names: dict[State, str] = {}
    deadline_names: dict[State, str] = {}
    for (state, trigger), indices in by_pair.items():
        name = f"dispatch__{state.value}__{trigger}"
        dispatch_names[(state, trigger)] = name
        body, taken = first_match_lines(table, indices, params, None)
        lines.extend([f"def {name}(v, a, fx):", *body, ""])
        if trigger in KERNEL_TRIGGERS:
            try:
                kernel_body, _ = first_match_lines(table, indices, params, KERNEL_ARGS)
            except KeyError:
                pass  # a row needs more of the event: no positional variant
            else:
                kernel = f"kernel__{state.value}__{trigger}"
                kernel_names[state] = kernel
                lines.extend([f"def {kernel}(v, {', '.join(KERNEL_ARGS.values())}):", *kernel_body, ""])
        live[(state, trigger)] = tuple(taken)
        if trigger == TIME_TRIGGER:
            deadline_names[state] = f"deadline__{state.value}"
            lines.extend(_deadline_lines(deadline_names[state], table, tuple(taken), params))
        for index in taken:
            row = table.rows[index]
            guard_names[index] = f"guard__{index}"
            lines.append(f"def guard__{index}(v, a):")
            lines.append(f"    return bool({python_source(fold(row.guard, params))})")
            apply_names[index] = f"apply__{index}"
            lines.append(f"def apply__{index}(v, a, fx):")
            lines.extend(_action_lines(row, params, "    ") or ["    pass"])
            lines.append("")

    source = "\n".join(lines)
    namespace: dict[str, Any] = {"_inf": math.inf, "_min": min, "_after": _after}
    exec(compile(source, f"<breakerlab table {table.digest()[:12]}>", "exec"), namespace)  # noqa: S102
    dispatch: dict[State, dict[str, Dispatch]] = {}
    for (state, trigger), name in dispatch_names.items():
        dispatch.setdefault(state, {})[trigger] = namespace[name]
    rows = table.rows
    return CompiledTable(
        table=table,
        params=dict(params),
        dispatch=dispatch,
        kernels={state: namespace[kernel_names[state]] if state in kernel_names else None for state in State},
        deadlines={state: namespace[deadline_names[state]] if state in deadline_names else _never for state in State},
        live_rows=live,
        guards={i: namespace[n] for i, n in guard_names.items()},
        apply={i: namespace[n] for i, n in apply_names.items()},
        changes=tuple(row.dest is not None for row in rows),
        opens=tuple(row.dest is State.OPEN for row in rows),
        verdicts=tuple(row.verdict for row in rows),
        trivial_admission=_trivial_admission(table, live),
        source=source,
    )


def _after(t: float) -> float:
    """The first float after ``t``: when an exclusive bound ``now > t`` first holds."""
    return math.nextafter(t, math.inf)


def _never(v: Any) -> None:
    return None


_CACHE: dict[tuple[int, tuple[tuple[str, Value], ...]], CompiledTable] = {}
_CACHE_LIMIT = 512


def compile_table(table: Table, params: Mapping[str, Value]) -> CompiledTable:
    """Compile ``table`` specialised to ``params``, reusing an earlier compilation if any."""
    key = (id(table), tuple(sorted(params.items())))
    cached = _CACHE.get(key)
    if cached is not None and cached.table is table:
        return cached
    compiled = _compile(table, params)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = compiled
    return compiled

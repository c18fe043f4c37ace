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
import re
from collections.abc import Callable, Mapping
from typing import Any

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
from .table import Row, Table

__all__ = ["CompiledTable", "compile_table", "python_source"]

#: Event arguments computed on demand (a method call), because computing them has a cost or a
#: side effect (drawing a random number).
LAZY_ARGS = frozenset({"jitter"})

Dispatch = Callable[[Any, Any, Any], int]
Kernel = Callable[[Any, float, int, State], int]

#: Triggers on the per-call path that get a positional variant of their dispatch function.
KERNEL_TRIGGERS = frozenset({"record_success"})
_KERNEL_ARGS = ("now", "permit_generation", "permit_state")


def _kernel(dispatch_lines: list[str], name: str) -> tuple[str, list[str]] | None:
    """The positional variant of a generated dispatch function, or None if its rows need more
    of the event than ``now``, ``permit_generation`` and ``permit_state``."""
    body = "\n".join(dispatch_lines[1:])
    for arg in _KERNEL_ARGS:
        body = re.sub(rf"\ba\.{arg}\b", arg, body)
    if re.search(r"\ba\b|\bfx\b", body):
        return None
    kernel = name.replace("dispatch__", "kernel__", 1)
    return kernel, [f"def {kernel}(v, {', '.join(_KERNEL_ARGS)}):", *body.split("\n"), ""]
Guard = Callable[[Any, Any], bool]
Apply = Callable[[Any, Any, Any], None]


def python_source(expr: Expr) -> str:
    """Python source for a folded expression (``Param`` s must already be substituted)."""
    if isinstance(expr, Const):
        value = expr.value
        if isinstance(value, float) and math.isinf(value):
            return "_inf" if value > 0 else "(-_inf)"
        return repr(value)
    if isinstance(expr, Var):
        return f"v.{expr.name}"
    if isinstance(expr, Arg):
        return f"a.{expr.name}()" if expr.name in LAZY_ARGS else f"a.{expr.name}"
    if isinstance(expr, Param):
        raise ValueError(f"parameter {expr.name!r} has no value: fold the expression with the config first")
    if isinstance(expr, BinOp):
        left, right = python_source(expr.left), python_source(expr.right)
        if expr.op == "min":
            return f"_min({left}, {right})"
        return f"({left} {expr.op} {right})"
    if isinstance(expr, Cmp):
        return f"({python_source(expr.left)} {expr.op} {python_source(expr.right)})"
    if isinstance(expr, BoolOp):
        return "(" + f" {expr.op} ".join(python_source(o) for o in expr.operands) + ")"
    if isinstance(expr, Not):
        return f"(not {python_source(expr.operand)})"
    if isinstance(expr, Ite):
        return f"({python_source(expr.then)} if {python_source(expr.cond)} else {python_source(expr.orelse)})"
    raise TypeError(f"unknown expression node {expr!r}")


def _action_lines(row: Row, params: Mapping[str, Value], indent: str) -> list[str]:
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
        source = python_source(expr)
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
        call = f"fx.{effect.name}(a)"
        lines.append(f"{indent}{call}" if when == Const(True) else f"{indent}if {python_source(when)}: {call}")
    return lines


@dataclasses.dataclass(frozen=True)
class CompiledTable:
    """A table specialised to one configuration and compiled to Python.

    Attributes:
        table: The source table.
        params: The parameter values it was folded with.
        dispatch: ``dispatch[state][trigger](v, a, fx)`` -> index of the row taken.
        kernels: For (state, trigger) pairs in ``KERNEL_TRIGGERS`` whose live rows read no event
            argument but ``now``, ``permit_generation`` and ``permit_state`` (and touch no
            auxiliary structure), the same dispatch taking those three positionally:
            ``kernel(v, now, permit_generation, permit_state)``; the per-call path uses it.
        live_rows: Per (state, trigger), the indices of the rows that can be taken under
            ``params`` (the others were folded away), in order.
        guards: Per row index, the guard as a function ``(v, a) -> bool``.
        apply: Per row index, the actions as a function ``(v, a, fx) -> None``.
        source: The generated Python source, for reading and debugging.
    """

    table: Table
    params: Mapping[str, Value]
    dispatch: Mapping[State, Mapping[str, Dispatch]]
    kernels: Mapping[tuple[State, str], Kernel]
    live_rows: Mapping[tuple[State, str], tuple[int, ...]]
    guards: Mapping[int, Guard]
    apply: Mapping[int, Apply]
    source: str


def _compile(table: Table, params: Mapping[str, Value]) -> CompiledTable:
    lines: list[str] = []
    live: dict[tuple[State, str], tuple[int, ...]] = {}
    by_pair: dict[tuple[State, str], list[int]] = {}
    for index, row in enumerate(table.rows):
        by_pair.setdefault((row.source, row.trigger), []).append(index)

    guard_names: dict[int, str] = {}
    apply_names: dict[int, str] = {}
    dispatch_names: dict[tuple[State, str], str] = {}
    kernel_names: dict[tuple[State, str], str] = {}
    for (state, trigger), indices in by_pair.items():
        taken: list[int] = []
        name = f"dispatch__{state.value}__{trigger}"
        dispatch_names[(state, trigger)] = name
        first_line = len(lines)
        lines.append(f"def {name}(v, a, fx):")
        for index in indices:
            row = table.rows[index]
            guard = fold(row.guard, params)
            if guard == Const(False):
                continue
            taken.append(index)
            body = [] if row.changes_state else _action_lines(row, params, "        ")
            body.append(f"        return {index}")
            if guard == Const(True):
                lines.extend(line[4:] for line in body)
                break
            lines.append(f"    if {python_source(guard)}:")
            lines.extend(body)
        lines.append("")
        if trigger in KERNEL_TRIGGERS:
            kernel = _kernel(lines[first_line:], name)
            if kernel is not None:
                kernel_names[(state, trigger)] = kernel[0]
                lines.extend(kernel[1])
        live[(state, trigger)] = tuple(taken)
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
    namespace: dict[str, Any] = {"_inf": math.inf, "_min": min}
    exec(compile(source, f"<breakerlab table {table.digest()[:12]}>", "exec"), namespace)  # noqa: S102
    dispatch: dict[State, dict[str, Dispatch]] = {}
    for (state, trigger), name in dispatch_names.items():
        dispatch.setdefault(state, {})[trigger] = namespace[name]
    return CompiledTable(
        table=table,
        params=dict(params),
        dispatch=dispatch,
        kernels={pair: namespace[n] for pair, n in kernel_names.items()},
        live_rows=live,
        guards={i: namespace[n] for i, n in guard_names.items()},
        apply={i: namespace[n] for i, n in apply_names.items()},
        source=source,
    )


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

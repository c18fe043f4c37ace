"""A tiny expression language for the transition table's guards and actions.

Guards and actions are data, not Python functions, so that one declaration can be evaluated
concretely (compiled to Python by ``pycompile``), printed (diagrams, docs), and translated to
z3 terms or Promela by the proofs. The language has four kinds of names:

* ``Var``: a variable of the breaker's formal state (``consecutive_failures``, ``open_until``);
* ``Param``: a configuration parameter, constant for one breaker (``fail_max``);
* ``Arg``: a value carried by the event (``now``, ``permit_generation``, window counts);
* ``Const``: a literal (number, bool, or an enum value given as a string).

Operators build trees: ``+ - *`` (numbers), ``< <= > >=`` (comparisons), ``.eq()``/``.ne()``
(equality; ``==`` is left as structural equality so expressions can be compared and hashed),
``& | ~`` (logic), ``ite(c, a, b)``, ``minimum(a, b)``. Actions are simultaneous assignments
(every right-hand side reads the state *before* the step) plus named ``Effect`` s on auxiliary
structures (the trip rule's window), each with a condition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Union

__all__ = [
    "Action",
    "Arg",
    "Assign",
    "BinOp",
    "BoolOp",
    "Cmp",
    "Const",
    "Effect",
    "Expr",
    "Ite",
    "Not",
    "Param",
    "Value",
    "Var",
    "all_of",
    "any_of",
    "fold",
    "ite",
    "minimum",
    "names",
    "replace",
    "evaluate",
    "walk",
    "children",
    "TRUE",
    "FALSE",
]

Value = int | float | bool | str
Operand = Union["Expr", int, float, bool, str]  # noqa: UP007 (a forward reference)


def _lift(value: Operand) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool | int | float | str):
        return Const(value)
    raise TypeError(f"cannot use {value!r} of type {type(value).__name__} in an expression")


class Expr:
    """Base of all expression nodes. Nodes are frozen dataclasses: comparable and hashable."""

    __slots__ = ()

    def __add__(self, other: Operand) -> Expr:
        return BinOp("+", self, _lift(other))

    def __radd__(self, other: Operand) -> Expr:
        return BinOp("+", _lift(other), self)

    def __sub__(self, other: Operand) -> Expr:
        return BinOp("-", self, _lift(other))

    def __rsub__(self, other: Operand) -> Expr:
        return BinOp("-", _lift(other), self)

    def __mul__(self, other: Operand) -> Expr:
        return BinOp("*", self, _lift(other))

    def __rmul__(self, other: Operand) -> Expr:
        return BinOp("*", _lift(other), self)

    def __lt__(self, other: Operand) -> Expr:
        return Cmp("<", self, _lift(other))

    def __le__(self, other: Operand) -> Expr:
        return Cmp("<=", self, _lift(other))

    def __gt__(self, other: Operand) -> Expr:
        return Cmp(">", self, _lift(other))

    def __ge__(self, other: Operand) -> Expr:
        return Cmp(">=", self, _lift(other))

    def eq(self, other: Operand) -> Expr:
        """Equality as an expression (``==`` stays structural equality of trees)."""
        return Cmp("==", self, _lift(other))

    def ne(self, other: Operand) -> Expr:
        """Inequality as an expression."""
        return Cmp("!=", self, _lift(other))

    def __and__(self, other: Operand) -> Expr:
        return BoolOp("and", (self, _lift(other)))

    def __or__(self, other: Operand) -> Expr:
        return BoolOp("or", (self, _lift(other)))

    def __invert__(self) -> Expr:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            "an expression has no truth value; use & | ~ instead of and/or/not, "
            "and .eq() instead of == inside guards"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Const(Expr):
    """A literal value."""

    value: Value

    def __str__(self) -> str:
        return repr(self.value) if isinstance(self.value, str) else str(self.value)


@dataclasses.dataclass(frozen=True, slots=True)
class Var(Expr):
    """A variable of the breaker's formal state."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclasses.dataclass(frozen=True, slots=True)
class Param(Expr):
    """A configuration parameter (constant for one breaker, symbolic in proofs)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclasses.dataclass(frozen=True, slots=True)
class Arg(Expr):
    """A value carried by the event being processed (``now``, the permit's generation, ...)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclasses.dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """Arithmetic: ``+``, ``-``, ``*``, or ``min``."""

    op: str
    left: Expr
    right: Expr

    def __str__(self) -> str:
        if self.op == "min":
            return f"min({self.left}, {self.right})"
        return f"({self.left} {self.op} {self.right})"


@dataclasses.dataclass(frozen=True, slots=True)
class Cmp(Expr):
    """A comparison: ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``."""

    op: str
    left: Expr
    right: Expr

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclasses.dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    """Conjunction (``and``) or disjunction (``or``) of two or more operands."""

    op: str
    operands: tuple[Expr, ...]

    def __str__(self) -> str:
        return "(" + f" {self.op} ".join(str(o) for o in self.operands) + ")"


@dataclasses.dataclass(frozen=True, slots=True)
class Not(Expr):
    """Negation."""

    operand: Expr

    def __str__(self) -> str:
        return f"not {self.operand}"


@dataclasses.dataclass(frozen=True, slots=True)
class Ite(Expr):
    """``then`` if ``cond`` else ``orelse``."""

    cond: Expr
    then: Expr
    orelse: Expr

    def __str__(self) -> str:
        return f"({self.then} if {self.cond} else {self.orelse})"


TRUE: Expr = Const(True)
FALSE: Expr = Const(False)


def ite(cond: Operand, then: Operand, orelse: Operand) -> Expr:
    """``then`` if ``cond`` else ``orelse``, as an expression."""
    return Ite(_lift(cond), _lift(then), _lift(orelse))


def minimum(left: Operand, right: Operand) -> Expr:
    """The smaller of two numbers, as an expression."""
    return BinOp("min", _lift(left), _lift(right))


def all_of(*operands: Operand) -> Expr:
    """Conjunction of any number of operands (``TRUE`` when empty)."""
    return BoolOp("and", tuple(_lift(o) for o in operands)) if operands else TRUE


def any_of(*operands: Operand) -> Expr:
    """Disjunction of any number of operands (``FALSE`` when empty)."""
    return BoolOp("or", tuple(_lift(o) for o in operands)) if operands else FALSE


@dataclasses.dataclass(frozen=True, slots=True)
class Assign:
    """``var := expr``; all assignments of one row read the state before the step."""

    var: str
    expr: Expr

    def __str__(self) -> str:
        return f"{self.var} := {self.expr}"


@dataclasses.dataclass(frozen=True, slots=True)
class Effect:
    """A named side effect on an auxiliary structure, performed only when ``when`` holds.

    The formal state does not contain the structure; its observable values reach guards as
    event arguments (for example ``window_failures``, the failures in the trip window counting
    the outcome being recorded).
    """

    name: str
    when: Expr = TRUE

    def __str__(self) -> str:
        return self.name if self.when == TRUE else f"{self.name} if {self.when}"


Action = Assign | Effect


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``expr``."""
    if isinstance(expr, BinOp | Cmp):
        return (expr.left, expr.right)
    if isinstance(expr, BoolOp):
        return expr.operands
    if isinstance(expr, Not):
        return (expr.operand,)
    if isinstance(expr, Ite):
        return (expr.cond, expr.then, expr.orelse)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, parents before children."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def names(expr: Expr, kind: type[Var] | type[Param] | type[Arg]) -> frozenset[str]:
    """The names of one kind (``Var``, ``Param`` or ``Arg``) that ``expr`` mentions."""
    return frozenset(n.name for n in walk(expr) if isinstance(n, kind))


_ARITH: Mapping[str, Callable[[Value, Value], Value]] = {
    "+": lambda a, b: a + b,  # type: ignore[operator]
    "-": lambda a, b: a - b,  # type: ignore[operator]
    "*": lambda a, b: a * b,  # type: ignore[operator]
    "min": lambda a, b: min(a, b),
}
_CMP: Mapping[str, Callable[[Value, Value], bool]] = {
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def fold(expr: Expr, params: Mapping[str, Value]) -> Expr:
    """Substitute ``params`` and simplify what became constant.

    Used to specialise the table to one configuration before compiling it, so that options a
    breaker does not use cost nothing on its per-call path.
    """
    if isinstance(expr, Param):
        if expr.name in params:
            return Const(params[expr.name])
        return expr
    if isinstance(expr, Const | Var | Arg):
        return expr
    if isinstance(expr, BinOp):
        left, right = fold(expr.left, params), fold(expr.right, params)
        if isinstance(left, Const) and isinstance(right, Const):
            return Const(_ARITH[expr.op](left.value, right.value))
        return BinOp(expr.op, left, right)
    if isinstance(expr, Cmp):
        left, right = fold(expr.left, params), fold(expr.right, params)
        if isinstance(left, Const) and isinstance(right, Const):
            return Const(_CMP[expr.op](left.value, right.value))
        return Cmp(expr.op, left, right)
    if isinstance(expr, Not):
        operand = fold(expr.operand, params)
        if isinstance(operand, Const):
            return Const(not operand.value)
        return Not(operand)
    if isinstance(expr, BoolOp):
        absorbing, neutral = (False, True) if expr.op == "and" else (True, False)
        kept: list[Expr] = []
        for operand in (fold(o, params) for o in expr.operands):
            if isinstance(operand, Const):
                if bool(operand.value) is absorbing:
                    return Const(absorbing)
                continue  # the neutral element
            kept.append(operand)
        if not kept:
            return Const(neutral)
        return kept[0] if len(kept) == 1 else BoolOp(expr.op, tuple(kept))
    if isinstance(expr, Ite):
        cond = fold(expr.cond, params)
        if isinstance(cond, Const):
            return fold(expr.then if cond.value else expr.orelse, params)
        return Ite(cond, fold(expr.then, params), fold(expr.orelse, params))
    raise TypeError(f"unknown expression node {expr!r}")


def evaluate(expr: Expr, env: Mapping[str, Value]) -> Value:
    """Evaluate ``expr`` with every ``Var``, ``Param`` and ``Arg`` looked up in ``env`` by name.

    A slow, direct interpreter: ``pycompile`` is the fast path, and tests check one against the
    other.
    """
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Var | Param | Arg):
        try:
            return env[expr.name]
        except KeyError:
            raise KeyError(f"{type(expr).__name__} {expr.name!r} is missing from the environment") from None
    if isinstance(expr, BinOp):
        return _ARITH[expr.op](evaluate(expr.left, env), evaluate(expr.right, env))
    if isinstance(expr, Cmp):
        return _CMP[expr.op](evaluate(expr.left, env), evaluate(expr.right, env))
    if isinstance(expr, Not):
        return not evaluate(expr.operand, env)
    if isinstance(expr, BoolOp):
        if expr.op == "and":
            return all(evaluate(o, env) for o in expr.operands)
        return any(evaluate(o, env) for o in expr.operands)
    if isinstance(expr, Ite):
        return evaluate(expr.then if evaluate(expr.cond, env) else expr.orelse, env)
    raise TypeError(f"unknown expression node {expr!r}")


def replace(expr: Expr, old: Expr, new: Expr) -> Expr:
    """``expr`` with every sub-tree structurally equal to ``old`` replaced by ``new``."""
    if expr == old:
        return new
    if isinstance(expr, BinOp):
        return BinOp(expr.op, replace(expr.left, old, new), replace(expr.right, old, new))
    if isinstance(expr, Cmp):
        return Cmp(expr.op, replace(expr.left, old, new), replace(expr.right, old, new))
    if isinstance(expr, BoolOp):
        return BoolOp(expr.op, tuple(replace(o, old, new) for o in expr.operands))
    if isinstance(expr, Not):
        return Not(replace(expr.operand, old, new))
    if isinstance(expr, Ite):
        return Ite(replace(expr.cond, old, new), replace(expr.then, old, new), replace(expr.orelse, old, new))
    return expr

"""Relative time: the abstraction that makes the breaker's clock finite for SPIN and the refinement check.

Both finite-state checks store every time-valued variable ``v`` as ``v - now`` and clamp it at
``floor = -(bound + 1)``, where ``bound`` is the largest constant a time is compared with. This
is exact when every guard and action is invariant under translation of time (only differences
of times appear, and a time is only ever set to ``now`` plus a duration) and every comparison
involving a time is one stored time minus ``now`` against a constant: then all values below
``-bound`` compare alike, and the clamp changes no guard.

``TimeAbstraction.of`` derives the abstraction from the table folded with a configuration
(``breakerlab.proofs.folded``): the time variables are those assigned, transitively, from
``now``; the bound is read off the live guards. A table that leaves the abstraction raises
``ValueError`` naming the row, so neither check silently abstracts a table it cannot.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from breakerlab.model import BreakerConfig
from breakerlab.model.expr import Arg, Assign, BinOp, BoolOp, Cmp, Const, Expr, Ite, Not, Var, names, walk
from breakerlab.model.table import VARIABLES, Row, Table

from .folded import FoldedRow, FoldedTable, fold_table

__all__ = ["RELATIVE_SUFFIX", "TimeAbstraction"]

#: The suffix of a time variable stored relative to ``now`` (``open_until_rel``).
RELATIVE_SUFFIX = "_rel"

_NOW = Arg("now")
#: The sorts ("kinds") of the event arguments that are not numbers.
_ARG_KINDS = {"now": "time", "permit_state": "state"}


@dataclasses.dataclass(frozen=True)
class TimeAbstraction:
    """Which variables hold points in time, and where their relative values are clamped.

    Attributes:
        time_vars: The variables assigned (transitively) from ``now``, in ``VARIABLES`` order.
        bound: The largest magnitude of a constant that a stored time minus ``now`` is compared
            with (0 when only ``now`` itself is), in seconds (ticks for SPIN).

    Invariant: ``floor == -(bound + 1)``; every relative time below ``-bound`` satisfies the
    same guards, so clamping at ``floor`` changes no step.
    """

    time_vars: tuple[str, ...]
    bound: int | float

    @classmethod
    def of(cls, config: BreakerConfig, *tables: Table) -> TimeAbstraction:
        """The abstraction covering every one of ``tables`` folded with ``config``.

        Raises:
            ValueError: a live row that is not invariant under translation of time, that sets
                a time from another stored time, or that compares times other than as one
                stored time minus ``now`` against a constant.
        """
        return cls.of_folded(*(fold_table(table, config) for table in tables))

    @classmethod
    def of_folded(cls, *folded: FoldedTable) -> TimeAbstraction:
        """The abstraction covering every one of the ``folded`` tables (see ``of``)."""
        rows = [row for table in folded for row in table]
        time_vars = _time_vars(a for row in rows for a in row.assigns)
        bound: int | float = 0
        for row in rows:
            bound = max(bound, _row_bound(row, time_vars))
        return cls(tuple(v for v in VARIABLES if v in time_vars), bound)

    @property
    def floor(self) -> int | float:
        """The clamp ``-(bound + 1)`` of relative times."""
        return -(self.bound + 1)

    def is_time(self, var: str) -> bool:
        """Whether ``var`` holds a point in time."""
        return var in self.time_vars

    def stored_name(self, var: str) -> str:
        """The name under which ``var`` is stored: ``<var>_rel`` for a time, else ``var``."""
        return var + RELATIVE_SUFFIX if var in self.time_vars else var

    def relative(self, value: float, now: float) -> float:
        """A time ``value`` stored relative to ``now``, clamped at ``floor``."""
        return max(value - now, self.floor)


def _time_vars(assigns: Iterable[Assign]) -> frozenset[str]:
    """Variables assigned (transitively) from ``now``: the time-valued ones."""
    assigns = list(assigns)
    found: set[str] = set()
    while True:
        more = {a.var for a in assigns if "now" in names(a.expr, Arg) or names(a.expr, Var) & found} - found
        if not more:
            return frozenset(found)
        found |= more


def _row_bound(folded: FoldedRow, time_vars: frozenset[str]) -> int | float:
    """Check ``folded`` against the abstraction; return the largest constant its guard compares a time with."""
    row = folded.row
    _kind(folded.guard, row, time_vars)
    for a in folded.assigns:
        kind = _kind(a.expr, row, time_vars)
        if kind != ("time" if a.var in time_vars else "num"):
            raise ValueError(f"{row}: {a} assigns a {kind} value to {a.var}, breaking time-translation invariance")
        if a.var in time_vars and _base(a.expr, time_vars) not in (None, "now"):
            raise ValueError(f"{row}: {a} sets a time from another stored time; only now + duration is modelled")
    bound: int | float = 0
    for node in walk(folded.guard):
        if isinstance(node, Cmp) and (names(node, Var) & time_vars or "now" in names(node, Arg)):
            bound = max(bound, _clamp_offset(node, row))
    return bound


def _kind(expr: Expr, row: Row, time_vars: frozenset[str]) -> str:
    """``time`` (a point in time), ``num``, ``bool`` or ``state``; raises unless every time
    appears in a translation-invariant way (differences of times, time plus duration)."""
    if isinstance(expr, Const):
        return "state" if isinstance(expr.value, str) else "bool" if isinstance(expr.value, bool) else "num"
    if isinstance(expr, Var):
        return "time" if expr.name in time_vars else "num"
    if isinstance(expr, Arg):
        return _ARG_KINDS.get(expr.name, "num")
    if isinstance(expr, BinOp):
        left, right = _kind(expr.left, row, time_vars), _kind(expr.right, row, time_vars)
        table = {("+", "time", "num"): "time", ("+", "num", "time"): "time", ("-", "time", "time"): "num",
                 ("-", "time", "num"): "time", ("min", "time", "time"): "time"}
        kind = "num" if (left, right) == ("num", "num") else table.get((expr.op, left, right))
        if kind is None:
            raise ValueError(f"{row}: '{expr}' ({left} {expr.op} {right}) is not invariant under time translation")
        return kind
    if isinstance(expr, Cmp):
        left, right = _kind(expr.left, row, time_vars), _kind(expr.right, row, time_vars)
        if left != right:
            raise ValueError(f"{row}: '{expr}' compares a {left} with a {right}")
        return "bool"
    if isinstance(expr, BoolOp | Not):
        for operand in expr.operands if isinstance(expr, BoolOp) else (expr.operand,):
            _kind(operand, row, time_vars)
        return "bool"
    if isinstance(expr, Ite):
        _kind(expr.cond, row, time_vars)
        then, orelse = _kind(expr.then, row, time_vars), _kind(expr.orelse, row, time_vars)
        if then != orelse:
            raise ValueError(f"{row}: '{expr}' has branches of kinds {then} and {orelse}")
        return then
    raise TypeError(f"unknown expression node {expr!r}")


def _base(expr: Expr, time_vars: frozenset[str]) -> str | None:
    """The time a point expression is based on (``now`` or a variable), or None."""
    for node in walk(expr):
        if node == _NOW:
            return "now"
        if isinstance(node, Var) and node.name in time_vars:
            return node.name
    return None


def _clamp_offset(cmp: Cmp, row: Row) -> int | float:
    """|c| for a comparison ``v - now`` against ``c``; raises for any other comparison of times."""
    coefs: dict[str, int] = {}
    constant = _linear(cmp.left, 1, coefs, row) + _linear(cmp.right, -1, coefs, row)
    stored = {n: k for n, k in coefs.items() if n != "now" and k}
    if coefs.get("now", 0) + sum(stored.values()) != 0 or len(stored) != 1 or abs(next(iter(stored.values()))) != 1:
        raise ValueError(
            f"{row}: '{cmp}' is not one stored time against now plus a constant; "
            "the relative-time clamp would change its result"
        )
    return abs(constant)


def _linear(expr: Expr, sign: int, coefs: dict[str, int], row: Row) -> int | float:
    """Add ``sign * expr``'s variable coefficients to ``coefs``; return its constant part
    (an int when it is a whole number)."""
    if isinstance(expr, Const):
        value = expr.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{row}: constant {value!r} in a comparison of times is not a finite number")
        return sign * (int(value) if float(value).is_integer() else value)
    if isinstance(expr, Var | Arg):
        coefs[expr.name] = coefs.get(expr.name, 0) + sign
        return 0
    if isinstance(expr, BinOp) and expr.op in "+-":
        return _linear(expr.left, sign, coefs, row) + _linear(expr.right, sign if expr.op == "+" else -sign, coefs, row)
    raise ValueError(
        f"{row}: '{expr}' in a comparison of times is not linear; the relative-time clamp needs v - now vs c"
    )

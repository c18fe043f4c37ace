"""The transition table specialised to one configuration, as the finite-state checks read it.

``fold_table`` substitutes a configuration's parameters (and ``jitter = 0``) into every guard
and action and drops what can never happen: rows whose guard folded to ``False``, rows after
an unconditional one, assignments that leave their variable as it is, effects whose condition
folded to ``False``. The Promela generator and the time abstraction shared by SPIN and the
refinement check both start from it, so they analyse the same rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

from breakerlab.model import BreakerConfig, State
from breakerlab.model.expr import FALSE, TRUE, Arg, Assign, Const, Effect, Expr, Value, Var, fold, replace
from breakerlab.model.table import Row, Table

__all__ = ["FoldedRow", "FoldedTable", "fold_table"]

@dataclasses.dataclass(frozen=True)
class FoldedRow:
    """One row that can still fire under the configuration.

    Attributes:
        index: The row's index in the table.
        row: The row itself.
        guard: Its guard, folded (never ``False``).
        assigns: Its assignments, folded, without those that leave their variable unchanged.
        effects: Its effects whose condition did not fold to ``False``, folded.
    """

    index: int
    row: Row
    guard: Expr
    assigns: tuple[Assign, ...]
    effects: tuple[Effect, ...]

    @property
    def exprs(self) -> tuple[Expr, ...]:
        """The guard and every assigned expression."""
        return (self.guard, *(a.expr for a in self.assigns))


@dataclasses.dataclass(frozen=True)
class FoldedTable:
    """A table folded with one configuration: its live rows, per (source state, trigger), in order."""

    table: Table
    config: BreakerConfig
    rows: Mapping[tuple[State, str], tuple[FoldedRow, ...]]

    def __iter__(self) -> Iterator[FoldedRow]:
        """Every live row, by (state, trigger) pair in table order."""
        for rows in self.rows.values():
            yield from rows


def _fold(expr: Expr, params: Mapping[str, Value]) -> Expr:
    return fold(replace(expr, Arg("jitter"), Const(0.0)), params)


def fold_table(table: Table, config: BreakerConfig) -> FoldedTable:
    """``table`` specialised to ``config``'s parameters, with no jitter (see the module docstring)."""
    params = config.table_params()
    rows: dict[tuple[State, str], list[FoldedRow]] = {}
    for index, row in enumerate(table.rows):
        pair = rows.setdefault((row.source, row.trigger), [])
        if pair and pair[-1].guard == TRUE:
            continue  # after a row that always matches
        guard = _fold(row.guard, params)
        if guard == FALSE:
            continue
        assigns: list[Assign] = []
        effects: list[Effect] = []
        for action in row.actions:
            if isinstance(action, Effect):
                when = _fold(action.when, params)
                if when != FALSE:
                    effects.append(Effect(action.name, when))
                continue
            expr = _fold(action.expr, params)
            if expr != Var(action.var):
                assigns.append(Assign(action.var, expr))
        pair.append(FoldedRow(index, row, guard, tuple(assigns), tuple(effects)))
    return FoldedTable(table, config, {pair: tuple(found) for pair, found in rows.items()})

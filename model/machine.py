"""Build the ``transitions`` state machine from a compiled transition table.

The machine is declared from the table's rows (``auto_transitions=False``, so no generated
``to_<state>()`` trigger can bypass a guard; invalid triggers raise). Each row becomes one
``transitions`` transition whose condition is the row's guard and whose ``before`` callback
performs the row's actions. Rows are added in table order, and ``transitions`` tries a
trigger's transitions in the order they were added, so the machine takes the first row whose
guard holds: the same row the breaker's fast path selects.
"""

from __future__ import annotations

from typing import Any

from transitions import EventData, Machine

from .pycompile import Apply, CompiledTable, Guard
from .states import State
from .table import Row

__all__ = ["RowAction", "RowGuard", "build_machine"]


class RowGuard:
    """A row's compiled guard as a ``transitions`` condition; ``str()`` is the guard's text."""

    __slots__ = ("index", "row", "_guard", "_core")

    def __init__(self, index: int, row: Row, guard: Guard, core: Any) -> None:
        self.index = index
        self.row = row
        self._guard = guard
        self._core = core

    def __call__(self, event: EventData) -> bool:
        args: Any = event.args
        return self._guard(self._core, args[0])

    def __str__(self) -> str:
        return str(self.row.guard)


class RowAction:
    """A row's compiled actions as a ``transitions`` callback; records which row was taken."""

    __slots__ = ("index", "row", "_apply", "_core", "_fx")

    def __init__(self, index: int, row: Row, apply: Apply, core: Any, fx: Any) -> None:
        self.index = index
        self.row = row
        self._apply = apply
        self._core = core
        self._fx = fx

    def __call__(self, event: EventData) -> None:
        args: Any = event.args
        self._apply(self._core, args[0], self._fx)
        self._core.row_taken = self.index

    def __str__(self) -> str:
        return "; ".join(str(a) for a in self.row.actions) or "(no action)"


def build_machine(core: Any, compiled: CompiledTable, fx: Any) -> Machine:
    """A ``transitions.Machine`` over ``core`` (which holds ``state`` and the variables).

    Only the rows that can be taken under the compiled configuration are declared.
    """
    table = compiled.table
    specs: list[dict[str, Any]] = []
    for (source, trigger), indices in compiled.live_rows.items():
        for index in indices:
            row = table.rows[index]
            specs.append(
                {
                    "trigger": trigger,
                    "source": source,
                    "dest": row.dest,
                    "conditions": [RowGuard(index, row, compiled.guards[index], core)],
                    "before": [RowAction(index, row, compiled.apply[index], core, fx)],
                }
            )
    return Machine(
        model=core,
        states=list(State),
        initial=table.initial,
        transitions=specs,
        auto_transitions=False,
        ignore_invalid_triggers=False,
        send_event=True,
        model_attribute="state",
    )

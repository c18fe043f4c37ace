"""Build the ``transitions`` state machine from a compiled transition table.

The machine is declared from the table's rows (``auto_transitions=False``, so no generated
``to_<state>()`` trigger can bypass a guard; invalid triggers raise). Each row becomes one
``transitions`` transition whose condition is the row's guard and whose ``before`` callback
performs the row's actions. Rows are added in table order, and ``transitions`` tries a
trigger's transitions in the order they were added, so the machine takes the first row whose
guard holds: the same row the breaker's fast path selects.

A trigger is fired with two arguments, the event's arguments and the auxiliary structures the
row's effects act on (``trigger(args, fx)``); the guards and actions act on the model the
machine is processing (``EventData.model``). So they hold nothing of one breaker, and one
machine per compiled table, with no model of its own, can serve every breaker of that table
(``shared_machine``: ``machine.events[trigger].trigger(model, args, fx)``), while
``build_machine`` declares a breaker's own machine for its model.
"""

from __future__ import annotations

from typing import Any

from transitions import EventData, Machine

from .pycompile import Apply, CompiledTable, Guard
from .states import State
from .table import Row

__all__ = ["RowAction", "RowGuard", "build_machine", "shared_machine"]


class RowGuard:
    """A row's compiled guard as a ``transitions`` condition; ``str()`` is the guard's text."""

    __slots__ = ("index", "row", "_guard")

    def __init__(self, index: int, row: Row, guard: Guard) -> None:
        self.index = index
        self.row = row
        self._guard = guard

    def __call__(self, event: EventData) -> bool:
        args: Any = event.args
        return self._guard(event.model, args[0])

    def __str__(self) -> str:
        return str(self.row.guard)


class RowAction:
    """A row's compiled actions as a ``transitions`` callback; records which row was taken
    (the model's ``row_taken``)."""

    __slots__ = ("index", "row", "_apply")

    def __init__(self, index: int, row: Row, apply: Apply) -> None:
        self.index = index
        self.row = row
        self._apply = apply

    def __call__(self, event: EventData) -> None:
        args: Any = event.args
        model: Any = event.model
        self._apply(model, args[0], args[1])
        model.row_taken = self.index

    def __str__(self) -> str:
        return "; ".join(str(a) for a in self.row.actions) or "(no action)"


def _machine(compiled: CompiledTable, model: Any, initial: State) -> Machine:
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
                    "conditions": [RowGuard(index, row, compiled.guards[index])],
                    "before": [RowAction(index, row, compiled.apply[index])],
                }
            )
    return Machine(
        model=model,
        states=list(State),
        initial=initial,
        transitions=specs,
        auto_transitions=False,
        ignore_invalid_triggers=False,
        send_event=True,
        model_attribute="state",
    )


def build_machine(core: Any, compiled: CompiledTable) -> Machine:
    """A ``transitions.Machine`` over ``core`` (which holds ``state`` and the variables), in
    ``core``'s current state (the machine's ``initial`` is the table's).

    Only the rows that can be taken under the compiled configuration are declared.
    """
    machine = _machine(compiled, None, compiled.table.initial)
    machine.add_model(core, initial=core.state)
    return machine


_SHARED: dict[int, tuple[CompiledTable, Machine]] = {}
_SHARED_LIMIT = 512


def shared_machine(compiled: CompiledTable) -> Machine:
    """The machine of ``compiled`` with no model, built once per compiled table: fire its
    events for a model (``machine.events[trigger].trigger(model, args, fx)``). Firing keeps no
    state in the machine, so breakers of one table share it, each passing its own model."""
    cached = _SHARED.get(id(compiled))
    if cached is not None and cached[0] is compiled:
        return cached[1]
    machine = _machine(compiled, None, compiled.table.initial)
    if len(_SHARED) >= _SHARED_LIMIT:
        _SHARED.clear()
    _SHARED[id(compiled)] = (compiled, machine)
    return machine

"""Mermaid diagrams of the breaker, drawn from the ``transitions`` machine itself."""

from __future__ import annotations

from .breaker import Breaker
from .clock import ManualClock
from .config import BreakerConfig
from .machine import RowGuard
from .states import State

__all__ = ["INTERNAL_MARKER", "mermaid"]

#: The label prefix of a row that does not change state (drawn with ``internal=True``).
#: Mermaid's state diagrams cannot draw a dotted or styled transition (``classDef`` styles
#: states, not arrows; ``linkStyle`` is for flowcharts), so the label says it: an internal row
#: ``closed --> closed: (internal) acquire: admitted`` stays apart from a state change that
#: re-enters its state, such as ``closed --> closed: reset: reset``.
INTERNAL_MARKER = "(internal) "


def mermaid(config: BreakerConfig | None = None, *, internal: bool = False) -> str:
    """A Mermaid ``stateDiagram-v2`` of the machine built for ``config``.

    Every state change the machine can make under ``config`` is an arrow labelled
    ``trigger: cause``; transitions that cannot happen under this configuration (for example
    the late-result rows when ``late_result`` is ``"ignore"``) are not in the machine and so
    not drawn. With ``internal=True`` the rows that do not change state are drawn too, as
    self-loops whose label starts with ``INTERNAL_MARKER``. Each state has a note saying what
    it admits. The text is what Mermaid's parser accepts (a test runs it): a note's text holds
    no ``:`` or ``;``, and a label no ``;``.
    """
    breaker = Breaker(config, clock=ManualClock())
    machine = breaker.machine
    lines = ["stateDiagram-v2", f"    [*] --> {breaker.state.value}"]
    seen: set[tuple[str, str, str]] = set()
    for trigger, event in machine.events.items():
        for source_name, transitions in event.transitions.items():
            source = State[source_name].value
            for transition in transitions:
                guard = next(c.func for c in transition.conditions if isinstance(c.func, RowGuard))
                label = f"{trigger}: {guard.row.cause}"
                if transition.dest is None:
                    if not internal:
                        continue
                    dest = source
                    label = INTERNAL_MARKER + label
                else:
                    dest = State[transition.dest].value
                key = (source, dest, label)
                if key in seen:
                    continue
                seen.add(key)
                lines.append(f"    {source} --> {dest}: {label}")
    for state in State:
        lines.append(f"    note right of {state.value}: {_NOTES[state]}")
    return "\n".join(lines)


#: One line per state; Mermaid ends a one-line note's text at a ``:`` or ``;``.
_NOTES = {
    State.CLOSED: "admits every call, outcomes feed the trip rule",
    State.OPEN: "rejects until the deadline",
    State.HALF_OPEN: "admits limited probes",
    State.FORCED_OPEN: "manual override, rejects everything",
    State.DISABLED: "manual override, admits everything and counts nothing",
}

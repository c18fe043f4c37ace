"""The codes a generated Promela model prints in its ``@@STEP`` lines, and its LTL claims.

The generator (``promela``, ``processes``) writes these codes and the trail reader (``trail``)
turns them back into names, so both sides read them from here.
"""

from __future__ import annotations

from collections.abc import Mapping

from breakerlab.model.table import TRIGGERS, Verdict

__all__ = ["AGENTS", "CLOCK", "ENV", "EVENTS", "LTL", "MANUAL", "MANUAL_EVENTS", "POLLER", "VERDICTS"]

#: Events printed in the trace: the table's triggers, then the environment's own steps.
EVENTS: tuple[str, ...] = (*TRIGGERS, "tick", "env_flip", "env_down", "env_stable", "lost", "env_up")
#: The triggers the ``Manual`` process fires (safety runs), in the order it offers them.
MANUAL_EVENTS: tuple[str, ...] = ("force_open", "trip", "half_open", "disable", "reset")
#: ``who`` codes of the processes that are not callers (callers print their id, 0, 1, ...).
CLOCK, POLLER, ENV, MANUAL = 100, 101, 102, 103
AGENTS: Mapping[int, str] = {CLOCK: "clock", POLLER: "poller", ENV: "env", MANUAL: "manual"}
#: Verdict codes printed in the trace.
VERDICTS: tuple[str | None, ...] = (None, Verdict.ADMIT.value, Verdict.ADMIT_PROBE.value, Verdict.REJECT.value)
#: The liveness properties, as Spin LTL over the generated globals.
LTL: Mapping[str, str] = {
    "L1": "(<>[] healthy) -> <>[] (mode == CLOSED)",
    "L2": "[] ((mode == OPEN) -> <> (mode != OPEN))",
    "L3": "[] ((mode == HALF_OPEN) -> <> (mode != HALF_OPEN))",
}

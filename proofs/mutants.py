"""Seeded mutants: deliberately broken variants of the transition table.

Every verification layer must kill each mutant that is relevant to it: the Hypothesis stateful
tests (``tests/test_mutants.py``) and the proofs (``breakerlab prove --mutant NAME``). A mutant
that no layer kills would show that the layers check less than they claim.

Each mutant is a small edit of ``TABLE``: one guard or one action list changed, exactly the
kind of slip a hand-written breaker makes. ``breaks`` names the safety properties of
``proofs/README.md`` that the mutant violates.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from breakerlab.model.expr import FALSE, Assign, Cmp, Param, replace
from breakerlab.model.states import State
from breakerlab.model.table import (
    COUNT_FAILURE,
    ENTER_CLOSED,
    ENTER_OPEN,
    TABLE,
    Table,
    consecutive_failures,
    half_open_expired,
    now,
    open_until,
    probes_admitted,
    probes_inflight,
)

__all__ = ["MUTANTS", "Mutant"]

C, O, H = State.CLOSED, State.OPEN, State.HALF_OPEN


@dataclasses.dataclass(frozen=True)
class Mutant:
    """A named, documented edit of the reference table."""

    name: str
    description: str
    breaks: tuple[str, ...]
    edit: Callable[[Table], Table] = dataclasses.field(repr=False)

    @functools.cached_property
    def table(self) -> Table:
        """The mutated table (validated like any table)."""
        return self.edit(TABLE)


def _edit_guard(trigger: str, source: State, cause: str, old: object, new: object) -> Callable[[Table], Table]:
    def edit(table: Table) -> Table:
        index = table.index(trigger, source, cause)
        guard = table.rows[index].guard
        mutated = replace(guard, old, new)  # type: ignore[arg-type]
        if mutated == guard:
            raise AssertionError(f"mutant edit of {trigger}/{source}/{cause} changed nothing")
        return table.replace_row(index, guard=mutated)

    return edit


def _set_guard(trigger: str, source: State, cause: str, guard: object) -> Callable[[Table], Table]:
    def edit(table: Table) -> Table:
        return table.replace_row(table.index(trigger, source, cause), guard=guard)

    return edit


def _chain(*edits: Callable[[Table], Table]) -> Callable[[Table], Table]:
    def edit(table: Table) -> Table:
        for step in edits:
            table = step(table)
        return table

    return edit


def _set_actions(trigger: str, source: State, cause: str, actions: tuple[object, ...], **extra: object) -> Callable[[Table], Table]:
    def edit(table: Table) -> Table:
        return table.replace_row(table.index(trigger, source, cause), actions=actions, **extra)

    return edit


_fail_max_reached = Cmp(">=", consecutive_failures + 1, Param("fail_max"))
_inclusive_deadline = Cmp(">=", now, open_until)
_exclusive_deadline = Cmp(">", now, open_until)


def _swap_boundary(trigger: str, cause: str) -> Callable[[Table], Table]:
    def edit(table: Table) -> Table:
        index = table.index(trigger, O, cause)
        guard = table.rows[index].guard
        marker = Cmp("==", now, now)  # swap the two comparisons via a marker
        guard = replace(guard, _inclusive_deadline, marker)
        guard = replace(guard, _exclusive_deadline, _inclusive_deadline)
        guard = replace(guard, marker, _exclusive_deadline)
        return table.replace_row(index, guard=guard)

    return edit


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant(
            "trip_one_late",
            "the consecutive rule trips on the failure after the fail_max-th (> instead of >=)",
            ("S4", "S9"),
            _edit_guard("record_failure", C, "trip", _fail_max_reached, Cmp(">", consecutive_failures + 1, Param("fail_max"))),
        ),
        Mutant(
            "extra_probe",
            "half-open admits one probe more than half_open_max_calls (<= instead of <)",
            ("S3",),
            _chain(
                _edit_guard(
                    "acquire", H, "probe_admitted",
                    Cmp("<", probes_admitted, Param("half_open_max_calls")),
                    Cmp("<=", probes_admitted, Param("half_open_max_calls")),
                ),
                _edit_guard(
                    "acquire", H, "probe_admitted",
                    Cmp("<", probes_inflight, Param("half_open_max_calls")),
                    Cmp("<=", probes_inflight, Param("half_open_max_calls")),
                ),
            ),
        ),
        Mutant(
            "timer_not_restarted",
            "a failed probe re-opens without restarting the open timer (the old deadline is kept)",
            ("S2", "S6"),
            _set_actions(
                "record_failure", H, "probe_failed",
                tuple(a for a in ENTER_OPEN if not (isinstance(a, Assign) and a.var in ("opened_at", "open_until"))),
            ),
        ),
        Mutant(
            "stale_counted",
            "an outcome from an earlier generation is counted as if it were current (policy 'ignore')",
            ("S8",),
            _chain(
                _set_guard("record_failure", C, "stale_ignored", FALSE),
                _set_guard("record_success", C, "stale_ignored", FALSE),
                _set_guard("record_failure", H, "stale_ignored", FALSE),
                _set_guard("record_success", H, "stale_ignored", FALSE),
            ),
        ),
        Mutant(
            "excluded_counted",
            "a released outcome (excluded error, cancellation) is counted as a failure in closed",
            ("S10",),
            _set_actions("release", C, "released", COUNT_FAILURE),
        ),
        Mutant(
            "deadline_boundary",
            "the open deadline's boundary is flipped: admit_at_deadline behaves as its opposite",
            ("S1", "S2"),
            _chain(_swap_boundary("acquire", "deadline_reached"), _swap_boundary("poll", "deadline_reached")),
        ),
        Mutant(
            "success_threshold_ignored",
            "half-open closes on the first probe success whatever success_threshold says",
            ("S7",),
            _set_guard(
                "record_success", H, "probes_succeeded",
                ~(Param("close_rule").eq("rate")),
            ),
        ),
        Mutant(
            "max_wait_ignored",
            "half_open_max_wait never ends a half-open episode (a lost probe wedges the breaker)",
            ("L3",),
            _chain(
                _edit_guard("acquire", H, "half_open_timeout", half_open_expired, FALSE),
                _edit_guard("poll", H, "half_open_timeout", half_open_expired, FALSE),
            ),
        ),
        Mutant(
            "probe_slot_not_freed",
            "a released probe keeps its half-open slot (a cancelled probe can wedge half-open)",
            ("S3", "L3"),
            _set_actions("release", H, "probe_released", ()),
        ),
        Mutant(
            "manual_trip_keeps_open_period",
            "trip() while open keeps the running open period instead of re-opening (pybreaker's open() restarts it)",
            ("S5",),
            _set_actions("trip", O, "manual_trip", (), dest=None),
        ),
        Mutant(
            "backoff_not_reset",
            "closing keeps the backed-off open duration instead of returning to reset_timeout",
            ("S2",),
            _set_actions(
                "record_success", H, "probes_succeeded",
                tuple(a for a in ENTER_CLOSED if not (isinstance(a, Assign) and a.var == "next_open_duration")),
            ),
        ),
    )
}

"""The transition table: the single source of truth for what the breaker does.

Every row says: on ``trigger`` in ``source``, if ``guard`` holds (and no earlier row for the
same trigger and source did), perform ``actions`` and move to ``dest`` (``None``: stay, an
internal step). Rows are tried in order; the last row of every (source, trigger) pair has the
guard ``TRUE``, so the table is total and deterministic. ``verdict`` says whether an
``acquire`` admits the call (as a normal call or a probe) or rejects it.

The triggers (``TRIGGERS``) are a call's ``acquire`` and its settlement (``record_success``,
``record_failure``, ``release``), ``poll`` (time alone), and manual control: ``force_open`` and
``disable`` enter the manual states; ``trip`` opens now, from any state, as a tripped breaker
does (a new opening: the open period restarts even when already open, and half-open follows
after the open duration, per ``half_open_entry``); ``half_open`` enters half-open now, with no
probe admitted yet (nothing in half-open); ``reset`` closes. ``trip`` and ``half_open`` are
what pybreaker's ``open()`` and ``half_open()`` do.

The ``transitions`` machine, the breaker's fast path, the Mermaid diagram and the proofs are
all generated from ``TABLE``. ``model/SEMANTICS.md`` explains the same rules in prose.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Iterator, Mapping

from .errors import TableError
from .expr import (
    FALSE,
    TRUE,
    Action,
    Arg,
    Assign,
    Const,
    Effect,
    Expr,
    Param,
    Var,
    all_of,
    any_of,
    ite,
    minimum,
    names,
)
from .params import PARAMETERS
from .states import State

__all__ = [
    "ARGS",
    "EFFECTS",
    "PARAMS",
    "Row",
    "TABLE",
    "TRIGGERS",
    "Table",
    "VARIABLES",
    "Verdict",
]


class Verdict(enum.StrEnum):
    """What an ``acquire`` row decides about the call."""

    ADMIT = "admit"
    ADMIT_PROBE = "admit_probe"
    REJECT = "reject"


@dataclasses.dataclass(frozen=True)
class Row:
    """One transition of the table."""

    trigger: str
    source: State
    guard: Expr
    dest: State | None
    actions: tuple[Action, ...]
    cause: str
    verdict: Verdict | None = None

    @property
    def changes_state(self) -> bool:
        """Whether the row is a state change (``dest`` set, possibly equal to ``source``)."""
        return self.dest is not None

    def __str__(self) -> str:
        dest = self.dest.value if self.dest is not None else "(stay)"
        return f"{self.source.value} --{self.trigger} [{self.guard}]--> {dest}: {self.cause}"


#: Triggers: the events a breaker reacts to (the manual ones from ``force_open`` on).
TRIGGERS: tuple[str, ...] = (
    "acquire",
    "record_success",
    "record_failure",
    "release",
    "poll",
    "force_open",
    "trip",
    "half_open",
    "disable",
    "reset",
)

#: Formal state variables and their initial values (an expression over parameters).
VARIABLES: Mapping[str, Expr] = {
    "generation": Const(0),
    "consecutive_failures": Const(0),
    "opened_at": Const(0.0),
    "open_until": Const(0.0),
    "next_open_duration": Param("reset_timeout"),
    "half_open_since": Const(0.0),
    "probes_admitted": Const(0),
    "probes_inflight": Const(0),
    "probe_successes": Const(0),
    "probe_failures": Const(0),
}

#: Configuration parameters the table reads, declared (with their sorts, constraints and how
#: ``BreakerConfig.table_params()`` reads them) in ``breakerlab.model.params``.
PARAMS: tuple[str, ...] = tuple(spec.name for spec in PARAMETERS)

#: Event arguments and their types. ``window_*`` count the trip window *including* the outcome
#: being recorded; ``jitter`` is drawn from the breaker's seeded generator only when a row needs
#: it; ``permit_state`` is the state that admitted the permit.
ARGS: Mapping[str, type] = {
    "now": float,
    "permit_generation": int,
    "permit_state": State,
    "window_calls": int,
    "window_failures": int,
    "window_slow": int,
    "jitter": float,
}

#: Side effects on the auxiliary trip window.
EFFECTS: tuple[str, ...] = ("window_record", "window_clear")


# -- vocabulary -------------------------------------------------------------------------------

now = Arg("now")
generation = Var("generation")
consecutive_failures = Var("consecutive_failures")
open_until = Var("open_until")
next_open_duration = Var("next_open_duration")
half_open_since = Var("half_open_since")
probes_admitted = Var("probes_admitted")
probes_inflight = Var("probes_inflight")
probe_successes = Var("probe_successes")
probe_failures = Var("probe_failures")
permit_state = Arg("permit_state")

is_current = Arg("permit_generation").eq(generation)
"""The permit was issued in the current generation (episode)."""
is_stale = ~is_current

late_ignore = Param("late_result").eq("ignore")
late_admitting = Param("late_result").eq("admitting_state")

consecutive_rule = Param("trip_rule").eq("consecutive")
window_rule = ~consecutive_rule


def rate_meets(bad: Expr, calls: Expr, num: Expr, den: Expr) -> Expr:
    """``bad / calls`` reaches the threshold ``num / den`` (with or without equality)."""
    return ite(Param("trip_on_equal_rate"), bad * den >= num * calls, bad * den > num * calls)


window_trips = all_of(
    Arg("window_calls") >= Param("minimum_calls"),
    any_of(
        rate_meets(
            Arg("window_failures"), Arg("window_calls"), Param("failure_rate_num"), Param("failure_rate_den")
        ),
        all_of(
            Param("slow_rule_enabled"),
            rate_meets(Arg("window_slow"), Arg("window_calls"), Param("slow_rate_num"), Param("slow_rate_den")),
        ),
    ),
)
"""A window rule is met, counting the outcome being recorded."""

trip_on_failure = ite(consecutive_rule, consecutive_failures + 1 >= Param("fail_max"), window_trips)
"""Recording this failure meets the trip rule."""
trip_on_success = all_of(window_rule, window_trips)
"""Recording this success meets the trip rule (only a window rule can trip on a success)."""

deadline_reached = ite(Param("admit_at_deadline"), now >= open_until, now > open_until)
"""The open deadline has come (inclusive or not, per ``admit_at_deadline``)."""
half_open_expired = all_of(Param("max_wait_enabled"), now >= half_open_since + Param("half_open_max_wait"))
"""Half-open has lasted its maximum wait."""
probe_slot_free = ite(
    Param("half_open_limit").eq("per_episode"),
    probes_admitted < Param("half_open_max_calls"),
    probes_inflight < Param("half_open_max_calls"),
)
"""Another probe may be admitted."""

probe_outcomes_after = probe_successes + probe_failures + 1
"""Probe outcomes of the episode, counting the one being recorded."""
rate_close_rule = Param("close_rule").eq("rate")
episode_complete = all_of(rate_close_rule, probe_outcomes_after >= Param("half_open_max_calls"))


def _probe_rate_fails(failures_after: Expr) -> Expr:
    return rate_meets(failures_after, probe_outcomes_after, Param("failure_rate_num"), Param("failure_rate_den"))


inflight_after_outcome = probes_inflight - ite(is_current, 1, 0)
"""Only a current probe held a slot; a stale outcome (current-state policy) did not."""

_clear_counters: tuple[Action, ...] = (
    Assign("consecutive_failures", Const(0)),
    Assign("probes_admitted", Const(0)),
    Assign("probes_inflight", Const(0)),
    Assign("probe_successes", Const(0)),
    Assign("probe_failures", Const(0)),
)

ENTER_OPEN: tuple[Action, ...] = (
    Assign("generation", generation + 1),
    Assign("opened_at", now),
    Assign("open_until", now + next_open_duration * (1.0 + Arg("jitter"))),
    Assign(
        "next_open_duration",
        ite(
            Param("exponential_backoff"),
            minimum(next_open_duration * Param("backoff_factor"), Param("backoff_cap")),
            next_open_duration,
        ),
    ),
    *_clear_counters,
)
"""Open now for the current open duration (with jitter), then take one backoff step."""

ENTER_CLOSED: tuple[Action, ...] = (
    Assign("generation", generation + 1),
    Assign("next_open_duration", Param("reset_timeout")),
    *_clear_counters,
    Effect("window_clear", window_rule),
)
"""Close: clear every counter, the window and the backoff."""


def _enter_half_open(first_probe: bool) -> tuple[Action, ...]:
    admitted = 1 if first_probe else 0
    return (
        Assign("generation", generation + 1),
        Assign("half_open_since", now),
        *_clear_counters[:1],
        Assign("probes_admitted", Const(admitted)),
        Assign("probes_inflight", Const(admitted)),
        Assign("probe_successes", Const(0)),
        Assign("probe_failures", Const(0)),
    )


ENTER_MANUAL: tuple[Action, ...] = (
    Assign("generation", generation + 1),
    *_clear_counters,
    Effect("window_clear", window_rule),
)
"""Enter ``forced_open`` or ``disabled``."""

COUNT_FAILURE: tuple[Action, ...] = (
    Assign("consecutive_failures", consecutive_failures + 1),
    Effect("window_record", window_rule),
)
COUNT_SUCCESS: tuple[Action, ...] = (
    Assign("consecutive_failures", Const(0)),
    Effect("window_record", window_rule),
)

C, O, H, F, D = State.CLOSED, State.OPEN, State.HALF_OPEN, State.FORCED_OPEN, State.DISABLED


def _rows() -> Iterator[Row]:
    # acquire ----------------------------------------------------------------------------------
    yield Row("acquire", C, TRUE, None, (), "admitted", Verdict.ADMIT)
    yield Row("acquire", O, deadline_reached, H, _enter_half_open(True), "deadline_reached", Verdict.ADMIT_PROBE)
    yield Row("acquire", O, TRUE, None, (), "rejected_open", Verdict.REJECT)
    yield Row("acquire", H, half_open_expired, O, ENTER_OPEN, "half_open_timeout", Verdict.REJECT)
    yield Row(
        "acquire",
        H,
        probe_slot_free,
        None,
        (Assign("probes_admitted", probes_admitted + 1), Assign("probes_inflight", probes_inflight + 1)),
        "probe_admitted",
        Verdict.ADMIT_PROBE,
    )
    yield Row("acquire", H, TRUE, None, (), "probe_slots_full", Verdict.REJECT)
    yield Row("acquire", F, TRUE, None, (), "rejected_forced_open", Verdict.REJECT)
    yield Row("acquire", D, TRUE, None, (), "admitted_disabled", Verdict.ADMIT)

    # record_failure ---------------------------------------------------------------------------
    yield Row("record_failure", C, is_stale & late_ignore, None, (), "stale_ignored")
    yield Row(
        "record_failure", C, is_stale & late_admitting & permit_state.eq(H.value), O, ENTER_OPEN, "late_probe_failure"
    )
    yield Row("record_failure", C, is_stale & late_admitting & permit_state.ne(C.value), None, (), "stale_ignored")
    yield Row("record_failure", C, trip_on_failure, O, ENTER_OPEN, "trip")
    yield Row("record_failure", C, TRUE, None, COUNT_FAILURE, "failure_counted")

    late_failure_reopens = is_stale & late_admitting & (permit_state.eq(C.value) | permit_state.eq(H.value))
    yield Row("record_failure", O, late_failure_reopens, O, ENTER_OPEN, "late_failure_reopens")
    yield Row("record_failure", O, TRUE, None, (), "ignored_while_open")

    yield Row("record_failure", H, is_stale & late_ignore, None, (), "stale_ignored")
    yield Row("record_failure", H, late_failure_reopens, O, ENTER_OPEN, "late_failure_reopens")
    yield Row("record_failure", H, is_stale & late_admitting, None, (), "stale_ignored")
    yield Row("record_failure", H, ~rate_close_rule, O, ENTER_OPEN, "probe_failed")
    yield Row(
        "record_failure", H, episode_complete & _probe_rate_fails(probe_failures + 1), O, ENTER_OPEN, "probe_rate_failed"
    )
    yield Row("record_failure", H, episode_complete, C, ENTER_CLOSED, "probe_rate_ok")
    yield Row(
        "record_failure",
        H,
        TRUE,
        None,
        (Assign("probe_failures", probe_failures + 1), Assign("probes_inflight", inflight_after_outcome)),
        "probe_failure_counted",
    )
    yield Row("record_failure", F, TRUE, None, (), "ignored_while_forced_open")
    yield Row("record_failure", D, TRUE, None, (), "ignored_while_disabled")

    # record_success ---------------------------------------------------------------------------
    yield Row("record_success", C, is_stale & late_ignore, None, (), "stale_ignored")
    yield Row("record_success", C, is_stale & late_admitting & permit_state.ne(C.value), None, (), "stale_ignored")
    yield Row("record_success", C, trip_on_success, O, ENTER_OPEN, "trip")
    yield Row("record_success", C, TRUE, None, COUNT_SUCCESS, "success_counted")

    late_probe_success = is_stale & late_admitting & permit_state.eq(H.value)
    yield Row("record_success", O, late_probe_success, C, ENTER_CLOSED, "late_probe_success")
    yield Row("record_success", O, TRUE, None, (), "ignored_while_open")

    yield Row("record_success", H, is_stale & late_ignore, None, (), "stale_ignored")
    yield Row("record_success", H, late_probe_success, C, ENTER_CLOSED, "late_probe_success")
    yield Row("record_success", H, is_stale & late_admitting, None, (), "stale_ignored")
    yield Row(
        "record_success",
        H,
        ~rate_close_rule & (probe_successes + 1 >= Param("success_threshold")),
        C,
        ENTER_CLOSED,
        "probes_succeeded",
    )
    yield Row("record_success", H, episode_complete & _probe_rate_fails(probe_failures), O, ENTER_OPEN, "probe_rate_failed")
    yield Row("record_success", H, episode_complete, C, ENTER_CLOSED, "probe_rate_ok")
    yield Row(
        "record_success",
        H,
        TRUE,
        None,
        (Assign("probe_successes", probe_successes + 1), Assign("probes_inflight", inflight_after_outcome)),
        "probe_success_counted",
    )
    yield Row("record_success", F, TRUE, None, (), "ignored_while_forced_open")
    yield Row("record_success", D, TRUE, None, (), "ignored_while_disabled")

    # release ----------------------------------------------------------------------------------
    yield Row("release", C, TRUE, None, (), "released")
    yield Row("release", O, TRUE, None, (), "released")
    yield Row(
        "release",
        H,
        is_current,
        None,
        (Assign("probes_admitted", probes_admitted - 1), Assign("probes_inflight", probes_inflight - 1)),
        "probe_released",
    )
    yield Row("release", H, TRUE, None, (), "released")
    yield Row("release", F, TRUE, None, (), "released")
    yield Row("release", D, TRUE, None, (), "released")

    # poll -------------------------------------------------------------------------------------
    yield Row("poll", C, TRUE, None, (), "nothing_due")
    yield Row(
        "poll",
        O,
        Param("half_open_entry").eq("at_deadline") & deadline_reached,
        H,
        _enter_half_open(False),
        "deadline_reached",
    )
    yield Row("poll", O, TRUE, None, (), "nothing_due")
    yield Row("poll", H, half_open_expired, O, ENTER_OPEN, "half_open_timeout")
    yield Row("poll", H, TRUE, None, (), "nothing_due")
    yield Row("poll", F, TRUE, None, (), "nothing_due")
    yield Row("poll", D, TRUE, None, (), "nothing_due")

    # manual control ---------------------------------------------------------------------------
    for state in State:
        if state is F:
            yield Row("force_open", F, TRUE, None, (), "already_forced_open")
        else:
            yield Row("force_open", state, TRUE, F, ENTER_MANUAL, "force_open")
    for state in State:
        # From open too: a real state change (open -> open) that restarts the open period.
        yield Row("trip", state, TRUE, O, ENTER_OPEN, "manual_trip")
    for state in State:
        if state is H:
            yield Row("half_open", H, TRUE, None, (), "already_half_open")
        else:
            yield Row("half_open", state, TRUE, H, _enter_half_open(False), "manual_half_open")
    for state in State:
        if state is D:
            yield Row("disable", D, TRUE, None, (), "already_disabled")
        else:
            yield Row("disable", state, TRUE, D, ENTER_MANUAL, "disable")
    for state in State:
        yield Row("reset", state, TRUE, C, ENTER_CLOSED, "reset")


@dataclasses.dataclass(frozen=True)
class Table:
    """An ordered, validated list of rows with its vocabulary.

    Raises:
        TableError: a (source, trigger) pair without a final ``TRUE`` row, an unknown name, or
            an assignment to an undeclared variable.
    """

    rows: tuple[Row, ...]
    initial: State = State.CLOSED

    def __post_init__(self) -> None:
        for state in State:
            for trigger in TRIGGERS:
                rows = self.rows_for(state, trigger)
                if not rows or rows[-1].guard != TRUE:
                    raise TableError(
                        f"rows for trigger {trigger!r} in state {state.value!r} must end with an "
                        "unconditional (TRUE) row so that every event has exactly one outcome"
                    )
        for row in self.rows:
            if row.trigger not in TRIGGERS:
                raise TableError(f"unknown trigger {row.trigger!r} in {row}; valid: {', '.join(TRIGGERS)}")
            if (row.trigger == "acquire") != (row.verdict is not None):
                raise TableError(f"{row}: acquire rows, and only they, carry a verdict")
            exprs: list[Expr] = [row.guard]
            for action in row.actions:
                if isinstance(action, Assign):
                    if action.var not in VARIABLES:
                        raise TableError(f"{row}: assigns undeclared variable {action.var!r}")
                    exprs.append(action.expr)
                else:
                    if action.name not in EFFECTS:
                        raise TableError(f"{row}: unknown effect {action.name!r}; valid: {', '.join(EFFECTS)}")
                    exprs.append(action.when)
            for expr in exprs:
                _check_names(row, expr)

    def rows_for(self, source: State, trigger: str) -> tuple[Row, ...]:
        """The rows for one (source, trigger) pair, in the order they are tried."""
        return tuple(r for r in self.rows if r.source is source and r.trigger == trigger)

    def replace_row(self, index: int, **changes: object) -> Table:
        """A copy with row ``index`` changed (used to build seeded mutants)."""
        rows = list(self.rows)
        rows[index] = dataclasses.replace(rows[index], **changes)  # type: ignore[arg-type]
        return Table(tuple(rows), self.initial)

    def index(self, trigger: str, source: State, cause: str) -> int:
        """The index of the first row with this trigger, source and cause."""
        for i, row in enumerate(self.rows):
            if row.trigger == trigger and row.source is source and row.cause == cause:
                return i
        raise TableError(f"no row {source.value} --{trigger}--> ({cause})")

    def digest(self) -> str:
        """A SHA-256 of the table's canonical text: generated proofs record it to detect drift."""
        text = "\n".join(_canonical(r) for r in self.rows) + f"\ninitial={self.initial.value}\n"
        text += "\n".join(f"var {k} = {v}" for k, v in VARIABLES.items())
        return hashlib.sha256(text.encode()).hexdigest()

    def __len__(self) -> int:
        return len(self.rows)


def _canonical(row: Row) -> str:
    actions = "; ".join(str(a) for a in row.actions)
    dest = row.dest.value if row.dest is not None else "-"
    verdict = row.verdict.value if row.verdict is not None else "-"
    return f"{row.trigger}|{row.source.value}|{row.guard}|{dest}|{actions}|{row.cause}|{verdict}"


def _check_names(row: Row, expr: Expr) -> None:
    for kind, declared in ((Var, VARIABLES), (Param, PARAMS), (Arg, ARGS)):
        unknown = names(expr, kind) - set(declared)
        if unknown:
            raise TableError(
                f"{row}: unknown {kind.__name__} name(s) {sorted(unknown)}; declared: {', '.join(declared)}"
            )


TABLE: Table = Table(tuple(_rows()))
"""The reference breaker's transition table."""

# Keep the module's vocabulary importable for the proofs, which translate these expressions.
__all__ += ["FALSE", "TRUE"]

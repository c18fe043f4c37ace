"""The safety properties, stated over the z3 encoding, and the plain-words catalogue of all
properties (safety and liveness) that ``breakerlab prove`` reports.

Properties are written independently of the table's guards where a second formulation is
possible (rates as real divisions, "counted" from the late-result policy), so a wrong guard
cannot prove itself. Invariants are proved together by induction (their conjunction is
inductive); step properties are proved for every step from any state satisfying the invariants.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import z3

from breakerlab.model import State
from breakerlab.model.config import CloseRule, HalfOpenLimit, LateResultPolicy, TripRule

from .encoding import Encoding, Event, StateVars, Step, code, unchanged

__all__ = ["INVARIANTS", "STEP_PROPERTIES", "Invariant", "StepProperty"]

C, O, H, F, D = State.CLOSED, State.OPEN, State.HALF_OPEN, State.FORCED_OPEN, State.DISABLED


@dataclasses.dataclass(frozen=True)
class Invariant:
    """A state predicate; ``holds(enc, s)`` builds it for state ``s``."""

    id: str
    name: str
    holds: Callable[[Encoding, StateVars], z3.BoolRef]


@dataclasses.dataclass(frozen=True)
class StepProperty:
    """A predicate on one step, proved for every step from a state satisfying the invariants."""

    id: str
    name: str
    holds: Callable[[Encoding, Step], z3.BoolRef]


# -- vocabulary -------------------------------------------------------------------------------


def _p(enc: Encoding, name: str) -> z3.ExprRef:
    return enc.params[name]


def _deadline_reached(enc: Encoding, s: StateVars, now: z3.ExprRef) -> z3.BoolRef:
    return z3.If(_p(enc, "admit_at_deadline"), now >= s["open_until"], now > s["open_until"])


def _current(e: Event, s: StateVars) -> z3.BoolRef:
    return e["permit_generation"] == s["generation"]


def _counted_in_closed(enc: Encoding, e: Event, s: StateVars) -> z3.BoolRef:
    """An outcome that the closed state counts, per the late-result policy (SEMANTICS.md)."""
    return z3.Or(
        _current(e, s),
        enc.is_param("late_result", LateResultPolicy.CURRENT_STATE),
        z3.And(enc.is_param("late_result", LateResultPolicy.ADMITTING_STATE), e["permit_state"] == code(C.value)),
    )


def _counted_in_half_open(enc: Encoding, e: Event, s: StateVars) -> z3.BoolRef:
    return z3.Or(_current(e, s), enc.is_param("late_result", LateResultPolicy.CURRENT_STATE))


def _rate_meets(enc: Encoding, bad: z3.ArithRef, calls: z3.ArithRef, num: str, den: str) -> z3.BoolRef:
    """``bad / calls`` reaches ``num / den``, as a real division (calls > 0)."""
    rate = z3.ToReal(bad) / z3.ToReal(calls)
    threshold = z3.ToReal(_p(enc, num)) / z3.ToReal(_p(enc, den))
    return z3.If(_p(enc, "trip_on_equal_rate"), rate >= threshold, rate > threshold)


def _late_admitting_probe_success(enc: Encoding, e: Event, s: StateVars) -> z3.BoolRef:
    return z3.And(
        enc.is_param("late_result", LateResultPolicy.ADMITTING_STATE),
        enc.is_trigger(e, "record_success"),
        z3.Not(_current(e, s)),
        e["permit_state"] == code(H.value),
    )


def _late_admitting_failure(enc: Encoding, e: Event, s: StateVars) -> z3.BoolRef:
    return z3.And(
        enc.is_param("late_result", LateResultPolicy.ADMITTING_STATE),
        enc.is_trigger(e, "record_failure"),
        z3.Not(_current(e, s)),
        z3.Or(e["permit_state"] == code(C.value), e["permit_state"] == code(H.value)),
    )


MANUAL = ("force_open", "trip", "half_open", "disable", "reset")
"""The manual-control triggers: a client's orders, which the automatic rules (open lasts its
duration, only the automatic edges, forced/disabled are kept) do not constrain; S5 states
where each one leads instead."""

# -- invariants -------------------------------------------------------------------------------


def _open_deadline(enc: Encoding, s: StateVars) -> z3.BoolRef:
    return z3.Implies(
        enc.is_mode(s, O),
        z3.And(s["open_until"] >= s["opened_at"] + _p(enc, "reset_timeout"), s["opened_at"] <= s.clock),
    )


def _probe_bounds(enc: Encoding, s: StateVars) -> z3.BoolRef:
    max_calls = _p(enc, "half_open_max_calls")
    in_half_open = z3.And(
        0 <= s["probes_inflight"],
        s["probes_inflight"] <= s["probes_admitted"],
        s["probes_inflight"] <= max_calls,
        z3.Implies(enc.is_param("half_open_limit", HalfOpenLimit.PER_EPISODE), s["probes_admitted"] <= max_calls),
        s["half_open_since"] <= s.clock,
    )
    elsewhere = z3.And(
        s["probes_admitted"] == 0, s["probes_inflight"] == 0, s["probe_successes"] == 0, s["probe_failures"] == 0
    )
    return z3.If(enc.is_mode(s, H), in_half_open, elsewhere)


def _no_missed_trip(enc: Encoding, s: StateVars) -> z3.BoolRef:
    return z3.Implies(
        z3.And(enc.is_mode(s, C), enc.is_param("trip_rule", TripRule.CONSECUTIVE)),
        s["consecutive_failures"] < _p(enc, "fail_max"),
    )


def _bounds(enc: Encoding, s: StateVars) -> z3.BoolRef:
    reset_timeout = _p(enc, "reset_timeout")
    cap = z3.If(_p(enc, "backoff_cap") >= reset_timeout, _p(enc, "backoff_cap"), reset_timeout)
    successes, failures = s["probe_successes"], s["probe_failures"]
    consecutive_close = enc.is_param("close_rule", CloseRule.CONSECUTIVE)
    return z3.And(
        s["generation"] >= 0,
        s["consecutive_failures"] >= 0,
        z3.Implies(z3.Not(enc.is_mode(s, C)), s["consecutive_failures"] == 0),
        s["next_open_duration"] >= reset_timeout,
        s["next_open_duration"] <= cap,
        z3.Implies(enc.is_mode(s, C), s["next_open_duration"] == reset_timeout),
        successes >= 0,
        failures >= 0,
        z3.Implies(
            enc.is_mode(s, H),
            z3.If(
                consecutive_close,
                z3.And(successes < _p(enc, "success_threshold"), failures == 0),
                successes + failures < _p(enc, "half_open_max_calls"),
            ),
        ),
        s.mode >= 0,
        s.mode < len(State),
    )


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("S2", "open deadline at least reset_timeout after opening", _open_deadline),
    Invariant("S3", "probe counters within the limit", _probe_bounds),
    Invariant("S4", "closed never holds fail_max consecutive failures", _no_missed_trip),
    Invariant("S9", "counters and timers within bounds", _bounds),
)

# -- step properties --------------------------------------------------------------------------


def _no_admission_while_open(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e = t.pre, t.event
    return z3.And(
        z3.Implies(z3.And(enc.is_mode(s, O), enc.admits(e)), _deadline_reached(enc, s, e["now"])),
        z3.Implies(enc.is_mode(s, F), z3.Not(enc.admits(e))),
    )


def _open_lasts(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    leaves_open = z3.And(enc.is_mode(s, O), z3.Not(enc.is_mode(n, O)), z3.Not(enc.is_trigger(e, *MANUAL)))
    enters_open = z3.And(enc.is_mode(n, O), z3.Or(z3.Not(enc.is_mode(s, O)), n["generation"] != s["generation"]))
    d = s["next_open_duration"]
    next_d = z3.If(
        _p(enc, "exponential_backoff"),
        z3.If(d * _p(enc, "backoff_factor") <= _p(enc, "backoff_cap"), d * _p(enc, "backoff_factor"), _p(enc, "backoff_cap")),
        d,
    )
    return z3.And(
        z3.Implies(z3.And(leaves_open, z3.Not(_late_admitting_probe_success(enc, e, s))), _deadline_reached(enc, s, e["now"])),
        z3.Implies(
            enters_open,
            z3.And(n["opened_at"] == e["now"], n["open_until"] >= e["now"] + d, n["next_open_duration"] == next_d),
        ),
    )


def _probe_slot_discipline(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    return z3.Implies(
        z3.And(enc.is_mode(s, H), enc.is_trigger(e, "release"), _current(e, s)),
        z3.And(
            enc.is_mode(n, H),
            n["probes_inflight"] == s["probes_inflight"] - 1,
            n["probes_admitted"] == s["probes_admitted"] - 1,
        ),
    )


def _trip_exactly(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    counted = z3.And(enc.is_mode(s, C), enc.is_trigger(e, "record_failure", "record_success"), _counted_in_closed(enc, e, s))
    failure = enc.is_trigger(e, "record_failure")
    consecutive = enc.is_param("trip_rule", TripRule.CONSECUTIVE)
    window_met = z3.And(
        e["window_calls"] >= _p(enc, "minimum_calls"),
        z3.Or(
            _rate_meets(enc, e["window_failures"], e["window_calls"], "failure_rate_num", "failure_rate_den"),
            z3.And(
                _p(enc, "slow_rule_enabled"),
                _rate_meets(enc, e["window_slow"], e["window_calls"], "slow_rate_num", "slow_rate_den"),
            ),
        ),
    )
    late_reopen = z3.And(_late_admitting_failure(enc, e, s), e["permit_state"] == code(H.value))
    return z3.Implies(
        z3.And(counted, z3.Not(late_reopen)),
        z3.If(
            consecutive,
            z3.If(
                failure,
                z3.And(
                    enc.is_mode(n, O) == (s["consecutive_failures"] + 1 == _p(enc, "fail_max")),
                    z3.Implies(enc.is_mode(n, C), n["consecutive_failures"] == s["consecutive_failures"] + 1),
                ),
                z3.And(enc.is_mode(n, C), n["consecutive_failures"] == 0),
            ),
            enc.is_mode(n, O) == window_met,
        ),
    )


def _legal_transitions(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    same = n.mode == s.mode

    def edge(a: State, b: State) -> z3.BoolRef:
        return z3.And(enc.is_mode(s, a), enc.is_mode(n, b))

    automatic = z3.Or(
        same,
        edge(C, O),
        edge(O, H),
        edge(H, C),
        edge(H, O),
    )
    # open->open restarts only by a late failure, open->closed only by a late probe success
    # (late_result="admitting_state"); every other manual-free step keeps forced/disabled.
    restart_ok = z3.Implies(
        z3.And(enc.is_mode(s, O), enc.is_mode(n, O), n["generation"] != s["generation"]),
        _late_admitting_failure(enc, e, s),
    )
    late_close = z3.Implies(edge(O, C), _late_admitting_probe_success(enc, e, s))
    return z3.And(
        z3.Implies(enc.is_trigger(e, "force_open"), z3.Or(same, enc.is_mode(n, F))),
        z3.Implies(enc.is_trigger(e, "disable"), z3.Or(same, enc.is_mode(n, D))),
        z3.Implies(enc.is_trigger(e, "reset"), enc.is_mode(n, C)),
        # trip always opens anew (from open too: the period restarts, which S2 then checks)
        z3.Implies(enc.is_trigger(e, "trip"), z3.And(enc.is_mode(n, O), n["generation"] == s["generation"] + 1)),
        # half_open enters half-open with no probe admitted yet; in half-open it changes nothing
        z3.Implies(
            enc.is_trigger(e, "half_open"),
            z3.If(
                enc.is_mode(s, H),
                unchanged(s, n),
                z3.And(enc.is_mode(n, H), n["probes_admitted"] == 0, n["probes_inflight"] == 0, n["half_open_since"] == e["now"]),
            ),
        ),
        z3.Implies(
            z3.Not(enc.is_trigger(e, *MANUAL)),
            z3.And(z3.Or(automatic, edge(O, C)), late_close, restart_ok, z3.Implies(enc.is_mode(s, F, D), same)),
        ),
        z3.Implies(z3.Not(same), n["generation"] == s["generation"] + 1),
        z3.Implies(z3.And(same, n["generation"] != s["generation"]), n["generation"] == s["generation"] + 1),
    )


def _probe_failure_reopens(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    return z3.Implies(
        z3.And(
            enc.is_mode(s, H),
            enc.is_trigger(e, "record_failure"),
            _counted_in_half_open(enc, e, s),
            enc.is_param("close_rule", CloseRule.CONSECUTIVE),
        ),
        z3.And(
            enc.is_mode(n, O),
            n["opened_at"] == e["now"],
            n["open_until"] >= e["now"] + _p(enc, "reset_timeout"),
            n["generation"] == s["generation"] + 1,
        ),
    )


def _close_after_successes(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    outcomes_after = s["probe_successes"] + s["probe_failures"] + 1
    consecutive_ok = z3.And(
        enc.is_param("close_rule", CloseRule.CONSECUTIVE),
        enc.is_trigger(e, "record_success"),
        s["probe_successes"] + 1 >= _p(enc, "success_threshold"),
    )
    failures_after = s["probe_failures"] + z3.If(enc.is_trigger(e, "record_failure"), 1, 0)
    rate_ok = z3.And(
        enc.is_param("close_rule", CloseRule.RATE),
        enc.is_trigger(e, "record_success", "record_failure"),
        outcomes_after >= _p(enc, "half_open_max_calls"),
        z3.Not(_rate_meets(enc, failures_after, outcomes_after, "failure_rate_num", "failure_rate_den")),
    )
    return z3.Implies(
        z3.And(enc.is_mode(s, H), enc.is_mode(n, C), z3.Not(enc.is_trigger(e, "reset"))),
        z3.Or(
            _late_admitting_probe_success(enc, e, s),
            z3.And(_counted_in_half_open(enc, e, s), z3.Or(consecutive_ok, rate_ok)),
        ),
    )


def _stale_changes_nothing(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    return z3.Implies(
        z3.And(
            enc.is_param("late_result", LateResultPolicy.IGNORE),
            enc.is_trigger(e, "record_success", "record_failure", "release"),
            z3.Not(_current(e, s)),
        ),
        unchanged(s, n),
    )


def _release_never_counts(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    return z3.Implies(
        enc.is_trigger(e, "release"),
        unchanged(s, n, ["generation", "consecutive_failures", "probe_successes", "probe_failures", "opened_at", "open_until"]),
    )


def _expired_half_open_ends(enc: Encoding, t: Step) -> z3.BoolRef:
    s, e, n = t.pre, t.event, t.post
    expired = z3.And(_p(enc, "max_wait_enabled"), e["now"] >= s["half_open_since"] + _p(enc, "half_open_max_wait"))
    return z3.Implies(
        z3.And(enc.is_mode(s, H), enc.is_trigger(e, "acquire", "poll"), expired),
        z3.And(enc.is_mode(n, O), z3.Not(enc.admits(e)), n["opened_at"] == e["now"]),
    )


STEP_PROPERTIES: tuple[StepProperty, ...] = (
    StepProperty("S1", "no admission while open before the deadline", _no_admission_while_open),
    StepProperty("S2", "open lasts its duration; each opening restarts the timer with the policy's duration", _open_lasts),
    StepProperty("S3", "a released probe frees its slot", _probe_slot_discipline),
    StepProperty("S4", "closed->open exactly when the trip rule is met", _trip_exactly),
    StepProperty("S5", "only legal transitions", _legal_transitions),
    StepProperty("S6", "a probe failure re-opens and restarts the timer", _probe_failure_reopens),
    StepProperty("S7", "half-open->closed only after the configured successes", _close_after_successes),
    StepProperty("S8", "a stale permit changes nothing (late_result=ignore)", _stale_changes_nothing),
    StepProperty("S10", "a released (excluded/cancelled) outcome never counts", _release_never_counts),
    StepProperty("L3a", "an expired half-open episode ends at the next acquire or poll", _expired_half_open_ends),
)

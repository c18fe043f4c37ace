"""The processes around the breaker in a generated Promela model: callers, clock, environment.

Concurrent callers acquire and settle in *separate* atomic steps, so results arrive late and out
of order; an ``Env`` process flips the service's health, a ``Clock`` ticks, and optional
``Poller`` and ``Manual`` processes fire ``poll`` and the manual triggers. ``SpinEnvironment``
says what that environment may do; the breaker's own steps are the ``on_<trigger>`` inlines that
``promela`` generates from the table.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from breakerlab.model.config import CloseRule, LateResultPolicy

from .vocabulary import CLOCK, ENV, EVENTS, MANUAL, MANUAL_EVENTS, POLLER

if TYPE_CHECKING:
    from .promela import PromelaModel

__all__ = ["SpinEnvironment", "processes"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpinEnvironment:
    """What the environment of the breaker may do, besides callers, time and health flips.

    Attributes:
        manual: A ``Manual`` process fires the manual triggers (``MANUAL_EVENTS``:
            ``force_open``, ``trip``, ``half_open``, ``disable``, ``reset``) at any time (safety
            runs: it defeats every liveness property), and asserts where each one leads (S5; a
            ``trip`` is a new opening for the current duration, S2). L4 assumes no manual
            control: a manual step after ``t0``, or ``t0`` while forced open or disabled, voids it.
        releases: How many times in total callers may settle with ``release`` (excluded error,
            cancellation). Finite, so that under fairness results are eventually reported.
        outage: ``Env`` may take the service down for good (the time ``t0`` of L4).
        recovery: L5's scenario: ``Env`` may recover for good (the time ``t1``), after which
            results are never released and the clock ticks only after every caller stepped.
            Needs ``manual=False``, ``outage=False`` and callers that lose no result.
        recovery_bound: L5's bound in ticks (``None``: ``recovery.recovery_bound(config, callers)``);
            set it only to test the bound itself.
    """

    manual: bool = False
    releases: int = 1
    outage: bool = True
    recovery: bool = False
    recovery_bound: int | None = None


#: Where each manual trigger leads (S5), written from SEMANTICS.md, not from the table: the
#: tags and the assertion after the step. ``trip`` is always a new opening (open->open too)
#: with the deadline the current open duration away (S2: SPIN models no jitter).
_MANUAL_ASSERTIONS: dict[str, tuple[str, str]] = {
    "force_open": ("S5", "mode == FORCED_OPEN"),
    "trip": ("S2 S5", "mode == OPEN && bumped && open_until_rel == pre_next_open_duration"),
    "half_open": ("S5", "mode == HALF_OPEN && (pre_mode == HALF_OPEN -> !bumped : "
                        "(bumped && probes_admitted == 0 && probes_inflight == 0))"),
    "disable": ("S5", "mode == DISABLED"),
    "reset": ("S5", "mode == CLOSED && bumped"),
}


def processes(m: PromelaModel, callers: int, lossy: bool, horizon: int | None, environment: SpinEnvironment,
              l4: bool, l5: bool, deadline: str, late: LateResultPolicy) -> list[str]:
    """The ``Caller``, ``Clock``, ``Env`` (and ``Poller``, ``Manual``) processes and ``init``,
    with the assertions checked inside their steps (S1, S6-S8, S10, L4, L5)."""
    cfg, ev = m.config, EVENTS.index
    counted_h = "!pre_stale" if late is not LateResultPolicy.CURRENT_STATE else "true"
    unchanged = " && ".join(["mode == pre_mode", "!bumped", *(f"{n} == pre_{n}" for n in map(m.times.stored_name, m.vars))])
    mark = "stepped[c] = up; " if l5 else ""  # L5's round discipline counts steps after t1 only
    settle = f"{mark}holds[c] = 0; stale[c] = 0; pstate[c] = 0" + ("; adm_down[c] = 0" if l4 else "") + "; scrub()"
    s8 = [f"    assert(!pre_stale || ({unchanged}));  /* S8 */"] if late is LateResultPolicy.IGNORE else []
    rate = cfg.close_rule is CloseRule.RATE
    late_close = " || (pre_stale && pstate[c] == HALF_OPEN)" if late is LateResultPolicy.ADMITTING_STATE else ""
    enough = ("pre_probe_successes + pre_probe_failures + 1 >= MAX_CALLS" if rate
              else "pre_probe_successes + 1 >= SUCCESS_THRESHOLD")
    closes = "!(pre_mode == HALF_OPEN && mode == CLOSED) || "
    s7_success = f"    assert({closes}({counted_h} && {enough}){late_close});  /* S7 */"
    s7_failure = f"    assert({closes}" + (f"({counted_h} && {enough})" if rate else "false") + ");  /* S7 */"
    admit = "admitted = 1; holds[c] = 1; stale[c] = 0; pstate[c] = mode"
    admit += "; adm_down[c] = down && !l4_done" if l4 else ""
    lines = ["proctype Caller(byte c) {", "  do",
             "  :: atomic { !holds[c] ->", "    begin_step(c);", "    on_acquire(c);",
             f"    if :: verdict == 1 || verdict == 2 -> {admit} :: else fi;",
             f"    end_step(c, {ev('acquire')});",
             f"    assert(!(admitted && pre_mode == OPEN) || pre_open_until_rel {deadline} 0);  /* S1 */",
             "    assert(!(admitted && pre_mode == FORCED_OPEN));  /* S1 */", f"    {mark}scrub()", "    }",
             "  :: atomic { holds[c] && healthy ->", "    begin_step(c);", "    on_record_success(c);",
             f"    end_step(c, {ev('record_success')});", *s8,
             s7_success,
             f"    {settle}", "    }",
             "  :: atomic { holds[c] && !healthy ->", "    begin_step(c);", "    on_record_failure(c);"]
    if l4:
        lines.append("    if :: adm_down[c] && !l4_done -> fails_down++ :: else fi;")
    lines += [f"    end_step(c, {ev('record_failure')});", *s8, s7_failure]
    if cfg.close_rule is CloseRule.CONSECUTIVE:
        lines.append(f"    assert(!(pre_mode == HALF_OPEN && {counted_h}) || (mode == OPEN && "
                     "open_until_rel == pre_next_open_duration));  /* S6 */")
    if l4:
        lines.append("    assert(l4_done || fails_down < FAIL_MAX);  /* L4 */")
    lines += [f"    {settle}", "    }"]
    if environment.releases > 0:
        lines += ["  :: atomic { holds[c] && releases_left > 0 ->", "    releases_left--;", "    begin_step(c);",
                  "    on_release(c);", f"    end_step(c, {ev('release')});", *s8,
                  "    assert(mode == pre_mode && !bumped && consecutive_failures == pre_consecutive_failures && "
                  "probe_successes == pre_probe_successes && probe_failures == pre_probe_failures);  /* S10 */",
                  f"    {settle}", "    }"]
    if lossy:
        lose = f"holds[c] && losses_left > 0 -> losses_left--; {settle}; log_step(c, {ev('lost')})"
        lines += [f"  :: atomic {{ {lose} }};",
                  "     break  /* the result is lost: this caller never reports again */"]
    lines += ["  od", "}", ""]
    tick = [f"{n} = ({n} > FLOOR -> {n} - 1 : FLOOR);" for n in (m.times.stored_name(v) for v in m.vars if m.times.is_time(v))]
    if l5:
        round_done = " && ".join(f"stepped[{i}]" for i in range(callers))
        guard = (f"ticks < {horizon} && " if horizon is not None else "") + f"(!up || ({round_done})) -> "
        guard += "ticks++; " if horizon is not None else ""
        unstep = "; ".join(f"stepped[{i}] = 0" for i in range(callers))
        lines += ["proctype Clock() {", "  do",
                  f"  :: atomic {{ {guard} /* after t1, a tick ends a round in which every caller stepped */",
                  f"    {' '.join(tick)} now_abs++;",
                  f"    if :: up -> since_up = (since_up > L5_BOUND -> since_up : since_up + 1); {unstep} :: else fi;",
                  f"    log_step({CLOCK}, {ev('tick')});",
                  "    assert(since_up <= L5_BOUND || mode == CLOSED)  /* L5 */",
                  "    }", "  od", "}", ""]
    else:
        guard = f"ticks < {horizon} -> ticks++; " if horizon is not None else ""
        lines += ["proctype Clock() {", "  do",
                  f"  :: atomic {{ {guard}{' '.join(tick)} now_abs++; log_step({CLOCK}, {ev('tick')}) }}",
                  "  od", "}", ""]
    lines += ["proctype Env() {", "  do", f"  :: atomic {{ healthy = !healthy; log_step({ENV}, {ev('env_flip')}) }}"]
    if environment.outage:
        void = "; l4_done = (mode == FORCED_OPEN || mode == DISABLED)"  # L4 assumes no manual control
        lines.append(f"  :: atomic {{ healthy = 0; down = 1{void}; log_step({ENV}, {ev('env_down')}) }}; break")
    if l5:
        lines.append(f"  :: atomic {{ healthy = 1; up = 1; releases_left = 0; log_step({ENV}, {ev('env_up')}) }}; "
                     "break  /* t1: healthy for good, no release after it */")
    else:
        lines.append(f"  :: atomic {{ log_step({ENV}, {ev('env_stable')}) }}; break  /* health stays as it is */")
    lines += ["  od", "}", ""]
    if m.poll:
        lines += ["proctype Poller() {", "  do",
                  f"  :: atomic {{ begin_step(0); on_poll(0); end_step({POLLER}, {ev('poll')}); scrub() }}",
                  "  od", "}", ""]
    if environment.manual:
        lines += ["proctype Manual() {", "  do"]
        void = "if :: down -> l4_done = 1; fails_down = 0 :: else fi; " if l4 else ""
        for t in MANUAL_EVENTS:
            tags, leads_to = _MANUAL_ASSERTIONS[t]
            lines += [f"  :: atomic {{ begin_step(0); on_{t}(0); {void}end_step({MANUAL}, {ev(t)});",
                      f"    assert({leads_to});  /* {tags} */", "    scrub() }"]
        lines += ["  od", "}", ""]
    runs = [f"run Caller({i});" for i in range(callers)] + ["run Clock();", "run Env();"]
    runs += ["run Poller();"] * m.poll + ["run Manual();"] * environment.manual
    return lines + ["init {", "  atomic { " + " ".join(runs) + " }", "}", ""]

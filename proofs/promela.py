"""Generate a Promela model for SPIN from the transition table, specialised to one configuration.

The same idea as ``breakerlab.model.pycompile``: the table is folded with the configuration's
parameters, dead rows disappear, and each (state, trigger) pair becomes one first-match
``if :: guard0 -> actions0 :: else -> if ... fi fi`` inside the atomic step of the process
that fires the trigger. Nothing is written per property, so the checked model is the table the
breaker executes. Concurrent callers acquire and settle in *separate* atomic steps, so results
arrive late and out of order; an ``Env`` process flips the service's health, a ``Clock`` ticks,
and optional ``Poller`` and ``Manual`` processes fire ``poll`` and the manual triggers.

Supported: ``trip_rule="consecutive"`` with ``jitter_ratio=0`` and whole-tick durations. The
window trip rules (which need the window's history) are covered by the z3 proofs and the
Hypothesis tests instead; other configurations raise ``ValueError``.

Abstractions, each checked against the folded table (``ValueError`` if the table leaves them):

* **Relative time.** Times are integer ticks. Every time-valued variable ``v`` is stored as
  ``v_rel = v - now``, ``now`` itself becomes ``0``, and each tick decrements every ``v_rel``,
  clamped at ``FLOOR = -(M + 1)`` where ``M`` is the largest constant a time is compared with.
  This is exact when every guard and action is invariant under translation of time (only
  differences of times appear) and every comparison involving a time is ``v - now`` against a
  constant (then values below ``-M`` all compare alike, so the clamp changes no guard).
* **Generation.** The table only increments ``generation`` and compares it with the permit's.
  Each caller holds one ``stale`` bit instead: every increment sets it for every caller holding
  a permit, admission clears it, and ``permit_generation == generation`` becomes ``!stale[c]``.
* **Write-only variables** (never read by a guard, an assertion, or a kept variable's update,
  e.g. ``opened_at``) are not modelled.

L5 (bounded recovery) has its own scenario, ``Scenario(recovery=True)``: no manual control, no
lost results, and ``Env`` may recover for good (ghost bit ``up``, the time ``t1``). Before
``t1`` everything is as usual; from ``t1`` on every result is a success, no permit is released
(releases are allowed only before recovery: each release of a probe after it would add a
probe cycle to the bound), and calls keep arriving by a *round discipline*: the clock ticks
only after every caller has taken a step (acquire, or settle the permit it holds) since the
previous tick. A counter ``since_up`` of ticks since ``t1`` saturates at ``L5_BOUND + 1``, and each tick asserts
``since_up <= L5_BOUND || mode == CLOSED``. ``recovery_bound`` computes the bound, in ticks::

    L5_BOUND = leftover + open + entry + probe_rounds
    open         = backoff_cap if exponential else reset_timeout   (the longest opening)
    entry        = 0 if admit_at_deadline else 1                   (an exclusive deadline admits a tick later)
    probes       = success_threshold (close_rule consecutive) or half_open_max_calls (rate)
    waves        = ceil(probes / min(callers, half_open_max_calls))
    probe_rounds = 2 * waves - 1     (a caller acquires in one round and, at worst, reports in the next)
    leftover     = 2 * waves if close_rule == "rate" or half_open_max_wait is set, else 0

The worst case is an opening for the longest duration just before ``t1``: its deadline comes
after ``open + entry`` ticks, and the probes of the episode it starts report after
``probe_rounds`` more. ``leftover`` is for the half-open episode in progress at ``t1`` (or
starting in its first round): under the rate rule a failure recorded before ``t1`` may doom
it, and with a maximum wait it may expire, so it can end in one more opening. It is decided by
``2 * waves`` ticks: every caller settles the permit it held at ``t1`` in the first round,
which can delay that episode's probes by one round (one tick of slack over ``probe_rounds``;
SPIN needs it with a maximum wait of 2 and two probes, the suite's ``max_wait_two_probes``).
Without them the episode at ``t1`` has no failure and can only close. The formula is an upper
bound checked by SPIN on the suite's cases, not a proof for every configuration; one tick less
fails on every case except ``rate_close``, ``max_wait`` and ``max_wait_admitting``, where the
slack of ``leftover`` is not needed. It does not hold when
``half_open_max_wait < 2 * waves``: an ``acquire`` or ``poll`` in the round after a probe was
admitted can end the episode before the probe reports, every time, and unless late results are
handled by the admitting state the breaker never closes (L5 fails for every bound).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence

from breakerlab.model import BreakerConfig, State
from breakerlab.model.config import CloseRule, HalfOpenLimit, LateResultPolicy, OpenDurationPolicy, TripRule
from breakerlab.model.expr import Arg, Assign, BinOp, BoolOp, Cmp, Const, Effect, Expr, Ite, Not, Var, fold, names, walk
from breakerlab.model.expr import replace as replace_expr
from breakerlab.model.table import TRIGGERS, VARIABLES, Row, Table, Verdict

from .encoding import code

__all__ = ["AGENTS", "EVENTS", "LTL", "VERDICTS", "Scenario", "generate", "recovery_bound", "time_floor"]

#: Events printed in the trace: the table's triggers, then the environment's own steps.
EVENTS: tuple[str, ...] = (*TRIGGERS, "tick", "env_flip", "env_down", "env_stable", "lost", "env_up")
#: ``who`` codes of the processes that are not callers (callers print their id, 0, 1, ...).
AGENTS: Mapping[int, str] = {100: "clock", 101: "poller", 102: "env", 103: "manual"}
#: Verdict codes printed in the trace.
VERDICTS: tuple[str | None, ...] = (None, Verdict.ADMIT.value, Verdict.ADMIT_PROBE.value, Verdict.REJECT.value)
#: The liveness properties, as Spin LTL over the generated globals.
LTL: Mapping[str, str] = {
    "L1": "(<>[] healthy) -> <>[] (mode == CLOSED)",
    "L2": "[] ((mode == OPEN) -> <> (mode != OPEN))",
    "L3": "[] ((mode == HALF_OPEN) -> <> (mode != HALF_OPEN))",
}
#: Variables the generated assertions read (kept even if the table never reads them).
_ASSERTED = ("consecutive_failures", "open_until", "next_open_duration", "probes_admitted",
             "probes_inflight", "probe_successes", "probe_failures")
_NOW, _GEN, _PGEN = Arg("now"), Var("generation"), Arg("permit_generation")
_OUTCOMES = ("record_success", "record_failure", "release")
_CLOCK, _POLLER, _ENV, _MANUAL = 100, 101, 102, 103


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scenario:
    """What the environment of the breaker may do, besides callers, time and health flips.

    Attributes:
        manual: A ``Manual`` process fires ``force_open``, ``disable`` and ``reset`` at any
            time (safety runs: it defeats every liveness property). L4 assumes no manual
            control: a manual step after ``t0``, or ``t0`` while forced open or disabled, voids it.
        releases: How many times in total callers may settle with ``release`` (excluded error,
            cancellation). Finite, so that under fairness results are eventually reported.
        outage: ``Env`` may take the service down for good (the time ``t0`` of L4).
        recovery: L5's scenario: ``Env`` may recover for good (the time ``t1``), after which
            results are never released and the clock ticks only after every caller stepped.
            Needs ``manual=False``, ``outage=False`` and callers that lose no result.
        recovery_bound: L5's bound in ticks (``None``: ``recovery_bound(config, callers)``);
            set it only to test the bound itself.
    """

    manual: bool = False
    releases: int = 1
    outage: bool = True
    recovery: bool = False
    recovery_bound: int | None = None


def recovery_bound(config: BreakerConfig, callers: int) -> int:
    """L5's bound: ticks after recovery by which the breaker is closed (formula in the module
    docstring). Meaningful only when ``half_open_max_wait`` is unset or at least two ticks per
    probe wave; with a shorter maximum wait L5 fails whatever the bound."""
    terms = _recovery_terms(config, callers)
    return terms["leftover"] + terms["open"] + terms["entry"] + terms["probe_rounds"]


def _recovery_terms(config: BreakerConfig, callers: int) -> dict[str, int]:
    """The terms of L5's bound (and the probe count and waves behind ``probe_rounds``)."""
    _check_config(config)
    if callers < 1:
        raise ValueError(f"'callers' must be >= 1 (got {callers!r})")
    exponential = config.open_duration_policy is OpenDurationPolicy.EXPONENTIAL
    consecutive = config.close_rule is CloseRule.CONSECUTIVE
    probes = config.success_threshold if consecutive else config.half_open_max_calls
    waves = -(-probes // min(callers, config.half_open_max_calls))
    probe_rounds = 2 * waves - 1
    return {
        "open": int(config.backoff_cap if exponential and config.backoff_cap is not None else config.reset_timeout),
        "entry": 0 if config.admit_at_deadline else 1,
        "probes": probes,
        "waves": waves,
        "probe_rounds": probe_rounds,
        "leftover": 2 * waves if not consecutive or config.half_open_max_wait is not None else 0,
    }


def time_floor(table: Table, config: BreakerConfig) -> int:
    """The clamp floor ``-(M + 1)`` of relative times for ``table`` under ``config``."""
    return _Model(table, config).floor


def generate(
    table: Table,
    config: BreakerConfig,
    *,
    callers: int = 2,
    lossy: bool = False,
    horizon_ticks: int | None = None,
    scenario: Scenario = Scenario(),
) -> str:
    """The complete Promela model of ``table`` under ``config``, as text (deterministic).

    Args:
        table: The transition table (the reference ``TABLE`` or a mutant).
        config: A configuration with ``trip_rule="consecutive"``, no jitter, whole-tick times.
        callers: Concurrent caller processes (each acquires, then settles later).
        lossy: Callers may lose a result forever (a probe that never reports); at most
            ``callers - 1`` results are lost, so one caller always keeps calling.
        horizon_ticks: ``None``: time is unbounded (the relative-time abstraction keeps the
            state space finite). A number: the clock stops after that many ticks (bounded
            experiments; liveness needs unbounded time).
        scenario: Manual triggers, releases, permanent outage.

    Raises:
        ValueError: an unsupported configuration, or a table outside the abstractions.
    """
    if callers < 1 or (lossy and callers < 2):
        raise ValueError(f"'callers' must be >= 1 (>= 2 when lossy) (got {callers!r})")
    if horizon_ticks is not None and horizon_ticks < 0:
        raise ValueError(f"'horizon_ticks' must be None or >= 0 (got {horizon_ticks!r})")
    if scenario.recovery and (scenario.manual or scenario.outage or lossy):
        raise ValueError(
            "L5's recovery scenario needs manual=False, outage=False and lossy=False "
            f"(got manual={scenario.manual}, outage={scenario.outage}, lossy={lossy})"
        )
    if scenario.recovery_bound is not None and (scenario.recovery_bound < 0 or not scenario.recovery):
        raise ValueError(
            f"'recovery_bound' must be None, or >= 0 with recovery=True (got {scenario.recovery_bound!r})"
        )
    return _Model(table, config).render(callers, lossy, horizon_ticks, scenario)


def _check_config(config: BreakerConfig) -> None:
    if config.trip_rule is not TripRule.CONSECUTIVE:
        raise ValueError(
            f"'trip_rule' must be 'consecutive' for SPIN (got {config.trip_rule.value!r}); "
            "window rules are checked by the z3 proofs and the Hypothesis tests"
        )
    if config.jitter_ratio != 0:
        raise ValueError(f"'jitter_ratio' must be 0 for SPIN (got {config.jitter_ratio!r})")
    ticks = {"reset_timeout": config.reset_timeout, "half_open_max_wait": config.half_open_max_wait}
    if config.open_duration_policy is OpenDurationPolicy.EXPONENTIAL:
        if config.backoff_cap is None:
            raise ValueError("'backoff_cap' must be set for SPIN (got None): an uncapped backoff has no finite model")
        ticks |= {"backoff_factor": config.backoff_factor, "backoff_cap": config.backoff_cap}
    for name, value in ticks.items():
        if value is not None and value != int(value):
            raise ValueError(f"'{name}' must be a whole number of ticks for SPIN (got {value!r})")


def _int(value: object, where: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
        raise ValueError(f"constant {value!r} in {where} is not a whole number; SPIN models integers only")
    return int(value)


class _Model:
    """The folded table of one configuration, analysed and rendered as Promela."""

    def __init__(self, table: Table, config: BreakerConfig) -> None:
        _check_config(config)
        self.table, self.config = table, config
        params = config.table_params()
        self.rows: dict[tuple[State, str], list[tuple[int, Expr, list[Assign], Row]]] = {}
        for index, row in enumerate(table.rows):
            pair = self.rows.setdefault((row.source, row.trigger), [])
            if pair and pair[-1][1] == Const(True):
                continue  # after a row that always matches
            guard = fold(replace_expr(row.guard, Arg("jitter"), Const(0.0)), params)
            if guard == Const(False):
                continue
            assigns = []
            for action in row.actions:
                if isinstance(action, Effect):
                    if fold(action.when, params) != Const(False):
                        raise ValueError(f"{row}: effect {action} needs the trip window, which SPIN does not model")
                    continue
                expr = fold(replace_expr(action.expr, Arg("jitter"), Const(0.0)), params)
                if expr != Var(action.var):
                    assigns.append(Assign(action.var, expr))
            pair.append((index, guard, assigns, row))
        live = [(g, a, r) for pair in self.rows.values() for _, g, a, r in pair]
        self.time_vars = _time_vars(a for _, assigns, _ in live for a in assigns)
        self.vars = _kept_vars(live, self.time_vars)
        self.comparison_bound = 0
        for guard, assigns, row in live:
            exprs = [guard, *(a.expr for a in assigns)]
            permit_args = {"permit_state", "permit_generation"}
            if row.trigger not in _OUTCOMES and any(names(e, Arg) & permit_args for e in exprs):
                raise ValueError(f"{row}: a {row.trigger} event carries no permit")
            _check_generation(row, guard, assigns)
            self._kind(guard, row)
            for a in assigns:
                if a.var == "generation":
                    continue
                kind = self._kind(a.expr, row)
                if kind != ("time" if a.var in self.time_vars else "num"):
                    raise ValueError(
                        f"{row}: {a} assigns a {kind} value to {a.var}, breaking time-translation invariance"
                    )
                if a.var in self.time_vars and _base(a.expr, self.time_vars) not in (None, "now"):
                    raise ValueError(
                        f"{row}: {a} sets a time from another stored time; only now + duration is modelled"
                    )
            for node in walk(guard):
                if isinstance(node, Cmp) and names(node, Var) & self.time_vars | names(node, Arg) & {"now"}:
                    self.comparison_bound = max(self.comparison_bound, self._clamp_offset(node, row))
        self.floor = -(self.comparison_bound + 1)
        self.temps = 0  # scratch variables needed by simultaneous assignments (set by render)
        self.poll = any(r.dest is not None for _, _, r in live if r.trigger == "poll")

    # -- analysis ------------------------------------------------------------------------------

    def _kind(self, expr: Expr, row: Row) -> str:
        """``time`` (a point in time), ``num``, ``bool`` or ``state``; raises unless every time
        appears in a translation-invariant way (differences of times, time plus duration)."""
        if isinstance(expr, Const):
            return "state" if isinstance(expr.value, str) else "bool" if isinstance(expr.value, bool) else "num"
        if isinstance(expr, Var):
            return "time" if expr.name in self.time_vars else "num"
        if isinstance(expr, Arg):
            return {"now": "time", "permit_state": "state", "permit_generation": "num"}.get(expr.name, "num")
        if isinstance(expr, BinOp):
            left, right = self._kind(expr.left, row), self._kind(expr.right, row)
            table = {("+", "time", "num"): "time", ("+", "num", "time"): "time", ("-", "time", "time"): "num",
                     ("-", "time", "num"): "time", ("min", "time", "time"): "time"}
            kind = "num" if (left, right) == ("num", "num") else table.get((expr.op, left, right))
            if kind is None:
                raise ValueError(f"{row}: '{expr}' ({left} {expr.op} {right}) is not invariant under time translation")
            return kind
        if isinstance(expr, Cmp):
            left, right = self._kind(expr.left, row), self._kind(expr.right, row)
            if left != right:
                raise ValueError(f"{row}: '{expr}' compares a {left} with a {right}")
            return "bool"
        if isinstance(expr, BoolOp | Not):
            for operand in expr.operands if isinstance(expr, BoolOp) else (expr.operand,):
                self._kind(operand, row)
            return "bool"
        if isinstance(expr, Ite):
            self._kind(expr.cond, row)
            then, orelse = self._kind(expr.then, row), self._kind(expr.orelse, row)
            if then != orelse:
                raise ValueError(f"{row}: '{expr}' has branches of kinds {then} and {orelse}")
            return then
        raise TypeError(f"unknown expression node {expr!r}")

    def _clamp_offset(self, cmp: Cmp, row: Row) -> int:
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

    # -- rendering -----------------------------------------------------------------------------

    def expr(self, e: Expr, row: Row) -> str:
        """Promela for a folded, analysed expression (inside an inline with caller ``c``)."""
        if isinstance(e, Const):
            if isinstance(e.value, bool):
                return "true" if e.value else "false"
            if isinstance(e.value, str):
                if e.value not in {s.value for s in State}:
                    raise ValueError(f"{row}: enum constant {e.value!r} left after folding")
                return e.value.upper()
            return str(_int(e.value, row))
        if isinstance(e, Var):
            if e.name not in self.vars:
                raise ValueError(f"{row}: variable {e.name!r} cannot be translated")
            return f"{e.name}_rel" if e.name in self.time_vars else e.name
        if isinstance(e, Arg):
            if e.name == "now":
                return "0"
            if e.name == "permit_state":
                return "pstate[c]"
            raise ValueError(f"{row}: event argument {e.name!r} is not modelled in SPIN")
        if isinstance(e, Cmp) and {e.left, e.right} == {_PGEN, _GEN}:
            return {"==": "(!stale[c])", "!=": "stale[c]"}[e.op]
        if isinstance(e, BinOp):
            left, right = self.expr(e.left, row), self.expr(e.right, row)
            if e.op == "min":
                return f"(({left} <= {right}) -> {left} : {right})"
            if e.op in ("+", "-") and right == "0":
                return left
            if e.op == "+" and left == "0":
                return right
            if e.op == "*" and "1" in (left, right):
                return left if right == "1" else right
            return f"({left} {e.op} {right})"
        if isinstance(e, Cmp):
            return f"({self.expr(e.left, row)} {e.op} {self.expr(e.right, row)})"
        if isinstance(e, BoolOp):
            return "(" + (" && " if e.op == "and" else " || ").join(self.expr(o, row) for o in e.operands) + ")"
        if isinstance(e, Not):
            if isinstance(e.operand, Cmp) and {e.operand.left, e.operand.right} == {_PGEN, _GEN}:
                return {"==": "stale[c]", "!=": "(!stale[c])"}[e.operand.op]
            return f"!{self.expr(e.operand, row)}"
        if isinstance(e, Ite):
            return f"({self.expr(e.cond, row)} -> {self.expr(e.then, row)} : {self.expr(e.orelse, row)})"
        raise TypeError(f"unknown expression node {e!r}")

    def _name(self, var: str) -> str:
        return f"{var}_rel" if var in self.time_vars else var

    def _row_body(self, index: int, assigns: list[Assign], row: Row, indent: str) -> list[str]:
        """The row's actions as one simultaneous assignment, then its bookkeeping."""
        kept = [a for a in assigns if a.var in self.vars]
        assigned = {a.var for a in kept}
        early, late = [], []
        for n, a in enumerate(kept):
            source = self.expr(a.expr, row)
            if (names(a.expr, Var) & assigned) - {a.var}:
                early.append(f"tmp{n} = {source}")
                late.append(f"{self._name(a.var)} = tmp{n}")
            else:
                late.append(f"{self._name(a.var)} = {source}")
        self.temps = max(self.temps, len(kept) if early else 0)
        lines = early + late
        if any(a.var == "generation" for a in assigns):
            lines.append("bump()")
        if row.dest is not None:
            lines += [f"mode = {row.dest.value.upper()}", "changed = 1"]
        verdict = VERDICTS.index(row.verdict.value if row.verdict is not None else None)
        lines += [f"row = {index}", f"verdict = {verdict}"]
        return [f"{indent}{line};" for line in lines[:-1]] + [f"{indent}{lines[-1]}"]

    def _dispatch(self, trigger: str) -> list[str]:
        lines = [f"inline on_{trigger}(c) {{", "  if"]
        for state in State:
            lines.append(f"  :: mode == {state.value.upper()} ->  /* {state.value} --{trigger}--> */")
            rows = self.rows[(state, trigger)]
            depth = 0
            for i, (index, guard, assigns, row) in enumerate(rows):
                pad = "     " + "   " * depth
                if i == len(rows) - 1 and guard == Const(True):
                    lines.append(f"{pad}/* {row.cause} */")
                    lines += self._row_body(index, assigns, row, pad)
                    break
                lines += [f"{pad}if", f"{pad}:: {self.expr(guard, row)} ->  /* {row.cause} */"]
                lines += self._row_body(index, assigns, row, pad + "   ")
                lines.append(f"{pad}:: else ->")
                depth += 1
            for level in reversed(range(depth)):
                lines.append("     " + "   " * level + "fi")
        lines += ["  fi", "}", ""]
        return lines

    def bound(self, callers: int, scenario: Scenario) -> int:
        """L5's bound for this model: the scenario's, or the formula's."""
        if scenario.recovery_bound is not None:
            return scenario.recovery_bound
        return recovery_bound(self.config, callers)

    def render(self, callers: int, lossy: bool, horizon: int | None, scenario: Scenario) -> str:
        cfg = self.config
        self.temps = 0
        dispatch = [line for trigger in TRIGGERS for line in self._dispatch(trigger)]
        l4 = scenario.outage  # L4 needs Env's permanent outage (t0)
        l5 = scenario.recovery  # L5 needs Env's permanent recovery (t1) and the round discipline
        per_episode = cfg.half_open_limit is HalfOpenLimit.PER_EPISODE
        late = cfg.late_result
        names_ = [self._name(v) for v in self.vars]
        out: list[str] = [*_header(self, callers, lossy, horizon, scenario)]
        out += [f"#define {s.value.upper()} {code(s.value)}" for s in State]
        out += [f"#define NCALLERS {callers}", f"#define FLOOR ({self.floor})", f"#define FAIL_MAX {cfg.fail_max}",
                f"#define MAX_CALLS {cfg.half_open_max_calls}", f"#define SUCCESS_THRESHOLD {cfg.success_threshold}",
                f"#define RESET_TIMEOUT {int(cfg.reset_timeout)}"]
        if l5:
            out.append(f"#define L5_BOUND {self.bound(callers, scenario)}")
        out.append("")
        out.append("byte mode = CLOSED;")
        for var in self.vars:
            init = fold(VARIABLES[var], cfg.table_params())
            out.append(f"short {self._name(var)} = {_int(init.value if isinstance(init, Const) else init, var)};")
        out += ["bit healthy = 1;", "bit holds[NCALLERS];      /* caller c holds a permit */",
                "bit stale[NCALLERS];      /* ... of an earlier generation */",
                "byte pstate[NCALLERS];    /* ... admitted in this state */",
                f"byte releases_left = {scenario.releases};", f"byte losses_left = {callers - 1 if lossy else 0};"]
        if l4:
            out += ["bit down = 0;             /* the service is down for good (L4's t0) */",
                    "bit adm_down[NCALLERS];   /* L4: permit admitted after t0 */",
                    "byte fails_down = 0;      /* L4: failures of such calls recorded */",
                    "bit l4_done = 0;          /* L4: opened after t0 (or voided by manual control) */"]
        if l5:
            out += ["bit up = 0;               /* the service is healthy for good (L5's t1) */",
                    "byte since_up = 0;        /* L5: ticks since t1, saturating at L5_BOUND + 1 */",
                    "bit stepped[NCALLERS];    /* L5: caller c took a step since the last tick (after t1) */"]
        if horizon is not None:
            out.append(f"byte ticks = 0;           /* the clock stops at {horizon} */")
        scratch = ["row", "verdict", "changed", "bumped", "admitted", "pre_stale", "pre_mode",
                   *(f"pre_{n}" for n in names_), *(f"tmp{i}" for i in range(self.temps))]
        out += ["", "hidden int now_abs = 0;      /* absolute time, for the trail only: not part of the state */",
                "/* scratch of one atomic step, reset by scrub() at its end so stored states stay canonical */",
                "short row = -1;", "byte verdict, changed, bumped, admitted, pre_stale, pre_mode;"]
        out += [f"short pre_{n};" for n in names_]
        out += [f"short tmp{i};" for i in range(self.temps)]
        printed = ["healthy", *(["down"] if l4 else []), *(["up", "since_up"] if l5 else []), *names_]
        fields, values = " ".join(f"{n}=%d" for n in printed), ", ".join(printed)
        out += ["", "inline log_step(who, ev) {",
                f'  printf("@@STEP who=%d ev=%d row=%d verdict=%d now=%d mode=%d {fields}\\n", '
                f"who, ev, row, verdict, now_abs, mode, {values})", "}",
                "inline scrub() { " + " ".join(f"{v} = {-1 if v == 'row' else 0};" for v in scratch)[:-1] + " }",
                "inline bump() { " + " ".join(f"stale[{i}] = holds[{i}];" for i in range(callers)) + " bumped = 1 }",
                "inline begin_step(c) {", "  row = -1; verdict = 0; changed = 0; bumped = 0; admitted = 0;",
                "  pre_stale = stale[c]; pre_mode = mode;", "  " + " ".join(f"pre_{n} = {n};" for n in names_), "}", ""]
        deadline = "<=" if cfg.admit_at_deadline else "<"
        invariants = [
            ("S3", "mode != HALF_OPEN || (0 <= probes_inflight && probes_inflight <= probes_admitted && "
                   "probes_inflight <= MAX_CALLS" + (" && probes_admitted <= MAX_CALLS)" if per_episode else ")")),
            ("S4 S9", "mode != CLOSED || consecutive_failures < FAIL_MAX"),
            ("S9", "mode == CLOSED || consecutive_failures == 0"),
            ("S9", "mode == HALF_OPEN || (probes_admitted == 0 && probes_inflight == 0 && probe_successes == 0 && "
                   "probe_failures == 0)"),
            ("S9", "consecutive_failures >= 0 && probe_successes >= 0 && probe_failures >= 0"),
            ("S9", "mode != CLOSED || next_open_duration == RESET_TIMEOUT"),
            ("S9", "mode != HALF_OPEN || "
                   + ("(probe_failures == 0 && probe_successes < SUCCESS_THRESHOLD)"
                      if cfg.close_rule is CloseRule.CONSECUTIVE else "probe_successes + probe_failures < MAX_CALLS")),
        ]
        out += ["/* generated assertions, written from the configuration (not from the table) */",
                "inline end_step(who, ev) {"]
        if l4:
            out.append("  if :: down && changed && mode == OPEN -> l4_done = 1; fails_down = 0 :: else fi;")
        out += ["  log_step(who, ev);",
                f"  assert(!(pre_mode == OPEN && mode == HALF_OPEN) || pre_open_until_rel {deadline} 0);  /* S2 */"]
        out += [f"  assert({inv}){';' if i < len(invariants) - 1 else ''}  /* {tag} */"
                for i, (tag, inv) in enumerate(invariants)]
        out += ["}", ""]
        out += dispatch
        out += _processes(self, callers, lossy, horizon, scenario, l4, l5, deadline, late)
        out += [f"ltl {name} {{ {formula} }}" for name, formula in LTL.items()]
        return "\n".join(out) + "\n"


def _processes(m: _Model, callers: int, lossy: bool, horizon: int | None, scenario: Scenario,
               l4: bool, l5: bool, deadline: str, late: LateResultPolicy) -> list[str]:
    cfg, ev = m.config, EVENTS.index
    counted_h = "!pre_stale" if late is not LateResultPolicy.CURRENT_STATE else "true"
    unchanged = " && ".join(["mode == pre_mode", "!bumped", *(f"{n} == pre_{n}" for n in map(m._name, m.vars))])
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
    if scenario.releases > 0:
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
    tick = [f"{n} = ({n} > FLOOR -> {n} - 1 : FLOOR);" for n in (m._name(v) for v in m.vars if v in m.time_vars)]
    if l5:
        round_done = " && ".join(f"stepped[{i}]" for i in range(callers))
        guard = (f"ticks < {horizon} && " if horizon is not None else "") + f"(!up || ({round_done})) -> "
        guard += "ticks++; " if horizon is not None else ""
        unstep = "; ".join(f"stepped[{i}] = 0" for i in range(callers))
        lines += ["proctype Clock() {", "  do",
                  f"  :: atomic {{ {guard} /* after t1, a tick ends a round in which every caller stepped */",
                  f"    {' '.join(tick)} now_abs++;",
                  f"    if :: up -> since_up = (since_up > L5_BOUND -> since_up : since_up + 1); {unstep} :: else fi;",
                  f"    log_step({_CLOCK}, {ev('tick')});",
                  "    assert(since_up <= L5_BOUND || mode == CLOSED)  /* L5 */",
                  "    }", "  od", "}", ""]
    else:
        guard = f"ticks < {horizon} -> ticks++; " if horizon is not None else ""
        lines += ["proctype Clock() {", "  do",
                  f"  :: atomic {{ {guard}{' '.join(tick)} now_abs++; log_step({_CLOCK}, {ev('tick')}) }}",
                  "  od", "}", ""]
    lines += ["proctype Env() {", "  do", f"  :: atomic {{ healthy = !healthy; log_step({_ENV}, {ev('env_flip')}) }}"]
    if scenario.outage:
        void = "; l4_done = (mode == FORCED_OPEN || mode == DISABLED)"  # L4 assumes no manual control
        lines.append(f"  :: atomic {{ healthy = 0; down = 1{void}; log_step({_ENV}, {ev('env_down')}) }}; break")
    if l5:
        lines.append(f"  :: atomic {{ healthy = 1; up = 1; releases_left = 0; log_step({_ENV}, {ev('env_up')}) }}; "
                     "break  /* t1: healthy for good, no release after it */")
    else:
        lines.append(f"  :: atomic {{ log_step({_ENV}, {ev('env_stable')}) }}; break  /* health stays as it is */")
    lines += ["  od", "}", ""]
    if m.poll:
        lines += ["proctype Poller() {", "  do",
                  f"  :: atomic {{ begin_step(0); on_poll(0); end_step({_POLLER}, {ev('poll')}); scrub() }}",
                  "  od", "}", ""]
    if scenario.manual:
        lines += ["proctype Manual() {", "  do"]
        void = "if :: down -> l4_done = 1; fails_down = 0 :: else fi; " if l4 else ""
        lines += [f"  :: atomic {{ begin_step(0); on_{t}(0); {void}end_step({_MANUAL}, {ev(t)}); scrub() }}"
                  for t in ("force_open", "disable", "reset")]
        lines += ["  od", "}", ""]
    runs = [f"run Caller({i});" for i in range(callers)] + ["run Clock();", "run Env();"]
    runs += ["run Poller();"] * m.poll + ["run Manual();"] * scenario.manual
    return lines + ["init {", "  atomic { " + " ".join(runs) + " }", "}", ""]


def _header(m: _Model, callers: int, lossy: bool, horizon: int | None, scenario: Scenario) -> list[str]:
    params = m.config.table_params()
    width = max(len(k) for k in params)
    unmodelled = sorted(set(VARIABLES) - set(m.vars) - {"generation"})
    return [
        "/*",
        " * generated by breakerlab.proofs.promela — do not edit",
        f" * table digest: {m.table.digest()}",
        " * config (the table's parameters):",
        *[f" *   {k.ljust(width)} = {v!r}" for k, v in params.items()],
        f" * processes: {callers} callers (lossy={lossy}, up to {callers - 1 if lossy else 0} results lost), Clock, Env"
        + (", Poller" if m.poll else "") + (", Manual" if scenario.manual else ""),
        f" * scenario: releases={scenario.releases}, outage={scenario.outage}, manual={scenario.manual}, "
        f"horizon_ticks={horizon}" + (", recovery=True" if scenario.recovery else ""),
        " * abstractions:",
        " *   times are integer ticks stored relative to now (v_rel = v - now, now = 0); each tick",
        f" *   decrements them, clamped at FLOOR = {m.floor} (every comparison of a time is v - now against",
        f" *   a constant of magnitude <= {m.comparison_bound}, so the clamp changes no guard);",
        " *   generation: one stale bit per caller, set for every permit holder by each state change;",
        f" *   not modelled (write-only): {', '.join(unmodelled) or 'none'}.",
        *(_recovery_header(m, callers, scenario) if scenario.recovery else [
            " * assertions (safety run): S1 S2 S3 S4 S6 S7 S8 S9 S10 and L4, written from the configuration;"]),
        " *   LTL (liveness runs): L1 L2 L3 below.",
        " * fairness (pan -a -f, weak fairness): every process that stays enabled eventually moves, so",
        " *   time keeps passing (Clock), calls keep arriving (a caller not holding a permit can always",
        " *   acquire) and every held permit is eventually settled, except the lost ones of a lossy run;",
        " *   releases are finite; Env may flip health forever, go down for good, or stop flipping.",
        " *   Weak fairness bounds no delay: a call may take any number of ticks, and calls may always",
        " *   arrive at the worst moment (this is why L1 fails when half_open_max_wait is set).",
        " */",
        "",
    ]


def _recovery_header(m: _Model, callers: int, scenario: Scenario) -> list[str]:
    """The header lines of L5's scenario: what it assumes and how its bound is computed."""
    t = _recovery_terms(m.config, callers)
    formula = recovery_bound(m.config, callers)
    bound = m.bound(callers, scenario)
    given = "" if bound == formula else f" (set by the scenario; the formula gives {formula})"
    return [
        " * assertions (L5 run): S1 S2 S3 S4 S6 S7 S8 S9 S10 and L5, written from the configuration;",
        " * L5 (bounded recovery): Env may recover for good (up, time t1); from t1 on every result is a",
        " *   success, nothing is released, and calls keep arriving: the Clock ticks only after every",
        " *   caller has stepped (acquired, or settled its permit) since the last tick. No manual control,",
        " *   no lost result. Each tick asserts since_up <= L5_BOUND || mode == CLOSED, with",
        f" *   L5_BOUND = {bound}{given}",
        " *            = leftover + open + entry + probe_rounds",
        f" *            = {t['leftover']} + {t['open']} + {t['entry']} + {t['probe_rounds']}: "
        "open = the longest opening (reset_timeout, or backoff_cap),",
        " *   entry = 1 tick if the deadline is exclusive, probe_rounds = 2 * waves - 1 with waves =",
        f" *   ceil({t['probes']} probes / min({callers} callers, {m.config.half_open_max_calls} slots)) "
        f"= {t['waves']} (acquire in one round, report in the next),",
        " *   leftover = 2 * waves when the episode in progress at t1 may still re-open (rate close",
        " *   rule, or a half-open maximum wait), else 0: it is decided by then, its probes delayed by at",
        " *   most one round while callers settle the permits they held at t1.",
    ]


def _time_vars(assigns: Iterable[Assign]) -> frozenset[str]:
    """Variables assigned (transitively) from ``now``: the time-valued ones."""
    assigns = list(assigns)
    found: set[str] = set()
    while True:
        more = {a.var for a in assigns if "now" in names(a.expr, Arg) or names(a.expr, Var) & found} - found
        if not more:
            return frozenset(found)
        found |= more


def _kept_vars(live: Sequence[tuple[Expr, list[Assign], Row]], time_vars: frozenset[str]) -> tuple[str, ...]:
    """Variables read by a guard, an assertion, or the update of a kept variable (in table order)."""
    kept = set(_ASSERTED) | {n for guard, _, _ in live for n in names(guard, Var)}
    while True:
        more = {n for _, assigns, _ in live for a in assigns if a.var in kept for n in names(a.expr, Var)} - kept
        if not more:
            break
        kept |= more
    return tuple(v for v in VARIABLES if v in kept and v != "generation")


def _check_generation(row: Row, guard: Expr, assigns: Sequence[Assign]) -> None:
    """``generation`` may only be incremented, and compared (==, !=) with the permit's."""
    exprs = [guard] + [a.expr for a in assigns if a.var != "generation"]
    for a in assigns:
        if a.var == "generation" and a.expr != BinOp("+", _GEN, Const(1)):
            raise ValueError(f"{row}: {a} is not 'generation := generation + 1'; the stale-bit abstraction needs it")
    for expr in exprs:
        allowed = {id(n) for n in walk(expr)
                   if isinstance(n, Cmp) and n.op in ("==", "!=") and {n.left, n.right} == {_PGEN, _GEN}}
        inside = {id(c) for n in walk(expr) if isinstance(n, Cmp) and id(n) in allowed for c in (n.left, n.right)}
        for node in walk(expr):
            if node in (_GEN, _PGEN) and id(node) not in inside:
                raise ValueError(f"{row}: '{expr}' uses {node} other than in 'permit_generation == generation'")


def _base(expr: Expr, time_vars: frozenset[str]) -> str | None:
    """The time a point expression is based on (``now`` or a variable), or None."""
    for node in walk(expr):
        if node == _NOW:
            return "now"
        if isinstance(node, Var) and node.name in time_vars:
            return node.name
    return None


def _linear(expr: Expr, sign: int, coefs: dict[str, int], row: Row) -> int:
    """Add ``sign * expr``'s variable coefficients to ``coefs``; return its constant part."""
    if isinstance(expr, Const):
        return sign * _int(expr.value, row)
    if isinstance(expr, Var | Arg):
        coefs[expr.name] = coefs.get(expr.name, 0) + sign
        return 0
    if isinstance(expr, BinOp) and expr.op in "+-":
        return _linear(expr.left, sign, coefs, row) + _linear(expr.right, sign if expr.op == "+" else -sign, coefs, row)
    raise ValueError(
        f"{row}: '{expr}' in a comparison of times is not linear; the relative-time clamp needs v - now vs c"
    )

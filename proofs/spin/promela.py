"""Generate a Promela model for SPIN from the transition table, specialised to one configuration.

The same idea as ``breakerlab.model.pycompile``: the table is folded with the configuration's
parameters (``breakerlab.proofs.folded``), dead rows disappear, and each (state, trigger) pair
becomes one first-match ``if :: guard0 -> actions0 :: else -> if ... fi fi`` inside the atomic
step of the process that fires the trigger (``processes``: concurrent callers, a clock, the
environment). Nothing is written per property, so the checked model is the table the breaker
executes. ``scope`` says which configurations SPIN supports; others raise ``ValueError``.

Abstractions, each checked against the folded table (``ValueError`` if the table leaves them):

* **Relative time** (``breakerlab.proofs.time_abstraction``, shared with the refinement check).
  Times are integer ticks. Every time-valued variable ``v`` is stored as ``v_rel = v - now``,
  ``now`` itself becomes ``0``, and each tick decrements every ``v_rel``, clamped at
  ``FLOOR = -(M + 1)`` where ``M`` is the largest constant a time is compared with.
* **Generation.** The table only increments ``generation`` and compares it with the permit's.
  Each caller holds one ``stale`` bit instead: every increment sets it for every caller holding
  a permit, admission clears it, and ``permit_generation == generation`` becomes ``!stale[c]``.
* **Write-only variables** (never read by a guard, an assertion, or a kept variable's update,
  e.g. ``opened_at``) are not modelled.

L5 (bounded recovery) runs on its own scenario, with a bound computed in ``recovery``.
"""

from __future__ import annotations

from breakerlab.model import BreakerConfig, State
from breakerlab.model.config import CloseRule, HalfOpenLimit
from breakerlab.model.expr import Arg, Assign, BinOp, BoolOp, Cmp, Const, Expr, Ite, Not, Var, fold, names, walk
from breakerlab.model.table import TRIGGERS, VARIABLES, Row, Table

from ..encoding import code
from ..folded import FoldedRow, FoldedTable, fold_table
from ..time_abstraction import TimeAbstraction
from .processes import SpinEnvironment, processes
from .recovery import recovery_bound, recovery_header
from .scope import check_config, whole
from .vocabulary import LTL, MANUAL, VERDICTS

__all__ = ["PromelaModel", "generate"]

#: Variables the generated assertions read (kept even if the table never reads them).
_ASSERTED = ("consecutive_failures", "open_until", "next_open_duration", "probes_admitted",
             "probes_inflight", "probe_successes", "probe_failures")
_GEN, _PGEN = Var("generation"), Arg("permit_generation")
_OUTCOMES = ("record_success", "record_failure", "release")


def generate(
    table: Table,
    config: BreakerConfig,
    *,
    callers: int = 2,
    lossy: bool = False,
    horizon_ticks: int | None = None,
    environment: SpinEnvironment | None = None,
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
        environment: What the breaker's environment may do: manual triggers, releases,
            permanent outage, recovery (L5); ``None``: ``SpinEnvironment()``.

    Raises:
        ValueError: an unsupported configuration, or a table outside the abstractions.
    """
    environment = environment if environment is not None else SpinEnvironment()
    if callers < 1 or (lossy and callers < 2):
        raise ValueError(f"'callers' must be >= 1 (>= 2 when lossy) (got {callers!r})")
    if horizon_ticks is not None and horizon_ticks < 0:
        raise ValueError(f"'horizon_ticks' must be None or >= 0 (got {horizon_ticks!r})")
    if environment.recovery and (environment.manual or environment.outage or lossy):
        raise ValueError(
            "L5's recovery scenario needs manual=False, outage=False and lossy=False "
            f"(got manual={environment.manual}, outage={environment.outage}, lossy={lossy})"
        )
    if environment.recovery_bound is not None and (environment.recovery_bound < 0 or not environment.recovery):
        raise ValueError(
            f"'recovery_bound' must be None, or >= 0 with recovery=True (got {environment.recovery_bound!r})"
        )
    return PromelaModel(table, config).render(callers, lossy, horizon_ticks, environment)


class PromelaModel:
    """The table folded with one configuration, analysed and rendered as Promela.

    Attributes:
        table, config: What the model is generated from.
        folded: The table's rows that can fire under ``config``.
        times: The relative-time abstraction (time variables, the clamp ``floor``).
        vars: The variables the model keeps, in table order (``generation`` becomes stale bits;
            write-only variables are dropped).
        floor: ``times.floor`` in whole ticks.
        poll: Whether ``poll`` can change the state (then a ``Poller`` process runs).

    Raises:
        ValueError: an unsupported configuration, or a table outside the abstractions.
    """

    def __init__(self, table: Table, config: BreakerConfig) -> None:
        check_config(config)
        self.table, self.config = table, config
        self.folded = fold_table(table, config)
        for folded in self.folded:
            if folded.effects:
                raise ValueError(f"{folded.row}: effect {folded.effects[0]} needs the trip window, which SPIN does not model")
        self.times = TimeAbstraction.of_folded(self.folded)
        self.vars = _kept_vars(self.folded)
        permit_args = {"permit_state", "permit_generation"}
        for folded in self.folded:
            row = folded.row
            if row.trigger not in _OUTCOMES and any(names(e, Arg) & permit_args for e in folded.exprs):
                raise ValueError(f"{row}: a {row.trigger} event carries no permit")
            _check_generation(folded)
        self.floor = whole(self.times.floor, "the relative-time floor")
        self.temps = 0  # scratch variables needed by simultaneous assignments (set by render)
        self.poll = any(f.row.dest is not None for f in self.folded if f.row.trigger == "poll")

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
            return str(whole(e.value, row))
        if isinstance(e, Var):
            if e.name not in self.vars:
                raise ValueError(f"{row}: variable {e.name!r} cannot be translated")
            return self.times.stored_name(e.name)
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

    def _row_body(self, index: int, assigns: list[Assign], row: Row, indent: str) -> list[str]:
        """The row's actions as one simultaneous assignment, then its bookkeeping."""
        kept = [a for a in assigns if a.var in self.vars]
        assigned = {a.var for a in kept}
        early, late = [], []
        for n, a in enumerate(kept):
            source = self.expr(a.expr, row)
            if (names(a.expr, Var) & assigned) - {a.var}:
                early.append(f"tmp{n} = {source}")
                late.append(f"{self.times.stored_name(a.var)} = tmp{n}")
            else:
                late.append(f"{self.times.stored_name(a.var)} = {source}")
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
            rows = self.folded.rows[(state, trigger)]
            depth = 0
            for i, folded in enumerate(rows):
                index, guard, assigns, row = folded.index, folded.guard, list(folded.assigns), folded.row
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

    def bound(self, callers: int, environment: SpinEnvironment) -> int:
        """L5's bound for this model: the environment's, or the formula's."""
        if environment.recovery_bound is not None:
            return environment.recovery_bound
        return recovery_bound(self.config, callers)

    def render(self, callers: int, lossy: bool, horizon: int | None, environment: SpinEnvironment) -> str:
        """The whole model: header, globals, the breaker's inlines, assertions, processes, LTL."""
        cfg = self.config
        self.temps = 0
        dispatch = [line for trigger in TRIGGERS for line in self._dispatch(trigger)]
        l4 = environment.outage  # L4 needs Env's permanent outage (t0)
        l5 = environment.recovery  # L5 needs Env's permanent recovery (t1) and the round discipline
        per_episode = cfg.half_open_limit is HalfOpenLimit.PER_EPISODE
        late = cfg.late_result
        names_ = [self.times.stored_name(v) for v in self.vars]
        out: list[str] = [*header(self, callers, lossy, horizon, environment)]
        out += [f"#define {s.value.upper()} {code(s.value)}" for s in State]
        out += [f"#define NCALLERS {callers}", f"#define FLOOR ({self.floor})", f"#define FAIL_MAX {cfg.fail_max}",
                f"#define MAX_CALLS {cfg.half_open_max_calls}", f"#define SUCCESS_THRESHOLD {cfg.success_threshold}",
                f"#define RESET_TIMEOUT {int(cfg.reset_timeout)}"]
        if l5:
            out.append(f"#define L5_BOUND {self.bound(callers, environment)}")
        out.append("")
        out.append("byte mode = CLOSED;")
        for var in self.vars:
            init = fold(VARIABLES[var], cfg.table_params())
            out.append(f"short {self.times.stored_name(var)} = {whole(init.value if isinstance(init, Const) else init, var)};")
        out += ["bit healthy = 1;", "bit holds[NCALLERS];      /* caller c holds a permit */",
                "bit stale[NCALLERS];      /* ... of an earlier generation */",
                "byte pstate[NCALLERS];    /* ... admitted in this state */",
                f"byte releases_left = {environment.releases};", f"byte losses_left = {callers - 1 if lossy else 0};"]
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
                # open is left automatically only at the deadline (a manual half_open() leaves it at once)
                f"  assert(who == {MANUAL} || !(pre_mode == OPEN && mode == HALF_OPEN) || pre_open_until_rel {deadline} 0);"
                "  /* S2 */"]
        out += [f"  assert({inv}){';' if i < len(invariants) - 1 else ''}  /* {tag} */"
                for i, (tag, inv) in enumerate(invariants)]
        out += ["}", ""]
        out += dispatch
        out += processes(self, callers, lossy, horizon, environment, l4, l5, deadline, late)
        out += [f"ltl {name} {{ {formula} }}" for name, formula in LTL.items()]
        return "\n".join(out) + "\n"


def header(m: PromelaModel, callers: int, lossy: bool, horizon: int | None, environment: SpinEnvironment) -> list[str]:
    """The comment that opens the model: its origin, configuration, abstractions and assumptions."""
    params = m.config.table_params()
    width = max(len(k) for k in params)
    unmodelled = sorted(set(VARIABLES) - set(m.vars) - {"generation"})
    return [
        "/*",
        " * generated by breakerlab.proofs.spin.promela — do not edit",
        f" * table digest: {m.table.digest()}",
        " * config (the table's parameters):",
        *[f" *   {k.ljust(width)} = {v!r}" for k, v in params.items()],
        f" * processes: {callers} callers (lossy={lossy}, up to {callers - 1 if lossy else 0} results lost), Clock, Env"
        + (", Poller" if m.poll else "") + (", Manual" if environment.manual else ""),
        f" * scenario: releases={environment.releases}, outage={environment.outage}, manual={environment.manual}, "
        f"horizon_ticks={horizon}" + (", recovery=True" if environment.recovery else ""),
        " * abstractions:",
        " *   times are integer ticks stored relative to now (v_rel = v - now, now = 0); each tick",
        f" *   decrements them, clamped at FLOOR = {m.floor} (every comparison of a time is v - now against",
        f" *   a constant of magnitude <= {m.times.bound}, so the clamp changes no guard);",
        " *   generation: one stale bit per caller, set for every permit holder by each state change;",
        f" *   not modelled (write-only): {', '.join(unmodelled) or 'none'}.",
        *(recovery_header(m.config, callers, m.bound(callers, environment)) if environment.recovery else [
            " * assertions (safety run): S1 S2 S3 S4 S6 S7 S8 S9 S10, S5 of manual steps and L4, written from the",
            " *   configuration;"]),
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


def _kept_vars(folded: FoldedTable) -> tuple[str, ...]:
    """Variables read by a guard, an assertion, or the update of a kept variable (in table order)."""
    kept = set(_ASSERTED) | {n for row in folded for n in names(row.guard, Var)}
    while True:
        more = {n for row in folded for a in row.assigns if a.var in kept for n in names(a.expr, Var)} - kept
        if not more:
            break
        kept |= more
    return tuple(v for v in VARIABLES if v in kept and v != "generation")


def _check_generation(folded: FoldedRow) -> None:
    """``generation`` may only be incremented, and compared (==, !=) with the permit's."""
    row, assigns = folded.row, folded.assigns
    exprs = [folded.guard] + [a.expr for a in assigns if a.var != "generation"]
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

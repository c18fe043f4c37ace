"""Induction proofs with z3: invariants (base case and inductive step) and step properties."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import z3

from breakerlab.model.table import Table

from .encoding import Encoding, Step
from .properties import INVARIANTS, STEP_PROPERTIES

__all__ = ["InductionResult", "prove_all"]

#: Per-query timeout. A property that z3 cannot decide in this time is reported "unknown",
#: never "proved".
QUERY_TIMEOUT_MS = 60_000


@dataclasses.dataclass(frozen=True)
class InductionResult:
    """The verdict of one property: ``proved``, ``violated`` (with a model) or ``unknown``."""

    id: str
    name: str
    kind: str  # "invariant" or "step"
    verdict: str
    seconds: float
    model: z3.ModelRef | None = None
    step: Step | None = None
    detail: str = ""


def _solver(enc: Encoding) -> z3.Solver:
    solver = z3.Solver()
    solver.set("timeout", QUERY_TIMEOUT_MS)
    solver.add(enc.parameter_assumptions())
    return solver


def _check(solver: z3.Solver) -> tuple[str, z3.ModelRef | None, str]:
    result = solver.check()
    if result == z3.unsat:
        return "proved", None, ""
    if result == z3.sat:
        return "violated", solver.model(), ""
    return "unknown", None, str(solver.reason_unknown())


def prove_all(table: Table, only: Sequence[str] | None = None) -> list[InductionResult]:
    """Prove every invariant (base + step, assuming all invariants) and every step property."""
    enc = Encoding(table)
    results: list[InductionResult] = []
    init = enc.state("init")
    step = enc.step("t")
    trans = enc.transition(step)
    env = enc.environment(step.pre, step.event)
    pre_invariants = [inv.holds(enc, step.pre) for inv in INVARIANTS]

    for inv in INVARIANTS:
        if only and inv.id not in only:
            continue
        started = time.perf_counter()
        solver = _solver(enc)
        solver.add(enc.initial(init), z3.Not(inv.holds(enc, init)))
        verdict, model, detail = _check(solver)
        if verdict == "proved":
            solver = _solver(enc)
            solver.add(*pre_invariants, env, trans, z3.Not(inv.holds(enc, step.post)))
            verdict, model, detail = _check(solver)
            if verdict == "violated":
                detail = "inductive step fails"
        else:
            detail = detail or "fails in the initial state"
        results.append(
            InductionResult(inv.id, inv.name, "invariant", verdict, time.perf_counter() - started, model, step, detail)
        )

    for prop in STEP_PROPERTIES:
        if only and prop.id not in only:
            continue
        started = time.perf_counter()
        solver = _solver(enc)
        solver.add(*pre_invariants, env, trans, z3.Not(prop.holds(enc, step)))
        verdict, model, detail = _check(solver)
        results.append(
            InductionResult(prop.id, prop.name, "step", verdict, time.perf_counter() - started, model, step, detail)
        )
    return results

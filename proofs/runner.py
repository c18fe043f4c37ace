"""Run every proof layer and collect one verdict row per (property, method).

Layers: z3 induction (every parameter value), SPIN safety and liveness (small parameters,
concurrent callers), refinement (the executable breaker against the proved relation), and the
drift check (generated artifacts match the table). A run against a seeded mutant uses the
mutant's table for the model layers and runs the *reference* relation against a breaker
executing the mutant (a bug in the code that the model does not have) for refinement.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

from breakerlab.model.table import TABLE, Table
from breakerlab.proofs.mutants import MUTANTS, Mutant

from .counterexample import find_first_trace
from .induction import prove_all
from .trace_json import trace_to_json

__all__ = ["LAYERS", "Verdict", "run"]

#: Verdicts that count as success. ``expected violation`` is a check whose purpose is to show a
#: counterexample exists (a lost probe wedges half-open without a maximum wait).
PASSING = frozenset({"proved", "holds", "refines", "expected violation found", "no drift"})


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One row of ``breakerlab prove``'s table."""

    property_id: str
    method: str
    scope: str
    verdict: str
    seconds: float
    states: int | None = None
    counterexample: str | None = None
    detail: str = ""
    #: The counterexample as structured steps, replayable with ``breakerlab prove --replay``: a z3
    #: trace (``trace_json``), a SPIN trail (``spin.trail_json``) or a refinement mismatch
    #: (``refinement.mismatch_json``); its ``layer`` says which.
    trace: dict[str, Any] | None = dataclasses.field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """Whether this row is a success."""
        return self.verdict in PASSING

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["property"] = data.pop("property_id")
        return data | {"ok": self.ok}


Layer = Callable[[Table, Mutant | None], Iterator[Verdict]]


def z3_layer(table: Table, mutant: Mutant | None) -> Iterator[Verdict]:
    """Induction proofs of S1-S10 and L3a for all parameter values; the first violation that
    has a reachable run comes with its counterexample."""
    results = prove_all(table)
    violated = [(r.id, r.kind) for r in results if r.verdict == "violated"]
    trace = find_first_trace(table, violated) if violated else None
    for result in results:
        method = f"z3 {'induction' if result.kind == 'invariant' else 'step'}"
        shown = trace is not None and (result.id, result.kind) == (trace.property_id, trace.kind)
        detail = result.detail
        if result.verdict == "violated" and not shown:
            note = "counterexample shown for another property" if trace else "no reachable counterexample found"
            detail = f"{detail}; {note}" if detail else note
        yield Verdict(
            result.id,
            method,
            "all parameters",
            result.verdict,
            result.seconds,
            counterexample=trace.describe() if shown and trace is not None else None,
            detail=detail,
            trace=trace_to_json(trace, mutant.name if mutant else None) if shown and trace is not None else None,
        )


def drift_layer(table: Table, mutant: Mutant | None) -> Iterator[Verdict]:
    """Regenerated encodings equal the committed ones (only meaningful for the reference table)."""
    from .drift import check_drift

    started = time.perf_counter()
    report = check_drift(table)  # every generated file, the shared breaker's models included
    yield Verdict(
        "drift",
        "regeneration",
        "proofs/generated/",
        "no drift" if report.ok else "drifted",
        time.perf_counter() - started,
        detail="" if report.ok else str(report),
    )


def spin_layer(table: Table, mutant: Mutant | None) -> Iterator[Verdict]:
    """SPIN on Promela generated from the table: safety assertions and LTL liveness, per case.

    Against a mutant the suite stops at the first unexpected verdict (enough to kill it). On
    the reference table the shared breaker's checks follow (``spin.fleet``).
    """
    from .spin.run import require_tools
    from .spin.suite import run_suite
    from .spin.trail import format_steps
    from .spin.trail_json import trail_to_json

    require_tools()
    for result in run_suite(table, stop_early=mutant is not None):
        check, spin = result.check, result.result
        if check.prop == "safety":
            prop, method = "S1-S10,L4", "SPIN safety"
        elif check.prop == "L5":
            prop, method = "L5", "SPIN bounded"
        else:
            prop, method = check.prop, "SPIN liveness"
        callers = f"{result.case.callers} callers" + (", may lose results" if check.lossy else "")
        if result.ok:
            verdict = "expected violation found" if check.expect == "violated" else "holds"
        elif spin.verdict == "holds":
            verdict = "holds, but a violation was expected"
        else:
            verdict = spin.verdict
        shown = spin.steps and (not result.ok or check.expect == "violated")
        yield Verdict(
            prop,
            method,
            f"{result.case.name}, {callers}",
            verdict,
            spin.seconds,
            states=spin.states,
            counterexample=f"SPIN trail ({spin.failure}):\n" + format_steps(spin.steps, table) if shown else None,
            detail=spin.failure if not result.ok else "",
            trace=trail_to_json(result, table, mutant.name if mutant else None, prop) if shown else None,
        )
    if mutant is None:  # about the sharing protocol: its mutants are seeded in tests/test_spin_shared.py
        yield from _shared_verdicts(table)


def _shared_verdicts(table: Table) -> Iterator[Verdict]:
    """SPIN on the shared breaker (``spin.fleet``): processes whose events are atomic steps on
    one store, over a lossy network; every check must hold."""
    from .spin.fleet import PROPERTIES, run_shared

    for result in run_shared(table):
        spin = result.result
        yield Verdict(
            PROPERTIES[result.check],
            "SPIN shared" if result.check == "safety" else "SPIN shared LTL",
            result.case.scope,
            "holds" if result.ok else spin.verdict,
            spin.seconds,
            states=spin.states,
            counterexample=f"SPIN trail ({spin.failure}):\n" + result.describe(table) if spin.trail else None,
            detail=spin.failure if not result.ok else "",
        )


def refinement_layer(table: Table, mutant: Mutant | None) -> Iterator[Verdict]:
    """The executable breaker against the proved relation, explored exhaustively per config.

    Against a mutant, a breaker *executing the mutant table* is checked against the relation of
    the *reference* table: a bug in the code that the proved model does not have.
    """
    from .refinement import check_code_mutant, describe, run
    from .refinement.mismatch_json import mismatch_to_json

    results = [check_code_mutant(mutant)] if mutant is not None else run(TABLE)
    for result in results:
        found = result.mismatch is not None
        yield Verdict(
            "R",
            "refinement" if mutant is None else "refinement (code)",
            describe(result.config),
            result.verdict,
            result.seconds,
            states=result.states,
            counterexample=str(result.mismatch) if result.mismatch is not None else None,
            detail=f"{result.steps} steps checked",
            trace=mismatch_to_json(result, mutant.table if mutant else TABLE, mutant.name if mutant else None) if found else None,
        )


LAYERS: dict[str, Layer] = {"z3": z3_layer, "spin": spin_layer, "refinement": refinement_layer, "drift": drift_layer}


def run(
    mutant_name: str | None = None,
    layers: tuple[str, ...] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Run the chosen layers (all by default) on the reference table or a named mutant."""
    mutant = None
    table = TABLE
    if mutant_name is not None:
        if mutant_name not in MUTANTS:
            raise KeyError(mutant_name)
        mutant = MUTANTS[mutant_name]
        table = mutant.table
    chosen = layers or tuple(LAYERS)
    verdicts: list[Verdict] = []
    for name in chosen:
        if name == "drift" and mutant is not None:
            continue
        for verdict in LAYERS[name](table, mutant):
            verdicts.append(verdict)
            if on_verdict is not None:
                on_verdict(verdict)
    return verdicts

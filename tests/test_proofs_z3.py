"""z3 layer: the reference table satisfies every safety property for all parameters, every
seeded mutant is refuted with a replayable counterexample, and the proofs' parameter
assumptions cover every configuration the model accepts."""

from __future__ import annotations

import pytest
import z3
from hypothesis import given, settings
from strategies import configs

from breakerlab.model import BreakerConfig
from breakerlab.model.table import TABLE
from breakerlab.proofs.counterexample import find_first_trace, replay_trace
from breakerlab.proofs.encoding import Encoding, z3_value
from breakerlab.proofs.induction import prove_all
from breakerlab.proofs.mutants import MUTANTS
from breakerlab.proofs.properties import INVARIANTS, STEP_PROPERTIES


def test_reference_table_proves_every_safety_property() -> None:
    """Every invariant (base case and inductive step) and every step property is proved."""
    results = prove_all(TABLE)
    assert {(r.id, r.kind) for r in results} == {(i.id, "invariant") for i in INVARIANTS} | {
        (p.id, "step") for p in STEP_PROPERTIES
    }
    assert [(r.id, r.kind, r.verdict, r.detail) for r in results if r.verdict != "proved"] == []


def test_premises_are_satisfiable_so_proofs_are_not_vacuous() -> None:
    """The assumptions of every proof (parameters, invariants, environment, relation) have models,
    also with each mode as the pre-state and each trigger as the event."""
    enc = Encoding(TABLE)
    step = enc.step("v")
    base = [
        enc.parameter_assumptions(),
        *[inv.holds(enc, step.pre) for inv in INVARIANTS],
        enc.environment(step.pre, step.event),
        enc.transition(step),
    ]
    from breakerlab.model import State
    from breakerlab.model.table import TRIGGERS

    for state in State:
        for trigger in TRIGGERS:
            solver = z3.Solver()
            solver.add(*base, enc.is_mode(step.pre, state), enc.is_trigger(step.event, trigger))
            assert solver.check() == z3.sat, (state, trigger)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_every_mutant_is_refuted_with_a_replayable_counterexample(name: str) -> None:
    """z3 refutes a property for the mutant, and the counterexample run, replayed on a Breaker
    executing the mutant table, reproduces every step, while the reference breaker diverges."""
    mutant = MUTANTS[name]
    violated = [r for r in prove_all(mutant.table) if r.verdict == "violated"]
    assert violated, f"no z3 property refutes {name}"
    trace = find_first_trace(mutant.table, [(r.id, r.kind) for r in violated], max_depth=8)
    assert trace is not None, f"no reachable counterexample for {name}"
    assert replay_trace(trace, mutant.table).matches, trace.describe()
    assert not replay_trace(trace).matches, trace.describe()
    text = trace.describe()
    assert text.startswith(f"counterexample to {trace.property_id}") and "  1. t=" in text


@settings(max_examples=200, deadline=None)
@given(config=configs())
def test_parameter_assumptions_cover_every_valid_config(config: BreakerConfig) -> None:
    """Every configuration BreakerConfig accepts satisfies the parameter assumptions the proofs make,
    so the proofs cover it."""
    enc = Encoding(TABLE)
    solver = z3.Solver()
    solver.add(enc.parameter_assumptions(), enc.concrete_parameters(config))
    assert solver.check() == z3.sat


def test_default_config_is_covered_and_uncapped_backoff_is_left_symbolic() -> None:
    """The article's defaults satisfy the assumptions; an infinite cap is not pinned."""
    enc = Encoding(TABLE)
    solver = z3.Solver()
    solver.add(enc.parameter_assumptions(), enc.concrete_parameters(BreakerConfig()))
    assert solver.check() == z3.sat
    assert "p_backoff_cap" not in str(enc.concrete_parameters(BreakerConfig(open_duration_policy="exponential")))
    assert z3_value(0.5).eq(z3.RealVal("1/2"))

"""Mutation check: the stateful comparison notices every seeded mutant of the transition table.

Each mutant replaces the default transition table with one that has a single deliberate bug.
The comparison machine is run with that table under fixed (derandomized) settings and must
fail; shrinking is skipped because only the verdict matters here.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from test_stateful import BreakerComparison

from breakerlab.model import BreakerError
from breakerlab.proofs.mutants import MUTANTS

MUTANT_SETTINGS = settings(
    derandomize=True,
    database=None,
    max_examples=300,
    stateful_step_count=100,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)
"""Fixed settings: the same programs every run, no shrinking (only the verdict matters)."""


def machine_with_table(name: str, table: Any) -> type[BreakerComparison]:
    """Return the comparison machine with its transition table replaced.

    Args:
        name: The mutant's name, used in the class name so failures say which mutant ran.
        table: The transition table the breaker is built with.

    Returns:
        A subclass of ``BreakerComparison`` that builds its breaker from ``table``.
    """
    class_name = "BreakerComparisonWith_" + "".join(c if c.isalnum() else "_" for c in name)
    return type(class_name, (BreakerComparison,), {"TABLE": table})


def test_there_are_at_least_six_seeded_mutants() -> None:
    """The mutant catalogue seeds at least six distinct bugs, each named and described."""
    assert len(MUTANTS) >= 6
    for name, mutant in MUTANTS.items():
        assert mutant.name == name
        assert mutant.description


def _mutants_killed_by(test: Any) -> list[str]:
    """The mutant names a test killing mutants is parametrized over."""
    [mark] = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize" and m.args[0] == "name"]
    return list(mark.args[1])


def test_every_layer_kills_every_mutant_once() -> None:
    """Each verification layer has one test per seeded mutant, none left out and none twice: z3
    (test_proofs_z3), SPIN (test_spin), refinement (test_refinement), the stateful comparison
    (here); `breakerlab prove --mutant` runs one of them through the command (test_prove_cli)."""
    import test_proofs_z3
    import test_refinement
    import test_spin

    layers = {
        "z3": test_proofs_z3.test_every_mutant_is_refuted_with_a_replayable_counterexample,
        "SPIN": test_spin.test_spin_kills_mutant,
        "refinement": test_refinement.test_code_mutant_is_caught,
        "stateful": test_stateful_comparison_kills_mutant,
    }
    for layer, test in layers.items():
        killed = _mutants_killed_by(test)
        assert sorted(killed) == sorted(MUTANTS), (
            f"the {layer} layer's {test.__name__} is parametrized over {sorted(killed)}, "
            f"not once over each seeded mutant {sorted(MUTANTS)}"
        )


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_stateful_comparison_kills_mutant(name: str) -> None:
    """Running the comparison machine against a mutated table ends in a detected failure."""
    machine = machine_with_table(name, MUTANTS[name].table)
    with pytest.raises((AssertionError, BreakerError)):
        run_state_machine_as_test(machine, settings=MUTANT_SETTINGS)

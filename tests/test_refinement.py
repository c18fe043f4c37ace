"""Refinement check: the executable breaker takes exactly the steps of the z3 relation the proofs use.

``run()`` explores the reference breaker for every configuration in ``REFINEMENT_CONFIGS``; each
code mutant (a breaker executing a mutated table, checked against the reference relation) must
be caught with a path that reproduces the divergence on a fresh breaker.
"""

from __future__ import annotations

import functools

import pytest

from breakerlab.model import BreakerConfig, State
from breakerlab.model.table import TABLE, TRIGGERS
from breakerlab.proofs.mutants import MUTANTS
from breakerlab.proofs.refinement import (
    REFINEMENT_CONFIGS,
    PathStep,
    RefinementResult,
    check_code_mutant,
    describe,
    explore,
    replay_path,
    run,
)

OUTCOME_TRIGGERS = ("record_success", "record_failure", "release")
PERMIT_CLASSES = (
    (True, State.CLOSED, False),
    (True, State.HALF_OPEN, True),
    (True, State.DISABLED, False),
    (False, State.CLOSED, False),
    (False, State.HALF_OPEN, True),
    (False, State.DISABLED, False),
)
#: Lower bounds for every configuration's exploration. Times are clamped at the floor of the
#: shared relative-time abstraction (the largest constant a guard compares a time with, plus
#: one), so the smallest configuration has about 80 abstract states and 700 steps.
MIN_STATES = 75
MIN_STEPS = 600


@functools.cache
def reference_results() -> tuple[RefinementResult, ...]:
    """The results of ``run()`` on the reference table, computed once per session."""
    return tuple(run())


@functools.cache
def mutant_result(name: str) -> RefinementResult:
    """The result of ``check_code_mutant`` for one mutant, computed once per session."""
    return check_code_mutant(MUTANTS[name])


@pytest.mark.parametrize("index", range(len(REFINEMENT_CONFIGS)), ids=lambda i: f"config{i}")
def test_reference_breaker_refines_the_relation(index: int) -> None:
    """The reference breaker refines the relation, exhaustively and with no missed current-permit outcome."""
    result = reference_results()[index]
    assert result.mismatch is None, str(result.mismatch)
    assert result.complete, f"{describe(result.config)}: max_states reached"
    assert result.uncovered == ()
    assert result.ok and result.verdict == "refines"


@pytest.mark.parametrize("index", range(len(REFINEMENT_CONFIGS)), ids=lambda i: f"config{i}")
def test_exploration_is_not_trivial(index: int) -> None:
    """Each exploration is large, fires every trigger, visits every state and settles every permit class."""
    result = reference_results()[index]
    assert result.states >= MIN_STATES
    assert result.steps >= MIN_STEPS
    assert result.triggers == set(TRIGGERS)
    assert result.modes == set(State)
    assert result.outcome_classes == {(t, c) for t in OUTCOME_TRIGGERS for c in PERMIT_CLASSES}


def test_configs_together_take_every_row_a_consecutive_rule_can_take() -> None:
    """Together the configurations take every row of the table except the window rule's trip on a success."""
    taken = set().union(*(result.rows for result in reference_results()))
    window_only = TABLE.index("record_success", State.CLOSED, "trip")
    assert set(range(len(TABLE.rows))) - taken == {window_only}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_code_mutant_is_caught(name: str) -> None:
    """A breaker running the mutant's table diverges from the reference relation on some reachable step."""
    result = mutant_result(name)
    assert result.mismatch is not None, f"mutant {name} survived every configuration"
    assert result.verdict == "mismatch"
    text = result.mismatch.text
    assert "#1 " in text and "<- breaker" in text and "<- relation" in text


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_path_reproduces_the_divergence(name: str) -> None:
    """Replayed on fresh breakers, the path shows the mutant's reported step and the reference's expected one."""
    result = mutant_result(name)
    mismatch = result.mismatch
    assert mismatch is not None and mismatch.actual is not None and mismatch.expected is not None
    path = list(mismatch.path)
    on_mutant = replay_path(result.config, path, table=MUTANTS[name].table)
    on_reference = replay_path(result.config, path)
    assert on_mutant[:-1] == on_reference[:-1], "the path diverges only at its last step"
    assert on_mutant[-1] == mismatch.actual
    expected_verdict, expected_state = mismatch.expected
    assert (on_reference[-1].verdict, dict(on_reference[-1].snapshot)) == (expected_verdict, dict(expected_state))
    assert (on_mutant[-1].verdict, dict(on_mutant[-1].snapshot)) != (expected_verdict, dict(expected_state))


def test_results_are_deterministic() -> None:
    """Exploring the same configuration twice gives equal results, and a mutant is reported with the same path."""
    config = REFINEMENT_CONFIGS[0]
    assert explore(config) == explore(config)
    first = check_code_mutant(MUTANTS["stale_counted"])
    second = check_code_mutant(MUTANTS["stale_counted"])
    assert first == second
    assert first.mismatch is not None and second.mismatch is not None
    assert first.mismatch.text == second.mismatch.text


def test_replay_settles_the_permit_of_an_earlier_step() -> None:
    """A path names permits by the step that acquired them, so it replays as a program on a fresh breaker."""
    config = BreakerConfig(fail_max=2, reset_timeout=2.0)
    path = [PathStep(0.0, "acquire"), PathStep(0.0, "acquire"), PathStep(0.0, "record_failure", 1)]
    path += [PathStep(0.0, "record_failure", 2), PathStep(2.0, "wait"), PathStep(0.0, "acquire")]
    observed = replay_path(config, path)
    assert [o.verdict for o in observed] == ["admit", "admit", "none", "none", "none", "admit_probe"]
    assert observed[3].snapshot["state"] is State.OPEN
    assert observed[-1].snapshot["state"] is State.HALF_OPEN and observed[-1].time == 2.0
    with pytest.raises(ValueError, match="P9"):
        replay_path(config, [PathStep(0.0, "release", 9)])


@pytest.mark.parametrize(
    "options",
    [
        {"trip_rule": "count_window", "window_size": 4, "minimum_calls": 2},
        {"jitter_ratio": 0.1},
        {"call_timeout": 1.0},
        {"open_duration_policy": "exponential"},
    ],
    ids=["window", "jitter", "call_timeout", "uncapped_backoff"],
)
def test_configurations_outside_the_scope_are_refused(options: dict[str, object]) -> None:
    """Window rules, jitter, call timeouts and uncapped backoff are outside the checked scope: ValueError."""
    with pytest.raises(ValueError):
        explore(BreakerConfig(fail_max=2, reset_timeout=2.0, **options))  # type: ignore[arg-type]

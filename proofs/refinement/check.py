"""The configurations the refinement check explores, and its entry points (``breakerlab prove``'s layer).

Run ``python -m breakerlab.proofs.refinement`` to print the verdict table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from breakerlab.model import (
    BreakerConfig,
    CloseRule,
    HalfOpenEntry,
    HalfOpenLimit,
    LateResultPolicy,
    OpenDurationPolicy,
)
from breakerlab.model.table import TABLE, Table

from ..mutants import Mutant
from .explore import RefinementResult, explore
from .report import describe

__all__ = ["REFINEMENT_CONFIGS", "check_code_mutant", "main", "run"]

_SMALL: dict[str, Any] = {"fail_max": 2, "reset_timeout": 2.0}
REFINEMENT_CONFIGS: tuple[BreakerConfig, ...] = (
    BreakerConfig(**_SMALL),
    BreakerConfig(**_SMALL, open_duration_policy=OpenDurationPolicy.EXPONENTIAL, backoff_factor=2.0, backoff_cap=4.0),
    BreakerConfig(**_SMALL, half_open_max_calls=2, success_threshold=2, late_result=LateResultPolicy.ADMITTING_STATE),
    BreakerConfig(
        **_SMALL,
        half_open_max_wait=1.0,
        half_open_limit=HalfOpenLimit.CONCURRENT,
        late_result=LateResultPolicy.ADMITTING_STATE,
    ),
    BreakerConfig(
        **_SMALL,
        admit_at_deadline=False,
        half_open_entry=HalfOpenEntry.AT_DEADLINE,
        close_rule=CloseRule.RATE,
        half_open_max_calls=2,
        trip_on_equal_rate=False,
        late_result=LateResultPolicy.CURRENT_STATE,
    ),
    BreakerConfig(**_SMALL, close_rule=CloseRule.RATE, half_open_max_calls=2, half_open_limit=HalfOpenLimit.CONCURRENT),
)
"""Small configurations (``fail_max=2``, ``reset_timeout=2``) that together take every row of
the reference table except the window rule's trip on a success, and reach the behaviour of
every code mutant in ``MUTANTS``: the ``admit_at_deadline`` boundary both ways, ``at_deadline``
entry, each late-result policy, two probes with ``success_threshold=2``, a half-open maximum
wait (1 s) with a concurrent limit, capped exponential backoff, and the rate close rule on both
sides of an exactly met threshold (``1/2`` trips only with ``trip_on_equal_rate``).
Ordered so that ``check_code_mutant`` reaches the config that exposes each mutant early."""

def check_code_mutant(mutant: Mutant, configs: Iterable[BreakerConfig] = REFINEMENT_CONFIGS) -> RefinementResult:
    """Explore a breaker running ``mutant.table`` against the relation of the reference table
    (a bug in the code that the model does not have), config by config.

    Returns the first result with a mismatch, or the last config's result if the mutant
    survives them all.
    """
    result: RefinementResult | None = None
    for config in configs:
        result = explore(config, table_under_test=mutant.table, relation_table=TABLE)
        if result.mismatch is not None:
            break
    if result is None:
        raise ValueError("'configs' must not be empty")
    return result


def run(table: Table = TABLE) -> list[RefinementResult]:
    """Check that a breaker running ``table`` refines the relation generated from ``table``,
    for every configuration in ``REFINEMENT_CONFIGS``."""
    return [explore(config, table_under_test=table, relation_table=table) for config in REFINEMENT_CONFIGS]


def main() -> int:
    """Print the verdict table of ``run()`` (and any mismatch); 1 if the breaker does not refine."""
    results = run()
    print(f"{'verdict':<10} {'states':>6} {'steps':>6} {'time':>7}  configuration")
    for result in results:
        counts = f"{result.states:>6} {result.steps:>6} {result.seconds:6.2f}s"
        print(f"{result.verdict:<10} {counts}  {describe(result.config)}")
    for result in results:
        if result.mismatch is not None:
            print(result.mismatch)
    return 0 if all(r.ok for r in results) else 1

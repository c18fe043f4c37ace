"""``simulate(scenario, seed)``: run the breaker and the baselines on the same random numbers."""

from __future__ import annotations

from .engine import Plan, Run
from .metrics import collect
from .result import BREAKER, RunResult, SimResult
from .scenario import Scenario
from .streams import check_seed

__all__ = ["simulate"]


def simulate(scenario: Scenario, seed: int, *, baselines: bool = True, breaker: bool = True) -> SimResult:
    """Simulate ``scenario`` with every random stream split from ``seed``.

    Args:
        scenario: What to simulate.
        seed: The run's seed; the same scenario and seed give bit-identical results.
        baselines: Also run the scenario's baselines (``scenario.baselines``) on the same
            arrivals and draws.
        breaker: Run the breaker (``False`` with ``baselines``: the baselines alone, as a sweep
            does once per world, since they do not depend on the breaker's settings).

    Returns:
        The breaker's run and each baseline's, with metrics and time series.

    Raises:
        InvalidConfigError: a bad seed.
        Exception: anything raised inside the run, with a note naming the scenario and seed.
    """
    seed = check_seed(seed)
    if not isinstance(scenario, Scenario):
        from .errors import InvalidConfigError

        raise InvalidConfigError("scenario", "a Scenario", scenario)
    try:
        plan = Plan.draw(scenario, seed)
        policies = ([BREAKER] if breaker else []) + ([b.value for b in scenario.baselines] if baselines else [])
        runs: dict[str, RunResult] = {}
        for policy in policies:
            run = Run(scenario, plan, policy)
            run.execute()
            runs[policy] = collect(run)
            run.release()
    except Exception as exc:
        exc.add_note(f"while simulating {scenario!r} with seed={seed}: rerun simulate(scenario, {seed}) to reproduce")
        raise
    return SimResult(scenario=scenario, seed=seed, trace=plan.trace, runs=runs)

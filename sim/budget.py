"""How much work a run or a sweep is, estimated from its parameters before anything is drawn,
and the documented limits past which it is refused.

A run draws every random number up front (``engine.Plan``): a few per *attempt* of every
request, so a rate, a horizon or a retry count typed with a few digits too many asks for
petabytes. A trace is a list of segments, built before the run, so a flapping period of
``1e-300`` asks for more segments than there are atoms. A sweep is ``cells x replications``
runs. Each quantity is estimated by one function here, from the parameters alone (no wall
clock: work is counted in attempts, segments and runs), and ``check_run`` and
``check_sweep`` refuse what cannot fit with an error naming the estimate, the limit and what
to change.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .errors import InvalidConfigError

if TYPE_CHECKING:
    from .scenario import Scenario, Workload
    from .traces.trace import TraceSpec

__all__ = [
    "LARGE_SWEEP_RUNS", "MAX_ATTEMPTS_PER_RUN", "MAX_SWEEP_CELLS", "MAX_SWEEP_RUNS", "MAX_TRACE_SEGMENTS",
    "check_run", "check_sweep", "draws_per_attempt", "offered_requests", "plan_bytes", "planned_attempts",
    "sweep_runs", "trace_segments",
]

#: Most attempts (requests x attempts per request) one run may plan: each has its random draws.
MAX_ATTEMPTS_PER_RUN = 50_000_000
#: Most segments a trace may have before the horizon.
MAX_TRACE_SEGMENTS = 10_000_000
#: Most cells a sweep may have (each cell's scenario is built and validated before any run).
MAX_SWEEP_CELLS = 20_000
#: Most simulations a sweep may plan (for an adaptive sweep, at most: its budget or its cap).
MAX_SWEEP_RUNS = 1_000_000
#: A sweep with more runs than this is large: ``breakerlab sweep`` prints its size first.
LARGE_SWEEP_RUNS = 1_000

_DRAW_BYTES = 8  # one float64


class _About(float):
    """An estimate, shown rounded in messages."""

    def __repr__(self) -> str:
        return f"about {float(self):.3g}" if math.isfinite(self) else "more than a float can hold"


def _rate_integral(workload: Workload, horizon_s: float) -> float:
    """The workload's base rate integrated over ``[0, horizon_s)``: requests without the trace."""
    steps = workload.rate_steps()
    total = 0.0
    for index, (start_s, rate) in enumerate(steps):
        end_s = steps[index + 1][0] if index + 1 < len(steps) else horizon_s
        total += rate * max(0.0, min(end_s, horizon_s) - min(start_s, horizon_s))
    return total


def offered_requests(scenario: Scenario) -> float:
    """The requests a run of ``scenario`` is offered, at most on average: the workload's rate
    integrated over the horizon, times the trace's peak ``load_factor`` (``inf`` if it
    overflows)."""
    peak = float(getattr(scenario.trace, "peak_load_factor", 1.0))
    return _rate_integral(scenario.workload, scenario.horizon_s) * peak


def planned_attempts(scenario: Scenario) -> float:
    """The attempts a run's plan draws numbers for: ``offered_requests`` x ``1 + max_retries``."""
    return offered_requests(scenario) * (1 + scenario.workload.retry.max_retries)


def draws_per_attempt(scenario: Scenario) -> int:
    """Random numbers drawn per planned attempt: an error draw, a latency, and a jitter if retried."""
    return 3 if scenario.workload.retry.max_retries > 0 else 2


def plan_bytes(scenario: Scenario) -> float:
    """The size of a run's random draws alone (8 bytes each), a lower bound on its memory."""
    return planned_attempts(scenario) * draws_per_attempt(scenario) * _DRAW_BYTES


def trace_segments(trace: TraceSpec, horizon_s: float) -> float:
    """The segments ``trace`` has before ``horizon_s`` (expected, for a random family), from its
    ``segment_count`` (0 for a trace specification without one)."""
    count = getattr(trace, "segment_count", None)
    if not callable(count):
        return 0.0
    try:
        return float(count(horizon_s))
    except OverflowError:  # an int parameter beyond any float
        return math.inf


def sweep_runs(cells: int, replications: int, worlds: int = 0) -> int:
    """The simulations of a sweep: every cell's and every world's baselines, ``replications`` times."""
    return (cells + worlds) * replications


def _bytes(size: float) -> str:
    if not math.isfinite(size):
        return "more than any memory"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if size < 1024 or unit == "EiB":
            return f"{size:.3g} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_run(scenario: Scenario) -> None:
    """Refuse a run whose trace or plan cannot fit (see the ``MAX_*`` limits).

    Raises:
        InvalidConfigError: the trace has more than ``MAX_TRACE_SEGMENTS`` segments before the
            horizon, or the run plans more than ``MAX_ATTEMPTS_PER_RUN`` attempts; the message
            gives the estimate and which options to change.
    """
    trace = scenario.trace
    segments = trace_segments(trace, scenario.horizon_s)
    if segments > MAX_TRACE_SEGMENTS:
        fields: tuple[str, ...] = getattr(trace, "segment_fields", ())
        given = ", ".join(f"{name} = {getattr(trace, name)!r}" for name in fields)
        change = " or ".join(f"{name} (--{name.replace('_', '-')}, trace.{name})" for name in fields)
        name = getattr(trace, "name", type(trace).__name__)
        raise InvalidConfigError(
            "trace", f"at most {MAX_TRACE_SEGMENTS:,} segments before the horizon", _About(segments),
            f"the {name!r} trace over horizon_s = {scenario.horizon_s:g} s"
            + (f" with {given}" if given else "")
            + f"; change {change + ' or ' if change else ''}shorten horizon_s (--horizon)",
        )
    attempts = planned_attempts(scenario)
    if attempts > MAX_ATTEMPTS_PER_RUN:
        retries = scenario.workload.retry.max_retries
        peak = float(getattr(scenario.trace, "peak_load_factor", 1.0))
        load = f" (the trace's load_factor up to {peak:g})" if peak != 1.0 else ""
        raise InvalidConfigError(
            "attempts per run", f"at most {MAX_ATTEMPTS_PER_RUN:,} (rate x horizon x attempts per request)",
            _About(attempts),
            f"rate_rps = {scenario.workload.rate_rps:g}/s{load} over horizon_s = {scenario.horizon_s:g} s "
            f"with {retries} retries would draw {_bytes(plan_bytes(scenario))} of random numbers; lower the rate "
            "(--rate, workload.rate_rps), the horizon (--horizon, horizon_s) or the retries "
            "(--retries, workload.retry.max_retries)",
        )


def check_sweep(field: str, value: object, cells: int, runs: int, change: str) -> None:
    """Refuse a sweep with more than ``MAX_SWEEP_CELLS`` cells or ``MAX_SWEEP_RUNS`` runs.

    Args:
        field: The sweep key to name in the error, if there are too many runs.
        value: Its value.
        cells: The sweep's cells.
        runs: The simulations it plans (``sweep_runs``; at most, for an adaptive sweep).
        change: What to change, for the message.

    Raises:
        InvalidConfigError: too many cells, or too many runs.
    """
    if cells > MAX_SWEEP_CELLS:
        raise InvalidConfigError(
            "grid", f"at most {MAX_SWEEP_CELLS:,} cells (traces x the grid's combinations)", cells,
            "each cell's scenario is built before any run: use fewer values per grid option or fewer [[traces]]",
        )
    if runs > MAX_SWEEP_RUNS:
        raise InvalidConfigError(
            field, f"small enough for at most {MAX_SWEEP_RUNS:,} simulations in the sweep", value,
            f"the sweep would run {runs:,} simulations over its {cells:,} cell(s); {change}",
        )

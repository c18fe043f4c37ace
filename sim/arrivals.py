"""Arrival times: unit-rate points mapped through the cumulative offered rate.

The offered rate is piecewise constant: the workload's rate (or its schedule) times the
trace's ``load_factor``. Points of a unit-rate process mapped through the inverse of the
cumulative rate form a (non-homogeneous) Poisson process with that rate; evenly spaced unit
points give ``constant`` arrivals. Because the unit points come from the ``arrivals`` stream
alone, every breaker setting sees the same arrivals.
"""

from __future__ import annotations

import numpy as np

from .scenario import Arrivals, Workload
from .traces.trace import Trace

__all__ = ["arrival_times", "rate_steps"]


def rate_steps(workload: Workload, trace: Trace, horizon_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The offered rate as steps: ``(starts_s, rates_rps)``, the first start at 0."""
    base = workload.rate_steps()
    times = sorted({t for t, _ in base if t < horizon_s} | {s.start_s for s in trace.segments if s.start_s < horizon_s})
    starts = np.array(times, dtype=float)
    base_starts = np.array([t for t, _ in base])
    base_rates = np.array([r for _, r in base])
    base_rate = base_rates[np.searchsorted(base_starts, starts, side="right") - 1]
    load = np.array([trace.condition_at(t).load_factor for t in times])
    return starts, base_rate * load


def arrival_times(workload: Workload, trace: Trace, horizon_s: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times in ``[0, horizon_s)``."""
    starts, rates = rate_steps(workload, trace, horizon_s)
    ends = np.append(starts[1:], horizon_s)
    cumulative = np.concatenate(([0.0], np.cumsum(rates * (ends - starts))))
    total = float(cumulative[-1])
    if workload.arrivals is Arrivals.CONSTANT:
        points = np.arange(0.5, total, 1.0)
    else:
        chunks = []
        reached = 0.0
        size = int(total + 10 * np.sqrt(total) + 16)
        while reached < total:
            chunk = reached + np.cumsum(rng.exponential(size=size))
            chunks.append(chunk)
            reached = float(chunk[-1])
            size = max(16, size // 4)
        points = np.concatenate(chunks)
        points = points[points < total]
    index = np.searchsorted(cumulative, points, side="right") - 1
    times = starts[index] + (points - cumulative[index]) / rates[index]
    result: np.ndarray = np.minimum(times, np.nextafter(horizon_s, 0.0))
    return result

"""breakerlab.sim: a SimPy simulator of callers protected by the real breakerlab.model breaker.

>>> from breakerlab.sim import Scenario, simulate
>>> from breakerlab.sim.traces.families import HardDown
>>> from breakerlab.model import BreakerConfig
>>> scenario = Scenario(trace=HardDown(start_s=60, duration_s=120),
...                     breaker=BreakerConfig(fail_max=5, reset_timeout=30), horizon_s=300)
>>> result = simulate(scenario, seed=1)
>>> result.metrics.trips >= 1, result.runs["no_breaker"].metrics.rejected
(True, 0)
"""

from __future__ import annotations

from breakerlab.model.extras import require_extra

require_extra("breakerlab.sim", "sim", ("simpy", "numpy", "matplotlib", "pandas", "scipy", "tqdm"))


from .errors import SimulationError, TraceFileError
from .result import Metrics, RunResult, SimResult, TimeSeries, metric_definitions
from .scenario import (
    Arrivals,
    Balancer,
    Baseline,
    BreakerScope,
    Jitter,
    RetryPolicy,
    Scenario,
    Service,
    ServiceKind,
    Workload,
)
from .simulate import simulate
from .traces.families import FAMILIES, make_trace_spec
from .traces.trace import Condition, Segment, Trace

__all__ = [
    "FAMILIES",
    "Arrivals",
    "Balancer",
    "Baseline",
    "BreakerScope",
    "Condition",
    "Jitter",
    "Metrics",
    "RetryPolicy",
    "RunResult",
    "Scenario",
    "Segment",
    "Service",
    "ServiceKind",
    "SimResult",
    "SimulationError",
    "TimeSeries",
    "Trace",
    "TraceFileError",
    "Workload",
    "make_trace_spec",
    "metric_definitions",
    "simulate",
]

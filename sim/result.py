"""What a run returns: ``Metrics`` (documented definitions), a binned ``TimeSeries``, and the
``SimResult`` holding one ``RunResult`` per policy (the breaker and each baseline)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .scenario import Scenario
from .traces.trace import Trace

__all__ = ["BREAKER", "Metrics", "RunResult", "SimResult", "TimeSeries", "metric_definitions", "metrics_markdown"]

#: The policy name of the run with the breaker (baselines are named by ``Baseline`` values).
BREAKER = "breaker"


def _doc(text: str) -> Any:
    return dataclasses.field(metadata={"doc": text})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Metrics:
    """One run's metrics. Times are simulated seconds; every count is over requests arriving in
    ``[0, horizon_s)``. ``None`` means "did not happen" (never opened, not closed at the end).

    For a fleet (``Workload.instances`` > 1) counts are the fleet's totals; the breaker's
    openings are summed over the fleet's breakers, ``time_to_open_s`` is the first opening of
    any, ``time_to_close_s`` the last closing (once all are closed), ``time_in_state_s`` the
    mean over instances, and the pool metrics are over every instance's workers together."""

    offered: int = _doc("requests that arrived during the horizon (the offered load)")
    attempts: int = _doc("attempts made, retries included (each reaches the pool and the breaker)")
    admitted: int = _doc("attempts the breaker admitted (sent to the service)")
    rejected: int = _doc("attempts the breaker rejected")
    pool_full: int = _doc("attempts that found no free worker and no queue room (failed at once)")
    failed_calls: int = _doc("admitted attempts that failed (errors and timeouts): calls wasted on the service")
    succeeded: int = _doc("requests answered successfully within call_timeout_s (by any attempt)")
    failed: int = _doc("requests that ended without a success (errors, timeouts, rejections)")
    unfinished: int = _doc("requests still unresolved when the run ended (should be 0)")
    goodput: float = _doc("succeeded requests per second of horizon")
    availability: float = _doc("succeeded / offered: the fraction of offered requests that succeeded")
    amplification: float = _doc("attempts / offered: the load multiplier of retries (1 without retries)")
    retries_stopped: int = _doc(
        "retries not made because the retry breaker was open (workload.retry.breaker_threshold; 0 when off)"
    )
    time_to_open_s: float | None = _doc("first fault's start to the first opening at or after it")
    requests_to_open: int | None = _doc("attempts admitted from the first fault's start until that opening")
    calls_to_unhealthy: int = _doc("attempts admitted while the service was unhealthy (sum of the three below)")
    calls_to_unhealthy_before_trip: int = _doc(
        "of those, admitted in closed and answered before the breaker left closed (they count towards the trip)"
    )
    calls_to_unhealthy_probes: int = _doc("of those, admitted as half-open probes")
    calls_to_unhealthy_in_flight: int = _doc(
        "of those, admitted in closed but still in flight when the breaker left closed (late results)"
    )
    time_to_close_s: float | None = _doc(
        "last fault's end to the breaker's last entry into closed (0 if it was closed throughout; "
        "None if not closed at the end, and for the baselines, which have no states)"
    )
    time_to_recover_s: float | None = _doc(
        "last fault's end to the first time from which the share of requests succeeding over the next "
        "recovery_window_s is back to 90% of its share before the first fault (any policy; None if it never is "
        "within the horizon, or there is no fault or no time before it)"
    )
    false_rejections: int = _doc(
        "rejected attempts that would have succeeded (their outcome is drawn whether or not sent; on the capacity "
        "service, only those a free server could really have served)"
    )
    false_trips: int = _doc(
        "openings with no fault during the call_timeout_s before them (so every call that could have caused them "
        "ran while the service was healthy)"
    )
    false_trips_per_hour: float = _doc("false_trips per hour of healthy time")
    trips: int = _doc("openings (entries into open, from closed or half-open)")
    trips_from_closed: int = _doc("openings from closed (the trip rule met)")
    admitted_closed: int = _doc("attempts admitted in closed")
    recovery_load_rps: float | None = _doc(
        "attempts sent per second during the recovery window (recovery_window_s after the last fault ends)"
    )
    recovery_load_peak_concurrency: int | None = _doc("most calls in flight at once during the recovery window")
    latency_p50_s: float | None = _doc("median caller-observed latency of a request (arrival to final outcome)")
    latency_p99_s: float | None = _doc("99th percentile of the same")
    latency_p999_s: float | None = _doc("99.9th percentile of the same")
    success_latency_p99_s: float | None = _doc("99th percentile latency of succeeded requests")
    pool_peak: int = _doc("largest number of busy workers")
    pool_mean: float = _doc("time-averaged busy workers over the horizon")
    pool_saturated_s: float = _doc("time with every worker busy")
    service_crashes: int = _doc(
        "times the capacity service crashed under overload (Service.crash_after_s; 0 otherwise)"
    )
    service_crashes_after_fault: int = _doc(
        "crashes of the capacity service after the last fault ended: the dependency knocked down again by its callers"
    )
    overloaded_after_fault_s: float = _doc(
        "seconds after the last fault ended that the capacity service was overloaded (from its queue filling until "
        "it drained to half): the callers offering the recovering dependency more than it can serve (0 otherwise)"
    )
    peak_open_instances: int | None = _doc(
        "most instances whose breaker was open at once (0 or 1 for one instance; None for the baselines)"
    )
    time_in_state_s: dict[str, float] = _doc("time in each breaker state over the horizon")

    def as_dict(self) -> dict[str, Any]:
        """Plain values, JSON-ready (``inf``/``nan`` become ``None``)."""
        result: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            result[field.name] = _plain(getattr(self, field.name))
        return result


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return _plain(float(value))
    return value


def metric_definitions() -> dict[str, str]:
    """Each metric's name and definition, in table order."""
    return {f.name: f.metadata["doc"] for f in dataclasses.fields(Metrics)}


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class TimeSeries:
    """Per-bin counts and pool occupancy; bin ``i`` covers ``[i*bin_s, (i+1)*bin_s)``.

    Attempt counts are by the time the attempt was admitted/rejected/answered. Only bins up to
    the horizon are kept.
    """

    bin_s: float
    admitted: np.ndarray  # attempts sent to the service
    rejected: np.ndarray  # attempts the breaker rejected
    succeeded: np.ndarray  # attempts answered successfully
    failed: np.ndarray  # attempts that failed (error, timeout), pool_full included
    pool_mean: np.ndarray  # time-averaged busy workers
    pool_peak: np.ndarray  # most busy workers at once
    state_changes: tuple[tuple[float, str], ...]  # (time_s, new state), from (0, initial state); instance 0's
    open_instances: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    """Time-averaged number of the fleet's instances whose breaker is open (zeros for the baselines)."""
    half_open_instances: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    """The same for half-open (the rest of the fleet is closed)."""

    @property
    def start_s(self) -> np.ndarray:
        """Each bin's start time."""
        return np.arange(len(self.admitted)) * self.bin_s

    def as_dict(self) -> dict[str, Any]:
        """Lists, JSON-ready."""
        return {
            "bin_s": self.bin_s,
            "admitted": self.admitted.tolist(),
            "rejected": self.rejected.tolist(),
            "succeeded": self.succeeded.tolist(),
            "failed": self.failed.tolist(),
            "pool_mean": self.pool_mean.tolist(),
            "pool_peak": self.pool_peak.tolist(),
            "state_changes": [list(c) for c in self.state_changes],
            "open_instances": self.open_instances.tolist(),
            "half_open_instances": self.half_open_instances.tolist(),
        }


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class RunResult:
    """One policy's run."""

    policy: str
    metrics: Metrics
    series: TimeSeries


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class SimResult:
    """Everything ``simulate(scenario, seed)`` produced.

    Attributes:
        scenario: What was simulated.
        seed: The seed every random stream was split from.
        trace: The trace as built for this run (random families are drawn from the seed).
        runs: ``"breaker"`` and each baseline (``"no_breaker"``, ``"oracle"``), all on the same
            arrivals and per-attempt random draws (common random numbers).
    """

    scenario: Scenario
    seed: int
    trace: Trace
    runs: dict[str, RunResult]

    @property
    def metrics(self) -> Metrics:
        """The breaker run's metrics."""
        return self.runs[BREAKER].metrics

    @property
    def series(self) -> TimeSeries:
        """The breaker run's time series."""
        return self.runs[BREAKER].series

    @property
    def requests(self) -> int:
        """Requests simulated, over every policy."""
        return sum(run.metrics.offered for run in self.runs.values())

    def as_dict(self, *, series: bool = False) -> dict[str, Any]:
        """The breaker's metrics at the top level, plus ``baselines`` (each baseline's metrics),
        ``seed``, ``scenario`` (its name) and, with ``series``, each run's time series."""
        result = self.metrics.as_dict()
        result["seed"] = self.seed
        result["scenario"] = self.scenario.name
        result["trace"] = self.trace.name
        result["baselines"] = {name: run.metrics.as_dict() for name, run in self.runs.items() if name != BREAKER}
        if series:
            result["series"] = {name: run.series.as_dict() for name, run in self.runs.items()}
        return result


def metrics_markdown() -> str:
    """The metric definitions as a Markdown table (``sim/README.md`` embeds it verbatim)."""
    lines = ["| metric | definition |", "| --- | --- |"]
    lines += [f"| `{name}` | {text} |" for name, text in metric_definitions().items()]
    return "\n".join(lines)

"""Turning a finished ``Run``'s raw counts into ``Metrics`` and a ``TimeSeries``.

The definitions are in ``breakerlab.sim.result.Metrics`` (and ``metric_definitions()``); this
module computes them. Fault windows come from the trace's health labels.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

from breakerlab.model.states import State

from .engine import Run
from .result import BREAKER, Metrics, RunResult, TimeSeries

__all__ = ["collect"]


def _percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    if not len(values):
        return [None] * len(qs)
    return [float(v) for v in np.percentile(values, qs)]


def _array(values: array[float]) -> np.ndarray:
    """A run's raw times as a numpy array (a view of the same buffer, not a copy)."""
    return np.frombuffer(values, dtype=float)


def _periods(changes: list[tuple[float, State]], horizon_s: float) -> list[tuple[float, float, State]]:
    """``(start, end, state)`` of each stay in a state within ``[0, horizon_s)``, in order."""
    periods = []
    for (start, state), (end, _) in zip(changes, [*changes[1:], (horizon_s, State.CLOSED)]):
        start, end = min(start, horizon_s), min(end, horizon_s)
        if end > start:
            periods.append((start, end, state))
    return periods


Periods = list[tuple[int, list[tuple[float, float, State]]]]  # per breaker: its weight, its _periods


def _time_in_state(periods: Periods, instances: int) -> dict[str, float]:
    """Seconds per state, averaged over the fleet's instances (each counted with its breaker's)."""
    totals: dict[State, float] = {}
    for weight, stays in periods:
        share = weight / instances  # 1.0 exactly for a single or a shared breaker
        for start, end, state in stays:
            totals[state] = totals.get(state, 0.0) + share * (end - start)
    return {state.value: total for state, total in totals.items()}


def _instances_in(
    state_of_interest: State,
    periods: Periods,
    bins: int,
    bin_s: float,
    horizon_s: float,
) -> tuple[np.ndarray, int]:
    """Per bin, the time-averaged number of instances whose breaker is in ``state_of_interest``;
    and the most at once."""
    steps: list[tuple[float, int]] = []
    for weight, stays in periods:
        for start, end, state in stays:
            if state is state_of_interest:
                steps += [(start, weight), (end, -weight)]
    mean = np.zeros(bins)
    if not steps:
        return mean, 0
    steps.sort()
    times = np.array([t for t, _ in steps])
    counts = np.cumsum([d for _, d in steps])
    # The integral of the open count up to each bin edge, from the step function.
    edges = np.minimum(np.arange(bins + 1) * bin_s, horizon_s)
    k = np.searchsorted(times, edges, side="right") - 1
    area_at = np.concatenate(([0.0], np.cumsum(counts[:-1] * np.diff(times))))
    safe = np.maximum(k, 0)
    integral = np.where(k >= 0, area_at[safe] + counts[safe] * (edges - times[safe]), 0.0)
    widths = np.diff(edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(widths > 0, np.diff(integral) / np.where(widths > 0, widths, 1.0), 0.0)
    return mean, int(counts.max())


class _Occupancy:
    """The pool's busy workers as a step function of time, from the run's change log."""

    def __init__(self, times: np.ndarray, busy: np.ndarray) -> None:
        self.times = times
        self.busy = busy
        widths = np.diff(self.times)
        # The integral of occupancy from 0 up to each change.
        self.area_at = np.concatenate(([0.0], np.cumsum(self.busy[:-1] * widths))) if len(times) else np.zeros(0)

    def integral(self, t: np.ndarray) -> np.ndarray:
        """Busy-worker-seconds from 0 to each time in ``t``."""
        if not len(self.times):
            return np.zeros(len(t))
        k = np.searchsorted(self.times, t, side="right") - 1
        safe = np.maximum(k, 0)
        return np.where(k >= 0, self.area_at[safe] + self.busy[safe] * (t - self.times[safe]), 0.0)

    def value_before(self, t: float) -> int:
        """Busy workers just before ``t`` (after every change strictly earlier)."""
        k = int(np.searchsorted(self.times, t, side="left")) - 1
        return int(self.busy[k]) if k >= 0 else 0

    def peak(self, start: float, end: float) -> int:
        """Most busy workers at once during ``[start, end)``."""
        first = int(np.searchsorted(self.times, start, side="left"))
        last = int(np.searchsorted(self.times, end, side="left"))
        inside = int(self.busy[first:last].max()) if last > first else 0
        return max(inside, self.value_before(start))

    def bin_peaks(self, bins: int, bin_s: float, horizon_s: float) -> np.ndarray:
        """Most busy workers at once in each bin."""
        starts = np.arange(bins) * bin_s
        k = np.searchsorted(self.times, starts, side="left") - 1
        peaks = np.where(k >= 0, self.busy[np.maximum(k, 0)], 0) if len(self.times) else np.zeros(bins, np.int64)
        inside = self.times < horizon_s
        np.maximum.at(peaks, (self.times[inside] / bin_s).astype(np.int64).clip(0, bins - 1), self.busy[inside])
        return peaks

    def saturated_s(self, workers: int, horizon_s: float) -> float:
        """Time in ``[0, horizon_s)`` with ``workers`` busy."""
        if not len(self.times):
            return 0.0
        ends = np.minimum(np.append(self.times[1:], horizon_s), horizon_s)
        starts = np.minimum(self.times, horizon_s)
        return float(np.sum(np.where(self.busy == workers, np.maximum(ends - starts, 0.0), 0.0)))


def _counts(times: np.ndarray, bins: int, bin_s: float, horizon_s: float) -> np.ndarray:
    array = times[times < horizon_s]
    return np.bincount((array / bin_s).astype(np.int64).clip(0, bins - 1), minlength=bins)


#: Recovered: the success share is back to this fraction of its share before the fault.
RECOVERED_SHARE = 0.9


def _time_to_recover(
    run: Run, succeeded_at: np.ndarray, fault_start: float, fault_end: float, window_s: float, horizon: float
) -> float | None:
    """See ``Metrics.time_to_recover_s``: exact times, not bins."""
    arrivals = run.plan.arrivals_array_s
    successes = np.sort(succeeded_at)
    before = np.count_nonzero(arrivals < fault_start)
    if fault_start <= 0 or before == 0:
        return None
    share_before = np.count_nonzero(successes < fault_start) / before
    if share_before == 0:
        return None
    # Candidate window starts: the fault's end and each arrival after it (the window's counts
    # change only as it slides past an arrival or a success; arrivals are dense enough).
    starts = np.concatenate(([fault_end], arrivals[arrivals >= fault_end]))
    starts = starts[starts + window_s <= horizon]
    if not len(starts):
        return None
    # The first start that recovered: tried in chunks of growing size, since it is usually
    # near the fault's end.
    target = RECOVERED_SHARE * share_before
    low, size = 0, 256
    while low < len(starts):
        chunk = starts[low:low + size]
        offered = np.searchsorted(arrivals, chunk + window_s) - np.searchsorted(arrivals, chunk)
        succeeded = np.searchsorted(successes, chunk + window_s) - np.searchsorted(successes, chunk)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(offered > 0, succeeded / np.maximum(offered, 1), np.nan)
        recovered = np.flatnonzero(share >= target)
        if len(recovered):
            return float(chunk[recovered[0]] - fault_end)
        low, size = low + size, size * 4
    return None


def collect(run: Run) -> RunResult:
    """The metrics and time series of a finished run."""
    scenario = run.scenario
    horizon = scenario.horizon_s
    bin_s = scenario.bin_s
    bins = max(1, math.ceil(horizon / bin_s))
    trace = run.trace
    windows = trace.fault_windows(horizon)
    slots = [(slot.instances, [(t, s) for t, s in slot.changes() if t < horizon]) for slot in run.slots]
    offered = len(run.plan.arrivals_s)
    occupancy = _Occupancy(*run.pool_changes())
    steps = np.diff(np.concatenate(([0], occupancy.busy)))
    admitted_at = occupancy.times[steps > 0]
    succeeded_at = _array(run.succeeded_at)

    opens = [t for _, changes in slots for t, s in changes[1:] if s is State.OPEN]
    trips_from_closed = sum(
        1
        for _, changes in slots
        for (_, before), (_, after) in zip(changes, changes[1:])
        if before is State.CLOSED and after is State.OPEN
    )
    # An opening is false if no fault overlaps the call_timeout_s before it: every call that
    # could have caused it was admitted and answered while the service was healthy.
    lookback = scenario.workload.call_timeout_s
    false_trips = sum(1 for t in opens if not any(start <= t and end > t - lookback for start, end in windows))
    healthy_hours = trace.healthy_time_s(horizon) / 3600.0

    time_to_open = None if run.first_open_s is None else run.first_open_s - run.fault_start_s
    time_to_close: float | None = None
    time_to_recover: float | None = None
    recovery_rps: float | None = None
    recovery_peak: int | None = None
    if windows and windows[-1][1] < horizon:
        fault_end = windows[-1][1]
        if slots and all(changes and changes[-1][1] is State.CLOSED for _, changes in slots):
            time_to_close = max(max(0.0, changes[-1][0] - fault_end) for _, changes in slots)
        time_to_recover = _time_to_recover(run, succeeded_at, windows[0][0], fault_end, scenario.recovery_window_s, horizon)
        window_end = min(horizon, fault_end + scenario.recovery_window_s)
        sent = np.count_nonzero((admitted_at >= fault_end) & (admitted_at < window_end))
        recovery_rps = float(sent) / (window_end - fault_end)
        recovery_peak = occupancy.peak(fault_end, window_end)

    edges = np.minimum(np.arange(bins + 1) * bin_s, horizon)
    areas = np.diff(occupancy.integral(edges))
    periods = [(weight, _periods(changes, horizon)) for weight, changes in slots]
    open_mean, open_peak = _instances_in(State.OPEN, periods, bins, bin_s, horizon)
    crashes = [t for t in run.capacity.crash_times if t < horizon] if run.capacity is not None else []
    half_open_mean, _ = _instances_in(State.HALF_OPEN, periods, bins, bin_s, horizon)
    series = TimeSeries(
        bin_s=bin_s,
        admitted=_counts(admitted_at, bins, bin_s, horizon),
        rejected=_counts(_array(run.rejected_at), bins, bin_s, horizon),
        succeeded=_counts(succeeded_at, bins, bin_s, horizon),
        failed=_counts(_array(run.failed_at), bins, bin_s, horizon),
        pool_mean=areas / np.diff(edges),
        pool_peak=occupancy.bin_peaks(bins, bin_s, horizon),
        state_changes=tuple((t, s.value) for t, s in slots[0][1]) if slots else (),
        open_instances=open_mean,
        half_open_instances=half_open_mean,
    )
    in_horizon = occupancy.busy[occupancy.times < horizon]

    unhealthy = run.before_trip + run.in_flight + run.probes
    succeeded, resolved = run.succeeded, run.resolved
    latencies = run.latencies_s(succeeded_at)  # the successes' first
    latency_p50, latency_p99, latency_p999 = _percentiles(latencies, (50, 99, 99.9))
    metrics = Metrics(
        offered=offered,
        attempts=run.attempts,
        admitted=run.admitted,
        rejected=run.rejected,
        pool_full=run.pool_full,
        failed_calls=len(run.failed_at) - run.pool_full,
        succeeded=succeeded,
        failed=resolved - succeeded,
        unfinished=offered - resolved,
        goodput=succeeded / horizon,
        availability=succeeded / offered if offered else math.nan,
        amplification=run.attempts / offered if offered else math.nan,
        retries_stopped=run.retries_stopped,
        time_to_open_s=time_to_open,
        requests_to_open=run.requests_to_open,
        calls_to_unhealthy=unhealthy,
        calls_to_unhealthy_before_trip=run.before_trip,
        calls_to_unhealthy_probes=run.probes,
        calls_to_unhealthy_in_flight=run.in_flight,
        time_to_close_s=time_to_close,
        time_to_recover_s=time_to_recover,
        false_rejections=run.false_rejections,
        false_trips=false_trips,
        false_trips_per_hour=false_trips / healthy_hours if healthy_hours > 0 else math.nan,
        trips=len(opens),
        trips_from_closed=trips_from_closed,
        admitted_closed=run.admitted_closed if run.policy == BREAKER else run.admitted,
        recovery_load_rps=recovery_rps,
        recovery_load_peak_concurrency=recovery_peak,
        latency_p50_s=latency_p50,
        latency_p99_s=latency_p99,
        latency_p999_s=latency_p999,
        success_latency_p99_s=_percentiles(latencies[:succeeded], (99,))[0],
        pool_peak=int(in_horizon.max()) if len(in_horizon) else 0,
        pool_mean=float(occupancy.integral(np.array([horizon]))[0]) / horizon,
        pool_saturated_s=occupancy.saturated_s(run.workers * run.instances, horizon),
        service_crashes=len(crashes),
        service_crashes_after_fault=sum(1 for t in crashes if windows and t >= windows[-1][1]),
        overloaded_after_fault_s=_overloaded_after(run.capacity.overload_changes, windows[-1][1], horizon)
        if run.capacity is not None and windows else 0.0,
        peak_open_instances=open_peak if slots else None,
        time_in_state_s=_time_in_state(periods, run.instances) if slots else {},
    )
    return RunResult(policy=run.policy, metrics=metrics, series=series)


def _overloaded_after(changes: list[float], start_s: float, end_s: float) -> float:
    """The time within ``[start_s, end_s]`` covered by overloads, given as the times they began
    and ended, alternately (the last may still be going on)."""
    total = 0.0
    for k in range(0, len(changes), 2):
        began = changes[k]
        ended = changes[k + 1] if k + 1 < len(changes) else end_s
        total += max(0.0, min(ended, end_s) - max(began, start_s))
    return total

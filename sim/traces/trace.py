"""Outage traces: what the downstream service is like at each instant of simulated time.

A trace is a piecewise-constant timeline of ``Condition`` segments. Each segment starts at
``start_s`` and lasts until the next one starts (the last lasts forever). Synthetic families
(``breakerlab.sim.traces.families``) and replayed files (``breakerlab.sim.traces.files``) both build
``Trace`` objects; the engine reads only ``Trace``.

Every segment is labelled healthy or not. The label defines the *fault windows* that the
metrics are measured against (``time_to_open_s`` counts from a fault's start,
``time_to_close_s`` from the last fault's end, false trips are opens while healthy).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import InvalidConfigError

__all__ = ["Condition", "HEALTHY", "Segment", "Trace", "TraceSpec", "derived_health"]

#: A segment whose error rate exceeds this is unhealthy unless it is labelled otherwise.
UNHEALTHY_ERROR_RATE = 0.05


@dataclasses.dataclass(frozen=True, kw_only=True)
class Condition:
    """The service's condition during one segment.

    Attributes:
        error_rate: Probability that an attempt fails fast (an error after the service's
            ``error_latency_s``), in [0, 1].
        hang: Attempts get no answer: each ends at the caller's ``call_timeout_s``.
        latency_factor: Multiplies the service's base latency (successful calls), > 0.
        extra_latency_s: Added to the latency of successful calls, >= 0.
        capacity_factor: Fraction of the capacity service's processing rate, in (0, 1]
            (only the ``capacity`` service kind has a rate).
        load_factor: Multiplies the offered arrival rate, > 0.
        paused: Stop-the-world: the service makes no progress during this segment; calls in
            progress resume when it ends.
        healthy: The label; ``None`` derives it (see ``derived_health``).
    """

    error_rate: float = 0.0
    hang: bool = False
    latency_factor: float = 1.0
    extra_latency_s: float = 0.0
    capacity_factor: float = 1.0
    load_factor: float = 1.0
    paused: bool = False
    healthy: bool | None = None

    def __post_init__(self) -> None:
        _check("error_rate", self.error_rate, 0.0 <= self.error_rate <= 1.0, "in [0, 1]")
        _check("latency_factor", self.latency_factor, self.latency_factor > 0, "> 0")
        _check("extra_latency_s", self.extra_latency_s, self.extra_latency_s >= 0, ">= 0")
        _check("capacity_factor", self.capacity_factor, 0 < self.capacity_factor <= 1, "in (0, 1]")
        _check("load_factor", self.load_factor, self.load_factor > 0, "> 0")
        if self.healthy is None:
            object.__setattr__(self, "healthy", derived_health(self))

    @property
    def is_healthy(self) -> bool:
        """The label (always set after construction)."""
        return bool(self.healthy)


def _check(field: str, value: float, ok: bool, rule: str) -> None:
    if not (ok and math.isfinite(value)):
        raise InvalidConfigError(field, f"a finite number {rule}", value)


def derived_health(condition: Condition) -> bool:
    """The default label: unhealthy if the service hangs, pauses, has lost capacity, is slower
    than usual, is offered more load than usual, or fails more than 5% of attempts."""
    return not (
        condition.hang
        or condition.paused
        or condition.capacity_factor < 1.0
        or condition.latency_factor > 1.0
        or condition.extra_latency_s > 0.0
        or condition.load_factor > 1.0
        or condition.error_rate > UNHEALTHY_ERROR_RATE
    )


#: The service as usual.
HEALTHY = Condition()


@dataclasses.dataclass(frozen=True)
class Segment:
    """``condition`` holds from ``start_s`` until the next segment starts."""

    start_s: float
    condition: Condition


class Trace:
    """A validated timeline of conditions, starting at time 0.

    Args:
        name: Shown in tables, plots and errors.
        segments: In increasing ``start_s`` order, the first at 0. Consecutive segments with
            equal conditions are merged.

    Raises:
        InvalidConfigError: no segment, the first not at 0, or start times not increasing.
    """

    def __init__(self, name: str, segments: Iterable[Segment]) -> None:
        merged: list[Segment] = []
        previous = -math.inf  # the last start seen, merged or not
        for segment in segments:
            start = segment.start_s
            if not math.isfinite(start):
                raise InvalidConfigError("segments", "finite start times", start)
            if start <= previous:
                raise InvalidConfigError("segments", "in increasing start_s order", f"{start} after {previous}")
            previous = start
            if merged and segment.condition == merged[-1].condition:
                continue
            merged.append(segment)
        if not merged:
            raise InvalidConfigError("segments", "at least one segment", [])
        if merged[0].start_s != 0.0:
            raise InvalidConfigError("segments", "starting at time 0", merged[0].start_s)
        self.name = name
        self.segments: tuple[Segment, ...] = tuple(merged)
        self._starts = [s.start_s for s in merged]
        pauses = []
        for index, segment in enumerate(merged):
            if segment.condition.paused:
                end = merged[index + 1].start_s if index + 1 < len(merged) else math.inf
                pauses.append((segment.start_s, end))
        self.pauses: tuple[tuple[float, float], ...] = tuple(pauses)
        self._pause_starts = [p[0] for p in pauses]

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        """A trace is its own specification (see ``TraceSpec``)."""
        return self

    # -- reading ---------------------------------------------------------------------------------

    def condition_at(self, time_s: float) -> Condition:
        """The condition holding at ``time_s`` (the last segment's after the end)."""
        index = bisect.bisect_right(self._starts, time_s) - 1
        return self.segments[max(index, 0)].condition

    def fault_windows(self, horizon_s: float) -> list[tuple[float, float]]:
        """Maximal unhealthy intervals ``[start, end)`` intersected with ``[0, horizon_s)``."""
        windows: list[tuple[float, float]] = []
        for index, segment in enumerate(self.segments):
            start = segment.start_s
            if start >= horizon_s:
                break
            end = self.segments[index + 1].start_s if index + 1 < len(self.segments) else horizon_s
            end = min(end, horizon_s)
            if segment.condition.is_healthy:
                continue
            if windows and windows[-1][1] == start:
                windows[-1] = (windows[-1][0], end)
            else:
                windows.append((start, end))
        return windows

    def healthy_time_s(self, horizon_s: float) -> float:
        """Total healthy time in ``[0, horizon_s)``."""
        return horizon_s - sum(end - start for start, end in self.fault_windows(horizon_s))

    def finish_time(self, start_s: float, work_s: float) -> float:
        """When ``work_s`` seconds of service that start at ``start_s`` end, with pauses
        (stop-the-world segments) adding their overlap."""
        pauses = self.pauses
        if not pauses:
            return start_s + work_s
        index = bisect.bisect_right(self._pause_starts, start_s) - 1
        now = start_s
        if index >= 0 and now < pauses[index][1]:
            now = pauses[index][1]  # started inside a pause: wait for its end
        index += 1
        while index < len(pauses):
            pause_start, pause_end = pauses[index]
            if now + work_s <= pause_start:
                break
            work_s -= pause_start - now
            now = pause_end
            index += 1
        return now + work_s

    def segment_count(self, horizon_s: float) -> float:
        """The segments (all of them: a built trace's size does not depend on the horizon)."""
        return float(len(self.segments))

    @property
    def peak_load_factor(self) -> float:
        """The largest ``load_factor`` of the segments' conditions."""
        return max(segment.condition.load_factor for segment in self.segments)

    def boundaries(self) -> Sequence[float]:
        """Segment start times (the first is 0)."""
        return tuple(self._starts)

    def __repr__(self) -> str:
        return f"<Trace {self.name!r}: {len(self.segments)} segments>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and (self.name, self.segments) == (other.name, other.segments)

    def __hash__(self) -> int:
        return hash((self.name, self.segments))


@runtime_checkable
class TraceSpec(Protocol):
    """Anything that builds a trace for a run: a synthetic family's parameters (random
    families draw from ``rng``, the run's ``trace`` stream), or a ``Trace`` itself."""

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace: ...

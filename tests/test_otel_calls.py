"""Per-call metrics of ``breakerlab.runtime.otel``: calls by outcome and call durations, read
back through the SDK's in-memory metric reader."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric, NumberDataPoint, Sum

from breakerlab.model import Breaker, BreakerConfig, CircuitOpenError, ManualClock
from breakerlab.runtime import CircuitBreaker
from breakerlab.runtime.otel import CALL_DURATION, CALLS, DURATION_BUCKETS_S, OUTCOMES, instrument

Attributes = tuple[tuple[str, object], ...]


class Reader:
    """A meter provider whose metrics are read back from memory."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])

    def metrics(self) -> dict[str, Metric]:
        """Every metric collected now, by name."""
        data = self.reader.get_metrics_data()
        if data is None:
            return {}
        return {m.name: m for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}

    def points(self, name: str) -> dict[Attributes, Any]:
        """The data points of metric ``name`` by sorted attribute items."""
        metric = self.metrics().get(name)
        if metric is None:
            return {}
        return {tuple(sorted(dict(p.attributes or {}).items())): p for p in metric.data.data_points}

    def calls(self, name: str = "payments") -> dict[str, int]:
        """``breakerlab.calls`` of breaker ``name``, by outcome."""
        found = {}
        for attributes, point in self.points(CALLS).items():
            assert isinstance(point, NumberDataPoint)
            values = dict(attributes)
            if values["breaker.name"] == name:
                found[str(values["breaker.outcome"])] = int(point.value)
        return found


@pytest.fixture
def telemetry() -> Iterator[Reader]:
    """Fresh in-memory metrics, shut down after the test."""
    result = Reader()
    yield result
    result.provider.shutdown()


def _fail() -> None:
    raise OSError("down")


def _excluded() -> None:
    raise KeyError("not the service's fault")


def test_calls_are_counted_by_outcome_as_the_breaker_classifies_them(telemetry: Reader) -> None:
    """Successes, failures, rejections and released calls (an excluded exception, a cancellation)
    each appear under their breaker.outcome, agreeing with the breaker's own totals."""
    config = BreakerConfig(fail_max=2, excluded_exceptions=(KeyError,))
    breaker = CircuitBreaker(config, clock=ManualClock(), name="payments")
    instrument(breaker, meter_provider=telemetry.provider)
    assert telemetry.calls() == dict.fromkeys(OUTCOMES, 0)
    for _ in range(3):
        assert breaker.call(lambda: "ok") == "ok"
    with pytest.raises(KeyError):
        breaker.call(_excluded)
    with pytest.raises(KeyboardInterrupt), breaker:
        raise KeyboardInterrupt
    for _ in range(2):
        with pytest.raises(OSError):
            breaker.call(_fail)
    for _ in range(4):
        with pytest.raises(CircuitOpenError):
            breaker.call(lambda: "ok")
    assert telemetry.calls() == {"success": 3, "failure": 2, "rejected": 4, "released": 2}
    stats = breaker.stats
    assert (stats.successes, stats.failures, stats.rejections, stats.released) == (3, 2, 4, 2)
    metric = telemetry.metrics()[CALLS]
    assert metric.unit == "{call}" and isinstance(metric.data, Sum) and metric.data.is_monotonic


def test_call_durations_are_a_histogram_in_seconds_by_outcome(telemetry: Reader) -> None:
    """Each success and failure records its duration on the breaker's clock, in seconds, with the
    semantic conventions' client-duration buckets; a released call records none."""
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerConfig(fail_max=5), clock=clock, name="payments")
    instrument(breaker, meter_provider=telemetry.provider)

    def slow(seconds: float, error: BaseException | None = None) -> str:
        clock.advance(seconds)
        if error is not None:
            raise error
        return "ok"

    breaker.call(slow, 0.2)
    breaker.call(slow, 0.03)
    with pytest.raises(OSError):
        breaker.call(slow, 1.5, OSError("timeout"))
    with pytest.raises(KeyboardInterrupt):
        breaker.call(slow, 9.0, KeyboardInterrupt())
    points = telemetry.points(CALL_DURATION)
    success = points[(("breaker.name", "payments"), ("breaker.outcome", "success"))]
    failure = points[(("breaker.name", "payments"), ("breaker.outcome", "failure"))]
    assert isinstance(success, HistogramDataPoint) and isinstance(failure, HistogramDataPoint)
    assert success.count == 2 and success.sum == pytest.approx(0.23) and success.max == pytest.approx(0.2)
    assert failure.count == 1 and failure.sum == pytest.approx(1.5)
    assert len(points) == 2  # the cancelled call (released) has no duration
    assert tuple(success.explicit_bounds) == tuple(DURATION_BUCKETS_S)
    assert telemetry.metrics()[CALL_DURATION].unit == "s"


def test_calls_are_counted_from_the_moment_the_breaker_is_instrumented(telemetry: Reader) -> None:
    """Calls made before instrument() are not reported, like the other counters."""
    breaker = CircuitBreaker(clock=ManualClock(), name="payments")
    breaker.call(lambda: "early")
    instrument(breaker, meter_provider=telemetry.provider)
    breaker.call(lambda: "counted")
    assert telemetry.calls()["success"] == 1


def test_breakers_sharing_a_meter_provider_each_report_their_calls(telemetry: Reader) -> None:
    """Two breakers on one meter provider (one instrument name) each get their own series, and
    a breaker that was garbage-collected drops out without breaking the collection."""
    first = CircuitBreaker(clock=ManualClock(), name="first")
    second = CircuitBreaker(BreakerConfig(fail_max=1), clock=ManualClock(), name="second")
    reference = Breaker(clock=ManualClock(), name="reference")
    for breaker in (first, second, reference):
        instrument(breaker, meter_provider=telemetry.provider)
    first.call(lambda: "ok")
    with pytest.raises(OSError):
        second.call(_fail)
    with pytest.raises(CircuitOpenError):
        second.call(lambda: "ok")
    reference.record_success(reference.acquire())
    assert telemetry.calls("first") == {"success": 1, "failure": 0, "rejected": 0, "released": 0}
    assert telemetry.calls("second") == {"success": 0, "failure": 1, "rejected": 1, "released": 0}
    assert telemetry.calls("reference")["success"] == 1
    del first
    gc.collect()
    assert telemetry.calls("first") == {} and telemetry.calls("second")["rejected"] == 1

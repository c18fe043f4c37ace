"""Tests of ``breakerlab.runtime.otel``, read back through the SDK's in-memory exporter and reader.

They need ``opentelemetry-sdk`` and are never skipped, like the SPIN layer.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from breakerlab.model import Breaker, BreakerConfig, CircuitOpenError, ManualClock, State
from breakerlab.runtime import CircuitBreaker
from breakerlab.runtime.otel import OpenTelemetryListener, instrument

Points = dict[tuple[tuple[str, object], ...], float]


class Telemetry:
    """An SDK tracer and meter provider whose spans and metrics are kept in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.tracer_provider.get_tracer("tests")
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self) -> tuple[ReadableSpan, ...]:
        """The finished spans."""
        return tuple(self.exporter.get_finished_spans())

    def points(self, name: str) -> Points:
        """The current value of metric ``name`` by sorted attribute items (cumulative totals)."""
        data = self.reader.get_metrics_data()
        found: Points = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            assert isinstance(point, NumberDataPoint)
                            found[tuple(sorted(dict(point.attributes or {}).items()))] = point.value
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """Fresh in-memory telemetry, shut down after the test."""
    result = Telemetry()
    yield result
    result.tracer_provider.shutdown()
    result.meter_provider.shutdown()


def boom() -> None:
    """A call that always fails."""
    raise OSError("down")


def trip(breaker: CircuitBreaker, failures: int) -> None:
    """Make ``failures`` failing calls through ``breaker``."""
    for _ in range(failures):
        with pytest.raises(OSError):
            breaker.call(boom)


def state_points(name: str, current: State) -> Points:
    """The ``breaker.state`` points for breaker ``name`` in state ``current``."""
    return {
        (("breaker.name", name), ("breaker.state", each.value)): 1 if each is current else 0 for each in State
    }


def test_trip_inside_a_span_adds_a_state_change_event_with_its_attributes(telemetry: Telemetry) -> None:
    """The failure that trips the breaker adds ``breaker.state_change`` to the caller's span."""
    breaker = CircuitBreaker(BreakerConfig(fail_max=2), clock=ManualClock(), name="payments")
    instrument(breaker, meter_provider=telemetry.meter_provider)
    with telemetry.tracer.start_as_current_span("first"):
        trip(breaker, 1)
    with telemetry.tracer.start_as_current_span("second"):
        trip(breaker, 1)
    first, second = telemetry.spans()
    assert first.events == ()
    (event,) = second.events
    assert event.name == "breaker.state_change"
    assert dict(event.attributes or {}) == {
        "breaker.name": "payments",
        "breaker.from": "closed",
        "breaker.to": "open",
        "breaker.cause": "trip",
        "breaker.generation": 1,
    }


def test_state_changes_and_rejections_are_counted_and_the_state_is_tracked(telemetry: Telemetry) -> None:
    """A trip, two rejections, a successful probe and a forced open show up in all three metrics."""
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerConfig(fail_max=2, reset_timeout=60), clock=clock, name="payments")
    instrument(breaker, meter_provider=telemetry.meter_provider)
    assert telemetry.points("breaker.state") == state_points("payments", State.CLOSED)

    trip(breaker, 2)
    for _ in range(2):
        with pytest.raises(CircuitOpenError):
            breaker.call(lambda: "ok")
    assert telemetry.points("breaker.state") == state_points("payments", State.OPEN)
    clock.advance(60)
    assert breaker.call(lambda: "ok") == "ok"
    breaker.force_open()
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "ok")

    def change(source: str, dest: str, cause: str) -> tuple[tuple[str, object], ...]:
        return (("breaker.cause", cause), ("breaker.from", source), ("breaker.name", "payments"), ("breaker.to", dest))

    assert telemetry.points("breaker.state_changes") == {
        change("closed", "open", "trip"): 1,
        change("open", "half_open", "deadline_reached"): 1,
        change("half_open", "closed", "probes_succeeded"): 1,
        change("closed", "forced_open", "force_open"): 1,
    }
    assert telemetry.points("breaker.rejections") == {
        (("breaker.cause", "rejected_open"), ("breaker.name", "payments"), ("breaker.state", "open")): 2,
        (("breaker.cause", "rejected_forced_open"), ("breaker.name", "payments"), ("breaker.state", "forced_open")): 1,
    }
    assert telemetry.points("breaker.state") == state_points("payments", State.FORCED_OPEN)


def test_without_a_span_changes_are_still_counted_and_nothing_fails(telemetry: Telemetry) -> None:
    """With no current span, or one that is not recording, a trip adds no event and raises nothing."""
    breaker = CircuitBreaker(BreakerConfig(fail_max=1), clock=ManualClock(), name="search")
    instrument(breaker, meter_provider=telemetry.meter_provider)
    assert not trace.get_current_span().is_recording()
    trip(breaker, 1)
    breaker.reset()
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("tests")
    with unsampled.start_as_current_span("not recorded") as span:
        assert not span.is_recording()
        trip(breaker, 1)
    assert telemetry.spans() == ()
    counts = telemetry.points("breaker.state_changes")
    assert sum(counts.values()) == 3
    assert telemetry.points("breaker.state") == state_points("search", State.OPEN)


def test_instrument_names_and_starts_from_the_breakers_own_state(telemetry: Telemetry) -> None:
    """``instrument`` uses the breaker's name unless given one, starts from its current state,
    and works for the reference ``Breaker`` too."""
    circuit = CircuitBreaker(clock=ManualClock(), name="payments")
    circuit.force_open()
    listener = instrument(circuit, meter_provider=telemetry.meter_provider)
    assert isinstance(listener, OpenTelemetryListener) and listener.name == "payments"
    reference = Breaker(BreakerConfig(fail_max=1), clock=ManualClock(), name="ignored")
    assert instrument(reference, "search", meter_provider=telemetry.meter_provider).name == "search"
    reference.record_failure(reference.acquire())
    assert telemetry.points("breaker.state") == {
        **state_points("payments", State.FORCED_OPEN),
        **state_points("search", State.OPEN),
    }


def test_two_breakers_on_one_meter_provider_are_reported_apart(telemetry: Telemetry) -> None:
    """Listeners sharing a meter provider share its instruments but not their series."""
    first = CircuitBreaker(BreakerConfig(fail_max=1), clock=ManualClock(), name="first")
    second = CircuitBreaker(BreakerConfig(fail_max=1), clock=ManualClock(), name="second")
    instrument(first, meter_provider=telemetry.meter_provider)
    instrument(second, meter_provider=telemetry.meter_provider)
    trip(first, 1)
    assert telemetry.points("breaker.state") == {
        **state_points("first", State.OPEN),
        **state_points("second", State.CLOSED),
    }


def test_missing_opentelemetry_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the module without the OpenTelemetry API names the extra to install."""
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "breakerlab.runtime.otel")
    with pytest.raises(ImportError, match=r"pip install 'breakerlab\[otel\]'"):
        importlib.import_module("breakerlab.runtime.otel")

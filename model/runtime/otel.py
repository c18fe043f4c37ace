"""OpenTelemetry for a breaker: state changes as span events, and metrics for changes, rejections,
state, and every call (by outcome, and its duration).

This module is optional: it needs the OpenTelemetry API (``pip install 'breakerlab[otel]'``),
and nothing else in ``breakerlab.model`` imports it. It records only through the API, so it
costs almost nothing until an SDK (or another implementation) is configured.

What is recorded, for a breaker named ``name``:

* **Span event** ``breaker.state_change`` on the current span, when one is recording, with
  attributes ``breaker.name``, ``breaker.from``, ``breaker.to``, ``breaker.cause`` and
  ``breaker.generation``. Listeners run in the thread (or task) whose call caused the
  event, so the span is the caller's.
* **Counter** ``breaker.state_changes`` (unit ``{change}``): attributes ``breaker.name``,
  ``breaker.from``, ``breaker.to``, ``breaker.cause``.
* **Counter** ``breaker.rejections`` (unit ``{rejection}``): attributes ``breaker.name``,
  ``breaker.state``, ``breaker.cause``.
* **Up-down counter** ``breaker.state`` (unit ``{breaker}``): attributes ``breaker.name`` and
  ``breaker.state``; 1 for the state the breaker is in and 0 for every other state. Summed
  without ``breaker.name``, it counts the breakers in each state.
* **Counter** ``breakerlab.calls`` (unit ``{call}``, asynchronous: read from the breaker's
  totals, ``stats``, at each collection, from the moment it was instrumented): attributes
  ``breaker.name`` and ``breaker.outcome``, one of ``success``, ``failure``, ``rejected``
  (not sent: the breaker refused it) and ``released`` (settled without an outcome, neither a
  success nor a failure: a cancelled call, or an excluded exception with
  ``excluded_outcome="neutral"``), as the breaker classifies them. Their sum is every call
  that was settled or rejected; calls in flight are not in it yet.
* **Histogram** ``breakerlab.call.duration`` (unit ``s``): the time from admission to the
  recorded outcome, on the breaker's clock, of every call recorded as a success or a failure
  (a call that overran ``call_timeout`` is a failure); attributes ``breaker.name`` and
  ``breaker.outcome`` (``success`` or ``failure``). A released call has no outcome and no
  duration. Bucket boundaries (advisory, where the API supports it) are those of the semantic
  conventions' client durations, 5 ms to 10 s.

OpenTelemetry has no semantic conventions for circuit breakers (a proposal is open:
open-telemetry/semantic-conventions#2355), and its client-call durations are protocol-specific
(``http.client.request.duration``, ``rpc.client.call.duration``) while a breaker wraps any
callable. So the per-call instruments live in this project's own ``breakerlab.`` namespace,
following the conventions' general rules: lower-case dotted names, durations as histograms in
seconds named ``*.duration``, counts with a ``{call}`` unit and their kind as an attribute. They
are reported only for breakers instrumented with ``instrument`` (which gives the listener its
breaker); an ``OpenTelemetryListener`` built without ``breaker=`` reports no ``breakerlab.calls``.

States are their lower-case values (``"half_open"``). Times on the breaker's clock are not
recorded: that clock is monotonic, not wall time, and OpenTelemetry stamps events itself.

>>> from breakerlab.runtime import CircuitBreaker
>>> from breakerlab.runtime.otel import instrument
>>> breaker = CircuitBreaker(name="payments")
>>> listener = instrument(breaker)  # the global meter provider; pass meter_provider= for another
"""

from __future__ import annotations

from breakerlab.model.extras import require_extra

require_extra("breakerlab.runtime.otel", "otel", ("opentelemetry",))

import threading
import weakref
from collections.abc import Iterable, Sequence

from opentelemetry import metrics, trace

from breakerlab.model.breaker import Breaker
from breakerlab.model.events import BreakerListener, Outcome, Rejection, StateChange
from breakerlab.model.permit import BreakerStats
from breakerlab.model.states import State

from .circuit_breaker import CircuitBreaker

__all__ = ["CALLS", "CALL_DURATION", "DURATION_BUCKETS_S", "OUTCOMES", "OpenTelemetryListener", "instrument"]

_SCOPE = __name__
"""The instrumentation scope name the meter is created under."""

CALLS = "breakerlab.calls"
CALL_DURATION = "breakerlab.call.duration"
#: The values of ``breaker.outcome`` on ``breakerlab.calls`` (``breakerlab.call.duration`` has
#: the first two): the breaker's own classification of a call (``BreakerStats``).
OUTCOMES = ("success", "failure", "rejected", "released")
#: The semantic conventions' bucket boundaries for client durations (``http.client.request.duration``).
DURATION_BUCKETS_S: Sequence[float] = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


def _counts(stats: BreakerStats) -> tuple[int, int, int, int]:
    """``stats`` in the order of ``OUTCOMES``."""
    return (stats.successes, stats.failures, stats.rejections, stats.released)


class _CallTotals:
    """The ``breakerlab.calls`` instrument of one meter provider, reporting every breaker
    instrumented on it: the SDK keeps only the first callback registered under an instrument
    name, so one callback reads every listener's breaker."""

    def __init__(self, meter: metrics.Meter) -> None:
        self._listeners: weakref.WeakSet[OpenTelemetryListener] = weakref.WeakSet()
        self._lock = threading.Lock()
        meter.create_observable_counter(
            CALLS,
            callbacks=[self._observe],
            unit="{call}",
            description="Calls through a circuit breaker, by outcome: success, failure, rejected, released.",
        )

    def add(self, listener: OpenTelemetryListener) -> None:
        """Report ``listener``'s breaker from now on (until the listener is garbage-collected)."""
        with self._lock:
            self._listeners.add(listener)

    def _observe(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        with self._lock:
            listeners = list(self._listeners)
        return [observation for listener in listeners for observation in listener.call_counts()]


#: One ``_CallTotals`` per meter provider (``None``: the global one, as it was when first used).
_TOTALS: weakref.WeakKeyDictionary[object, _CallTotals] = weakref.WeakKeyDictionary()
_TOTALS_LOCK = threading.Lock()


def _totals(meter: metrics.Meter, meter_provider: metrics.MeterProvider | None) -> _CallTotals:
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    with _TOTALS_LOCK:
        totals = _TOTALS.get(provider)
        if totals is None:
            totals = _TOTALS[provider] = _CallTotals(meter)
        return totals


def _duration_histogram(meter: metrics.Meter) -> metrics.Histogram:
    description = "Duration of calls through a circuit breaker, admission to recorded outcome."
    try:
        return meter.create_histogram(
            CALL_DURATION, unit="s", description=description, explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S
        )
    except TypeError:  # an OpenTelemetry API older than 1.23 takes no advisory boundaries
        return meter.create_histogram(CALL_DURATION, unit="s", description=description)


class OpenTelemetryListener(BreakerListener):
    """A breaker listener that reports to OpenTelemetry (see the module docstring for what).

    Args:
        name: The breaker's name, recorded as ``breaker.name`` on every event and measurement.
        state: The state the breaker is in when this listener is registered; the
            ``breaker.state`` up-down counter starts there. ``instrument`` passes it for you.
        meter_provider: Where the instruments are created; the global meter provider when
            omitted (a no-op until an SDK sets one).
        breaker: The breaker it listens to, whose totals ``breakerlab.calls`` reports (counted
            from now on); without it there is no ``breakerlab.calls``. ``instrument`` passes it.

    Invariants: register each listener with exactly one breaker, before the breaker is shared
    between threads (constructing it records the initial state, and a state change made
    between reading ``state`` and registering would be missed). Across the changes it is told
    about, ``breaker.state`` moves one unit from ``from`` to ``to``, so it ends right even when
    concurrent callers deliver changes out of order; only a collection made during such a
    race can see a transient 0 or -1.

    Span events go to ``opentelemetry.trace.get_current_span()``, which comes from the
    context and not from a tracer provider, so there is no tracer-provider argument.
    """

    def __init__(
        self,
        name: str,
        *,
        state: State = State.CLOSED,
        meter_provider: metrics.MeterProvider | None = None,
        breaker: Breaker | CircuitBreaker | None = None,
    ) -> None:
        self.name = name
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self._durations = _duration_histogram(meter)
        self._breaker: weakref.ref[Breaker | CircuitBreaker] | None = None
        self._baseline = (0, 0, 0, 0)
        if breaker is not None:
            self._breaker = weakref.ref(breaker)
            self._baseline = _counts(breaker.stats)
            _totals(meter, meter_provider).add(self)
        self._changes = meter.create_counter(
            "breaker.state_changes", unit="{change}", description="State changes of a circuit breaker."
        )
        self._rejections = meter.create_counter(
            "breaker.rejections", unit="{rejection}", description="Calls a circuit breaker rejected."
        )
        self._state = meter.create_up_down_counter(
            "breaker.state",
            unit="{breaker}",
            description="1 for the state a circuit breaker is in, 0 for the others.",
        )
        for each in State:
            self._state.add(1 if each is state else 0, {"breaker.name": name, "breaker.state": each.value})

    def state_change(self, change: StateChange) -> None:
        """Add the span event, count the change, and move ``breaker.state`` to ``change.dest``."""
        source, dest = change.source.value, change.dest.value
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(
                "breaker.state_change",
                {
                    "breaker.name": self.name,
                    "breaker.from": source,
                    "breaker.to": dest,
                    "breaker.cause": change.cause,
                    "breaker.generation": change.generation,
                },
            )
        self._changes.add(
            1, {"breaker.name": self.name, "breaker.from": source, "breaker.to": dest, "breaker.cause": change.cause}
        )
        self._state.add(-1, {"breaker.name": self.name, "breaker.state": source})
        self._state.add(1, {"breaker.name": self.name, "breaker.state": dest})

    def rejection(self, rejection: Rejection) -> None:
        """Count the rejected call."""
        self._rejections.add(
            1, {"breaker.name": self.name, "breaker.state": rejection.state.value, "breaker.cause": rejection.cause}
        )

    def success(self, outcome: Outcome) -> None:
        """Record the call's duration as a success."""
        self._durations.record(outcome.duration_s, {"breaker.name": self.name, "breaker.outcome": "success"})

    def failure(self, outcome: Outcome) -> None:
        """Record the call's duration as a failure."""
        self._durations.record(outcome.duration_s, {"breaker.name": self.name, "breaker.outcome": "failure"})

    def call_counts(self) -> list[metrics.Observation]:
        """The ``breakerlab.calls`` observations of this listener's breaker: its totals by
        outcome since the listener was created (none without a breaker, or once it is gone)."""
        breaker = self._breaker() if self._breaker is not None else None
        if breaker is None:
            return []
        counts = _counts(breaker.stats)
        return [
            metrics.Observation(count - base, {"breaker.name": self.name, "breaker.outcome": outcome})
            for outcome, count, base in zip(OUTCOMES, counts, self._baseline)
        ]

    def __repr__(self) -> str:
        return f"<OpenTelemetryListener {self.name!r}>"


def instrument(
    breaker: Breaker | CircuitBreaker,
    name: str | None = None,
    *,
    meter_provider: metrics.MeterProvider | None = None,
) -> OpenTelemetryListener:
    """Report ``breaker`` to OpenTelemetry: create an ``OpenTelemetryListener`` and register it.

    Call it once per breaker, before the breaker is shared between threads.

    Args:
        breaker: A ``CircuitBreaker`` or a reference ``Breaker``.
        name: Recorded as ``breaker.name``; ``breaker.name`` when omitted.
        meter_provider: Where the instruments are created; the global one when omitted.

    Returns:
        The registered listener.
    """
    listener = OpenTelemetryListener(
        breaker.name if name is None else name, state=breaker.state, meter_provider=meter_provider, breaker=breaker
    )
    breaker.add_listener(listener)
    return listener

"""OpenTelemetry for a breaker: state changes as span events, and metrics for changes, rejections and state.

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

from opentelemetry import metrics, trace

from breakerlab.model.breaker import Breaker
from breakerlab.model.events import BreakerListener, Rejection, StateChange
from breakerlab.model.states import State

from .circuit_breaker import CircuitBreaker

__all__ = ["OpenTelemetryListener", "instrument"]

_SCOPE = __name__
"""The instrumentation scope name the meter is created under."""


class OpenTelemetryListener(BreakerListener):
    """A breaker listener that reports to OpenTelemetry (see the module docstring for what).

    Args:
        name: The breaker's name, recorded as ``breaker.name`` on every event and measurement.
        state: The state the breaker is in when this listener is registered; the
            ``breaker.state`` up-down counter starts there. ``instrument`` passes it for you.
        meter_provider: Where the instruments are created; the global meter provider when
            omitted (a no-op until an SDK sets one).

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
    ) -> None:
        self.name = name
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
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
        breaker.name if name is None else name, state=breaker.state, meter_provider=meter_provider
    )
    breaker.add_listener(listener)
    return listener

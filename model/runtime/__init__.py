"""breakerlab.runtime: the reference breaker as a real breaker for threads and asyncio.

``CircuitBreaker`` wraps one ``breakerlab.model.Breaker`` (the table the proofs check) and
drives it only through the model's public stepping API. It adds a short lock per event, every
way of calling (``call``, ``@breaker``, ``with breaker:``, ``call_async``), call timeouts,
listeners run outside the lock, a JSON-lines event log (``breakerlab replay LOG`` re-checks it
against the model) and an OpenTelemetry listener (``breakerlab.runtime.otel``, extra ``[otel]``).

>>> from breakerlab.model import BreakerConfig, ManualClock
>>> from breakerlab.runtime import CircuitBreaker
>>> breaker = CircuitBreaker(BreakerConfig(fail_max=3), clock=ManualClock())
>>> breaker.call(lambda: "ok")
'ok'
"""

from __future__ import annotations

from .circuit_breaker import CircuitBreaker
from .eventlog import EventLogError, JsonLinesLog
from .replay import ReplayReport, replay_log

__all__ = ["CircuitBreaker", "EventLogError", "JsonLinesLog", "ReplayReport", "replay_log"]

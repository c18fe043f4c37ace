"""Adapter for opossum (nodeshift), the most used npm circuit breaker: a rolling-window error percentage."""

from __future__ import annotations

from .node_process import NodeAdapter

__all__ = ["OpossumAdapter"]


class OpossumAdapter(NodeAdapter):
    """opossum through ``new CircuitBreaker(action, options).fire()``, run by the node driver.

    Mapping of ``LibraryConfig`` (every other option keeps opossum's default):

    - ``fail_max`` -> ``volumeThreshold`` (at least that many requests in the window before it
      can open) with ``errorThresholdPercentage: 50``: from a fresh window, ``fail_max``
      failures in a row open it, as in the catalogue; it is still a rate rule (a success does
      not reset anything), which the window scenarios tell apart.
    - ``reset_timeout_s`` -> ``resetTimeout`` (a timer moves it to half-open).
    - ``WINDOW_S`` -> ``rollingCountTimeout`` (10 buckets, opossum's default).
    - ``CALL_TIMEOUT_S`` -> ``timeout``, opossum's own call timeout (default 10 s): a timer
      that fails the call (``ETIMEDOUT``) and counts a failure; the fit reports it as
      ``call_timeout``.
    - ``excluded`` -> ``errorFilter`` (a filtered error is emitted as a success).

    Its errors are reported by ``code``: ``EOPENBREAKER`` (rejected), ``ETIMEDOUT``.
    """

    name = "opossum"
    distribution = "opossum"

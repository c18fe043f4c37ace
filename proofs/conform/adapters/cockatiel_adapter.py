"""Adapter for cockatiel (connor4312): the circuit-breaker policy with a ConsecutiveBreaker."""

from __future__ import annotations

from .node_process import NodeAdapter

__all__ = ["CockatielAdapter"]


class CockatielAdapter(NodeAdapter):
    """cockatiel through ``circuitBreaker(handleAll, {halfOpenAfter, breaker}).execute()``, run by the node driver.

    Mapping of ``LibraryConfig`` (every other option keeps cockatiel's default):

    - ``fail_max`` -> ``new ConsecutiveBreaker(fail_max)``: the consecutive breaker is the one
      measured (the ``SamplingBreaker`` is cockatiel's rate-over-a-time-window breaker, and
      ``CountBreaker`` its count window; they are not measured here).
    - ``reset_timeout_s`` -> ``halfOpenAfter`` as a number of milliseconds (a constant
      backoff; an ``ExponentialBackoff`` there would lengthen consecutive openings).
    - ``excluded`` -> ``handleWhen(error => !(error instanceof Excluded))`` instead of
      ``handleAll``: an unhandled error is rethrown without being recorded in closed, and
      counts as a success in half-open.
    - Default ``halfOpenSampling`` (one probe; further callers wait for its decision).

    Its rejection is ``BrokenCircuitError``.
    """

    name = "cockatiel"
    distribution = "cockatiel"

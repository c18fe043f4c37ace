"""The baseline of ``bench_sim.py``: the same scenario simulated the way a newcomer to SimPy would.

One SimPy process per request, a ``simpy.Resource`` as the worker pool, the call timeout as
``yield latency_event | timeout_event``, a hand-written consecutive-failure breaker reading
``env.now``, and the same metrics kept in plain lists. It is deliberately straightforward,
not deliberately slow: this is what the issue's 3x target is measured against.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import simpy


@dataclass
class NaiveBreaker:
    """Closed / open / half-open with one probe: pybreaker's defaults, hand-written."""

    env: simpy.Environment
    fail_max: int
    reset_timeout_s: float
    state: str = "closed"
    failures: int = 0
    opened_at: float = 0.0
    probe_in_flight: bool = False
    changes: list[tuple[float, str]] = field(default_factory=list)

    def allow(self) -> bool:
        if self.state == "open" and self.env.now >= self.opened_at + self.reset_timeout_s:
            self._go("half_open")
        if self.state == "closed":
            return True
        if self.state == "half_open" and not self.probe_in_flight:
            self.probe_in_flight = True
            return True
        return False

    def success(self) -> None:
        if self.state == "half_open":
            self.probe_in_flight = False
            self._go("closed")
        self.failures = 0

    def failure(self) -> None:
        if self.state == "half_open":
            self.probe_in_flight = False
            self._open()
        elif self.state == "closed":
            self.failures += 1
            if self.failures >= self.fail_max:
                self._open()

    def _open(self) -> None:
        self.opened_at = self.env.now
        self._go("open")

    def _go(self, state: str) -> None:
        self.state = state
        self.failures = 0
        self.changes.append((self.env.now, state))


def run_naive(
    *,
    seed: int,
    rate_rps: float,
    horizon_s: float,
    workers: int,
    call_timeout_s: float,
    latency_median_s: float,
    latency_sigma: float,
    error_latency_s: float,
    outage_start_s: float,
    outage_end_s: float,
    fail_max: int,
    reset_timeout_s: float,
    bin_s: float = 1.0,
    pool: bool = True,
) -> dict[str, Any]:
    """Simulate Poisson arrivals into a worker pool calling a service that fails fast during
    ``[outage_start_s, outage_end_s)``, protected by ``NaiveBreaker``; returns the counts.

    ``pool=False`` is the minimal newcomer's version: no ``Resource`` at all, each request's
    process calls the breaker at once (the same outcomes whenever the pool never fills).
    """
    if not pool:
        return _run_minimal(
            seed=seed, rate_rps=rate_rps, horizon_s=horizon_s, call_timeout_s=call_timeout_s,
            latency_median_s=latency_median_s, latency_sigma=latency_sigma, error_latency_s=error_latency_s,
            outage_start_s=outage_start_s, outage_end_s=outage_end_s, fail_max=fail_max,
            reset_timeout_s=reset_timeout_s,
        )
    env = simpy.Environment()
    rng = random.Random(seed)
    pool_ = simpy.Resource(env, capacity=workers)
    breaker = NaiveBreaker(env, fail_max, reset_timeout_s)
    bins = int(math.ceil(horizon_s / bin_s)) + 1
    stats: dict[str, Any] = {
        "requests": 0, "admitted": 0, "rejected": 0, "pool_full": 0, "succeeded": 0, "failed": 0,
        "latencies": [], "admitted_bins": [0] * bins, "rejected_bins": [0] * bins, "failed_bins": [0] * bins,
        "pool_peak": 0,
    }

    def request(arrived: float) -> Any:
        b = min(int(env.now / bin_s), bins - 1)
        if pool_.count >= workers:
            stats["pool_full"] += 1
            stats["failed"] += 1
            stats["failed_bins"][b] += 1
            return
        with pool_.request() as slot:
            yield slot
            stats["pool_peak"] = max(stats["pool_peak"], pool_.count)
            if not breaker.allow():
                stats["rejected"] += 1
                stats["rejected_bins"][b] += 1
                stats["failed"] += 1
                stats["latencies"].append(env.now - arrived)
                return
            stats["admitted"] += 1
            stats["admitted_bins"][b] += 1
            down = outage_start_s <= env.now < outage_end_s
            latency = error_latency_s if down else rng.lognormvariate(math.log(latency_median_s), latency_sigma)
            answer = env.timeout(latency)
            deadline = env.timeout(call_timeout_s)
            yield answer | deadline
            if answer.processed and not down:
                breaker.success()
                stats["succeeded"] += 1
            else:
                breaker.failure()
                stats["failed"] += 1
                stats["failed_bins"][min(int(env.now / bin_s), bins - 1)] += 1
            stats["latencies"].append(env.now - arrived)

    def arrivals() -> Any:
        while True:
            yield env.timeout(rng.expovariate(rate_rps))
            if env.now >= horizon_s:
                return
            stats["requests"] += 1
            env.process(request(env.now))

    env.process(arrivals())
    env.run()
    latencies = sorted(stats["latencies"])
    stats["latency_p99_s"] = latencies[int(0.99 * (len(latencies) - 1))] if latencies else None
    stats["trips"] = sum(1 for _, state in breaker.changes if state == "open")
    return stats


def _run_minimal(
    *, seed: int, rate_rps: float, horizon_s: float, call_timeout_s: float, latency_median_s: float,
    latency_sigma: float, error_latency_s: float, outage_start_s: float, outage_end_s: float, fail_max: int,
    reset_timeout_s: float,
) -> dict[str, Any]:
    """A process per request, ``answer | deadline``, the hand-written breaker, plain counters."""
    env = simpy.Environment()
    rng = random.Random(seed)
    breaker = NaiveBreaker(env, fail_max, reset_timeout_s)
    stats: dict[str, Any] = {"requests": 0, "admitted": 0, "rejected": 0, "succeeded": 0, "failed": 0}

    def request() -> Any:
        if not breaker.allow():
            stats["rejected"] += 1
            stats["failed"] += 1
            return
        stats["admitted"] += 1
        down = outage_start_s <= env.now < outage_end_s
        latency = error_latency_s if down else rng.lognormvariate(math.log(latency_median_s), latency_sigma)
        answer = env.timeout(latency)
        yield answer | env.timeout(call_timeout_s)
        if answer.processed and not down:
            breaker.success()
            stats["succeeded"] += 1
        else:
            breaker.failure()
            stats["failed"] += 1

    def arrivals() -> Any:
        while True:
            yield env.timeout(rng.expovariate(rate_rps))
            if env.now >= horizon_s:
                return
            stats["requests"] += 1
            env.process(request())

    env.process(arrivals())
    env.run()
    stats["trips"] = sum(1 for _, state in breaker.changes if state == "open")
    return stats


def run_floor(*, seed: int, rate_rps: float, horizon_s: float, latency_median_s: float, latency_sigma: float) -> int:
    """The SimPy floor: per request, two bare ``Timeout`` events with callbacks (its arrival,
    which schedules the next one, and its answer) and nothing else; returns the requests."""
    env = simpy.Environment()
    rng = random.Random(seed)
    count = [0]
    mu = math.log(latency_median_s)

    def answered(event: Any) -> None:
        pass

    def arrive_after(delay: float) -> None:
        if env.now + delay < horizon_s:
            simpy.events.Timeout(env, delay).callbacks.append(arrived)

    def arrived(event: Any) -> None:
        count[0] += 1
        arrive_after(rng.expovariate(rate_rps))
        simpy.events.Timeout(env, rng.lognormvariate(mu, latency_sigma)).callbacks.append(answered)

    arrive_after(rng.expovariate(rate_rps))
    env.run()
    return count[0]

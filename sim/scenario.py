"""``Scenario``: everything a run needs except the seed, frozen and validated at construction.

A scenario is the workload (who calls, how often, with what pool, timeout and retries), the
service (how it answers when healthy), the outage trace, the breaker's configuration and the
horizon. Errors name the field, the rule and the value: ``'rate_rps' must be a finite number
> 0 (got -1)``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

from breakerlab.model import validate
from breakerlab.model.config import BreakerConfig

from . import budget
from .errors import InvalidConfigError
from .traces.trace import TraceSpec

__all__ = [
    "Arrivals", "Balancer", "Baseline", "BreakerScope", "Jitter", "RetryPolicy", "Scenario", "Service", "ServiceKind",
    "Workload",
]


class Arrivals(enum.StrEnum):
    """How request arrival times are drawn (both follow the same time-varying rate)."""

    POISSON = "poisson"
    """Open-loop Poisson arrivals (exponential gaps at the current rate)."""
    CONSTANT = "constant"
    """Evenly spaced at the current rate: no randomness in arrivals."""


class Balancer(enum.StrEnum):
    """How a fleet's load balancer spreads the requests over its instances."""

    RANDOM = "random"
    """Each request to an instance drawn uniformly (its own random stream)."""
    ROUND_ROBIN = "round_robin"
    """Request ``i`` to instance ``i mod instances``."""


class BreakerScope(enum.StrEnum):
    """Whose breaker a fleet's instance asks."""

    INSTANCE = "instance"
    """Each instance has its own breaker, which sees only its own calls."""
    SHARED = "shared"
    """One breaker state for the whole fleet (as a breaker kept in a shared store): every
    instance's calls count towards it and its verdict holds for all. Its outcomes can reach it
    late (``Workload.shared_propagation_s``)."""


class Jitter(enum.StrEnum):
    """Randomisation of retry backoff (the names of the AWS Architecture Blog's variants)."""

    NONE = "none"
    FULL = "full"
    """Uniform in [0, backoff]."""
    EQUAL = "equal"
    """backoff/2 plus uniform in [0, backoff/2]."""


class ServiceKind(enum.StrEnum):
    """How the service answers."""

    OPEN_LOOP = "open_loop"
    """Each attempt's outcome and latency depend only on the trace at the time it is sent."""
    CAPACITY = "capacity"
    """Servers and a queue: latency and errors grow with load (queueing, abandoned work)."""


class Baseline(enum.StrEnum):
    """Policies simulated alongside the breaker on the same random numbers."""

    NO_BREAKER = "no_breaker"
    """Every attempt is sent."""
    ORACLE = "oracle"
    """Sends exactly the attempts that would succeed (knows the service's true condition); on
    the capacity service, those an average-sized call would succeed for given the backlog."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Client retries after a failed attempt.

    Attributes:
        max_retries: Retries per request after the first attempt (0: no retries).
        backoff_s: Delay before the first retry; retry k waits ``backoff_s * multiplier**k``.
        backoff_multiplier: Growth of the delay per retry, >= 1.
        backoff_cap_s: Largest delay before jitter.
        jitter: ``none``, ``full`` or ``equal`` (see ``Jitter``).
        budget_ratio: Retry budget as a token bucket: each request adds this many tokens, a
            retry spends one, so retries stay below this fraction of requests (``None``: no budget).
        budget_burst: The bucket's capacity (and initial tokens).
        retry_rejected: Also retry attempts the breaker rejected (most clients do not).
        breaker_threshold: The retry breaker (Brooker 2022; ``breakerlab.sim.retries``): no
            retries, first tries unaffected, while more than this fraction of the caller's last
            ``breaker_window`` answered attempts failed (``None``: off).
        breaker_window: How many of the caller's latest answered attempts the retry breaker
            looks at.
    """

    max_retries: int = 0
    backoff_s: float = 0.1
    backoff_multiplier: float = 2.0
    backoff_cap_s: float = 10.0
    jitter: Jitter = Jitter.FULL
    budget_ratio: float | None = None
    budget_burst: float = 10.0
    retry_rejected: bool = False
    breaker_threshold: float | None = None
    breaker_window: int = 50

    def __post_init__(self) -> None:
        validate.integer("max_retries", self.max_retries, "in [0, 100]", lambda v: 0 <= v <= 100)
        validate.number("backoff_s", self.backoff_s, ">= 0", lambda v: v >= 0)
        validate.number("backoff_multiplier", self.backoff_multiplier, ">= 1", lambda v: v >= 1)
        validate.number("backoff_cap_s", self.backoff_cap_s, ">= backoff_s", lambda v: v >= self.backoff_s)
        self._check_growth()
        object.__setattr__(self, "jitter", validate.enum_value("jitter", Jitter, self.jitter))
        if self.budget_ratio is not None:
            validate.number("budget_ratio", self.budget_ratio, "in [0, 1] or None", lambda v: 0 <= v <= 1)
        validate.number("budget_burst", self.budget_burst, ">= 0", lambda v: v >= 0)
        if not isinstance(self.retry_rejected, bool):
            raise InvalidConfigError("retry_rejected", "true or false", self.retry_rejected)
        if self.breaker_threshold is not None:
            validate.number(
                "breaker_threshold", self.breaker_threshold, "in [0, 1] or None", lambda v: 0 <= v <= 1
            )
        validate.integer("breaker_window", self.breaker_window, ">= 1", lambda v: v >= 1)

    def _check_growth(self) -> None:
        """The last retry's growth, ``backoff_multiplier ** (max_retries - 1)``, must be a float:
        past that, ``delay_s`` would overflow (a delay beyond the cap is capped: no overflow)."""
        exponent = max(self.max_retries - 1, 0)
        try:
            growth = float(self.backoff_multiplier) ** exponent
        except OverflowError:
            growth = math.inf
        if not math.isfinite(growth):
            raise InvalidConfigError(
                "backoff_multiplier", f"small enough that backoff_multiplier ** {exponent} (max_retries - 1) is a finite "
                "number", self.backoff_multiplier,
                "every delay is capped at backoff_cap_s anyway: lower --retry-backoff-multiplier or --retries "
                "(workload.retry.backoff_multiplier, workload.retry.max_retries)",
            )

    def delay_s(self, retry: int, uniform: float) -> float:
        """The wait before retry number ``retry`` (0-based) given a uniform draw in [0, 1)."""
        base = min(self.backoff_cap_s, self.backoff_s * self.backoff_multiplier**retry)
        if self.jitter is Jitter.FULL:
            return base * uniform
        if self.jitter is Jitter.EQUAL:
            return base * (0.5 + 0.5 * uniform)
        return base


@dataclasses.dataclass(frozen=True, kw_only=True)
class Workload:
    """The caller: open-loop arrivals into a bounded worker pool.

    Attributes:
        rate_rps: Offered requests per second (before the trace's ``load_factor``).
        arrivals: ``poisson`` or ``constant``.
        rate_schedule: Optional piecewise-constant rate: ``((time_s, rate_rps), ...)`` in
            increasing time; ``rate_rps`` applies before the first entry.
        workers: Size of the caller's worker pool (threads or connections): calls in flight
            at once. A rejected call frees its worker at once.
        queue_limit: Requests that may wait for a worker; beyond it a request fails at once
            (``pool_full``). 0: no waiting.
        call_timeout_s: The caller's deadline per attempt: an attempt without an answer by
            then fails (and its worker is freed). Every attempt ends by it, so a hung service
            holds each worker this long.
        retry: Client retries.
        instances: The fleet's size: caller instances, each with its own worker pool of
            ``workers`` and its own retry budget and retry breaker, sharing the offered load
            ``rate_rps`` and calling one service.
        balancer: How requests are spread over the instances (``random`` or ``round_robin``).
        breaker_scope: ``instance`` (a breaker per instance) or ``shared`` (one for the fleet).
        shared_propagation_s: With ``breaker_scope="shared"``: how long a call's outcome takes
            to reach the shared breaker after the call ends (a store updated asynchronously, or
            each instance flushing its counts). Admissions read the shared state as it is; the
            outcomes behind it are that much late, so the fleet trips later and a probe's
            verdict arrives later. 0: at once.
    """

    rate_rps: float = 100.0
    arrivals: Arrivals = Arrivals.POISSON
    rate_schedule: tuple[tuple[float, float], ...] = ()
    workers: int = 64
    queue_limit: int = 0
    call_timeout_s: float = 1.0
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    instances: int = 1
    balancer: Balancer = Balancer.RANDOM
    breaker_scope: BreakerScope = BreakerScope.INSTANCE
    shared_propagation_s: float = 0.0

    def __post_init__(self) -> None:
        validate.number("rate_rps", self.rate_rps, "> 0", lambda v: v > 0)
        validate.integer("instances", self.instances, "in [1, 10000]", lambda v: 1 <= v <= 10_000)
        object.__setattr__(self, "balancer", validate.enum_value("balancer", Balancer, self.balancer))
        object.__setattr__(self, "breaker_scope", validate.enum_value("breaker_scope", BreakerScope, self.breaker_scope))
        validate.number("shared_propagation_s", self.shared_propagation_s, ">= 0", lambda v: v >= 0)
        if self.shared_propagation_s > 0 and self.breaker_scope is not BreakerScope.SHARED:
            raise InvalidConfigError(
                "shared_propagation_s", "0 unless breaker_scope is 'shared' (an instance's own breaker hears at once)",
                self.shared_propagation_s,
            )
        object.__setattr__(self, "arrivals", validate.enum_value("arrivals", Arrivals, self.arrivals))
        schedule = tuple(tuple(entry) for entry in self.rate_schedule)
        last = -math.inf
        for entry in schedule:
            if len(entry) != 2:
                raise InvalidConfigError("rate_schedule", "pairs (time_s, rate_rps)", entry)
            time_s, rate = entry
            after = last
            validate.number("rate_schedule", time_s, f"> {last}: times in increasing order", lambda v: v > after)  # noqa: B023
            validate.number("rate_schedule", rate, f"> 0: the rate from {time_s} s on", lambda v: v > 0)
            last = time_s
        object.__setattr__(self, "rate_schedule", schedule)
        validate.integer("workers", self.workers, ">= 1", lambda v: v >= 1)
        validate.integer("queue_limit", self.queue_limit, ">= 0", lambda v: v >= 0)
        validate.number("call_timeout_s", self.call_timeout_s, "> 0", lambda v: v > 0)
        if not isinstance(self.retry, RetryPolicy):
            raise InvalidConfigError("retry", "a RetryPolicy", self.retry)

    def rate_steps(self) -> list[tuple[float, float]]:
        """The base rate as ``(start_s, rate_rps)`` steps, the first at 0."""
        steps = [(0.0, self.rate_rps)]
        for time_s, rate in self.rate_schedule:
            if time_s <= 0:
                steps[0] = (0.0, rate)
            else:
                steps.append((float(time_s), float(rate)))
        return steps


@dataclasses.dataclass(frozen=True, kw_only=True)
class Service:
    """The downstream service when healthy; the trace says how it departs from that.

    Attributes:
        kind: ``open_loop`` or ``capacity`` (see ``ServiceKind``).
        latency_median_s: Median latency of a successful call (log-normal).
        latency_sigma: Shape of the log-normal latency (0: every call takes the median).
        error_latency_s: Time to answer with an error (connection refused, 503).
        servers: ``capacity`` kind: calls processed at once; each takes a latency draw
            divided by the trace's ``capacity_factor``.
        queue_limit: ``capacity`` kind: calls that may wait for a server; beyond it the
            service answers with an error at once.
        drop_abandoned: ``capacity`` kind: servers skip queued calls whose caller has given up
            (otherwise they process them: work nobody waits for, the usual case).
        crash_after_s: ``capacity`` kind: the service crashes once it has been overloaded for
            this long (``None``: never); overloaded from the moment its queue is full until the
            queue has drained to half.
            A crash loses the queued and in-flight work (their callers get an error at once).
        restart_s: ``capacity`` kind: how long a crashed service is down (every call fails
            fast) before it restarts, cold.
        warmup_s: ``capacity`` kind: after a restart, and after each of the trace's faults
            ends, capacity returns from ``warmup_floor`` to full over this long (a cold cache,
            a JIT, a connection pool filling); ``0``: at once.
        warmup_floor: The share of capacity a cold service starts from.
        warmup_overload_factor: How fast the service warms while it is offered more than it
            can serve (every server busy and work queued), relative to its speed otherwise
            (a cache warms more slowly when every request misses it under load).
    """

    kind: ServiceKind = ServiceKind.OPEN_LOOP
    latency_median_s: float = 0.05
    latency_sigma: float = 0.5
    error_latency_s: float = 0.005
    servers: int = 16
    queue_limit: int = 1000
    drop_abandoned: bool = False
    crash_after_s: float | None = None
    restart_s: float = 10.0
    warmup_s: float = 0.0
    warmup_floor: float = 0.1
    warmup_overload_factor: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", validate.enum_value("kind", ServiceKind, self.kind))
        validate.number("latency_median_s", self.latency_median_s, ">= 0", lambda v: v >= 0)
        validate.number("latency_sigma", self.latency_sigma, "in [0, 5]", lambda v: 0 <= v <= 5)
        validate.number("error_latency_s", self.error_latency_s, ">= 0", lambda v: v >= 0)
        validate.integer("servers", self.servers, ">= 1", lambda v: v >= 1)
        validate.integer("queue_limit", self.queue_limit, ">= 0", lambda v: v >= 0)
        if not isinstance(self.drop_abandoned, bool):
            raise InvalidConfigError("drop_abandoned", "true or false", self.drop_abandoned)
        if self.crash_after_s is not None:
            validate.number("crash_after_s", self.crash_after_s, "> 0 or None", lambda v: v > 0)
        validate.number("restart_s", self.restart_s, ">= 0", lambda v: v >= 0)
        validate.number("warmup_s", self.warmup_s, ">= 0", lambda v: v >= 0)
        validate.number("warmup_floor", self.warmup_floor, "in (0, 1]", lambda v: 0 < v <= 1)
        validate.number("warmup_overload_factor", self.warmup_overload_factor, "in (0, 1]", lambda v: 0 < v <= 1)

    @property
    def mean_latency_s(self) -> float:
        """Mean of the healthy latency distribution."""
        return self.latency_median_s * math.exp(self.latency_sigma**2 / 2)


#: Largest number of time-series bins per run.
MAX_BINS = 1_000_000


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scenario:
    """One simulated situation: run it with ``simulate(scenario, seed)``.

    Attributes:
        trace: The outage (a family from ``breakerlab.sim.traces.families``, or a ``Trace``).
        breaker: The breaker's configuration (``BreakerConfig()``: the article's defaults).
        workload: The caller.
        service: The service when healthy.
        horizon_s: Requests arrive during ``[0, horizon_s)``; every metric is over that span.
        bin_s: Width of the time-series bins.
        recovery_window_s: Length of the window after the last fault's end over which
            ``recovery_load_rps`` and ``recovery_load_peak_concurrency`` are measured, and of
            the sliding window whose success share decides ``time_to_recover_s``.
        baselines: Policies simulated alongside the breaker on the same random numbers.
        serialize_calls: The breaker holds a lock across each protected call, as pybreaker
            does: one call through it at a time; the other callers wait for the lock, holding
            their workers (they are not rejected). The baselines have no breaker, so no lock.
        name: Shown in tables, plots and error notes.
    """

    trace: TraceSpec
    breaker: BreakerConfig = dataclasses.field(default_factory=BreakerConfig)
    workload: Workload = dataclasses.field(default_factory=Workload)
    service: Service = dataclasses.field(default_factory=Service)
    horizon_s: float = 600.0
    bin_s: float = 1.0
    recovery_window_s: float = 10.0
    baselines: tuple[Baseline, ...] = (Baseline.NO_BREAKER, Baseline.ORACLE)
    serialize_calls: bool = False
    name: str = "scenario"

    def __post_init__(self) -> None:
        if not isinstance(self.trace, TraceSpec):
            raise InvalidConfigError("trace", "a trace family or a Trace (it needs a build() method)", self.trace)
        if not isinstance(self.breaker, BreakerConfig):
            raise InvalidConfigError("breaker", "a BreakerConfig", self.breaker)
        if not isinstance(self.workload, Workload):
            raise InvalidConfigError("workload", "a Workload", self.workload)
        if not isinstance(self.service, Service):
            raise InvalidConfigError("service", "a Service", self.service)
        validate.number("horizon_s", self.horizon_s, "> 0", lambda v: v > 0)
        validate.number("bin_s", self.bin_s, "> 0", lambda v: v > 0)
        if self.horizon_s / self.bin_s > MAX_BINS:
            raise InvalidConfigError(
                "bin_s", f">= horizon_s / {MAX_BINS:,}", self.bin_s, "choose wider time-series bins"
            )
        validate.number("recovery_window_s", self.recovery_window_s, "> 0", lambda v: v > 0)
        baselines = tuple(validate.enum_value("baselines", Baseline, b) for b in self.baselines)
        if len(set(baselines)) != len(baselines):
            raise InvalidConfigError("baselines", "without repeats", self.baselines)
        object.__setattr__(self, "baselines", baselines)
        if not isinstance(self.serialize_calls, bool):
            raise InvalidConfigError("serialize_calls", "true or false", self.serialize_calls)
        budget.check_run(self)

    def replace(self, **changes: Any) -> Scenario:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

"""The run: SimPy events driving callers, a worker pool, the real breaker and the service.

One ``Run`` simulates one policy (the breaker, or a baseline) over a ``Plan`` shared by every
policy of the scenario: the built trace, the arrival times and one pre-drawn random number of
each kind per attempt (common random numbers). The breaker is ``breakerlab.model.Breaker``
itself, on the environment's clock.

Where the time goes: a request is two SimPy events (its arrival and its answer), each a bare
``Timeout`` with a callback rather than a process, and the breaker is driven through the
model's stepping API (``admit``/``succeed``/``fail`` at the simulated time: the generated
entry points, no ``Permit`` objects), so a request that changes no state fires no
``transitions`` trigger. State changes still go through the ``transitions`` machine. The
breaker says when its next time-driven transition is due (``next_deadline``); the run polls
it then.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
from typing import Any

import numpy as np
from simpy import Environment
from simpy.events import Event, Timeout

from breakerlab.model.breaker import Breaker
from breakerlab.model.errors import CircuitOpenError
from breakerlab.model.events import StateChange
from breakerlab.model.states import State

from .arrivals import arrival_times
from .capacity import CapacityService
from .result import BREAKER
from .retries import RetryBreaker
from .scenario import Baseline, Scenario, ServiceKind
from .streams import stream
from .traces.trace import Condition, Trace

__all__ = ["Plan", "Run", "SimClock"]

# Fault classes of an admitted attempt (how it counts in calls_to_unhealthy).
HEALTHY_CALL, UNHEALTHY_CLOSED, UNHEALTHY_PROBE = 0, 1, 2
CLOSED = State.CLOSED


@dataclasses.dataclass(frozen=True, eq=False)
class Plan:
    """Everything random about a scenario and seed, drawn once and shared by every policy.

    Attempt ``k`` (0 = the first) of request ``i`` uses index ``i * stride + k`` of the
    per-attempt lists.
    """

    trace: Trace
    arrivals_s: list[float]
    error_draws: list[float]
    latency_draws_s: list[float]
    jitter_draws: list[float]
    stride: int

    @classmethod
    def draw(cls, scenario: Scenario, seed: int) -> Plan:
        """Build the trace and draw every random number of the run."""
        trace = scenario.trace.build(scenario.horizon_s, stream(seed, "trace"))
        arrivals = arrival_times(scenario.workload, trace, scenario.horizon_s, stream(seed, "arrivals"))
        stride = scenario.workload.retry.max_retries + 1
        size = len(arrivals) * stride
        errors = stream(seed, "errors").random(size)
        service = scenario.service
        if service.latency_sigma > 0 and service.latency_median_s > 0:
            latency = stream(seed, "latency").lognormal(math.log(service.latency_median_s), service.latency_sigma, size)
        else:
            latency = np.full(size, service.latency_median_s)
        jitter = stream(seed, "retry_jitter").random(size)
        return cls(trace, arrivals.tolist(), errors.tolist(), latency.tolist(), jitter.tolist(), stride)


class SimClock:
    """The breaker's clock: the SimPy environment's ``now`` (simulated seconds)."""

    def __init__(self, env: Environment) -> None:
        self._env = env
        # The same reading as a plain function (the breaker calls it on every event).
        self.reading_function = functools.partial(type(env).now.fget, env)  # type: ignore[attr-defined]

    def __call__(self) -> float:
        return self._env.now

    def __repr__(self) -> str:
        return f"SimClock(now={self._env.now})"


class Run:
    """One policy simulated over a plan; ``execute()`` runs it, the attributes hold the raw
    counts that ``breakerlab.sim.metrics`` turns into ``Metrics``."""

    def __init__(self, scenario: Scenario, plan: Plan, policy: str) -> None:
        self.scenario = scenario
        self.plan = plan
        self.policy = policy
        self.env = env = Environment()
        workload = scenario.workload
        self.workers = workload.workers
        self.queue_limit = workload.queue_limit
        self.timeout_s = workload.call_timeout_s
        self.retry = workload.retry
        self.max_retries = workload.retry.max_retries
        self.retry_rejected = workload.retry.retry_rejected
        self.budget_ratio = workload.retry.budget_ratio
        self.tokens = workload.retry.budget_burst
        threshold = workload.retry.breaker_threshold
        self.retry_breaker = None if threshold is None else RetryBreaker(threshold, workload.retry.breaker_window)
        self.service = scenario.service
        self.error_latency_s = scenario.service.error_latency_s
        self.trace = plan.trace
        self.has_pauses = bool(plan.trace.pauses)
        self.capacity: CapacityService | None = None
        if scenario.service.kind is ServiceKind.CAPACITY:
            self.capacity = CapacityService(self, scenario.service)

        self.breaker: Breaker | None = None
        self.oracle = policy == Baseline.ORACLE
        self.state_changes: list[tuple[float, State]] = []
        if policy == BREAKER:
            self.breaker = Breaker(scenario.breaker, clock=SimClock(env), name=scenario.name)
            self.breaker.add_listener(self)
            self.state_changes.append((0.0, self.breaker.state))
        elif policy not in (Baseline.NO_BREAKER, Baseline.ORACLE):
            raise ValueError(f"unknown policy {policy!r}")

        # The condition now (the trace process updates these at segment boundaries).
        self.condition = plan.trace.segments[0].condition
        self._apply(self.condition)
        windows = plan.trace.fault_windows(scenario.horizon_s)
        self.fault_start_s = windows[0][0] if windows else math.inf
        self.admitted_at_fault: int | None = 0 if self.fault_start_s == 0.0 else None
        self.requests_to_open: int | None = None
        self.first_open_s: float | None = None

        # Counters.
        self.attempts = self.admitted = self.rejected = self.pool_full = self.retries_stopped = 0
        self.admitted_closed = self.false_rejections = 0
        self.before_trip = self.in_flight = self.probes = 0
        self.succeeded = self.resolved = 0
        self.queue: collections.deque[tuple[int, int]] = collections.deque()
        self.busy = 0
        # A breaker that holds a lock across each call (pybreaker): callers wait for it holding
        # their workers; the baselines have no breaker and so no lock.
        self.serialize = scenario.serialize_calls and self.breaker is not None
        self.lock_held = False
        self.lock_queue: collections.deque[tuple[int, int]] = collections.deque()
        # Raw event times (simulated seconds, in event order): the metrics bin them afterwards,
        # so the per-request path only appends.
        self.latencies_s: list[float] = []
        self.success_latencies_s: list[float] = []
        self.rejected_at: list[float] = []
        self.succeeded_at: list[float] = []
        self.failed_at: list[float] = []
        self.pool_at: list[float] = []  # every change of the pool's occupancy ...
        self.pool_busy: list[int] = []  # ... and the busy workers after it

        # Hot-path copies of the plan.
        self.arrivals_s = plan.arrivals_s
        self.error_draws = plan.error_draws
        self.latency_draws_s = plan.latency_draws_s
        self.jitter_draws = plan.jitter_draws
        self.stride = plan.stride

    # -- running ---------------------------------------------------------------------------------

    def execute(self) -> None:
        """Simulate until every request is resolved (or the drain limit passes)."""
        env = self.env
        segments = self.trace.segments
        if len(segments) > 1:
            self._schedule(segments[1].start_s, 1, self._on_segment)
        if self.plan.arrivals_s:
            self._schedule(self.plan.arrivals_s[0], 0, self._on_arrival)
        env.run(until=self.scenario.horizon_s + self.drain_s())

    def drain_s(self) -> float:
        """How long after the horizon the run may continue so every request can finish."""
        workload = self.scenario.workload
        waits = 1 + workload.queue_limit / workload.workers
        if self.serialize:  # every waiting caller may hold the lock for a whole timeout first
            waits = workload.workers + workload.queue_limit
        retry = workload.retry
        return (retry.max_retries + 1) * workload.call_timeout_s * waits + retry.max_retries * retry.backoff_cap_s + 1.0

    def _schedule(self, time_s: float, value: Any, callback: Any) -> None:
        event = Timeout(self.env, max(0.0, time_s - self.env.now), value)
        event.callbacks.append(callback)

    def _on_segment(self, event: Event) -> None:
        index: int = event.value  # type: ignore[assignment]
        segments = self.trace.segments
        segment = segments[index]
        self.condition = segment.condition
        self._apply(segment.condition)
        if self.admitted_at_fault is None and segment.start_s >= self.fault_start_s:
            self.admitted_at_fault = self.admitted
        if index + 1 < len(segments):
            self._schedule(segments[index + 1].start_s, index + 1, self._on_segment)

    def _apply(self, condition: Condition) -> None:
        self.error_rate = condition.error_rate
        self.hang = condition.hang
        self.latency_factor = condition.latency_factor
        self.extra_latency_s = condition.extra_latency_s
        self.capacity_factor = condition.capacity_factor
        self.healthy = condition.is_healthy

    def _on_arrival(self, event: Event) -> None:
        index: int = event.value  # type: ignore[assignment]
        now: float = self.env.now
        arrivals = self.arrivals_s
        if index + 1 < len(arrivals):
            following = Timeout(self.env, arrivals[index + 1] - now, index + 1)
            following.callbacks.append(self._on_arrival)
        budget = self.budget_ratio
        if budget is not None:
            self.tokens = min(self.retry.budget_burst, self.tokens + budget)
        self._attempt(index, 0, now)

    def _on_retry(self, event: Event) -> None:
        index, attempt = event.value  # type: ignore[misc]
        self._attempt(index, attempt, self.env.now)

    # The per-request path passes ``now`` (the environment's time, read once per callback) down.

    def _attempt(self, index: int, attempt: int, now: float) -> None:
        """Attempt ``attempt`` of request ``index`` asks for a worker."""
        self.attempts += 1
        if self.busy < self.workers:
            if self.serialize:
                self._start(index, attempt, now)
            else:
                self._admit_and_send(index, attempt, now)
        elif len(self.queue) < self.queue_limit:
            self.queue.append((index, attempt))
        else:
            self.pool_full += 1
            self.failed_at.append(now)
            self._failed(index, attempt, now, False)

    def _start(self, index: int, attempt: int, now: float) -> None:
        """A worker is free for the attempt."""
        if not self.serialize:
            self._admit_and_send(index, attempt, now)
            return
        self.busy += 1  # the caller holds its worker while it waits for the breaker's lock
        self.pool_at.append(now)
        self.pool_busy.append(self.busy)
        if self.lock_held:
            self.lock_queue.append((index, attempt))
        else:
            self.lock_held = True
            self._admit_and_send(index, attempt, now, holding=True)

    def _release_lock(self, now: float) -> None:
        """Hand the breaker's lock to the callers waiting for it, in order (a rejected caller
        gives it back at once)."""
        self.lock_held = False
        queue = self.lock_queue
        while queue and not self.lock_held:
            index, attempt = queue.popleft()
            self.lock_held = True
            self._admit_and_send(index, attempt, now, holding=True)

    def _admit_and_send(self, index: int, attempt: int, now: float, holding: bool = False) -> None:
        """A worker is free: ask the policy, then send the attempt (holding the worker).

        ``holding``: the caller already holds its worker and the breaker's lock (serialised calls).
        """
        j = index * self.stride + attempt
        capacity = self.capacity
        # The attempt's outcome if sent now (drawn whether or not it is sent).
        if capacity is not None:
            ok = capacity.would_succeed(j)
            duration = 0.0
        elif self.hang:
            ok, duration = False, self.timeout_s
        elif self.error_draws[j] < self.error_rate:
            ok, duration = False, self.error_latency_s
            if self.has_pauses:
                duration = self.trace.finish_time(now, duration) - now
        else:
            duration = self.latency_draws_s[j] * self.latency_factor + self.extra_latency_s
            if self.has_pauses:
                duration = self.trace.finish_time(now, duration) - now
            ok = duration <= self.timeout_s
            if not ok:
                duration = self.timeout_s
        breaker = self.breaker
        kind = HEALTHY_CALL
        if breaker is not None:
            try:
                generation, state, probe, acquired_at = breaker.admit(now)
            except CircuitOpenError:
                if holding:  # give back the worker and the lock
                    self.busy -= 1
                    self.pool_at.append(now)
                    self.pool_busy.append(self.busy)
                    self.lock_held = False
                self._reject(index, attempt, now, ok)
                return
            if state is CLOSED:
                self.admitted_closed += 1
            if not self.healthy:
                if probe:
                    kind = UNHEALTHY_PROBE
                    self.probes += 1
                else:  # closed (or disabled, which admits like closed)
                    kind = UNHEALTHY_CLOSED
        else:
            if self.oracle and not ok:
                self._reject(index, attempt, now, ok)
                return
            generation, state, acquired_at = 0, CLOSED, now
            if not self.healthy:
                kind = UNHEALTHY_CLOSED
        self.admitted += 1
        if not holding:
            self.busy += 1
            self.pool_at.append(now)
            self.pool_busy.append(self.busy)
        if capacity is not None:
            capacity.send(index, attempt, j, generation, state, acquired_at, kind)
            return
        event = Timeout(self.env, duration, (index, attempt, ok, generation, state, acquired_at, kind))
        event.callbacks.append(self._on_answer)

    def _reject(self, index: int, attempt: int, now: float, would_succeed: bool) -> None:
        self.rejected += 1
        self.rejected_at.append(now)
        if would_succeed:
            self.false_rejections += 1
        self._failed(index, attempt, now, True)

    def _on_answer(self, event: Event) -> None:
        self.answered(*event.value)  # type: ignore[misc]

    def answered(
        self, index: int, attempt: int, ok: bool, generation: int, state: State, acquired_at: float, kind: int
    ) -> None:
        """An admitted attempt's answer (or its timeout) reached the caller."""
        now: float = self.env.now
        self.busy -= 1
        self.pool_at.append(now)
        self.pool_busy.append(self.busy)
        breaker = self.breaker
        if kind == UNHEALTHY_CLOSED:
            if breaker is not None and breaker.generation != generation:
                self.in_flight += 1
            else:
                self.before_trip += 1
        if breaker is not None:
            admission = (generation, state, False, acquired_at)
            if ok:
                breaker.succeed(admission, now)
            else:
                breaker.fail(admission, now)
            if self.serialize:
                self._release_lock(now)
        if self.retry_breaker is not None:
            self.retry_breaker.record(ok)
        if ok:
            self.succeeded_at.append(now)
            latency = now - self.arrivals_s[index]
            self.latencies_s.append(latency)
            self.success_latencies_s.append(latency)
            self.succeeded += 1
            self.resolved += 1
        else:
            self.failed_at.append(now)
        queue = self.queue
        while queue and self.busy < self.workers:
            waiting, waiting_attempt = queue.popleft()
            self._start(waiting, waiting_attempt, now)
        if not ok:
            self._failed(index, attempt, now, False)

    def _failed(self, index: int, attempt: int, now: float, rejected: bool) -> None:
        """Attempt ``attempt`` failed: schedule a retry, or end the request as failed."""
        budget = self.budget_ratio
        may_retry = attempt < self.max_retries and (self.retry_rejected or not rejected)
        if may_retry and self.retry_breaker is not None and not self.retry_breaker.allows_retry():
            self.retries_stopped += 1
            may_retry = False
        if may_retry and (budget is None or self.tokens >= 1.0):
            if budget is not None:
                self.tokens -= 1.0  # the retry spends a token
            delay = self.retry.delay_s(attempt, self.jitter_draws[index * self.stride + attempt])
            event = Timeout(self.env, delay, (index, attempt + 1))
            event.callbacks.append(self._on_retry)
            return
        self.latencies_s.append(now - self.arrivals_s[index])
        self.resolved += 1

    # -- the breaker's listener ------------------------------------------------------------------

    def state_change(self, change: StateChange) -> None:
        """Record the change; schedule the polls that time-driven transitions need."""
        self.state_changes.append((change.time, change.dest))
        breaker = self.breaker
        assert breaker is not None
        if change.dest is State.OPEN:
            if self.first_open_s is None and change.time >= self.fault_start_s:
                self.first_open_s = change.time
                if self.admitted_at_fault is not None:
                    self.requests_to_open = self.admitted - self.admitted_at_fault
        self._schedule_poll()

    def _schedule_poll(self) -> None:
        """Poll the breaker when the model says its next time-driven transition is due."""
        assert self.breaker is not None
        due = self.breaker.next_deadline()
        if due is not None:
            self._schedule(due, due, self._poll)

    def _poll(self, event: Event) -> None:
        breaker = self.breaker
        assert breaker is not None
        if breaker.poll(event.value) is None:
            due = breaker.next_deadline()
            if due is not None and due > self.env.now:
                self._schedule_poll()  # not due yet (the delay rounded early, or the deadline moved)

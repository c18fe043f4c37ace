"""The run: SimPy events driving callers, a worker pool, the real breaker and the service.

One ``Run`` simulates one policy (the breaker, or a baseline) over a ``Plan`` shared by every
policy of the scenario: the built trace, the arrival times and one pre-drawn random number of
each kind per attempt (common random numbers). The breaker is ``breakerlab.model.Breaker``
itself, on the environment's clock.

Where the time goes: a request is two SimPy events (its arrival and its answer), each a bare
``Timeout`` with a callback rather than a process, and the breaker is driven through the
model's stepping API (``try_admit``/``succeed``/``fail`` at the simulated time: the generated
entry points, no ``Permit`` objects, and a rejection returned rather than raised), so a
request that changes no state fires no ``transitions`` trigger, and neither does a state change
(the breaker performs it from the compiled rows while nobody reads its machine). The breaker says when its next time-driven transition is due
(``next_deadline``); the run polls it then.

The per-request path is written for speed: it records raw event times only (the metrics are
computed from them afterwards, vectorised), passes the breaker's admission tuple through to its
settlement unchanged, and keeps no counter that a list's length already holds or that the run
can derive afterwards. Its events' times travel with them, computed as SimPy computes them
(``now + delay``, the same float), since ``env.now`` and ``event.value`` are properties (a
Python call each); the arrival's index and time are the run's (one arrival is pending at a
time). ``Run`` has slots, and the objects made before the run are frozen out of the garbage
collector's passes while it runs.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import math
from array import array
from typing import Any

import numpy as np
from simpy import Environment
from simpy.events import Event, Timeout

from breakerlab.model.breaker import Breaker
from breakerlab.model.events import StateChange
from breakerlab.model.permit import Admission
from breakerlab.model.states import State

from .arrivals import arrival_times
from .capacity import CapacityService
from .fleet import BreakerSlot, Caller, assign_instances
from .result import BREAKER
from .scenario import Baseline, BreakerScope, Scenario, ServiceKind
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
    per-attempt lists; ``instance_of[i]`` is the fleet instance the balancer sends request
    ``i`` to (empty for a single instance). ``arrivals_array_s`` holds the same numbers as
    ``arrivals_s`` (an array for the metrics, a list for the per-request path);
    ``jitter_draws`` is empty when no attempt can be retried.
    """

    trace: Trace
    arrivals_s: tuple[float, ...]
    arrivals_array_s: np.ndarray
    error_draws: tuple[float, ...]
    latency_draws_s: tuple[float, ...]
    jitter_draws: tuple[float, ...]
    stride: int
    instance_of: tuple[int, ...]

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
        # Only a retry's delay reads its jitter draw.
        jitter = stream(seed, "retry_jitter").random(size) if stride > 1 else np.empty(0)
        instance_of = tuple(assign_instances(scenario.workload, len(arrivals), seed))
        # Tuples of numbers, not lists: the garbage collector stops tracking a tuple that holds
        # no container the first time it examines it, so a fleet's collections do not traverse
        # the run's millions of draws again and again (lists are traversed at every one).
        return cls(
            trace, tuple(arrivals.tolist()), arrivals, tuple(errors.tolist()), tuple(latency.tolist()),
            tuple(jitter.tolist()), stride, instance_of,
        )


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

    # Slots, not an instance dict: a run has more attributes than a dict's shared keys hold
    # (30), so without them every read on the per-request path would be a dict lookup.
    __slots__ = (
        # the scenario and the plan, and hot-path copies of them
        "scenario", "plan", "policy", "env", "workers", "queue_limit", "timeout_s", "retry", "max_retries",
        "retry_rejected", "budget_ratio", "service", "error_latency_s", "trace", "has_pauses", "capacity",
        "arrivals_s", "requests", "error_draws", "latency_draws_s", "jitter_draws", "stride",
        # raw event times
        "succeeded_at", "succeeded_index", "unsuccessful_latencies_s", "rejected_at", "failed_at", "pool_log",
        # the fleet
        "oracle", "instances", "slots", "callers", "request_caller",
        # the trace's condition now
        "condition", "error_rate", "hang", "latency_factor", "extra_latency_s", "capacity_factor", "healthy",
        # detection
        "fault_start_s", "admitted_at_fault", "requests_to_open", "first_open_s",
        # counters
        "arrived", "retried", "admitted", "pool_full", "retries_stopped", "admitted_unclosed", "false_rejections",
        "before_trip", "in_flight", "probes",
        # how attempts are sent, and the callbacks
        "serialize", "direct_below", "propagation_s", "arrival_s", "_arrival_callback", "_answer_callback",
    )

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
        self.service = scenario.service
        self.error_latency_s = scenario.service.error_latency_s
        self.trace = plan.trace
        self.has_pauses = bool(plan.trace.pauses)
        self.capacity: CapacityService | None = None
        if scenario.service.kind is ServiceKind.CAPACITY:
            self.capacity = CapacityService(self, scenario.service)

        # Raw event times (simulated seconds, in event order): the metrics bin them afterwards,
        # so the per-request path only appends. Typed arrays of machine numbers, not lists: a
        # list would keep every event's float object alive (32 bytes an entry, scattered over
        # the heap), its conversion to numpy would chase each of them, and freeing the run
        # would free each again; an array holds the bare numbers, numpy reads its buffer as it
        # is, and the garbage collector has nothing in it to traverse.
        self.succeeded_at: array[float] = array("d")  # each success (it ends its request) ...
        self.succeeded_index: array[int] = array("q")  # ... and its request
        self.unsuccessful_latencies_s: array[float] = array("d")  # each request that ended without a success
        self.rejected_at: array[float] = array("d")
        self.failed_at: array[float] = array("d")
        # Every change of the pool's occupancy (the whole fleet's), one worker at a time: its
        # time when a worker is taken, the time negated (``-t``, ``-0.0`` at 0) when one is
        # released. One append per change; ``pool_changes`` decodes it.
        self.pool_log: array[float] = array("d")

        self.oracle = policy == Baseline.ORACLE
        if policy not in (BREAKER, Baseline.NO_BREAKER, Baseline.ORACLE):
            raise ValueError(f"unknown policy {policy!r}")
        # The fleet: its instances, and the breakers they ask (none for the baselines).
        self.instances = instances = workload.instances
        self.slots: list[BreakerSlot] = []
        if policy == BREAKER:
            shared = workload.breaker_scope is BreakerScope.SHARED
            clock = SimClock(env)
            for k in range(1 if shared else instances):
                name = scenario.name if instances == 1 else f"{scenario.name}[{k}]"
                slot = BreakerSlot(k, Breaker(scenario.breaker, clock=clock, name=name), instances if shared else 1)
                slot.breaker.add_listener(_SlotListener(self, slot))
                self.slots.append(slot)
        self.callers = [
            Caller(i, workload, self.slots[0 if len(self.slots) == 1 else i] if self.slots else None)
            for i in range(instances)
        ]
        # Each request's caller (the balancer's choice, drawn in the plan).
        self.request_caller = (
            tuple(map(self.callers.__getitem__, plan.instance_of))
            if instances > 1
            else (self.callers[0],) * len(plan.arrivals_s)
        )

        # The condition now (the trace process updates these at segment boundaries).
        self.condition = plan.trace.segments[0].condition
        self._apply(self.condition)
        windows = plan.trace.fault_windows(scenario.horizon_s)
        self.fault_start_s = windows[0][0] if windows else math.inf
        self.admitted_at_fault: int | None = 0 if self.fault_start_s == 0.0 else None
        self.requests_to_open: int | None = None
        self.first_open_s: float | None = None

        # Counters (derived: ``attempts``, ``admitted_closed``).
        self.arrived = self.retried = self.admitted = self.pool_full = self.retries_stopped = 0
        self.admitted_unclosed = self.false_rejections = 0  # unclosed: admitted in another state
        self.before_trip = self.in_flight = self.probes = 0
        # A breaker that holds a lock across each call (pybreaker): callers wait for it holding
        # their workers; the baselines have no breaker and so no lock.
        self.serialize = scenario.serialize_calls and bool(self.slots)
        # Busy workers below which an attempt is sent at once: none when it must wait for the
        # breaker's lock first (one comparison on the per-request path instead of two).
        self.direct_below = 0 if self.serialize else self.workers
        # A shared breaker hears each outcome this long after the call ends (0: at once).
        self.propagation_s = workload.shared_propagation_s if self.slots else 0.0

        # Hot-path copies of the plan, and the callbacks (bound once).
        self.arrivals_s = plan.arrivals_s
        self.requests = len(plan.arrivals_s)
        self.error_draws = plan.error_draws
        self.latency_draws_s = plan.latency_draws_s
        self.jitter_draws = plan.jitter_draws
        self.stride = plan.stride
        self._arrival_callback = self._on_arrival
        self._answer_callback = self._on_answer
        # The pending arrival's time, as SimPy computes it (``now + delay``): its callback reads
        # it here rather than through two properties (``event.value``, ``env.now``).
        self.arrival_s = 0.0

    # -- what the raw records hold ---------------------------------------------------------------

    @property
    def attempts(self) -> int:
        """Attempts made: each request's first, and each retry."""
        return self.arrived + self.retried

    @property
    def admitted_closed(self) -> int:
        """Attempts admitted in the closed state (a baseline's are all of its admitted)."""
        return self.admitted - self.admitted_unclosed

    @property
    def succeeded(self) -> int:
        """Requests that ended with a success."""
        return len(self.succeeded_at)

    @property
    def resolved(self) -> int:
        """Requests that ended (with a success or not)."""
        return len(self.succeeded_at) + len(self.unsuccessful_latencies_s)

    @property
    def rejected(self) -> int:
        """Attempts the breaker (or the oracle) rejected."""
        return len(self.rejected_at)

    def pool_changes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, busy)``: each change of the pool's occupancy, in event order, and the
        fleet's busy workers after it."""
        log = np.frombuffer(self.pool_log, dtype=float)
        released = np.signbit(log)
        return np.abs(log), np.cumsum(np.where(released, -1, 1), dtype=np.int64)

    def latencies_s(self, succeeded_at: np.ndarray) -> np.ndarray:
        """The latency of every request that ended, the successes' first (the metrics read
        only order statistics of them); ``succeeded_at``: ``self.succeeded_at`` as an array."""
        index = np.frombuffer(self.succeeded_index, dtype=np.int64)
        success = succeeded_at - self.plan.arrivals_array_s[index]
        others = np.frombuffer(self.unsuccessful_latencies_s, dtype=float)
        return np.concatenate((success, others))

    # -- running ---------------------------------------------------------------------------------

    def release(self) -> None:
        """Let go of everything this run holds, once its metrics are collected.

        A run is a reference cycle (its bound callbacks, its callers' and breakers' listeners
        and SimPy's queue all point back at it) holding the whole plan, some 15 MB; the cyclic
        collector reaches such cycles so rarely that a process simulating hundreds of runs grew
        to gigabytes. Dropping the attributes breaks the cycle, so the plan is freed at once.
        """
        for name in Run.__slots__:
            if hasattr(self, name):
                delattr(self, name)

    def execute(self) -> None:
        """Simulate until every request is resolved (or the drain limit passes)."""
        env = self.env
        segments = self.trace.segments
        if len(segments) > 1:
            self._schedule(segments[1].start_s, 1, self._on_segment)
        if self.plan.arrivals_s:
            delay = max(0.0, self.plan.arrivals_s[0] - env.now)
            self.arrival_s = env.now + delay
            Timeout(env, delay).callbacks.append(self._arrival_callback)
        # Every object made so far (the plan's millions of draws, the breakers, the empty logs)
        # lives through the run: frozen, the garbage collector leaves them out of the run's
        # collections, which then examine only what the run itself makes. Results do not
        # depend on it; it is skipped if someone else froze objects (their freeze is theirs).
        freeze = gc.isenabled() and gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            env.run(until=self.scenario.horizon_s + self.drain_s())
        finally:
            if freeze:
                gc.unfreeze()

    def drain_s(self) -> float:
        """How long after the horizon the run may continue so every request can finish."""
        workload = self.scenario.workload
        waits = 1 + workload.queue_limit / workload.workers
        if self.serialize:  # every waiting caller may hold the lock for a whole timeout first
            sharing = workload.instances if workload.breaker_scope is BreakerScope.SHARED else 1
            waits = (workload.workers + workload.queue_limit) * sharing
        retry = workload.retry
        return (retry.max_retries + 1) * workload.call_timeout_s * waits + retry.max_retries * retry.backoff_cap_s + 1.0

    def _schedule(self, time_s: float, value: Any, callback: Any) -> None:
        event = Timeout(self.env, max(0.0, time_s - self.env.now), value)
        event.callbacks.append(callback)

    def _on_segment(self, event: Event) -> None:
        index: int = event.value  # type: ignore[assignment]
        segments = self.trace.segments
        segment = segments[index]
        before = self.condition
        self.condition = segment.condition
        self._apply(segment.condition)
        if self.capacity is not None and _is_outage(before) and not _is_outage(segment.condition):
            self.capacity.outage_ended(self.env.now)
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
        """Request ``arrived`` arrives (requests arrive in order, one arrival pending at a
        time), at ``arrival_s``: the environment's ``now``, the same float SimPy computed."""
        index = self.arrived
        self.arrived = following = index + 1
        now = self.arrival_s
        if following < self.requests:
            delay = self.arrivals_s[following] - now
            self.arrival_s = now + delay  # SimPy's ``now + delay``: the event's time, exactly
            Timeout(self.env, delay).callbacks.append(self._arrival_callback)
        caller = self.request_caller[index]
        budget = self.budget_ratio
        if budget is not None:
            caller.tokens = min(self.retry.budget_burst, caller.tokens + budget)
        if caller.busy < self.direct_below:
            self._admit_and_send(caller, index, 0, now)
        else:
            self._wait(caller, index, 0, now)

    def _on_retry(self, event: Event) -> None:
        index, attempt = event.value  # type: ignore[misc]
        self._attempt(self.request_caller[index], index, attempt, self.env.now)

    # The per-request path passes the request's caller and ``now`` (the environment's time,
    # read once per callback) down.

    def _attempt(self, caller: Caller, index: int, attempt: int, now: float) -> None:
        """Attempt ``attempt`` (a retry) of request ``index`` asks its caller for a worker."""
        self.retried += 1
        if caller.busy < self.direct_below:
            self._admit_and_send(caller, index, attempt, now)
        else:
            self._wait(caller, index, attempt, now)

    def _wait(self, caller: Caller, index: int, attempt: int, now: float) -> None:
        """The attempt cannot be sent at once: it waits for the breaker's lock (serialised
        calls), for a worker in the queue, or fails (the pool and its queue are full)."""
        if caller.busy < self.workers:
            self._start(caller, index, attempt, now)
        elif len(caller.queue) < self.queue_limit:
            caller.queue.append((index, attempt))
        else:
            self.pool_full += 1
            self.failed_at.append(now)
            self._failed(caller, index, attempt, now, False)

    def _start(self, caller: Caller, index: int, attempt: int, now: float) -> None:
        """A worker of ``caller`` is free for the attempt."""
        if not self.serialize:
            self._admit_and_send(caller, index, attempt, now)
            return
        caller.busy += 1  # the caller holds its worker while it waits for the breaker's lock
        self.pool_log.append(now)
        slot = caller.slot
        assert slot is not None
        if slot.lock_held:
            slot.lock_queue.append((index, attempt))
        else:
            slot.lock_held = True
            self._admit_and_send(caller, index, attempt, now, holding=True)

    def _release_lock(self, slot: BreakerSlot, now: float) -> None:
        """Hand the breaker's lock to the callers waiting for it, in order (a rejected caller
        gives it back at once)."""
        slot.lock_held = False
        queue = slot.lock_queue
        while queue and not slot.lock_held:
            index, attempt = queue.popleft()
            slot.lock_held = True
            self._admit_and_send(self.request_caller[index], index, attempt, now, holding=True)

    def _admit_and_send(self, caller: Caller, index: int, attempt: int, now: float, holding: bool = False) -> None:
        """A worker is free: ask the policy, then send the attempt (holding the worker).

        ``holding``: the caller already holds its worker and the breaker's lock (serialised calls).
        """
        j = index * self.stride + attempt
        capacity = self.capacity
        # The attempt's outcome if sent now (drawn whether or not it is sent).
        if capacity is not None:  # the service decides when the attempt reaches it; the oracle looks ahead
            ok, duration = True, 0.0
            if self.oracle:
                doomed_s = capacity.oracle_refusal_s(j)
                if doomed_s is not None:
                    ok, duration = False, doomed_s
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
        breaker = caller.breaker
        kind = HEALTHY_CALL
        if breaker is not None:
            admission = breaker.try_admit(now)
            if admission is None:  # rejected
                if holding:  # give back the worker and the lock
                    caller.busy -= 1
                    self.pool_log.append(-now)
                    caller.slot.lock_held = False  # type: ignore[union-attr]
                self._reject(caller, index, attempt, now, ok if capacity is None else capacity.could_serve(j))
                return
            if admission[1] is not CLOSED:
                self.admitted_unclosed += 1
            if not self.healthy:
                if admission[2]:  # a probe
                    kind = UNHEALTHY_PROBE
                    self.probes += 1
                else:  # closed (or disabled, which admits like closed)
                    kind = UNHEALTHY_CLOSED
        else:
            if self.oracle and not ok:
                self._withhold(caller, index, attempt, now, duration)
                return
            admission = (0, CLOSED, False, now)
            if not self.healthy:
                kind = UNHEALTHY_CLOSED
        self.admitted += 1
        if not holding:
            caller.busy += 1
            self.pool_log.append(now)
        if capacity is not None:
            capacity.send(index, attempt, j, admission, kind)
            return
        # The answer's time goes with it, computed as SimPy computes the event's (``now +
        # delay``), so that its callback need not read ``env.now``.
        answer = (caller, index, attempt, ok, admission, kind, now + duration)
        Timeout(self.env, duration, answer).callbacks.append(self._answer_callback)

    def _reject(self, caller: Caller, index: int, attempt: int, now: float, could_succeed: bool) -> None:
        self.rejected_at.append(now)
        if could_succeed:
            self.false_rejections += 1
        self._failed(caller, index, attempt, now, True)

    def _withhold(self, caller: Caller, index: int, attempt: int, now: float, doomed_s: float) -> None:
        """The oracle withholds an attempt that would fail after ``doomed_s``: the service never
        sees it, and for its caller it fails then, as sent, so its retry (or the request's end)
        comes when it would have: the oracle only spares the service, it does not change the
        callers' timeline (nor, on an open-loop service, their successes)."""
        self.rejected_at.append(now)
        Timeout(self.env, doomed_s, (index, attempt)).callbacks.append(self._on_withheld_failed)

    def _on_withheld_failed(self, event: Event) -> None:
        """A withheld attempt's failure reaches its caller (see ``_withhold``)."""
        index, attempt = event.value  # type: ignore[misc]
        caller = self.request_caller[index]
        if caller.retry_breaker is not None:
            caller.retry_breaker.record(False)
        self._failed(caller, index, attempt, self.env.now, False)

    def _on_answer(self, event: Event) -> None:
        """An admitted attempt's answer (or its timeout) reached the caller: the event's value
        is ``(caller, index, attempt, ok, admission, kind, now)``."""
        caller, index, attempt, ok, admission, kind, now = event.value  # type: ignore[misc]
        caller.busy -= 1
        self.pool_log.append(-now)
        breaker = caller.breaker
        if kind == UNHEALTHY_CLOSED:
            if breaker is not None and breaker.generation != admission[0]:
                self.in_flight += 1
            else:
                self.before_trip += 1
        if breaker is not None:
            if self.propagation_s:
                late = Timeout(self.env, self.propagation_s, (breaker, admission, ok))
                late.callbacks.append(self._on_outcome_arrived)
            elif ok:
                breaker.succeed(admission, now)
            else:
                breaker.fail(admission, now)
            if self.serialize:
                self._release_lock(caller.slot, now)
        if caller.retry_breaker is not None:
            caller.retry_breaker.record(ok)
        if ok:
            self.succeeded_at.append(now)
            self.succeeded_index.append(index)
        else:
            self.failed_at.append(now)
        queue = caller.queue
        while queue and caller.busy < self.workers:
            waiting, waiting_attempt = queue.popleft()
            self._start(caller, waiting, waiting_attempt, now)
        if not ok:
            self._failed(caller, index, attempt, now, False)

    def _on_outcome_arrived(self, event: Event) -> None:
        """A call's outcome reaches the shared breaker ``propagation_s`` after the call ended.
        The admission's time moves with it, so the call's duration (which the breaker's own
        ``call_timeout`` judges) is the call's, not the delay's."""
        breaker, (generation, state, probe, admitted_at), ok = event.value  # type: ignore[misc]
        admission = (generation, state, probe, admitted_at + self.propagation_s)
        if ok:
            breaker.succeed(admission, self.env.now)
        else:
            breaker.fail(admission, self.env.now)

    def answered(self, index: int, attempt: int, ok: bool, admission: Admission, kind: int) -> None:
        """An admitted attempt's answer (or its timeout) reached the caller (the capacity
        service's delivery: the same as an answer event's)."""
        answer = (self.request_caller[index], index, attempt, ok, admission, kind, self.env.now)
        self._on_answer(_Answer(answer))  # type: ignore[arg-type]

    def _failed(self, caller: Caller, index: int, attempt: int, now: float, rejected: bool) -> None:
        """Attempt ``attempt`` failed: schedule a retry, or end the request as failed."""
        budget = self.budget_ratio
        may_retry = attempt < self.max_retries and (self.retry_rejected or not rejected)
        if may_retry and caller.retry_breaker is not None and not caller.retry_breaker.allows_retry():
            self.retries_stopped += 1
            may_retry = False
        if may_retry and (budget is None or caller.tokens >= 1.0):
            if budget is not None:
                caller.tokens -= 1.0  # the retry spends a token
            delay = self.retry.delay_s(attempt, self.jitter_draws[index * self.stride + attempt])
            event = Timeout(self.env, delay, (index, attempt + 1))
            event.callbacks.append(self._on_retry)
            return
        self.unsuccessful_latencies_s.append(now - self.arrivals_s[index])

    # -- the breaker's listener ------------------------------------------------------------------

    def state_change(self, slot: BreakerSlot, change: StateChange) -> None:
        """Record a change of ``slot``'s breaker; schedule the polls that time-driven
        transitions need. The fleet's first opening at or after the fault is its detection."""
        slot.record(change.time, change.dest)
        if change.dest is State.OPEN:
            if self.first_open_s is None and change.time >= self.fault_start_s:
                self.first_open_s = change.time
                if self.admitted_at_fault is not None:
                    self.requests_to_open = self.admitted - self.admitted_at_fault
        self._schedule_poll(slot)

    def _schedule_poll(self, slot: BreakerSlot) -> None:
        """Poll the breaker when the model says its next time-driven transition is due."""
        due = slot.breaker.next_deadline()
        if due is not None:
            self._schedule(due, (slot, due), self._poll)

    def _poll(self, event: Event) -> None:
        slot, due = event.value  # type: ignore[misc]
        breaker = slot.breaker
        if breaker.poll(due) is None:
            due = breaker.next_deadline()
            if due is not None and due > self.env.now:
                self._schedule_poll(slot)  # not due yet (the delay rounded early, or the deadline moved)


class _Answer:
    """An answer delivered outside an event (by the capacity service), shaped as the event."""

    __slots__ = ("value",)

    def __init__(self, value: tuple[Caller, int, int, bool, Admission, int, float]) -> None:
        self.value = value


def _is_outage(condition: Condition) -> bool:
    """Everything fails or hangs: the service is down, not merely degraded."""
    return condition.hang or condition.error_rate >= 1.0


class _SlotListener:
    """A breaker's listener: its state changes go to the run, with the slot they happened in."""

    __slots__ = ("run", "slot")

    #: An error in recording a state change is a bug of the run: let it end the run (the
    #: breaker logs and swallows an observer's errors).
    propagate_errors = True

    def __init__(self, run: Run, slot: BreakerSlot) -> None:
        self.run = run
        self.slot = slot

    def state_change(self, change: StateChange) -> None:
        self.run.state_change(self.slot, change)

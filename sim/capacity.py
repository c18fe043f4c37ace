"""The ``capacity`` service: servers and a queue, so latency and errors grow with load.

Each attempt that passes the trace's fail-fast draw joins a FIFO queue in front of
``servers`` servers; its service time is its latency draw divided by the trace's
``capacity_factor`` at the moment it starts (stop-the-world pauses add their overlap). A full
queue answers with an error at once. The caller gives up at its ``call_timeout_s``, but the
service still processes the abandoned attempt (unless ``drop_abandoned``): work nobody waits
for, which is how retries and timeouts keep an overloaded service down (metastability).

A fragile service (``Service.crash_after_s``) crashes once it has been overloaded for that
long (overloaded: from the moment its queue is full until the queue has drained to half). The
queued and in-flight work is lost (each caller gets an error at once), and for ``restart_s``
every call fails fast. It restarts cold, as it also comes back
after each of the trace's outages (error rate 1 or hanging): its capacity then returns from
``warmup_floor`` to full over ``warmup_s``, ``warmup_overload_factor`` times as fast while
every server is busy and work waits. The warmth multiplies the trace's ``capacity_factor``
for the service time of each call, when it starts.
"""

from __future__ import annotations

import collections
import heapq
import math
from typing import Any, Protocol

from simpy import Environment
from simpy.events import Event, Timeout

from breakerlab.model.permit import Admission

from .scenario import Service
from .traces.trace import Trace

__all__ = ["CapacityHost", "CapacityService"]


class _Draws(Protocol):
    @property
    def error_draws(self) -> tuple[float, ...]: ...

    @property
    def latency_draws_s(self) -> tuple[float, ...]: ...


class CapacityHost(Protocol):
    """What the service reads of the run it serves: the clock, the pre-drawn numbers, the
    trace's condition now, the caller's timeout, and where answers go (``engine.Run`` is one)."""

    env: Environment
    trace: Trace
    has_pauses: bool
    timeout_s: float
    error_latency_s: float
    hang: bool
    error_rate: float
    capacity_factor: float

    @property
    def plan(self) -> _Draws: ...

    def answered(self, index: int, attempt: int, ok: bool, admission: Admission, kind: int) -> None: ...

# Fields of an attempt record (a list, mutated when it is answered).
INDEX, ATTEMPT, ADMISSION, KIND, DONE, WORK, EPOCH = range(7)


class CapacityService:
    """Servers and a bounded FIFO queue on the run's environment."""

    def __init__(self, run: CapacityHost, service: Service) -> None:
        self.run = run
        self.servers = service.servers
        self.queue_limit = service.queue_limit
        self.drop_abandoned = service.drop_abandoned
        self.mean_latency_s = service.mean_latency_s
        self.busy = 0
        self.queue: collections.deque[list[Any]] = collections.deque()
        self.backlog_peak = 0
        self.phantom_ends: list[float] = []  # when the false rejections' servers would be free
        # Fragility: crashes under overload, and warming up after a restart or an outage.
        self.crash_after_s = service.crash_after_s
        self.restart_s = service.restart_s
        self.warmup_s = service.warmup_s
        self.warmup_floor = service.warmup_floor
        self.warmup_overload_factor = service.warmup_overload_factor
        self.fragile = self.crash_after_s is not None or self.warmup_s > 0
        self.crash_times: list[float] = []
        self.epoch = 0  # incremented by each crash: work started before it is lost
        self.down_until = -math.inf
        self.in_service: dict[int, list[Any]] = {}
        self.full_since: float | None = None  # overloaded since (None: not overloaded)
        self.overload_changes: list[float] = []  # when it became overloaded, and stopped, alternately
        self.crash_token = 0
        self.warmth = 1.0
        self.warm_at = 0.0
        self.warming = False
        self.crowded = False  # every server busy and work queued (since the last update)

    def oracle_refusal_s(self, j: int) -> float | None:
        """The oracle's decision for attempt ``j`` now: ``None`` to send it, or how long after
        now it would fail (the oracle withholds it, and its caller sees the failure then).

        The oracle sends an attempt that passes the fail-fast draw (it knows the service's
        condition) when a call of average size would end within the caller's timeout after the
        backlog ahead of it (queue length over the service rate). It knows the service, not
        the size of each call: one that chose calls by their own service time could serve more
        of them than the servers' capacity, and would be no upper bound."""
        run = self.run
        if run.hang:
            return run.timeout_s
        if run.plan.error_draws[j] < run.error_rate:
            return self._answer_delay_s(run.error_latency_s)
        if self.busy >= self.servers and len(self.queue) >= self.queue_limit:
            return self._answer_delay_s(run.error_latency_s)  # the full queue refuses it at once
        factor = run.capacity_factor
        if self.fragile:
            now = run.env.now
            if now < self.down_until:
                return self._answer_delay_s(run.error_latency_s)  # restarting: it fails fast
            factor *= self._warmth_at(now)
            if self.warming and self.busy >= self.servers:
                return 0.0  # queued work would slow the warm-up: it sheds the call at once
        wait = 0.0
        if self.busy >= self.servers:
            wait = (len(self.queue) + 1) * self.mean_latency_s / (self.servers * factor)
        return None if wait + self.mean_latency_s / factor <= run.timeout_s else run.timeout_s

    def could_serve(self, j: int) -> bool:
        """Whether the rejected attempt ``j`` was a false rejection: the service could really
        have served it. It passes the fail-fast draw, a server would have been free for it at
        once, and its own service time ends within the caller's timeout; the servers count
        the calls actually in service and, as if they had been served, the rejections already
        judged false (each holding a server for its service time). So false rejections never
        exceed what the free servers could have done."""
        run = self.run
        if run.hang or run.plan.error_draws[j] < run.error_rate:
            return False
        now = run.env.now
        factor = run.capacity_factor
        if self.fragile:
            if now < self.down_until:
                return False
            factor *= self._warmth_at(now)
        phantom = self.phantom_ends
        while phantom and phantom[0] <= now:
            heapq.heappop(phantom)
        work = run.plan.latency_draws_s[j] / factor
        if self.busy + len(phantom) >= self.servers or work > run.timeout_s:
            return False
        heapq.heappush(phantom, now + work)
        return True

    def send(self, index: int, attempt: int, j: int, admission: Admission, kind: int) -> None:
        """Attempt ``j`` reaches the service; its answer (or the caller's timeout) comes back
        through ``run.answered`` exactly once."""
        run = self.run
        env = run.env
        record = [index, attempt, admission, kind, False, run.plan.latency_draws_s[j], self.epoch]
        timeout = Timeout(env, run.timeout_s, record)
        timeout.callbacks.append(self._on_timeout)
        if run.hang:
            return  # no answer: the caller's timeout ends it
        if run.plan.error_draws[j] < run.error_rate or (self.fragile and env.now < self.down_until):
            self._answer_later(record, run.error_latency_s, False)
            return
        if self.busy < self.servers:
            self._start(record)
        elif len(self.queue) < self.queue_limit:
            if self.fragile:
                self._warmth_at(env.now)
            self.queue.append(record)
            backlog = self.busy + len(self.queue)
            if backlog > self.backlog_peak:
                self.backlog_peak = backlog
            self._changed(env.now)
        else:
            self._answer_later(record, run.error_latency_s, False)

    def _answer_delay_s(self, delay_s: float) -> float:
        """How long after now an answer ``delay_s`` of service time away arrives (the trace's
        pauses stop the clock of the service)."""
        run = self.run
        if run.has_pauses:
            now = run.env.now
            return run.trace.finish_time(now, delay_s) - now
        return delay_s

    def _answer_later(self, record: list[Any], delay_s: float, ok: bool) -> None:
        event = Timeout(self.run.env, self._answer_delay_s(delay_s), (record, ok))
        event.callbacks.append(self._on_error_answer)

    def _start(self, record: list[Any]) -> None:
        run = self.run
        now = run.env.now
        self.busy += 1
        if self.busy > self.backlog_peak:
            self.backlog_peak = self.busy
        if self.fragile:
            record[EPOCH] = self.epoch
            self.in_service[id(record)] = record
            work = record[WORK] / (run.capacity_factor * self._warmth_at(now))
            self._changed(now)
        else:
            work = record[WORK] / run.capacity_factor
        finish = run.trace.finish_time(now, work) if run.has_pauses else now + work
        event = Timeout(run.env, finish - now, record)
        event.callbacks.append(self._on_served)

    def _on_served(self, event: Event) -> None:
        record: list[Any] = event.value  # type: ignore[assignment]
        if self.fragile:
            if record[EPOCH] != self.epoch:
                return  # lost in a crash (its caller already has an error)
            self._warmth_at(self.run.env.now)
            del self.in_service[id(record)]
        self.busy -= 1
        queue = self.queue
        while queue and self.busy < self.servers:
            waiting = queue.popleft()
            if self.drop_abandoned and waiting[DONE]:
                continue
            self._start(waiting)
        self._changed(self.run.env.now)
        self._deliver(record, True)

    # -- fragility -------------------------------------------------------------------------------

    def _warmth_at(self, now: float) -> float:
        """The share of capacity at ``now``, advanced from the last update (over which the
        service was ``crowded`` or not throughout: every change of it updates first)."""
        if self.warming:
            rate = (1.0 - self.warmup_floor) / self.warmup_s
            if self.crowded:
                rate *= self.warmup_overload_factor
            self.warmth = min(1.0, self.warmth + rate * (now - self.warm_at))
            self.warm_at = now
            if self.warmth >= 1.0:
                self.warming = False
        return self.warmth

    def _changed(self, now: float) -> None:
        """The servers or the queue changed at ``now``: update crowding and the overload clock
        (every service records its overloads; only a fragile one crashes of them)."""
        self.crowded = self.busy >= self.servers and bool(self.queue)
        # Overloaded from the moment the queue is full until it has drained to half (so one
        # call served does not end an overload that the next arrival resumes).
        if self.full_since is None:
            if self.busy >= self.servers and len(self.queue) >= self.queue_limit:
                self.full_since = now
                self.overload_changes.append(now)
                if self.crash_after_s is not None:
                    self.crash_token += 1
                    check = Timeout(self.run.env, self.crash_after_s, self.crash_token)
                    check.callbacks.append(self._on_crash_check)
        elif self.busy < self.servers or len(self.queue) <= self.queue_limit // 2:
            self._overload_ended(now)

    def _overload_ended(self, now: float) -> None:
        self.full_since = None
        self.overload_changes.append(now)
        self.crash_token += 1  # a pending crash check is void

    def _on_crash_check(self, event: Event) -> None:
        if event.value != self.crash_token or self.full_since is None:
            return
        now = self.run.env.now
        self.crash_times.append(now)
        self.epoch += 1
        self.down_until = now + self.restart_s
        self._overload_ended(now)  # the crash ends it: down, the service is offered nothing
        self.warming = False
        lost = [*self.in_service.values(), *self.queue]
        self.in_service.clear()
        self.queue.clear()
        self.busy = 0
        self.crowded = False
        restart = Timeout(self.run.env, self.restart_s, self.epoch)
        restart.callbacks.append(self._on_restart)
        for record in lost:
            self._deliver(record, False)  # the connection is reset: an error at once

    def _on_restart(self, event: Event) -> None:
        if event.value == self.epoch:
            self._cold_start(self.run.env.now)

    def _cold_start(self, now: float) -> None:
        """Capacity starts again from ``warmup_floor`` (full at once without a warm-up)."""
        if self.warmup_s > 0:
            self.warmth, self.warm_at, self.warming = self.warmup_floor, now, True
        else:
            self.warmth, self.warming = 1.0, False

    def outage_ended(self, now: float) -> None:
        """The trace's outage (everything failing or hanging) ended at ``now``: a cold start."""
        if self.warmup_s > 0 and now >= self.down_until:
            self._cold_start(now)

    def _on_error_answer(self, event: Event) -> None:
        record, ok = event.value  # type: ignore[misc]
        self._deliver(record, ok)

    def _on_timeout(self, event: Event) -> None:
        self._deliver(event.value, False)  # type: ignore[arg-type]

    def _deliver(self, record: list[Any], ok: bool) -> None:
        if record[DONE]:
            return  # the caller already has its answer (or gave up)
        record[DONE] = True
        self.run.answered(record[INDEX], record[ATTEMPT], ok, record[ADMISSION], record[KIND])

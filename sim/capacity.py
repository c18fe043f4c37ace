"""The ``capacity`` service: servers and a queue, so latency and errors grow with load.

Each attempt that passes the trace's fail-fast draw joins a FIFO queue in front of
``servers`` servers; its service time is its latency draw divided by the trace's
``capacity_factor`` at the moment it starts (stop-the-world pauses add their overlap). A full
queue answers with an error at once. The caller gives up at its ``call_timeout_s``, but the
service still processes the abandoned attempt (unless ``drop_abandoned``): work nobody waits
for, which is how retries and timeouts keep an overloaded service down (metastability).
"""

from __future__ import annotations

import collections
from typing import Any, Protocol

from simpy import Environment
from simpy.events import Event, Timeout

from breakerlab.model.states import State

from .scenario import Service
from .traces.trace import Trace

__all__ = ["CapacityHost", "CapacityService"]


class _Draws(Protocol):
    @property
    def error_draws(self) -> list[float]: ...

    @property
    def latency_draws_s(self) -> list[float]: ...


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

    def answered(
        self, index: int, attempt: int, ok: bool, generation: int, state: State, acquired_at: float, kind: int
    ) -> None: ...

# Fields of an attempt record (a list, mutated when it is answered).
INDEX, ATTEMPT, GENERATION, STATE, ACQUIRED_AT, KIND, DONE, WORK = range(8)


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

    def would_succeed(self, j: int) -> bool:
        """Whether attempt ``j`` would succeed if sent now: it passes the fail-fast draw and
        its estimated wait (queue length over the service rate) plus its own service time
        end within the caller's timeout. An estimate: the load it would add is ignored."""
        run = self.run
        if run.hang or run.plan.error_draws[j] < run.error_rate:
            return False
        if self.busy >= self.servers and len(self.queue) >= self.queue_limit:
            return False
        factor = run.capacity_factor
        wait = 0.0
        if self.busy >= self.servers:
            wait = (len(self.queue) + 1) * self.mean_latency_s / (self.servers * factor)
        return wait + run.plan.latency_draws_s[j] / factor <= run.timeout_s

    def send(self, index: int, attempt: int, j: int, generation: int, state: State, at: float, kind: int) -> None:
        """Attempt ``j`` reaches the service; its answer (or the caller's timeout) comes back
        through ``run.answered`` exactly once."""
        run = self.run
        env = run.env
        record = [index, attempt, generation, state, at, kind, False, run.plan.latency_draws_s[j]]
        timeout = Timeout(env, run.timeout_s, record)
        timeout.callbacks.append(self._on_timeout)
        if run.hang:
            return  # no answer: the caller's timeout ends it
        if run.plan.error_draws[j] < run.error_rate:
            self._answer_later(record, run.error_latency_s, False)
            return
        if self.busy < self.servers:
            self._start(record)
        elif len(self.queue) < self.queue_limit:
            self.queue.append(record)
            backlog = self.busy + len(self.queue)
            if backlog > self.backlog_peak:
                self.backlog_peak = backlog
        else:
            self._answer_later(record, run.error_latency_s, False)

    def _answer_later(self, record: list[Any], delay_s: float, ok: bool) -> None:
        run = self.run
        now = run.env.now
        if run.has_pauses:
            delay_s = run.trace.finish_time(now, delay_s) - now
        event = Timeout(run.env, delay_s, (record, ok))
        event.callbacks.append(self._on_error_answer)

    def _start(self, record: list[Any]) -> None:
        run = self.run
        now = run.env.now
        self.busy += 1
        if self.busy > self.backlog_peak:
            self.backlog_peak = self.busy
        work = record[WORK] / run.capacity_factor
        finish = run.trace.finish_time(now, work) if run.has_pauses else now + work
        event = Timeout(run.env, finish - now, record)
        event.callbacks.append(self._on_served)

    def _on_served(self, event: Event) -> None:
        record: list[Any] = event.value  # type: ignore[assignment]
        self.busy -= 1
        queue = self.queue
        while queue and self.busy < self.servers:
            waiting = queue.popleft()
            if self.drop_abandoned and waiting[DONE]:
                continue
            self._start(waiting)
        self._deliver(record, True)

    def _on_error_answer(self, event: Event) -> None:
        record, ok = event.value  # type: ignore[misc]
        self._deliver(record, ok)

    def _on_timeout(self, event: Event) -> None:
        self._deliver(event.value, False)  # type: ignore[arg-type]

    def _deliver(self, record: list[Any], ok: bool) -> None:
        if record[DONE]:
            return  # the caller already has its answer (or gave up)
        record[DONE] = True
        self.run.answered(record[INDEX], record[ATTEMPT], ok, record[GENERATION], record[STATE], record[ACQUIRED_AT], record[KIND])

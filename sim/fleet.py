"""A fleet of callers: instances, each with its own worker pool, and the breakers they ask.

A ``Workload`` with ``instances`` N is N callers sharing the offered load (spread by the load
balancer, ``assign_instances``) and one service. Each ``Caller`` has its own pool, retry
budget and retry breaker; each asks the breaker of its ``BreakerSlot``: its own
(``breaker_scope="instance"``) or the fleet's one (``"shared"``). With one instance the fleet
is the single caller it generalises, number for number.
"""

from __future__ import annotations

import collections

from breakerlab.model.breaker import Breaker
from breakerlab.model.states import State

from .retries import RetryBreaker
from .scenario import Balancer, Workload
from .streams import stream

__all__ = ["BreakerSlot", "Caller", "assign_instances"]


def assign_instances(workload: Workload, requests: int, seed: int) -> list[int]:
    """The instance of each request (``[]`` for a single instance: every request is its)."""
    n = workload.instances
    if n == 1:
        return []
    if workload.balancer is Balancer.ROUND_ROBIN:
        return [i % n for i in range(requests)]
    return stream(seed, "balancer").integers(0, n, size=requests).tolist()  # type: ignore[no-any-return]


class BreakerSlot:
    """One breaker as the fleet uses it: the breaker, its state changes, the instances that ask
    it, and (for a breaker that holds a lock across each call) its lock."""

    __slots__ = ("index", "breaker", "instances", "change_times_s", "change_states", "lock_held", "lock_queue")

    def __init__(self, index: int, breaker: Breaker, instances: int) -> None:
        self.index = index
        self.breaker = breaker
        self.instances = instances
        # Its states over time, as two parallel lists (appending a float and a state allocates
        # no object the garbage collector tracks; a fleet changes state thousands of times).
        self.change_times_s: list[float] = [0.0]
        self.change_states: list[State] = [breaker.state]
        self.lock_held = False
        self.lock_queue: collections.deque[tuple[int, int]] = collections.deque()

    def record(self, time_s: float, state: State) -> None:
        """The breaker entered ``state`` at ``time_s``."""
        self.change_times_s.append(time_s)
        self.change_states.append(state)

    def changes(self) -> list[tuple[float, State]]:
        """``(time_s, state)`` of each state entered, from ``(0.0, initial)`` on, in order."""
        return list(zip(self.change_times_s, self.change_states))


class Caller:
    """One instance of the fleet: its busy workers, its queue of attempts waiting for one, its
    retry budget's tokens and retry breaker, and the slot of the breaker it asks (``None`` for
    the baselines)."""

    __slots__ = ("index", "busy", "queue", "tokens", "retry_breaker", "slot", "breaker")

    def __init__(self, index: int, workload: Workload, slot: BreakerSlot | None) -> None:
        retry = workload.retry
        self.index = index
        self.busy = 0
        self.queue: collections.deque[tuple[int, int]] = collections.deque()
        self.tokens = retry.budget_burst
        threshold = retry.breaker_threshold
        self.retry_breaker = None if threshold is None else RetryBreaker(threshold, retry.breaker_window)
        self.slot = slot
        self.breaker = None if slot is None else slot.breaker

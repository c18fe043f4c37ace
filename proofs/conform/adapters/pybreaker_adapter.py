"""Adapter for pybreaker (danielfm): synchronous, with one re-entrant lock held across every protected call."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from types import TracebackType

from .base import AdapterError, LibraryConfig, normalise_state
from .threads import SyncSession, ThreadedAdapter

__all__ = ["FifoRLock", "PybreakerAdapter"]

_STATES = {"closed": "closed", "open": "open", "half-open": "half_open"}


class FifoRLock:
    """A re-entrant lock that hands itself to waiting threads in arrival order.

    pybreaker serialises calls with a ``threading.RLock``, which wakes waiters in no defined
    order, so which blocked caller runs next would vary between runs. The adapter swaps in
    this lock: the same blocking and re-entrancy, with a deterministic (first come, first
    served) hand-over. Only ``acquire()``/``release()`` and the ``with`` form are supported.

    ``parked`` is the set of threads waiting for the lock while another holds it (an
    immutable snapshot, replaced whole, so other threads read it without the lock);
    ``on_park()`` is called each time a thread starts waiting.
    """

    def __init__(self, on_park: Callable[[], None] | None = None) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._queue: collections.deque[int] = collections.deque()
        self._on_park = on_park
        self.parked: frozenset[int] = frozenset()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock (re-entrantly); waiting threads get it in the order they asked.

        Raises:
            AdapterError: if called with a timeout (pybreaker never does).
        """
        if timeout != -1:
            raise AdapterError("FifoRLock.acquire does not support timeouts")
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._queue:
                self._owner, self._depth = me, 1
                return True
            if not blocking:
                return False
            self._queue.append(me)
            self._park()
            if self._on_park is not None:
                self._on_park()
            self._cond.wait_for(lambda: self._owner is None and self._queue[0] == me)
            self._queue.popleft()
            self._owner, self._depth = me, 1
            self._park()
            return True

    def release(self) -> None:
        """Release one level; the last release hands the lock to the longest waiter.

        Raises:
            RuntimeError: if the calling thread does not hold the lock.
        """
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release un-acquired lock")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._park()
                self._cond.notify_all()

    def _park(self) -> None:
        # Waiters are parked only while another thread holds the lock: between a release and
        # the hand-over the next one is about to run.
        self.parked = frozenset(self._queue) if self._owner is not None else frozenset()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class _Session:
    def __init__(self, config: LibraryConfig, notify: Callable[[], None]) -> None:
        import pybreaker

        # Library defaults for everything else: success_threshold=1, throw_new_error_on_trip=True.
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=config.fail_max, reset_timeout=config.reset_timeout_s, exclude=list(config.excluded)
        )
        self._lock = FifoRLock(notify)
        setattr(self._breaker, "_lock", self._lock)  # noqa: B010  (deterministic hand-over; see FifoRLock)

    def call(self, fn: Callable[[], None]) -> object:
        return self._breaker.call(fn)

    def state(self) -> str:
        # current_state reads the storage without taking the lock, so it never blocks.
        return normalise_state(self._breaker.current_state, _STATES)

    def parked(self) -> frozenset[int]:
        # The lock is the only place pybreaker makes a caller wait.
        return self._lock.parked


class PybreakerAdapter(ThreadedAdapter):
    """pybreaker through ``CircuitBreaker.call`` (``fail_max``, ``reset_timeout``, ``exclude``).

    Clock: ``datetime.now(UTC)``, frozen by time-machine. Calls run in worker threads;
    pybreaker's RLock is replaced by ``FifoRLock`` so blocked callers resume in arrival order.
    """

    name = "pybreaker"
    distribution = "pybreaker"

    def _session(self, config: LibraryConfig, notify: Callable[[], None]) -> SyncSession:
        return _Session(config, notify)

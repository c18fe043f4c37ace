"""Driving a synchronous breaker library: every call runs in its own worker thread, so calls overlap and can block."""

from __future__ import annotations

import abc
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from ..script import raise_outcome
from .base import AdapterError, Backend, Flight, LibraryConfig, caller_result
from .library import InProcessAdapter

__all__ = ["SyncSession", "ThreadBackend", "ThreadedAdapter"]

#: Real seconds a worker thread may take to start.
_START_LIMIT_S = 5.0
#: Real seconds each worker thread may take to exit once the run has released every call.
_JOIN_LIMIT_S = 5.0
#: Real seconds an in-flight call waits for ``Finish`` before giving up (a safety net: the
#: runner always releases every call before the run ends).
_FLIGHT_LIMIT_S = 30.0
#: Real seconds the end of a run waits for calls the library still holds.
_DRAIN_LIMIT_S = 5.0


class SyncSession(Protocol):
    """One fresh breaker of a synchronous library, as a run sees it."""

    def call(self, fn: Callable[[], None]) -> object:
        """Call ``fn`` through the breaker the way the library's users do; return or raise what they get."""
        ...

    def state(self) -> str:
        """The reported state, normalised to ``closed``/``open``/``half_open``."""
        ...

    def parked(self) -> frozenset[int]:
        """Idents of the threads waiting inside the library (for its lock) right now.

        A session that knows every place its library can make a caller wait reports them
        here, so the backend decides exactly, not by a real-time guess, that a call is
        blocked. Read from the runner's thread without a lock: an immutable snapshot.
        """
        ...


class ThreadBackend(Backend):
    """Runs each call in a daemon worker thread; the protected function waits on a ``threading.Event``.

    Waiting ends as soon as the calls are *quiescent*: every unfinished call is either inside
    the protected function waiting for its ``Finish`` or parked in the library
    (``SyncSession.parked``). Nothing can progress then until the runner acts, so a call not
    yet in is *blocked*, however loaded the machine. ``block_wait_s`` (real seconds) bounds
    each wait only as a safety net.
    """

    def __init__(self, session: SyncSession, block_wait_s: float, cond: threading.Condition | None = None) -> None:
        self._session = session
        self._block_wait_s = block_wait_s
        self._cond = cond if cond is not None else threading.Condition()
        self.expired_waits = 0
        """Waits that ended by the safety net rather than by their predicate or quiescence."""
        self._idents: dict[int, int | None] = {}
        self._order = itertools.count(1)
        self._flights: dict[int, Flight] = {}
        self._releases: dict[int, threading.Event] = {}
        self._threads: list[threading.Thread] = []

    def _mark(self, flight: Flight, *, result: str | None = None) -> None:
        with self._cond:
            if result is None:
                flight.entered = True
            else:
                flight.result = result
                flight.done = True
            flight.changed = next(self._order)
            self._cond.notify_all()

    def _work(self, flight: Flight, release: threading.Event, started: threading.Event) -> None:
        def protected() -> None:
            self._mark(flight)
            if not release.wait(_FLIGHT_LIMIT_S):
                raise AdapterError(f"call {flight.call_id} was never finished")
            raise_outcome(flight.outcome or "success")

        started.set()
        try:
            self._session.call(protected)
        except BaseException as exc:  # the caller's view: whatever reached it
            result = caller_result(flight.entered, exc)
        else:
            result = caller_result(flight.entered, None)
        self._mark(flight, result=result)

    def start(self, flight: Flight) -> None:
        """Start the call's worker thread and wait (real time) until it is about to call the breaker."""
        release = threading.Event()
        if flight.armed:
            release.set()
        started = threading.Event()
        self._flights[flight.call_id] = flight
        self._releases[flight.call_id] = release
        thread = threading.Thread(
            target=self._work, args=(flight, release, started), name=f"conform-call-{flight.call_id}", daemon=True
        )
        self._threads.append(thread)
        thread.start()
        self._idents[flight.call_id] = thread.ident
        if not started.wait(_START_LIMIT_S):
            raise AdapterError(f"the worker thread of call {flight.call_id} did not start")

    def release(self, flight: Flight) -> None:
        """Set the call's event: it completes as soon as it is (or gets) inside the protected function."""
        self._releases[flight.call_id].set()

    def wait_for(self, predicate: Callable[[], bool], long: bool = False) -> bool:
        """Wait on the shared condition until ``predicate()`` holds or the calls are quiescent,
        at most ``block_wait_s`` (or the drain limit if ``long``); return ``predicate()``."""
        limit_s = _DRAIN_LIMIT_S if long else self._block_wait_s
        with self._cond:
            if not self._cond.wait_for(lambda: predicate() or self._quiescent(), limit_s):
                self.expired_waits += 1
            return predicate()

    def _quiescent(self) -> bool:
        parked = self._session.parked()
        for call_id, flight in self._flights.items():
            if flight.done or (flight.entered and not flight.armed):
                continue
            if flight.entered or self._idents.get(call_id) not in parked:
                return False
        return True

    def locked(self) -> contextlib.AbstractContextManager[object]:
        """The condition's lock: workers mark progress only while holding it."""
        return self._cond

    def read_state(self) -> str:
        """The session's normalised state (read in the runner's thread)."""
        return self._session.state()

    def close(self) -> None:
        """Release every call (unarmed ones with ``success``) and join all worker threads."""
        for call_id, flight in self._flights.items():
            if flight.outcome is None:
                flight.outcome = "success"
            self._releases[call_id].set()
        for thread in self._threads:
            thread.join(_JOIN_LIMIT_S)
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive:
            raise AdapterError(f"worker threads still running after the run: {', '.join(alive)}")


class ThreadedAdapter(InProcessAdapter):
    """An adapter for a synchronous library: subclasses build a ``SyncSession`` per run.

    Args:
        block_wait_s: The safety net: real seconds after which a wait ends even though the
            calls are neither where the runner waits for them nor quiescent (> 0; 5 by
            default). Blocked calls are decided by quiescence, so this bound is reached only
            when a session does not report a place where its library makes callers wait.

    Attributes:
        expired_waits: Waits, over every run so far, that ended by ``block_wait_s`` (0 when
            the session reports every place its library can block).
    """

    def __init__(self, *, block_wait_s: float = 5.0) -> None:
        super().__init__()
        if not block_wait_s > 0:
            raise AdapterError(f"'block_wait_s' must be > 0 (got {block_wait_s!r})")
        self.block_wait_s = block_wait_s
        self.expired_waits = 0

    @abc.abstractmethod
    def _session(self, config: LibraryConfig, notify: Callable[[], None]) -> SyncSession:
        """A fresh breaker configured from ``config`` (called with time frozen and ``_time_patches``
        active). The session calls ``notify()`` whenever a thread starts waiting in the library."""

    def _time_patches(self) -> contextlib.AbstractContextManager[object]:
        """Extra clock patches the library needs beyond time-machine (none by default)."""
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def _open(self, config: LibraryConfig) -> Iterator[Backend]:
        with self._time_patches():
            cond = threading.Condition()

            def notify() -> None:
                with cond:
                    cond.notify_all()

            backend = ThreadBackend(self._session(config, notify), self.block_wait_s, cond)
            try:
                yield backend
            finally:
                self.expired_waits += backend.expired_waits
                backend.close()

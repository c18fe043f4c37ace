"""Driving an asyncio breaker library: every call is a task in one event loop that the adapter owns and steps."""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Protocol

from ..script import Observation, Step, raise_outcome
from .base import AdapterError, Backend, Flight, LibraryConfig, caller_result
from .library import InProcessAdapter

__all__ = ["AsyncSession", "AsyncioAdapter", "TaskBackend"]

#: Loop iterations the end of a run allows for calls the library still holds.
_DRAIN_SPINS = 10_000


class AsyncSession(Protocol):
    """One fresh breaker of an asyncio library, as a run sees it."""

    async def call(self, fn: Callable[[], Awaitable[None]]) -> object:
        """Await ``fn`` through the breaker the way the library's users do; return or raise what they get."""
        ...

    def state(self) -> str:
        """The reported state, normalised to ``closed``/``open``/``half_open``."""
        ...


class TaskBackend(Backend):
    """Runs each call as a task; the protected coroutine awaits an ``asyncio.Event``.

    The loop only runs inside ``wait_for``, one iteration (``asyncio.sleep(0)``) at a time,
    so scheduling is deterministic and no real time passes. A call is *blocked* when it
    neither enters nor returns within ``spins`` iterations.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, session: AsyncSession, spins: int) -> None:
        self._loop = loop
        self._session = session
        self._spins = spins
        self._order = itertools.count(1)
        self._flights: dict[int, Flight] = {}
        self._releases: dict[int, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def _mark(self, flight: Flight, *, result: str | None = None) -> None:
        if result is None:
            flight.entered = True
        else:
            flight.result = result
            flight.done = True
        flight.changed = next(self._order)

    async def _work(self, flight: Flight, release: asyncio.Event) -> None:
        async def protected() -> None:
            self._mark(flight)
            await release.wait()
            raise_outcome(flight.outcome or "success")

        try:
            await self._session.call(protected)
        except BaseException as exc:  # the caller's view, including CancelledError and Abort
            result = caller_result(flight.entered, exc)
        else:
            result = caller_result(flight.entered, None)
        self._mark(flight, result=result)

    def start(self, flight: Flight) -> None:
        """Create the call's task; it first runs inside the next ``wait_for``."""
        release = asyncio.Event()
        if flight.armed:
            release.set()
        self._flights[flight.call_id] = flight
        self._releases[flight.call_id] = release
        self._tasks.append(self._loop.create_task(self._work(flight, release), name=f"conform-call-{flight.call_id}"))

    def release(self, flight: Flight) -> None:
        """Set the call's event: it completes at its next loop iteration inside the protected function."""
        self._releases[flight.call_id].set()

    def wait_for(self, predicate: Callable[[], bool], long: bool = False) -> bool:
        """Step the loop until ``predicate()`` holds, at most ``spins`` iterations (more if ``long``)."""

        async def spin() -> bool:
            for _ in range(_DRAIN_SPINS if long else self._spins):
                if predicate():
                    return True
                await asyncio.sleep(0)
            return predicate()

        return self._loop.run_until_complete(spin())

    def locked(self) -> contextlib.AbstractContextManager[object]:
        """Nothing to lock: tasks only run inside ``wait_for``."""
        return contextlib.nullcontext()

    def read_state(self) -> str:
        """The session's normalised state (the loop is not running)."""
        return self._session.state()

    async def _settled(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        """Release every call, cancel any task still pending, and close the loop."""
        try:
            for call_id, flight in self._flights.items():
                if flight.outcome is None:
                    flight.outcome = "success"
                self._releases[call_id].set()
            self.wait_for(lambda: all(task.done() for task in self._tasks), long=True)
            stuck = [task.get_name() for task in self._tasks if not task.done()]
            for task in self._tasks:
                task.cancel()
            self._loop.run_until_complete(self._settled())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()
        if stuck:
            raise AdapterError(f"tasks still pending after the run (cancelled): {', '.join(stuck)}")


class AsyncioAdapter(InProcessAdapter):
    """An adapter for an asyncio library: subclasses build an ``AsyncSession`` per run, in the run's loop.

    Args:
        spins: Loop iterations after which a call that has neither entered nor returned is
            recorded as ``blocked`` (>= 1; 100 by default).
    """

    def __init__(self, *, spins: int = 100) -> None:
        super().__init__()
        if not spins >= 1:
            raise AdapterError(f"'spins' must be >= 1 (got {spins!r})")
        self.spins = spins

    def run(self, script: Sequence[Step]) -> tuple[Observation, ...]:
        """Run ``script`` (see ``LibraryAdapter.run``); from a thread whose event loop is running
        (a Jupyter kernel, an ``async def``), in a worker thread, since asyncio forbids a second
        loop there."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return super().run(script)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="conform-loop") as pool:
            return pool.submit(super().run, script).result()

    @abc.abstractmethod
    async def _session(self, config: LibraryConfig) -> AsyncSession:
        """A fresh breaker configured from ``config`` (awaited in the run's loop, with time frozen)."""

    @contextlib.contextmanager
    def _open(self, config: LibraryConfig) -> Iterator[Backend]:
        loop = asyncio.new_event_loop()
        try:
            session = loop.run_until_complete(self._session(config))
        except BaseException:
            loop.close()
            raise
        backend = TaskBackend(loop, session, self.spins)
        try:
            yield backend
        finally:
            backend.close()

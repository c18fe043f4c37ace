"""Where a sweep's tasks run: in this process, on local worker processes, or on a Dask
cluster; local workers end when the sweep's process does, however it ends (``kill -9``
included), and a scheduler's address is checked, with a bounded wait, before anything runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ..errors import InvalidConfigError

__all__ = ["CONNECT_TIMEOUT_S", "MAX_JOBS_PER_CORE", "MIN_JOBS_LIMIT", "Pool", "check_jobs"]

#: How long a sweep waits for a Dask scheduler to answer (``run_sweep``'s ``connect_timeout_s``).
CONNECT_TIMEOUT_S = 10.0

_T = TypeVar("_T")
_R = TypeVar("_R")


#: Local worker processes allowed per core, and the limit on any machine.
MAX_JOBS_PER_CORE = 8
MIN_JOBS_LIMIT = 16


def check_jobs(jobs: int | None, scheduler: str | None, field: str = "jobs") -> None:
    """Raise ``InvalidConfigError`` (naming ``field``) unless ``jobs`` is None or a count of
    local processes this machine can run: at least 1, and at most ``MAX_JOBS_PER_CORE`` per
    core (``MIN_JOBS_LIMIT`` on any machine). With a ``scheduler`` the cluster runs the tasks,
    and no local limit applies."""
    if jobs is None or scheduler:
        return
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InvalidConfigError(field, "an int >= 1", jobs)
    cores = os.cpu_count() or 1
    limit = max(MAX_JOBS_PER_CORE * cores, MIN_JOBS_LIMIT)
    if jobs > limit:
        raise InvalidConfigError(
            field, f"at most {limit} on this machine's {cores} core(s)", jobs,
            "each worker is a process with its own memory, and more of them than cores only take turns on the "
            "cores; leave it out for one per core, or run on a cluster with a Dask scheduler",
        )


class Pool:
    """Runs batches of tasks serially, on local processes or on a Dask cluster, keeping the
    workers from one batch to the next (an adaptive sweep runs many small batches).

    Args:
        jobs: Local worker processes (None: every core; 1 runs in this process); see
            ``check_jobs`` for the limits.
        scheduler: A Dask scheduler's address, which overrides ``jobs``.
        connect_timeout_s: How long to wait for the scheduler to answer.
    """

    def __init__(self, jobs: int | None, scheduler: str | None, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        check_jobs(jobs, scheduler)
        self.jobs = jobs or os.cpu_count() or 1
        self.scheduler = scheduler
        self.connect_timeout_s = connect_timeout_s
        self.executor: concurrent.futures.ProcessPoolExecutor | None = None
        self.client: Any = None

    def connect(self) -> None:
        """Connect to the Dask scheduler, if there is one (before anything is written, so a
        wrong address leaves no folder behind)."""
        if not self.scheduler or self.client is not None:
            return
        try:
            from distributed import Client
            from distributed.comm.addressing import parse_address, parse_host_port
        except ImportError:  # pragma: no cover - depends on the installation
            raise InvalidConfigError(
                "--scheduler", "usable with Dask installed", self.scheduler, "pip install 'breakerlab[dask]'"
            ) from None
        address = self.scheduler
        try:
            scheme, location = parse_address(address)
            host, port = parse_host_port(location) if scheme in ("tcp", "tls") else (None, None)
        except ValueError as exc:
            raise InvalidConfigError(
                "--scheduler", "a Dask scheduler's address (tcp://HOST:PORT)", address, str(exc)
            ) from None
        waited = f"nothing answered there within {self.connect_timeout_s:g} s"
        if host is not None:  # a refused connection is known at once: say so without Dask's retries
            try:
                socket.create_connection((host, port), timeout=self.connect_timeout_s).close()
            except TimeoutError:
                raise self._unreachable(waited) from None
            except ConnectionRefusedError:
                raise self._unreachable("the connection was refused: no scheduler listens there") from None
            except OSError as exc:
                raise self._unreachable(f"it cannot be reached: {exc.strerror or exc}") from None
        try:  # Dask's own handshake, bounded: Client waits forever on a server that accepts but never answers
            with concurrent.futures.ThreadPoolExecutor(1) as thread:  # its own loop, even under a running one
                thread.submit(asyncio.run, _handshake(address, self.connect_timeout_s)).result()
            self.client = Client(address, timeout=self.connect_timeout_s)  # type: ignore[no-untyped-call]
        except ValueError as exc:
            raise InvalidConfigError(
                "--scheduler", "a Dask scheduler's address (tcp://HOST:PORT)", address, str(exc)
            ) from None
        except (TimeoutError, OSError):
            raise self._unreachable(f"{waited} as a Dask scheduler") from None

    def _unreachable(self, why: str) -> InvalidConfigError:
        return InvalidConfigError(
            "--scheduler", "the address of a running Dask scheduler", self.scheduler,
            f"{why}; start one (dask scheduler) or correct the address",
        )

    def run(self, function: Callable[[_T], _R], tasks: Sequence[_T]) -> Iterator[_R]:
        """``function(task)`` of every task, in the order they finish (``function`` and the
        tasks must pickle, for worker processes and Dask)."""
        if not tasks:
            return iter(())
        if self.scheduler:
            return self._dask(function, tasks)
        if self.jobs > 1 and (len(tasks) > 1 or self.executor is not None):
            return self._local(function, tasks)
        return (function(task) for task in tasks)

    def _local(self, function: Callable[[_T], _R], tasks: Sequence[_T]) -> Iterator[_R]:
        if self.executor is None:
            # spawn, not fork: a forked child would inherit the parent's threads' locks (and its
            # progress bar's monitor thread); scripts calling run_sweep need the
            # `if __name__ == "__main__":` guard.
            context = multiprocessing.get_context("spawn")
            self.executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=min(self.jobs, len(tasks)), mp_context=context, initializer=_start_worker
            )
        # Workers start with Ctrl-C blocked (the mask survives exec), so an interrupt that
        # arrives while one is still starting cannot kill it mid-import; the parent handles it.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            futures = [self.executor.submit(function, task) for task in tasks]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        try:
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def _dask(self, function: Callable[[_T], _R], tasks: Sequence[_T]) -> Iterator[_R]:
        self.connect()
        from distributed import as_completed

        futures = self.client.map(function, tasks, pure=False)
        try:
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        """Stop the local workers (after their tasks) and disconnect from the scheduler."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self.client is not None:
            self.client.close()


async def _handshake(address: str, timeout_s: float) -> None:
    """Open and close a Dask connection to ``address``, within ``timeout_s`` in all."""
    from distributed.comm.core import connect

    comm = await asyncio.wait_for(connect(address, timeout=timeout_s), timeout_s)  # type: ignore[no-untyped-call]
    await comm.close()


def _start_worker() -> None:
    """A local worker's initializer: leave Ctrl-C to the parent (which stops the workers after
    saving what has finished), and exit when the parent dies.

    A worker idles on a pipe read that the parent's death does not end (its siblings hold the
    pipe too), so a thread waits on the parent's sentinel, the end of a pipe only the parent
    holds: it becomes readable when the parent exits, however it exits (``kill -9`` included).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


def _exit_with(sentinel: int) -> None:
    """Wait until the parent process is gone, then end this worker at once (whatever it is doing)."""
    multiprocessing.connection.wait([sentinel])
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))

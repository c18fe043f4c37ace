"""Running a sweep: every (cell, replication) as an independent task, serially, on local
processes, or on a Dask cluster, with the results saved as each task finishes.

A task is a pure function of its scenario and seed, so the three ways of running give the
same rows; the tables are assembled in canonical order afterwards (``SweepStore.assemble``).
Baselines do not depend on the breaker's settings, so they run once per world and replication.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import pathlib
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..result import BREAKER
from ..scenario import Scenario
from ..simulate import simulate
from .spec import Cell, SweepSpec, breaker_side
from .store import SweepStore, flatten, run_name

__all__ = ["SweepOutcome", "Task", "execute_task", "plan_tasks", "run_sweep"]


@dataclasses.dataclass(frozen=True)
class Task:
    """One simulation of a sweep.

    Attributes:
        name: The run file it produces (``c00012-r003.json`` or ``w0002-r003.json``).
        scenario: What to simulate.
        seed: Its seed.
        baselines_only: Simulate the baselines (once per world) instead of the breaker.
        keep_series: Keep the time series (replication 0 of each cell: the timelines).
        labels: The columns that identify the run in the tables (cell, world, trace, replication,
            seed and every option the cell sets).
    """

    name: str
    scenario: Scenario
    seed: int
    baselines_only: bool
    keep_series: bool
    labels: dict[str, Any]


def execute_task(task: Task) -> tuple[str, dict[str, Any]]:
    """Run ``task``; returns its file name and content (picklable, for any executor)."""
    result = simulate(task.scenario, task.seed, baselines=task.baselines_only, breaker=not task.baselines_only)
    if task.baselines_only:
        rows = [{**task.labels, "policy": name, **flatten(run.metrics.as_dict())} for name, run in result.runs.items()]
        return task.name, {"rows": rows}
    payload: dict[str, Any] = {"row": {**task.labels, **flatten(result.metrics.as_dict())}}
    if task.keep_series:
        payload["series"] = result.runs[BREAKER].series.as_dict()
    return task.name, payload


def _labels(cell: Cell, replication: int, seed: int, *, breaker: bool) -> dict[str, Any]:
    labels: dict[str, Any] = {"cell": cell.index} if breaker else {}
    labels.update({"world": cell.world, "trace": cell.trace, "replication": replication, "seed": seed})
    labels.update({k: v for k, v in sorted(cell.values.items()) if breaker or not breaker_side(k)})
    if breaker:  # the two main knobs always, as the breaker ran them (e.g. from a preset)
        config = cell.scenario.breaker
        labels.setdefault("breaker.fail_max", config.fail_max)
        labels.setdefault("breaker.reset_timeout", config.reset_timeout)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in labels.items()}


def plan_tasks(spec: SweepSpec) -> list[Task]:
    """Every task of the sweep, in canonical order."""
    tasks = []
    cells = spec.cells()
    for cell in cells:
        for replication in range(spec.replications):
            seed = spec.run_seed(cell, replication)
            labels = _labels(cell, replication, seed, breaker=True)
            tasks.append(Task(run_name("c", cell.index, replication), cell.scenario, seed, False, replication == 0, labels))
    if spec.baselines:
        first_of_world: dict[int, Cell] = {}
        for cell in cells:
            first_of_world.setdefault(cell.world, cell)
        for world, cell in sorted(first_of_world.items()):
            for replication in range(spec.replications):
                seed = spec.run_seed(cell, replication)
                labels = _labels(cell, replication, seed, breaker=False)
                tasks.append(Task(run_name("w", world, replication), cell.scenario, seed, True, False, labels))
    return tasks


@dataclasses.dataclass(frozen=True)
class SweepOutcome:
    """What ``run_sweep`` did."""

    folder: pathlib.Path
    tasks: int
    computed: int
    reused: int
    tables: dict[str, pathlib.Path]


def _serial(tasks: Iterable[Task]) -> Iterator[tuple[str, dict[str, Any]]]:
    for task in tasks:
        yield execute_task(task)


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops them after saving what has finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _local(tasks: list[Task], jobs: int) -> Iterator[tuple[str, dict[str, Any]]]:
    # spawn, not fork: a forked child would inherit the parent's threads' locks (and its progress
    # bar's monitor thread); scripts calling run_sweep need the `if __name__ == "__main__":` guard.
    context = multiprocessing.get_context("spawn")
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(jobs, len(tasks)), mp_context=context, initializer=_ignore_interrupts
    )
    try:
        # Workers start with Ctrl-C blocked (the mask survives exec), so an interrupt that
        # arrives while one is still starting cannot kill it mid-import; the parent handles it.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            futures = [executor.submit(execute_task, task) for task in tasks]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _dask(tasks: list[Task], scheduler: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the installation
        from ..errors import InvalidConfigError

        raise InvalidConfigError(
            "--scheduler", "usable with Dask installed", scheduler, "pip install 'breakerlab[dask]'"
        ) from None
    with Client(scheduler) as client:  # type: ignore[no-untyped-call]
        futures = client.map(execute_task, tasks, pure=False)
        try:
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
        finally:
            client.cancel(futures)


def run_sweep(
    spec: SweepSpec,
    folder: str | os.PathLike[str],
    *,
    resume: bool = False,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> SweepOutcome:
    """Run ``spec`` into ``folder`` and assemble its tables.

    Args:
        spec: The sweep.
        folder: The output folder (created; with ``resume``, the folder of an earlier run of
            the same spec, whose finished runs are kept).
        resume: Finish the sweep in ``folder`` instead of starting one.
        jobs: Local worker processes (default: every core; 1 runs in this process).
        scheduler: A Dask scheduler address (``tcp://host:8786``); overrides ``jobs``.
        progress: Called as ``progress(done, total)`` after each finished task.

    Raises:
        InvalidConfigError: ``folder`` already holds a sweep (without ``resume``), or holds a
            different sweep (with it).
    """
    store = SweepStore(folder)
    if resume:
        found = store.load_spec()
        if found != spec:
            from ..errors import InvalidConfigError

            raise InvalidConfigError(
                "--resume", "used with the sweep the folder holds", str(folder),
                "run it without --config (the folder's sweep.json is used), or choose another --out",
            )
    else:
        store.create(spec)
    tasks = plan_tasks(spec)
    done = store.finished()
    todo = [task for task in tasks if task.name not in done]
    reused = len(tasks) - len(todo)
    if progress is not None:
        progress(reused, len(tasks))
    if scheduler:
        results = _dask(todo, scheduler)
    elif (jobs or os.cpu_count() or 1) > 1 and len(todo) > 1:
        results = _local(todo, jobs or os.cpu_count() or 1)
    else:
        results = _serial(todo)
    finished = reused
    for name, payload in results:
        store.save_run(name, payload)
        finished += 1
        if progress is not None:
            progress(finished, len(tasks))
    tables = store.assemble(spec)
    return SweepOutcome(pathlib.Path(folder), len(tasks), len(todo), reused, tables)

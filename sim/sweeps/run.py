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
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..result import BREAKER
from ..scenario import Scenario
from ..simulate import simulate
from .selection import PROCEDURE, Screening, problems
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
    """Every task of a sweep with fixed replications, in canonical order (for an adaptive
    sweep, its first stage: the rest depends on the results)."""
    cells = spec.cells()
    tasks = [_task(spec, cell, replication) for cell in cells for replication in range(spec.replications)]
    return tasks + _baseline_tasks(spec, cells, spec.replications)


@dataclasses.dataclass(frozen=True)
class SweepOutcome:
    """What ``run_sweep`` did."""

    folder: pathlib.Path
    tasks: int
    computed: int
    reused: int
    tables: dict[str, pathlib.Path]


class _Pool:
    """Runs batches of tasks serially, on local processes or on a Dask cluster, keeping the
    workers from one batch to the next (an adaptive sweep runs many small batches)."""

    def __init__(self, jobs: int | None, scheduler: str | None) -> None:
        self.jobs = jobs or os.cpu_count() or 1
        self.scheduler = scheduler
        self.executor: concurrent.futures.ProcessPoolExecutor | None = None
        self.client: Any = None

    def run(self, tasks: list[Task]) -> Iterator[tuple[str, dict[str, Any]]]:
        if not tasks:
            return iter(())
        if self.scheduler:
            return self._dask(tasks)
        if self.jobs > 1 and (len(tasks) > 1 or self.executor is not None):
            return self._local(tasks)
        return (execute_task(task) for task in tasks)

    def _local(self, tasks: list[Task]) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.executor is None:
            # spawn, not fork: a forked child would inherit the parent's threads' locks (and its
            # progress bar's monitor thread); scripts calling run_sweep need the
            # `if __name__ == "__main__":` guard.
            context = multiprocessing.get_context("spawn")
            self.executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=min(self.jobs, len(tasks)), mp_context=context, initializer=_ignore_interrupts
            )
        # Workers start with Ctrl-C blocked (the mask survives exec), so an interrupt that
        # arrives while one is still starting cannot kill it mid-import; the parent handles it.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            futures = [self.executor.submit(execute_task, task) for task in tasks]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        try:
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def _dask(self, tasks: list[Task]) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.client is None:
            try:
                from distributed import Client
            except ImportError:  # pragma: no cover - depends on the installation
                from ..errors import InvalidConfigError

                raise InvalidConfigError(
                    "--scheduler", "usable with Dask installed", self.scheduler, "pip install 'breakerlab[dask]'"
                ) from None
            self.client = Client(self.scheduler)  # type: ignore[no-untyped-call]
        from distributed import as_completed

        futures = self.client.map(execute_task, tasks, pure=False)
        try:
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self.client is not None:
            self.client.close()


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops them after saving what has finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Execution:
    """Runs tasks through a pool, skipping those already saved, and saves each as it finishes."""

    def __init__(self, store: SweepStore, pool: _Pool, progress: Callable[[int, int], Any] | None) -> None:
        self.store = store
        self.pool = pool
        self.progress = progress
        self.done = store.finished()
        self.planned = 0
        self.finished = 0
        self.computed = 0

    def run(self, tasks: list[Task]) -> list[dict[str, Any]]:
        """Run (or reuse) ``tasks``; returns their payloads in the tasks' order."""
        todo = [task for task in tasks if task.name not in self.done]
        self.planned += len(tasks)
        self.finished += len(tasks) - len(todo)
        self._report()
        payloads: dict[str, dict[str, Any]] = {}
        for name, payload in self.pool.run(todo):
            self.store.save_run(name, payload)
            self.done.add(name)
            payloads[name] = payload
            self.finished += 1
            self.computed += 1
            self._report()
        return [payloads[task.name] if task.name in payloads else self.store.read_run(task.name) for task in tasks]

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.finished, self.planned)


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

    With adaptive replications (``spec.adaptive``) the first stage runs every cell
    ``spec.replications`` times; then Kim and Nelson's procedure (``selection``) adds one
    replication at a time to the settings that can still be the best, for each trace family and
    overall, until one is left, ``spec.max_replications`` is reached or ``spec.max_runs`` would
    be exceeded. It ranks by ``spec.objective`` (or ``recommend.DEFAULT_OBJECTIVE``). Every
    decision is a function of the saved runs, so a resumed sweep retraces it, and its outcome is
    written to ``selection.json``.

    Args:
        spec: The sweep.
        folder: The output folder (created; with ``resume``, the folder of an earlier run of
            the same spec, whose finished runs are kept; an adaptive sweep may be resumed with a
            larger ``max_runs``, which goes on from where the smaller budget stopped).
        resume: Finish the sweep in ``folder`` instead of starting one.
        jobs: Local worker processes (default: every core; 1 runs in this process).
        scheduler: A Dask scheduler address (``tcp://host:8786``); overrides ``jobs``.
        progress: Called as ``progress(done, planned)`` after each finished task (``planned``
            grows as an adaptive sweep adds replications).

    Raises:
        InvalidConfigError: ``folder`` already holds a sweep (without ``resume``), or holds a
            different sweep (with it).
    """
    store = SweepStore(folder)
    spec.check_budget()
    if resume:
        found = store.load_spec()
        if dataclasses.replace(found, max_runs=spec.max_runs) != spec:
            from ..errors import InvalidConfigError

            raise InvalidConfigError(
                "--resume", "used with the sweep the folder holds", str(folder),
                "run it without --config (the folder's sweep.json is used), or choose another --out",
            )
        if found != spec:
            store.replace_spec(spec)
    else:
        store.create(spec)
    pool = _Pool(jobs, scheduler)
    execution = _Execution(store, pool, progress)
    try:
        if spec.adaptive:
            store.save_selection(_adapt(spec, execution))
        else:
            execution.run(plan_tasks(spec))
    finally:
        pool.close()
    tables = store.assemble(spec)
    return SweepOutcome(
        pathlib.Path(folder), execution.planned, execution.computed, execution.planned - execution.computed, tables
    )


def _adapt(spec: SweepSpec, execution: _Execution) -> dict[str, Any]:
    """The adaptive sweep: the first stage, then KN's stages; returns what ``selection.json`` holds."""
    import pandas as pd

    from .recommend import DEFAULT_OBJECTIVE, run_objective

    objective = dict(spec.objective) if spec.objective else dict(DEFAULT_OBJECTIVE)
    cells = spec.cells()
    by_index = {cell.index: cell for cell in cells}
    observe: dict[tuple[int, int], float] = {}
    runs = dict.fromkeys(by_index, 0)

    def run(wanted: list[tuple[int, int]], extra: Sequence[Task] = ()) -> None:
        tasks = [_task(spec, by_index[cell], replication) for cell, replication in wanted]
        payloads = execution.run([*tasks, *extra])[: len(wanted)]
        if not payloads:
            return
        values = run_objective(pd.DataFrame([payload["row"] for payload in payloads]), objective)
        for (cell, replication), value in zip(wanted, values.tolist()):
            observe[cell, replication] = float(value)
            runs[cell] = max(runs[cell], replication + 1)

    first = [(cell.index, r) for cell in cells for r in range(spec.replications)]
    run(first, _baseline_tasks(spec, cells, spec.replications))
    most = spec.max_replications or spec.replications
    absolute, relative = spec.indifference_zone()
    screenings = [
        Screening.start(
            problem, observe, first=spec.replications, confidence=spec.confidence, indifference=absolute,
            relative_indifference=relative, most=most,
        )
        for problem in problems(cells)
    ]
    while any(s.running for s in screenings):
        replication = next(s.replications for s in screenings if s.running)
        wanted = sorted({(cell, replication) for s in screenings if s.running for cell in s.needed_cells()})
        wanted = [(cell, r) for cell, r in wanted if runs[cell] <= r]
        if spec.max_runs is not None and execution.planned + len(wanted) > spec.max_runs:
            for screening in screenings:
                if screening.running:
                    screening.stop("budget")
            break
        run(wanted)
        for screening in screenings:
            if screening.running:
                screening.advance(observe, most)
    return {
        "procedure": PROCEDURE,
        "objective": objective,
        "simulations": execution.planned,
        "max_runs": spec.max_runs,
        "runs": {str(cell): count for cell, count in runs.items()},
        "problems": [screening.record(observe, runs) for screening in screenings],
    }


def _task(spec: SweepSpec, cell: Cell, replication: int) -> Task:
    seed = spec.run_seed(cell, replication)
    labels = _labels(cell, replication, seed, breaker=True)
    return Task(run_name("c", cell.index, replication), cell.scenario, seed, False, replication == 0, labels)


def _baseline_tasks(spec: SweepSpec, cells: list[Cell], replications: int) -> list[Task]:
    if not spec.baselines:
        return []
    first_of_world: dict[int, Cell] = {}
    for cell in cells:
        first_of_world.setdefault(cell.world, cell)
    tasks = []
    for world, cell in sorted(first_of_world.items()):
        for replication in range(replications):
            seed = spec.run_seed(cell, replication)
            labels = _labels(cell, replication, seed, breaker=False)
            tasks.append(Task(run_name("w", world, replication), cell.scenario, seed, True, False, labels))
    return tasks

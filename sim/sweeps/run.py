"""Running a sweep: every (cell, replication) as an independent task, serially, on local
processes, or on a Dask cluster, with the results saved as each task finishes.

A task is a pure function of its scenario and seed, so the three ways of running give the
same rows; the tables are assembled in canonical order afterwards (``SweepStore.assemble``).
Baselines do not depend on the breaker's settings, so they run once per world and replication.
Run files found in the folder are reused only if their identity is the current sweep's
(``runfile.run_problem``). Where the tasks run is ``pool``'s concern.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidConfigError
from ..result import BREAKER
from ..scenario import Scenario
from ..simulate import simulate
from .pool import CONNECT_TIMEOUT_S, Pool
from .runfile import RejectedRun, RunCheck, parse_run_name, run_identity, spec_digest
from .selection import PROCEDURE, Screening, problems
from .spec import Cell, SweepSpec, breaker_side
from .store import SweepStore, flatten, run_name

__all__ = ["SweepOutcome", "Task", "execute_task", "plan_tasks", "run_sweep"]

_log = logging.getLogger(__name__)


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
        identity: What its run file records about itself (``runfile.run_identity``).
    """

    name: str
    scenario: Scenario
    seed: int
    baselines_only: bool
    keep_series: bool
    labels: dict[str, Any]
    identity: dict[str, Any]

    def check(self) -> RunCheck:
        """What a saved run file must hold to be reused as this task's."""
        return RunCheck(self.identity, self.labels, self.keep_series)


def execute_task(task: Task) -> tuple[str, dict[str, Any]]:
    """Run ``task``; returns its file name and content (picklable, for any executor)."""
    result = simulate(task.scenario, task.seed, baselines=task.baselines_only, breaker=not task.baselines_only)
    if task.baselines_only:
        rows = [{**task.labels, "policy": name, **flatten(run.metrics.as_dict())} for name, run in result.runs.items()]
        return task.name, {"identity": task.identity, "rows": rows}
    payload: dict[str, Any] = {"identity": task.identity, "row": {**task.labels, **flatten(result.metrics.as_dict())}}
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
    digest = spec_digest(spec)
    tasks = [_task(spec, cell, replication, digest) for cell in cells for replication in range(spec.replications)]
    return tasks + _baseline_tasks(spec, cells, spec.replications, digest)


def _expected_runs(spec: SweepSpec, digest: str) -> Callable[[str], RunCheck | None]:
    """For a run file's name, what it must hold in this sweep (None: no run has that name)."""
    cells = spec.cells()
    first_of_world: dict[int, Cell] = {}
    for cell in cells:
        first_of_world.setdefault(cell.world, cell)
    most = spec.max_replications or spec.replications

    def expect(name: str) -> RunCheck | None:
        parsed = parse_run_name(name)
        if parsed is None:
            return None
        kind, index, replication = parsed
        if kind == "c" and index < len(cells) and replication < most:
            return _task(spec, cells[index], replication, digest).check()
        if kind == "w" and spec.baselines and index in first_of_world and replication < spec.replications:
            return _baseline_task(spec, first_of_world[index], replication, digest).check()
        return None

    return expect


@dataclasses.dataclass(frozen=True)
class SweepOutcome:
    """What ``run_sweep`` did."""

    folder: pathlib.Path
    tasks: int
    computed: int
    reused: int
    tables: dict[str, pathlib.Path]
    #: Run files found in the folder that were not reused (set aside, and computed again).
    rejected: tuple[RejectedRun, ...] = ()


class _Execution:
    """Runs tasks through a pool, skipping those already saved, and saves each as it finishes."""

    def __init__(
        self, store: SweepStore, pool: Pool, progress: Callable[[int, int], Any] | None, reusable: set[str]
    ) -> None:
        self.store = store
        self.pool = pool
        self.progress = progress
        self.done = set(reusable)
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
        for name, payload in self.pool.run(execute_task, todo):
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
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
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
        connect_timeout_s: How long to wait for the Dask ``scheduler`` to answer.

    Before anything runs, every run file in ``folder`` is checked: one that is damaged, or is
    not what its name says in this sweep (another sweep's, a copy of another run), is moved to
    ``runs/rejected/`` and computed again; each is logged as a warning (``logging``) and listed
    in the outcome's ``rejected``. With ``resume``, a damaged sweep.json is replaced by ``spec``
    (the run files are checked against it).

    Raises:
        InvalidConfigError: ``folder`` already holds a sweep, or another sweep's files
            (without ``resume``), or holds a different sweep (with it); the scheduler's address
            is wrong or nothing answers there.
    """
    store = SweepStore(folder)
    spec.check_budget()
    pool = Pool(jobs, scheduler, connect_timeout_s)
    try:
        pool.connect()
        _prepare(store, spec, resume)
        reusable, rejected = store.check_runs(_expected_runs(spec, spec_digest(spec)))
        for run in rejected[:_LISTED]:
            _log.warning("breakerlab: set aside %s as %s (%s); computing it again", run.name,
                         run.moved_to.relative_to(store.root), run.reason)
        if len(rejected) > _LISTED:
            _log.warning("breakerlab: set aside %d more run files in %s; computing them again",
                         len(rejected) - _LISTED, store.runs / "rejected")
        execution = _Execution(store, pool, progress, reusable)
        if spec.adaptive:
            store.save_selection(_adapt(spec, execution))
        else:
            execution.run(plan_tasks(spec))
    finally:
        pool.close()
    tables = store.assemble(spec)
    return SweepOutcome(
        pathlib.Path(folder), execution.planned, execution.computed, execution.planned - execution.computed, tables,
        tuple(rejected),
    )


#: Rejected run files named one by one in the log (the rest are counted).
_LISTED = 10


def _prepare(store: SweepStore, spec: SweepSpec, resume: bool) -> None:
    """Create the sweep's folder, or check that it holds ``spec`` (to resume)."""
    if not resume:
        store.create(spec)
        return
    problem = store.spec_problem()
    if problem is not None:  # the run files record their sweep: checked against spec, not lost
        _log.warning("breakerlab: %s was damaged (%s); replaced by the sweep given", store.root / "sweep.json", problem)
        store.replace_spec(spec)
        return
    found = store.load_spec()
    if dataclasses.replace(found, max_runs=spec.max_runs) != spec:
        raise InvalidConfigError(
            "--resume", "used with the sweep the folder holds", str(store.root),
            "run it without --config (the folder's sweep.json is used), or choose another --out",
        )
    if found != spec:
        store.replace_spec(spec)


def _adapt(spec: SweepSpec, execution: _Execution) -> dict[str, Any]:
    """The adaptive sweep: the first stage, then KN's stages; returns what ``selection.json`` holds."""
    import pandas as pd

    from .recommend import DEFAULT_OBJECTIVE, run_objective

    objective = dict(spec.objective) if spec.objective else dict(DEFAULT_OBJECTIVE)
    digest = spec_digest(spec)
    cells = spec.cells()
    by_index = {cell.index: cell for cell in cells}
    observe: dict[tuple[int, int], float] = {}
    runs = dict.fromkeys(by_index, 0)

    def run(wanted: list[tuple[int, int]], extra: Sequence[Task] = ()) -> None:
        tasks = [_task(spec, by_index[cell], replication, digest) for cell, replication in wanted]
        payloads = execution.run([*tasks, *extra])[: len(wanted)]
        if not payloads:
            return
        values = run_objective(pd.DataFrame([payload["row"] for payload in payloads]), objective)
        for (cell, replication), value in zip(wanted, values.tolist()):
            observe[cell, replication] = float(value)
            runs[cell] = max(runs[cell], replication + 1)

    first = [(cell.index, r) for cell in cells for r in range(spec.replications)]
    run(first, _baseline_tasks(spec, cells, spec.replications, digest))
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


def _task(spec: SweepSpec, cell: Cell, replication: int, digest: str) -> Task:
    seed = spec.run_seed(cell, replication)
    labels = _labels(cell, replication, seed, breaker=True)
    identity = run_identity(digest, baseline=False, index=cell.index, replication=replication, seed=seed)
    return Task(run_name("c", cell.index, replication), cell.scenario, seed, False, replication == 0, labels, identity)


def _baseline_task(spec: SweepSpec, cell: Cell, replication: int, digest: str) -> Task:
    """The baselines of ``cell``'s world (``cell`` is the world's first cell)."""
    seed = spec.run_seed(cell, replication)
    labels = _labels(cell, replication, seed, breaker=False)
    identity = run_identity(digest, baseline=True, index=cell.world, replication=replication, seed=seed)
    return Task(run_name("w", cell.world, replication), cell.scenario, seed, True, False, labels, identity)


def _baseline_tasks(spec: SweepSpec, cells: list[Cell], replications: int, digest: str) -> list[Task]:
    if not spec.baselines:
        return []
    first_of_world: dict[int, Cell] = {}
    for cell in cells:
        first_of_world.setdefault(cell.world, cell)
    return [
        _baseline_task(spec, cell, replication, digest)
        for _, cell in sorted(first_of_world.items())
        for replication in range(replications)
    ]

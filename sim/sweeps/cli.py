"""``breakerlab sweep`` and ``breakerlab plot``: run a parameter sweep with a progress bar, and
redraw its plots from the saved results."""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
from typing import Any

from ..budget import LARGE_SWEEP_RUNS
from ..errors import InvalidConfigError
from .folder import check_output_folder
from .pool import check_jobs
from .run import plan_tasks, run_sweep
from .spec import SweepSpec, default_spec, load_spec
from .store import SweepStore

__all__ = ["plot_command", "sweep_command"]

#: Where sweeps go unless --out says otherwise (a new numbered folder per sweep).
DEFAULT_BASE = "breakerlab-sweeps"

_EXAMPLES = """\
examples:
  breakerlab sweep                                  # the built-in sweep, about 2.5 minutes on 2 cores
  breakerlab sweep --config sweep.toml --jobs 8
  breakerlab sweep --config sweep.toml --scheduler tcp://10.0.0.5:8786
  breakerlab sweep --resume --out breakerlab-sweeps/default   # finish an interrupted sweep
  breakerlab sweep --resume --out breakerlab-sweeps/default --max-runs 3000   # a larger budget
  breakerlab plot breakerlab-sweeps/default --objective time_to_open_s=1,false_rejections=0.1

A sweep file (TOML) has a [grid] of dotted options with lists of values, a [base] of fixed
options, [[traces]] with family = NAME and parameters, and replications, seed, horizon_s;
see sim/README.md.
"""


def sweep_command(subparsers: Any) -> None:
    """Register ``breakerlab sweep``."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep (fail_max x reset_timeout x outages) with plots",
        description=(
            "Simulate every cell of a grid of breaker, workload and trace options, several seeds "
            "each, in parallel; write tidy results (CSV, Parquet), a summary with 95% confidence "
            "intervals, heatmaps, trade-off plots, timelines and a recommendation. Without "
            "--config, runs the built-in sweep. Runs are saved as they finish: after Ctrl-C, "
            "--resume computes only what is missing. With adaptive replications "
            "(replications = {min = 4, max = 64} in the file, as in the built-in sweep), runs are added "
            "only to settings that can still be the best, by Kim and Nelson's (2001) fully sequential "
            "procedure, until one is left or the budget is spent."
        ),
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", metavar="FILE.toml",
        help="the sweep file to run: a [grid], a [base], [[traces]] and replications (see sim/README.md) "
        "(default: the built-in sweep)",
    )
    parser.add_argument(
        "--out", metavar="DIR",
        help="the folder the sweep writes its runs, tables, plots and recommendation in "
        f"(default: a new folder {DEFAULT_BASE}/NAME, numbered if taken)",
    )
    parser.add_argument("--resume", action="store_true", help="finish the sweep in --out (keeps its finished runs)")
    parser.add_argument(
        "--jobs", type=int, metavar="N",
        help="how many local worker processes simulate at once; 1 runs in this process (default: one per core)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run the simulations on the Dask cluster whose scheduler listens at ADDRESS (tcp://host:8786)",
    )
    parser.add_argument(
        "--objective", metavar="METRIC=WEIGHT,...",
        help="the weighted sum of metrics the recommendation minimises (default: the file's [objective], else "
        "failed_calls=1,false_rejections=1)",
    )
    parser.add_argument(
        "--max-runs", type=int, metavar="N",
        help="an adaptive sweep's budget: at most N simulations in all, baselines included (overrides "
        "replications.max_runs; with --resume, a larger N goes on where the smaller one stopped)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write the tables and the recommendation, no plots")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (a sweep of over 1,000 simulations still prints its size)"
    )
    parser.set_defaults(func=_run_sweep)


def plot_command(subparsers: Any) -> None:
    """Register ``breakerlab plot``."""
    parser = subparsers.add_parser(
        "plot",
        help="redraw a sweep's plots from its saved results",
        description="Redraw the heatmaps, trade-off plots, timelines and the recommendation of a "
        "finished sweep from the tables in its folder, without simulating anything.",
    )
    parser.add_argument("folder", metavar="RESULTS_DIR", help="a folder written by breakerlab sweep")
    parser.add_argument("--objective", metavar="METRIC=WEIGHT,...", help="what the recommendation minimises")
    parser.set_defaults(func=_run_plot)


class _Progress:
    """A tqdm bar over finished runs (cells done, rate, ETA)."""

    def __init__(self, quiet: bool, description: str) -> None:
        self.bar: Any = None
        self.quiet = quiet
        self.description = description

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="run", desc=self.description, file=sys.stderr)
            return
        if total != self.bar.total:  # an adaptive sweep plans more runs as it goes
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _spec(args: argparse.Namespace) -> SweepSpec:
    if args.config:
        return load_spec(args.config)
    if args.resume:
        return SweepStore(args.out).load_spec()
    return default_spec()


def _run_sweep(args: argparse.Namespace) -> int:
    if args.resume and not args.out:
        raise InvalidConfigError("--resume", "used with --out DIR (the folder of the sweep to finish)", True)
    check_jobs(args.jobs, args.scheduler, "--jobs")
    spec = _spec(args)
    if args.max_runs is not None:
        if not spec.adaptive:
            raise InvalidConfigError(
                "--max-runs", "used with adaptive replications (replications = {min = 4, max = 64} in the sweep file)",
                args.max_runs,
            )
        if args.max_runs < 1:
            raise InvalidConfigError("--max-runs", "an int >= 1", args.max_runs)
        spec = dataclasses.replace(spec, max_runs=args.max_runs)
        if args.max_runs < spec.first_stage_runs():
            raise InvalidConfigError(
                "--max-runs", f"at least the first stage's {spec.first_stage_runs()} simulations", args.max_runs,
                "the first stage runs every cell replications.min times, and the baselines",
            )
    if args.objective and spec.adaptive and not args.resume:  # the procedure ranks by it: keep it with the sweep
        from .recommend import parse_objective

        spec = dataclasses.replace(spec, objective=tuple(parse_objective(args.objective).items()))
    folder = pathlib.Path(args.out) if args.out else SweepStore.fresh_folder(DEFAULT_BASE, spec.name)
    check_output_folder(folder)  # a file, a path under one or a read-only folder fails before any run
    objective = _objective(args.objective, spec)
    total = len(plan_tasks(spec))
    where = f"Dask at {args.scheduler}" if args.scheduler else f"{args.jobs or 'all'} local processes"
    size = f"{total:,} simulations, about {spec.first_stage_requests():,.0f} simulated requests"
    quiet = args.quiet and total <= LARGE_SWEEP_RUNS  # a large sweep says how large, even with --quiet
    if not quiet and spec.adaptive:
        budget = f", at most {spec.max_runs:,} simulations" if spec.max_runs else ""
        print(
            f"sweep {spec.name!r}: {len(spec.cells())} cells x {spec.replications} runs ({size}) on {where}, "
            f"then up to {spec.max_replications} runs for the settings that can still be the best "
            f"(KN, {spec.confidence:.0%} confidence, indifference zone {spec.indifference}{budget})"
        )
    elif not quiet:
        print(f"sweep {spec.name!r}: {len(spec.cells())} cells x {spec.replications} runs ({size}) on {where}")
    progress = _Progress(args.quiet, spec.name)
    try:
        outcome = run_sweep(spec, folder, resume=args.resume, jobs=args.jobs, scheduler=args.scheduler, progress=progress)
    except KeyboardInterrupt:
        progress.close()
        saved = len(SweepStore(folder).finished())
        print(
            f"interrupted: {saved} runs saved in {folder}; finish with: "
            f"breakerlab sweep --resume --out {folder}",
            file=sys.stderr,
        )
        return 130
    progress.close()
    print(f"{outcome.computed} simulated, {outcome.reused} reused from earlier runs")
    for name, path in outcome.tables.items():
        print(f"  {name:<10} {path}")
    if args.no_plots:
        from .report import write_recommendation

        print(write_recommendation(folder, objective)[0])
    else:
        from .report import draw_report

        report = draw_report(folder, objective)
        print(f"  plots      {folder / 'plots'} ({len(report.plots)} files)")
        for note in report.notes:
            print(f"  note: {note}")
        print(report.recommendation)
    print(f"results written to {folder}")
    return 0


def _objective(text: str | None, spec: SweepSpec) -> dict[str, float]:
    from .recommend import DEFAULT_OBJECTIVE, parse_objective

    if text:
        return parse_objective(text)
    if spec.objective:
        return {metric: float(weight) for metric, weight in spec.objective}
    return dict(DEFAULT_OBJECTIVE)


def _run_plot(args: argparse.Namespace) -> int:
    store = SweepStore(args.folder)
    spec = store.load_spec("RESULTS_DIR")
    # A kill while the tables were written, or a table deleted: rebuilt from the run files.
    for name, problem in store.repair_tables(spec).items():
        print(f"rebuilt {name} from the run files (it was {problem})")
    from .report import draw_report  # matplotlib: only once there is something to draw

    report = draw_report(store.root, _objective(args.objective, spec))
    print(f"{len(report.plots)} plots written to {store.root / 'plots'}")
    print(report.recommendation)
    return 0

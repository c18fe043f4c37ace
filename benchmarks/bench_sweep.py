"""Sweep throughput and parallel efficiency: the same sweep on one process and on two.

Run: ``python benchmarks/bench_sweep.py [--quick] [--replications N] [--horizon S]``.

The sweep is the built-in one's shape (fail_max x reset_timeout over hard-down, hang,
brownout and flapping outages) with fewer cells. It runs serially in this process (``--jobs
1``: the baseline) and on two local worker processes (``--jobs 2``, process start-up
included), alternately, best of ``--repeat``. Reported: simulated requests per second across
all cores for each, and the parallel efficiency ``t(1) / (2 * t(2))``. Target (issue): at
least 85% on 2 cores. Both runs must write identical tables (checked; exit 1 otherwise). The
verdict is printed (PASS/FAIL); the exit status does not depend on it (the machines are noisy).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

import pandas as pd

from breakerlab.sim.sweeps.run import run_sweep
from breakerlab.sim.sweeps.spec import SweepSpec

TARGET = 0.85


def spec(replications: int, horizon_s: float) -> SweepSpec:
    """The benchmark's sweep."""
    return SweepSpec.from_mapping({
        "name": "bench",
        "replications": replications,
        "seed": 1,
        "horizon_s": horizon_s,
        "grid": {"breaker.fail_max": [1, 5, 20], "breaker.reset_timeout": [1.0, 10.0, 60.0]},
        "base": {"workload.rate_rps": 100.0},
        "traces": [
            {"family": "hard_down", "start_s": 30.0, "duration_s": 90.0},
            {"family": "hang", "start_s": 30.0, "duration_s": 90.0},
            {"family": "brownout", "start_s": 30.0, "duration_s": 90.0, "error_rate": 0.5},
            {"family": "flapping", "start_s": 30.0, "duration_s": 120.0, "down_s": 5.0, "up_s": 10.0},
        ],
    })


def timed(chosen: SweepSpec, jobs: int, folder: pathlib.Path) -> tuple[float, int]:
    """(seconds, simulated requests) of one run of the sweep."""
    start = time.perf_counter()
    run_sweep(chosen, folder, jobs=jobs)
    elapsed = time.perf_counter() - start
    requests = int(pd.read_csv(folder / "results.csv")["offered"].sum())
    baselines = folder / "baselines.csv"
    if baselines.exists():
        requests += int(pd.read_csv(baselines)["offered"].sum())
    return elapsed, requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Sweep throughput (simulated requests/s over all cores) and parallel efficiency "
        "of 2 local worker processes against 1 (target >= 85%).",
    )
    parser.add_argument("--replications", type=int, default=3, help="runs per cell (default 3)")
    parser.add_argument("--horizon", type=float, default=240.0, help="simulated seconds per run (default 240)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best of each is kept (default 2)")
    parser.add_argument("--quick", action="store_true", help="a smoke run (1 replication, 60 s, one round)")
    args = parser.parse_args(argv)
    if args.quick:
        args.replications, args.horizon, args.repeat = 1, 60.0, 1
    chosen = spec(args.replications, args.horizon)
    best = {1: float("inf"), 2: float("inf")}
    requests = 0
    with tempfile.TemporaryDirectory() as scratch:
        tables: dict[int, bytes] = {}
        for round_ in range(args.repeat):
            for jobs in (1, 2):
                folder = pathlib.Path(scratch) / f"r{round_}-j{jobs}"
                seconds, requests = timed(chosen, jobs, folder)
                best[jobs] = min(best[jobs], seconds)
                tables[jobs] = (folder / "results.csv").read_bytes()
        if tables[1] != tables[2]:
            print("bench_sweep: the serial and parallel runs wrote different results", file=sys.stderr)
            return 1
    cells = len(chosen.cells())
    print(f"sweep: {cells} cells x {args.replications} runs, {args.horizon:g} s each, {requests} simulated requests; "
          f"{os.cpu_count()} cores; best of {args.repeat}")
    print(f"{'workers':<8} {'seconds':>9} {'requests/s':>11}")
    for jobs in (1, 2):
        print(f"{jobs:<8} {best[jobs]:9.2f} {requests / best[jobs]:11.0f}")
    efficiency = best[1] / (2 * best[2])
    verdict = "PASS" if round(efficiency, 2) >= TARGET else "FAIL"  # judged as printed
    print(f"\nparallel efficiency (2 workers vs 1): {efficiency:.0%} (target >= {TARGET:.0%}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

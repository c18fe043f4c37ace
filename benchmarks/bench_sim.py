"""Simulated requests per second: breakerlab's simulator against three SimPy baselines.

Run: ``python benchmarks/bench_sim.py [--quick] [--rate RPS] [--horizon S] [--repeat N]``.

All simulate the same scenario on one core: Poisson arrivals at ``--rate`` into a pool of 64
workers with a 1 s call timeout, a log-normal service (median 50 ms) that fails fast for two
minutes, and a consecutive-failure breaker (``fail_max=5``, ``reset_timeout=10``).

* ``breakerlab``: ``simulate(scenario, seed, baselines=False)``: the real
  ``breakerlab.model.Breaker`` (its table compiled for the configuration performs every
  event, state changes included), the worker pool, retries off, and every metric and time
  series;
* ``naive``: ``benchmarks/naive_sim.py``: one SimPy process per request, a ``Resource`` pool,
  ``answer | deadline`` for the timeout, a hand-written breaker (target: breakerlab >= 3x);
* ``minimal``: the same without a pool: a process per request, ``answer | deadline``, the
  hand-written breaker (target >= 3x; the pool never fills in this scenario, so the outcomes
  are the same);
* ``floor``: SimPy's floor, two bare ``Timeout`` events with callbacks per request (an
  arrival and an answer) and nothing else (target: breakerlab reaches >= 60% of its rate);
* ``fleet x100``: breakerlab with the same load spread over 100 instances, each with its own
  pool and breaker (target: a cost per request at most 1.1x one instance's).

The machines are shared and noisy, so all are timed alternately in one process and the best
of ``--repeat`` rounds is compared. The verdicts are printed (PASS/FAIL); the exit status is 0
unless a simulation misbehaved (1).
"""

from __future__ import annotations

import argparse
import gc
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from naive_sim import run_floor, run_naive  # noqa: E402

from breakerlab.model import BreakerConfig  # noqa: E402
from breakerlab.sim import Scenario, Service, Workload, simulate  # noqa: E402
from breakerlab.sim.traces.families import HardDown  # noqa: E402

TARGET = 3.0  # against the naive simulation (a Resource pool)
MINIMAL_TARGET = 3.0  # against the minimal newcomer's (no pool)
FLOOR_TARGET = 0.6  # against the SimPy floor
FLEET = 100  # instances of the fleet run
FLEET_TARGET = 1.1  # its cost per request over one instance's, at most
WORKERS = 64
CALL_TIMEOUT_S = 1.0
OUTAGE_START_S, OUTAGE_S = 60.0, 120.0


def scenario(rate_rps: float, horizon_s: float, instances: int = 1) -> Scenario:
    """The benchmark's scenario for breakerlab (``instances``: a fleet sharing the load)."""
    return Scenario(
        trace=HardDown(start_s=OUTAGE_START_S, duration_s=OUTAGE_S),
        breaker=BreakerConfig(fail_max=5, reset_timeout=10.0),
        workload=Workload(rate_rps=rate_rps, workers=WORKERS, call_timeout_s=CALL_TIMEOUT_S, instances=instances),
        service=Service(latency_median_s=0.05, latency_sigma=0.5, error_latency_s=0.005),
        horizon_s=horizon_s,
        name="bench",
    )


def time_breakerlab(rate_rps: float, horizon_s: float, seed: int, instances: int = 1) -> tuple[float, int]:
    """(seconds, requests) for one breakerlab run."""
    chosen = scenario(rate_rps, horizon_s, instances)
    start = time.perf_counter()
    result = simulate(chosen, seed, baselines=False)
    elapsed = time.perf_counter() - start
    metrics = result.metrics
    if metrics.unfinished or metrics.trips < 1 or metrics.succeeded + metrics.failed != metrics.offered:
        raise RuntimeError(f"breakerlab run misbehaved: {metrics}")
    return elapsed, metrics.offered


def time_naive(rate_rps: float, horizon_s: float, seed: int, *, pool: bool = True) -> tuple[float, int]:
    """(seconds, requests) for one naive run (``pool=False``: the minimal newcomer's)."""
    start = time.perf_counter()
    stats = run_naive(
        seed=seed, rate_rps=rate_rps, horizon_s=horizon_s, workers=WORKERS, call_timeout_s=CALL_TIMEOUT_S,
        latency_median_s=0.05, latency_sigma=0.5, error_latency_s=0.005,
        outage_start_s=OUTAGE_START_S, outage_end_s=OUTAGE_START_S + OUTAGE_S,
        fail_max=5, reset_timeout_s=10.0, pool=pool,
    )
    elapsed = time.perf_counter() - start
    if stats["trips"] < 1 or stats["succeeded"] + stats["failed"] != stats["requests"]:
        raise RuntimeError(f"{'naive' if pool else 'minimal'} run misbehaved: trips={stats['trips']}")
    return elapsed, stats["requests"]


def time_fleet(rate_rps: float, horizon_s: float, seed: int) -> tuple[float, int]:
    """(seconds, requests) for breakerlab with the load spread over a fleet of FLEET instances."""
    return time_breakerlab(rate_rps, horizon_s, seed, FLEET)


def time_minimal(rate_rps: float, horizon_s: float, seed: int) -> tuple[float, int]:
    """(seconds, requests) for one minimal newcomer's run: no pool, a process per request."""
    return time_naive(rate_rps, horizon_s, seed, pool=False)


def time_floor(rate_rps: float, horizon_s: float, seed: int) -> tuple[float, int]:
    """(seconds, requests) for the SimPy floor: two bare timeouts with callbacks per request."""
    start = time.perf_counter()
    count = run_floor(seed=seed, rate_rps=rate_rps, horizon_s=horizon_s, latency_median_s=0.05, latency_sigma=0.5)
    return time.perf_counter() - start, count


#: (name, timer, what breakerlab's requests per second are compared against, target ratio).
BASELINES = (
    ("naive", time_naive, "naive", TARGET),
    ("minimal", time_minimal, "minimal", MINIMAL_TARGET),
    ("floor", time_floor, "SimPy floor", FLOOR_TARGET),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Simulated requests per second of breakerlab's simulator against a naive SimPy "
        "simulation of the same scenario (ratio measured in one run; target >= 3x).",
    )
    parser.add_argument("--rate", type=float, default=200.0, help="offered requests per second (default 200)")
    parser.add_argument("--horizon", type=float, default=600.0, help="simulated seconds per run (default 600)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best of each is compared (default 5)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 240 s at 100 rps, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.horizon, args.repeat = 100.0, 240.0, 1
    timers = [(name, timer) for name, timer, _, _ in BASELINES] + [
        ("breakerlab", time_breakerlab), (f"fleet x{FLEET}", time_fleet)
    ]
    best = {name: float("inf") for name, _ in timers}
    requests = dict.fromkeys(best, 0)
    try:
        for round_ in range(args.repeat):
            for name, timer in timers:
                gc.collect()  # each run starts from the same clean heap, not with the last one's garbage
                seconds, count = timer(args.rate, args.horizon, 1 + round_)
                best[name] = min(best[name], seconds / count)
                requests[name] = count
    except RuntimeError as exc:
        print(f"bench_sim: {exc}", file=sys.stderr)
        return 1
    print(f"scenario: {args.rate:g} rps for {args.horizon:g} s, hard down 60-180 s, best of {args.repeat}")
    print(f"{'simulator':<12} {'requests':>9} {'us/request':>11} {'requests/s':>11}")
    for name, _ in timers:
        print(f"{name:<12} {requests[name]:9d} {best[name] * 1e6:11.2f} {1 / best[name]:11.0f}")
    print()
    for name, _, label, target in BASELINES:
        ratio = best[name] / best["breakerlab"]
        verdict = "PASS" if round(ratio, 2) >= target else "FAIL"  # judged as printed
        print(f"speed ratio (breakerlab / {label}, requests per second): {ratio:.2f} (target >= {target:g}): {verdict}")
    cost = best[f"fleet x{FLEET}"] / best["breakerlab"]
    verdict = "PASS" if round(cost, 2) <= FLEET_TARGET else "FAIL"
    print(f"cost per request ({FLEET} instances / 1 instance): {cost:.2f} (target <= {FLEET_TARGET:g}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

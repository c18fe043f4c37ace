"""Cost and concurrency of the runtime ``CircuitBreaker`` against pybreaker, as ratios measured in one run.

Run: ``python benchmarks/bench_runtime.py [--quick] [options]`` (needs pybreaker:
``pip install -e '.[bench]'``).

The machines this runs on are shared and noisy, so the script reports ratios against baselines
timed in the same process, interleaved, taking the best of several repeats. Both breakers use
``fail_max=5, reset_timeout=60`` and stay closed throughout; breakerlab's uses its default
``MonotonicClock``.

1. Overhead per successful call, closed state (best of ``--repeat`` timings of ``--calls``
   calls each):

   * ``bare call``: calling the protected function directly (the floor);
   * ``breakerlab``: ``CircuitBreaker.call(fn)``;
   * ``pybreaker``: ``pybreaker.CircuitBreaker.call(fn)``.

   Overhead is a variant's time minus the bare call's. Target (issue): breakerlab's overhead
   is at most half of pybreaker's (ratio <= 0.5).

2. Throughput: ``--threads`` threads (16) each call a function that sleeps ``--sleep-ms``
   (10 ms) through one shared breaker, for ``--duration`` seconds; the best of
   ``--throughput-repeat`` rounds. ``no breaker`` is the ideal (threads x 1000 / sleep-ms
   calls/s). pybreaker holds its lock across the protected call, so its callers run one at a
   time. Target (issue): breakerlab's throughput is at least 10x pybreaker's.

Each target is printed as PASS or FAIL, but the exit status is 0 whatever the verdicts (a noisy
machine must not break a build): 2 when pybreaker is missing, 1 if a breaker misbehaved (it
left the closed state or miscounted calls).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import sys
import threading
import time
import timeit
from collections.abc import Callable
from typing import Any

from sized_options import add_sized_options, apply_sizes, positive_float, positive_int

from breakerlab.model import BreakerConfig, State
from breakerlab.runtime import CircuitBreaker

FAIL_MAX = 5
RESET_TIMEOUT_S = 60.0
OVERHEAD_TARGET = 0.5  # breakerlab overhead / pybreaker overhead, at most
THROUGHPUT_TARGET = 10.0  # breakerlab calls/s / pybreaker calls/s, at least

FULL: dict[str, float] = {
    "calls": 100_000, "repeat": 5, "threads": 16, "sleep_ms": 10.0, "duration": 2.0, "throughput_repeat": 2
}
QUICK: dict[str, float] = {**FULL, "calls": 2_000, "repeat": 1, "duration": 0.2, "throughput_repeat": 1}


class BenchmarkError(Exception):
    """A breaker did not behave as the benchmark assumes (stayed closed, counted every call)."""


def _protected() -> int:
    return 1


def _breakers() -> tuple[CircuitBreaker, Any]:
    import pybreaker

    ours = CircuitBreaker(BreakerConfig(fail_max=FAIL_MAX, reset_timeout=RESET_TIMEOUT_S), name="bench")
    theirs = pybreaker.CircuitBreaker(fail_max=FAIL_MAX, reset_timeout=RESET_TIMEOUT_S)
    return ours, theirs


def _check(ours: CircuitBreaker, theirs: Any, successes: int) -> None:
    """Both breakers are still closed, and breakerlab recorded exactly ``successes`` calls."""
    if ours.state is not State.CLOSED or theirs.current_state != "closed":
        raise BenchmarkError(
            f"a breaker left the closed state (breakerlab {ours.state.value}, pybreaker {theirs.current_state})"
        )
    stats = ours.stats
    if stats.successes != successes or stats.admitted != successes:
        raise BenchmarkError(f"breakerlab recorded {stats} for {successes} successful calls")


# -- 1. overhead ---------------------------------------------------------------------------


def measure_overhead(calls: int, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` seconds per call: bare, breakerlab ``call``, pybreaker ``call``."""
    ours, theirs = _breakers()

    def bare() -> None:
        for _ in range(calls):
            _protected()

    def breakerlab() -> None:
        call = ours.call
        for _ in range(calls):
            call(_protected)

    def pybreaker() -> None:
        call = theirs.call
        for _ in range(calls):
            call(_protected)

    def floor() -> None:
        # The least any breaker of this design can do per call: a locked section with a clock
        # reading before the call and another after it (admission and outcome are separate
        # events so calls can overlap), and nothing else. Not a breaker: a yardstick.
        lock = threading.Lock()
        clock = time.monotonic
        state = {"failures": 0}
        for _ in range(calls):
            lock.acquire()
            try:
                clock()
            finally:
                lock.release()
            _protected()
            lock.acquire()
            try:
                clock()
                state["failures"] = 0
            finally:
                lock.release()

    variants: dict[str, Callable[[], None]] = {
        "bare call": bare,
        "breakerlab": breakerlab,
        "pybreaker": pybreaker,
        "design floor": floor,
    }
    names = list(variants)
    best = dict.fromkeys(names, float("inf"))
    for round_ in range(repeat):  # interleaved, so drift in machine load hits every variant alike
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # rotated, so no variant always goes first
            best[name] = min(best[name], timeit.timeit(variants[name], number=1) / calls)
    _check(ours, theirs, calls * repeat)
    return best


def report_overhead(best: dict[str, float]) -> float:
    """Print the table and the verdict; returns breakerlab overhead / pybreaker overhead."""
    bare = best["bare call"]
    print(f"{'variant':<12} {'ns/call':>10} {'overhead ns':>12} {'x bare call':>12}")
    for name, seconds in best.items():
        print(f"{name:<12} {seconds * 1e9:10.0f} {(seconds - bare) * 1e9:12.0f} {seconds / bare:12.1f}")
    ours = best["breakerlab"] - bare
    theirs = best["pybreaker"] - bare
    ratio = ours / theirs if theirs > 0 else float("inf")
    verdict = "PASS" if round(ratio, 2) <= OVERHEAD_TARGET else "FAIL"  # judged as printed
    print(
        f"\noverhead ratio (breakerlab / pybreaker): {ratio:.2f} "
        f"(target <= {OVERHEAD_TARGET}): {verdict}  [{ours * 1e9:.0f} ns vs {theirs * 1e9:.0f} ns per call]"
    )
    floor = best["design floor"] - bare
    print(
        f"design floor / pybreaker: {floor / theirs:.2f} (two locked sections with a clock reading each, "
        "nothing else): how much of the gap any breaker with separate admission and outcome events could close"
    )
    return ratio


# -- 2. throughput -------------------------------------------------------------------------


def _run_threads(
    call: Callable[[Callable[[], None]], object], threads: int, sleep_s: float, duration_s: float
) -> tuple[int, float]:
    """``threads`` threads call ``call(slow)`` until ``duration_s`` has passed; returns the
    calls completed and the wall time from the common start until the last one finished."""

    def slow() -> None:
        time.sleep(sleep_s)

    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    deadline = 0.0

    def worker(slot: int) -> None:
        start.wait()
        done = 0
        while time.perf_counter() < deadline:
            call(slow)
            done += 1
        counts[slot] = done

    pool = [threading.Thread(target=worker, args=(i,), name=f"bench-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    began = time.perf_counter()
    deadline = began + duration_s
    start.wait()
    for thread in pool:
        thread.join()
    return sum(counts), time.perf_counter() - began


def measure_throughput(threads: int, sleep_ms: float, duration_s: float, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` calls per second through no breaker, breakerlab and pybreaker."""
    ours, theirs = _breakers()

    def no_breaker(fn: Callable[[], None]) -> None:
        fn()

    variants: dict[str, Callable[[Callable[[], None]], object]] = {
        "no breaker": no_breaker,
        "breakerlab": ours.call,
        "pybreaker": theirs.call,
    }
    best = dict.fromkeys(variants, 0.0)
    ours_calls = 0
    for _ in range(repeat):  # interleaved
        for name, call in variants.items():
            calls, elapsed = _run_threads(call, threads, sleep_ms / 1000, duration_s)
            best[name] = max(best[name], calls / elapsed)
            if name == "breakerlab":
                ours_calls += calls
    _check(ours, theirs, ours_calls)
    return best


def report_throughput(best: dict[str, float], threads: int, sleep_ms: float) -> float:
    """Print the table and the verdict; returns breakerlab calls/s / pybreaker calls/s."""
    ideal = threads * 1000 / sleep_ms
    print(f"{'variant':<12} {'calls/s':>10} {'x ideal':>10}")
    for name, rate in best.items():
        print(f"{name:<12} {rate:10.0f} {rate / ideal:10.2f}")
    ratio = best["breakerlab"] / best["pybreaker"] if best["pybreaker"] > 0 else float("inf")
    verdict = "PASS" if round(ratio, 1) >= THROUGHPUT_TARGET else "FAIL"
    print(f"\nthroughput ratio (breakerlab / pybreaker): {ratio:.1f} (target >= {THROUGHPUT_TARGET:g}): {verdict}")
    return ratio


# -- command line --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options; each one not given takes its ``--quick`` or full default."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of about a second (tests use it); explicit options still win"
    )
    options: tuple[tuple[str, Callable[[str], object], str], ...] = (
        ("calls", positive_int, "overhead: calls per timing"),
        ("repeat", positive_int, "overhead: timings per variant, the best is kept"),
        ("threads", positive_int, "throughput: calling threads"),
        ("sleep_ms", positive_float, "throughput: how long the protected function sleeps, ms"),
        ("duration", positive_float, "throughput: seconds per round per variant"),
        ("throughput_repeat", positive_int, "throughput: rounds per variant, the best is kept"),
    )
    add_sized_options(parser, options, FULL, QUICK)
    return apply_sizes(parser.parse_args(argv), FULL, QUICK)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec("pybreaker") is None:
        print(
            "bench_runtime: pybreaker is not installed; it is the baseline this benchmark compares "
            "against. Install it with: pip install -e '.[bench]'",
            file=sys.stderr,
        )
        return 2
    version = importlib.metadata.version("pybreaker")
    print(
        f"breakerlab CircuitBreaker vs pybreaker {version} (fail_max={FAIL_MAX}, "
        f"reset_timeout={RESET_TIMEOUT_S:g}), Python {sys.version.split()[0]}"
    )
    try:
        print(f"\n1. overhead per successful call, closed state ({args.calls} calls, best of {args.repeat})")
        report_overhead(measure_overhead(args.calls, args.repeat))
        print(
            f"\n2. throughput: {args.threads} threads calling a {args.sleep_ms:g} ms sleep for "
            f"{args.duration:g} s (best of {args.throughput_repeat})"
        )
        report_throughput(
            measure_throughput(args.threads, args.sleep_ms, args.duration, args.throughput_repeat),
            args.threads,
            args.sleep_ms,
        )
    except BenchmarkError as exc:
        print(f"bench_runtime: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

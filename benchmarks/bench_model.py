"""Cost of admitting and recording one call in the closed state, as ratios measured in one run.

Run: ``python benchmarks/bench_model.py [--calls N] [--repeat K]``.

The machines this runs on are shared and noisy, so the script reports ratios against baselines
timed in the same process, interleaved, taking the best of several repeats:

* ``bare call``: calling the protected function directly (the floor);
* ``fast path``: ``permit = breaker.acquire(); breaker.record_success(permit)`` as shipped;
* ``machine only``: the same breaker with every event sent through the ``transitions`` machine
  (``fast_path=False``), i.e. what a breaker that fires a machine trigger per call would cost.
* ``call()``: ``breaker.call(fn)``, including classification.

Target (issue 2): the fast path costs a small multiple of a bare call and far less than one
``transitions`` trigger per event.
"""

from __future__ import annotations

import argparse
import timeit

from breakerlab.model import Breaker, BreakerConfig, ManualClock


def _protected() -> int:
    return 1


def measure(calls: int, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` seconds per call for each variant."""
    clock = ManualClock()
    fast = Breaker(BreakerConfig(), clock=clock)
    slow = Breaker(BreakerConfig(), clock=clock, fast_path=False)

    def bare() -> None:
        for _ in range(calls):
            _protected()

    def fast_path() -> None:
        acquire, record = fast.acquire, fast.record_success
        for _ in range(calls):
            permit = acquire()
            _protected()
            record(permit)

    def machine_only() -> None:
        acquire, record = slow.acquire, slow.record_success
        for _ in range(calls):
            permit = acquire()
            _protected()
            record(permit)

    def via_call() -> None:
        call = fast.call
        for _ in range(calls):
            call(_protected)

    variants = {"bare call": bare, "fast path": fast_path, "machine only": machine_only, "call()": via_call}
    best = {name: float("inf") for name in variants}
    for _ in range(repeat):  # interleaved, so drift in machine load hits every variant alike
        for name, fn in variants.items():
            best[name] = min(best[name], timeit.timeit(fn, number=1) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000, help="calls per timing (default 100000)")
    parser.add_argument("--repeat", type=int, default=5, help="repeats; the best is kept (default 5)")
    args = parser.parse_args()
    best = measure(args.calls, args.repeat)
    bare = best["bare call"]
    print(f"{'variant':<14} {'ns/call':>10} {'x bare call':>12}")
    for name, seconds in best.items():
        print(f"{name:<14} {seconds * 1e9:10.0f} {seconds / bare:12.1f}")
    overhead_fast = best["fast path"] - bare
    overhead_machine = best["machine only"] - bare
    print(
        f"\nbreaker overhead per call: fast path {overhead_fast * 1e9:.0f} ns, machine only "
        f"{overhead_machine * 1e9:.0f} ns: the fast path is {overhead_machine / overhead_fast:.1f}x cheaper"
    )


if __name__ == "__main__":
    main()

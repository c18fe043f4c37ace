"""The benchmarks run, report their ratios and meet their targets.

The tests assert the verdict each benchmark prints (a ratio of two timings measured in the same
run, against the issue's target), never a timing of their own.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
NUMBER = r"-?(?:\d+(?:\.\d+)?|inf)"


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{script} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def assert_verdict(pattern: str, out: str) -> None:
    """The line matching ``pattern`` (whose last group is the PASS/FAIL verdict) is present and says PASS."""
    found = re.search(pattern, out, re.MULTILINE)
    assert found is not None, f"no verdict line matching {pattern!r}:\n{out}"
    assert found.group(found.lastindex or 0) == "PASS", f"target missed: {found.group(0)}\n{out}"


def test_runtime_benchmark_meets_both_targets() -> None:
    """`bench_runtime.py --quick` times every variant and prints the overhead and throughput
    ratios against pybreaker, each meeting the issue's target (PASS). The overhead is timed over
    20,000 calls, best of 5 (about a second): --quick's 2,000 calls once swing the ratio from
    0.3 to 0.7."""
    out = _run("bench_runtime.py", "--quick", "--calls", "20000", "--repeat", "5")
    for variant in ("bare call", "breakerlab", "pybreaker", "no breaker"):
        assert re.search(rf"^{variant} +{NUMBER} ", out, re.MULTILINE), f"no timing for {variant!r}:\n{out}"
    assert_verdict(rf"^overhead ratio \(breakerlab / pybreaker\): {NUMBER} \(target <= 0\.5\): (PASS|FAIL)", out)
    assert_verdict(rf"^throughput ratio \(breakerlab / pybreaker\): {NUMBER} \(target >= 10\): (PASS|FAIL)$", out)


def test_runtime_benchmark_help_runs() -> None:
    """`bench_runtime.py --help` explains the benchmark and its options."""
    out = _run("bench_runtime.py", "--help")
    assert "--quick" in out and "--duration" in out and "pybreaker" in out


def test_model_benchmark_reports_the_fast_path_ratio() -> None:
    """A small `bench_model.py` run times every variant and prints the fast path's ratio to
    the machine."""
    out = _run("bench_model.py", "--calls", "2000", "--repeat", "1")
    for variant in ("bare call", "fast path", "machine only", "call()"):
        assert re.search(rf"^{re.escape(variant)} +{NUMBER} +{NUMBER}$", out, re.MULTILINE), f"no row {variant!r}:\n{out}"
    assert re.search(rf"the fast path is {NUMBER}x cheaper$", out, re.MULTILINE), out


def test_simulator_benchmark_meets_the_speed_ratio_against_the_naive_baseline() -> None:
    """`bench_sim.py` on its --quick scenario (240 s at 100 rps), best of 3 rounds, runs both
    simulators on the same scenario and prints requests per second for each and the ratio,
    which meets the issue's 3x target (PASS)."""
    out = _run("bench_sim.py", "--rate", "100", "--horizon", "240", "--repeat", "3")
    for variant in ("naive", "breakerlab"):
        assert re.search(rf"^{variant} +\d+ +{NUMBER} +\d+$", out, re.MULTILINE), f"no timing for {variant!r}:\n{out}"
    assert_verdict(rf"^speed ratio \(breakerlab / naive, requests per second\): {NUMBER} \(target >= 3\): (PASS|FAIL)$", out)


def test_sweep_benchmark_meets_the_parallel_efficiency_target() -> None:
    """`bench_sweep.py --quick` runs the sweep on one and two processes and prints requests per
    second for each and the parallel efficiency, which meets the 85% target (PASS)."""
    out = _run("bench_sweep.py", "--quick")
    for workers in ("1", "2"):
        assert re.search(rf"^{workers} +{NUMBER} +\d+$", out, re.MULTILINE), out
    assert_verdict(r"^parallel efficiency \(2 workers vs 1\): \d+% \(target >= 85%\): (PASS|FAIL)$", out)

"""The benchmarks run and report their ratios (smoke runs: timings are never asserted, the machines are noisy)."""

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


def test_runtime_benchmark_reports_both_ratios_with_verdicts() -> None:
    """`bench_runtime.py --quick` times every variant and prints the overhead and throughput
    ratios against pybreaker, each with a PASS/FAIL verdict against the issue's target."""
    out = _run("bench_runtime.py", "--quick")
    for variant in ("bare call", "breakerlab", "pybreaker", "no breaker"):
        assert re.search(rf"^{variant} +{NUMBER} ", out, re.MULTILINE), f"no timing for {variant!r}:\n{out}"
    assert re.search(
        rf"^overhead ratio \(breakerlab / pybreaker\): {NUMBER} \(target <= 0\.5\): (PASS|FAIL)", out, re.MULTILINE
    ), out
    assert re.search(
        rf"^throughput ratio \(breakerlab / pybreaker\): {NUMBER} \(target >= 10\): (PASS|FAIL)$", out, re.MULTILINE
    ), out


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


def test_simulator_benchmark_reports_the_speed_ratio_against_the_naive_baseline() -> None:
    """`bench_sim.py --quick` runs both simulators on the same scenario and prints requests per
    second for each and the ratio with a PASS/FAIL verdict against the issue's 3x target."""
    out = _run("bench_sim.py", "--quick")
    for variant in ("naive", "breakerlab"):
        assert re.search(rf"^{variant} +\d+ +{NUMBER} +\d+$", out, re.MULTILINE), f"no timing for {variant!r}:\n{out}"
    assert re.search(
        rf"^speed ratio \(breakerlab / naive, requests per second\): {NUMBER} \(target >= 3\): (PASS|FAIL)$",
        out,
        re.MULTILINE,
    ), out


def test_sweep_benchmark_reports_throughput_and_parallel_efficiency() -> None:
    """`bench_sweep.py --quick` runs the sweep on one and two processes and prints requests per
    second for each and the parallel efficiency with a PASS/FAIL verdict against 85%."""
    out = _run("bench_sweep.py", "--quick")
    for workers in ("1", "2"):
        assert re.search(rf"^{workers} +{NUMBER} +\d+$", out, re.MULTILINE), out
    assert re.search(r"^parallel efficiency \(2 workers vs 1\): \d+% \(target >= 85%\): (PASS|FAIL)$", out, re.MULTILINE), out

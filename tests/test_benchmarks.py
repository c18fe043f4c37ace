"""The benchmarks run, report their ratios consistently and, on a quiet machine, meet their targets.

By default the tests run each benchmark at a small scale and check what it prints: every row,
a ratio recomputed from the printed timings, and a verdict that follows from the ratio and the
target (so a wrong verdict fails). Whether a target is *met* is a measurement of the machine:
the tests that assert PASS are marked ``bench`` and run with ``pytest -m bench`` on a quiet
machine (the default suite runs tests in parallel, so its timings are never quiet).
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
NUMBER = r"-?(?:\d+(?:\.\d+)?|inf)"


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{script} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def verdict_of(pattern: str, out: str) -> tuple[float, str]:
    """(ratio, verdict) from the line matching ``pattern`` (groups: the ratio, the verdict)."""
    found = re.search(pattern, out, re.MULTILINE)
    assert found is not None, f"no verdict line matching {pattern!r}:\n{out}"
    return float(found.group(1)), found.group(2)


def assert_consistent(ratio: float, verdict: str, *, target: float, at_least: bool) -> None:
    """The printed verdict is the one the printed ratio earns against the target."""
    met = ratio >= target if at_least else ratio <= target
    assert verdict == ("PASS" if met else "FAIL"), (ratio, verdict, target)


def column(out: str, name: str, index: int) -> float:
    """Column ``index`` (0 = the name) of the table row that starts with ``name``."""
    found = re.search(rf"^{re.escape(name)} +(.*)$", out, re.MULTILINE)
    assert found is not None, f"no row {name!r}:\n{out}"
    return float(found.group(1).split()[index - 1])


SIM_RATIO = rf"^speed ratio \(breakerlab / naive, requests per second\): ({NUMBER}) \(target >= 3\): (PASS|FAIL)$"
SWEEP_EFFICIENCY = r"^parallel efficiency \(2 workers vs 1\): (\d+)% \(target >= 85%\): (PASS|FAIL)$"
OVERHEAD_RATIO = rf"^overhead ratio \(breakerlab / pybreaker\): ({NUMBER}) \(target <= 0\.5\): (PASS|FAIL)"
THROUGHPUT_RATIO = rf"^throughput ratio \(breakerlab / pybreaker\): ({NUMBER}) \(target >= 10\): (PASS|FAIL)$"


def test_runtime_benchmark_reports_both_ratios_and_their_verdicts() -> None:
    """`bench_runtime.py --quick` times every variant and prints the overhead and throughput
    ratios against pybreaker; each ratio is the one the printed timings give, and each verdict
    the one the ratio earns."""
    out = _run("bench_runtime.py", "--quick")
    for variant in ("bare call", "breakerlab", "pybreaker", "no breaker"):
        assert re.search(rf"^{variant} +{NUMBER} ", out, re.MULTILINE), f"no timing for {variant!r}:\n{out}"
    ratio, verdict = verdict_of(OVERHEAD_RATIO, out)
    overhead = re.search(r"\[(\d+) ns vs (\d+) ns per call\]", out)
    assert overhead is not None, out
    ours, theirs = float(overhead.group(1)), float(overhead.group(2))
    assert ratio == pytest.approx(ours / theirs, abs=0.02 + 1 / theirs)
    assert_consistent(ratio, verdict, target=0.5, at_least=False)
    ratio, verdict = verdict_of(THROUGHPUT_RATIO, out)
    throughput = out.split("\n2. throughput", 1)[1]
    rates = column(throughput, "breakerlab", 1), column(throughput, "pybreaker", 1)
    assert ratio == pytest.approx(rates[0] / rates[1], rel=0.01, abs=0.06)
    assert_consistent(ratio, verdict, target=10, at_least=True)


@pytest.mark.bench
def test_runtime_benchmark_meets_both_targets() -> None:
    """On a quiet machine, `bench_runtime.py` meets both targets: overhead at most 0.5x
    pybreaker's (20,000 calls, best of 5) and throughput at least 10x."""
    out = _run("bench_runtime.py", "--quick", "--calls", "20000", "--repeat", "5")
    assert verdict_of(OVERHEAD_RATIO, out)[1] == "PASS", out
    assert verdict_of(THROUGHPUT_RATIO, out)[1] == "PASS", out


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


def test_simulator_benchmark_reports_the_speed_ratios_and_their_verdicts() -> None:
    """`bench_sim.py --quick` runs breakerlab's simulator and the three baselines on the same
    scenario and prints requests per second for each; each ratio is the one the printed rates
    give, each verdict the one it earns (naive >= 3x, minimal >= 3x, SimPy floor >= 60%), and
    the cost per request of a 100-instance fleet over one instance's (target <= 1.1)."""
    out = _run("bench_sim.py", "--quick")
    for variant in ("naive", "minimal", "floor", "breakerlab", "fleet x100"):
        assert re.search(rf"^{variant} +\d+ +{NUMBER} +\d+$", out, re.MULTILINE), f"no timing for {variant!r}:\n{out}"
    cost, verdict = verdict_of(rf"^cost per request \(100 instances / 1 instance\): ({NUMBER}) \(target <= 1.1\): (PASS|FAIL)$", out)
    assert cost == pytest.approx(column(out, "fleet x100", 2) / column(out, "breakerlab", 2), rel=0.01, abs=0.006)
    assert_consistent(cost, verdict, target=1.1, at_least=False)
    for row, label, target in (("naive", "naive", "3"), ("minimal", "minimal", "3"), ("floor", "SimPy floor", "0.6")):
        pattern = rf"^speed ratio \(breakerlab / {label}, requests per second\): ({NUMBER}) \(target >= {target}\): (PASS|FAIL)$"
        ratio, verdict = verdict_of(pattern, out)
        assert ratio == pytest.approx(column(out, "breakerlab", 3) / column(out, row, 3), rel=0.01, abs=0.006)
        assert_consistent(ratio, verdict, target=float(target), at_least=True)


@pytest.mark.bench
def test_simulator_benchmark_meets_the_speed_ratio_against_the_naive_baseline() -> None:
    """On a quiet machine, breakerlab's simulator processes at least 3x as many simulated
    requests per second as the naive one (240 s at 100 rps, best of 3). The issue-12 targets
    against the minimal newcomer and the SimPy floor are not met yet (see the closing note)."""
    out = _run("bench_sim.py", "--rate", "100", "--horizon", "240", "--repeat", "3")
    assert verdict_of(SIM_RATIO, out)[1] == "PASS", out


def test_sweep_benchmark_reports_the_parallel_efficiency_and_its_verdict() -> None:
    """`bench_sweep.py` (a small sweep) runs on one and two processes, checks they write the same
    tables, and prints the efficiency the printed times give, with the verdict it earns."""
    out = _run("bench_sweep.py", "--replications", "1", "--horizon", "40", "--repeat", "1")
    for workers in ("1", "2"):
        assert re.search(rf"^{workers} +{NUMBER} +\d+$", out, re.MULTILINE), out
    percent, verdict = verdict_of(SWEEP_EFFICIENCY, out)
    one, two = column(out, "1", 1), column(out, "2", 1)
    efficiency = 100 * one / (2 * two)
    # The times are printed to 0.01 s and the efficiency to 1%: the recomputed value is that close.
    assert percent == pytest.approx(efficiency, abs=0.5 + efficiency * (0.005 / one + 0.005 / two) + 1e-9)
    assert_consistent(percent / 100, verdict, target=0.85, at_least=True)


@pytest.mark.bench
def test_sweep_benchmark_meets_the_parallel_efficiency_target() -> None:
    """On a quiet two-core machine, the benchmark's sweep (36 cells x 3 runs of 240 s, best of
    2; about 35 s) reaches at least 85% parallel efficiency. --quick's sweep is too short for
    the verdict to mean anything: starting the worker processes dominates it."""
    out = _run("bench_sweep.py")
    assert verdict_of(SWEEP_EFFICIENCY, out)[1] == "PASS", out

"""Adaptive replications: Kim and Nelson's procedure on its own (it selects the best with the
stated probability, sets identical settings aside) and inside a sweep (runs go only to settings
still in contention; identical results for any number of jobs, on Dask, after an interruption,
and when a budget is extended; the recommendation says what the procedure did)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from breakerlab.model import InvalidConfigError
from breakerlab.sim.sweeps.run import run_sweep
from breakerlab.sim.sweeps.selection import Problem, Screening, kn_h2, problems
from breakerlab.sim.sweeps.spec import SweepSpec, default_spec
from breakerlab.sim.sweeps.store import SweepStore

ADAPTIVE = {
    "name": "adaptive",
    "replications": {"min": 3, "max": 10, "indifference": 5.0},
    "seed": 11,
    "horizon_s": 60.0,
    "grid": {"breaker.fail_max": [2, 5], "breaker.reset_timeout": [1.0, 10.0, 30.0]},
    "base": {"workload.rate_rps": 50.0},
    "traces": [
        {"family": "hard_down", "start_s": 10.0, "duration_s": 30.0},
        {"family": "flapping", "start_s": 10.0, "duration_s": 40.0},
    ],
}


def _spec(**changes: object) -> SweepSpec:
    return SweepSpec.from_mapping({**ADAPTIVE, **changes})


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("adaptive") / "out"
    run_sweep(_spec(), folder, jobs=1)
    return folder


# -- the procedure on its own ----------------------------------------------------------------


def _problem(systems: int) -> Problem:
    return Problem("test", tuple({"breaker.fail_max": i} for i in range(systems)), tuple(((i, 1.0),) for i in range(systems)))


def _select(means: np.ndarray, sigma: float, rng: np.random.Generator, *, first: int, delta: float, most: int,
            shared: float = 0.0) -> tuple[int, int, str]:
    """One selection with normal observations (a shared per-replication term: common random
    numbers); returns the leader, the replications used and why the procedure stopped."""
    observe: dict[tuple[int, int], float] = {}

    def draw(replication: int, systems: list[int]) -> None:
        common = rng.normal(0.0, shared)
        for system in systems:
            observe[system, replication] = means[system] + common + rng.normal(0.0, sigma)

    everyone = list(range(len(means)))
    for replication in range(first):
        draw(replication, everyone)
    screening = Screening.start(_problem(len(means)), observe, first=first, confidence=0.95, indifference=delta,
                                relative_indifference=0.0, most=most)
    while screening.running:
        draw(screening.replications, screening.survivors)
        screening.advance(observe, most)
    leader = screening.leader(observe)
    assert leader is not None
    return leader, screening.replications, screening.stopped


def test_kn_selects_the_best_with_at_least_the_stated_probability() -> None:
    """The slippage configuration (the best exactly delta better than four others, the least
    favourable case) with noise twice delta: KN picks the best in at least 95% of selections
    (KN is conservative; 300 selections give a standard error of about 1.3 points), and stops
    by separating, not at the cap."""
    rng = np.random.default_rng(20011)
    delta, sigma = 1.0, 2.0
    means = np.array([0.0, delta, delta, delta, delta])
    outcomes = [_select(means, sigma, rng, first=10, delta=delta, most=10_000) for _ in range(300)]
    correct = np.mean([leader == 0 for leader, _, _ in outcomes])
    assert correct >= 0.93, correct
    assert all(stopped == "separated" for _, _, stopped in outcomes)
    # A procedure that compared means without KN's continuation region would stop at once and
    # be wrong far more often: the noise of a first-stage mean is 2/sqrt(10) = 0.63 delta.
    assert np.mean([replications for _, replications, _ in outcomes]) > 20


def test_common_random_numbers_make_kn_stop_sooner() -> None:
    """KN works on the variance of differences, so noise shared by every setting in a
    replication (what the sweep's common seeds give) costs nothing."""
    means = np.array([0.0, 1.0, 1.0, 3.0])
    independent = [_select(means, 2.0, np.random.default_rng(s), first=5, delta=1.0, most=10_000)[1] for s in range(40)]
    shared = [_select(means, 0.5, np.random.default_rng(s), first=5, delta=1.0, most=10_000, shared=1.9)[1]
              for s in range(40)]
    assert np.mean(shared) < np.mean(independent) / 4


def test_kn_h2_is_kim_and_nelsons_constant() -> None:
    """h^2 = 2 eta (n0 - 1) with eta = ((2 alpha / (k - 1))^(-2 / (n0 - 1)) - 1) / 2, computed
    here by hand for k = 3, n0 = 3, alpha = 0.05: eta = (0.05^-1 - 1) / 2 = 9.5, h^2 = 38."""
    assert kn_h2(3, 3, 0.95) == pytest.approx(38.0)
    assert kn_h2(1, 3, 0.95) == 0.0
    assert kn_h2(10, 20, 0.95) < kn_h2(10, 5, 0.95) < kn_h2(40, 5, 0.95)


def test_identical_settings_are_set_aside_and_undefined_ones_left_out() -> None:
    """Settings equal on every run cannot be separated by more runs: the later one in the grid
    is set aside. A setting whose objective is undefined on a run is not ranked."""
    observe = {}
    for replication in range(4):
        observe[0, replication] = 10.0 + replication
        observe[1, replication] = 10.0 + replication  # identical to 0
        observe[2, replication] = 50.0 + 3 * replication
        observe[3, replication] = float("nan") if replication == 2 else 0.0
    screening = Screening.start(_problem(4), observe, first=4, confidence=0.95, indifference=1.0,
                                relative_indifference=0.0, most=20)
    assert screening.undefined == [3] and screening.identical == [1]
    assert screening.survivors == [0] and screening.stopped == "separated"
    record = screening.record(observe, {0: 4, 1: 4, 2: 4, 3: 4})
    assert record["leader"] == {"breaker.fail_max": 0} and record["identical"] == 1 and record["undefined"] == 1


def test_the_relative_indifference_zone_is_a_share_of_the_best_first_stage_mean() -> None:
    observe = {(i, r): 200.0 * (i + 1) + r for i in range(3) for r in range(3)}
    screening = Screening.start(_problem(3), observe, first=3, confidence=0.95, indifference=None,
                                relative_indifference=0.05, most=3)
    assert screening.delta == pytest.approx(0.05 * 201.0)


def test_problems_pool_worlds_and_traces_with_equal_weight() -> None:
    spec = _spec(grid={"breaker.fail_max": [2, 5], "workload.rate_rps": [20.0, 50.0]}, base={})
    found = {problem.name: problem for problem in problems(spec.cells())}
    assert list(found) == ["hard_down", "flapping", "all"]
    assert [len(members) for members in found["hard_down"].members] == [2, 2]  # two worlds each
    assert all(weight == 0.5 for members in found["hard_down"].members for _, weight in members)
    assert all(weight == 0.25 for members in found["all"].members for _, weight in members)


# -- in a sweep ------------------------------------------------------------------------------


def _runs(folder: pathlib.Path) -> dict[int, int]:
    return {int(cell): n for cell, n in json.loads((folder / "selection.json").read_text())["runs"].items()}


def test_runs_go_only_to_settings_still_in_contention(serial: pathlib.Path) -> None:
    spec = _spec()
    runs = _runs(serial)
    selection = json.loads((serial / "selection.json").read_text())
    results = pd.read_csv(serial / "results.csv")
    assert len(results) == sum(runs.values()) and len(results) + 2 * 3 == selection["simulations"]
    assert all(n >= 3 for n in runs.values()) and max(runs.values()) <= 10
    assert min(runs.values()) == 3 < max(runs.values())  # some settings left after the first stage
    counts = results.groupby("cell")["replication"].agg(["count", "max"])
    assert (counts["count"] == counts["max"] + 1).all()  # replications 0..n-1, none skipped
    for record in selection["problems"]:
        assert record["procedure"].startswith("KN (Kim and Nelson 2001")
        assert record["stopped"] in {"separated", "max_replications"}
        assert record["confidence"] == 0.95 and record["indifference"] == 5.0
    # a setting eliminated everywhere at the first stage got no more runs
    cells = spec.cells()
    hard_down = next(r for r in selection["problems"] if r["problem"] == "hard_down")
    assert hard_down["runs"] == sum(runs[c.index] for c in cells if c.trace == "hard_down")


def test_parallel_runs_give_identical_tables(serial: pathlib.Path, tmp_path: pathlib.Path) -> None:
    run_sweep(_spec(), tmp_path / "parallel", jobs=2)
    for name in ("results.csv", "summary.csv", "baselines.csv", "selection.json"):
        assert (tmp_path / "parallel" / name).read_bytes() == (serial / name).read_bytes(), name


def test_dask_runs_give_identical_tables(serial: pathlib.Path, tmp_path: pathlib.Path) -> None:
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_sweep(_spec(), tmp_path / "dask", scheduler=cluster.scheduler_address)
    for name in ("results.csv", "selection.json"):
        assert (tmp_path / "dask" / name).read_bytes() == (serial / name).read_bytes(), name


def test_an_interrupted_adaptive_sweep_resumes_to_identical_tables(serial: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """Interrupted after the first stage, in the middle of the adaptive stages."""
    folder = tmp_path / "interrupted"
    first = _spec().first_stage_runs()

    def interrupt(done: int, total: int) -> None:
        if done == first + 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(_spec(), folder, jobs=1, progress=interrupt)
    assert len(SweepStore(folder).finished()) == first + 3 and not (folder / "selection.json").exists()
    outcome = run_sweep(_spec(), folder, resume=True, jobs=2)
    assert outcome.reused == first + 3
    for name in ("results.csv", "summary.csv", "selection.json"):
        assert (folder / name).read_bytes() == (serial / name).read_bytes(), name


def test_a_budget_stops_the_procedure_and_a_larger_one_goes_on(serial: pathlib.Path, tmp_path: pathlib.Path) -> None:
    first = _spec().first_stage_runs()
    total = json.loads((serial / "selection.json").read_text())["simulations"]
    assert total > first + 10
    folder = tmp_path / "budget"
    run_sweep(_spec(replications={**ADAPTIVE["replications"], "max_runs": first + 10}), folder, jobs=1)  # type: ignore[dict-item]
    selection = json.loads((folder / "selection.json").read_text())
    assert first < selection["simulations"] <= first + 10
    assert any(record["stopped"] == "budget" for record in selection["problems"])
    # resuming with a larger budget retraces the same stages and ends where an unbudgeted run does
    run_sweep(_spec(), folder, resume=True, jobs=1)
    for name in ("results.csv", "selection.json"):
        assert (folder / name).read_bytes() == (serial / name).read_bytes(), name


@pytest.mark.parametrize(
    ("replications", "message"),
    [
        ({"min": 3}, "'replications.max' must be given"),
        ({"min": 3, "max": 2}, "'replications.max' must be an int >= replications.min (3)"),
        ({"min": 1, "max": 5}, "'replications.min' must be an int >= 2"),
        ({"min": 3, "max": 5, "confidence": 1.0}, "'replications.confidence' must be a probability in (0, 1)"),
        ({"min": 3, "max": 5, "indifference": -1}, "'replications.indifference' must be a positive difference"),
        ({"min": 3, "max": 5, "indifference": "five%"}, "'replications.indifference' must be a positive difference"),
        ({"min": 3, "max": 5, "max_runs": 10}, "'replications.max_runs' must be at least the first stage's 42"),
        ({"min": 3, "max": 5, "step": 2}, "'replications.step' must be a key of the table (min, max"),
    ],
)
def test_invalid_adaptive_settings_fail_before_anything_runs(replications: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        _spec(replications=replications)
    assert message in str(caught.value)


def test_the_spec_round_trips_through_its_mapping() -> None:
    spec = _spec(replications={"min": 3, "max": 8, "confidence": 0.9, "indifference": "2%", "max_runs": 200})
    assert SweepSpec.from_mapping(spec.as_mapping()) == spec
    assert spec.indifference_zone() == (None, pytest.approx(0.02))


def _breakerlab(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "breakerlab.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_command_states_the_procedure_and_no_plots_still_writes_it(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "adaptive.toml"
    config.write_text(
        'name = "adaptive"\nseed = 11\nhorizon_s = 60.0\n'
        'replications = {min = 3, max = 10, indifference = 5.0}\n'
        '[grid]\n"breaker.fail_max" = [2, 5]\n"breaker.reset_timeout" = [1.0, 10.0, 30.0]\n'
        '[base]\n"workload.rate_rps" = 50.0\n'
        '[[traces]]\nfamily = "hard_down"\nstart_s = 10.0\nduration_s = 30.0\n'
        '[[traces]]\nfamily = "flapping"\nstart_s = 10.0\nduration_s = 40.0\n'
    )
    out = _breakerlab("sweep", "--config", str(config), "--out", "out", "--no-plots", "--jobs", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "then up to 10 runs for the settings that can still be the best (KN, 95% confidence" in out.stdout
    text = (tmp_path / "out" / "recommendation.txt").read_text()
    selection = json.loads((tmp_path / "out" / "selection.json").read_text())
    assert f"adaptive replications: {selection['simulations']} simulations, allocated by KN (Kim and Nelson 2001" in text
    for record in selection["problems"]:
        line = next(line for line in text.splitlines() if line.startswith(record["problem"] + ":"))
        assert "KN (Kim and Nelson 2001) at 95% confidence, indifference zone 5" in line
        assert ("selected by" in line) == (record["stopped"] == "separated")
    table = pd.read_csv(tmp_path / "out" / "recommendation.csv")
    assert table["selection"].str.contains("KN").all()
    # --max-runs needs an adaptive sweep
    config.write_text(config.read_text().replace("replications = {min = 3, max = 10, indifference = 5.0}", "replications = 2"))
    fixed = _breakerlab("sweep", "--config", str(config), "--max-runs", "50", "--out", "fixed", cwd=tmp_path)
    assert fixed.returncode == 2 and "'--max-runs' must be used with adaptive replications" in fixed.stderr
    # and a budget that holds the first stage
    small = _breakerlab("sweep", "--max-runs", "100", "--out", "tiny", cwd=tmp_path)
    first = default_spec().first_stage_runs()
    assert small.returncode == 2 and f"'--max-runs' must be at least the first stage's {first} simulations" in small.stderr
    assert not (tmp_path / "tiny").exists()

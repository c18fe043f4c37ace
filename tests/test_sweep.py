"""Sweeps: the spec's validation, seeds, identical results serially / in parallel / on Dask,
resuming after an interruption, and the summary's confidence intervals."""

from __future__ import annotations

import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from scipy import stats

from breakerlab.model import InvalidConfigError
from breakerlab.sim import simulate
from breakerlab.sim.sweeps.pool import MAX_JOBS_PER_CORE, MIN_JOBS_LIMIT, check_jobs
from breakerlab.sim.sweeps.run import plan_tasks, run_sweep
from breakerlab.sim.sweeps.spec import SweepSpec, default_spec, load_spec
from breakerlab.sim.sweeps.store import SweepStore, flatten

SMALL = {
    "name": "small",
    "replications": 3,
    "seed": 7,
    "horizon_s": 40.0,
    "grid": {"breaker.fail_max": [1, 5], "breaker.reset_timeout": [1.0, 10.0]},
    "base": {"workload.rate_rps": 50.0},
    "traces": [
        {"family": "hard_down", "start_s": 10.0, "duration_s": 15.0},
        {"family": "flapping_random", "start_s": 5.0, "duration_s": 30.0},
    ],
}


def _spec(**changes: object) -> SweepSpec:
    return SweepSpec.from_mapping({**SMALL, **changes})


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("serial") / "out"
    run_sweep(_spec(), folder, jobs=1)
    return folder


# -- the spec --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"replicas": 3}, "'replicas' must be a sweep key (name, replications, seed"),
        ({"grid": {"breaker.fail_maxx": [1]}}, "'breaker.fail_maxx' must be a known option (breaker.admit_at_deadline"),
        ({"grid": {"workload.rate": [1]}}, "'workload.rate' must be a known option (workload.arrivals, workload.balancer, workload.breaker_scope, workload.call_timeout_s"),
        ({"grid": {"engine.speed": [1]}}, "'engine.speed' must be a known option (sections breaker, scenario, service, trace"),
        ({"grid": {"breaker.fail_max": [1, 0]}}, "'fail_max' must be an int >= 1 (got 0)"),
        ({"grid": {"breaker.fail_max": 3}}, "'grid.breaker.fail_max' must be a non-empty list of values (got 3)"),
        ({"grid": {"trace.period_s": [5.0]}}, "'trace.period_s' must be a parameter of one of the sweep's traces"),
        ({"base": {"breaker.fail_max": 2}}, "'breaker.fail_max' must be set once (in grid or in base, not both)"),
        ({"traces": [{"family": "meteor"}]}, "'traces.family' must be one of 'healthy', 'hard_down'"),
        ({"traces": [{"start_s": 3}]}, "'traces[0]' must be a table with family = NAME"),
        ({"replications": 0}, "'replications' must be an int >= 1 (got 0)"),
        ({"objective": {"happiness": 1}}, "'objective.happiness' must be a metric (offered, attempts"),
        ({"base": {"workload.workers": 0}}, "'workers' must be an int >= 1 (got 0)"),
    ],
)
def test_invalid_sweeps_fail_before_anything_runs(changes: dict[str, object], message: str) -> None:
    """Unknown keys list the valid ones; invalid values name the key, the rule and the value."""
    with pytest.raises(InvalidConfigError) as caught:
        _spec(**changes)
    assert message in str(caught.value)


def test_sweep_files_are_read_and_bad_toml_is_reported(tmp_path: pathlib.Path) -> None:
    """A TOML sweep file is read into the same spec; a syntax error names the file."""
    path = tmp_path / "sweep.toml"
    path.write_text(
        'name = "small"\nreplications = 3\nseed = 7\nhorizon_s = 40.0\n'
        '[grid]\n"breaker.fail_max" = [1, 5]\n"breaker.reset_timeout" = [1.0, 10.0]\n'
        '[base]\n"workload.rate_rps" = 50.0\n'
        '[[traces]]\nfamily = "hard_down"\nstart_s = 10.0\nduration_s = 15.0\n'
        '[[traces]]\nfamily = "flapping_random"\nstart_s = 5.0\nduration_s = 30.0\n'
    )
    assert load_spec(path) == _spec()
    path.write_text("name = \n")
    with pytest.raises(InvalidConfigError, match="'--config' must be valid TOML"):
        load_spec(path)


def test_the_built_in_sweep_is_fail_max_by_reset_timeout_over_four_outages() -> None:
    """`breakerlab sweep` with no arguments sweeps fail_max × reset_timeout over four outages."""
    spec = default_spec()
    assert dict(spec.grid).keys() == {"breaker.fail_max", "breaker.reset_timeout"}
    assert [family for family, _ in spec.traces] == ["hard_down", "hang", "brownout", "flapping"]
    assert spec.replications >= 3


def test_breaker_settings_share_seeds_and_worlds_do_not() -> None:
    """A run's seed depends on its world and replication, not on the breaker options (common
    random numbers), and differs between replications and between traces."""
    spec = _spec()
    cells = spec.cells()
    same_world = [c for c in cells if c.world == cells[0].world]
    assert len(same_world) == 4
    assert len({spec.run_seed(c, 0) for c in same_world}) == 1
    assert spec.run_seed(cells[0], 0) != spec.run_seed(cells[0], 1)
    assert spec.run_seed(cells[0], 0) != spec.run_seed(cells[-1], 0)
    assert _spec(seed=8).run_seed(cells[0], 0) != spec.run_seed(cells[0], 0)


# -- running ---------------------------------------------------------------------------------


def test_results_have_one_row_per_cell_and_replication_with_parameters_and_metrics(serial: pathlib.Path) -> None:
    """results.csv has a row per (cell, replication) with every parameter, the seed and every
    metric; baselines.csv a row per (world, replication, policy); Parquet matches the CSV."""
    results = pd.read_csv(serial / "results.csv")
    assert len(results) == 8 * 3
    for column in ("cell", "replication", "seed", "trace", "breaker.fail_max", "breaker.reset_timeout",
                   "workload.rate_rps", "trace.start_s", "time_to_open_s", "false_rejections", "time_in_state_s.open"):
        assert column in results.columns
    baselines = pd.read_csv(serial / "baselines.csv")
    assert len(baselines) == 2 * 3 * 2 and set(baselines["policy"]) == {"no_breaker", "oracle"}
    parquet = pd.read_parquet(serial / "results.parquet")
    pd.testing.assert_frame_equal(parquet, results, check_dtype=False)


def test_any_cell_can_be_rerun_alone(serial: pathlib.Path) -> None:
    """Rerunning one cell's scenario with its recorded seed reproduces its row exactly."""
    spec = _spec()
    cell = spec.cells()[5]
    row = SweepStore(serial).read_run("c00005-r002.json")["row"]
    again = flatten(simulate(cell.scenario, row["seed"], baselines=False).metrics.as_dict())
    for key, value in again.items():
        assert row[key] == value or (isinstance(value, float) and math.isnan(value) and math.isnan(row[key]))


def test_parallel_and_serial_runs_give_identical_tables(serial: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """Two local processes write byte-identical tables to a serial run."""
    run_sweep(_spec(), tmp_path / "parallel", jobs=2)
    for name in ("results.csv", "summary.csv", "baselines.csv"):
        assert (tmp_path / "parallel" / name).read_bytes() == (serial / name).read_bytes(), name


def test_dask_runs_give_identical_tables(serial: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """A local Dask cluster (two worker processes), through the API and through `breakerlab sweep
    --scheduler`, writes byte-identical tables to a serial run."""
    from distributed import LocalCluster

    config = _write_small(tmp_path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_sweep(_spec(), tmp_path / "dask", scheduler=cluster.scheduler_address)
        command = _breakerlab("sweep", "--config", str(config), "--out", "cli", "--scheduler", cluster.scheduler_address,
                              "--no-plots", cwd=tmp_path)
        assert command.returncode == 0, command.stderr
        assert "on Dask at tcp://" in command.stdout
    for name in ("results.csv", "summary.csv", "baselines.csv"):
        assert (tmp_path / "dask" / name).read_bytes() == (serial / name).read_bytes(), name
        assert (tmp_path / "cli" / name).read_bytes() == (serial / name).read_bytes(), name


def test_resume_computes_only_what_is_missing(serial: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """After an interruption, --resume runs only the missing runs and the tables are identical
    to an uninterrupted sweep's; a folder holding a sweep is never overwritten."""
    folder = tmp_path / "interrupted"
    calls = []

    def interrupt(done: int, total: int) -> None:
        calls.append(done)
        if done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(_spec(), folder, jobs=1, progress=interrupt)
    assert len(SweepStore(folder).finished()) == 10
    assert not (folder / "results.csv").exists()
    with pytest.raises(InvalidConfigError, match="add --resume"):
        run_sweep(_spec(), folder, jobs=1)
    with pytest.raises(InvalidConfigError, match="'--resume' must be used with the sweep the folder holds"):
        run_sweep(_spec(seed=99), folder, resume=True)
    outcome = run_sweep(_spec(), folder, resume=True, jobs=2)
    assert (outcome.reused, outcome.computed) == (10, len(plan_tasks(_spec())) - 10)
    for name in ("results.csv", "summary.csv", "baselines.csv"):
        assert (folder / name).read_bytes() == (serial / name).read_bytes(), name


def test_summary_has_means_and_student_t_intervals(serial: pathlib.Path) -> None:
    """summary.csv gives each cell's mean and 95% t interval over its replications."""
    results = pd.read_csv(serial / "results.csv")
    summary = pd.read_csv(serial / "summary.csv")
    values = results.loc[results["cell"] == 2, "calls_to_unhealthy"].to_numpy(dtype=float)
    row = summary.loc[summary["cell"] == 2].iloc[0]
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    assert row["n"] == 3
    assert row["calls_to_unhealthy.mean"] == pytest.approx(values.mean())
    assert row["calls_to_unhealthy.ci_low"] == pytest.approx(values.mean() - half)
    assert row["calls_to_unhealthy.ci_high"] == pytest.approx(values.mean() + half)


# -- the command -----------------------------------------------------------------------------


def _write_small(
    tmp_path: pathlib.Path, replications: int = 3, horizon_s: float = 40.0, rate_rps: float = 50.0,
) -> pathlib.Path:
    path = tmp_path / "small.toml"
    path.write_text(
        f'name = "small"\nreplications = {replications}\nseed = 7\nhorizon_s = {horizon_s}\n'
        '[grid]\n"breaker.fail_max" = [1, 5]\n"breaker.reset_timeout" = [1.0, 10.0]\n'
        f'[base]\n"workload.rate_rps" = {rate_rps}\n'
        '[[traces]]\nfamily = "hard_down"\nstart_s = 10.0\nduration_s = 15.0\n'
        '[[traces]]\nfamily = "flapping_random"\nstart_s = 5.0\nduration_s = 30.0\n'
    )
    return path


def _breakerlab(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "breakerlab.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_sweep_command_names_its_output_folder_and_never_overwrites(tmp_path: pathlib.Path) -> None:
    """`breakerlab sweep --config F` writes to a new folder it names at the end; a second run
    gets a numbered folder; bad options exit 2 with a message."""
    config = _write_small(tmp_path, replications=2, horizon_s=20.0)
    first = _breakerlab("sweep", "--config", str(config), "--jobs", "1", "--quiet", "--no-plots", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "results written to breakerlab-sweeps/small" in first.stdout
    folder = tmp_path / "breakerlab-sweeps" / "small"
    assert not (folder / "plots").exists()  # --no-plots draws nothing, but still recommends
    recommendation = (folder / "recommendation.txt").read_text()
    assert recommendation.startswith("objective (lower is better)") and "hard_down: fail_max=" in recommendation
    assert recommendation.strip().splitlines()[-1] in first.stdout and "averaged" not in recommendation
    second = _breakerlab("sweep", "--config", str(config), "--jobs", "1", "--quiet", "--no-plots", cwd=tmp_path)
    assert "results written to breakerlab-sweeps/small-2" in second.stdout
    bad = _breakerlab("sweep", "--resume", cwd=tmp_path)
    assert bad.returncode == 2 and "'--resume' must be used with --out DIR" in bad.stderr
    bad = _breakerlab("sweep", "--jobs", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "'--jobs' must be an int >= 1 (got 0)" in bad.stderr
    bad = _breakerlab("sweep", "--jobs", "100000", cwd=tmp_path)
    assert bad.returncode == 2 and "'--jobs' must be at most " in bad.stderr and "(got 100000)" in bad.stderr
    assert "Traceback" not in bad.stderr and sorted(p.name for p in folder.parent.iterdir()) == ["small", "small-2"]
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('name = "wrong"\n[grid]\n"breaker.fail_max" = [3, -1]\n')
    bad = _breakerlab("sweep", "--config", str(wrong), cwd=tmp_path)
    assert bad.returncode == 2 and "'fail_max' must be an int >= 1 (got -1)" in bad.stderr
    assert "in cell 1 of sweep 'wrong'" in bad.stderr  # where: the error's note
    assert not (tmp_path / "breakerlab-sweeps" / "wrong").exists()  # nothing ran


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_an_interrupted_sweep_resumes_to_identical_tables(tmp_path: pathlib.Path, stop: signal.Signals) -> None:
    """Ctrl-C during `breakerlab sweep` exits 130 naming the folder and the resume command (a
    killed process says nothing); either way the finished runs are kept and `--resume --out DIR`
    finishes with tables identical to an uninterrupted sweep."""
    config = _write_small(tmp_path, replications=6, horizon_s=120.0)
    folder = tmp_path / "interrupted"
    # One worker, so that the interrupt lands while most runs are still to come, even on a
    # loaded machine (the resume below uses two).
    process = subprocess.Popen(
        [sys.executable, "-m", "breakerlab.cli", "sweep", "--config", str(config), "--out", str(folder),
         "--jobs", "1", "--quiet", "--no-plots"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(SweepStore(folder).finished()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, stop)  # the whole process group, as a terminal's Ctrl-C does
    _, stderr = process.communicate(timeout=120)
    if stop == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert f"breakerlab sweep --resume --out {folder}" in stderr and "Traceback" not in stderr
    else:
        assert process.returncode == -signal.SIGKILL
    saved = len(SweepStore(folder).finished())
    assert 3 <= saved < len(plan_tasks(load_spec(config)))
    resumed = _breakerlab("sweep", "--resume", "--out", str(folder), "--jobs", "2", "--quiet", "--no-plots", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{saved} reused from earlier runs" in resumed.stdout
    reference = tmp_path / "reference"
    run_sweep(load_spec(config), reference, jobs=1)  # the tables are the same for any --jobs
    for name in ("results.csv", "summary.csv", "baselines.csv"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name


def test_sweep_writes_plots_and_a_recommendation_and_plot_redraws_them(tmp_path: pathlib.Path) -> None:
    """A sweep with --no-plots still writes the recommendation; `breakerlab plot DIR` then draws
    the heatmaps, the trade-off plot and a timeline per trace from the saved results without
    simulating, with the objective it is given. (The sweep's own plots are the README
    main-command test's.)"""
    config = _write_small(tmp_path, replications=2, horizon_s=30.0)
    out = _breakerlab(
        "sweep", "--config", str(config), "--out", "done", "--jobs", "1", "--quiet", "--no-plots", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert not list((tmp_path / "done").glob("plots/*.png"))
    recommendation = (tmp_path / "done" / "recommendation.txt").read_text()
    assert "hard_down: fail_max=" in recommendation and "objective (lower is better)" in recommendation
    assert recommendation.strip().splitlines()[-1] in out.stdout
    runs_before = sorted((tmp_path / "done" / "runs").iterdir())
    # Drawn with another objective: the plots, and a recommendation of that objective.
    weighted = _breakerlab("plot", "done", "--objective", "failed_calls=1,false_rejections=0.1", cwd=tmp_path)
    assert weighted.returncode == 0, weighted.stderr
    plots = sorted(p.name for p in (tmp_path / "done" / "plots").glob("*.png"))
    assert "heatmap-time_to_open_s.png" in plots and "heatmap-false_rejections.png" in plots
    assert any(p.startswith("tradeoff-") for p in plots)
    assert sum(p.startswith("timeline-") for p in plots) == 2
    assert sorted((tmp_path / "done" / "runs").iterdir()) == runs_before
    assert "0.1 × false_rejections" in weighted.stdout
    assert "0.1 × false_rejections" in (tmp_path / "done" / "recommendation.txt").read_text()
    missing = _breakerlab("plot", "nowhere", cwd=tmp_path)
    assert missing.returncode == 2 and "'RESULTS_DIR' must be a folder holding a sweep" in missing.stderr


ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_sweep_file_documented_in_sim_readme_is_valid(tmp_path: pathlib.Path) -> None:
    """The TOML example in sim/README.md is a valid sweep (every cell builds)."""
    import re

    block = re.search(r"```toml\n(.*?)```", (ROOT / "sim" / "README.md").read_text(), re.DOTALL)
    assert block is not None
    path = tmp_path / "example.toml"
    path.write_text(block.group(1))
    spec = load_spec(path)
    assert len(spec.cells()) == 3 * 2 * 2 and spec.objective


def _toml(value: object) -> str:
    """``value`` (a spec's ``as_mapping()`` or a part of it) as TOML, inline tables and all."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    assert isinstance(value, dict), value
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def test_the_readme_main_command_runs_the_built_in_sweep_at_reduced_scale(tmp_path: pathlib.Path) -> None:
    """The README's main command ends in `breakerlab sweep`; the built-in sweep, with a corner of
    its grid and two runs per cell, goes through the same command to the same folder of tables,
    plots and recommendation (the whole sweep is the slow test below)."""
    readme = (ROOT / "README.md").read_text()
    command = readme.split("<!-- main-command -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert command.endswith(".venv/bin/breakerlab sweep")
    built_in = default_spec().as_mapping()
    # The smallest and largest reset_timeout at the smallest fail_max (a line of the grid: the
    # heatmaps, the objective curve and the recommendation all have two settings to compare).
    corner = {
        key: [values[0]] if key.endswith("fail_max") else [values[0], values[-1]]
        for key, values in built_in["grid"].items()
    }
    # The budget is the first stage and its baselines: the adaptive stage starts, and stops at once;
    # and each run lasts 160 simulated seconds instead of 240 (the outages end by 150 s).
    reduced = {
        **built_in, "replications": {**built_in["replications"], "min": 2, "max": 3, "max_runs": 40}, "grid": corner,
        "horizon_s": 160.0,
    }
    config = tmp_path / "reduced.toml"
    config.write_text("\n".join(f"{key} = {_toml(value)}" for key, value in reduced.items()) + "\n")
    assert load_spec(config).traces == default_spec().traces
    out = _breakerlab("sweep", "--config", str(config), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "breakerlab-sweeps" / "default"
    assert out.stdout.strip().endswith("results written to breakerlab-sweeps/default")
    results = pd.read_csv(folder / "results.csv")
    settings = len(corner["breaker.fail_max"]) * len(corner["breaker.reset_timeout"])
    first_stage = settings * len(built_in["traces"]) * 2
    assert first_stage <= len(results) <= first_stage + settings * len(built_in["traces"])
    assert results["unfinished"].eq(0).all()
    assert "adaptive replications:" in (folder / "recommendation.txt").read_text()
    assert len(list((folder / "plots").glob("heatmap-*.png"))) >= 6
    assert len(list((folder / "plots").glob("timeline-*.png"))) == len(built_in["traces"])
    assert (folder / "plots" / "objective-vs-reset_timeout.png").exists()
    assert (folder / "recommendation.txt").read_text().startswith("objective (lower is better)")


@pytest.mark.slow
def test_the_readme_main_command_runs_the_built_in_sweep(tmp_path: pathlib.Path) -> None:
    """The README's main command ends in `breakerlab sweep`, which runs the built-in sweep and
    names the folder holding its tables, plots and recommendation."""
    readme = (ROOT / "README.md").read_text()
    command = readme.split("<!-- main-command -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert command.endswith(".venv/bin/breakerlab sweep")
    out = _breakerlab("sweep", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "breakerlab-sweeps" / "default"
    assert out.stdout.strip().endswith("results written to breakerlab-sweeps/default")
    results = pd.read_csv(folder / "results.csv")
    spec = default_spec()
    selection = json.loads((folder / "selection.json").read_text())
    assert len(results) == sum(selection["runs"].values()) >= len(spec.cells()) * spec.replications
    assert spec.max_runs is None or selection["simulations"] <= spec.max_runs
    assert results["unfinished"].eq(0).all()
    assert "adaptive replications:" in (folder / "recommendation.txt").read_text()
    assert len(list((folder / "plots").glob("heatmap-*.png"))) >= 6
    assert len(list((folder / "plots").glob("timeline-*.png"))) == len(spec.traces)
    assert (folder / "plots" / "objective-vs-reset_timeout.png").exists()
    assert (folder / "recommendation.txt").read_text().startswith("objective (lower is better)")


def test_a_sweep_over_library_presets_compares_them_on_the_same_random_numbers(tmp_path: pathlib.Path) -> None:
    """`breaker.preset` sweeps libraries' presets (pybreaker's with its whole-call lock); rows
    carry the preset and the fail_max/reset_timeout it ran with; every preset of a world meets
    the same seeds."""
    spec = SweepSpec.from_mapping({
        "name": "presets", "replications": 2, "horizon_s": 40.0,
        "grid": {"breaker.preset": ["pybreaker", "gobreaker", "resilience4j", "opossum", "cockatiel"]},
        "traces": [{"family": "hang", "start_s": 10.0, "duration_s": 20.0}],
    })
    cells = spec.cells()
    assert [c.scenario.serialize_calls for c in cells] == [True, False, False, False, False]
    assert [c.scenario.breaker.fail_max for c in cells] == [5, 6, 5, 5, 5]
    assert cells[2].scenario.breaker.trip_rule.value == "count_window"
    assert (cells[3].scenario.breaker.trip_rule.value, cells[3].scenario.breaker.call_timeout) == ("time_window", 10.0)
    assert len({spec.run_seed(c, 0) for c in cells}) == 1
    run_sweep(spec, tmp_path / "out", jobs=1)
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(results["breaker.preset"][::2]) == ["pybreaker", "gobreaker", "resilience4j", "opossum", "cockatiel"]
    assert list(results["breaker.fail_max"][::2]) == [5, 6, 5, 5, 5]
    with pytest.raises(InvalidConfigError, match="'preset' must be one of 'pybreaker'"):
        _spec(grid={"breaker.preset": ["pybreakr"]})


def test_the_recommendation_names_the_options_it_pools_over(tmp_path: pathlib.Path) -> None:
    """A grid over a non-breaker option (two request rates) makes two worlds per trace; the
    recommendation averages a setting over them and says so, per family and overall."""
    path = tmp_path / "pooled.toml"
    path.write_text(
        'name = "pooled"\nreplications = 2\nseed = 3\nhorizon_s = 20.0\n'
        '[grid]\n"breaker.fail_max" = [1, 5]\n"workload.rate_rps" = [20.0, 40.0]\n'
        '[[traces]]\nfamily = "hard_down"\nstart_s = 5.0\nduration_s = 10.0\n'
        '[[traces]]\nfamily = "hang"\nstart_s = 5.0\nduration_s = 10.0\n'
    )
    out = _breakerlab("sweep", "--config", str(path), "--out", "done", "--jobs", "1", "--quiet", "--no-plots",
                      cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "done" / "recommendation.txt").read_text().strip().splitlines()
    assert len(lines) == 6  # the objective, its two terms, two families, all
    for line in lines[3:]:
        assert line.endswith("averaged with equal weight over workload.rate_rps (20, 40)"), line
    table = pd.read_csv(tmp_path / "done" / "recommendation.csv")
    assert list(table["pooled_over"]) == ["workload.rate_rps (20, 40)"] * 3


def test_the_local_process_limit_holds_for_the_api_too_and_not_for_a_cluster(tmp_path: pathlib.Path) -> None:
    """``run_sweep`` refuses more local processes than the machine can run, before anything is
    written, as ``--jobs`` does; with a Dask scheduler the cluster runs the tasks, so no local
    limit applies (the unreachable address is then what is refused)."""
    spec = default_spec()
    limit = max(MAX_JOBS_PER_CORE * (os.cpu_count() or 1), MIN_JOBS_LIMIT)
    with pytest.raises(InvalidConfigError, match=rf"'jobs' must be at most {limit} .*\(got {limit + 1}\)"):
        run_sweep(spec, tmp_path / "out", jobs=limit + 1)
    with pytest.raises(InvalidConfigError, match=r"'jobs' must be an int >= 1 \(got 0\)"):
        run_sweep(spec, tmp_path / "out", jobs=0)
    assert not (tmp_path / "out").exists()
    check_jobs(limit, None)
    check_jobs(limit + 1, "tcp://127.0.0.1:1")  # a cluster's business

"""`breakerlab simulate`: options, JSON, plots and errors, through the installed command."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from breakerlab.sim.result import metric_definitions

ISSUE_METRICS = (
    "time_to_open_s",
    "calls_to_unhealthy",
    "time_to_close_s",
    "false_rejections",
    "false_trips_per_hour",
    "recovery_load_rps",
    "goodput",
    "availability",
    "latency_p50_s",
    "latency_p99_s",
    "latency_p999_s",
    "pool_saturated_s",
    "pool_peak",
    "amplification",
    "time_in_state_s",
    "trips",
)


def _simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "breakerlab.cli", "simulate", *args], capture_output=True, text=True, timeout=120
    )


def test_json_has_every_metric_plus_requests_and_wall_time() -> None:
    """`--json` prints one JSON object with every metric, `requests` (simulated requests) and
    `wall_s`, and the baselines' metrics."""
    out = _simulate("--trace", "hard_down", "--rate", "50", "--horizon", "240", "--fail-max", "3",
                    "--reset-timeout", "10", "--seed", "4", "--json")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    for name in (*ISSUE_METRICS, *metric_definitions()):
        assert name in document, name
    assert document["requests"] == sum(
        [document["offered"], *(b["offered"] for b in document["baselines"].values())]
    )
    assert document["wall_s"] > 0
    assert document["seed"] == 4 and set(document["baselines"]) == {"no_breaker", "oracle"}
    assert document["trips"] >= 1 and document["time_to_open_s"] is not None


def test_same_options_and_seed_print_the_same_metrics() -> None:
    """Two runs of one command agree on everything but the wall time."""
    args = ("--trace", "flapping_random", "--rate", "40", "--horizon", "200", "--seed", "9", "--json")
    first, second = json.loads(_simulate(*args).stdout), json.loads(_simulate(*args).stdout)
    first.pop("wall_s"), second.pop("wall_s")
    assert first == second


def test_breaker_and_trace_options_reach_the_scenario(tmp_path: pathlib.Path) -> None:
    """Trace options (`--error-rate`), any breaker option (`--trip-rule` ...) and caller
    options change the run; `--series` adds the time series."""
    out = _simulate("--trace", "brownout", "--error-rate", "0.6", "--duration-s", "30", "--rate", "50",
                    "--horizon", "120", "--trip-rule", "count_window", "--window-size", "20", "--minimum-calls", "10",
                    "--reset-timeout", "5", "--retries", "1", "--json", "--series", "--no-baselines")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert document["trips"] >= 1 and document["amplification"] > 1.0
    assert document["baselines"] == {}
    assert len(document["series"]["breaker"]["admitted"]) == 120


def test_plot_writes_a_png_timeline(tmp_path: pathlib.Path) -> None:
    """`--plot FILE.png` draws the run's timeline."""
    target = tmp_path / "run.png"
    out = _simulate("--trace", "hang", "--rate", "30", "--horizon", "200", "--plot", str(target))
    assert out.returncode == 0, out.stderr
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert "timeline written to" in out.stdout and "time_to_open_s" in out.stdout


def test_replay_trace_from_the_shipped_example() -> None:
    """`--trace replay --path FILE` simulates a measured incident timeline."""
    from breakerlab.sim.traces.files import EXAMPLE_INCIDENT

    example = EXAMPLE_INCIDENT
    out = _simulate("--trace", "replay", "--path", str(example), "--horizon", "300", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["trace"] == "example-incident"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--fail-max", "0"), "'fail_max' must be"),
        (("--rate", "-5"), "'rate_rps' must be a finite number > 0 (got -5.0)"),
        (("--trace", "hard_down", "--error-rate", "0.5"), "'--error-rate' must be an option of the 'brownout'"),
        (("--trace", "brownout", "--error-rate", "2"), "'error_rate' must be"),
        (("--trip-rule", "sometimes"), "'trip_rule' must be one of"),
        (("--seed", "-1"), "'seed' must be an int in [0, 2**63) (got -1)"),
        (("--series",), "'--series' must be used with --json"),
        (("--trace", "replay", "--path", "/nonexistent/incident.csv"), "/nonexistent/incident.csv"),
    ],
)
def test_bad_options_exit_2_naming_the_option_and_value(args: tuple[str, ...], message: str) -> None:
    """A bad value exits with status 2 and a one-line message naming the field, rule and value."""
    out = _simulate(*args, "--horizon", "10")
    assert out.returncode == 2, out.stdout
    assert message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_help_lists_traces_breaker_options_and_examples() -> None:
    """`--help` names every trace family, the breaker options and runnable examples."""
    out = _simulate("--help")
    assert out.returncode == 0
    for text in ("hard_down", "flapping_random", "gc_pauses", "replay", "--fail-max", "--half-open-max-calls",
                 "--retry-budget", "--timeout", "examples:"):
        assert text in out.stdout, text


def test_sim_readme_embeds_the_metric_and_trace_tables() -> None:
    """sim/README.md shows the metric definitions and the trace families exactly as the code has them."""
    from breakerlab.sim.result import metrics_markdown
    from breakerlab.sim.traces.families import families_markdown

    readme = (pathlib.Path(__file__).resolve().parents[1] / "sim" / "README.md").read_text()
    assert f"<!-- metrics-table -->\n{metrics_markdown()}\n<!-- /metrics-table -->" in readme
    assert f"<!-- families-table -->\n{families_markdown()}\n<!-- /families-table -->" in readme


def test_a_library_preset_configures_the_simulated_breaker() -> None:
    """`--preset pybreaker` simulates pybreaker's semantics including its whole-call lock (the
    pool saturates behind the lock); breaker options still override the preset."""
    common = ("--trace", "hang", "--rate", "50", "--horizon", "90", "--json", "--no-baselines")
    locked = json.loads(_simulate(*common, "--preset", "pybreaker").stdout)
    free = json.loads(_simulate(*common, "--preset", "aiobreaker").stdout)
    assert locked["scenario"].endswith("--preset pybreaker")
    assert locked["pool_saturated_s"] > 10 * max(free["pool_saturated_s"], 0.1)
    gob = json.loads(_simulate(*common, "--preset", "gobreaker", "--fail-max", "2").stdout)
    assert gob["requests_to_open"] is not None
    bad = _simulate("--preset", "hystrix2", "--horizon", "10")
    assert bad.returncode == 2 and "'preset' must be one of 'pybreaker'" in bad.stderr

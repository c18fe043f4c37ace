"""Tests of breakerlab.sim.plot: the timeline figure of one run, drawn without pyplot."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from breakerlab.model.config import BreakerConfig
from breakerlab.sim.errors import InvalidConfigError
from breakerlab.sim.plot import STATE_COLOURS, plot_timeline
from breakerlab.sim.result import Metrics, RunResult, SimResult, TimeSeries
from breakerlab.sim.scenario import Scenario, Workload
from breakerlab.sim.traces.trace import Condition, Segment, Trace

BINS = 20
STATES = ((0.0, "closed"), (5.0, "open"), (10.0, "half_open"), (10.5, "closed"))


def _metrics(**changes: Any) -> Metrics:
    """Plausible metrics for a 20 s run at 10 rps; ``changes`` override fields."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Metrics):
        values[field.name] = 0.0 if field.type in ("float", "float | None") else 0
    values.update(
        offered=200, attempts=200, admitted=150, rejected=50, succeeded=140, failed=60,
        goodput=7.0, availability=0.7, amplification=1.0, time_to_open_s=1.5, requests_to_open=5,
        failed_calls=4, calls_to_unhealthy=12, time_to_close_s=None, time_to_recover_s=None, false_rejections=3, trips=1, trips_from_closed=1,
        admitted_closed=140, recovery_load_rps=10.0, recovery_load_peak_concurrency=2,
        latency_p50_s=0.05, latency_p99_s=0.4, latency_p999_s=0.9, success_latency_p99_s=0.3,
        pool_peak=8, pool_mean=1.2, time_in_state_s={"closed": 14.5, "open": 5.0, "half_open": 0.5},
    )
    values.update(changes)
    return Metrics(**values)


def _series(*, states: tuple[tuple[float, str], ...] = STATES, scale: float = 1.0) -> TimeSeries:
    """A 20-bin series with an outage-shaped dip in successes; ``scale`` multiplies the counts."""
    succeeded = np.full(BINS, 10.0) * scale
    succeeded[3:10] = 0
    return TimeSeries(
        bin_s=1.0,
        admitted=np.full(BINS, 10) * scale,
        rejected=np.where((np.arange(BINS) >= 5) & (np.arange(BINS) < 10), 10, 0) * scale,
        succeeded=succeeded,
        failed=np.where((np.arange(BINS) >= 3) & (np.arange(BINS) < 5), 10, 0) * scale,
        pool_mean=np.linspace(0.5, 3.0, BINS),
        pool_peak=np.arange(BINS) % 6 + 1,
        state_changes=states,
    )


def result_of(trace: Trace, *, baselines: bool = True) -> SimResult:
    """A hand-built result of a 20 s scenario on ``trace`` (``simulate`` is not needed)."""
    scenario = Scenario(
        trace=trace, horizon_s=20, bin_s=1, breaker=BreakerConfig(fail_max=3, reset_timeout=5.0),
        workload=Workload(rate_rps=10.0, workers=8),
    )
    runs = {"breaker": RunResult(policy="breaker", metrics=_metrics(), series=_series())}
    if baselines:
        for name in ("no_breaker", "oracle"):
            runs[name] = RunResult(policy=name, metrics=_metrics(), series=_series(states=(), scale=0.8))
    return SimResult(scenario=scenario, seed=7, trace=trace, runs=runs)


@pytest.fixture
def result() -> SimResult:
    """An outage of errors, a pause and a hang, with the breaker and both baselines."""
    trace = Trace(
        "errors-then-hang",
        [
            Segment(0.0, Condition()),
            Segment(3.0, Condition(error_rate=1.0)),
            Segment(6.0, Condition(paused=True)),
            Segment(7.0, Condition(hang=True)),
            Segment(9.0, Condition()),
        ],
    )
    return result_of(trace)


def test_png_written(result: SimResult, tmp_path: Path) -> None:
    """Saving to a .png path writes a real PNG image of non-trivial size."""
    path = tmp_path / "timeline.png"
    plot_timeline(result, path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000


def test_other_format_by_extension(result: SimResult, tmp_path: Path) -> None:
    """The file format follows the path's extension (an SVG here)."""
    path = tmp_path / "timeline.svg"
    plot_timeline(result, str(path))
    assert b"<svg" in path.read_bytes()[:1000]


def test_panels_and_state_band(result: SimResult) -> None:
    """Four panels, and the state band is coloured for exactly the states the run visited."""
    fig = plot_timeline(result)
    assert len(fig.axes) == 4
    band = fig.axes[1]
    faces = {tuple(face) for collection in band.collections for face in collection.get_facecolors()}
    assert faces == {to_rgba(STATE_COLOURS[name]) for name in ("closed", "open", "half_open")}
    legend = band.get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == ["closed", "open", "half_open"]


def test_state_band_spans_follow_changes(result: SimResult) -> None:
    """Each state's bars run from its entry to the next change (the last to the horizon)."""
    band = plot_timeline(result).axes[1]
    spans = {}
    for collection in band.collections:
        for path in collection.get_paths():
            xs = path.vertices[:, 0]
            spans.setdefault(collection.get_label(), []).append((float(xs.min()), float(xs.max())))
    assert sorted(spans["closed"]) == [(0.0, 5.0), (10.5, 20.0)]
    assert spans["open"] == [(5.0, 10.0)]
    assert spans["half_open"] == [(10.0, 10.5)]


def test_title_and_metrics_box(result: SimResult) -> None:
    """The default title names trace, fail_max, reset_timeout and seed; missing metrics show a dash."""
    fig = plot_timeline(result)
    assert fig.get_suptitle() == "errors-then-hang: fail_max=3, reset_timeout=5 s, seed 7"
    box = "\n".join(text.get_text() for text in fig.axes[3].texts)
    assert "time to open: 1.5 s" in box
    assert "time to close: —" in box
    assert "availability: 70.00%" in box
    assert "false rejections: 3" in box
    assert plot_timeline(result, title="mine").get_suptitle() == "mine"


def test_rates_are_per_second(result: SimResult) -> None:
    """Rate lines divide per-bin counts by bin_s, and there are no overlays by default."""
    doubled = dataclasses.replace(result.series, bin_s=2.0)
    runs = dict(result.runs, breaker=RunResult(policy="breaker", metrics=result.metrics, series=doubled))
    fig = plot_timeline(dataclasses.replace(result, runs=runs))
    lines = {line.get_label(): line for line in fig.axes[2].get_lines()}
    assert set(lines) == {"admitted", "rejected", "failed", "succeeded"}
    assert np.allclose(lines["admitted"].get_ydata(), 5.0)


def test_baseline_overlay(result: SimResult) -> None:
    """Naming baselines in policies overlays their succeeded rate as dashed lines."""
    fig = plot_timeline(result, policies=["breaker", "no_breaker", "oracle"])
    lines = {line.get_label(): line for line in fig.axes[2].get_lines()}
    assert {"no_breaker succeeded", "oracle succeeded"} <= set(lines)
    assert lines["no_breaker succeeded"].get_linestyle() == "--"
    assert max(lines["no_breaker succeeded"].get_ydata()) == pytest.approx(8.0)
    only = plot_timeline(result, policies=("no_breaker",))
    labels = [line.get_label() for line in only.axes[2].get_lines()]
    assert "no_breaker succeeded" in labels and "oracle succeeded" not in labels


def test_unknown_policy(result: SimResult) -> None:
    """An unknown policy name raises InvalidConfigError naming it and the runs available."""
    with pytest.raises(InvalidConfigError, match="'policies'.*no_breaker.*'circuit'") as info:
        plot_timeline(result, policies=["no_breaker", "circuit"])
    assert info.value.value == "circuit"


def test_factors_on_twin_axis() -> None:
    """Capacity and latency factors that depart from 1 get a twin axis in the condition panel."""
    trace = Trace(
        "slow", [Segment(0.0, Condition()), Segment(4.0, Condition(latency_factor=5.0, capacity_factor=0.5))]
    )
    fig = plot_timeline(result_of(trace, baselines=False))
    assert len(fig.axes) == 5
    twin = fig.axes[-1]
    assert {line.get_label() for line in twin.get_lines()} == {"capacity factor", "latency factor"}
    assert twin.get_ylim()[1] >= 5.0
    legend = fig.axes[0].get_legend()
    assert legend is not None
    assert "latency factor" in [text.get_text() for text in legend.get_texts()]


def test_no_pyplot() -> None:
    """Plotting neither imports matplotlib.pyplot nor needs a GUI backend."""
    script = textwrap.dedent(
        """
        import sys, tempfile, os
        sys.path.insert(0, os.path.dirname({test!r}))
        import test_sim_plot as t
        from breakerlab.sim.plot import plot_timeline
        from breakerlab.sim.traces.trace import Condition, Segment, Trace
        trace = Trace("x", [Segment(0.0, Condition()), Segment(2.0, Condition(error_rate=1.0))])
        with tempfile.TemporaryDirectory() as folder:
            plot_timeline(t.result_of(trace), os.path.join(folder, "x.png"), policies=["oracle"])
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        """
    ).format(test=__file__)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_a_fleet_draws_the_share_of_its_instances_in_each_state() -> None:
    """For a fleet the state panel is a stack of the shares of instances closed, half-open and
    open per bin (from the open and half-open series), and the pool panel is the fleet's."""
    from breakerlab.model import BreakerConfig as Config
    from breakerlab.sim import simulate
    from breakerlab.sim.traces.families import HardDown

    scenario = Scenario(
        trace=HardDown(start_s=10.0, duration_s=20.0), breaker=Config(fail_max=3, reset_timeout=4.0),
        workload=Workload(rate_rps=100.0, workers=8, instances=10), horizon_s=40.0,
    )
    result = simulate(scenario, 1)
    fig = plot_timeline(result)
    band = fig.axes[1]
    layers = band.collections
    assert [c.get_label() for c in layers] == ["closed", "half_open", "open"]
    assert [to_rgba(c.get_facecolor()[0]) for c in layers] == [
        to_rgba(STATE_COLOURS[name]) for name in ("closed", "half_open", "open")
    ]
    top = max(float(path.vertices[:, 1].max()) for c in layers for path in c.get_paths())
    assert top == pytest.approx(1.0)
    pool_lines = [line.get_label() for line in fig.axes[3].get_lines()]
    assert "pool size (80)" in pool_lines


def test_figures_are_written_atomically_with_the_usual_file_mode(tmp_path: Path) -> None:
    """``save_figure`` replaces an image whole: a failure while drawing leaves the old file and no
    temporary one, and a new file's mode follows the umask like any other output's."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from breakerlab.sim.plot import save_figure

    fig = Figure()
    FigureCanvasAgg(fig)
    fig.subplots().plot([0, 1], [0, 1])
    path = tmp_path / "plot.png"
    save_figure(fig, path)
    first = path.read_bytes()
    assert first.startswith(b"\x89PNG")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask

    class Broken(Exception):
        pass

    def broken(*args: object, **kwargs: object) -> None:
        raise Broken

    fig.savefig = broken  # type: ignore[method-assign]
    with pytest.raises(Broken):
        save_figure(fig, path)
    assert path.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]

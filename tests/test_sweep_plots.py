"""Tests of the sweep's plots (breakerlab.sim.sweeps.plots), presets and recommendation, on
synthetic per-run and summary tables whose best cells are known from a formula."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from scipy import stats

from breakerlab.model import BreakerConfig
from breakerlab.sim.errors import InvalidConfigError
from breakerlab.sim.presets import PRESETS, Preset, preset_marks
from breakerlab.sim.result import metric_definitions
from breakerlab.sim.sweeps.plots import (
    heatmap_figure,
    objective_figure,
    pareto_front,
    plot_heatmaps,
    plot_objective,
    plot_tradeoff,
    tradeoff_figure,
)
from breakerlab.sim.sweeps.recommend import (
    DEFAULT_OBJECTIVE,
    baseline_objectives,
    format_recommendation,
    objective_by_setting,
    parse_objective,
    recommend,
    recommend_overall,
)

TRACES = {"hard_down": 2.0, "flapping": 8.0}  # trace -> weight of reset_timeout/fail_max in false rejections
FAIL_MAX = (1, 3, 5)
RESET = (1.0, 5.0, 60.0)
REPLICATIONS = 4
#: The synthetic tables' objective (they have calls_to_unhealthy, not failed_calls).
OBJECTIVE = {"calls_to_unhealthy": 1.0, "false_rejections": 1.0}

METRICS = ("time_to_open_s", "calls_to_unhealthy", "time_to_close_s", "false_rejections",
           "false_trips_per_hour", "availability")


def _calls(fail_max: float, reset: float) -> float:
    return 10.0 * fail_max + 200.0 / reset


def _false_rejections(trace: str, fail_max: float, reset: float) -> float:
    return TRACES[trace] * reset / fail_max


def _summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """The summary table: per cell, each metric's mean and 95% t interval (NaN when n < 2)."""
    keys = ["cell", "world", "trace", "breaker.fail_max", "breaker.reset_timeout"]
    records = []
    for key, group in rows.groupby(keys, sort=False):
        record: dict[str, object] = dict(zip(keys, key))
        record["n"] = len(group)
        for metric in METRICS:
            values = group[metric].dropna().to_numpy(dtype=float)
            mean = float(values.mean()) if len(values) else math.nan
            half = math.nan
            if len(values) >= 2:
                half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
            record |= {f"{metric}.mean": mean, f"{metric}.ci_low": mean - half, f"{metric}.ci_high": mean + half}
        records.append(record)
    return pd.DataFrame.from_records(records)


@pytest.fixture
def rows() -> pd.DataFrame:
    """2 traces x fail_max {1,3,5} x reset_timeout {1,5,60} x 4 replications, formula plus noise."""
    rng = np.random.default_rng(0)
    records = []
    grid = itertools.product(enumerate(TRACES), FAIL_MAX, RESET)
    for cell, ((world, trace), fail_max, reset) in enumerate(grid):
        for replication in range(REPLICATIONS):
            never_opens = trace == "flapping" and fail_max == 5 and reset == 60.0
            records.append({
                "cell": cell, "replication": replication, "seed": 100 + replication, "world": world,
                "trace": trace, "breaker.fail_max": fail_max, "breaker.reset_timeout": reset,
                "time_to_open_s": math.nan if never_opens else 0.5 * fail_max + rng.normal(0, 0.05),
                "calls_to_unhealthy": _calls(fail_max, reset) + rng.normal(0, 1.0),
                "time_to_close_s": reset + rng.normal(0, 0.5),
                "false_rejections": _false_rejections(trace, fail_max, reset) + rng.normal(0, 1.0),
                "false_trips_per_hour": 1.0 / fail_max + rng.normal(0, 0.01),
                "availability": 0.9 - 0.01 * fail_max + rng.normal(0, 0.001),
            })
    return pd.DataFrame.from_records(records)


@pytest.fixture
def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """The summary of ``rows``."""
    return _summarise(rows)


def _texts(fig: Figure) -> list[str]:
    """Every text drawn in the figure's axes."""
    return [text.get_text() for ax in fig.axes for text in ax.texts]


def test_plot_heatmaps_writes_one_valid_png_per_default_metric(summary: pd.DataFrame, tmp_path: Path) -> None:
    """plot_heatmaps writes heatmap-<metric>.png for each default metric present, as readable PNGs."""
    paths = plot_heatmaps(summary, tmp_path / "plots")
    assert [p.name for p in paths] == [f"heatmap-{m}.png" for m in METRICS]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = imread(path).shape
        assert height > 100 and width > 100


def test_heatmap_has_one_panel_per_trace_with_values_and_nan_cells(summary: pd.DataFrame) -> None:
    """A heatmap has one image panel per trace family, annotated with values and '—' for a NaN cell."""
    fig = heatmap_figure(summary, "time_to_open_s")
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == list(TRACES)
    assert panels[0].get_xlabel() == "reset_timeout (s)" and panels[0].get_ylabel() == "fail_max"
    assert "—" in [text.get_text() for text in panels[1].texts]  # flapping, fail_max=5, reset 60: never opened
    assert "—" not in [text.get_text() for text in panels[0].texts]
    assert "mean over 4 replications" in fig.get_suptitle()
    colorbars = [ax for ax in fig.axes if not ax.images and ax.get_ylabel()]
    assert any("lower is better" in ax.get_ylabel() for ax in colorbars)
    assert "higher is better" in heatmap_figure(summary, "availability").axes[-1].get_ylabel()


def test_heatmap_marks_presets_on_and_near_the_grid(summary: pd.DataFrame) -> None:
    """pybreaker (5, 60) is marked exactly, circuitbreaker (5, 30) as ≈ at the nearest cell, others not at all."""
    labels = " ".join(_texts(heatmap_figure(summary, "calls_to_unhealthy")))
    assert "pybreaker" in labels and "≈pybreaker" not in labels
    assert "≈circuitbreaker" in labels
    assert "gobreaker" not in labels and "Hystrix" not in labels


def test_preset_marks_places_exact_nearest_and_omits_out_of_range() -> None:
    """preset_marks gives grid indices, exact or nearest on a log scale, and omits presets outside the grid."""
    marks = {m.preset.name: m for m in preset_marks(PRESETS, [1, 3, 5], [1.0, 5.0, 60.0])}
    assert set(marks) == {"pybreaker", "circuitbreaker", "cockatiel", "opossum-like"}
    assert (marks["pybreaker"].row, marks["pybreaker"].column, marks["pybreaker"].exact) == (2, 2, True)
    assert (marks["circuitbreaker"].row, marks["circuitbreaker"].column) == (2, 2)
    assert marks["circuitbreaker"].label == "≈circuitbreaker"
    # cockatiel (5, 10 s): 10 s is nearer 5 s than 60 s on a log scale; opossum (1, 30 s): nearer 60 s.
    assert (marks["cockatiel"].row, marks["cockatiel"].column, marks["cockatiel"].exact) == (2, 1, False)
    assert (marks["opossum-like"].row, marks["opossum-like"].column) == (0, 2)


@pytest.mark.parametrize("column", ["breaker.reset_timeout", "breaker.fail_max"])
def test_heatmaps_need_both_grid_columns(summary: pd.DataFrame, tmp_path: Path, column: str) -> None:
    """A summary without fail_max or reset_timeout is refused with an error naming the missing column."""
    with pytest.raises(InvalidConfigError, match=rf"'{column}' must be a column of the summary.*sweep grid"):
        plot_heatmaps(summary.drop(columns=column), tmp_path)


def test_heatmap_refuses_a_third_varying_breaker_option(summary: pd.DataFrame) -> None:
    """Two rows for one (world, fail_max, reset_timeout) are refused, naming the other varying option."""
    doubled = pd.concat([summary.assign(**{"breaker.success_threshold": 1}),
                         summary.assign(**{"breaker.success_threshold": 2})])
    with pytest.raises(InvalidConfigError, match="one row per .*breaker.success_threshold also vary"):
        heatmap_figure(doubled, "time_to_open_s")


def test_heatmap_draws_one_panel_per_world(summary: pd.DataFrame) -> None:
    """A family swept at two request rates gets one panel per world, titled with the rate."""
    other = summary[summary["trace"] == "hard_down"].assign(world=2, cell=summary["cell"] + 100)
    worlds = pd.concat([summary.assign(**{"workload.rate_rps": 10.0}), other.assign(**{"workload.rate_rps": 50.0})])
    fig = heatmap_figure(worlds, "false_rejections")
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["hard_down, workload.rate_rps=10.0", "flapping", "hard_down, workload.rate_rps=50.0"]


def test_unknown_heatmap_metric_lists_the_summarised_ones(summary: pd.DataFrame, tmp_path: Path) -> None:
    """Asking for a metric the summary lacks names it and lists the ones it has."""
    with pytest.raises(InvalidConfigError, match=r"'metrics' must be .*time_to_open_s.*\(got 'goodput'\)"):
        plot_heatmaps(summary, tmp_path, metrics=["goodput"])


def test_pareto_front_on_a_hand_made_example() -> None:
    """pareto_front keeps the non-dominated rows (ties kept, NaN dropped), sorted by x, either direction."""
    points = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 2.0, math.nan, 5.0],
                           "b": [5.0, 3.0, 4.0, 1.0, 3.0, 0.0, 1.0]})
    front = pareto_front(points, "a", "b")
    assert list(front.index) == [0, 1, 4, 3]
    flipped = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, 2.0, 4.0, 3.0]})
    assert list(pareto_front(flipped, "a", "b", higher_is_better=["a"]).index) == [0, 1, 3]
    with pytest.raises(InvalidConfigError, match="'x' must be a column of points"):
        pareto_front(points, "c", "b")


def test_plot_tradeoff_writes_a_png_with_front_presets_baselines_and_highlight(
    rows: pd.DataFrame, summary: pd.DataFrame, tmp_path: Path
) -> None:
    """plot_tradeoff writes tradeoff-<x>-vs-<y>.png; the figure labels the front, the preset and the baselines."""
    baselines = pd.DataFrame({
        "world": [0, 0, 1, 1], "replication": [0, 1, 0, 1], "trace": ["hard_down", "hard_down", "flapping", "flapping"],
        "policy": ["no_breaker", "oracle"] * 2, "time_to_open_s": [math.nan] * 4,
        "false_rejections": [0.0, 0.0, 0.0, 0.0],
    })
    best = recommend(rows, OBJECTIVE)
    path = plot_tradeoff(summary, tmp_path, baselines=baselines, highlight=best)
    assert path.name == "tradeoff-time_to_open_s-vs-false_rejections.png"
    assert path.read_bytes()[:4] == b"\x89PNG"
    fig = tradeoff_figure(summary, baselines=baselines, highlight=best)
    labels = _texts(fig)
    assert "1/1" in labels and "pybreaker" in labels
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "Pareto front" in legend and "recommended setting for this trace" in legend
    assert "no_breaker (mean), time_to_open_s undefined" in legend
    with pytest.raises(InvalidConfigError, match="'y' must be a metric summarised"):
        tradeoff_figure(summary, y="goodput")


def test_recommend_picks_the_cell_minimising_the_formula(rows: pd.DataFrame) -> None:
    """Per trace, recommend picks the setting whose noise-free objective is smallest."""
    table = recommend(rows, OBJECTIVE)
    assert list(table["trace"]) == list(TRACES)
    for _, row in table.iterrows():
        expected = min(itertools.product(FAIL_MAX, RESET),
                       key=lambda fr: _calls(*fr) + _false_rejections(row["trace"], *fr))
        assert (row["breaker.fail_max"], row["breaker.reset_timeout"]) == expected
        picked = rows[(rows["trace"] == row["trace"]) & (rows["breaker.fail_max"] == expected[0])
                      & (rows["breaker.reset_timeout"] == expected[1])]
        assert row["cell"] == picked["cell"].iloc[0] and row["n"] == row["n_used"] == REPLICATIONS
        assert not row["runner_up_overlaps"]


def test_recommend_confidence_intervals_are_finite_and_ordered(rows: pd.DataFrame) -> None:
    """objective_ci_low <= objective_mean <= objective_ci_high, all finite, per trace and overall."""
    for table in (recommend(rows, OBJECTIVE), recommend_overall(rows, OBJECTIVE)):
        low, mean, high = (table[c].to_numpy(dtype=float) for c in
                           ("objective_ci_low", "objective_mean", "objective_ci_high"))
        assert np.isfinite([low, mean, high]).all()
        assert (low < mean).all() and (mean < high).all()


def test_recommend_overall_weighs_trace_families_equally(rows: pd.DataFrame) -> None:
    """recommend_overall picks the setting minimising the objective averaged over trace families."""
    table = recommend_overall(rows, OBJECTIVE)
    expected = min(itertools.product(FAIL_MAX, RESET),
                   key=lambda fr: sum(_calls(*fr) + _false_rejections(t, *fr) for t in TRACES))
    assert table["trace"].tolist() == ["all"]
    assert (table["breaker.fail_max"].iloc[0], table["breaker.reset_timeout"].iloc[0]) == expected
    assert pd.isna(table["cell"].iloc[0]) and table["n"].iloc[0] == len(TRACES) * REPLICATIONS


def _two_cells(second: list[float]) -> pd.DataFrame:
    """Runs of two cells of one trace; the first cell's objective values are 10, 11, 9, 10."""
    values = [10.0, 11.0, 9.0, 10.0] + second
    return pd.DataFrame({
        "cell": [0] * 4 + [1] * 4, "world": 0, "trace": "hard_down", "breaker.fail_max": [3] * 4 + [5] * 4,
        "breaker.reset_timeout": 5.0, "calls_to_unhealthy": values, "false_rejections": 0.0,
    })


def test_runner_up_overlaps_tells_a_clear_choice_from_a_tie() -> None:
    """runner_up_overlaps is False when the runner-up is far worse and True when it is about as good."""
    clear = recommend(_two_cells([30.0, 31.0, 29.0, 30.0]), OBJECTIVE)
    tied = recommend(_two_cells([10.5, 9.5, 11.5, 9.5]), OBJECTIVE)
    assert clear["cell"].tolist() == [0] and not clear["runner_up_overlaps"].iloc[0]
    assert clear["runner_up_mean"].iloc[0] == pytest.approx(30.0)
    assert tied["runner_up_overlaps"].iloc[0]
    assert "runner-up's interval overlaps" in format_recommendation(tied, OBJECTIVE)


def test_recommend_leaves_out_undefined_runs_only_when_allowed(rows: pd.DataFrame) -> None:
    """Cells with NaN objectives are not ranked by default; coverage < 1 ranks their defined runs (n_used)."""
    partial = rows.copy()
    undefined = (partial["trace"] == "flapping") & (partial["breaker.fail_max"] == 1) & (partial["replication"] == 0)
    partial.loc[undefined, "time_to_open_s"] = math.nan
    strict = recommend(partial, {"time_to_open_s": 1.0})
    assert (strict["breaker.fail_max"] == 1).tolist() == [True, False]
    lenient = recommend(partial, {"time_to_open_s": 1.0}, coverage=0.5)
    assert lenient["n_used"].tolist() == [4, 3] and lenient["n"].tolist() == [4, 4]
    assert "3 of 4 runs" in format_recommendation(lenient, {"time_to_open_s": 1.0})
    never = rows.assign(time_to_open_s=math.nan)
    with pytest.raises(InvalidConfigError, match="time_to_open_s when the breaker never opened"):
        recommend(never, {"time_to_open_s": 1.0})


def test_parse_objective_reads_weighted_terms() -> None:
    """parse_objective reads metric=weight terms; a bare metric has weight 1."""
    assert parse_objective(" time_to_open_s=1, false_rejections=0.01 ") == {
        "time_to_open_s": 1.0, "false_rejections": 0.01}
    assert parse_objective("calls_to_unhealthy,availability=-1000") == {
        "calls_to_unhealthy": 1.0, "availability": -1000.0}


@pytest.mark.parametrize(("text", "message"), [
    ("", "one or more 'metric=weight' terms"),
    ("time_to_open=1", r"named from: .*time_to_open_s.*did you mean 'time_to_open_s'"),
    ("false_rejections=lots", r"the weight of 'false_rejections' is not a number"),
    ("false_rejections=1,,trips=1", "terms of the form metric=weight"),
    ("trips=1,trips=2", "'trips' is repeated"),
    ("trips=0", "a finite, non-zero weight"),
    ("availability=1", "negative"),
])
def test_parse_objective_errors_name_the_term(text: str, message: str) -> None:
    """Malformed objectives are refused with a message naming the term or listing valid metrics."""
    with pytest.raises(InvalidConfigError, match=message):
        parse_objective(text)


def test_format_recommendation_names_trace_parameters_and_interval(rows: pd.DataFrame) -> None:
    """format_recommendation gives the objective and each of its terms with the metric's
    definition, then per trace its settings, objective, interval and run count."""
    text = format_recommendation(recommend(rows, OBJECTIVE), OBJECTIVE)
    lines = text.splitlines()
    definitions = metric_definitions()
    assert lines[0] == "objective (lower is better): 1 × calls_to_unhealthy + 1 × false_rejections per run"
    assert lines[1] == f"  1 × calls_to_unhealthy: {definitions['calls_to_unhealthy']}"
    assert lines[2] == f"  1 × false_rejections: {definitions['false_rejections']}"
    assert lines[3].startswith("hard_down: fail_max=1, reset_timeout=5 s: objective ")
    assert lines[4].startswith("flapping: fail_max=3, reset_timeout=5 s: objective ")
    assert "(95% CI " in lines[3] and "4 runs)" in lines[3] and "clearly better" in lines[3]


def test_preset_marks_place_library_defaults_on_the_grid() -> None:
    """The marks carry each library's fail_max and reset_timeout; those of consecutive-count
    libraries are their model presets' (BreakerConfig.preset); bad values are refused."""
    assert [(p.name, p.fail_max, p.reset_timeout_s) for p in PRESETS] == [
        ("pybreaker", 5, 60.0), ("Hystrix-like", 20, 5.0), ("Resilience4j-like", 50, 60.0),
        ("gobreaker", 6, 60.0), ("circuitbreaker", 5, 30.0), ("cockatiel", 5, 10.0), ("opossum-like", 1, 30.0),
    ]
    opossum = BreakerConfig.preset("opossum")
    assert (opossum.reset_timeout, opossum.minimum_calls, opossum.trip_rule.value) == (30.0, 1, "time_window")
    for mark in PRESETS:
        if not mark.name.endswith("-like"):
            config = BreakerConfig.preset(mark.name)
            assert (config.fail_max, config.reset_timeout) == (mark.fail_max, mark.reset_timeout_s)
    with pytest.raises(InvalidConfigError, match="'fail_max' must be an integer >= 1"):
        Preset(name="x", fail_max=0, reset_timeout_s=1.0, note="")


def test_the_default_objective_weighs_real_metrics() -> None:
    """DEFAULT_OBJECTIVE names metrics the simulator reports, each weighed positively."""
    from breakerlab.sim.sweeps.recommend import metric_names

    assert set(DEFAULT_OBJECTIVE) <= set(metric_names()) and all(w > 0 for w in DEFAULT_OBJECTIVE.values())


def test_objective_by_setting_is_each_settings_mean_and_t_interval(rows: pd.DataFrame) -> None:
    """Per trace and setting, the objective's mean over the runs with its 95% Student t
    interval (one world per trace), recomputed here from the per-run values."""
    table = objective_by_setting(rows, OBJECTIVE)
    assert len(table) == len(TRACES) * len(FAIL_MAX) * len(RESET)
    for _, row in table.iterrows():
        runs = rows[(rows["trace"] == row["trace"]) & (rows["breaker.fail_max"] == row["breaker.fail_max"])
                    & (rows["breaker.reset_timeout"] == row["breaker.reset_timeout"])]
        values = (runs["calls_to_unhealthy"] + runs["false_rejections"]).to_numpy()
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
        assert row["objective_mean"] == pytest.approx(values.mean())
        assert (row["objective_ci_low"], row["objective_ci_high"]) == pytest.approx((values.mean() - half, values.mean() + half))
        assert row["n"] == len(values)


def test_the_objective_curve_has_a_panel_per_trace_and_a_line_per_fail_max(rows: pd.DataFrame, tmp_path: Path) -> None:
    """objective-vs-reset_timeout.png: per trace a panel with reset_timeout on a log axis and a
    line with error bars per fail_max; without a reset_timeout column it is refused."""
    curves = objective_by_setting(rows, OBJECTIVE)
    fig = objective_figure(curves, "1 × calls_to_unhealthy + 1 × false_rejections")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == list(TRACES)
    for ax in axes:
        assert ax.get_xscale() == "log"
        assert len(ax.containers) == len(FAIL_MAX)  # one errorbar line per fail_max
        xs = sorted(ax.containers[0].lines[0].get_xdata())
        assert xs == sorted(RESET)
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [f"fail_max={f}" for f in FAIL_MAX]
    path = plot_objective(curves, tmp_path, "x")
    assert path.name == "objective-vs-reset_timeout.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InvalidConfigError, match="breaker.reset_timeout"):
        objective_figure(curves.drop(columns=["breaker.reset_timeout"]), "x")


def test_the_objective_curve_shows_each_baselines_mean_as_a_level() -> None:
    """The baselines' objective, pooled over a family's worlds with equal weight as a setting's
    is, is drawn as a dashed level per policy in its family's panel (a NaN one is left out)."""
    baselines = pd.DataFrame({
        "trace": ["hard_down"] * 6 + ["flapping"] * 2,
        "world": ["a", "a", "b", "a", "a", "b", "c", "c"],
        "policy": ["oracle", "oracle", "oracle", "no_breaker", "no_breaker", "no_breaker", "oracle", "no_breaker"],
        "calls_to_unhealthy": [1.0, 3.0, 10.0, 100.0, 100.0, 200.0, 4.0, math.nan],
        "false_rejections": [0.0] * 8,
    })
    levels = baseline_objectives(baselines, OBJECTIVE)
    # hard_down's oracle: world a's mean 2, world b's 10, each weighing half.
    assert levels["hard_down"] == {"oracle": 6.0, "no_breaker": 150.0}
    assert levels["flapping"]["oracle"] == 4.0 and math.isnan(levels["flapping"]["no_breaker"])
    with pytest.raises(InvalidConfigError, match="'policy'"):
        baseline_objectives(baselines.drop(columns=["policy"]), OBJECTIVE)

    curves = pd.DataFrame({
        "trace": ["hard_down", "hard_down", "flapping"], "breaker.reset_timeout": [1.0, 10.0, 1.0],
        "objective_mean": [50.0, 20.0, 9.0], "objective_ci_low": [40.0, 15.0, 8.0], "objective_ci_high": [60.0, 25.0, 10.0],
    })
    fig = objective_figure(curves, "x", levels)
    drawn = {ax.get_title(): sorted((line.get_label(), line.get_ydata()[0]) for line in ax.get_lines()
                                    if line.get_linestyle() == "--") for ax in fig.axes}
    assert drawn == {"hard_down": [("no_breaker (mean)", 150.0), ("oracle (mean)", 6.0)],
                     "flapping": [("oracle (mean)", 4.0)]}
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["oracle (mean)", "no_breaker (mean)"]

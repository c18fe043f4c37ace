"""The sweep's trade-off plot (breakerlab.sim.sweeps.plots.tradeoff_figure): interval bars within
each metric's range, a legend that says what is circled, and point labels that never overlap."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from breakerlab.sim.sweeps.plots import tradeoff_figure


def _summary(points: list[dict[str, float]], trace: str = "hard_down", world: int = 0) -> pd.DataFrame:
    """A sweep summary: one row per point (fail_max, reset, then metric -> (mean, half-width))."""
    records = []
    for cell, point in enumerate(points):
        record: dict[str, object] = {
            "cell": cell, "world": world, "trace": trace, "n": 4,
            "breaker.fail_max": point.pop("fail_max"), "breaker.reset_timeout": point.pop("reset"),
        }
        for metric, (mean, half) in point.items():  # type: ignore[misc]
            record |= {f"{metric}.mean": mean, f"{metric}.ci_low": mean - half, f"{metric}.ci_high": mean + half}
        records.append(record)
    return pd.DataFrame.from_records(records)


def _bars(ax: Axes) -> tuple[np.ndarray, np.ndarray]:
    """The (x bar, y bar) segments of the panel's error bars, each an array of shape (n, 2, 2)."""
    collections = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = [np.array(c.get_segments()) for c in collections]
    horizontal = next(s for s in segments if np.allclose(s[:, 0, 1], s[:, 1, 1]))
    vertical = next(s for s in segments if np.allclose(s[:, 0, 0], s[:, 1, 0]))
    return horizontal, vertical


def test_lower_interval_bars_stop_at_zero_for_counts_and_times() -> None:
    """A count (false_rejections) and a time (time_to_open_s) whose 95% intervals reach below 0
    get bars that stop at 0, while the upper bars keep their full length."""
    points = [
        {"fail_max": f, "reset": r, "time_to_open_s": (0.2 * f, 0.5), "false_rejections": (0.3 * r, 2.0)}
        for f, r in itertools.product((1, 2, 3), (1.0, 5.0))
    ]
    summary = _summary(points)
    ax = tradeoff_figure(summary, presets=()).axes[0]
    horizontal, vertical = _bars(ax)
    assert vertical[:, :, 1].min() == 0.0 and horizontal[:, :, 0].min() == 0.0
    assert np.isclose(vertical[:, :, 1].max(), (summary["false_rejections.mean"] + 2.0).max())


def test_a_fraction_stays_within_zero_and_one_and_other_columns_are_not_clipped() -> None:
    """Availability's bars stay within [0, 1] (it is succeeded / offered); a column that is not a
    simulator metric (an objective, which may be negative) keeps its interval as given."""
    points = [
        {"fail_max": f, "reset": 1.0, "availability": (0.97 + 0.01 * f, 0.05), "objective": (-1.0 + f, 3.0)}
        for f in (1, 2, 3)
    ]
    ax = tradeoff_figure(_summary(points), x="objective", y="availability", presets=()).axes[0]
    horizontal, vertical = _bars(ax)
    assert vertical[:, :, 1].max() == 1.0 and vertical[:, :, 1].min() >= 0.0
    assert np.isclose(horizontal[:, :, 0].min(), -1.0 + 1 - 3.0)


def test_the_legend_says_what_is_circled() -> None:
    """With a recommendation table as highlight, the legend names the recommended setting for the
    panel's trace and for all traces (no bare "highlighted"), and the title says what is circled."""
    points = [
        {"fail_max": f, "reset": r, "time_to_open_s": (0.5 * f, 0.1), "false_rejections": (r / f, 0.5)}
        for f, r in itertools.product((1, 3, 5), (1.0, 5.0, 60.0))
    ]
    best = pd.DataFrame({
        "trace": ["hard_down", "all"], "breaker.fail_max": [3, 5], "breaker.reset_timeout": [5.0, 60.0],
    })
    fig = tradeoff_figure(_summary(points), highlight=best)
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "recommended setting for this trace" in legend and "recommended setting for all traces" in legend
    assert "highlighted" not in legend
    assert "circled: recommended setting" in fig.get_suptitle()


def _boxes(fig: Figure) -> dict[Axes, list[tuple[str, Bbox]]]:
    """Each panel's drawn texts (point labels and notes) with their boxes in pixels, after drawing."""
    fig.savefig(io.BytesIO(), format="png", dpi=120)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    return {
        ax: [(text.get_text(), text.get_window_extent(renderer)) for text in ax.texts if text.get_visible()]
        for ax in fig.axes if ax.get_title()
    }


GRID = list(itertools.product((1, 2, 3, 4, 5, 6), (1.0, 5.0, 30.0, 60.0)))


def crowded_summary() -> pd.DataFrame:
    """Two panels of 24 cells on the Pareto front packed into a corner (one far, dominated cell
    sets the axes' range), with the pybreaker and circuitbreaker settings among them: every label
    wants the same few pixels."""
    panels = []
    for world, trace in enumerate(("hard_down", "flapping")):
        points = [
            {"fail_max": f, "reset": r, "time_to_open_s": (1.0 + 0.02 * i, 0.01), "false_rejections": (5.0 - 0.02 * i, 0.01)}
            for i, (f, r) in enumerate(GRID)
        ]
        points.append({"fail_max": 10, "reset": 600.0, "time_to_open_s": (4.0, 0.01), "false_rejections": (20.0, 0.01)})
        panels.append(_summary(points, trace, world))
    return pd.concat(panels, ignore_index=True)


@pytest.fixture
def crowded() -> pd.DataFrame:
    """The crowded summary."""
    return crowded_summary()


def test_point_labels_never_overlap_and_the_rest_are_listed(crowded: pd.DataFrame) -> None:
    """After drawing, no two texts of a panel intersect and each lies inside its panel; every
    Pareto-front cell and preset is either labelled on the plot or listed under the x label."""
    fig = tradeoff_figure(crowded)
    for ax, boxes in _boxes(fig).items():
        inside = ax.get_window_extent()
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
            assert not box_a.overlaps(box_b), f"{ax.get_title()}: {a!r} overlaps {b!r}"
        for text, box in boxes:
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1, text
        labelled = {text for text, _ in boxes}
        caption = ax.get_xlabel()
        assert "not labelled (no room):" in caption
        for f, r in GRID:
            name = f"{f}/{r:g}"
            assert name in labelled or name in caption.replace("\n", " "), name
        for preset in ("pybreaker", "circuitbreaker"):
            assert preset in labelled or preset in caption.replace("\n", " "), preset
        assert len(labelled) >= 5


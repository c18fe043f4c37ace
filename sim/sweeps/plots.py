"""Plots of a parameter sweep's summary table: metric heatmaps over the (fail_max, reset_timeout)
grid and metric-versus-metric trade-off scatters with their Pareto front.

Drawn with matplotlib's object-oriented API on an Agg canvas, like ``plot.py``: no ``pyplot``, no
global figure state and no GUI backend. Each panel is one *world* of the sweep (a trace family
with its non-breaker options); with one world per family, that is one panel per trace family.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib import colormaps, patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from ..errors import InvalidConfigError
from ..plot import save_figure
from ..presets import PRESETS, Preset, PresetMark, preset_marks
from ..result import metric_definitions
from .recommend import HIGHER_IS_BETTER, breaker_columns, format_value, parameter_columns, pareto_front

__all__ = [
    "DEFAULT_HEATMAP_METRICS", "FAIL_MAX", "RESET_TIMEOUT",
    "heatmap_figure", "objective_figure", "pareto_front", "plot_heatmaps", "plot_objective", "plot_tradeoff",
    "tradeoff_figure",
]

FAIL_MAX = "breaker.fail_max"
RESET_TIMEOUT = "breaker.reset_timeout"
#: The metrics ``plot_heatmaps`` draws by default (those present in the summary).
#: The metrics drawn by default: every metric the issue names for tables and plots (counts of
#: requests and attempts, which the sweep does not change, are left out).
DEFAULT_HEATMAP_METRICS: tuple[str, ...] = (
    "time_to_open_s", "calls_to_unhealthy", "failed_calls", "time_to_close_s", "time_to_recover_s",
    "false_rejections", "false_trips_per_hour", "recovery_load_rps", "recovery_load_peak_concurrency",
    "goodput", "availability", "latency_p50_s", "latency_p99_s", "latency_p999_s", "pool_saturated_s",
    "pool_peak", "amplification", "trips",
)
_DPI = 120
_PANELS_PER_ROW = 3
_OUTLINE = [patheffects.withStroke(linewidth=2.2, foreground="white")]


def _direction(metric: str) -> str:
    return "higher is better" if metric.split(".")[0] in HIGHER_IS_BETTER else "lower is better"


def _short_definition(metric: str) -> str:
    """The metric's definition on one line: its first clause, at most 80 characters."""
    base, _, rest = metric.partition(".")
    if base == "time_in_state_s" and rest:
        return f"time in {rest} over the horizon (s)"
    text = metric_definitions().get(base, "")
    for stop in (" (", "; "):
        text = text.split(stop)[0]
    return text if len(text) <= 80 else text[:79] + "…"


def _replications(summary: pd.DataFrame) -> str:
    if "n" not in summary.columns or summary["n"].isna().all():
        return "mean over replications"
    low, high = int(summary["n"].min()), int(summary["n"].max())
    return f"mean over {low} replications" if low == high else f"mean over {low}–{high} replications"


def _panels(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(title, rows)`` per world (per trace when there is no ``world`` column), in order."""
    if "trace" not in summary.columns:
        raise InvalidConfigError("summary", "a sweep summary with a 'trace' column", sorted(map(str, summary.columns)))
    if summary.empty:
        raise InvalidConfigError("summary", "a non-empty sweep summary", "0 rows")
    key = "world" if "world" in summary.columns else "trace"
    others = [c for c in parameter_columns(summary) if not c.startswith("breaker.")]
    panels = []
    for _, rows in summary.groupby(key, sort=False):
        trace = str(rows["trace"].iloc[0])
        family = summary[summary["trace"] == trace]
        varying = [c for c in others if family[c].nunique(dropna=False) > 1]
        title = ", ".join([trace, *(f"{c}={rows[c].iloc[0]}" for c in varying)])
        panels.append((title, rows))
    return panels


def _panel_grid(
    count: int, panel_in: tuple[float, float], margin_in: tuple[float, float], *, fixed: bool = False,
) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` panels, ``_PANELS_PER_ROW`` to a row (sizes in inches).

    ``fixed``: place the panels by fixed margins instead of the constrained layout (which draws
    every figure twice to measure it): for figures whose labels have a known, small size.
    """
    ncols = min(_PANELS_PER_ROW, count)
    nrows = math.ceil(count / ncols)
    width_in, height_in = panel_in[0] * ncols + margin_in[0], panel_in[1] * nrows + margin_in[1]
    fig = Figure(figsize=(width_in, height_in), layout=None if fixed else "constrained")
    FigureCanvasAgg(fig)
    if fixed:  # room for tick labels and axis labels, panel titles, the suptitle and a colorbar
        fig.subplots_adjust(
            left=0.65 / width_in, right=1 - margin_in[0] / width_in, bottom=0.6 / height_in,
            top=1 - 0.85 / height_in, wspace=0.22, hspace=0.38,
        )
    axes: list[Axes] = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[count:]:
        ax.remove()
    return fig, axes[:count]


def _require_grid(summary: pd.DataFrame) -> None:
    for column in (FAIL_MAX, RESET_TIMEOUT):
        if column not in summary.columns:
            raise InvalidConfigError(
                column, "a column of the summary: heatmaps need both breaker.fail_max and breaker.reset_timeout "
                "in the sweep grid", f"parameter columns {parameter_columns(summary)}",
                hint="sweep both knobs, or use plot_tradeoff",
            )


def _check_one_row_per_cell(title: str, rows: pd.DataFrame) -> None:
    """Heatmaps cannot show a third varying breaker option: refuse rather than average it away."""
    counts = rows.groupby([FAIL_MAX, RESET_TIMEOUT], dropna=False).size()
    if (counts > 1).any():
        fail_max, reset = counts[counts > 1].index[0]
        extra = [c for c in breaker_columns(rows) if c not in (FAIL_MAX, RESET_TIMEOUT) and rows[c].nunique() > 1]
        raise InvalidConfigError(
            "summary", "one row per (world, fail_max, reset_timeout) for heatmaps",
            f"{int(counts.max())} rows in {title} at fail_max={fail_max}, reset_timeout={reset}",
            hint=f"{', '.join(extra) or 'other columns'} also vary: filter the summary to one value of each "
            "and call once per value, each with its own out_dir",
        )


def heatmap_figure(summary: pd.DataFrame, metric: str, *, presets: Sequence[Preset] = PRESETS) -> Figure:
    """One metric's heatmap figure: a panel per world, fail_max up, reset_timeout across.

    Cells are coloured by ``<metric>.mean`` on one scale for every panel, reversed for
    lower-is-better metrics so the good end always has the same colour; each cell is annotated
    with its value (``—`` and grey hatching where it is NaN or was not run). Presets on grid
    values get a star; presets inside the grid's range but off its values get a hollow circle at
    the nearest cell and a ``≈`` label.

    Raises:
        InvalidConfigError: A grid column or ``<metric>.mean`` is missing, or a world has more than
            one row per (fail_max, reset_timeout).
    """
    _require_grid(summary)
    column = f"{metric}.mean"
    if column not in summary.columns:
        rule = f"metrics summarised in the summary ({', '.join(_summarised(summary))})"
        raise InvalidConfigError("metrics", rule, metric)
    panels = _panels(summary)
    for title, rows in panels:
        _check_one_row_per_cell(title, rows)
    fails = sorted(summary[FAIL_MAX].dropna().unique())
    resets = sorted(summary[RESET_TIMEOUT].dropna().unique())
    grids = [
        rows.set_index([FAIL_MAX, RESET_TIMEOUT])[column].astype(float).unstack().reindex(index=fails, columns=resets)
        .to_numpy(dtype=float) for _, rows in panels
    ]
    finite = np.concatenate([grid[np.isfinite(grid)] for grid in grids])
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if low == high:
        low, high = low - 0.5, high + 0.5
    norm = Normalize(low, high)
    higher = metric.split(".")[0] in HIGHER_IS_BETTER
    cmap = colormaps["viridis" if higher else "viridis_r"].with_extremes(bad="0.88")

    fig, axes = _panel_grid(len(panels), (4.4, 3.9), (1.3, 1.0), fixed=True)
    marks = preset_marks(presets, fails, resets)
    for ax, (title, _), grid in zip(axes, panels, grids):
        _draw_heatmap(ax, grid, norm, cmap, fails, resets)
        _draw_marks(ax, marks)
        ax.set_title(title, fontsize=10)
    # The colour bar in the right margin the fixed layout keeps for it, as tall as the panels.
    params, width_in = fig.subplotpars, fig.get_figwidth()
    bar = fig.add_axes((params.right + 0.3 / width_in, params.bottom, 0.18 / width_in, params.top - params.bottom))
    fig.colorbar(ScalarMappable(norm, cmap), cax=bar, label=f"{metric} (mean; {_direction(metric)})")
    fig.suptitle(f"{metric}: {_short_definition(metric)}\n{_replications(summary)} per cell", fontsize=11)
    return fig


def _draw_heatmap(
    ax: Axes, grid: npt.NDArray[np.float64], norm: Normalize, cmap: Colormap,
    fails: Sequence[float], resets: Sequence[float],
) -> None:
    """The coloured grid, its annotations and hatching, and the categorical axes."""
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, origin="lower", aspect="auto")
    for (row, column), value in np.ndenumerate(grid):
        if math.isfinite(value):
            red, green, blue, _ = cmap(norm(value))
            colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
        else:
            colour = "0.35"
            hatching = Rectangle((column - 0.5, row - 0.5), 1, 1, facecolor="none", edgecolor="0.6", hatch="//", lw=0)
            ax.add_patch(hatching)
        ax.text(column, row, format_value(float(value)), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(resets)), [format_value(float(r)) for r in resets])
    ax.set_yticks(range(len(fails)), [format_value(float(f)) for f in fails])
    ax.set_xlabel("reset_timeout (s)")
    ax.set_ylabel("fail_max")


def _draw_marks(ax: Axes, marks: Sequence[PresetMark]) -> None:
    """Stars (exact) and hollow circles (nearest cell) in a cell's corner, names along its bottom."""
    by_cell: dict[tuple[int, int], list[PresetMark]] = {}
    for mark in marks:
        by_cell.setdefault((mark.row, mark.column), []).append(mark)
    for (row, column), here in by_cell.items():
        for index, mark in enumerate(here):
            marker, size, face = ("*", 11.0, "white") if mark.exact else ("o", 7.0, "none")
            ax.plot(column - 0.36 + 0.16 * index, row + 0.3, marker, ms=size, mfc=face, mec="black", mew=1.0, zorder=3)
        ax.text(
            column, row - 0.45, "\n".join(mark.label for mark in here), ha="center", va="bottom", fontsize=6.0,
            color="black", path_effects=_OUTLINE, zorder=4,
        )


def _summarised(summary: pd.DataFrame) -> list[str]:
    return [str(c)[: -len(".mean")] for c in summary.columns if str(c).endswith(".mean")]


def plot_heatmaps(
    summary: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    metrics: Sequence[str] | None = None,
    presets: Sequence[Preset] = PRESETS,
) -> list[pathlib.Path]:
    """Write ``heatmap-<metric>.png`` for each metric (see ``heatmap_figure``) into ``out_dir``.

    Args:
        summary: The sweep summary (one row per cell), with ``breaker.fail_max`` and
            ``breaker.reset_timeout`` columns and ``<metric>.mean`` columns. A world must have one
            row per (fail_max, reset_timeout); to plot a sweep that also varies another breaker
            option, filter the summary to one value of it per call.
        out_dir: The folder (created if needed).
        metrics: The metrics to draw; ``None``: those of ``DEFAULT_HEATMAP_METRICS`` present.
        presets: Library presets to mark on the grid.

    Returns:
        The files written, in metric order.

    Raises:
        InvalidConfigError: As for ``heatmap_figure``, or no default metric is in the summary.
    """
    _require_grid(summary)
    if metrics is None:
        metrics = [m for m in DEFAULT_HEATMAP_METRICS if f"{m}.mean" in summary.columns]
        if not metrics:
            raise InvalidConfigError(
                "summary", f"a summary with a '<metric>.mean' column for one of {', '.join(DEFAULT_HEATMAP_METRICS)}",
                _summarised(summary), hint="pass metrics=[...] to choose others",
            )
    folder = pathlib.Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in metrics:
        fig = heatmap_figure(summary, metric, presets=presets)
        path = folder / f"heatmap-{metric}.png"
        save_figure(fig, path, _DPI)
        paths.append(path)
    return paths


def tradeoff_figure(
    summary: pd.DataFrame,
    *,
    x: str = "time_to_open_s",
    y: str = "false_rejections",
    baselines: pd.DataFrame | None = None,
    highlight: pd.DataFrame | None = None,
    presets: Sequence[Preset] = PRESETS,
    highlight_label: str = "recommended setting",
) -> Figure:
    """Metric ``y`` against metric ``x``, one point per cell, a panel per world.

    Points carry 95% CI bars, clipped to the values the metric can take (every simulator metric
    is a count, a time, a rate or a ratio, so none goes below 0; availability stays at most 1);
    the Pareto front (cells no other cell beats on both metrics) is a step line with its points
    labelled ``fail_max/reset_timeout``; cells set like a preset get a star. Labels are placed
    so that none overlaps another: each tries a fixed list of positions around its point, in
    order, and one that fits nowhere inside the panel is listed under the panel's x label
    instead. ``highlight`` rows (matched on ``trace``, ``"all"`` matching every panel, and on the
    breaker columns they share with the summary, e.g. a ``recommend`` table) are circled and
    named ``highlight_label`` in the legend: green for a panel's own trace, purple for the
    ``"all"`` row. Each baseline policy's mean is a cross, or a dashed line when one of its
    metrics is undefined.

    Raises:
        InvalidConfigError: ``<x>.mean``/``<y>.mean`` or ``breaker.fail_max`` is missing from the
            summary, or ``baselines`` lacks a ``policy``, ``x`` or ``y`` column.
    """
    for name, metric in (("x", x), ("y", y)):
        if f"{metric}.mean" not in summary.columns:
            rule = f"a metric summarised in the summary ({', '.join(_summarised(summary))})"
            raise InvalidConfigError(name, rule, metric)
    if FAIL_MAX not in summary.columns:
        raise InvalidConfigError(FAIL_MAX, "a column of the summary", f"parameter columns {parameter_columns(summary)}")
    if baselines is not None:
        missing = [c for c in ("policy", x, y) if c not in baselines.columns]
        if missing:
            raise InvalidConfigError("baselines", f"a baselines table with 'policy', {x!r} and {y!r} columns", missing)
    panels = _panels(summary)
    fig, axes = _panel_grid(len(panels), (5.0, 4.2), (0.5, 1.4))
    legend: dict[str, Artist] = {}
    labels: list[tuple[Axes, list[_PointLabel], str]] = []
    for ax, (title, rows) in zip(axes, panels):
        labels.append((ax, _draw_tradeoff(ax, rows, x, y, presets, highlight, highlight_label), f"{x} ({_direction(x)})"))
        if baselines is not None:
            _draw_baselines(ax, rows, baselines, x, y)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(labels[-1][2])
        ax.set_ylabel(f"{y} ({_direction(y)})")
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend.keys()), loc="outside lower center", ncols=min(len(legend), 3),
               fontsize=8, frameon=False)
    circled = f"; circled: {highlight_label}" if highlight is not None else ""
    fig.suptitle(
        f"{y} against {x}: one point per sweep cell ({_replications(summary)}, 95% CI bars)\n"
        f"Pareto front: cells no other cell beats on both; labelled fail_max/reset_timeout{circled}", fontsize=11,
    )
    _place_all_labels(fig, labels)
    return fig


def _label(row: pd.Series) -> str:
    text = format_value(float(row[FAIL_MAX]))
    return text + (f"/{format_value(float(row[RESET_TIMEOUT]))}" if RESET_TIMEOUT in row.index else "")


#: The values each metric can take, from its definition (``breakerlab.sim.result``): every
#: metric is a count, simulated seconds, a rate or a ratio of counts, so none is negative, and
#: availability (succeeded / offered) is a fraction. Columns that are not simulator metrics
#: (an objective with negative weights, a user's own column) are not clipped.
_AT_MOST_ONE = frozenset({"availability"})


def _value_range(metric: str) -> tuple[float, float]:
    """``(lowest, highest)`` value of ``metric``: where its interval bars are clipped."""
    base = metric.split(".")[0]
    if base not in metric_definitions():
        return (-math.inf, math.inf)
    return (0.0, 1.0 if base in _AT_MOST_ONE else math.inf)


def _error_bars(shown: pd.DataFrame, rows: pd.DataFrame, metric: str) -> npt.NDArray[np.float64] | None:
    """The ``[below, above]`` bar lengths of ``metric``'s 95% interval, the interval clipped to the
    metric's range (a count's interval never reaches below 0)."""
    low_column, high_column = f"{metric}.ci_low", f"{metric}.ci_high"
    if low_column not in rows.columns or high_column not in rows.columns:
        return None
    lowest, highest = _value_range(metric)
    values = shown[f"{metric}.mean"].to_numpy(dtype=float)
    low = np.clip(shown[low_column].to_numpy(dtype=float), lowest, highest)
    high = np.clip(shown[high_column].to_numpy(dtype=float), lowest, highest)
    return np.asarray(np.nan_to_num(np.clip([values - low, high - values], 0.0, None)), dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class _PointLabel:
    """A label to place next to a data point, in one of ``_LABEL_POSITIONS`` (tried in order)."""

    text: str
    xy: tuple[float, float]
    kind: str  # "front" or "preset": what the caption calls it when it does not fit
    color: str
    first: int = 0  # the position tried first (the rest follow in order)


#: Where a label may go, relative to its point: (dx, dy) in points and the text's alignment.
#: Near positions first, then the same directions farther out.
_LABEL_POSITIONS: tuple[tuple[float, float, str, str], ...] = (
    (4, 4, "left", "bottom"), (4, -4, "left", "top"), (-4, 4, "right", "bottom"), (-4, -4, "right", "top"),
    (0, 7, "center", "bottom"), (0, -7, "center", "top"), (7, 0, "left", "center"), (-7, 0, "right", "center"),
    (4, 14, "left", "bottom"), (4, -14, "left", "top"), (-4, 14, "right", "bottom"), (-4, -14, "right", "top"),
    (0, 20, "center", "bottom"), (0, -20, "center", "top"), (18, 0, "left", "center"), (-18, 0, "right", "center"),
)
#: Layout passes: the captions of unplaced labels change the x labels, hence the panels' size,
#: so labels are placed again until the captions no longer change.
_LAYOUT_ROUNDS = 4


def _place_labels(ax: Axes, labels: Sequence[_PointLabel], renderer: RendererBase) -> list[_PointLabel]:
    """Annotate ``labels`` on ``ax``, each at its first position where it stays inside the panel
    and overlaps no text placed before it; return the labels that fit nowhere.

    Each candidate box is computed from the text's size (measured once), and the chosen one is
    confirmed with the drawn text's own box, so only one annotation per label is drawn.
    """
    inside = ax.get_window_extent(renderer)
    taken = [text.get_window_extent(renderer).padded(1.0) for text in ax.texts if text.get_visible()]
    points_to_pixels = float(renderer.points_to_pixels(1.0))  # type: ignore[arg-type]
    dropped = []
    for label in labels:
        style: dict[str, Any] = {"fontsize": 7, "color": label.color, "path_effects": _OUTLINE, "gid": "point-label"}
        probe = ax.annotate(label.text, label.xy, xytext=(0, 0), textcoords="offset points", ha="left", va="bottom", **style)
        size = probe.get_window_extent(renderer)
        probe.remove()
        anchor = ax.transData.transform(label.xy)
        anchor_x, anchor_y = float(anchor[0]), float(anchor[1])
        order = _LABEL_POSITIONS[label.first:] + _LABEL_POSITIONS[:label.first]
        for dx, dy, ha, va in order:
            x0 = anchor_x + dx * points_to_pixels - {"left": 0.0, "center": 0.5, "right": 1.0}[ha] * size.width
            y0 = anchor_y + dy * points_to_pixels - {"bottom": 0.0, "center": 0.5, "top": 1.0}[va] * size.height
            if not _fits(Bbox.from_bounds(x0, y0, size.width, size.height).padded(1.0), inside, taken):
                continue
            text = ax.annotate(label.text, label.xy, xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, **style)
            box = text.get_window_extent(renderer).padded(1.0)
            if _fits(box, inside, taken):
                taken.append(box)
                break
            text.remove()
        else:
            dropped.append(label)
    return dropped


def _fits(box: Bbox, inside: Bbox, taken: Sequence[Bbox]) -> bool:
    """``box`` lies inside ``inside`` and overlaps none of ``taken``."""
    within = inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
    return within and not any(box.overlaps(other) for other in taken)


def _caption(dropped: Sequence[_PointLabel]) -> str:
    """The labels that did not fit, as a line (wrapped) under the x label."""
    parts = []
    for kind, name in (("front", "Pareto front"), ("preset", "presets")):
        texts = [label.text for label in dropped if label.kind == kind]
        if texts:
            parts.append(f"{name}: {', '.join(texts)}")
    return "\n".join(textwrap.wrap("not labelled (no room): " + "; ".join(parts), 70)) if parts else ""


def _place_all_labels(fig: Figure, panels: Sequence[tuple[Axes, Sequence[_PointLabel], str]]) -> None:
    """Place every panel's labels on the final layout (see ``_LAYOUT_ROUNDS``). Should the
    captions still change after the last round, the layout is frozen where it is, so that the
    labels placed on it stay apart."""
    captions = [""] * len(panels)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for round_number in range(_LAYOUT_ROUNDS):
        for ax, _labels, _xlabel in panels:
            for text in [t for t in ax.texts if t.get_gid() == "point-label"]:
                text.remove()
        fig.draw_without_rendering()
        if round_number == _LAYOUT_ROUNDS - 1:
            fig.set_layout_engine("none")
        placed = [_caption(_place_labels(ax, labels, renderer)) for ax, labels, _xlabel in panels]
        if placed == captions:
            return
        captions = placed
        for (ax, _labels, xlabel), caption in zip(panels, captions):
            ax.set_xlabel(f"{xlabel}\n{caption}" if caption else xlabel)


def _draw_tradeoff(
    ax: Axes,
    rows: pd.DataFrame,
    x: str,
    y: str,
    presets: Sequence[Preset],
    highlight: pd.DataFrame | None,
    highlight_label: str,
) -> list[_PointLabel]:
    """Cells with CI bars, the Pareto front, presets and highlighted cells; returns the labels to
    place (the front's cells and the presets'), which ``_place_labels`` draws once the layout is known."""
    xm, ym = f"{x}.mean", f"{y}.mean"
    shown = rows[np.isfinite(rows[xm].astype(float)) & np.isfinite(rows[ym].astype(float))]
    ax.errorbar(shown[xm], shown[ym], xerr=_error_bars(shown, rows, x), yerr=_error_bars(shown, rows, y), fmt="o",
                ms=4, color="tab:blue", ecolor="0.75", elinewidth=0.8, capsize=2, label="cell (95% CI)")
    front = pareto_front(shown, xm, ym, higher_is_better=[c for c, m in ((xm, x), (ym, y)) if m in HIGHER_IS_BETTER])
    ax.step(front[xm], front[ym], where="pre" if x in HIGHER_IS_BETTER else "post", color="tab:red", lw=1.2,
            label="Pareto front", zorder=2)
    labels = []
    for preset in presets:
        match = shown[shown[FAIL_MAX] == preset.fail_max]
        if RESET_TIMEOUT in shown.columns:
            match = match[np.isclose(match[RESET_TIMEOUT].astype(float), preset.reset_timeout_s)]
        for _, row in match.iterrows():
            ax.plot(row[xm], row[ym], "*", ms=12, mfc="gold", mec="black", zorder=4, label="library preset")
            labels.append(_PointLabel(preset.name, (float(row[xm]), float(row[ym])), "preset", "black", first=1))
    for _, row in front.iterrows():
        labels.append(_PointLabel(_label(row), (float(row[xm]), float(row[ym])), "front", "tab:red"))
    if highlight is not None:
        for overall, picked in _highlighted(shown, highlight):
            if "trace" not in highlight.columns:
                style, label = ("tab:green", 16), highlight_label
            elif overall:
                style, label = ("tab:purple", 21), f"{highlight_label} for all traces"
            else:
                style, label = ("tab:green", 16), f"{highlight_label} for this trace"
            for _, row in picked.iterrows():
                ax.plot(row[xm], row[ym], "o", ms=style[1], mfc="none", mec=style[0], mew=2, zorder=5, label=label)
    hidden = len(rows) - len(shown)
    if hidden:
        note = f"{hidden} cell{'s' if hidden > 1 else ''} with an undefined metric not shown"
        ax.text(0.99, 0.99, note, transform=ax.transAxes, ha="right", va="top", fontsize=7, color="0.4")
    return labels


def _highlighted(shown: pd.DataFrame, highlight: pd.DataFrame) -> list[tuple[bool, pd.DataFrame]]:
    """The rows of ``shown`` matching a ``highlight`` row on trace and shared breaker columns:
    ``(False, rows)`` for the panel's own traces, then ``(True, rows)`` for ``trace == "all"``."""
    keys = [c for c in breaker_columns(highlight) if c in shown.columns]
    if not keys:
        return []
    groups = [(False, highlight)]
    if "trace" in highlight.columns:
        groups = [
            (False, highlight[highlight["trace"].isin(shown["trace"].unique())]),
            (True, highlight[highlight["trace"] == "all"]),
        ]
    found = []
    for overall, picked in groups:
        merged = shown.copy().reset_index().merge(picked[keys].drop_duplicates(), on=keys, how="inner")
        if not merged.empty:
            found.append((overall, merged.set_index("index")))
    return found


#: Each baseline policy's colour and marker, in every plot that shows it.
_BASELINE_STYLES = {"no_breaker": ("black", "X"), "oracle": ("tab:olive", "P")}
_OTHER_BASELINE = ("tab:gray", "D")


def _draw_baselines(ax: Axes, rows: pd.DataFrame, baselines: pd.DataFrame, x: str, y: str) -> None:
    """Each baseline policy's mean in this panel's world: a cross, or a line if one metric is NaN."""
    key = "world" if "world" in rows.columns and "world" in baselines.columns else "trace"
    mine = baselines[baselines[key].isin(rows[key].unique())]
    for policy, runs in mine.groupby("policy", sort=False):
        colour, marker = _BASELINE_STYLES.get(str(policy), _OTHER_BASELINE)
        mx, my = float(runs[x].astype(float).mean()), float(runs[y].astype(float).mean())
        label = f"{policy} (mean)"
        if math.isfinite(mx) and math.isfinite(my):
            ax.plot(mx, my, marker, ms=9, color=colour, ls="none", zorder=4, label=label)
        elif math.isfinite(my):
            ax.axhline(my, color=colour, lw=1.0, ls="--", label=f"{label}, {x} undefined")
        elif math.isfinite(mx):
            ax.axvline(mx, color=colour, lw=1.0, ls="--", label=f"{label}, {y} undefined")


def plot_tradeoff(
    summary: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    x: str = "time_to_open_s",
    y: str = "false_rejections",
    baselines: pd.DataFrame | None = None,
    highlight: pd.DataFrame | None = None,
    presets: Sequence[Preset] = PRESETS,
) -> pathlib.Path:
    """Write ``tradeoff-<x>-vs-<y>.png`` (see ``tradeoff_figure``) into ``out_dir``.

    Args:
        summary: The sweep summary, with ``<x>.mean``, ``<y>.mean`` (and ``.ci_low``/``.ci_high``
            for error bars) and ``breaker.fail_max`` columns.
        out_dir: The folder (created if needed).
        x: The metric across; the Pareto front takes lower as better unless it is
            ``availability``, ``goodput`` or ``succeeded``.
        y: The metric up, likewise.
        baselines: The per-run baselines table (``policy``, ``world``/``trace``, metric
            columns): each policy's mean is drawn in its world's panel.
        highlight: Rows to circle (e.g. ``recommend(...)``'s table).
        presets: Library presets whose cells get a star.

    Returns:
        The file written.
    """
    fig = tradeoff_figure(summary, x=x, y=y, baselines=baselines, highlight=highlight, presets=presets)
    folder = pathlib.Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tradeoff-{x}-vs-{y}.png"
    save_figure(fig, path, _DPI)
    return path


def objective_figure(
    curves: pd.DataFrame, objective_text: str, baselines: Mapping[str, Mapping[str, float]] | None = None
) -> Figure:
    """The objective against ``reset_timeout``: a panel per trace family, a line per value of
    the other breaker options (``fail_max`` in the built-in sweep), each point its mean with its
    95% interval, reset_timeout on a log scale, and each baseline's mean as a dashed level (how
    far the best setting is from sending everything, and from the oracle). The curve an SRE
    reads first: where it bottoms out, and how flat it is there.

    Args:
        curves: ``objective_by_setting``'s table (``trace``, ``breaker.*``, ``objective_mean``,
            ``objective_ci_low``, ``objective_ci_high``), with a ``breaker.reset_timeout`` column.
        objective_text: The objective as words, for the y-axis.
        baselines: ``baseline_objectives``' means, ``{trace: {policy: mean}}`` (none drawn
            when ``None``; a NaN mean is left out).

    Raises:
        InvalidConfigError: ``breaker.reset_timeout`` is not a column (the sweep does not vary it).
    """
    if RESET_TIMEOUT not in curves.columns:
        raise InvalidConfigError("grid", "a sweep over breaker.reset_timeout", sorted(map(str, curves.columns)))
    others = [c for c in breaker_columns(curves) if c != RESET_TIMEOUT]
    traces = list(dict.fromkeys(curves["trace"]))
    fig, axes = _panel_grid(len(traces), (4.6, 3.4), (1.0, 1.2))
    colours = colormaps["viridis"]
    for ax, trace in zip(axes, traces):
        panel = curves[curves["trace"] == trace]
        groups = list(panel.groupby(others, sort=True)) if others else [((), panel)]
        for k, (key, line) in enumerate(groups):
            line = line.sort_values(RESET_TIMEOUT)
            x = line[RESET_TIMEOUT].to_numpy(float)
            y = line["objective_mean"].to_numpy(float)
            low = np.nan_to_num(y - line["objective_ci_low"].to_numpy(float))
            high = np.nan_to_num(line["objective_ci_high"].to_numpy(float) - y)
            values = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{c.removeprefix('breaker.')}={_short_value(v)}" for c, v in zip(others, values))
            colour = colours(k / max(1, len(groups) - 1))
            ax.errorbar(x, y, yerr=[low, high], color=colour, marker="o", ms=3, lw=1.2, capsize=2, label=label or None)
        for policy, mean in (baselines or {}).get(trace, {}).items():
            if math.isfinite(mean):
                level_colour, _ = _BASELINE_STYLES.get(policy, _OTHER_BASELINE)
                ax.axhline(mean, color=level_colour, lw=1.0, ls="--", label=f"{policy} (mean)")
        ax.set_xscale("log")
        ax.set_title(trace, fontsize=10)
        ax.set_xlabel("reset_timeout (s)")
        ax.set_ylabel("objective (lower is better)", fontsize=8)
    if axes[0].get_legend_handles_labels()[1]:
        axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"objective per run against reset_timeout: {objective_text} (95% intervals)", fontsize=10)
    return fig


def _short_value(value: object) -> str:
    return format_value(float(value)) if isinstance(value, (int, float, np.number)) else str(value)


def plot_objective(
    curves: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    objective_text: str,
    baselines: Mapping[str, Mapping[str, float]] | None = None,
) -> pathlib.Path:
    """Write ``objective-vs-reset_timeout.png`` (see ``objective_figure``) into ``out_dir``."""
    fig = objective_figure(curves, objective_text, baselines)
    folder = pathlib.Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "objective-vs-reset_timeout.png"
    save_figure(fig, path, _DPI)
    return path

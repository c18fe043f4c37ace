"""The timeline plot of one simulated run: service condition, breaker state, rates and pool use.

Drawn with matplotlib's object-oriented API on an Agg canvas: no ``pyplot``, no global figure
state and no GUI backend.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .errors import InvalidConfigError
from .outputs import write_atomically
from .result import BREAKER, Metrics, SimResult, TimeSeries
from .traces.trace import Condition, Trace

__all__ = ["STATE_COLOURS", "image_formats", "plot_timeline"]

#: The colour of each breaker state in the state band (other names are drawn in light blue).
STATE_COLOURS: dict[str, str] = {
    "closed": "#2ca02c",
    "open": "#d62728",
    "half_open": "#ff7f0e",
    "forced_open": "#8b0000",
    "disabled": "#7f7f7f",
}
_OTHER_STATE_COLOUR = "#9ecae1"
_BASELINE_COLOURS = {"no_breaker": "black", "oracle": "tab:olive"}
_FAULT_COLOUR = (0.84, 0.15, 0.16, 0.18)
#: Marks of special segments: (Condition flag, legend label, face colour, hatch colour, hatch).
_MARKS = (
    ("paused", "paused (stop-the-world)", (0.58, 0.40, 0.74, 0.15), "tab:purple", "//"),
    ("hang", "hang (no answer)", (0.5, 0.5, 0.5, 0.15), "dimgrey", "xx"),
)
_DPI = 120


def image_formats() -> list[str]:
    """The file extensions ``plot_timeline`` can save to (``png``, ``svg``, ``pdf``, ...), sorted."""
    return sorted(FigureCanvasAgg.get_supported_filetypes())


def plot_timeline(
    result: SimResult,
    path: str | os.PathLike[str] | None = None,
    *,
    policies: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw one run's timeline and optionally save it.

    Four panels share the time axis (simulated seconds, ``0`` to ``scenario.horizon_s``): the
    service's condition (fault windows, error rate, capacity/latency/load factors, pauses and
    hangs), the breaker's state band (for a fleet, the share of its instances in each state,
    stacked), the breaker run's rates per second, and the worker pool's occupancy (over the
    whole fleet). A box lists the key metrics of the breaker run.

    Args:
        result: What ``simulate`` returned; it must hold a ``"breaker"`` run.
        path: Where to save the figure (format by extension, e.g. ``.png``, ``.svg``,
            ``.pdf``), at 120 dpi. ``None``: do not save.
        policies: Runs to show. The breaker run is always drawn; each baseline named here
            (``"no_breaker"``, ``"oracle"``) adds its succeeded rate to the rates panel as a
            thin dashed line. A single string is taken as one name. ``None``: only the breaker.
        title: The figure's title; by default the trace's name, the breaker's ``fail_max``
            and ``reset_timeout``, and the seed.

    Returns:
        The figure (attached to an Agg canvas, so ``fig.savefig`` works later too).

    Raises:
        InvalidConfigError: ``policies`` names a run that is not in ``result``, or
            ``result`` has no breaker run.
    """
    if BREAKER not in result.runs:
        raise InvalidConfigError("result", f"a result with a {BREAKER!r} run", sorted(result.runs))
    names = [policies] if isinstance(policies, str) else list(policies or ())
    for name in names:
        if name not in result.runs:
            raise InvalidConfigError("policies", f"names of runs in this result ({', '.join(result.runs)})", name)
    baselines = list(dict.fromkeys(name for name in names if name != BREAKER))

    horizon_s = float(result.scenario.horizon_s)
    fig = Figure(figsize=(12.0, 9.0))
    FigureCanvasAgg(fig)
    axes: list[Axes] = list(fig.subplots(4, 1, sharex=True, height_ratios=[2.2, 0.8, 2.2, 1.6]))
    fig.subplots_adjust(left=0.07, right=0.76, top=0.93, bottom=0.07, hspace=0.12)
    cond_ax, state_ax, rates_ax, pool_ax = axes

    _draw_condition(cond_ax, result.trace, horizon_s)
    workload = result.scenario.workload
    if workload.instances > 1:
        _draw_fleet_states(state_ax, result.series, workload.instances)
    else:
        _draw_states(state_ax, result.series, horizon_s)
    _draw_rates(rates_ax, result, baselines)
    _draw_pool(pool_ax, result.series, workload.workers * workload.instances)
    _draw_metrics(pool_ax, result.metrics)

    pool_ax.set_xlim(0.0, horizon_s)
    pool_ax.set_xlabel("simulated time (s)")
    if title is None:
        cfg = result.scenario.breaker
        title = (
            f"{result.trace.name}: fail_max={cfg.fail_max}, "
            f"reset_timeout={cfg.reset_timeout:g} s, seed {result.seed}"
        )
    fig.suptitle(title)
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: float = _DPI) -> None:
    """Write ``fig`` to ``path`` (its format from the extension, PNG without one) atomically
    (``breakerlab.sim.outputs.write_atomically``): a kill at any moment leaves the old image or
    the new one, never a torn one."""
    image_format = pathlib.Path(path).suffix[1:].lower() or "png"
    write_atomically(path, lambda stream: fig.savefig(stream, format=image_format, dpi=dpi))


def _spans(trace: Trace, horizon_s: float) -> list[tuple[float, float, Condition]]:
    """The trace's segments as ``(start, end, condition)`` clipped to ``[0, horizon_s)``."""
    spans: list[tuple[float, float, Condition]] = []
    segments = trace.segments
    for index, segment in enumerate(segments):
        if segment.start_s >= horizon_s:
            break
        end = segments[index + 1].start_s if index + 1 < len(segments) else horizon_s
        spans.append((segment.start_s, min(end, horizon_s), segment.condition))
    return spans


def _draw_condition(ax: Axes, trace: Trace, horizon_s: float) -> None:
    """Panel 1: fault windows, error rate, factors that depart from 1, pauses and hangs."""
    spans = _spans(trace, horizon_s)
    for index, (start, end) in enumerate(trace.fault_windows(horizon_s)):
        ax.axvspan(start, end, color=_FAULT_COLOUR, lw=0, label="unhealthy" if index == 0 else "_nolegend_")
    for flag, label, face, edge, hatch in _MARKS:
        marked = [(start, end) for start, end, condition in spans if getattr(condition, flag)]
        for index, (start, end) in enumerate(marked):
            ax.axvspan(
                start, end, facecolor=face, edgecolor=edge, hatch=hatch, lw=0,
                label=label if index == 0 else "_nolegend_",
            )

    edges = [start for start, _, _ in spans] + [horizon_s]

    def steps(field: str) -> list[float]:
        values = [float(getattr(condition, field)) for _, _, condition in spans]
        return values + values[-1:]

    ax.step(edges, steps("error_rate"), where="post", color="tab:red", lw=1.6, label="error rate")
    ax.set_ylim(-0.03, 1.05)
    ax.set_ylabel("error rate")
    handles, labels = ax.get_legend_handles_labels()

    factors = [
        (field, label, colour)
        for field, label, colour in (
            ("capacity_factor", "capacity factor", "tab:blue"),
            ("latency_factor", "latency factor", "tab:brown"),
            ("load_factor", "load factor", "tab:cyan"),
        )
        if any(value != 1.0 for value in steps(field))
    ]
    if factors:
        twin = ax.twinx()
        top = 1.0
        for field, label, colour in factors:
            values = steps(field)
            top = max(top, *values)
            twin.step(edges, values, where="post", color=colour, lw=1.2, ls="-.", label=label)
        twin.set_ylim(0.0, top * 1.1)
        twin.set_ylabel("factor (1 = as usual)")
        more_handles, more_labels = twin.get_legend_handles_labels()
        handles += more_handles
        labels += more_labels
    anchor = 1.09 if factors else 1.01
    _legend(ax, anchor, handles=handles, labels=labels, title="service")


def _draw_states(ax: Axes, series: TimeSeries, horizon_s: float) -> None:
    """Panel 2: a band coloured by the breaker's state over time."""
    changes = [(float(time_s), str(name)) for time_s, name in series.state_changes if time_s < horizon_s]
    present: dict[str, list[tuple[float, float]]] = {}
    for index, (start, name) in enumerate(changes):
        end = changes[index + 1][0] if index + 1 < len(changes) else horizon_s
        present.setdefault(name, []).append((start, max(end - start, 0.0)))
    order = [name for name in STATE_COLOURS if name in present] + [n for n in present if n not in STATE_COLOURS]
    for name in order:
        colour = STATE_COLOURS.get(name, _OTHER_STATE_COLOUR)
        ranges = [(start, width) for start, width in present[name] if width > 0]
        ax.broken_barh(ranges, (0.0, 1.0), facecolors=colour, label=name)
        for start, width in present[name]:
            if width == 0:  # a state left at the instant it was entered: a thin mark
                ax.axvline(start, color=colour, lw=1.5)
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([])
    ax.set_ylabel("breaker", rotation=0, ha="right", va="center")
    if order:
        _legend(ax, 1.01, 1.25, ncols=2, title="state")


def _draw_fleet_states(ax: Axes, series: TimeSeries, instances: int) -> None:
    """Panel 2 for a fleet: the fraction of its instances in each state, stacked, per bin."""
    open_ = np.asarray(series.open_instances, dtype=np.float64) / instances
    half_open = np.asarray(series.half_open_instances, dtype=np.float64) / instances
    closed = np.clip(1.0 - open_ - half_open, 0.0, 1.0)
    x, _ = _bin_steps(series, closed, per_second=False)
    layers = [("closed", closed), ("half_open", half_open), ("open", open_)]
    ys = [_bin_steps(series, values, per_second=False)[1] for _, values in layers]
    ax.stackplot(
        x, *ys, step="post", colors=[STATE_COLOURS.get(name, _OTHER_STATE_COLOUR) for name, _ in layers],
        labels=[name for name, _ in layers],
    )
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([0.0, 1.0])
    ax.set_ylabel(f"fleet\n({instances})", rotation=0, ha="right", va="center")
    _legend(ax, 1.01, 1.25, ncols=2, title="share of instances")


def _legend(ax: Axes, x: float, y: float = 1.0, **options: object) -> None:
    """A small frameless legend in the right margin, its upper left corner at ``(x, y)``."""
    ax.legend(loc="upper left", bbox_to_anchor=(x, y), fontsize=8, frameon=False, **options)


def _bin_steps(
    series: TimeSeries, values: npt.ArrayLike, *, per_second: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per-bin values as a ``where="post"`` step (the last bin closed), counts as rates if asked."""
    ys = np.asarray(values, dtype=np.float64)
    if per_second:
        ys = ys / series.bin_s
    edges = np.asarray(series.start_s, dtype=np.float64)
    if not len(edges):
        return edges, ys
    return np.append(edges, edges[-1] + series.bin_s), np.append(ys, ys[-1])


def _draw_rates(ax: Axes, result: SimResult, baselines: Sequence[str]) -> None:
    """Panel 3: the breaker run's attempt rates, and each chosen baseline's succeeded rate."""
    series = result.series
    for field, colour in (
        ("admitted", "tab:blue"),
        ("rejected", "tab:purple"),
        ("failed", "tab:red"),
        ("succeeded", "tab:green"),
    ):
        x, y = _bin_steps(series, getattr(series, field), per_second=True)
        ax.step(x, y, where="post", color=colour, lw=1.4, label=field)
    fallback = iter(["tab:pink", "tab:gray", "tab:cyan"] * 10)
    for name in baselines:
        x, y = _bin_steps(result.runs[name].series, result.runs[name].series.succeeded, per_second=True)
        colour = _BASELINE_COLOURS.get(name) or next(fallback)
        ax.step(x, y, where="post", color=colour, lw=0.9, ls="--", label=f"{name} succeeded")
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel("attempts per second")
    _legend(ax, 1.01, title="breaker run")


def _draw_pool(ax: Axes, series: TimeSeries, workers: int) -> None:
    """Panel 4: mean and peak busy workers per bin, and the pool's size."""
    x, mean = _bin_steps(series, series.pool_mean, per_second=False)
    _, peak = _bin_steps(series, series.pool_peak, per_second=False)
    ax.step(x, mean, where="post", color="tab:blue", lw=1.4, label="mean busy")
    ax.step(x, peak, where="post", color="tab:blue", lw=0.7, alpha=0.7, label="peak busy")
    ax.axhline(workers, color="black", lw=1.0, ls="--", label=f"pool size ({workers})")
    ax.set_ylim(0.0, max(float(workers), float(np.max(peak, initial=0.0))) * 1.12)
    ax.set_ylabel("busy workers")
    _legend(ax, 1.01)


def _seconds(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.3g} s"


def _draw_metrics(ax: Axes, metrics: Metrics) -> None:
    """A small box of key metrics, in the margin beside the bottom panel."""
    availability = metrics.availability
    lines = [
        f"time to open: {_seconds(metrics.time_to_open_s)}",
        f"time to close: {_seconds(metrics.time_to_close_s)}",
        "availability: " + ("—" if not math.isfinite(availability) else f"{availability:.2%}"),
        f"false rejections: {metrics.false_rejections:,}",
    ]
    ax.text(
        1.01, 0.0, "\n".join(lines), transform=ax.transAxes, ha="left", va="bottom", fontsize=8,
        family="monospace", clip_on=False, bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7"},
    )

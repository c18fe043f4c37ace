"""A finished sweep's report: heatmaps, the trade-off plot, the recommendation and the timeline
of each recommended setting, drawn from the saved tables and run files (nothing is simulated).
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..errors import InvalidConfigError
from ..plot import plot_timeline
from ..result import BREAKER, Metrics, RunResult, SimResult, TimeSeries, metric_definitions
from ..streams import stream
from .plots import plot_heatmaps, plot_objective, plot_tradeoff
from .recommend import (
    baseline_objectives,
    describe_objective,
    format_recommendation,
    objective_by_setting,
    recommend,
    recommend_overall,
)
from .spec import SweepSpec
from .store import SweepStore, run_name

__all__ = ["Report", "draw_report", "load_result", "write_recommendation"]


@dataclasses.dataclass(frozen=True)
class Report:
    """What ``draw_report`` wrote.

    Attributes:
        plots: Every PNG written (under ``RESULTS_DIR/plots``).
        recommendation: The recommendation as readable lines (also in ``recommendation.txt``).
        table: The recommendation per trace family and overall (also ``recommendation.csv``).
        notes: Plots that could not be drawn for this sweep, and why.
    """

    plots: list[pathlib.Path]
    recommendation: str
    table: pd.DataFrame
    notes: list[str]


def load_result(store: SweepStore, spec: SweepSpec, cell: int) -> SimResult:
    """Replication 0 of ``cell`` as a ``SimResult`` (metrics and time series from its run file;
    the trace rebuilt from the recorded seed), for ``plot_timeline``."""
    scenario = spec.cells()[cell].scenario
    payload = store.read_run(run_name("c", cell, 0))
    row = payload["row"]
    values: dict[str, Any] = {}
    for name in metric_definitions():
        value = row.get(name)
        values[name] = None if isinstance(value, float) and math.isnan(value) else value
    values["time_in_state_s"] = {
        key.split(".", 1)[1]: value for key, value in row.items() if key.startswith("time_in_state_s.") and value
    }
    raw = payload["series"]
    series = TimeSeries(
        bin_s=raw["bin_s"],
        admitted=_array(raw["admitted"]),
        rejected=_array(raw["rejected"]),
        succeeded=_array(raw["succeeded"]),
        failed=_array(raw["failed"]),
        pool_mean=_array(raw["pool_mean"]),
        pool_peak=_array(raw["pool_peak"]),
        state_changes=tuple((float(t), str(s)) for t, s in raw["state_changes"]),
        open_instances=_array(raw.get("open_instances", [])),
        half_open_instances=_array(raw.get("half_open_instances", [])),
    )
    trace = scenario.trace.build(scenario.horizon_s, stream(row["seed"], "trace"))
    run = RunResult(policy=BREAKER, metrics=Metrics(**values), series=series)
    return SimResult(scenario=scenario, seed=int(row["seed"]), trace=trace, runs={BREAKER: run})


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _array(values: list[float]) -> Any:
    import numpy as np

    return np.asarray(values)


def write_recommendation(folder: str | os.PathLike[str], objective: Mapping[str, float]) -> tuple[str, pd.DataFrame]:
    """Write the recommendation of the finished sweep in ``folder`` (``recommendation.txt`` and
    ``recommendation.csv``, per trace family and overall); return its text and table."""
    store = SweepStore(folder)
    return _write_recommendation(store, _finished_tables(store)["results"], objective)


def _finished_tables(store: SweepStore) -> dict[str, pd.DataFrame]:
    tables = store.tables()
    if "results" not in tables:
        raise InvalidConfigError("RESULTS_DIR", "a finished sweep (with results.csv)", str(store.root))
    return tables


def _write_recommendation(
    store: SweepStore, rows: pd.DataFrame, objective: Mapping[str, float]
) -> tuple[str, pd.DataFrame]:
    selection = store.load_selection()
    note = ""
    if selection is not None and selection["objective"] != dict(objective):
        note = (f"\n(the runs were allocated by {selection['procedure']} for the objective "
                f"{describe_objective(selection['objective'])}; this ranking of another objective uses those runs "
                "without the procedure's guarantee)")
        selection = None
    table = recommend(rows, objective, selection=selection)
    if rows["trace"].nunique() > 1:
        table = pd.concat([table, recommend_overall(rows, objective, selection=selection)], ignore_index=True)
    text = format_recommendation(table, objective)
    if selection is not None:
        budget = f" (at most {selection['max_runs']:,})" if selection.get("max_runs") else ""
        text += (f"\nadaptive replications: {selection['simulations']:,} simulations{budget}, allocated by "
                 f"{selection['procedure']}")
    text += note
    store.write_text("recommendation.txt", text + "\n")  # atomically, as every output of a sweep
    store.write_table("recommendation.csv", table)
    return text, table


def draw_report(folder: str | os.PathLike[str], objective: Mapping[str, float]) -> Report:
    """Draw every plot of the sweep in ``folder`` and write its recommendation.

    Args:
        folder: A finished sweep's folder.
        objective: ``{metric: weight}`` the recommendation minimises.
    """
    store = SweepStore(folder)
    spec = store.load_spec()
    tables = _finished_tables(store)
    summary = tables["summary"]
    plots_dir = store.root / "plots"
    plots: list[pathlib.Path] = []
    notes: list[str] = []

    try:
        plots += plot_heatmaps(summary, plots_dir)
    except InvalidConfigError as exc:
        notes.append(f"no heatmaps: {exc}")

    text, table = _write_recommendation(store, tables["results"], objective)
    try:
        curves = objective_by_setting(tables["results"], objective)
        levels = None
        if "baselines" in tables:
            try:
                levels = baseline_objectives(tables["baselines"], objective)
            except InvalidConfigError as exc:
                notes.append(f"no baselines on the objective curve: {exc}")
        plots.append(plot_objective(curves, plots_dir, describe_objective(objective), levels))
    except InvalidConfigError as exc:
        notes.append(f"no objective curve: {exc}")

    # Detection against needless rejections, and the objective's own two metrics if it has two
    # (so the recommended cells are drawn on the front they were chosen from).
    pairs = [("time_to_open_s", "false_rejections")]
    if len(objective) == 2 and tuple(objective) != pairs[0]:
        pairs.append(tuple(objective))  # type: ignore[arg-type]
    for x, y in pairs:
        try:
            plots.append(plot_tradeoff(summary, plots_dir, x=x, y=y, baselines=tables.get("baselines"), highlight=table))
        except InvalidConfigError as exc:
            notes.append(f"no trade-off plot of {x} against {y}: {exc}")

    for _, best in table[table["trace"] != "all"].iterrows():
        cell = best["cell"]
        if pd.isna(cell):
            continue
        result = load_result(store, spec, int(cell))
        path = plots_dir / f"timeline-{best['trace']}-cell{int(cell)}.png"
        title = f"{best['trace']}: recommended " + ", ".join(
            f"{c.removeprefix('breaker.')}={_short(best[c])}" for c in table.columns if c.startswith("breaker.")
        ) + f" (seed {result.seed})"
        plot_timeline(result, path, title=title)
        plots.append(path)
    return Report(plots=plots, recommendation=text, table=table, notes=notes)

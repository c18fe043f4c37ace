# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Sweeping `fail_max` × `reset_timeout`
#
# Which breaker settings suit which outages? A *sweep* simulates every combination of a
# grid of settings (the *cells*) against a few kinds of outage, several times each with
# different random numbers (the *replications*), and summarises each cell with a mean and a
# 95% confidence interval. This notebook runs a small sweep, reads its tables, draws its
# report (heatmaps, trade-off plots, timelines) and asks for a recommendation.
#
# The same sweep runs from a shell with `breakerlab sweep --config sweep.toml`; the dictionary
# below is that TOML file's content.

# %%
import os

SCALE = os.environ.get("BREAKERLAB_NOTEBOOK_SCALE", "full")  # "small": a 2×2 grid, 2 replications

import pathlib
import tempfile

import pandas as pd
from IPython.display import Image, display

from breakerlab.sim import simulate
from breakerlab.sim.sweeps.recommend import parse_objective
from breakerlab.sim.sweeps.report import draw_report
from breakerlab.sim.sweeps.run import run_sweep
from breakerlab.sim.sweeps.spec import SweepSpec

# %% [markdown]
# ## The sweep
#
# Three outages, each starting at `start_s` and lasting `duration_s`: a hard outage (every
# call fails fast), a brownout (half the calls fail) and a randomly flapping service (down
# 5<!-- = dict(dict(spec.traces)["flapping_random"])["mean_down_s"] --> s and up 10<!-- = dict(dict(spec.traces)["flapping_random"])["mean_down_s"] * dict(dict(spec.traces)["flapping_random"])["availability"] / (1 - dict(dict(spec.traces)["flapping_random"])["availability"]) --> s on average, drawn anew in each replication). The caller sends 100<!-- = dict(spec.base)["workload.rate_rps"] -->
# requests/s through 64<!-- = dict(spec.base)["workload.workers"] --> workers with a 1<!-- = dict(spec.base)["workload.call_timeout_s"] --> s timeout. In every trace 2%<!-- = window["noise_error_rate"] --> of calls fail even
# while the service is healthy (`noise_error_rate`): the background errors every real
# service has, and what makes a very low `fail_max` costly. At full scale the grid includes the
# settings of well-known libraries (pybreaker's 5 / 60 s, and approximations of Hystrix's
# and Resilience4j's defaults), which the plots mark.
#
# The outages last an odd number of seconds on purpose. A breaker opens a moment after the
# outage starts and probes every `reset_timeout` seconds from then on; if the outage lasted
# an exact multiple of `reset_timeout` (120 s against 30 or 60 s, say), a probe would land
# just after its end every time, and long timeouts would look free. Real outages end at
# arbitrary moments. (Notebook 02 shows the same lock-step with a regularly flapping
# service.)
#
# Every run's seed is derived from the root `seed`, the cell's *world* (its outage and
# every non-breaker option) and the replication number. So all breaker settings meet the
# same random numbers in a world (common random numbers: differences between cells are due
# to the settings, not to luck), and any cell can be rerun alone.

# %%
if SCALE == "full":
    grid = {"breaker.fail_max": [1, 2, 5, 10, 20, 50], "breaker.reset_timeout": [1.0, 5.0, 15.0, 30.0, 60.0]}
    replications, horizon_s, start_s, duration_s = 5, 240.0, 30.0, 97.0
else:
    grid = {"breaker.fail_max": [2, 10], "breaker.reset_timeout": [5.0, 30.0]}
    replications, horizon_s, start_s, duration_s = 2, 120.0, 20.0, 47.0

window = {"start_s": start_s, "duration_s": duration_s, "noise_error_rate": 0.02}
spec = SweepSpec.from_mapping({
    "name": "notebook",
    "replications": replications,
    "seed": 2026,
    "horizon_s": horizon_s,
    "grid": grid,
    "base": {"workload.rate_rps": 100.0, "workload.workers": 64, "workload.call_timeout_s": 1.0},
    "traces": [
        {"family": "hard_down", **window},
        {"family": "brownout", **window, "error_rate": 0.5},
        {"family": "flapping_random", **window, "availability": 2 / 3, "mean_down_s": 5.0},
    ],
})
print(f"{len(spec.cells())} cells × {spec.replications} replications")

# %% [markdown]
# ## Running it
#
# `run_sweep` runs every (cell, replication) as an independent task on `jobs` local
# processes (or a Dask cluster), saves each finished run to its own file, and assembles the
# tables. The baselines (`no_breaker`, `oracle`) do not depend on the breaker's settings, so
# they run once per world and replication. An interrupted sweep can be finished with
# `resume=True`.

# %%
scratch = tempfile.TemporaryDirectory()
folder = pathlib.Path(scratch.name) / spec.name
outcome = run_sweep(spec, folder, jobs=2)
print(f"{outcome.tasks} runs; tables: {', '.join(sorted(outcome.tables))}")

# %% [markdown]
# ## The tables
#
# `results.csv` has one row per run: the cell, its world, the trace, the replication, the
# seed, every option the cell sets, and every metric. A few columns:

# %%
results = pd.read_csv(folder / "results.csv")
results[
    ["cell", "trace", "replication", "seed", "breaker.fail_max", "breaker.reset_timeout",
     "calls_to_unhealthy", "false_rejections", "availability"]
].head(8)

# %% [markdown]
# Any row can be replayed on its own: the cell's scenario and the row's seed give the same
# run, bit for bit.

# %%
row = results.iloc[-1]
replayed = simulate(spec.cells()[int(row["cell"])].scenario, int(row["seed"]), baselines=False)
print(f"cell {row['cell']}, seed {row['seed']}: calls_to_unhealthy {row['calls_to_unhealthy']} in the table, "
      f"{replayed.metrics.calls_to_unhealthy} replayed")

# %% [markdown]
# `summary.csv` has one row per cell: for every metric its mean over the replications and a
# 95% confidence interval (`.ci_low`, `.ci_high`; a Student t interval, so it needs at least
# two replications, and it is wide with few). A run where a metric is undefined (for
# example `time_to_open_s` when the breaker never opened) is left out of that metric's mean.

# %%
summary = pd.read_csv(folder / "summary.csv")
columns = ["trace", "breaker.fail_max", "breaker.reset_timeout", "n"]
for metric in ["calls_to_unhealthy", "false_rejections"]:
    columns += [f"{metric}.mean", f"{metric}.ci_low", f"{metric}.ci_high"]
summary[columns].round(1).head(8)

# %% [markdown]
# ## The report
#
# What is a good setting? That depends on what you are trying to avoid. The objective here
# counts harmed requests: calls sent to the failing service (wasted work that fails or times
# out while holding a worker) plus good calls the breaker turned away (`false_rejections`),
# with equal weights. The first rewards a breaker that trips early and stays open; the
# second, one that trips only when it must and closes soon. `draw_report` writes the plots
# under `plots/` and returns the recommendation: for each outage, and over all of them, the
# setting with the lowest mean objective.

# %%
objective = parse_objective("calls_to_unhealthy=1,false_rejections=1")
report = draw_report(folder, objective)
print(report.recommendation)

# %%
report.table

# %% [markdown]
# **Reading the recommendation.** The interval is a 95% confidence interval of the
# recommended setting's mean objective. `runner_up_overlaps` says whether the second-best
# setting's interval overlaps it: if so, the sweep cannot tell the two apart, and more
# replications (or a finer grid around the winner) would. Outages can want different
# settings; the row `all` is the one setting that does best on average over them (each
# outage weighted equally), and the heatmaps below show what it costs in each.
#
# ## Heatmaps
#
# One heatmap per metric, one panel per outage: `fail_max` up the side, `reset_timeout`
# across, each cell coloured by the metric's mean over the replications and labelled with
# it. The colour scale is shared by the panels and turned so that yellow is always the good
# end, whether the metric is better low (calls to the failing service) or high
# (availability). Grey hatching marks a cell where the metric is undefined. Stars mark
# library presets that sit on a grid cell; a hollow circle marks the cell nearest to one
# that does not.
#
# What to look for (at full scale; the small grid shows the corners of the same picture):
#
# - `calls_to_unhealthy` grows with `fail_max` (more failures before each trip) and shrinks
#   as `reset_timeout` grows (fewer probes). In the brownout, a breaker with `fail_max` of
#   20<!-- = summary[(summary["trace"] == "brownout") & (summary["trips.mean"] == 0)]["breaker.fail_max"].min() @full --> or more never trips (20 consecutive failures at a 50%<!-- = dict(dict(spec.traces)["brownout"])["error_rate"] --> error rate are too rare), so
#   it sends every call.
# - `false_rejections` grows with `reset_timeout` (open longer after the outage ends, and
#   through the up periods of the flapping service), and explodes in the bottom rows: with
#   2% background errors, `fail_max` of 1 or 2 trips over and over while the service is
#   healthy.
# - `availability` sums it up from the caller's side. Note the brownout: it is highest
#   where the breaker never trips (half the calls succeed, and a breaker only turns them
#   away), while the objective above counts every call sent there as harm. When the two
#   disagree, choose the objective for what actually hurts you.

# %%
heatmaps = {path.name: path for path in report.plots if path.name.startswith("heatmap-")}
for name in ["heatmap-calls_to_unhealthy.png", "heatmap-false_rejections.png", "heatmap-availability.png"]:
    if name in heatmaps:
        display(Image(filename=heatmaps[name]))

# %% [markdown]
# ## The trade-off plot
#
# One point per cell, one metric against another (here false rejections against time to
# open), with 95% confidence bars; both are better low, so the ideal is the bottom left
# corner. The red step line is the *Pareto front*: cells that no other cell beats on both
# metrics at once, labelled `fail_max/reset_timeout`. A cell off the front is dominated:
# some cell on the front is at least as good on both. Choosing along the front is the
# trade-off. Gold stars are library presets; green circles are the recommended settings
# (the outage's own and the overall one). The baselines are crosses, or dashed lines when
# one of the metrics is undefined for them (a baseline never opens, so here they are lines
# at zero false rejections). Cells whose breaker never opened have no time to open and are
# left out, as the panel's note says.

# %%
for path in report.plots:
    if path.name.startswith("tradeoff-"):
        display(Image(filename=path))

# %% [markdown]
# ## Timelines of the recommended settings
#
# The sweep keeps the time series of each cell's first replication, so the report draws
# the timeline of each outage's recommended setting without simulating again (read them as
# in notebook 02).

# %%
for path in report.plots:
    if path.name.startswith("timeline-"):
        display(Image(filename=path))

# %% [markdown]
# The sweep's folder was a temporary one; remove it.

# %%
scratch.cleanup()

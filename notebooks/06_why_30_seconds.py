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
# # 06 · Why 30 seconds?
#
# Libraries ship `reset_timeout` defaults of 30 to 60 seconds, and SREs rarely go below 10.
# Yet a simulation of one caller and one breaker, against a dependency nothing can harm,
# recommends the shortest timeout on any grid: a probe costs one call, so probing every
# second is free. This notebook shows what that world leaves out, and when a short
# timeout is right after all.
#
# The same 60<!-- = OUTAGE.duration_s --> s hard outage is seen by **one caller** and by a **fleet** of
# 50<!-- = FLEET --> instances, each with its own breaker. They share 200<!-- = RATE --> requests/s and retry a failed call
# twice. Two dependencies serve them:
# - a **robust** one, a capacity service that queues, slows down and times out, but cannot be
#   harmed;
# - a **fragile** one, the same service, which also crashes after 2<!-- = FRAGILE.crash_after_s --> s of overload, is down for
#   10<!-- = FRAGILE.restart_s --> s, and comes back cold: it restarts at 10%<!-- = FRAGILE.warmup_floor --> of its capacity and warms up over
#   30<!-- = FRAGILE.warmup_s --> s, more slowly while it is overloaded.

# %%
import os

SCALE = os.environ.get("BREAKERLAB_NOTEBOOK_SCALE", "full")  # "small": fewer seeds and timeouts
# %matplotlib inline

import math

import matplotlib.pyplot as plt
import pandas as pd
from scipy import stats

from breakerlab.model import BreakerConfig
from breakerlab.sim import RetryPolicy, Scenario, Service, Workload, simulate
from breakerlab.sim.traces.families import Brownout, HardDown

RATE, FLEET, HORIZON = 200.0, 50, 200.0
OUTAGE = HardDown(start_s=30.0, duration_s=60.0)
ROBUST = Service(kind="capacity", servers=16, queue_limit=200)
FRAGILE = Service(kind="capacity", servers=16, queue_limit=200, crash_after_s=2.0, restart_s=10.0, warmup_s=30.0)
CAPACITY_RPS = ROBUST.servers / ROBUST.mean_latency_s


def scenario(instances: int, service: Service, reset_timeout: float, trace: object = OUTAGE) -> Scenario:
    """The outage, seen by ``instances`` callers sharing the load, each with a breaker."""
    return Scenario(
        trace=trace, service=service, horizon_s=HORIZON,  # type: ignore[arg-type]
        breaker=BreakerConfig(fail_max=5, reset_timeout=reset_timeout),
        workload=Workload(rate_rps=RATE, instances=instances, workers=max(8, 640 // instances),
                          retry=RetryPolicy(max_retries=2, backoff_s=0.1)),
    )


# %% [markdown]
# ## One caller, a fleet, two dependencies
#
# A short (1 s) and a long (30 s) `reset_timeout`, in each of the four worlds, on the same
# random numbers. The dependency serves about 280<!-- = CAPACITY_RPS ± 5 --> calls/s when warm.

# %%
SEED = 7
rows = []
runs = {}
for callers, instances in (("one caller", 1), (f"fleet of {FLEET}", FLEET)):
    for dependency, service in (("robust", ROBUST), ("fragile", FRAGILE)):
        for reset_timeout in (1.0, 30.0):
            result = simulate(scenario(instances, service, reset_timeout), SEED, baselines=False)
            runs[(callers, dependency, reset_timeout)] = result
            m = result.metrics
            rows.append({
                "callers": callers, "dependency": dependency, "reset_timeout_s": reset_timeout,
                "failed": m.failed, "availability": round(m.availability, 3),
                "crashes after the outage": m.service_crashes_after_fault,
                "probes": m.calls_to_unhealthy_probes, "most open at once": m.peak_open_instances,
                "time_to_recover_s": m.time_to_recover_s,
            })
table = pd.DataFrame(rows).set_index(["callers", "dependency", "reset_timeout_s"])
table

# %% [markdown]
# Against the **robust** dependency the timeout barely matters. The fleet with 1 s timeouts
# fails 12,051<!-- = table.loc[(f"fleet of {FLEET}", "robust", 1.0), "failed"] ± 300 --> requests, and with 30 s
# 12,138<!-- = table.loc[(f"fleet of {FLEET}", "robust", 30.0), "failed"] ± 300 -->: nearly all of them during the
# outage itself. The dependency cannot be hurt, so probing often costs nothing.
#
# Against the **fragile** one, the fleet changes the answer:
# - **one caller** with 1 s timeouts does not knock it down again: 0<!-- = table.loc[("one caller", "fragile", 1.0), "crashes after the outage"] -->
#   crashes after the outage. Its single breaker sends one probe a second, and when it closes
#   the load comes back through one door;
# - **the fleet's 50 breakers** send 50 probes a second
#   (2,343<!-- = table.loc[(f"fleet of {FLEET}", "fragile", 1.0), "probes"] ± 100 --> probes in all) and close within
#   moments of each other. The whole load, retries included, comes back at once to a cold
#   service, which crashes 8<!-- = table.loc[(f"fleet of {FLEET}", "fragile", 1.0), "crashes after the outage"] ± 3 -->
#   times after the outage is over: a metastable failure. Availability falls to
#   16%<!-- = table.loc[(f"fleet of {FLEET}", "fragile", 1.0), "availability"] ± 3 -->;
# - with 30 s timeouts the breakers keep most of the load off while the service warms. There
#   is 1<!-- = table.loc[(f"fleet of {FLEET}", "fragile", 30.0), "crashes after the outage"] ± 1 --> crash at most,
#   and availability is 54%<!-- = table.loc[(f"fleet of {FLEET}", "fragile", 30.0), "availability"] ± 3 -->.

# %%
fig, axes = plt.subplots(2, 2, figsize=(13, 6), sharex=True, sharey=True, layout="constrained")
for row, reset_timeout in enumerate((1.0, 30.0)):
    for column, dependency in enumerate(("robust", "fragile")):
        ax = axes[row, column]
        result = runs[(f"fleet of {FLEET}", dependency, reset_timeout)]
        series = result.series
        ax.axvspan(OUTAGE.start_s, OUTAGE.start_s + OUTAGE.duration_s, color="tab:red", alpha=0.15, lw=0)
        ax.step(series.start_s, series.admitted / series.bin_s, where="post", color="tab:blue", lw=1, label="sent")
        ax.step(series.start_s, series.succeeded / series.bin_s, where="post", color="tab:green", lw=1.2,
                label="succeeded")
        ax.axhline(CAPACITY_RPS, color="black", ls="--", lw=0.8, label="warm capacity")
        ax.set_title(f"{dependency} dependency, reset_timeout={reset_timeout:g} s")
        ax.grid(alpha=0.3)
axes[0, 0].set_ylabel("calls per second")
axes[1, 0].set_ylabel("calls per second")
axes[1, 0].set_xlabel("simulated time (s)")
axes[1, 1].set_xlabel("simulated time (s)")
axes[0, 0].legend(loc="upper right", fontsize=8)
fig.suptitle(f"a fleet of {FLEET} through a 60 s outage (red), seed {SEED}")
plt.show()

# %% [markdown]
# ## The objective curve
#
# What an SRE reads first: the objective against `reset_timeout`, each point the mean of
# several seeded runs with its 95% interval. The objective is the sweep's: failed requests
# from any cause, plus 1,000 for each time the callers knocked the dependency down again
# after the outage (`breakerlab sweep`'s built-in objective). The fleet faces the fragile
# dependency.

# %%
SEEDS = range(1, 6) if SCALE == "full" else range(1, 3)
TIMEOUTS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120] if SCALE == "full" else [1, 5, 30, 120]


def objective(metrics: object) -> float:
    return metrics.failed + 1000 * metrics.service_crashes_after_fault  # type: ignore[attr-defined]


def curve(trace: object, service: Service) -> pd.DataFrame:
    points = []
    for reset_timeout in TIMEOUTS:
        values = [objective(simulate(scenario(FLEET, service, reset_timeout, trace), seed, baselines=False).metrics)
                  for seed in SEEDS]
        mean = sum(values) / len(values)
        sd = pd.Series(values).std(ddof=1)
        half = stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))
        points.append({"reset_timeout_s": reset_timeout, "mean": mean, "low": mean - half, "high": mean + half})
    return pd.DataFrame(points).set_index("reset_timeout_s")


BROWNOUT = Brownout(start_s=30.0, duration_s=60.0, error_rate=0.5)
curves = {"hard outage, fragile dependency": curve(OUTAGE, FRAGILE),
          "50% brownout, robust dependency": curve(BROWNOUT, ROBUST)}
best = {label: float(frame["mean"].idxmin()) for label, frame in curves.items()}

fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
for ax, (label, frame) in zip(axes, curves.items()):
    ax.errorbar(frame.index, frame["mean"], yerr=[frame["mean"] - frame["low"], frame["high"] - frame["mean"]],
                marker="o", capsize=3)
    ax.set_xscale("log")
    ax.set_title(f"{label}: best {best[label]:g} s")
    ax.set_xlabel("reset_timeout (s)")
    ax.set_ylabel("failed requests + 1,000 × re-crashes")
    ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# In the hard outage, the short timeouts are the worst: every close re-crashes the
# dependency. Somewhere around 10 s the curve drops to a floor, once the timeout outlasts the
# restart and most of the warm-up. The best point is
# 30<!-- = best["hard outage, fragile dependency"] --> s. The longest timeouts pay again: they reject
# calls after the dependency is already back. So 30 to 60 seconds is a sound default: it
# outlasts a restart and a warm-up, and it is not long enough to keep a recovered
# dependency idle for long.
#
# ## When a short timeout is right after all
#
# The second panel is a 50% brownout of the robust dependency. Half the calls still
# succeed, so every second the breaker stays open rejects calls that would have worked, and
# the dependency cannot be harmed. The curve rises with the timeout, and the best is the
# grid's shortest: 0.5<!-- = best["50% brownout, robust dependency"] @full --> s
# (1<!-- = best["50% brownout, robust dependency"] @small --> s on the small grid).
#
# A short timeout is right when probing is cheap and a closing breaker cannot hurt: a
# partial failure, a single caller, or a dependency that neither crashes nor needs to warm
# up. The main job's sweep (`breakerlab sweep`) finds the same: its brownout
# recommendation is the grid's shortest timeout, its flapping one lies inside the grid, and
# over all four outages it recommends 30 s.

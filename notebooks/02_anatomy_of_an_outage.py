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
# # 02 · Anatomy of an outage
#
# One simulated timeline per kind of outage the simulator knows (its *trace families*), with
# the same breaker (`fail_max=5`<!-- = breaker.fail_max -->, `reset_timeout=10`<!-- = breaker.reset_timeout -->) in front of the same caller (100<!-- = caller.rate_rps -->
# requests/s, 64<!-- = caller.workers --> workers, a 1<!-- = caller.call_timeout_s --> s call timeout). Every run also simulates two baselines on the
# **same random numbers**: `no_breaker` (everything is sent) and `oracle` (an attempt is sent
# only if it would succeed: the best any breaker could do).
#
# ## How to read a timeline
#
# Four panels share the time axis (simulated seconds):
#
# 1. **service**: the red band is the fault window (the service is unhealthy); the red line
#    is the error rate; dash-dotted lines are factors that depart from 1 (capacity, latency,
#    load); hatching marks hangs and stop-the-world pauses.
# 2. **breaker**: its state over time, green closed, red open, orange half-open (a thin
#    orange mark is a half-open episode that lasted one probe).
# 3. **attempts per second** of the breaker run: admitted (sent), rejected, failed and
#    succeeded; the dashed lines are the succeeded rates of `no_breaker` (black) and
#    `oracle` (olive). Where the green line sits below the olive one, the breaker turned away
#    calls that would have succeeded.
# 4. **busy workers**: mean and peak per second against the pool size; a pool pinned at its
#    size means new requests fail at once (`pool_full`).
#
# The box beside the last panel lists the breaker run's time to open (from the fault's
# start), time to close (from the fault's end), availability and false rejections.

# %%
import os

SCALE = os.environ.get("BREAKERLAB_NOTEBOOK_SCALE", "full")  # "small": shorter outages and horizons
# %matplotlib inline


import pandas as pd
from IPython.display import display

from breakerlab.model import BreakerConfig
from breakerlab.sim import Scenario, Service, Workload, simulate
from breakerlab.sim.plot import plot_timeline
from breakerlab.sim.traces import families
from breakerlab.sim.traces.files import EXAMPLE_INCIDENT

# %% [markdown]
# ## The scenarios
#
# Faults start at `START` and last `DURATION` seconds, in a run of `HORIZON` seconds (about
# halved at small scale). The outages last 115<!-- = DURATION @full --> s (57<!-- = DURATION @small --> s at small scale) rather than a round
# 120 s on purpose: the breaker probes every 10<!-- = breaker.reset_timeout --> s from its trip, a moment after the fault
# starts, so a fault lasting an exact multiple of 10 s would always end just before a probe,
# and every close would look instant. Two families need more than the defaults:
#
# - **latency_spike**: calls succeed, only slowly, and a breaker that counts failures sees
#   nothing until they hit the call timeout. It gets a *slow-call* breaker instead: over its
#   last 50<!-- = slow_call_breaker.window_size --> outcomes (once it has 20<!-- = slow_call_breaker.minimum_calls -->), it opens when half of them are failures, or half took
#   longer than 0.5<!-- = slow_call_breaker.slow_call_duration_threshold --> s.
# - **capacity_loss** and **load_spike** need a service with finite capacity
#   (`Service(kind="capacity")`: 10<!-- = capacity_service.servers --> servers and a queue, about 190<!-- = capacity_service.servers / capacity_service.mean_latency_s ± 5 --> calls/s at full capacity),
#   called at 150<!-- = capacity_caller.rate_rps --> requests/s by a pool of 512<!-- = capacity_caller.workers --> workers. On this kind of service, load the
#   caller sends makes the service slower, so shedding it matters.
#
# The replay runs `sim/data/example-incident.csv`, the example incident shipped with the
# simulator (a database failover): a slow degradation, a hang, a hard failure, then a ramp
# back over nearly four minutes.

# %%
START, DURATION, HORIZON = (60.0, 115.0, 300.0) if SCALE == "full" else (30.0, 57.0, 150.0)
REPLAY_HORIZON = 600.0 if SCALE == "full" else 480.0
SEED = 1
POLICIES = ["no_breaker", "oracle"]

window = {"start_s": START, "duration_s": DURATION}
breaker = BreakerConfig(fail_max=5, reset_timeout=10)
slow_call_breaker = BreakerConfig(
    trip_rule="count_window", window_size=50, minimum_calls=20,
    slow_call_duration_threshold=0.5, slow_call_rate_threshold=0.5, reset_timeout=10,
)
caller = Workload(rate_rps=100, workers=64, call_timeout_s=1.0)
capacity_caller = Workload(rate_rps=150, workers=512, call_timeout_s=1.0)
capacity_service = Service(kind="capacity", servers=10, queue_limit=5000, latency_median_s=0.05, latency_sigma=0.3)
incident = EXAMPLE_INCIDENT

scenarios = {
    "hard_down": Scenario(trace=families.HardDown(**window), breaker=breaker, workload=caller, horizon_s=HORIZON),
    "hang": Scenario(trace=families.HardDownHang(**window), breaker=breaker, workload=caller, horizon_s=HORIZON),
    "brownout": Scenario(
        trace=families.Brownout(**window, error_rate=0.3), breaker=breaker, workload=caller, horizon_s=HORIZON
    ),
    "latency_spike": Scenario(
        trace=families.LatencySpike(**window, latency_factor=20), breaker=slow_call_breaker, workload=caller,
        horizon_s=HORIZON,
    ),
    "flapping": Scenario(
        trace=families.FlappingSquare(**window, down_s=5, up_s=5), breaker=breaker, workload=caller, horizon_s=HORIZON
    ),
    "flapping_random": Scenario(
        trace=families.FlappingRandom(**window, availability=0.7, mean_down_s=5), breaker=breaker, workload=caller,
        horizon_s=HORIZON,
    ),
    "slow_recovery": Scenario(
        trace=families.SlowRecovery(start_s=START, duration_s=DURATION / 2, ramp_s=DURATION / 2),
        breaker=breaker, workload=caller, horizon_s=HORIZON,
    ),
    "capacity_loss": Scenario(
        trace=families.CapacityLoss(start_s=START, duration_s=DURATION / 2, capacity_factor=0.2), breaker=breaker,
        workload=capacity_caller, service=capacity_service, horizon_s=HORIZON,
    ),
    "load_spike": Scenario(
        trace=families.LoadSpike(start_s=START, duration_s=DURATION / 4, load_factor=2), breaker=breaker,
        workload=capacity_caller, service=capacity_service, horizon_s=HORIZON,
    ),
    "noise": Scenario(
        trace=families.BackgroundNoise(error_rate=0.2), breaker=breaker, workload=caller, horizon_s=HORIZON
    ),
    "gc_pauses": Scenario(
        trace=families.GcPauses(start_s=10, period_s=30, pause_s=2), breaker=breaker, workload=caller,
        horizon_s=HORIZON,
    ),
    "replay": Scenario(
        trace=families.ReplayFile(path=str(incident)), breaker=breaker, workload=caller, horizon_s=REPLAY_HORIZON
    ),
}
results = {name: simulate(scenario, SEED) for name, scenario in scenarios.items()}


def fault_rate(name: str, policy: str) -> float:
    """Requests answered successfully per second in ``name``'s run under ``policy``, during the fault."""
    series = results[name].runs[policy].series
    during = (series.start_s >= START) & (series.start_s < START + DURATION)
    return float(series.succeeded[during].mean() / series.bin_s)

# %% [markdown]
# ## Hard down: every call fails fast
#
# The breaker opens within a fraction of a second (0.1<!-- = long.loc[("hard_down", "breaker"), "time_to_open_s"] ± 0.1 --> s: 5 failures at 100 requests/s), then
# rejects everything but one probe every 10 s; the first probe after the outage closes it.
# The service saw a few dozen calls during the outage instead of every one. Availability is
# slightly below the no-breaker run's: nothing could succeed during the outage anyway, and
# after it the breaker turns calls away until its next probe (`time_to_close_s`, up to
# `reset_timeout`).

# %%
display(plot_timeline(results["hard_down"], policies=POLICIES))

# %% [markdown]
# ## Hang: no answer at all
#
# The same outage, but each call holds its worker until the 1 s timeout. Without a breaker
# the demand is 100 calls/s × 1 s against 64 workers: the pool stays full through the outage
# and requests fail for lack of a worker (`pool_saturated_s` in the table at the end). With a
# breaker the pool fills for a moment at the trip, then empties. Time to open is at least the
# call timeout: a hung call only counts as a failure when it times out.

# %%
display(plot_timeline(results["hang"], policies=POLICIES))

# %% [markdown]
# ## Brownout: 30%<!-- = scenarios["brownout"].trace.error_rate --> of calls fail
#
# Five consecutive failures happen by chance when 30% of calls fail: on average once every
# (1 − 0.3⁵)/(0.7 · 0.3⁵) ≈ 590<!-- = (1 - 0.3**5) / (0.7 * 0.3**5) ± 5 --> calls, every 6<!-- = (1 - 0.3**5) / (0.7 * 0.3**5) / caller.rate_rps ± 0.5 --> s or so at 100 requests/s. So the
# consecutive-count breaker trips again and again, each time rejecting 10 s of calls of
# which 70% would have succeeded: its green line sits well below the dashed ones, and here a
# breaker *lowers* availability. For partial outages you want to ride out, use a rate rule
# (`trip_rule="count_window"` with a `failure_rate_threshold` above the error rate you
# tolerate).

# %%
display(plot_timeline(results["brownout"], policies=POLICIES))

# %% [markdown]
# ## Latency spike: slow, not failing
#
# Calls take 20<!-- = scenarios["latency_spike"].trace.latency_factor -->× longer (median 1<!-- = scenarios["latency_spike"].trace.latency_factor * scenarios["latency_spike"].service.latency_median_s --> s, the call timeout), so about half time out. The
# slow-call breaker opens about a second (1.1<!-- = long.loc[("latency_spike", "breaker"), "time_to_open_s"] ± 0.2 --> s) into the spike and stays open most of the time:
# now and then a probe closes it, and it re-opens as soon as its window again holds 20
# calls, mostly slow. Without a breaker the pool saturates and still about 36<!-- = fault_rate("latency_spike", "no_breaker") ± 2 --> calls/s
# succeed (the oracle, which sends only the calls that will beat the timeout, gets about 50<!-- = fault_rate("latency_spike", "oracle") ± 2 -->). A
# slow-call breaker protects the caller's workers and latency at the price of those slow
# successes: worth it when a full pool hurts more than they are worth (other work sharing
# the pool, a latency budget upstream).

# %%
display(plot_timeline(results["latency_spike"], policies=POLICIES))

# %% [markdown]
# ## Flapping: down 5 s, up 5 s
#
# A trap: `reset_timeout=10` equals the flap period (5 s down + 5 s up), and the breaker
# opened early in the first down period, so every probe lands 10 s later, early in another
# down period. The probes fail, the breaker stays open through the whole window, and every
# up period is lost: the availability of a hard outage, against about 80%<!-- = long.loc[("flapping", "no_breaker"), "availability"] ± 2 --> without a
# breaker. Periodic faults can phase-lock with a fixed `reset_timeout`. A `reset_timeout`
# well below the up period catches nearly every up period: with `reset_timeout=1` in this
# scenario the breaker's availability comes within a point of the no-breaker run's.

# %%
display(plot_timeline(results["flapping"], policies=POLICIES))

# %% [markdown]
# ## Random flapping: 70%<!-- = scenarios["flapping_random"].trace.availability --> up, down periods of 5<!-- = scenarios["flapping_random"].trace.mean_down_s --> s on average
#
# Random lengths break the lock: probes land in up periods and the breaker closes between
# down periods. But every down period, however short, trips it and costs up to a full
# `reset_timeout` of rejections, so it still loses a good part of the up time.

# %%
display(plot_timeline(results["flapping_random"], policies=POLICIES))

# %% [markdown]
# ## Slow recovery: down, then a ramp back
#
# After the hard outage the service comes back in steps: at step k the error rate is
# 1 − (k + ½)/steps (the capacity factor drawn alongside does not matter to this open-loop
# service). Probes sent early in the ramp fail, so the breaker stays open while the service
# is already partly useful (its green line at zero while the oracle's climbs). A probe that
# succeeds mid-ramp closes it only briefly: at a 50% error rate five consecutive failures
# come within a second. It closes for good only late in the ramp, or after it.

# %%
display(plot_timeline(results["slow_recovery"], policies=POLICIES))

# %% [markdown]
# ## Capacity loss: the service keeps 20%<!-- = scenarios["capacity_loss"].trace.capacity_factor --> of its capacity
#
# The queue grows, calls start timing out, and the abandoned calls are still processed.
# Without a breaker the service stays behind long after capacity returns: the backlog of
# work nobody waits for drains slowly, and the black dashed line stays at zero long after
# the red band ends. The breaker sheds load while calls time out, so the queue stays short
# and its first probe after the capacity returns finds the service healthy (notebook 04
# looks at this, and at retries, in detail).

# %%
display(plot_timeline(results["capacity_loss"], policies=POLICIES))

# %% [markdown]
# ## Load spike: twice the traffic
#
# 300<!-- = capacity_caller.rate_rps * scenarios["load_spike"].trace.load_factor --> requests/s against a service that handles about 190<!-- = capacity_service.servers / capacity_service.mean_latency_s ± 5 -->: the queue grows during the spike.
# Without a breaker, nothing succeeds from early in the spike until long after it: the
# backlog takes more than twice the spike's length to drain (the black dashed line). The
# breaker trips on timeouts and sheds load, which keeps the backlog short: its run is back to
# normal at its first probe after the spike.

# %%
display(plot_timeline(results["load_spike"], policies=POLICIES))

# %% [markdown]
# ## Noise: 20%<!-- = scenarios["noise"].trace.error_rate --> of calls fail, all the time
#
# No outage (the whole run is labelled healthy), so every trip is a false trip, and each
# costs at least `reset_timeout` seconds of rejected calls, 80% of which would have
# succeeded. With a background error rate `p`, a consecutive-count breaker trips on average
# once every (1 − p⁵)/((1 − p)·p⁵) calls: about 3,900<!-- = (1 - 0.2**5) / (0.8 * 0.2**5) ± 50 --> here, every 40<!-- = (1 - 0.2**5) / (0.8 * 0.2**5) / caller.rate_rps ± 2 --> s or so at 100
# requests/s (the trips come at random). Choose `fail_max` (or a rate rule) so that this is
# rare at your normal error rate.

# %%
display(plot_timeline(results["noise"], policies=POLICIES))

# %% [markdown]
# ## GC pauses: 2<!-- = scenarios["gc_pauses"].trace.pause_s --> s stop-the-world every 30<!-- = scenarios["gc_pauses"].trace.period_s --> s
#
# Each pause makes every call in flight time out (the timeout is 1 s), five failures trip
# the breaker, and it stays open for 10 s: five times longer than the pause. The breaker
# turns 2 s of trouble into 10 s of rejections: its availability is far below the
# no-breaker run's. A `reset_timeout` longer than your typical transient fault makes the
# breaker the outage.

# %%
display(plot_timeline(results["gc_pauses"], policies=POLICIES))

# %% [markdown]
# ## Replay: a database failover
#
# The recorded incident: a creeping slowdown (labelled unhealthy from 100<!-- = results["replay"].trace.fault_windows(REPLAY_HORIZON)[0][0] --> s, while errors
# are still rare), a hang, a hard failure, then a slow ramp back. The breaker opens only when
# the slowdown turns into timeouts, about a minute (61<!-- = long.loc[("replay", "breaker"), "time_to_open_s"] ± 1 --> s) into the unhealthy period (time to open
# counts from its start). It stays open through the hang and the hard failure, and its
# probes keep failing through most of the ramp: it closes for good only at about 345<!-- = results["replay"].series.state_changes[-1][0] ± 1 --> s, when
# the error rate is 25%<!-- = results["replay"].trace.condition_at(results["replay"].series.state_changes[-1][0]).error_rate --> and about to step down to 12%, well after the baselines' succeeded rate has started to climb. It halves
# the calls sent to the struggling database (`calls_to_unhealthy`: 49%<!-- = long.loc[("replay", "breaker"), "calls_to_unhealthy"] / long.loc[("replay", "no_breaker"), "calls_to_unhealthy"] ± 1 --> of the no-breaker run's; the rest went before it
# opened and after it closed, both still inside the unhealthy period), and costs a few
# thousand false rejections (4,021<!-- = long.loc[("replay", "breaker"), "false_rejections"] -->) early in the recovery.

# %%
display(plot_timeline(results["replay"], policies=POLICIES))

# %% [markdown]
# ## The key metrics side by side
#
# One row per family and policy (`breaker`, `no_breaker`, `oracle`):
#
# - `time_to_open_s`: from the first fault's start to the breaker's first opening (blank: it
#   never opened; the baselines never do);
# - `time_to_close_s`: from the last fault's end to the breaker's last entry into closed (0
#   when it was closed then already; blank for a trace without a fault);
# - `calls_to_unhealthy`: attempts sent while the service was unhealthy (load on a failing
#   service);
# - `false_rejections`: rejected attempts that would have succeeded;
# - `availability`: the fraction of requests that succeeded;
# - `pool_saturated_s`: seconds with every worker busy.
#
# Read across a family: a good breaker cuts `calls_to_unhealthy` far below `no_breaker`'s
# while keeping `availability` close to the oracle's. In a hard outage (hard down, hang) it
# does both. Where its availability falls below `no_breaker`'s (partial, intermittent and
# short faults, and noise), the false rejections are the cost of these settings. On the
# capacity service (capacity loss, load spike) it is far above `no_breaker`'s: shedding load
# lets the service recover.

# %%
KEY_METRICS = {
    "time_to_open_s": ["breaker"],
    "time_to_close_s": ["breaker"],
    "calls_to_unhealthy": ["breaker", "no_breaker"],
    "false_rejections": ["breaker"],
    "availability": ["breaker", "no_breaker", "oracle"],
    "pool_saturated_s": ["breaker", "no_breaker"],
}
long = pd.DataFrame(
    [
        {"family": name, "policy": policy, **{metric: getattr(run.metrics, metric) for metric in KEY_METRICS}}
        for name, result in results.items()
        for policy, run in result.runs.items()
    ]
).set_index(["family", "policy"])
table = long.unstack("policy").reindex(results)[
    [(metric, policy) for metric, policies in KEY_METRICS.items() for policy in policies]
]
table.round(3)

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
# # 04 · Retries, capacity and metastable failure
#
# A service with finite capacity loses 80%<!-- = 1 - outage.capacity_factor --> of it for 30<!-- = outage.duration_s --> seconds, then gets it back. Does it
# recover? That depends on what its callers do meanwhile. This notebook runs the same
# incident with three retry policies (none; 3<!-- = retry_policies["3 retries"].max_retries --> retries; 3 retries under a 10%<!-- = retry_policies["3 retries, 10% budget"].budget_ratio --> retry budget),
# each with a breaker and without one, on the same random numbers.
#
# The service (`Service(kind="capacity")`) has 10<!-- = service.servers --> servers and a FIFO queue of 5,000<!-- = service.queue_limit --> calls.
# A call takes a log-normal 50<!-- = service.latency_median_s * 1000 --> ms (median) of a server's time, so at full capacity it
# processes about 190<!-- = service.servers / service.mean_latency_s ± 5 --> calls/s; the callers send 150<!-- = RATE --> requests/s, 78%<!-- = RATE / (service.servers / service.mean_latency_s) ± 1 --> of that. Each attempt
# times out after 1<!-- = CALL_TIMEOUT_S --> s on the caller's side, but the service **does not know**: work whose
# caller has given up stays in the queue and is still processed (the usual case for an RPC
# server). That is what makes an overload outlive its cause.

# %%
import os

SCALE = os.environ.get("BREAKERLAB_NOTEBOOK_SCALE", "full")  # "small": a shorter horizon
# %matplotlib inline

import matplotlib.pyplot as plt
import pandas as pd

from breakerlab.model import BreakerConfig
from breakerlab.sim import RetryPolicy, Scenario, Service, Workload, simulate
from breakerlab.sim.traces.families import CapacityLoss

# %% [markdown]
# ## The runs
#
# One `simulate` call per retry policy: it runs the breaker (`fail_max=5`<!-- = breaker.fail_max -->,
# `reset_timeout=2`<!-- = breaker.reset_timeout -->) and the `no_breaker` and `oracle` baselines on the same arrivals and
# draws. Retries back off 50<!-- = retry_policies["3 retries"].backoff_s * 1000 --> ms, doubling, with full jitter. A rejection by the breaker is
# not retried (`retry_rejected=False`, the default): it fails at once, without reaching the
# service.

# %%
HORIZON = 300.0 if SCALE == "full" else 240.0
SEED = 1
RATE, CALL_TIMEOUT_S = 150, 1.0

service = Service(kind="capacity", servers=10, queue_limit=5000, latency_median_s=0.05, latency_sigma=0.3)
outage = CapacityLoss(start_s=30, duration_s=30, capacity_factor=0.2)
breaker = BreakerConfig(fail_max=5, reset_timeout=2)
retry_policies = {
    "no retries": RetryPolicy(),
    "3 retries": RetryPolicy(max_retries=3, backoff_s=0.05),
    "3 retries, 10% budget": RetryPolicy(max_retries=3, backoff_s=0.05, budget_ratio=0.1),
}
results = {
    label: simulate(
        Scenario(
            trace=outage, breaker=breaker, service=service, horizon_s=HORIZON,
            workload=Workload(rate_rps=RATE, workers=512, call_timeout_s=CALL_TIMEOUT_S, retry=retry),
        ),
        SEED,
    )
    for label, retry in retry_policies.items()
}

# %% [markdown]
# ## Timelines
#
# One column per retry policy. Top row: requests answered successfully per second. Bottom
# row: attempts sent to the service per second (retries included; the breaker's rejections
# are not sent). The red band is the capacity loss, 30<!-- = outage.start_s --> s to 60<!-- = outage.start_s + outage.duration_s --> s; the olive dashed line is
# the oracle, the best any breaker could do.

# %%
styles = {"breaker": ("tab:green", "-"), "no_breaker": ("black", "-"), "oracle": ("tab:olive", "--")}
fig, axes = plt.subplots(2, len(results), figsize=(15, 7), sharex=True, sharey="row", layout="constrained")
for column, (label, result) in enumerate(results.items()):
    for row, field in enumerate(["succeeded", "admitted"]):
        ax = axes[row, column]
        for start, end in result.trace.fault_windows(HORIZON):
            ax.axvspan(start, end, color="tab:red", alpha=0.15, lw=0)
        for policy in ["oracle", "no_breaker", "breaker"]:  # the breaker on top
            run = result.runs[policy]
            colour, line = styles[policy]
            ax.step(run.series.start_s, getattr(run.series, field) / run.series.bin_s, where="post",
                    color=colour, ls=line, lw=1.2, label=policy)
        ax.grid(alpha=0.3)
    axes[0, column].set_title(label)
    axes[1, column].set_xlabel("simulated time (s)")
axes[0, 0].set_ylabel("succeeded per second")
axes[1, 0].set_ylabel("attempts sent per second")
axes[0, 0].legend(loc="lower right")
fig.suptitle(f"80% capacity lost from 30 s to 60 s; 150 requests/s; seed {SEED}")
plt.show()

# %% [markdown]
# **No retries.** With the breaker (green), the service answers again as soon as its
# capacity is back. Without one (black), nothing succeeds for over a minute *after* the
# capacity returned (it is back to normal only 84<!-- = table.loc[("no retries", "no_breaker"), "time_to_recover_s"] ± 1 --> s after): during the loss the queue filled with thousands of calls whose
# callers had timed out, the servers work through that backlog first, and every new call
# waits behind it and times out too. At 78% utilisation, only the spare 22%<!-- = 1 - RATE / (service.servers / service.mean_latency_s) ± 1 --> drains the
# backlog.
#
# **3 retries.** Without a breaker the service never recovers. Every attempt times out, so
# every request is tried four times: about 4 × 150 = 600<!-- = table.loc[("3 retries", "no_breaker"), "attempts/s, last 30 s"] ± 20 --> attempts/s (bottom row) against a
# service that can process 190. The outage's cause ended at 60 s; the retries now sustain
# it on their own, and would until the callers gave up retrying or the load dropped. That
# is a **metastable failure**: a stable bad state that a transient trigger pushed the system
# into. With the breaker the retries barely matter: once it trips, rejected calls are not
# sent and not retried, the service drains its queue, and the breaker's green line is back
# within a few seconds of the capacity (1.3<!-- = table.loc[("3 retries", "breaker"), "time_to_recover_s"] ± 0.2 --> s).
#
# **3 retries under a 10% budget.** The budget caps retries at about a tenth of requests,
# so the no-breaker run is no longer stuck: it recovers, but later than with no retries at
# all (146<!-- = table.loc[("3 retries, 10% budget", "no_breaker"), "time_to_recover_s"] ± 1 --> s after the capacity returned, against 84 s), because the extra attempts eat into the spare capacity that drains the backlog. A
# retry budget bounds the damage retries do; it does not shed the load that is already
# queued. With the breaker, again, the service is back within seconds.

# %% [markdown]
# ## The numbers
#
# `availability` is the fraction of requests that succeeded over the whole run;
# `amplification` is attempts per request (1 means no retries were made); `time_to_close_s`
# is how long after the capacity came back the breaker closed for good (blank for the runs
# without a breaker); `time_to_recover_s` is how long after the capacity came back the share
# of requests succeeding was back to 90% of its share before the outage, for every run
# (blank: not within the run); the last two columns are the attempt and success rates over the final 30 s of the
# run (a success rate of about 150<!-- = table.loc[("no retries", "no_breaker"), "succeeded/s, last 30 s"] ± 5 -->/s when recovered, 0<!-- = table.loc[("3 retries", "no_breaker"), "succeeded/s, last 30 s"] --> when stuck).

# %%
TAIL_S = 30
table = pd.DataFrame(
    [
        {
            "retries": label,
            "policy": policy,
            "availability": run.metrics.availability,
            "amplification": run.metrics.amplification,
            "time_to_close_s": run.metrics.time_to_close_s,
            "time_to_recover_s": run.metrics.time_to_recover_s,
            f"attempts/s, last {TAIL_S} s": run.series.admitted[-int(TAIL_S / run.series.bin_s):].sum() / TAIL_S,
            f"succeeded/s, last {TAIL_S} s": run.series.succeeded[-int(TAIL_S / run.series.bin_s):].sum() / TAIL_S,
        }
        for label, result in results.items()
        for policy, run in result.runs.items()
    ]
).set_index(["retries", "policy"])
table.round(3)

# %% [markdown]
# ## When a breaker helps recovery, and when retries keep a service down
#
# - **A breaker helps recovery when the failure is load-dependent.** On a service whose
#   latency grows with its queue, every call a breaker does not send is work the service
#   does not have to do. Tripping on timeouts sheds load exactly when the service is behind;
#   its probes then find it healthy as soon as the queue has drained, so recovery follows
#   the capacity, not the backlog. (On an open-loop service, where calls do not slow each
#   other down, a breaker cannot speed recovery: compare notebook 02's hard-down outage.)
# - **Retries keep a service down when they push the offered load above capacity after the
#   trigger is gone.** Each timed-out attempt adds another; with `max_retries=3` the load
#   can quadruple. If that exceeds what the service can do, nothing ever succeeds, so every
#   request keeps retrying: the system stays failed with no fault left to fix.
# - **A retry budget turns "never" into "late".** It caps the amplification (here to about
#   1.06<!-- = table.loc[("3 retries, 10% budget", "no_breaker"), "amplification"] ± 0.02 -->), so the service drains its backlog eventually; but the spare capacity that drains
#   it is smaller by the retries' share, so recovery still takes longer than with no
#   retries.
# - **Breaker and retries together.** With the breaker in front, the retry policy makes
#   almost no difference here: a rejected call is not retried, so the breaker caps the
#   load the retries can create.

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
# # 01 · The breaker as a state machine
#
# A tour of `breakerlab.model`, the reference circuit breaker: its states and transitions
# (drawn from the state machine the breaker actually runs), its options, and the article's
# scenario played call by call on a virtual clock.
#
# Nothing here touches the wall clock: time moves only when the notebook calls
# `clock.advance(...)`, so every number below is exact and the same on every run.

# %%
import os

# Nothing in this notebook is heavy: both scales run the same steps.
SCALE = os.environ.get("BREAKERLAB_NOTEBOOK_SCALE", "full")

import dataclasses

import pandas as pd
from IPython.display import Markdown, display

from breakerlab.model import (
    Breaker,
    BreakerConfig,
    BreakerListener,
    CircuitOpenError,
    ManualClock,
    State,
    StateChange,
)
from breakerlab.model.diagram import mermaid

# %% [markdown]
# ## The state diagram
#
# Generated from the `transitions` machine built for the default configuration (the same
# diagram `breakerlab diagram` prints). Each arrow is `trigger: cause`: the event the caller
# sends (`acquire`, `record_failure`, `record_success`, or a manual `force_open` / `disable` /
# `reset`) and the table row that fires. JupyterLab 4.1 or newer draws the Mermaid block;
# elsewhere you see its text (paste it into https://mermaid.live to draw it).
#
# How to read it for the everyday path: **closed** trips to **open** on `record_failure`
# when the trip rule is met; **open** becomes **half_open** on the first `acquire` at or
# after the deadline (that call is the probe); a probe's success closes, its failure
# re-opens and restarts the timer. **forced_open** and **disabled** are manual overrides.

# %%
display(Markdown(f"```mermaid\n{mermaid(BreakerConfig())}\n```"))

# %% [markdown]
# ## States and options
#
# | state | admits | meaning |
# | --- | --- | --- |
# | `closed` | every call | normal operation; outcomes feed the trip rule |
# | `open` | nothing until the deadline | calls are rejected with `CircuitOpenError(remaining_s)` |
# | `half_open` | up to `half_open_max_calls` probes | probes decide between `closed` and `open` |
# | `forced_open` | nothing, ever | manual: `force_open()`; left only by another manual event (`reset()`, `disable()`, `trip()`, `half_open()`) |
# | `disabled` | every call, nothing counted | manual: `disable()`; left only by another manual event (`reset()`, `force_open()`, `trip()`, `half_open()`) |
#
# In code they are the `State` enum, with lower-case string values:

# %%
[state.value for state in State]

# %% [markdown]
# Every behaviour on which breaker libraries disagree is an option of `BreakerConfig`
# (`model/SEMANTICS.md` documents each one). The defaults reproduce the article's breaker,
# pybreaker's vocabulary: trip on the 5th consecutive failure (`fail_max=5`<!-- = defaults.fail_max -->), stay open 60<!-- = defaults.reset_timeout --> s
# (`reset_timeout=60`), then admit one probe (`half_open_max_calls=1`<!-- = defaults.half_open_max_calls -->) whose success closes
# (`success_threshold=1`<!-- = defaults.success_threshold -->). Times are seconds.

# %%
defaults = BreakerConfig()
pd.DataFrame(
    [(field.name, getattr(defaults, field.name)) for field in dataclasses.fields(defaults)],
    columns=["option", "default"],
).set_index("option")

# %% [markdown]
# ## The article's scenario, step by step
#
# A caller protects calls to a service with the default breaker (`fail_max=5`<!-- = breaker.config.fail_max -->,
# `reset_timeout=60`<!-- = breaker.config.reset_timeout -->). The breaker reads time only from a `ManualClock`, and a listener
# collects every `StateChange` it announces.

# %%
class Changes(BreakerListener):
    """Collects the breaker's state changes."""

    def __init__(self) -> None:
        self.seen: list[StateChange] = []

    def state_change(self, change: StateChange) -> None:
        self.seen.append(change)


clock = ManualClock()
breaker = Breaker(BreakerConfig(fail_max=5, reset_timeout=60), clock=clock, name="user-profile")
changes = Changes()
breaker.add_listener(changes)
steps: list[dict[str, object]] = []


def call(label: str, service_up: bool) -> None:
    """One call through the breaker: acquire a permit, then record the service's answer."""
    remaining_s = None
    try:
        permit = breaker.acquire()
    except CircuitOpenError as rejected:
        remaining_s = rejected.remaining_s
        outcome = f"rejected, not sent ({remaining_s:g} s until a probe)"
    else:
        if service_up:
            breaker.record_success(permit)
            outcome = "sent, succeeded"
        else:
            breaker.record_failure(permit, ConnectionRefusedError("service down"))
            outcome = "sent, failed"
    steps.append({"time_s": clock(), "step": label, "outcome": outcome, "remaining_s": remaining_s,
                  "state after": breaker.state.value})
    print(f"t={clock():6.1f} s  {label:<22} {outcome:<40} -> {breaker.state.value}")


# %% [markdown]
# **1. The service goes down.** Five calls fail, one per second. The first four only count;
# the fifth is the `fail_max`-th consecutive failure and opens the breaker.

# %%
for n in range(1, 6):
    call(f"call {n} (service down)", service_up=False)
    clock.advance(1.0)

# %% [markdown]
# **2. Open: calls are rejected without reaching the service.** The rejection carries
# `remaining_s`, the time left before a probe will be admitted (the breaker opened at
# t = 4<!-- = changes.seen[0].time --> s, so at t = 5<!-- = steps[5]["time_s"] --> s there are 59<!-- = steps[5]["remaining_s"] --> s left). A caller can return a fallback at once, or
# put it in a `Retry-After`.

# %%
call("call 6", service_up=False)
clock.advance(29.0)
call("call 7", service_up=False)

# %% [markdown]
# **3. After `reset_timeout` a probe.** At the deadline (t = 64<!-- = steps[7]["time_s"] --> s) the next `acquire` moves
# the breaker to half-open and admits that call as the single probe. The service is back, so
# the probe succeeds and the breaker closes.

# %%
clock.advance(breaker.time_until_half_open())
call("call 8: probe (service up)", service_up=True)
clock.advance(1.0)
call("call 9", service_up=True)

# %% [markdown]
# ## What the listener saw
#
# 3<!-- = len(changes.seen) --> state changes, each with the table row that caused it (`cause`) and the breaker's
# *generation* after it (it counts state changes; a permit admitted in an earlier generation
# is *stale*, and its late result is handled by the `late_result` option).

# %%
pd.DataFrame(
    [
        {"time_s": c.time, "from": c.source.value, "to": c.dest.value, "cause": c.cause, "generation": c.generation}
        for c in changes.seen
    ]
)

# %% [markdown]
# ## The steps in one table

# %%
pd.DataFrame(steps)

# %% [markdown]
# The breaker's own totals agree: 7<!-- = breaker.stats.admitted --> calls sent (5<!-- = breaker.stats.failures --> failed, 2<!-- = breaker.stats.successes --> succeeded), 2<!-- = breaker.stats.rejections --> rejected.

# %%
breaker.stats

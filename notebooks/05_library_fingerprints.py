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
# # 05 · Library fingerprints: one pattern, eleven breakers
#
# Every circuit-breaker library implements "open after failures, probe after a timeout, close
# on success", and no two agree on the details. Among the points they disagree on:
#
# - what trips the breaker: N consecutive failures, or a failure rate over a window, and what
#   that rate counts and when it is checked;
# - whether a call at exactly the deadline is admitted;
# - whether half-open starts when the timer expires or only when the next call arrives;
# - how many probes get through, how the probes decide, and whether the callers that find no
#   probe slot are rejected or wait for the probe's verdict;
# - whether the call that trips the breaker raises its own error or the library's;
# - what a late result (from a call admitted before the trip) does;
# - whether an excluded error, or a cancellation, counts as a success, a failure or nothing;
# - whether slow successes count as failures, and whether the library times calls out itself;
# - whether the breaker holds a lock around the whole call.
#
# The reference model (`breakerlab.model`) makes each of these an option of `BreakerConfig`
# (see `model/SEMANTICS.md`). A library is then one point of that option space, which we
# call its **semantic fingerprint**. `breakerlab.model.presets.PRESETS` holds 11<!-- = len(PRESETS) --> of them,
# and `BreakerConfig.preset(name)` builds one.
#
# - **Measured** for 6<!-- = sum(preset.measured for preset in PRESETS.values()) --> libraries: the four Python ones (pybreaker, circuitbreaker, aiobreaker,
#   purgatory) and two npm ones (opossum 9.0.0 and cockatiel 3.2.1). The conformance harness
#   (`breakerlab.proofs.conform`) drives the installed library through a catalogue of scripted
#   scenarios on frozen time, and the options are fitted to what the library does. The npm
#   libraries run in a node driver (`proofs/conform/node/driver.mjs`) under
#   `@sinonjs/fake-timers`, so their clocks and timers move only when the script says so too.
# - **Documented** for 5<!-- = sum(not preset.measured for preset in PRESETS.values()) -->: gobreaker, Resilience4j, Polly, Hystrix and Akka. These were read from
#   their source and documentation at a cited revision. They are not measured.
#
# This notebook puts the eleven side by side, shows the evidence behind the six measured ones,
# then runs the same two outages under each preset in the simulator.
#
# Besides the `notebooks` extra, it needs the `conform` extra (`pip install -e '.[conform]'`:
# the four Python libraries, pinned, and Hypothesis for the divergence search at full scale),
# and node with the driver's packages (`npm ci --prefix proofs/conform/node`: opossum,
# cockatiel and the fake timers, pinned by its `package-lock.json`).

# %%
import math
import os
import textwrap
import time

SCALE = os.environ.get("BREAKERLAB_NOTEBOOK_SCALE", "full")  # "small": shorter simulations, no fit
# %matplotlib inline

import matplotlib.pyplot as plt
import pandas as pd

from breakerlab.model import BreakerConfig
from breakerlab.model.preset_summary import summary
from breakerlab.model.presets import PRESETS, UNLIMITED_PROBES
from breakerlab.proofs.conform import CATALOGUE, FAIL_MAX, RESET_TIMEOUT_S, Excluded, make_adapter, run_catalogue
from breakerlab.proofs.conform.catalogue import CALL_TIMEOUT_S, WINDOW_S
from breakerlab.proofs.conform.fit import (
    CANDIDATE_OPTIONS,
    DIMENSIONS,
    FINGERPRINT_OPTIONS,
    fit_fingerprint,
    preset_differences,
    preset_options,
)
from breakerlab.proofs.conform.model_adapter import ModelAdapter
from breakerlab.sim import Scenario, Service, Workload, simulate
from breakerlab.sim.traces.families import Brownout, HardDownHang, Healthy

# %% [markdown]
# ## The presets side by side
#
# The table has one column per library and one row per semantic point: `summary(name)` puts
# each preset's configuration into words. Where a preset does not set an option, the model's
# default (`BreakerConfig()`) applies, and the table shows that default. Probe limits of
# 1,000,000 are shown as "unlimited".

# %%
presets_table = pd.DataFrame({name: summary(name) for name in PRESETS})
with pd.option_context("display.max_colwidth", None):
    display(presets_table)

# %% [markdown]
# Reading across the rows:
#
# - **Tripping.** Seven presets count consecutive failures: five failures for the Python
#   libraries and cockatiel (its `ConsecutiveBreaker`), six for gobreaker (its default
#   `ReadyToTrip` is "more than 5") and ten for Akka. The other four use a failure rate.
#   Resilience4j looks at the last 100<!-- = BreakerConfig.preset("resilience4j").window_size --> calls, Hystrix and opossum at 10<!-- = BreakerConfig.preset("opossum").window_duration if BreakerConfig.preset("opossum").window_duration == BreakerConfig.preset("hystrix").window_duration else float("nan") --> s of calls and
#   Polly at 30<!-- = BreakerConfig.preset("polly").window_duration --> s. Resilience4j, Hystrix and Polly wait for a minimum number of calls
#   before they can trip at all; opossum's default `volumeThreshold` is 0, so a single failure
#   in an empty window (1<!-- = BreakerConfig.preset("opossum").minimum_calls --> call, a rate of 100%) opens it. Polly trips at a failure rate of only
#   10%<!-- = BreakerConfig.preset("polly").failure_rate_threshold -->, and opossum only *above* 50%<!-- = BreakerConfig.preset("opossum").failure_rate_threshold -->, where Resilience4j and Hystrix trip at 50%.
# - **Open time.** The breaker stays open 60<!-- = BreakerConfig.preset("pybreaker").reset_timeout --> s in pybreaker, aiobreaker, gobreaker and
#   Resilience4j, 30<!-- = BreakerConfig.preset("circuitbreaker").reset_timeout --> s in circuitbreaker, purgatory and opossum, 15<!-- = BreakerConfig.preset("akka").reset_timeout --> s in Akka, 10<!-- = BreakerConfig.preset("cockatiel").reset_timeout --> s in
#   cockatiel (its README's example; `circuitBreaker()` has no default), and 5<!-- = BreakerConfig.preset("hystrix").reset_timeout --> s in Polly and
#   Hystrix.
# - **Half-open.** One probe per episode in pybreaker, opossum, cockatiel, gobreaker, Polly,
#   Hystrix and Akka. cockatiel alone makes the callers that arrive during the probe *wait* for
#   its verdict (`half_open_waits`) instead of rejecting them. Resilience4j lets ten through and
#   decides by their failure rate. circuitbreaker, aiobreaker and purgatory admit every call,
#   and the first result to come back decides.
# - **Late results.** gobreaker and Akka ignore them, and so, as a closest fit, do opossum and
#   cockatiel (their notes list the late results that do count). purgatory, Resilience4j,
#   Polly and Hystrix apply them to the current state. circuitbreaker and aiobreaker apply them
#   by the rule of the state that admitted the call, so a late failure re-opens an open breaker
#   and restarts its timer.
# - **Call timeouts.** opossum fails a call itself after 10<!-- = BreakerConfig.preset("opossum").call_timeout --> s (its `timeout`), as Akka does
#   after 10 s and Hystrix after 1<!-- = BreakerConfig.preset("hystrix").call_timeout --> s. The others leave timing out to the caller.
# - **pybreaker** holds a lock around every call (`serializes_calls`), so its callers queue up
#   one at a time. Its probe and late-result values in the table are placeholders: the lock
#   makes them impossible to observe (see the fit below).
#
# What each preset does **not** capture, in its own notes:

# %%
for name, preset in PRESETS.items():
    print(f"{name} — {preset.provenance}")
    for note in preset.notes or ("(no notes)",):
        print(textwrap.fill(note, width=110, initial_indent="  - ", subsequent_indent="    "))

# %% [markdown]
# ## The evidence: six libraries on frozen time
#
# `run_catalogue(make_adapter(name))` runs each scenario of the catalogue against a fresh
# breaker of the installed library, with `fail_max=3`<!-- = FAIL_MAX --> and `reset_timeout=10`<!-- = RESET_TIMEOUT_S --> s. Time is frozen
# and moves only when the script says `+Ns`. A `begin` call stays inside the protected function
# until its `finish`, so calls overlap and results can arrive late. opossum and cockatiel go
# through the same steps in the node driver, one node process per adapter, with their timers
# faked. A library with a rolling window or its own call timeout gets the catalogue's window
# (10<!-- = WINDOW_S --> s) and a call timeout of 200<!-- = CALL_TIMEOUT_S --> s, so that the timeout fires only in the `call_timeout`
# scenario.
#
# Each observation is printed in `Observation.brief()` form:
#
# - `raised:X`: the function ran and the caller got `X`;
# - `rejected:X`: the function never ran;
# - `blocked`: the caller is waiting, for pybreaker's lock or for cockatiel's probe;
# - `resumed`: what a blocked caller did once it got through;
# - `not_in_flight`: a `finish` for a call that the library has already answered (or never
#   started).

# %%
LIBRARIES = ["pybreaker", "circuitbreaker", "aiobreaker", "purgatory", "opossum", "cockatiel"]

started = time.perf_counter()
catalogue_runs = {library: run_catalogue(make_adapter(library)) for library in LIBRARIES}
print(f"{len(CATALOGUE)} scenarios × {len(LIBRARIES)} libraries in {time.perf_counter() - started:.1f} s "
      f"(fail_max={FAIL_MAX}, reset_timeout={RESET_TIMEOUT_S:g} s, window {WINDOW_S:g} s, call timeout {CALL_TIMEOUT_S:g} s)")


def step_text(step):
    kind = type(step).__name__
    if kind == "Call":
        return f"call {step.call_id} {step.outcome}"
    if kind == "Begin":
        return f"begin {step.call_id}"
    if kind == "Finish":
        return f"finish {step.call_id} {step.outcome}"
    if kind == "Advance":
        return f"+{step.seconds:g}s"
    return "read state"


KEY_SCENARIOS = ["trip_error", "deadline_boundary", "state_after_timeout", "half_open_concurrency", "hung_probe",
                 "cancel_in_closed", "late_success_while_open", "success_resets_count", "volume_and_dilution",
                 "window_ageing", "call_timeout", "excluded_in_probe"]
evidence = pd.DataFrame(
    {
        "script": {name: ", ".join(map(step_text, CATALOGUE[name].steps)) for name in KEY_SCENARIOS},
        **{
            library: {name: "; ".join(o.brief() for o in catalogue_runs[library][name]) for name in KEY_SCENARIOS}
            for library in LIBRARIES
        },
    }
)
with pd.option_context("display.max_colwidth", None):
    display(evidence)

# %% [markdown]
# What each row tells apart, and the option it fixes. The first seven rows separate the
# Python libraries:
#
# - **trip_error.** When call 3 trips the breaker, and when the probe (call 4) fails,
#   pybreaker and aiobreaker raise their own `CircuitBreakerError`, while circuitbreaker,
#   purgatory, opossum and cockatiel re-raise the original `Boom`. This is `trip_error`
#   (`circuit_open` or `original`).
# - **deadline_boundary.** At exactly `opened_at + reset_timeout` (t=10), purgatory still
#   rejects; the other five admit. This is `admit_at_deadline`.
# - **state_after_timeout.** With no traffic, circuitbreaker and opossum report `half_open`
#   as soon as the timeout has passed: circuitbreaker computes the state from the clock, and
#   opossum's `resetTimeout` timer moves it. The other four say `open` until a call arrives.
#   This is `half_open_entry` (`at_deadline` or `lazy`).
# - **half_open_concurrency.** While probe 4 is in flight, pybreaker's calls 5-7 *block* on
#   its lock, and cockatiel's block on the probe itself; both run them after 4 has closed the
#   breaker. opossum lets one probe through and rejects 5-7. circuitbreaker, aiobreaker and
#   purgatory admit them all at once, and the first success closes the breaker. This is
#   `serializes_calls`, `half_open_waits` and the probe limit.
# - **hung_probe.** The same with a probe that never returns: pybreaker and cockatiel hold
#   every later caller for as long as it hangs, opossum rejects them (until its own call
#   timeout fails the probe), and the unlimited-probe libraries admit them and close.
# - **cancel_in_closed.** A cancellation (call 3) is a failure for pybreaker, purgatory,
#   opossum and cockatiel: it trips the breaker. pybreaker even hands its caller a
#   `CircuitBreakerError` instead of the `CancelledError`. For circuitbreaker it is a success:
#   the count is reset and the breaker stays closed. aiobreaker does not record it, so call 4
#   trips the breaker. This is `cancellation_outcome` (`failure`, `success` or `release`).
# - **late_success_while_open.** Call 1 was admitted before the trip and succeeds after it.
#   circuitbreaker then **closes**; aiobreaker, purgatory and cockatiel ignore it and stay
#   open. In pybreaker, calls 2-4 wait for the lock behind call 1, so there is no late result
#   at all. opossum has already opened at call 3, one failure early (below). The model has no
#   option for circuitbreaker's behaviour here (see below).
#
# The last five rows are where the npm libraries part from the Python ones.
#
# ### What opossum and cockatiel do that the Python libraries do not
#
# **opossum** (`lib/circuit.js`, `lib/status.js`) trips on a rate, not a count:
#
# - The rate is `failures / fires` over a rolling window of `rollingCountTimeout` (10 s by
#   default) kept as 10 buckets, which a timer rotates every tenth of the window, so outcomes
#   age out a bucket at a time. In `window_ageing` two failures 10 s old have left the window,
#   and the third failure does not trip it.
# - `fires` counts every call: `call()` emits `fire` before it even checks whether the breaker
#   is open, so rejected calls and calls still in flight are in the denominator. In
#   `late_success_while_open`, call 1 in flight makes calls 1-3 three fires, enough for the
#   volume threshold of 3, and two failures of three fires are above 50%: it opens at call 3,
#   where the others need a third failure.
# - The rate is checked only when a failure arrives (`fail()`), never on a success. In
#   `success_resets_count` (F F S F) the success resets nothing, and the fourth call trips it
#   at 3 failures of 4; in `volume_and_dilution` the six earlier successes keep three failures
#   at 33%, below the threshold.
# - Half-open is timer-driven (above), and one call gets through: the first call after the
#   timer clears `pendingClose`, the others are rejected. Any success in half-open closes it,
#   a late one or an error its `errorFilter` lets pass included (`excluded_in_probe`).
# - It has its own call timeout (`timeout`, 10 s by default): in `call_timeout` the call fails
#   with `ETIMEDOUT` at the 200 s the catalogue sets, the library counts a failure, and the
#   function's own result, when it finally comes, is dropped (`not_in_flight`).
#
# **cockatiel** (`dist/CircuitBreakerPolicy.js`, `dist/breaker/ConsecutiveBreaker.js`) is a
# consecutive-count breaker, as the Python libraries are, but:
#
# - Callers that arrive in half-open wait: `execute()` awaits the probe's promise and then
#   calls itself again, so each waiting caller re-executes under whatever state the probe left.
#   After a successful probe they run (`half_open_concurrency`); after a failed one they are
#   rejected; behind a hung probe they wait as long as it hangs (`hung_probe`).
# - An error the policy does not handle (here `Excluded`, through `handleWhen`) is rethrown
#   without being counted in closed (`excluded_outcome` `neutral`), but in half-open the policy
#   catches it and **closes** the breaker, as a success would, without resetting the
#   consecutive count: in `excluded_in_probe` the next failure re-opens it at once.
# - A late failure from a call admitted in closed is counted by the consecutive breaker, and
#   reaching the threshold re-opens a half-open breaker; the probe's success then no longer
#   closes it (`late_failure_in_half_open`).
#
# Half-open entry is lazy in cockatiel (`state_after_timeout` says `open`) and it admits at the
# deadline, like pybreaker and aiobreaker.

# %% [markdown]
# ### Fitting the fingerprints
#
# `fit_fingerprint(runs)` compares a library's observations, scenario by scenario, with the
# model's under candidate option sets, in two parts:
#
# - the **grid**, `CANDIDATE_OPTIONS`: every combination of the values on which the Python
#   libraries disagree, plus the whole-call lock, 1,152<!-- = GRID --> candidates, searched whole;
# - the **dimensions**, `DIMENSIONS`: 4<!-- = len(DIMENSIONS) --> of them (the trip rule with its window and its
#   rate equality, an exponential backoff of the open time, callers waiting in half-open, the
#   library's own call timeout), searched one at a time from the model's defaults, each change
#   followed by a new search of the grid, until no change reproduces more scenarios. Searching
#   the product of both would mean 46,080<!-- = GRID * VARIANTS --> candidates.
#
# The candidates that reproduce every scenario are the fingerprint. Options on which those
# candidates differ are *undetermined*: the catalogue cannot tell their values apart. When
# no candidate matches, the closest one is reported with the scenarios it cannot reproduce.
# `FINGERPRINT_OPTIONS` are the options a fingerprint states: the grid's, and the
# dimensions' `trip_rule`, `trip_on_equal_rate`, `open_duration_policy`, `half_open_waits`
# and `call_timeout` (windows and thresholds are the catalogue's settings, not the
# library's, and the call timeout counts only as present or not).
#
# The table below has one column per library and a row per option, with an undetermined
# value marked as such, then a row per scenario that some library's closest candidate does
# not reproduce, and whether the preset in `PRESETS` differs from the fit
# (`preset_differences(preset_options(preset), fit)`). The six fits take several seconds, so
# **at small scale the fit is skipped**, and the table shows the presets' own values instead,
# unmarked; the divergence search after it is skipped too. `tests/test_conform_fit.py`
# checks the fits, including that each measured preset equals its fit.


# %%
def shown(options, option):
    """An option's value as the table shows it."""
    value = options.get(option)
    value = getattr(value, "value", value)  # a BreakerConfig enum, at small scale
    if option == "trip_on_equal_rate" and options.get("trip_rule") in ("consecutive", None):
        return "–"  # only a rate rule has it
    if option == "call_timeout":
        return "none" if value is None else "its own"
    if option == "half_open_max_calls" and value >= UNLIMITED_PROBES:
        return "unlimited"
    return str(value)


def fingerprint_column(options, undetermined=(), unexplained=(), unexplained_rows=()):
    column = {
        option: shown(options, option) + (" (undetermined)" if option in undetermined else "")
        for option in FINGERPRINT_OPTIONS
    }
    column.update({f"scenario {name}": "UNEXPLAINED" if name in unexplained else "reproduced" for name in unexplained_rows})
    return column


GRID = math.prod(len(values) for values in CANDIDATE_OPTIONS.values())
VARIANTS = math.prod(len(variants) for variants in DIMENSIONS.values())
print(f"grid: {GRID} candidates; dimensions: {', '.join(DIMENSIONS)} ({VARIANTS} combinations of their variants)")
if SCALE == "full":
    started = time.perf_counter()
    fits = {library: fit_fingerprint(catalogue_runs[library]) for library in LIBRARIES}
    print(f"fitted in {time.perf_counter() - started:.1f} s")
    unexplained_rows = [name for name in CATALOGUE if any(name in fit.unexplained for fit in fits.values())]
    fingerprints = pd.DataFrame(
        {
            library: {
                **fingerprint_column(fit.options, fit.undetermined, fit.unexplained, unexplained_rows),
                "candidates matching every scenario": fit.matching,
                "preset differs from the fit on": ", ".join(
                    preset_differences(preset_options(PRESETS[library]), fit)
                ) or "–",
            }
            for library, fit in fits.items()
        }
    )
else:
    print("small scale: fit skipped; the presets' values (tests/test_conform_fit.py checks the fits)")
    fingerprints = pd.DataFrame(
        {
            library: fingerprint_column(
                {**{option: getattr(BreakerConfig.preset(library), option, None) for option in FINGERPRINT_OPTIONS},
                 **preset_options(PRESETS[library])}
            )
            for library in LIBRARIES
        }
    )
with pd.option_context("display.max_colwidth", None):
    display(fingerprints)

# %% [markdown]
# At full scale the table above shows:
#
# - **pybreaker:** 12<!-- = fits["pybreaker"].matching @full --> candidates fit. The lock hides three options (`half_open_limit`,
#   `half_open_max_calls`, `late_result`), because no two calls are ever inside the breaker
#   at once.
# - **aiobreaker and purgatory:** 2<!-- = fits["aiobreaker"].matching if fits["aiobreaker"].matching == fits["purgatory"].matching else float("nan") @full --> candidates fit each. They differ only in
#   `half_open_limit`, and with unlimited probes "per episode" and "concurrent" are the same
#   thing.
# - **circuitbreaker:** no candidate fits (0<!-- = fits["circuitbreaker"].matching @full -->). The closest misses 3<!-- = len(fits["circuitbreaker"].unexplained) @full --> scenarios.
# - **opossum:** no candidate fits (0<!-- = fits["opossum"].matching @full -->). The closest is a time window that trips only above
#   50%, with timer-driven half-open, one probe and its own call timeout. It misses 6<!-- = len(fits["opossum"].unexplained) @full -->
#   scenarios, each one of the behaviours above: the failures / fires rate
#   (`late_success_while_open`, `late_failure_while_open` and the two `late_*_in_half_open`
#   scenarios, where a call in flight counts as a fire), the check made only on a failure
#   (`success_resets_count`: the model's rate rule trips on the success at 2 failures of 3) and
#   any success closing half-open (`excluded_in_probe`).
# - **cockatiel:** no candidate fits (0<!-- = fits["cockatiel"].matching @full -->). The closest counts consecutive failures, enters
#   half-open lazily, lets one probe through and makes the others wait (`half_open_waits`). It
#   misses 2<!-- = len(fits["cockatiel"].unexplained) @full --> scenarios: `excluded_in_probe` (the unhandled error that closes half-open) and
#   `late_failure_in_half_open` (the late failure that re-opens it).
#
# Every measured preset equals its fit on each option the catalogue determines: 0<!-- = sum(bool(preset_differences(preset_options(PRESETS[library]), fit)) for library, fit in fits.items()) @full --> of the
# six differ.
#
# `conform(...)` goes one step further: Hypothesis generates event sequences, runs each
# against the library and the fingerprinted model, and shrinks any disagreement to a minimal
# script. For circuitbreaker the first divergence it finds is this one:
# %%
if SCALE == "full":
    from breakerlab.proofs.conform.cli import conform  # needs Hypothesis

    started = time.perf_counter()
    divergence = conform("circuitbreaker", examples=150, limit=1).divergences[0]
    print(f"searched in {time.perf_counter() - started:.1f} s; "
          f"unexplained by any option: {divergence.unexplained}\n")
    print("script:        ", ", ".join(map(step_text, divergence.steps)))
    print("circuitbreaker:", "; ".join(o.brief() for o in divergence.library))
    print("model:         ", "; ".join(o.brief() for o in divergence.model))
else:
    print("small scale: divergence search skipped")

# %% [markdown]
# In that script, call 1 is in flight when three failures trip the breaker, and then call 1
# succeeds. circuitbreaker **closes** (call 7 goes through), while the model stays open and
# rejects call 7. circuitbreaker's success handler resets the breaker to closed from any
# state. Each of the model's three `late_result` policies does something else with a late
# success, and none of them closes an open breaker:
#
# - `ignore` drops it;
# - `current_state` applies it to `open`, where only time moves the breaker on;
# - `admitting_state` handles it by the rule of `closed`, the state that admitted it, which
#   only resets the failure count; once the breaker is open that changes nothing.
#
# The next cell runs the catalogue's version of this script (`late_success_while_open`) on
# the model with circuitbreaker's options, under each of the three policies. It is cheap, so
# it runs at both scales.

# %%
circuitbreaker_options = {k: v for k, v in PRESETS["circuitbreaker"].options.items() if k in CANDIDATE_OPTIONS}
late = {"circuitbreaker (the library)": catalogue_runs["circuitbreaker"]["late_success_while_open"]}
for policy in ["ignore", "current_state", "admitting_state"]:
    model = ModelAdapter({**circuitbreaker_options, "late_result": policy})
    model.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded,))
    late[f"model, late_result={policy}"] = model.run(CATALOGUE["late_success_while_open"].steps)
print("script:", ", ".join(map(step_text, CATALOGUE["late_success_while_open"].steps)))
with pd.option_context("display.max_colwidth", None):
    display(pd.Series({who: "; ".join(o.brief() for o in obs) for who, obs in late.items()}, name="observations").to_frame())

# %% [markdown]
# The preset therefore keeps the closest fit and lists the difference in its notes. A
# simulation of the circuitbreaker preset can close later than the real library does when a
# call from before the trip succeeds late. The opossum and cockatiel presets are closest fits
# in the same way, and their notes list what the model does not reproduce.
#
# ## The same outage under each preset
#
# Fingerprints matter when something goes wrong, so here is the same incident under every
# preset, each with its library's default thresholds.
#
# **The setup.** Callers send 100<!-- = workload.rate_rps --> requests/s (Poisson) through a pool of 32<!-- = workload.workers --> workers, each
# attempt with a 1<!-- = workload.call_timeout_s --> s timeout. The service answers in a log-normal 50<!-- = service.latency_median_s * 1000 --> ms (median; 57<!-- = service.mean_latency_s * 1000 --> ms on
# average). Two outages are run:
#
# - **a hang** (`HardDownHang`) from 30<!-- = outages["hang"].start_s --> s to 90<!-- = outages["hang"].start_s + outages["hang"].duration_s --> s: nothing answers, so every admitted call
#   holds its worker for the full second;
# - **a 20%<!-- = outages["brownout"].error_rate --> brownout** (`Brownout`) over the same window, on top of 1%<!-- = outages["brownout"].noise_error_rate --> background errors
#   throughout: one call in five fails fast.
#
# Each preset runs with `serialize_calls=PRESETS[name].serializes_calls` (only pybreaker's is
# true) and seed 1<!-- = SEED -->. The `no_breaker` baseline runs on the same random numbers. The simulator
# does not model cockatiel's `half_open_waits`: it rejects the callers that would wait for
# cockatiel's probe (the preset's notes say so).

# %%
HORIZON = 240.0 if SCALE == "full" else 150.0
SEED = 1

service = Service(latency_median_s=0.05, latency_sigma=0.5)
workload = Workload(rate_rps=100, workers=32, call_timeout_s=1.0)
outages = {
    "hang": HardDownHang(start_s=30, duration_s=60),
    "brownout": Brownout(start_s=30, duration_s=60, error_rate=0.2, noise_error_rate=0.01),
}
started = time.perf_counter()
results = {
    outage: {
        name: simulate(
            Scenario(trace=trace, breaker=BreakerConfig.preset(name), serialize_calls=preset.serializes_calls,
                     service=service, workload=workload, horizon_s=HORIZON),
            seed=SEED,
        )
        for name, preset in PRESETS.items()
    }
    for outage, trace in outages.items()
}
print(f"{len(outages) * len(PRESETS)} simulations of {HORIZON:g} s in {time.perf_counter() - started:.1f} s")

COLUMNS = ["time_to_open_s", "calls_to_unhealthy", "trips", "time_to_close_s", "false_rejections",
           "availability", "pool_saturated_s", "latency_p99_s"]


def metrics_table(outage):
    runs = {name: result.metrics for name, result in results[outage].items()}
    runs["no_breaker"] = results[outage]["gobreaker"].runs["no_breaker"].metrics  # the same for every preset
    return pd.DataFrame({name: {c: getattr(m, c) for c in COLUMNS} for name, m in runs.items()}).T.astype(float).round(3)


# %% [markdown]
# ### The hang
#
# The columns:
#
# - `time_to_open_s`: from the start of the hang to the first trip.
# - `calls_to_unhealthy`: calls sent into the hang.
# - `trips`: entries into open, re-openings included.
# - `time_to_close_s`: from the end of the hang to the breaker's last close.
# - `false_rejections`: rejected calls that would have succeeded.
# - `availability`: the share of all requests that succeeded.
# - `pool_saturated_s`: time with all 32 workers busy.
# - `latency_p99_s`: the 99th percentile of the latency callers saw.
#
# A `NaN` means it did not happen.

# %%
metrics_table("hang")

# %%
LIBRARIES_SHOWN = ["pybreaker", "gobreaker", "resilience4j", "polly", "opossum", "cockatiel"]
fig, axes = plt.subplots(len(outages), len(LIBRARIES_SHOWN), figsize=(22, 7), sharex=True, sharey=True,
                         layout="constrained")
for row, outage in enumerate(outages):
    for column, name in enumerate(LIBRARIES_SHOWN):
        ax = axes[row, column]
        result = results[outage][name]
        for start, end in result.trace.fault_windows(HORIZON):
            ax.axvspan(start, end, color="tab:red", alpha=0.12, lw=0)
        for label, series, style in [("no breaker", result.runs["no_breaker"].series, dict(color="0.6", lw=1)),
                                     (name, result.series, dict(color="tab:blue", lw=1.3))]:
            ax.step(series.start_s, series.succeeded / series.bin_s, where="post", label=label, **style)
        changes = list(result.series.state_changes) + [(HORIZON, "end")]
        opened = [(t, t_next - t) for (t, state), (t_next, _) in zip(changes, changes[1:]) if state == "open"]
        ax.broken_barh(opened, (0.94, 0.06), transform=ax.get_xaxis_transform(), color="black")
        ax.set_xlim(20, 110)
        ax.set_title(f"{outage}: {name}")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    axes[row, 0].set_ylabel("succeeded per second")
for ax in axes[-1]:
    ax.set_xlabel("simulated time (s), from 20 s to 110 s")
fig.suptitle("Requests answered successfully per second (red band: the outage; black bar at the top: breaker open); "
             f"100 requests/s, 32 workers, seed {SEED}")
plt.show()

# %% [markdown]
# **pybreaker's lock costs the most, and it costs it all the time.** The lock is held for the
# whole call, so pybreaker passes one call at a time. With a 57 ms mean latency that is about
# 17-18<!-- = 1 / service.mean_latency_s ± 1 --> calls/s, against 100 offered. The rest wait for the lock while holding a worker. The
# pool is saturated for most of the time the breaker is closed, and the requests that find
# no free worker fail. Its availability is 0.10<!-- = min(metrics_table(o).loc["pybreaker", "availability"] for o in outages) @small -->-0.13<!-- = max(metrics_table(o).loc["pybreaker", "availability"] for o in outages) @full --> in both outages, at either scale: a fifth
# or less of what the same callers get without a breaker. Its p99 latency is about 2<!-- = metrics_table("hang").loc["pybreaker", "latency_p99_s"] ± 0.2 --> s, a wait
# for the lock plus a call. That is the cost of the lock, not of the outage: the flat blue line before 30 s is
# already far below the grey one. This is pybreaker 1.4.1's measured behaviour (the
# `blocked` calls above), reported upstream as pybreaker issues #3 and #55, which are still
# open. In the hang the lock has one upside: only 5<!-- = metrics_table("hang").loc["pybreaker", "calls_to_unhealthy"] --> calls reach the hung service, one at a
# time, each holding the lock for its full second. That makes its time to open about 5<!-- = metrics_table("hang").loc["pybreaker", "time_to_open_s"] ± 0.2 --> s.
#
# The next cell shows that this is a matter of rate × latency. At up to 15 requests/s
# (rate × mean latency below 1) pybreaker serves everything on a healthy service. From
# 20/s the pool starts to saturate, and goodput stays at about 17-18<!-- = lock_cost["goodput (succeeded/s)"].iloc[-1] ± 1 -->/s however much is
# offered.

# %%
def healthy_pybreaker(rate):
    metrics = simulate(
        Scenario(trace=Healthy(), breaker=BreakerConfig.preset("pybreaker"), serialize_calls=True, service=service,
                 workload=Workload(rate_rps=rate, workers=32, call_timeout_s=1.0), horizon_s=120),
        seed=SEED,
    ).metrics
    return {
        "availability": metrics.availability,
        "goodput (succeeded/s)": metrics.goodput,
        "pool_saturated_s (of 120)": metrics.pool_saturated_s,
        "latency_p99_s": metrics.latency_p99_s,
    }


lock_cost = pd.DataFrame({rate: healthy_pybreaker(rate) for rate in [5, 10, 15, 20, 30, 50, 100]}).T
lock_cost.rename_axis("requests/s (healthy service, pybreaker preset)").round(3)

# %% [markdown]
# **The consecutive-count presets trip within about a second.** The first timeouts come back
# 1 s into the hang. gobreaker (6th failure), Akka (10th) and circuitbreaker, aiobreaker,
# purgatory and cockatiel (5th) all open 1.01<!-- = metrics_table("hang").loc[['circuitbreaker', 'aiobreaker', 'purgatory', 'cockatiel', 'gobreaker', 'akka'], "time_to_open_s"].min() -->-1.06<!-- = metrics_table("hang").loc[['circuitbreaker', 'aiobreaker', 'purgatory', 'cockatiel', 'gobreaker', 'akka'], "time_to_open_s"].max() --> s in. By then about 32<!-- = workload.workers --> calls, one per worker, are
# hanging. Over the whole outage they send 34<!-- = metrics_table("hang").loc[['circuitbreaker', 'aiobreaker', 'purgatory', 'cockatiel', 'gobreaker', 'akka'], "calls_to_unhealthy"].min() -->-66<!-- = metrics_table("hang").loc[['circuitbreaker', 'aiobreaker', 'purgatory', 'cockatiel', 'gobreaker', 'akka'], "calls_to_unhealthy"].max() --> calls into the hang; circuitbreaker's and
# purgatory's 66<!-- = metrics_table("hang").loc["purgatory", "calls_to_unhealthy"] --> include a pool's worth of probes at 61-62 s (below). Akka's `call_timeout` of
# 10<!-- = BreakerConfig.preset("akka").call_timeout --> s plays no part here, since callers give up after 1 s.
#
# **Resilience4j trips a second later.** Its window needs 100<!-- = BreakerConfig.preset("resilience4j").minimum_calls --> calls, at least 50%<!-- = BreakerConfig.preset("resilience4j").failure_rate_threshold --> of them
# failures. During the hang only 32 calls per second are admitted (one per worker) and
# answered, so the failures reach half the window after about 2.2<!-- = metrics_table("hang").loc["resilience4j", "time_to_open_s"] ± 0.1 --> s (81<!-- = metrics_table("hang").loc["resilience4j", "calls_to_unhealthy"] --> calls sent).
#
# **Polly, Hystrix and opossum trip after about 8<!-- = metrics_table("hang").loc[['polly', 'hystrix', 'opossum'], "time_to_open_s"].mean() ± 0.5 --> s.** Their time windows still hold the
# healthy seconds before the hang: 30<!-- = BreakerConfig.preset("polly").window_duration --> s of them for Polly, 10<!-- = BreakerConfig.preset("hystrix").window_duration --> s for Hystrix and opossum, at
# 100 successes per second. At 32 failures per second, the failure rate needs about 8 s to
# reach 10%<!-- = BreakerConfig.preset("polly").failure_rate_threshold --> (Polly) or 50%<!-- = BreakerConfig.preset("hystrix").failure_rate_threshold --> (Hystrix, and opossum, which needs more than 50%). Meanwhile about
# 270<!-- = metrics_table("hang").loc[['polly', 'hystrix', 'opossum'], "calls_to_unhealthy"].mean() ± 10 --> calls go into the hang, the pool is saturated for about 5.6<!-- = metrics_table("hang").loc[['polly', 'hystrix', 'opossum'], "pool_saturated_s"].mean() ± 0.1 --> s, and more than 1% of
# requests time out, so their p99 is the full 1<!-- = metrics_table("hang").loc[['polly', 'hystrix', 'opossum'], "latency_p99_s"].min() --> s. (Hystrix reads its rate from 500 ms health
# snapshots, which would add up to half a second more; the model does not reproduce that, as
# its notes say. Its 1 s `call_timeout` equals the callers' timeout here, so it changes
# nothing, and opossum's 10<!-- = BreakerConfig.preset("opossum").call_timeout --> s one plays no part. The real opossum divides by fires, which also
# count the calls still hanging, so its rate climbs a little more slowly than the model's
# rate over outcomes: its first note.)
#
# **Late results decide the number of trips, and when recovery starts.** Every call
# admitted in the second before the trip comes back late, as a timeout.
#
# - gobreaker and Resilience4j (`late_result` `ignore` and `current_state`) leave the breaker
#   alone: 1<!-- = metrics_table("hang").loc[['gobreaker', 'resilience4j'], "trips"].max() --> trip. opossum and cockatiel (`ignore`) do too; their further trips are probes
#   sent into the hang (below).
# - circuitbreaker and aiobreaker (`admitting_state`) re-open the open breaker on each late
#   failure, restarting the timer: about 30<!-- = metrics_table("hang").loc["aiobreaker", "trips"] ± 2 --> trips in one second. This moves their probe about
#   a second later.
# - circuitbreaker, with its 30 s timeout counted from its last re-opening at 32 s, probes at
#   about 62 s, while the service is still hanging. Its unlimited probes admit a whole pool's
#   worth of calls into the hang, and each of their timeouts re-opens it again: 62<!-- = metrics_table("hang").loc["circuitbreaker", "trips"] --> trips in
#   all.
# - purgatory has the same 30 s timeout and unlimited probes, and probes at 61 s. It applies
#   late failures to the current state and ignores them while open, so it trips twice.
#
# **Recovery follows `reset_timeout`.**
#
# - The 60 s presets first probe just after the hang ends. gobreaker closes 1.1<!-- = metrics_table("hang").loc["gobreaker", "time_to_close_s"] --> s after;
#   aiobreaker and Resilience4j about 2<!-- = metrics_table("hang").loc[['aiobreaker', 'resilience4j'], "time_to_close_s"].mean() ± 0.3 --> s after, their timers having been pushed back by
#   late failures or a later trip. purgatory's second trip, at 62 s, also puts its probe at
#   92 s.
# - Polly and Hystrix probe every 5<!-- = BreakerConfig.preset("polly").reset_timeout --> s, so they close within 1.5 s of the end. The price is 9<!-- = metrics_table("hang").loc["polly", "trips"] -->
#   trips: after the first, each one is a probe sent into the hang.
# - cockatiel's 10<!-- = BreakerConfig.preset("cockatiel").reset_timeout --> s open time sends a probe into the hang about every 11 s (10 s open, then
#   the probe's 1 s timeout): 6<!-- = metrics_table("hang").loc["cockatiel", "trips"] --> trips, and it closes 6.1<!-- = metrics_table("hang").loc["cockatiel", "time_to_close_s"] ± 0.1 --> s after the end. In the real library
#   every caller that arrives during one of those probes waits for its verdict, holding a
#   worker, and is rejected only when the probe times out; at 100 requests/s, 32 of them fill
#   the pool in a third of a second. The simulator rejects them at once, so cockatiel's 0.72<!-- = metrics_table("hang").loc["cockatiel", "pool_saturated_s"] ± 0.01 --> s
#   of saturated pool is a lower bound.
# - opossum's 30<!-- = BreakerConfig.preset("opossum").reset_timeout --> s timer moves it to half-open at about 68<!-- = outages["hang"].start_s + metrics_table("hang").loc["opossum", "time_to_open_s"] + BreakerConfig.preset("opossum").reset_timeout ± 0.5 --> s, inside the hang. That probe times
#   out and re-opens it for another 30 s, so it closes only 9.2<!-- = metrics_table("hang").loc["opossum", "time_to_close_s"] ± 0.1 --> s after the end: 2<!-- = metrics_table("hang").loc["opossum", "trips"] --> trips.
# - pybreaker opened only at 35<!-- = outages["hang"].start_s + metrics_table("hang").loc["pybreaker", "time_to_open_s"] ± 0.5 --> s, so it probes at 95 s. Akka's last 15 s open period ends at
#   94 s. circuitbreaker probes at 93 s.
#
# Those late closes are the `false_rejections`: rejected calls that would have succeeded.
# gobreaker has the fewest (107<!-- = metrics_table("hang").loc["gobreaker", "false_rejections"] if metrics_table("hang").loc[list(PRESETS), "false_rejections"].idxmin() == "gobreaker" else float("nan") -->), opossum the most (897<!-- = metrics_table("hang").loc["opossum", "false_rejections"] if metrics_table("hang").loc[list(PRESETS), "false_rejections"].idxmax() == "opossum" else float("nan") -->), then cockatiel
# (588<!-- = metrics_table("hang").loc["cockatiel", "false_rejections"] -->) and pybreaker (507<!-- = metrics_table("hang").loc["pybreaker", "false_rejections"] -->).
#
# **A breaker does not raise availability in a hang on this service.** Nothing succeeds
# during the hang whatever the breaker does, and every breaker adds false rejections
# afterwards. `no_breaker` has the highest availability in the table. What the breaker buys
# is **fail-fast** behaviour:
#
# - the pool is saturated for at most about 1.5<!-- = metrics_table("hang").loc[['circuitbreaker', 'aiobreaker', 'purgatory', 'cockatiel', 'gobreaker', 'akka', 'resilience4j'], "pool_saturated_s"].max() ± 0.05 --> s with Resilience4j and the consecutive-count
#   presets other than pybreaker, instead of about 42<!-- = metrics_table("hang").loc["no_breaker", "pool_saturated_s"] ± 1 --> s without a breaker (about 5.6 s with
#   Polly, Hystrix and opossum);
# - p99 latency falls from 1<!-- = metrics_table("hang").loc["no_breaker", "latency_p99_s"] --> s to about 0.16<!-- = metrics_table("hang").loc[['circuitbreaker', 'aiobreaker', 'purgatory', 'cockatiel', 'gobreaker', 'akka', 'resilience4j'], "latency_p99_s"].mean() ± 0.01 --> s with the same presets. Polly, Hystrix
#   and opossum trip too late to bring it under 1 s.
#
# The freed workers would serve the caller's other dependencies; this notebook does not
# model those.
#
# ### The 20% brownout

# %%
metrics_table("brownout")

# %% [markdown]
# **Whether the breaker trips in a 20% brownout depends on its rule, and for some rules on
# luck.**
#
# - **Polly** trips every time. Its threshold is a 10% failure rate over 30 s, so it opens
#   once the window has absorbed enough of the 20% (about 15<!-- = metrics_table("brownout").loc["polly", "time_to_open_s"] ± 0.5 --> s in). It then cycles
#   open → probe → closed → open about every 6 s until the brownout ends: 8<!-- = metrics_table("brownout").loc["polly", "trips"] --> trips.
# - **Resilience4j, Hystrix and opossum** never trip (0<!-- = metrics_table("brownout").loc[['resilience4j', 'hystrix', 'opossum'], "trips"].max() --> trips). They need 50% of the window
#   to fail (opossum more than 50%), and 20% is nowhere near that.
# - **Akka** needs ten consecutive failures. At 20% that is about one run in 12<!-- = (1 - 0.2**10) / (0.8 * 0.2**10) / 1e6 ± 0.5 --> million
#   calls, so it does not trip either (trips: 0<!-- = metrics_table("brownout").loc["akka", "trips"] -->).
# - **The fail_max=5 presets** need five failures in a row. At 20% that comes once in about
#   3,900<!-- = (1 - 0.2**5) / (0.8 * 0.2**5) ± 50 --> calls on average, about every 39<!-- = (1 - 0.2**5) / (0.8 * 0.2**5) / workload.rate_rps ± 0.5 --> s at 100 requests/s (the formula is checked in
#   `tests/test_sim_validation.py`). With seed 1 the run came 33<!-- = metrics_table("brownout").loc["circuitbreaker", "time_to_open_s"] ± 0.5 --> s into the brownout, and
#   circuitbreaker, aiobreaker, purgatory and cockatiel all opened then (the latest of them
#   at 33<!-- = metrics_table("brownout").loc[['circuitbreaker', 'aiobreaker', 'purgatory', 'cockatiel'], "time_to_open_s"].max() ± 0.5 --> s). Another seed can trip them earlier, or not at all.
# - **gobreaker** needs six failures in a row, about one run in 19,500<!-- = (1 - 0.2**6) / (0.8 * 0.2**6) ± 100 --> calls, so roughly a
#   one-in-four chance in a 60 s brownout. With seed 1 it did not trip.
#
# **Tripping here only costs availability.** Four in five calls would have succeeded, and on
# this service rejecting the fifth does not help the other four. `no_breaker` (0.94<!-- = metrics_table("brownout").loc["no_breaker", "availability"] @full --> at full
# scale, 0.91<!-- = metrics_table("brownout").loc["no_breaker", "availability"] @small --> at small) is the best achievable, and the presets that never tripped match it
# exactly. Polly's repeated trips cost more than the single trip of circuitbreaker and
# purgatory; aiobreaker's is worse still, for the reason below. cockatiel's single trip costs
# less than theirs: its 10 s open time ends at about 73<!-- = outages["brownout"].start_s + metrics_table("brownout").loc["cockatiel", "time_to_open_s"] + BreakerConfig.preset("cockatiel").reset_timeout ± 0.5 --> s, its one probe succeeds, and it
# closes while the brownout is still on, without tripping again (1<!-- = metrics_table("brownout").loc["cockatiel", "trips"] --> trip; availability
# 0.91<!-- = metrics_table("brownout").loc["cockatiel", "availability"] @full --> at full scale, against 0.84<!-- = metrics_table("brownout").loc["circuitbreaker", "availability"] @full --> for circuitbreaker's 30 s). pybreaker's low availability
# is its lock again. It trips 12<!-- = metrics_table("brownout").loc["pybreaker", "time_to_open_s"] ± 0.5 --> s in, because only 17-18 calls/s get through.
#
# **aiobreaker's probes can re-open it after it has closed.** Its 60<!-- = BreakerConfig.preset("aiobreaker").reset_timeout --> s timeout ends at about
# 123<!-- = outages["brownout"].start_s + metrics_table("brownout").loc["aiobreaker", "time_to_open_s"] + BreakerConfig.preset("aiobreaker").reset_timeout ± 0.5 --> s. Its unlimited probes then flood in, and the first success closes the breaker. A few
# milliseconds later, one of the other probes hits a 1% background error. aiobreaker handles
# that failure by the rule of the half-open state that admitted it, and re-opens the breaker
# for another 60 s. This is the measured `probe_fail_after_success` behaviour in the
# conformance README. So aiobreaker is still open when the small-scale run ends at 150<!-- = HORIZON @small --> s, and
# at full scale it closes only at about 183<!-- = outages["brownout"].start_s + outages["brownout"].duration_s + metrics_table("brownout").loc["aiobreaker", "time_to_close_s"] ± 0.5 @full --> s, roughly 93<!-- = metrics_table("brownout").loc["aiobreaker", "time_to_close_s"] ± 0.5 @full --> s after the brownout ended. That
# is why its false rejections are far above the others'. Whether a background error lands on
# one of those few probes is luck; this seed happened to draw one.
#
# ## What to take from the fingerprints
#
# - **"fail_max=5, reset_timeout=60" does not describe a breaker.** pybreaker and aiobreaker
#   both have those defaults. One serialises every call; the other floods half-open with
#   probes, and can re-open from a late probe failure.
# - **Window rules with a minimum call count react late to a hang.** A hang sends the failures
#   back only at the timeout, and in the meantime the old successes dilute them. Consecutive
#   counting reacts at the first timeouts.
# - **What a rate counts matters as much as its threshold.** opossum divides failures by
#   every call fired, rejected and in-flight ones included, and checks only when a failure
#   arrives, so the same outcomes can trip it earlier or later than a rate over outcomes.
# - **Waiting for a probe is not free.** cockatiel never rejects a caller in half-open: it
#   parks it behind the probe. Behind a probe into a hung service every caller waits until
#   the probe times out, and behind a hung probe they wait as long as it hangs.
# - **A low rate threshold (Polly's 10%) trips on brownouts** that a consecutive count of 6
#   or more, or a 50% rate, ignores. Whether that is right depends on whether the failing
#   fifth costs more than the rejected four fifths.
# - **Late results and probe limits decide recovery.** Libraries that let a late failure
#   restart the open timer recover later after a hang. Libraries with unlimited probes send a
#   pool's worth of calls into a service that is still down, and aiobreaker can re-open on
#   one bad probe after it has closed.
# - **To simulate a library, use its preset, and read its notes.** For circuitbreaker,
#   opossum and cockatiel the model is only the closest fit: a late success closes the real
#   circuitbreaker, not the model; opossum's rate counts calls the model does not; cockatiel's
#   unhandled errors close it from half-open, and its waiting callers are rejected in the
#   simulator.

"""Fingerprints: fitting the model's options to real libraries, the presets they give, and the
divergences generated sequences find (against the pinned library versions)."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import subprocess
import sys
from typing import Any

import pytest

from breakerlab.cli import main as cli_main
from breakerlab.model import BreakerConfig, CircuitOpenError, InvalidConfigError
from breakerlab.model.presets import PRESETS, preset_named
from breakerlab.proofs.conform.catalogue import CALL_TIMEOUT_S, CATALOGUE
from breakerlab.proofs.conform.cli import conform, fingerprint
from breakerlab.proofs.conform.fit import (
    CANDIDATE_OPTIONS,
    DIMENSIONS,
    FINGERPRINT_OPTIONS,
    Fit,
    Run,
    adapter_for,
    candidates,
    fit_fingerprint,
    model_runs,
    preset_differences,
    preset_options,
)
from breakerlab.proofs.conform.model_adapter import ModelAdapter, comparable
from breakerlab.proofs.conform.script import Advance, Begin, ReadState, script
from breakerlab.runtime import CircuitBreaker

MEASURED = ("pybreaker", "circuitbreaker", "aiobreaker", "purgatory", "opossum", "cockatiel")

#: Scenarios no option of the model reproduces, per library (the closest candidate misses them).
UNEXPLAINED = {
    "circuitbreaker": {"probe_fail_after_success", "late_success_while_open", "late_success_in_half_open"},
    "opossum": {
        "success_resets_count", "excluded_in_probe", "late_success_while_open", "late_failure_while_open",
        "late_success_in_half_open", "late_failure_in_half_open",
    },
    "cockatiel": {"excluded_in_probe", "late_failure_in_half_open"},
}


@pytest.fixture(scope="module")
def fits() -> dict[str, Fit]:
    """Each measured library's fit (``fingerprint`` caches it for the process, so the command's
    tests below reuse it)."""
    return {name: fingerprint(name)[1] for name in MEASURED}


@pytest.mark.parametrize("library", MEASURED)
def test_measured_presets_are_the_fitted_fingerprints(fits: dict[str, Fit], library: str) -> None:
    """Each measured preset in breakerlab.model.presets has exactly the option values fitted to
    the installed library, for every option of FINGERPRINT_OPTIONS (the grid and the dimensions:
    trip rule, rate equality, backoff, half-open waiting, call timeout) the catalogue determines."""
    fit, preset = fits[library], PRESETS[library]
    assert preset.measured and preset.version in preset.provenance
    assert {*CANDIDATE_OPTIONS, *DIMENSIONS} <= set(FINGERPRINT_OPTIONS)
    assert preset_differences(preset_options(preset), fit) == {}


def _another_value(option: str, value: Any) -> Any:
    """A value of ``option`` other than ``value``, from the grid or the dimensions' variants."""
    if option == "call_timeout":
        return 10.0 if value is None else None
    if option == "trip_on_equal_rate":
        return not value
    choices = CANDIDATE_OPTIONS.get(option) or tuple(v[option] for v in DIMENSIONS[option])
    return next(choice for choice in choices if choice != value)


@pytest.mark.parametrize("library", ["pybreaker", "opossum", "cockatiel"])
def test_preset_differences_report_every_determined_option_that_differs(fits: dict[str, Fit], library: str) -> None:
    """Changing any one determined option of a measured preset makes preset_differences name it,
    with the preset's and the fit's values (so the equality above is not vacuous)."""
    fit = fits[library]
    options = preset_options(PRESETS[library])
    compared = [o for o in FINGERPRINT_OPTIONS if o not in fit.undetermined
                and not (o == "trip_on_equal_rate" and fit.options.get("trip_rule") == "consecutive")]
    assert {"trip_rule", "half_open_waits", "call_timeout", "trip_error"} <= set(compared)
    for option in compared:
        changed = _another_value(option, fit.options.get(option, options.get(option)))
        differences = preset_differences({**options, option: changed}, fit)
        assert differences[option] == (changed, fit.options[option]), option


@pytest.mark.parametrize(
    ("library", "undetermined"),
    [
        ("pybreaker", ("half_open_limit", "half_open_max_calls", "late_result")),
        ("aiobreaker", ("half_open_limit",)),
        ("purgatory", ("half_open_limit",)),
    ],
)
def test_three_libraries_are_points_of_the_option_space(fits: dict[str, Fit], library: str, undetermined: tuple[str, ...]) -> None:
    """pybreaker, aiobreaker and purgatory are each reproduced exactly by some option values;
    what the catalogue cannot tell apart is stated (pybreaker's lock hides probe limits and late
    results; with unlimited probes the limit's kind does not matter)."""
    fit = fits[library]
    assert fit.exact and fit.unexplained == () and fit.undetermined == undetermined


def test_circuitbreaker_has_behaviour_no_option_explains(fits: dict[str, Fit]) -> None:
    """fabfuel's circuitbreaker resets to closed on any success, so a late success closes an open
    breaker and decides half-open: no option of the model does that (a candidate bug in it)."""
    fit = fits["circuitbreaker"]
    assert not fit.exact
    assert set(fit.unexplained) == UNEXPLAINED["circuitbreaker"]
    assert "late success" in " ".join(PRESETS["circuitbreaker"].notes)


def test_opossum_is_a_time_window_rate_rule_with_a_timer_and_a_call_timeout(fits: dict[str, Fit]) -> None:
    """opossum's closest fingerprint: a rate over a 10 s time window that trips only above 50%,
    half-open entered by its reset timer at the deadline, its own call timeout, the original
    error on the tripping call, cancellations counted as failures, no waiting in half-open."""
    options = fits["opossum"].options
    assert {k: options[k] for k in ("trip_rule", "window_duration", "failure_rate_threshold", "trip_on_equal_rate")} == {
        "trip_rule": "time_window", "window_duration": 10.0, "failure_rate_threshold": 0.5, "trip_on_equal_rate": False,
    }
    assert options["half_open_entry"] == "at_deadline" and options["call_timeout"] == CALL_TIMEOUT_S
    assert options["trip_error"] == "original" and options["cancellation_outcome"] == "failure"
    assert options["half_open_waits"] is False and options["serializes_calls"] is False
    assert options["open_duration_policy"] == "fixed"


def test_cockatiel_counts_consecutive_failures_and_waits_in_half_open(fits: dict[str, Fit]) -> None:
    """cockatiel's closest fingerprint: consecutive failures, half-open entered lazily by the next
    call, callers waiting for the probe's verdict, and no call timeout of its own."""
    options = fits["cockatiel"].options
    assert options["trip_rule"] == "consecutive" and options["half_open_entry"] == "lazy"
    assert options["half_open_waits"] is True and options["call_timeout"] is None
    assert options["half_open_max_calls"] == 1 and options["serializes_calls"] is False
    assert options["open_duration_policy"] == "fixed"


@pytest.mark.parametrize("library", ["opossum", "cockatiel"])
def test_npm_libraries_have_behaviour_no_option_explains(fits: dict[str, Fit], library: str) -> None:
    """No candidate reproduces all of opossum (fires dilute its rate, the rate is checked only on
    a failure, any outcome decides half-open) or cockatiel (an unhandled error closes half-open, a
    late failure re-opens it); the scenarios missed are exactly these, and the preset's notes name
    each of them."""
    fit = fits[library]
    assert not fit.exact and fit.matching == 0
    assert set(fit.unexplained) == UNEXPLAINED[library]
    notes = " ".join(PRESETS[library].notes)
    assert notes.startswith("closest fit, not exact")
    for name in fit.unexplained:
        assert name in notes, name


@pytest.mark.parametrize("index", [0, 37, 101, 150, 222, 333, 444, 575])
def test_fitting_recovers_the_options_of_a_model_run(index: int) -> None:
    """Fitting the model's own catalogue runs under some options finds options that reproduce
    every scenario (the fit is sound and the search covers the space)."""
    target = candidates()[index]
    fit = fit_fingerprint(model_runs(target))
    assert fit.exact
    mine, theirs = model_runs(fit.options), model_runs(target)
    for name in theirs:
        assert [comparable(o) for o in mine[name]] == [comparable(o) for o in theirs[name]], name
    for option in CANDIDATE_OPTIONS:
        if option not in fit.undetermined:
            assert fit.options[option] == target[option], option


_TIME_GE, _TIME_GT, _COUNT_GE, _COUNT_GT = DIMENSIONS["trip_rule"][1:]
_EXPONENTIAL = DIMENSIONS["open_duration_policy"][1]
_WAITS = DIMENSIONS["half_open_waits"][1]
_TIMEOUT = DIMENSIONS["call_timeout"][1]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"trip_error": "circuit_open", "cancellation_outcome": "failure", **_TIME_GE}, id="time_window>="),
        pytest.param({"admit_at_deadline": False, "late_result": "current_state", "excluded_outcome": "success",
                      **_TIME_GT, **_TIMEOUT}, id="time_window>+timeout"),
        pytest.param({"half_open_entry": "at_deadline", "late_result": "admitting_state", **_COUNT_GE, **_EXPONENTIAL},
                     id="count_window>=+exponential"),
        pytest.param({"cancellation_outcome": "failure", **_WAITS, **_EXPONENTIAL}, id="waits+exponential"),
        pytest.param({"half_open_entry": "at_deadline", "cancellation_outcome": "failure", **_TIME_GT, **_TIMEOUT,
                      **_WAITS}, id="opossum-like+waits"),
        pytest.param({"trip_error": "circuit_open", "late_result": "admitting_state", **_COUNT_GT, **_EXPONENTIAL,
                      **_WAITS, **_TIMEOUT}, id="count_window>+every-dimension"),
    ],
)
def test_the_dimension_search_recovers_the_options_of_a_model_run(changes: dict[str, Any]) -> None:
    """Fitting the model's catalogue runs under grid options combined with non-default variants of
    the dimensions (every trip rule variant, exponential backoff, half-open waiting, a call
    timeout) finds options reproducing every scenario, equal to the target's in every option the
    catalogue determines: the coordinate descent leaves the defaults wherever the data says so."""
    defaults = {option: value for variants in DIMENSIONS.values() for option, value in variants[0].items()}
    target = {**candidates()[0], **defaults, **changes}
    # half-open waiting is observable only without the whole-call lock and with a probe limit
    assert not target["half_open_waits"] or (not target["serializes_calls"] and target["half_open_max_calls"] == 1)
    fit = fit_fingerprint(model_runs(target))
    assert fit.exact
    mine, theirs = model_runs(fit.options), model_runs(target)
    for name in theirs:
        assert [comparable(o) for o in mine[name]] == [comparable(o) for o in theirs[name]], name
    for option, value in target.items():
        if option not in fit.undetermined:
            assert fit.options.get(option) == value, option


def _closest_exhaustive(library: Run, bound: int) -> tuple[int, list[tuple[dict[str, Any], list[str]]]]:
    """Every grid candidate under every combination of the dimensions' variants (no pruning of
    equivalent candidates), scored on the catalogue up to ``bound`` misses: how many were scored,
    and those missing fewer than ``bound`` scenarios. Scenarios are compared most-missed first, so
    most candidates reach the bound after a few model runs."""
    observed = {name: [comparable(o) for o in runs] for name, runs in library.items()}
    missed_so_far: collections.Counter[str] = collections.Counter()
    order = list(observed)
    scored, better = 0, []
    for grid in candidates():
        order.sort(key=lambda name: -missed_so_far[name])
        for variants in itertools.product(*DIMENSIONS.values()):
            candidate = dict(grid)
            for variant in variants:
                candidate.update(variant)
            adapter = adapter_for(candidate)
            scored += 1
            missed: list[str] = []
            for name in order:
                if [comparable(o) for o in adapter.run(CATALOGUE[name].steps)] != observed[name]:
                    missed.append(name)
                    missed_so_far[name] += 1
                    if len(missed) >= bound:
                        break
            if len(missed) < bound:
                better.append((candidate, missed))
    return scored, better


@pytest.mark.slow
@pytest.mark.parametrize("library", ["opossum", "cockatiel"])
def test_the_coordinate_descent_is_optimal_for_the_npm_libraries(fits: dict[str, Fit], library: str) -> None:
    """An exhaustive search over the grid times every combination of dimension variants (46,080
    candidates) finds no candidate missing fewer scenarios than the fit's closest candidate, which
    itself misses exactly the scenarios it reports (so the bound is attained, not vacuous)."""
    fit = fits[library]
    runs = fingerprint(library)[0]
    model = model_runs(fit.options)
    assert {n for n in runs if [comparable(o) for o in runs[n]] != [comparable(o) for o in model[n]]} == set(fit.unexplained)
    scored, better = _closest_exhaustive(runs, len(fit.unexplained))
    expected = len(candidates())
    for choices in DIMENSIONS.values():
        expected *= len(choices)
    assert scored == expected
    assert better == []


def test_generated_sequences_find_the_circuitbreaker_divergence_as_a_minimal_script() -> None:
    """Hypothesis finds, and shrinks to six steps, a script where circuitbreaker closes on a late
    success while the model stays open; no candidate option explains it."""
    report = conform("circuitbreaker", examples=150, limit=1)
    assert not report.ok and report.divergences
    divergence = report.divergences[0]
    assert divergence.unexplained and len(divergence.steps) <= 6
    steps = [type(step).__name__ for step in divergence.steps]
    assert steps[0] == "Begin" and "Finish" in steps
    last_library, last_model = divergence.library[divergence.first], divergence.model[divergence.first]
    assert not last_library.result.startswith("rejected") and last_model.result.startswith("rejected")


@pytest.mark.parametrize(("library", "examples"), [("aiobreaker", 80), ("purgatory", 80), ("pybreaker", 25)])
def test_generated_sequences_agree_with_the_fingerprinted_model(library: str, examples: int) -> None:
    """On generated event sequences (overlapping calls, late results, clock steps at the
    deadline), the library and the model with its fingerprint agree step by step."""
    report = conform(library, examples=examples)
    assert report.ok, [d.to_dict() for d in report.divergences]


def test_every_preset_builds_a_valid_config() -> None:
    """BreakerConfig.preset gives a valid config for every library; documented presets are
    marked as such; an unknown name lists the presets."""
    for name, preset in PRESETS.items():
        config = BreakerConfig.preset(name)
        for option, value in preset.options.items():
            assert getattr(config, option) == value or str(getattr(config, option)) == str(value)
    assert {name for name, p in PRESETS.items() if not p.measured} == {"gobreaker", "resilience4j", "polly", "hystrix", "akka"}
    assert {name for name, p in PRESETS.items() if p.measured} == set(MEASURED)
    assert BreakerConfig.preset("opossum").call_timeout == 10.0 and BreakerConfig.preset("cockatiel").call_timeout is None
    assert BreakerConfig.preset("gobreaker").fail_max == 6  # "more than 5 consecutive failures"
    with pytest.raises(InvalidConfigError, match="'preset' must be one of 'pybreaker', 'circuitbreaker'"):
        preset_named("hystrix2")


def test_conform_command_reports_and_exits_by_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    """`breakerlab conform purgatory` prints the fingerprint and its process exits 0;
    circuitbreaker exits 1 naming the unexplained scenarios, and --json prints one object; an
    unknown library exits 2."""
    ok = subprocess.run([sys.executable, "-m", "breakerlab.cli", "conform", "purgatory", "--examples", "10"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "late_result = 'current_state'" in ok.stdout and "matches the fit" in ok.stdout
    assert cli_main(["conform", "circuitbreaker", "--examples", "10", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["exact"] is False and "late_success_while_open" in document["unexplained_scenarios"]
    with pytest.raises(SystemExit) as unknown:
        cli_main(["conform", "hystrix"])
    assert unknown.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_preset_summaries_put_each_fingerprint_into_words() -> None:
    """`summary(name)` describes a preset's semantics point by point (notebook 05's table)."""
    from breakerlab.model.preset_summary import summary

    pybreaker, r4j = summary("pybreaker"), summary("resilience4j")
    assert pybreaker["trip rule"] == "5 consecutive failures" and pybreaker["serializes_calls"] is True
    assert pybreaker["source"] == "measured: 1.4.1" and pybreaker["trip_error"] == "circuit_open"
    assert r4j["trip rule"].startswith("failure rate ≥ 50% of the last 100 calls (min. 100)")
    assert r4j["probes"] == "10 per episode" and r4j["source"].startswith("documented")
    assert summary("aiobreaker")["probes"] == "unlimited per episode"
    assert set(summary("akka")) == set(pybreaker)


def test_the_model_adapter_fails_a_timed_out_call_as_call_async_does() -> None:
    """A call that overruns ``call_timeout`` is a failure, and when it trips the breaker under
    ``trip_error="circuit_open"`` its caller gets the breaker's error chained from the timeout:
    what ``CircuitBreaker.call_async`` raises (run here on an event loop), the model adapter
    reports, so the fit scores those candidates on the reference's behaviour."""
    async def hangs() -> None:
        await asyncio.sleep(10.0)

    runtime = CircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=30.0, call_timeout=0.01, trip_error="circuit_open"))
    with pytest.raises(CircuitOpenError) as raised:
        asyncio.run(runtime.call_async(hangs))
    assert isinstance(raised.value.__cause__, TimeoutError)

    steps = script(Begin(1), Advance(1.0), ReadState())
    for trip_error, result in (("circuit_open", "raised:CircuitOpenError"), ("original", "raised:TimeoutError")):
        adapter = ModelAdapter({"call_timeout": 1.0, "trip_error": trip_error})
        adapter.configure(1, 30.0)
        resumed = [o for o in adapter.run(steps) if o.kind == "resumed"]
        assert [(o.call_id, o.result) for o in resumed] == [(1, result)], trip_error
        assert adapter.run(steps)[-1].result == "open"

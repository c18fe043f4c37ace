"""Fingerprints: fitting the model's options to real libraries, the presets they give, and the
divergences generated sequences find (against the pinned library versions)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from breakerlab.cli import main as cli_main
from breakerlab.model import BreakerConfig, InvalidConfigError
from breakerlab.model.presets import PRESETS, preset_named
from breakerlab.proofs.conform.cli import conform, fingerprint
from breakerlab.proofs.conform.fit import CANDIDATE_OPTIONS, Fit, candidates, fit_fingerprint, model_runs
from breakerlab.proofs.conform.model_adapter import comparable

MEASURED = ("pybreaker", "circuitbreaker", "aiobreaker", "purgatory")


@pytest.fixture(scope="module")
def fits() -> dict[str, Fit]:
    """Each measured library's fit (``fingerprint`` caches it for the process, so the command's
    tests below reuse it)."""
    return {name: fingerprint(name)[1] for name in MEASURED}


@pytest.mark.parametrize("library", MEASURED)
def test_measured_presets_are_the_fitted_fingerprints(fits: dict[str, Fit], library: str) -> None:
    """Each measured preset in breakerlab.model.presets has exactly the option values fitted to
    the installed library (for every option the catalogue determines)."""
    fit, preset = fits[library], PRESETS[library]
    assert preset.measured and preset.version in preset.provenance
    chosen = {**preset.options, "serializes_calls": preset.serializes_calls}
    for option in CANDIDATE_OPTIONS:
        if option not in fit.undetermined:
            assert chosen[option] == fit.options[option], option


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
    assert set(fit.unexplained) == {"probe_fail_after_success", "late_success_while_open", "late_success_in_half_open"}
    assert "late success" in " ".join(PRESETS["circuitbreaker"].notes)


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

"""`breakerlab prove --json` SPIN trails and refinement mismatches as structured steps, and
`--replay` of them on the Python breaker (the z3 traces: tests/test_prove_json.py)."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest

from breakerlab.cli import main
from breakerlab.model import TABLE
from breakerlab.proofs.mutants import MUTANTS
from breakerlab.proofs.spin.suite import SUITE, run_suite
from breakerlab.proofs.spin.trail import ENVIRONMENT_INITIAL, follow_trail
from breakerlab.proofs.spin.trail_json import trail_from_json, trail_to_json

#: A mutant whose SPIN safety trail (the first check of the suite) and refinement mismatch are
#: both found in about a second: it trips one failure late.
MUTANT = "trip_one_late"
CALLERS = ("caller0", "caller1")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "breakerlab.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`breakerlab prove --mutant trip_one_late --layer spin --layer refinement --json`, parsed and saved."""
    out = _cli("prove", "--mutant", MUTANT, "--layer", "spin", "--layer", "refinement", "--json")
    assert out.returncode == 1, out.stderr
    path = tmp_path_factory.mktemp("prove") / "cx.json"
    path.write_text(out.stdout)
    return {"data": json.loads(out.stdout), "path": path}


def _traces(saved: dict[str, Any], layer: str) -> list[dict[str, Any]]:
    return [v["trace"] for v in saved["data"]["verdicts"] if v["trace"] and v["trace"]["layer"] == layer]


@pytest.fixture(scope="module")
def wedge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference table's expected L3 violation (a lost probe wedges half-open), as
    ``breakerlab prove --json`` writes it, saved to a file."""
    case = next(c for c in SUITE if c.name == "default")
    check = next(c for c in case.checks if c.label == "L3 lossy")
    [result] = run_suite(TABLE, [dataclasses.replace(case, checks=(check,))])
    trace = json.loads(json.dumps(trail_to_json(result, TABLE, None, check.prop)))
    path = tmp_path_factory.mktemp("wedge") / "wedge.json"
    path.write_text(json.dumps(trace))
    return {"trace": trace, "path": path}


def test_spin_counterexample_has_concurrent_structured_steps(saved: dict[str, Any]) -> None:
    """A SPIN trail in --json names its layer, property and kind, and each step the process
    that took it, the event, the permit an outcome settles (its caller's), the time in ticks,
    and the model state before and after, chained from the initial state; the safety trail
    ends with the second counted failure that leaves the mutant closed."""
    [safety] = [t for t in _traces(saved, "spin") if t["check"] == "safety"]
    assert safety["format"] == "breakerlab-counterexample" and safety["mutant"] == MUTANT
    assert (safety["property"], safety["kind"], safety["expected"]) == ("S4 S9", "assertion", False)
    assert safety["callers"] == 2 and safety["config"] == {"fail_max": 2, "reset_timeout": 2}
    steps = safety["steps"]
    previous = safety["initial"]
    assert previous["state"] == "closed" and previous["consecutive_failures"] == 0
    for number, step in enumerate(steps, start=1):
        assert step["number"] == number and step["before"] == previous
        assert step["changed"] == {k: [previous[k], v] for k, v in step["after"].items() if previous[k] != v}
        if step["event"] in ("record_success", "record_failure", "release", "lost"):
            assert step["process"] in CALLERS and step["arguments"] == {"permit": step["process"]}
        assert step["verdict"] != "none" if step["event"] == "acquire" else step["verdict"] == "none"
        previous = step["after"]
    assert {s["process"] for s in steps} >= {*CALLERS[1:], "manual", "clock", "env"}
    last = steps[-1]
    assert last["event"] == "record_failure" and last["row"] == "failure_counted"
    assert last["after"]["state"] == "closed" and last["after"]["consecutive_failures"] == 2
    assert safety["violation"].startswith(f"step {len(steps)} violates S4 S9")


def test_spin_and_refinement_counterexamples_replay_on_the_mutant_only(saved: dict[str, Any]) -> None:
    """Every counterexample of the saved output replays with --replay: the mutant's breaker
    follows each SPIN trail to its violation and takes the refinement mismatch's last step,
    the reference breaker leaves the trail or takes the relation's step; exit status 0."""
    out = _cli("prove", "--replay", str(saved["path"]), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    blocks = data["counterexamples"]
    spin = [b for b in blocks if b["layer"] == "spin"]
    assert spin and [b["layer"] for b in blocks].count("refinement") == 1
    lengths = {t["check"]: len(t["steps"]) for t in _traces(saved, "spin")}
    for block in blocks:
        mutant, reference = block["replays"]
        assert mutant["mutant"] == MUTANT and mutant["reproduces"] and mutant["matches"], block
        assert reference["breaker"] == "reference" and not reference["reproduces"], block
        assert block["ok"] and block["found_on"] == MUTANT
    assert sorted(b["replays"][0]["violated_step"] for b in spin) == sorted(lengths.values())
    [refinement] = [b for b in blocks if b["layer"] == "refinement"]
    assert refinement["replays"][0]["violated_step"] == 4
    assert data["ok"] is True and data["layer"] == blocks[0]["layer"]


def test_replay_text_says_per_breaker_whether_it_reproduces(saved: dict[str, Any]) -> None:
    """The text replay prints each counterexample's steps and one line per breaker: the mutant
    reproduces (following the whole SPIN trail; step 4 outside the relation), the reference
    does not (it opens where the mutant stays closed)."""
    out = _cli("prove", "--replay", str(saved["path"]))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    count = len(saved["data"]["verdicts"])
    assert f"{count} counterexamples (SPIN, refinement) on the Python breaker" in text
    mutant_lines = [line for line in text.splitlines() if line.startswith(f"mutant '{MUTANT}' breaker:")]
    reference_lines = [line for line in text.splitlines() if line.startswith("reference breaker:")]
    assert len(mutant_lines) == len(reference_lines) == count
    assert all("breaker: reproduces: " in line for line in mutant_lines)
    assert all("does not reproduce: " in line for line in reference_lines)
    spin_line = next(line for line in reference_lines if "leaves the trail at step" in line)
    assert "SPIN mode closed, breaker open" in spin_line
    assert re.search(r"reproduces: step 4 is not a step of the relation, following every recorded state", text)
    assert "the relation's step 4: record_failure(P2) -> open" in text


def test_refinement_mismatch_is_a_structured_path(saved: dict[str, Any]) -> None:
    """A refinement mismatch in --json is the path from the initial state (two admissions, two
    failures settling permits 1 and 2), the breaker's states along it, and the relation's
    expected last step (open), marked replayable."""
    [mismatch] = _traces(saved, "refinement")
    assert (mismatch["property"], mismatch["kind"], mismatch["mutant"]) == ("R", "mismatch", MUTANT)
    assert mismatch["replayable"] is True and mismatch["relation"] == "reference"
    steps = mismatch["steps"]
    assert [(s["event"], s["arguments"]) for s in steps] == [
        ("acquire", {}), ("acquire", {}), ("record_failure", {"permit": 1}), ("record_failure", {"permit": 2}),
    ]
    assert [s["row"] for s in steps] == ["admitted", "admitted", "failure_counted", None]
    assert steps[-1]["after"]["state"] == "closed" and steps[-1]["after"]["consecutive_failures"] == 2
    assert mismatch["expected"]["after"]["state"] == "open"


def test_expected_violation_reproduces_on_the_reference_breaker(
    wedge: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The wedge (an acceptance cycle SPIN must find on the reference table) replays on the
    reference breaker, which follows it into the cycle: exit 0. Marked unexpected, the same
    file exits 1: the reference breaker exhibits a violation the proofs exclude."""
    trace = wedge["trace"]
    assert (trace["kind"], trace["property"], trace["expected"], trace["mutant"]) == ("acceptance_cycle", "L3", True, None)
    start = next(s["number"] for s in trace["steps"] if s["cycle"])
    before = trace["steps"][start - 2]["after"] if start > 1 else trace["initial"]
    assert trace["steps"][-1]["after"] == before
    out = _cli("prove", "--replay", str(wedge["path"]))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"reference breaker: reproduces: follows all {len(trace['steps'])} steps of the trail, into the cycle" in out.stdout
    unexpected = wedge["path"].with_name("unexpected.json")
    unexpected.write_text(json.dumps(trace | {"expected": False}))
    assert main(["prove", "--replay", str(unexpected)]) == 1
    assert "=> the reference breaker exhibits a violation the proofs exclude" in capsys.readouterr().out


def _edited(trace: dict[str, Any], edit: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(trace))
    edit(copy)
    return copy


def test_bad_spin_and_refinement_files_are_one_line_errors(
    saved: dict[str, Any], wedge: dict[str, Any], tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SPIN trail with an unknown process, an outcome by a non-caller, time running back, an
    acquire without a verdict, a configuration SPIN cannot model, or a cycle that does not
    return to its start, a refinement path settling a permit no acquire issued, and an unknown
    layer each exit 2 with one line naming the field and the rule."""
    [spin] = [t for t in _traces(saved, "spin") if t["check"] == "safety"]
    [mismatch] = _traces(saved, "refinement")
    n = len(spin["steps"])
    outcome = next(i for i, s in enumerate(spin["steps"]) if s["event"] == "record_failure")
    acquire = next(i for i, s in enumerate(spin["steps"]) if s["event"] == "acquire")
    before_last = spin["steps"][n - 2]["time"]
    assert before_last > 0, "the trail's last step must come after a tick for time 0 to run back"
    cases: list[tuple[dict[str, Any], str]] = [
        (_edited(spin, lambda t: t["steps"][0].update(process="caller7")), "'steps[0].process' must be one of caller0, caller1, "),
        (_edited(spin, lambda t: t["steps"][outcome].update(process="clock")), f"'steps[{outcome}].process' must be a caller for record_failure"),
        (_edited(spin, lambda t: t["steps"][n - 1].update(time=0)), f"'steps[{n - 1}].time' must be at least the previous step's time {before_last} (got 0)"),
        (_edited(spin, lambda t: t["steps"][acquire].update(verdict="none")), f"'steps[{acquire}].verdict' must be admit, admit_probe or reject"),
        (_edited(spin, lambda t: t["config"].update(trip_rule="count_window")), "'config' must be a configuration SPIN models"),
        (_edited(wedge["trace"], lambda t: t["steps"][-1]["after"].update(probes_inflight=0)), "must be the state before the cycle's first step"),
        (_edited(mismatch, lambda t: t["steps"][2]["arguments"].update(permit=3)), "'steps[2].arguments.permit' must be the number of an earlier acquire step"),
        (_edited(mismatch, lambda t: t.update(layer="tla")), "'layer' must be one of z3, spin, refinement (got 'tla')"),
    ]
    for number, (content, message) in enumerate(cases):
        path = tmp_path / f"bad{number}.json"
        path.write_text(json.dumps(content))
        assert main(["prove", "--replay", str(path)]) == 2, message
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    out = _cli("prove", "--replay", str(tmp_path / "bad0.json"))
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_environment_initial_values_are_the_generated_models() -> None:
    """The environment's initial values a trail's 'initial' state shows are those the generated
    Promela declares (so the state before step 1 is the model's)."""
    case = next(c for c in SUITE if c.name == "default")
    text = case.model(TABLE, "safety") + case.model(TABLE, "recovery")
    for name, value in ENVIRONMENT_INITIAL.items():
        assert re.search(rf"^(bit|byte) {name} = {value};", text, re.MULTILINE), name


def test_a_trail_replay_stops_at_an_outcome_for_a_permit_never_admitted(saved: dict[str, Any]) -> None:
    """With the last acquire cut out of the safety trail, the mutant's breaker runs every step
    before it and stops at the outcome that settles a permit it never admitted (no KeyError):
    it does not reproduce the violation."""
    [safety] = [t for t in _traces(saved, "spin") if t["check"] == "safety"]
    last_acquire = max(i for i, s in enumerate(safety["steps"]) if s["event"] == "acquire")
    assert last_acquire == len(safety["steps"]) - 2
    cut = dict(safety, steps=safety["steps"][:last_acquire] + safety["steps"][last_acquire + 1:])
    trail = trail_from_json(cut)
    outcome = follow_trail(trail.steps, trail.config, MUTANTS[MUTANT].table)
    who = safety["steps"][-1]["process"]
    assert not outcome.reproduces and outcome.steps_run == last_acquire
    assert outcome.detail == f"step {last_acquire + 1}: {who} settles a permit the breaker never admitted"

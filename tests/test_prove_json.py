"""`breakerlab prove --json` counterexamples as structured steps, and `--replay` on the Python breaker."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from breakerlab.cli import main
from breakerlab.model.table import VARIABLES
from breakerlab.proofs.counterexample import find_trace, replay_trace
from breakerlab.proofs.mutants import MUTANTS
from breakerlab.proofs.trace_json import trace_from_json, trace_to_json

#: A mutant whose z3 counterexample is two steps long (trip, then an acquire at the exact
#: deadline), found in well under a second.
MUTANT = "deadline_boundary"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "breakerlab.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`breakerlab prove --mutant deadline_boundary --layer z3 --json`, parsed, and the file it was saved to."""
    out = _cli("prove", "--mutant", MUTANT, "--layer", "z3", "--json")
    assert out.returncode == 1, out.stderr
    path = tmp_path_factory.mktemp("prove") / "cx.json"
    path.write_text(out.stdout)
    return {"data": json.loads(out.stdout), "path": path}


def _trace(saved: dict[str, Any]) -> dict[str, Any]:
    traces = [v["trace"] for v in saved["data"]["verdicts"] if v["trace"]]
    assert len(traces) == 1
    return traces[0]


def test_json_counterexample_has_structured_steps(saved: dict[str, Any]) -> None:
    """A z3 counterexample in --json lists each step's event, arguments, time, verdict, and the
    state before and after with every table variable, chained from the initial state."""
    trace = _trace(saved)
    assert trace["format"] == "breakerlab-counterexample" and trace["mutant"] == MUTANT
    assert trace["property"] == "S1" and trace["config"]["admit_at_deadline"] is False
    steps = trace["steps"]
    assert [s["event"] for s in steps] == ["trip", "acquire"]
    previous = {k: v for k, v in trace["initial"].items() if k != "clock"}
    for number, step in enumerate(steps, start=1):
        assert step["number"] == number and isinstance(step["time"], float)
        assert set(step["after"]) == {"state", *VARIABLES}
        assert step["before"] == previous
        assert step["changed"] == {k: [previous[k], v] for k, v in step["after"].items() if previous[k] != v}
        previous = step["after"]
    assert steps[0]["arguments"] == {} and steps[0]["after"]["state"] == "open"
    assert list(steps[1]["arguments"]) == ["permit"]  # the admitted call's permit (a slot of the pool)
    assert isinstance(steps[1]["arguments"]["permit"], int)
    assert steps[1]["time"] == steps[0]["after"]["open_until"]
    assert steps[1]["verdict"] == "admit_probe" and steps[1]["after"]["state"] == "half_open"
    assert trace["violation"].startswith("step 2 violates S1")


def test_mutant_counterexample_round_trips_and_replays(saved: dict[str, Any]) -> None:
    """The saved --json output replays with --replay: the mutant's breaker reproduces the violation,
    the reference breaker does not, so the exit status is 0."""
    out = _cli("prove", "--replay", str(saved["path"]))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    mutant_line = next(line for line in lines if line.startswith(f"mutant '{MUTANT}' breaker:"))
    reference_line = next(line for line in lines if line.startswith("reference breaker:"))
    assert "reproduces: step 2 violates S1, following every step of the trace" in mutant_line
    assert "does not reproduce: S1 holds on all 2 steps" in reference_line
    assert "counterexample to S1 (step)" in out.stdout


def test_replay_json_reports_each_breaker(saved: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """--replay with --json says, per breaker, whether it reproduces the violation and at which step."""
    assert main(["prove", "--replay", str(saved["path"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_breaker = {r["breaker"]: r for r in data["replays"]}
    assert by_breaker[f"mutant '{MUTANT}'"]["reproduces"] is True
    assert by_breaker[f"mutant '{MUTANT}'"]["violated_step"] == 2
    assert by_breaker["reference"]["reproduces"] is False and by_breaker["reference"]["matches"] is False
    assert data["ok"] is True


def test_a_trace_object_round_trips_losslessly() -> None:
    """trace_from_json(trace_to_json(trace)) gives back the same trace and the mutant's name."""
    mutant = MUTANTS[MUTANT]
    trace = find_trace(mutant.table, "S1", "step", max_depth=4)
    assert trace is not None
    again, found_on = trace_from_json(json.loads(json.dumps(trace_to_json(trace, MUTANT))))
    assert again == trace and found_on == MUTANT


def test_an_outcome_step_names_the_permit_its_acquire_took() -> None:
    """In a z3 counterexample an outcome's argument is the permit an earlier acquire was given."""
    trace = find_trace(MUTANTS["trip_one_late"].table, "S4", "step", max_depth=3)
    assert trace is not None
    steps = trace_to_json(trace, "trip_one_late")["steps"]
    assert [s["event"] for s in steps] == ["acquire", "record_failure"]
    assert steps[1]["arguments"] == steps[0]["arguments"] and list(steps[1]["arguments"]) == ["permit"]


def test_replay_judges_the_breakers_own_states(saved: dict[str, Any], tmp_path: pathlib.Path) -> None:
    """The verdict comes from the property evaluated on the breaker's steps, not from the file's
    claims: with the file's last state edited, the mutant still reproduces (on its own run) and
    the reference still does not."""
    trace = _trace(saved)
    trace["steps"][-1]["after"]["probes_admitted"] = 7
    edited, _ = trace_from_json(trace)
    on_mutant = replay_trace(edited, MUTANTS[MUTANT].table)
    assert not on_mutant.matches and on_mutant.reproduces and on_mutant.violated_step == 2
    assert not replay_trace(edited).reproduces


def _write(tmp_path: pathlib.Path, content: str) -> str:
    path = tmp_path / "cx.json"
    path.write_text(content)
    return str(path)


def test_bad_replay_files_are_one_line_errors(
    saved: dict[str, Any], tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file, a folder, text that is not JSON, JSON without a counterexample, a step
    whose time runs back and an unknown event each exit 2 with one line naming the problem."""
    trace = _trace(saved)
    back = json.loads(json.dumps(trace))
    back["steps"][1]["time"] = 0.5
    unknown = json.loads(json.dumps(trace))
    unknown["steps"][0]["event"] = "explode"
    cases = {
        str(tmp_path / "missing.json"): "'FILE' must be an existing regular file (got 'missing')",
        str(tmp_path): "'FILE' must be an existing regular file (got 'a directory')",
        _write(tmp_path, "{not json"): "'FILE' must be JSON",
        _write(tmp_path, '{"verdicts": [], "ok": true}'): "'verdicts' must be a list with a z3 counterexample",
        _write(tmp_path, json.dumps(back)): "'steps[1].time' must be at least the previous step's time 1 (got 0.5)",
        _write(tmp_path, json.dumps(unknown)): "'steps[0].event' must be one of acquire, record_success",
    }
    for path, message in cases.items():
        assert main(["prove", "--replay", path]) == 2, message
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_replay_refuses_proof_options(saved: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """--replay with --layer is a one-line error (exit 2): a replay runs no proof layer."""
    assert main(["prove", "--replay", str(saved["path"]), "--layer", "z3"]) == 2
    assert "'--replay' must be used without --layer" in capsys.readouterr().err

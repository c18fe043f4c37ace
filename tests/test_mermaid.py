"""The Mermaid diagrams, read by Mermaid's own parser: every diagram the CLI and the notebook
print parses, and Mermaid reads exactly the machine's transitions and a note for every state.

The parser runs in Node.js (``tests/js/mermaid/check.mjs``, with the Mermaid versions pinned in
its ``package.json`` and lock), once for all the diagrams of this module. The README's test
command installs it (``npm ci --prefix tests/js/mermaid``); this module runs ``npm ci`` itself
if ``node_modules`` is absent.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
from typing import Any

import jupytext
import pytest

from breakerlab.model import Breaker, BreakerConfig, ManualClock, State
from breakerlab.model.diagram import INTERNAL_MARKER, mermaid
from breakerlab.model.machine import RowGuard
from breakerlab.model.presets import PRESETS
from breakerlab.model.table import TABLE

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECKER = ROOT / "tests" / "js" / "mermaid"
NOTEBOOK = ROOT / "notebooks" / "01_model_tour.py"

#: The text the diagram printed before the fix: Mermaid ends a note at its second ``:``.
OLD_NOTE = "stateDiagram-v2\n    [*] --> forced_open\n    note right of forced_open: manual: rejects everything\n"
#: Also from before the fix: this one parses, but the ``;`` ends the note, and Mermaid reads the
#: rest of the line as five more states.
OLD_SEMICOLON_NOTE = (
    "stateDiagram-v2\n    [*] --> closed\n    note right of closed: admits every call; outcomes feed the trip rule\n"
)
NOTE_LINE = re.compile(r"^    note right of (\S+): (.*)$", re.MULTILINE)
Arrow = tuple[str, str, str]


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "breakerlab.cli", "diagram", *args], stdout=subprocess.PIPE, text=True
    )


def _preset_options(name: str) -> list[str]:
    """``--set`` arguments that reproduce a preset (bools as ``true``/``false``)."""
    return [
        f"--set={key}={str(value).lower() if isinstance(value, bool) else value}"
        for key, value in PRESETS[name].options.items()
    ]


#: Diagrams drawn by the library: (name, config, internal). With the command lines below they
#: draw every row of the table (a test checks it: add one here if a new row is never drawn).
LIBRARY_DIAGRAMS = [
    ("preset pybreaker", BreakerConfig.preset("pybreaker"), False),
    ("preset resilience4j --internal", BreakerConfig.preset("resilience4j"), True),
    ("trip_rule=time_window --internal", BreakerConfig(trip_rule="time_window"), True),
]
#: The command lines run: (name, arguments after ``breakerlab diagram``, config, internal).
EAGER = [
    "--set",
    "late_result=admitting_state",
    "--set",
    "half_open_entry=at_deadline",
    "--set",
    "half_open_max_wait=5",
]
CLI_DIAGRAMS = [
    ("breakerlab diagram", [], BreakerConfig(), False),
    ("breakerlab diagram --internal", ["--internal"], BreakerConfig(), True),
    (
        "breakerlab diagram --internal --set (preset circuitbreaker)",
        ["--internal", *_preset_options("circuitbreaker")],
        BreakerConfig.preset("circuitbreaker"),
        True,
    ),
    (
        "breakerlab diagram --internal --set (late results, eager half-open, max wait)",
        ["--internal", *EAGER],
        BreakerConfig(late_result="admitting_state", half_open_entry="at_deadline", half_open_max_wait=5.0),
        True,
    ),
]


def _notebook_diagram() -> str:
    """The diagram notebook 01 shows: its code cells run up to the one that displays it."""
    cells = [cell.source for cell in jupytext.read(NOTEBOOK).cells if cell.cell_type == "code"]
    at = next(i for i, source in enumerate(cells) if "```mermaid" in source)
    namespace: dict[str, Any] = {}
    for source in cells[:at]:
        exec(compile(source, str(NOTEBOOK), "exec"), namespace)  # the notebook's own code
    shown: list[Any] = []
    namespace["display"] = shown.append
    exec(compile(cells[at], str(NOTEBOOK), "exec"), namespace)
    (markdown,) = shown
    fenced = re.fullmatch(r"```mermaid\n(.*)\n```", markdown.data, re.DOTALL)
    assert fenced, f"the notebook shows no ```mermaid block: {markdown.data!r}"
    return fenced.group(1)


def machine_arrows(config: BreakerConfig | None, *, internal: bool) -> set[Arrow]:
    """What the diagram must show: the start marker and each of the machine's transitions (the
    rows that do not change state as marked self-loops, with ``internal``)."""
    breaker = Breaker(config, clock=ManualClock())
    arrows = {("[*]", breaker.state.value, "")}
    for trigger, event in breaker.machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                (row,) = [c.func.row for c in transition.conditions if isinstance(c.func, RowGuard)]
                if transition.dest is not None:
                    arrows.add((State[source].value, State[transition.dest].value, f"{trigger}: {row.cause}"))
                elif internal:
                    arrows.add((State[source].value, State[source].value, f"{INTERNAL_MARKER}{trigger}: {row.cause}"))
    return arrows


def _ensure_installed() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed: install them (the README's test command does)"
    if not (CHECKER / "node_modules" / ".package-lock.json").is_file():  # npm writes it when an install ends
        subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=CHECKER, check=True, timeout=600)
    return node


@pytest.fixture(scope="module")
def checked() -> dict[str, Any]:
    """Every diagram of this module through Mermaid's parser in one Node.js run: the diagrams
    (name, text, the arrows it must show) and the checker's exit status, stderr and report."""
    node = _ensure_installed()
    running = [(name, _cli(*args), config, internal) for name, args, config, internal in CLI_DIAGRAMS]
    diagrams: dict[str, tuple[str, set[Arrow] | None]] = {
        name: (mermaid(config, internal=internal), machine_arrows(config, internal=internal))
        for name, config, internal in LIBRARY_DIAGRAMS
    }
    diagrams["notebook 01"] = (_notebook_diagram(), machine_arrows(BreakerConfig(), internal=False))
    diagrams["old note with two colons"] = (OLD_NOTE, None)
    diagrams["old note with a semicolon"] = (OLD_SEMICOLON_NOTE, None)
    for name, process, config, internal in running:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, f"{name} exited with {process.returncode}"
        diagrams[name] = (out, machine_arrows(config, internal=internal))
    # Two diagrams may be the same text: each text is sent once, under its first name.
    first = {}
    for name, (text, _) in diagrams.items():
        first.setdefault(text, name)
    payload = json.dumps([{"name": name, "text": text} for text, name in first.items()])
    run = subprocess.run([node, str(CHECKER / "check.mjs")], input=payload, capture_output=True, text=True, timeout=120)
    assert run.stdout, f"the checker printed no report (exit {run.returncode}):\n{run.stderr}"
    return {
        "diagrams": diagrams,
        "sent_as": {name: first[text] for name, (text, _) in diagrams.items()},
        "returncode": run.returncode,
        "stderr": run.stderr,
        "report": json.loads(run.stdout),
    }


def _results(checked: dict[str, Any], name: str) -> list[dict[str, Any]]:
    results = [r for r in checked["report"]["results"] if r["name"] == checked["sent_as"][name]]
    assert len(results) == len(checked["report"]["versions"]) >= 2
    return results


def test_the_checker_runs_the_pinned_mermaid_versions(checked: dict[str, Any]) -> None:
    """The checker parses with the Mermaid releases package.json pins (so a stale node_modules is caught)."""
    dependencies = json.loads((CHECKER / "package.json").read_text())["dependencies"]
    pinned = {
        name: spec.rpartition("@")[2]
        for name, spec in dependencies.items()
        if spec.rpartition("@")[2].startswith(("11.", "12."))
    }
    assert checked["report"]["versions"] == pinned, "node_modules is stale: run npm ci --prefix tests/js/mermaid"
    assert {version.split(".")[0] for version in pinned.values()} == {"11", "12"}


def test_the_checker_rejects_the_old_note_and_sees_what_the_semicolon_did(checked: dict[str, Any]) -> None:
    """Mermaid rejects the old two-colon note (exit 1, named on stderr), and reads the old semicolon
    note as a cut note plus stray states: the checks below can fail."""
    assert checked["returncode"] == 1
    rejected = {line.split(": mermaid ")[0] for line in checked["stderr"].splitlines()}
    assert rejected == {"check.mjs: old note with two colons"}, checked["stderr"]
    assert not any(r["ok"] for r in _results(checked, "old note with two colons"))
    for result in _results(checked, "old note with a semicolon"):
        assert result["notes"] == {"closed": "admits every call"}
        assert set(result["states"]) > {"closed", "outcomes", "feed"}


def test_every_diagram_parses_and_mermaid_reads_the_machine(checked: dict[str, Any]) -> None:
    """Each diagram (the CLI's, with and without --internal and with --set options and presets,
    the library's, the notebook's) parses in every pinned Mermaid version, and Mermaid reads
    exactly the machine's transitions, the five states, and each state's note in full."""
    for name, (text, arrows) in checked["diagrams"].items():
        if arrows is None:
            continue
        notes = dict(NOTE_LINE.findall(text))
        assert sorted(notes) == sorted(state.value for state in State), f"{name}: a note per state"
        for result in _results(checked, name):
            where = f"{name}, mermaid {result['mermaid']}"
            assert result["ok"], f"{where}: {result.get('error')}"
            assert result["type"] == "stateDiagram"
            transitions = [tuple(t) for t in result["transitions"]]
            assert len(transitions) == len(set(transitions)), f"{where}: an arrow drawn twice"
            assert set(transitions) == arrows, (
                f"{where}: missing {arrows - set(transitions)}, extra {set(transitions) - arrows}"
            )
            assert sorted(result["states"]) == sorted(state.value for state in State), where
            assert result["notes"] == notes, where


def test_the_checked_diagrams_hold_every_line_the_table_can_draw(checked: dict[str, Any]) -> None:
    """Every arrow any configuration can draw (each row of the table, as a state change or as an
    internal self-loop) is in a diagram Mermaid accepted, so every configuration's diagram parses."""
    possible = {
        (
            row.source.value,
            (row.dest or row.source).value,
            f"{'' if row.dest else INTERNAL_MARKER}{row.trigger}: {row.cause}",
        )
        for row in TABLE.rows
    }
    accepted: set[Arrow] = set()
    for name, (_, arrows) in checked["diagrams"].items():
        if arrows is not None and all(r["ok"] for r in _results(checked, name)):
            accepted |= arrows
    assert possible <= accepted, f"never checked: {sorted(possible - accepted)}"

"""The breakerlab command line: demo, diagram, help and error handling."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from breakerlab.cli import main
from breakerlab.cli.demo import run_demo
from breakerlab.model.diagram import mermaid
from breakerlab.model.options import parse_assignments

EXPECTED = pathlib.Path(__file__).parent / "data" / "demo_expected.txt"


def test_demo_output_matches_the_saved_transcript(capsys: pytest.CaptureFixture[str]) -> None:
    """`breakerlab demo` prints exactly the saved transcript of the article's scenario."""
    assert main(["demo"]) == 0
    assert capsys.readouterr().out == EXPECTED.read_text()


def test_demo_follows_the_article() -> None:
    """The 5th consecutive failure trips, the next calls are rejected, a failed probe re-opens
    with a fresh 60 s, and a successful probe closes."""
    lines: list[str] = []
    breaker = run_demo(write=lines.append)
    text = "\n".join(lines)
    assert "6.0s   ** state change: closed -> open (trip" in text
    assert "7.0s   call 6 (down)            rejected" in text
    assert "66.0s   ** state change: half_open -> open (probe_failed" in text
    assert "CircuitOpenError (60.0 s until a probe)" in text
    assert "126.0s   ** state change: half_open -> closed (probes_succeeded" in text
    assert breaker.stats.rejections == 3


def test_console_script_runs_the_demo() -> None:
    """The installed `breakerlab` console script exists and runs the demo."""
    exe = pathlib.Path(sys.executable).parent / "breakerlab"
    out = subprocess.run([str(exe), "demo", "--fail-max", "2"], capture_output=True, text=True, check=True)
    assert "fail_max=2" in out.stdout


def test_diagram_is_drawn_from_the_machine(capsys: pytest.CaptureFixture[str]) -> None:
    """The Mermaid diagram shows the article's transitions, and option-dependent rows only when enabled."""
    assert main(["diagram"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("stateDiagram-v2")
    for arrow in (
        "closed --> open: record_failure: trip",
        "open --> half_open: acquire: deadline_reached",
        "half_open --> open: record_failure: probe_failed",
        "half_open --> closed: record_success: probes_succeeded",
    ):
        assert arrow in text
    assert "late_probe_success" not in text
    late = mermaid(parse_assignments(["late_result=admitting_state"]))
    assert "open --> closed: record_success: late_probe_success" in late
    assert "open --> open: record_failure: late_failure_reopens" in late
    eager = mermaid(parse_assignments(["half_open_entry=at_deadline", "half_open_max_wait=5"]))
    assert "open --> half_open: poll: deadline_reached" in eager
    assert "half_open --> open: poll: half_open_timeout" in eager


def test_bad_option_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown or invalid option exits with status 2 and names the field, rule and value."""
    assert main(["diagram", "--set", "fail_maks=3"]) == 2
    err = capsys.readouterr().err
    assert "'fail_maks' must be a BreakerConfig option" in err and "fail_max" in err
    assert main(["demo", "--fail-max", "0"]) == 2
    assert "'fail_max' must be an int >= 1 (got 0)" in capsys.readouterr().err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """`breakerlab --help` lists every registered command."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "diagram" in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """Running with no command prints the help and exits 2."""
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out

"""Every command of the CLI, given bad input, exits 2 with one line that names what is wrong and
no traceback (the deeper tables are tests/test_hostile_cli.py for simulate and sweep and
tests/test_hostile_replay.py for replay; this one covers every command, including those)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from breakerlab.cli import main

# (command line, a substring the error must contain); ``{tmp}`` is a scratch folder holding
# ``binary`` (bytes that are not text), ``truncated.json``, and ``fake-sweep/`` (a garbled sweep.json).
CASES: list[tuple[str, str]] = [
    ("diagram --set fail_max=abc", "'fail_max' must be an int"),
    ("diagram --set nonsense", "'--set' must be OPTION=VALUE"),
    ("diagram --set trip_rule=nonsense", "'trip_rule' must be one of"),
    ("diagram --set reset_timeout=1e400", "'reset_timeout' must be a finite number"),
    ("diagram --set failure_exceptions=this.X", "not imported"),
    ("demo --fail-max 0", "'fail_max' must be an int >= 1"),
    ("demo --reset-timeout nan", "'reset_timeout' must be a finite number"),
    ("demo --fail-max x", "invalid int value"),
    ("prove --mutant nonsense", "'--mutant' must be one of the seeded mutants"),
    ("prove --layer nonsense", "'--layer' must be one of"),
    ("prove --replay {tmp}/binary", "UTF-8"),
    ("prove --replay {tmp}/truncated.json", "JSON"),
    ("prove --replay {tmp}", "regular file"),
    ("conform pybreaker --examples -3", "'--examples' must be an int >= 1"),
    ("conform nonsense", "invalid choice"),
    ("plot {tmp}/missing", "must be a folder holding a sweep"),
    ("plot {tmp}/fake-sweep", "sweep.json"),
    ("replay {tmp}/binary", "UTF-8"),
    ("replay {tmp}/missing.jsonl", "missing.jsonl"),
    ("replay {tmp}", "regular file"),
    ("simulate --rate -1", "'rate_rps' must be a finite number > 0"),
    ("simulate --horizon nan", "'horizon_s' must be a finite number > 0"),
    ("simulate --instances 0", "'instances' must be an int"),
    ("simulate --trace nonsense", "invalid choice"),
    ("sweep --jobs 0", "'--jobs' must be an int >= 1"),
    ("sweep --max-runs -1", "'--max-runs' must be an int >= 1"),
    ("sweep --config {tmp}/binary", "--config"),
    ("sweep --config {tmp}/missing.toml", "missing.toml"),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "binary").write_bytes(b"garbage\x00\xff\xfe")
    (folder / "truncated.json").write_text('{"a":', encoding="utf-8")
    (folder / "fake-sweep").mkdir()
    (folder / "fake-sweep" / "sweep.json").write_text("not json", encoding="utf-8")
    return folder


def _run_in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``breakerlab ARGV`` in this process: its exit status and everything it printed (an
    exception other than the CLI's own exits escapes, failing the test as a traceback would)."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.mark.parametrize(("command", "expected"), CASES, ids=[c for c, _ in CASES])
def test_every_command_refuses_bad_input_in_one_line(
    scratch: pathlib.Path, command: str, expected: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command exits 2, its message names the problem, and nothing escapes as an exception
    (run in this process, as the installed command runs ``breakerlab.cli.main``)."""
    monkeypatch.chdir(scratch)
    argv = [part.replace("{tmp}", str(scratch)) for part in command.split()]
    status, output = _run_in_process(argv, capsys)
    assert status == 2, output
    assert expected in output, output


@pytest.mark.parametrize("command", [CASES[0][0], "prove --replay {tmp}/binary", "sweep --config {tmp}/binary"])
def test_the_installed_command_prints_no_traceback(scratch: pathlib.Path, command: str) -> None:
    """The same refusals from a real process: exit 2 and no traceback on stderr."""
    argv = [part.replace("{tmp}", str(scratch)) for part in command.split()]
    done = subprocess.run(
        [sys.executable, "-m", "breakerlab.cli", *argv], capture_output=True, text=True, timeout=120, cwd=scratch,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") <= 1, done.stderr

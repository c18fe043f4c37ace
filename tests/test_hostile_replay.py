"""Hostile input to ``breakerlab replay`` and to exception names: one clear line, exit 2, never a
traceback, never an import nobody asked for.

Event logs: a line repeated or lost (``seq``), a permit admitted or settled twice, every field
of the wrong type or out of range, bytes that are not UTF-8, nesting 100,000 deep, and paths
that are not regular files (a directory, a FIFO, ``/dev/zero``) or are too large. Exception
names (``failure_exceptions=this.X``): looked up among builtins and imported modules only.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from breakerlab.cli import main
from breakerlab.model import BreakerConfig, CircuitOpenError, InvalidConfigError, ManualClock, options
from breakerlab.model.options import parse_assignments, parse_value
from breakerlab.runtime import CircuitBreaker, EventLogError, replay_log

ZEN = "Beautiful is better than ugly"

# -- a good log, and ways to spoil it -----------------------------------------------------------


def good_lines() -> list[str]:
    """A scripted run's log (header + 12 events): success, a trip, a rejection, a probe, poll,
    force_open, reset. File line n is ``lines[n - 1]``; admitted permits are 1 to 4."""
    stream = io.StringIO()
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerConfig(fail_max=2, reset_timeout=5), clock=clock, event_log=stream)
    breaker.call(lambda: "ok")  # lines 2-3: permit 1
    clock.advance(1.0)
    for _ in range(2):  # lines 4-7: permits 2 and 3, the second failure trips
        with pytest.raises(OSError):
            breaker.call(_raise_os_error)
    clock.advance(2.0)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "rejected")  # line 8
    clock.advance(3.0)
    breaker.call(lambda: "probe")  # lines 9-10: permit 4
    breaker.poll()  # line 11
    breaker.force_open()  # line 12
    breaker.reset()  # line 13
    breaker.close()
    return stream.getvalue().splitlines()


def _raise_os_error() -> None:
    raise OSError("down")


def write(tmp_path: pathlib.Path, lines: list[str], name: str = "run.jsonl") -> pathlib.Path:
    """``lines`` written as a log file."""
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def changed(lines: list[str], number: int, change: Callable[[dict[str, Any]], object]) -> list[str]:
    """``lines`` with file line ``number`` (1-based) changed by ``change``."""
    record = json.loads(lines[number - 1])
    change(record)
    return [*lines[: number - 1], json.dumps(record), *lines[number:]]


def renumbered(lines: list[str]) -> list[str]:
    """``lines`` with every event's ``seq`` rewritten to 1, 2, 3, ... (a forger's consistent ``seq``)."""
    out = [lines[0]]
    for seq, line in enumerate(lines[1:], start=1):
        record = json.loads(line)
        record["seq"] = seq
        out.append(json.dumps(record))
    return out


def replay_fails(path: pathlib.Path | str, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    """Run `breakerlab replay` on ``path``; assert exit 2 with exactly one line on stderr and
    nothing on stdout; return that line."""
    assert main(["replay", *options, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("breakerlab: error: ")
    return lines[0]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "breakerlab.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def assert_one_clear_line(done: subprocess.CompletedProcess[str]) -> str:
    """A subprocess that failed as a command line should: exit 2, one line, no traceback."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# -- lines repeated, lost or forged --------------------------------------------------------------


def test_a_duplicated_acquire_line_is_an_invalid_log_naming_the_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An acquire line written twice repeats its seq: replay exits 2 naming the second copy's line."""
    lines = good_lines()
    path = write(tmp_path, [*lines[:3], lines[3], *lines[3:]])  # line 4 (acquire of permit 2) twice
    error = replay_fails(path, capsys)
    assert f"{path}, line 5: 'seq' must be 4, one more than the previous event's (got 3)" in error
    assert "repeated" in error


def test_a_duplicated_acquire_with_renumbered_seq_admits_its_permit_twice(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even with seq made consecutive, a second acquire of permit 2 is refused: each permit id is admitted once."""
    lines = good_lines()
    path = write(tmp_path, renumbered([*lines[:3], lines[3], *lines[3:]]))
    error = replay_fails(path, capsys)
    assert "line 5: 'permit' must be 3, the next permit id (got 2); permit 2 was already admitted" in error


def test_an_outcome_settling_its_permit_twice_is_invalid(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record_success line repeated (seq renumbered) settles permit 1 twice: exit 2 naming the line."""
    lines = good_lines()
    path = write(tmp_path, renumbered([*lines[:3], lines[2], *lines[3:]]))
    error = replay_fails(path, capsys)
    assert "line 4: record_success of permit 1, which was already settled" in error


def test_a_lost_line_is_a_gap_in_seq(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log missing a line (seq 5 to 6 gone) is invalid, naming the line after the gap and the missing seq."""
    lines = good_lines()
    path = write(tmp_path, [*lines[:5], *lines[7:]])
    error = replay_fails(path, capsys)
    assert "line 6: 'seq' must be 5, one more than the previous event's (got 7); seq 5 to 6 is missing" in error


def test_a_skipped_permit_id_is_invalid(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An acquire admitting permit 5 where permit 4 is next is refused, naming the id that was skipped."""
    lines = changed(changed(good_lines(), 9, lambda r: r.update(permit=5)), 10, lambda r: r.update(permit=5))
    error = replay_fails(write(tmp_path, lines), capsys)
    assert "line 9: 'permit' must be 4, the next permit id (got 5); no acquire admitted permit 4" in error


def test_an_outcome_with_another_generation_than_its_acquire_is_invalid(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A settle whose permit_generation differs from the one its acquire logged is refused, naming the acquire's line."""
    lines = changed(good_lines(), 3, lambda r: r.update(permit_generation=7))
    error = replay_fails(write(tmp_path, lines), capsys)
    assert "line 3: 'permit_generation' must be 0, as the acquire of permit 1 at line 2 logged (got 7)" in error


def test_a_forged_source_state_or_generation_disagrees_with_the_model(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The logged source state and event generation are compared with the model: a forged one exits 1."""
    path = write(tmp_path, changed(good_lines(), 8, lambda r: r.update(source="half_open")))
    assert main(["replay", str(path)]) == 1
    assert "source state: logged 'half_open', model 'open'" in capsys.readouterr().out
    path = write(tmp_path, changed(good_lines(), 8, lambda r: r.update(generation=0)))
    assert main(["replay", str(path)]) == 1
    assert "generation (the event's field): logged 0, model 1" in capsys.readouterr().out


def test_a_field_a_later_writer_adds_is_ignored_but_the_known_ones_are_checked(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event field this version does not know (a later writer's) is ignored; the known fields beside it are still checked."""
    lines = changed(good_lines(), 2, lambda r: r.update(thread="worker-1"))
    assert main(["replay", str(write(tmp_path, lines))]) == 0
    assert "12 events replayed" in capsys.readouterr().out
    path = write(tmp_path, changed(lines, 2, lambda r: r.update(seq="one")))
    assert "line 2: 'seq' must be an int >= 1 (got 'one')" in replay_fails(path, capsys)


# -- every field, of the wrong type or out of range ----------------------------------------------

MISTYPED = [
    # (file line, field, bad value, expected message part)
    (2, "seq", "1", "'seq' must be an int >= 1 (got '1')"),
    (2, "seq", True, "'seq' must be an int >= 1 (got True)"),
    (2, "seq", 0, "'seq' must be an int >= 1 (got 0)"),
    (2, "t", "soon", "'t' must be a finite number of seconds >= 0 (got 'soon')"),
    (2, "t", None, "'t' must be a finite number of seconds >= 0 (got None)"),
    (2, "t", float("nan"), "'t' must be a finite number of seconds >= 0 (got nan)"),
    (2, "t", float("inf"), "'t' must be a finite number of seconds >= 0 (got inf)"),
    (2, "t", -1.0, "'t' must be a finite number of seconds >= 0 (got -1.0)"),
    (2, "event", ["acquire"], "'event' must be one of acquire, record_success"),
    (2, "permit", "first", "'permit' must be a permit id (an int >= 1) or null (got 'first')"),
    (2, "permit", 0, "'permit' must be a permit id (an int >= 1) or null (got 0)"),
    (2, "permit_generation", -1, "'permit_generation' must be an int >= 0 or null (got -1)"),
    (2, "permit_state", "ajar", "'permit_state' must be one of closed, open, half_open"),
    (2, "verdict", "maybe", "'verdict' must be one of admit, admit_probe, reject or null (got 'maybe')"),
    (2, "source", None, "'source' must be one of closed, open, half_open"),
    (2, "dest", 3, "'dest' must be one of closed, open, half_open"),
    (2, "generation", 1.5, "'generation' must be an int >= 0 (got 1.5)"),
    (2, "cause", 7, "'cause' must be a string or null (got 7)"),
    (2, "counters", [1, 2], "'counters' must be an object mapping counter names to numbers (got [1, 2])"),
    (8, "remaining_s", -3.0, "'remaining_s' must be a number of seconds >= 0 (Infinity when forced open) (got -3.0)"),
    (2, "verdict", None, "'verdict' must be one of admit, admit_probe, reject for an acquire (got None)"),
    (3, "verdict", "admit", "'verdict' must be null for record_success (only an acquire has a verdict) (got 'admit')"),
    (8, "permit", 9, "'permit' must be null for a rejected acquire (got 9)"),
    (3, "permit", None, "'permit' must be the id of the permit record_success settles (got None)"),
    (11, "permit", 1, "'permit' must be null for poll (got 1)"),
]


@pytest.mark.parametrize(
    ("number", "field", "value", "expected"), MISTYPED, ids=[f"{f}={v!r}@{n}" for n, f, v, _ in MISTYPED]
)
def test_every_event_field_of_the_wrong_type_or_range_is_named(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], number: int, field: str, value: object, expected: str
) -> None:
    """A field of the wrong type or out of range exits 2 with one line naming the file, the line, the field and the rule."""
    path = write(tmp_path, changed(good_lines(), number, lambda r: r.update({field: value})))
    error = replay_fails(path, capsys)
    assert f"{path}, line {number}: {expected}" in error


@pytest.mark.parametrize(
    ("counter", "value", "rule"),
    [
        ("consecutive_failures", "1", "an int >= 0"),
        ("generation", None, "an int >= 0"),
        ("probes_admitted", False, "an int >= 0"),
        ("probes_inflight", 0.5, "an int >= 0"),
        ("opened_at", None, "a number >= 0 (Infinity allowed)"),
        ("open_until", "later", "a number >= 0 (Infinity allowed)"),
        ("next_open_duration", float("nan"), "a number >= 0 (Infinity allowed)"),
        ("half_open_since", -2.0, "a number >= 0 (Infinity allowed)"),
    ],
)
def test_a_counter_that_is_a_string_null_or_out_of_range_is_named(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], counter: str, value: object, rule: str
) -> None:
    """A counter of the wrong type (a string, null, a bool, a fraction of a count, NaN) exits 2 naming it, not a ValueError."""
    path = write(tmp_path, changed(good_lines(), 4, lambda r: r["counters"].update({counter: value})))
    error = replay_fails(path, capsys)
    assert f"line 4: 'counters.{counter}' must be {rule} (got {value!r})" in error


def test_a_missing_seq_is_named(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An event line without its seq is refused, saying what seq is."""
    path = write(tmp_path, changed(good_lines(), 2, lambda r: r.pop("seq")))
    assert "line 2: 'seq' is missing" in replay_fails(path, capsys)


def test_a_huge_value_is_shown_shortened(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A megabyte-long wrong value is shown cut short, so the error stays one readable line."""
    path = write(tmp_path, changed(good_lines(), 2, lambda r: r.update(dest="x" * 500_000)))
    error = replay_fails(path, capsys)
    assert "'dest' must be one of" in error and "(500002 characters)" in error
    assert len(error) < 300


# -- bytes that are not an event log -------------------------------------------------------------


def test_binary_garbage_names_the_line_and_the_byte(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes that are not UTF-8 exit 2 naming the line, the byte and its column, not a UnicodeDecodeError."""
    lines = good_lines()
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(("\n".join(lines[:2]) + "\n").encode() + b'{"seq": \xff\xfe\x00\x81 garbage}\n')
    error = replay_fails(path, capsys)
    assert f"{path}, line 3: not UTF-8 text (byte 0xff at column 9)" in error


def test_nesting_100000_deep_is_refused_without_a_recursion_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line nested 100,000 deep exits 2 naming the line, not a RecursionError."""
    lines = good_lines()
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        path = write(tmp_path, [*lines[:2], deep])
        assert "line 3: nested too deeply" in replay_fails(path, capsys)


def test_a_number_too_long_to_convert_is_refused(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An integer of 5000 digits (more than Python converts) exits 2 naming the line, not a ValueError."""
    lines = good_lines()
    path = write(tmp_path, [*lines[:2], '{"seq": ' + "9" * 5000 + ', "t": 0, "event": "poll"}'])
    assert "line 3: not JSON (Exceeds the limit (4300 digits)" in replay_fails(path, capsys)


def test_a_line_cut_short_by_a_crash_says_so(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A last line without its newline that is not JSON (the writer stopped mid-line) is named as cut short."""
    lines = good_lines()
    path = tmp_path / "crashed.jsonl"
    path.write_text("\n".join(lines[:4]) + "\n" + lines[4][:40], encoding="utf-8")
    error = replay_fails(path, capsys)
    assert "line 5: not JSON (" in error and "the line is cut short" in error


def test_an_overlong_line_is_refused_without_reading_it_all(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line over 1 MiB (no newline in sight) exits 2 naming the line and the limit."""
    path = tmp_path / "long.jsonl"
    path.write_text(good_lines()[0] + "\n" + "x" * (2 << 20), encoding="utf-8")
    assert "line 2: the line is longer than 1048576 bytes" in replay_fails(path, capsys)


def test_a_log_over_the_size_limit_is_refused_before_reading(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file larger than --max-bytes exits 2 saying its size, the limit and how to raise it; a large enough limit replays."""
    path = write(tmp_path, good_lines())
    size = path.stat().st_size
    error = replay_fails(path, capsys, "--max-bytes", "100")
    assert f"{path}: the log is {size} bytes, over the limit of 100 bytes" in error and "--max-bytes" in error
    assert main(["replay", "--max-bytes", str(size), str(path)]) == 0
    assert "12 events replayed" in capsys.readouterr().out


def test_a_stream_is_cut_at_the_size_limit() -> None:
    """A stream (no size to check up front) is read up to max_bytes; the error names the line where it passed the limit."""
    text = "".join(line + "\n" for line in good_lines())
    limit = len(text) - 10
    with pytest.raises(EventLogError) as caught:
        replay_log(io.StringIO(text), max_bytes=limit)
    assert caught.value.line == 13
    assert f"the log goes on past the limit of {limit} bytes" in str(caught.value)
    assert replay_log(io.StringIO(text), max_bytes=len(text)).ok


def test_errors_carry_the_file_the_line_and_the_problem(tmp_path: pathlib.Path) -> None:
    """EventLogError exposes where (source, line) and what (problem) separately, and str() joins them."""
    path = write(tmp_path, changed(good_lines(), 5, lambda r: r.update(seq="x")))
    with pytest.raises(EventLogError) as caught:
        replay_log(path)
    error = caught.value
    assert (error.source, error.line) == (str(path), 5)
    assert error.problem == "'seq' must be an int >= 1 (got 'x')"
    assert str(error) == f"{path}, line 5: {error.problem}"


# -- paths that are not regular files ------------------------------------------------------------


def test_a_directory_is_refused_and_a_missing_file_named(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory given as the log exits 2 saying it is a directory; a missing path exits 2 naming it."""
    assert f"{tmp_path}: is a directory, not a regular file" in replay_fails(tmp_path, capsys)
    missing = tmp_path / "missing.jsonl"
    error = replay_fails(missing, capsys)
    assert f"cannot read the log {str(missing)!r}: No such file or directory" in error


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: pathlib.Path) -> None:
    """A FIFO given as the log exits 2 at once (opening it does not wait for a writer), one line, no traceback."""
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    line = assert_one_clear_line(run_cli("replay", str(fifo), timeout=30))
    assert f"{fifo}: is a FIFO (named pipe), not a regular file" in line


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_without_reading_it() -> None:
    """/dev/zero (endless bytes) exits 2 at once as a character device, one line, no traceback."""
    line = assert_one_clear_line(run_cli("replay", "/dev/zero", timeout=30))
    assert "/dev/zero: is a character device, not a regular file" in line


def test_hostile_lines_give_one_line_in_a_real_process(tmp_path: pathlib.Path) -> None:
    """The installed command on binary garbage and on deep nesting prints one line and exits 2 (no traceback)."""
    lines = good_lines()
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(lines[0].encode() + b"\n" + bytes(range(128, 256)) * 40)
    assert "line 2: not UTF-8 text" in assert_one_clear_line(run_cli("replay", str(garbage)))
    deep = write(tmp_path, [lines[0], "[" * 100_000 + "]" * 100_000], name="deep.jsonl")
    assert "line 2: nested too deeply" in assert_one_clear_line(run_cli("replay", str(deep)))


def test_max_bytes_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    """--max-bytes 0 is a usage error naming the option and the value."""
    with pytest.raises(SystemExit) as caught:
        main(["replay", "--max-bytes", "0", "run.jsonl"])
    assert caught.value.code == 2
    assert "'--max-bytes' must be an int >= 1 (got '0')" in capsys.readouterr().err


# -- exception names: looked up, never imported --------------------------------------------------


class Outer:
    """A class holding a nested exception class, named by its qualified name."""

    class NestedError(Exception):
        """An exception class nested in another class."""


@pytest.mark.parametrize(
    ("command", "ran"),
    [
        (["diagram", "--set", "failure_exceptions=this.X"], "diagram"),
        (["simulate", "--trace", "hard_down", "--excluded-exceptions", "ValueError,this.X"], "simulate"),
    ],
    ids=["diagram-set", "simulate-option"],
)
def test_this_dot_x_is_refused_without_importing_this(command: list[str], ran: str) -> None:
    """`this.X` on a command line is refused with a clear line saying 'this' is not imported; the Zen is not printed."""
    done = run_cli(*command)
    line = assert_one_clear_line(done)
    assert ZEN not in done.stdout + done.stderr
    assert "module 'this' is not imported" in line and "never imported on demand" in line
    assert "import this in your program before building the config" in line


def test_a_sweep_file_naming_this_dot_x_is_refused_without_importing_this(tmp_path: pathlib.Path) -> None:
    """A sweep file's breaker.failure_exceptions = "this.X" fails before anything runs, without importing this."""
    path = tmp_path / "sweep.toml"
    path.write_text(
        'name = "hostile"\nreplications = 1\nseed = 1\nhorizon_s = 10.0\n'
        '[grid]\n"breaker.fail_max" = [1]\n'
        '[base]\n"breaker.failure_exceptions" = "this.X"\n'
        '[[traces]]\nfamily = "hard_down"\nstart_s = 1.0\nduration_s = 5.0\n'
    )
    done = run_cli("sweep", "--config", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    line, *notes = done.stderr.splitlines()
    assert all(note.startswith("  in cell ") for note in notes)  # where in the sweep, as every sweep error says
    assert ZEN not in done.stdout + done.stderr
    assert "'failure_exceptions' must be" in line and "module 'this' is not imported" in line
    assert not (tmp_path / "out").exists()


def test_an_installed_module_not_yet_imported_is_not_imported() -> None:
    """ftplib (stdlib, not imported by the CLI) is refused by name, and after the refusal it is still not imported."""
    program = (
        "import sys\n"
        "from breakerlab.cli import main\n"
        "assert 'ftplib' not in sys.modules\n"
        "code = main(['diagram', '--set', 'excluded_exceptions=ftplib.Error'])\n"
        "print('imported' if 'ftplib' in sys.modules else 'not imported', code)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "not imported 2", done.stderr
    assert "module 'ftplib' is not imported" in done.stderr


def test_an_uninstalled_module_is_refused_with_the_same_advice() -> None:
    """A module that does not exist is refused as not imported, with how to make it available."""
    with pytest.raises(InvalidConfigError) as caught:
        parse_value("failure_exceptions", "no_such_module_breakerlab.Error")
    assert caught.value.field == "failure_exceptions"
    message = str(caught.value)
    assert "(got 'no_such_module_breakerlab.Error')" in message
    assert "module 'no_such_module_breakerlab' is not imported" in message and "use a builtin exception" in message


def test_a_submodule_not_imported_of_an_imported_package_is_named() -> None:
    """For package.sub.Error with package imported but package.sub not, the message names package.sub."""
    import email  # noqa: F401 (the package is imported; its submodule below is not)

    with pytest.raises(InvalidConfigError, match="module 'email.no_such_submodule' is not imported"):
        parse_value("failure_exceptions", "email.no_such_submodule.Error")


def test_a_module_getattr_is_not_run_to_find_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name is looked up statically: a module's __getattr__ (which could import anything) is never called."""
    calls: list[str] = []
    module = types.ModuleType("breakerlab_lazy_module")

    def lazy(name: str) -> object:
        calls.append(name)
        return ValueError

    module.__getattr__ = lazy  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(ValueError, match="has no attribute 'LazyError'"):
        options.exception_type("breakerlab_lazy_module.LazyError")
    assert calls == []


def test_builtins_and_imported_modules_classes_still_resolve() -> None:
    """Builtin names, builtins.X, a class of an imported module (json after import json) and a nested class all resolve."""
    import json as imported_json

    config = parse_assignments(
        [
            "failure_exceptions=ValueError, builtins.KeyError, json.JSONDecodeError",
            f"excluded_exceptions={__name__}.Outer.NestedError,os.path.os.error",
        ]
    )
    assert config.failure_exceptions == (ValueError, KeyError, imported_json.JSONDecodeError)
    assert config.excluded_exceptions == (Outer.NestedError, OSError)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("json.loads", "json.loads is <function loads"),
        ("int", "int is <class 'int'>, not an exception class"),
        ("json..Error", "'json..Error' is not a dotted name"),
        ("json.NoSuchError", "json has no attribute 'NoSuchError'"),
    ],
)
def test_a_name_that_is_no_exception_class_says_why(text: str, reason: str) -> None:
    """A name that resolves to something else, is malformed or missing is refused with the reason."""
    with pytest.raises(InvalidConfigError) as caught:
        parse_value("excluded_exceptions", text)
    assert reason in str(caught.value)
    assert f"(got {text!r})" in str(caught.value)

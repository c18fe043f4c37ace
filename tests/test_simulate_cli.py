"""`breakerlab simulate`: help that says what each option means, JSON that records the breaker
as it ran, and `--plot` paths that end where the message says."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from breakerlab.cli import main
from breakerlab.model.config import ENUM_OPTIONS, BreakerConfig
from breakerlab.model.option_summaries import OPTION_SUMMARIES, SECONDS_OPTIONS
from breakerlab.model.options import config_fields
from breakerlab.runtime.eventlog import config_to_json
from breakerlab.sim.option_help import breaker_option_help

#: reST markup a terminal would show literally: double backticks and roles such as :class:`X`.
MARKUP = re.compile(r"``|:[a-z]+(?::[a-z]+)*:`")
#: An option's entry in argparse's help: two spaces, the flags (and metavar), then its help.
ENTRY = re.compile(r"^  (?P<flags>-\S.*?)(?:\s{2,}(?P<help>\S.*))?$")
#: "(default 5)", "(default: the built-in sweep)", "; default: never": the default, not the meaning.
DEFAULT = re.compile(r"\(default\b[^)]*\)|;?\s*default:?\s+\w+")
QUICK = ("--trace", "hang", "--rate", "20", "--horizon", "30", "--no-baselines")


def _cli(*args: str, cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
    """``breakerlab ARGS`` run in this process, as the installed command runs ``main`` (one
    interpreter start for the module; ``test_one_real_process_gives_the_same_output`` checks
    that the real command prints the same)."""
    out, err = io.StringIO(), io.StringIO()
    before, columns = os.getcwd(), os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exit_:
                status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(before)
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return subprocess.CompletedProcess(["breakerlab", *args], status, out.getvalue(), err.getvalue())


def test_one_real_process_gives_the_same_output(tmp_path: pathlib.Path) -> None:
    """The installed command, in its own process, prints what the in-process runs above see."""
    env = {**os.environ, "COLUMNS": "100"}
    real = subprocess.run(
        [sys.executable, "-m", "breakerlab.cli", "simulate", *QUICK, "--json"], capture_output=True, text=True,
        timeout=120, env=env, cwd=tmp_path,
    )
    assert real.returncode == 0, real.stderr
    measured, seen = json.loads(real.stdout), json.loads(_cli("simulate", *QUICK, "--json", cwd=tmp_path).stdout)
    del measured["wall_s"], seen["wall_s"]  # how long the run took: the only field that may differ
    assert measured == seen


def _options(help_text: str) -> dict[str, tuple[str, str]]:
    """Each option of a ``--help`` output: its long flag -> (the flags and metavar, its help text)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in help_text.splitlines():
        entry = ENTRY.match(line)
        if entry:
            flags = entry["flags"]
            current = [flags, entry["help"] or ""]
            found[re.findall(r"--[\w-]+", flags)[0]] = current
        elif current is not None and line.startswith("   ") and line.strip():
            current[1] = f"{current[1]} {line.strip()}".strip()
        else:
            current = None
    return {flag: (flags, text) for flag, (flags, text) in found.items()}


@functools.cache
def _help(command: str) -> str:
    out = _cli(command, "--help")
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("command", ["simulate", "sweep"])
def test_every_option_help_says_what_it_means_not_only_its_default(command: str) -> None:
    """Every option in `simulate --help` and `sweep --help` has at least three words of meaning
    besides its default, and no line shows reST markup."""
    text = _help(command)
    options = _options(text)
    assert len(options) > (60 if command == "simulate" else 8), sorted(options)
    for flag, (_flags, help_text) in options.items():
        meaning = re.findall(r"[A-Za-z][\w'/-]*", DEFAULT.sub(" ", help_text))
        assert len([w for w in meaning if w.lower() != "default"]) >= 3, f"{command} {flag}: {help_text!r}"
    assert not MARKUP.search(text), [line for line in text.splitlines() if MARKUP.search(line)]


def test_simulate_help_lists_every_breaker_option_with_its_values_and_unit() -> None:
    """Each BreakerConfig option is a `simulate` flag whose help names every value of its enum,
    and an option in seconds (breaker, caller, service or trace) shows SECONDS."""
    options = _options(_help("simulate"))
    assert set(OPTION_SUMMARIES) == set(config_fields())
    for name in config_fields():
        assert "--" + name.replace("_", "-") in options, name
    for name, kind in ENUM_OPTIONS.items():
        help_text = options["--" + name.replace("_", "-")][1]
        for member in kind:
            assert member.value in help_text, (name, member.value, help_text)
    fields = config_fields()
    for name in fields:  # the model's summaries name other options by field; the help shows their flags
        help_text = breaker_option_help(name, getattr(BreakerConfig(), name))
        assert not [other for other in fields if re.search(rf"\b{other}\b", help_text)], (name, help_text)
        for flag in re.findall(r"--[a-z][a-z-]*[a-z]", help_text):
            assert flag.removesuffix("-th") in options, (name, flag, help_text)
    timed = {"--" + name.replace("_", "-") for name in SECONDS_OPTIONS} | {
        "--horizon", "--bin", "--recovery-window", "--timeout", "--shared-propagation", "--retry-backoff",
        "--retry-backoff-cap", "--latency", "--error-latency", "--crash-after", "--restart", "--warmup",
    } | {flag for flag in options if flag.endswith("-s")}
    for flag in sorted(timed):
        assert "SECONDS" in options[flag][0], (flag, options[flag])


def _json(*args: str) -> dict[str, object]:
    out = _cli("simulate", *QUICK, "--json", *args)
    assert out.returncode == 0, out.stderr
    document: dict[str, object] = json.loads(out.stdout)
    return document


@pytest.mark.parametrize(
    ("args", "label", "config", "serialized"),
    [
        (("--preset", "pybreaker"), "simulate --trace hang --preset pybreaker",
         BreakerConfig.preset("pybreaker"), True),
        (("--preset", "pybreaker", "--reset-timeout", "10", "--fail-max", "3"),
         "simulate --trace hang --preset pybreaker + fail_max=3, reset_timeout=10.0",
         BreakerConfig.preset("pybreaker").replace(fail_max=3, reset_timeout=10.0), True),
        (("--fail-max", "2", "--failure-exceptions", "OSError", "--serialize-calls"),
         "simulate --trace hang + fail_max=2, failure_exceptions=OSError, serialize_calls=true",
         BreakerConfig(fail_max=2, failure_exceptions=(OSError,)), True),
        ((), "simulate --trace hang", BreakerConfig(), False),
    ],
)
def test_json_records_the_breaker_as_it_ran_and_the_label_names_the_overrides(
    args: tuple[str, ...], label: str, config: BreakerConfig, serialized: bool
) -> None:
    """`--json` has every BreakerConfig field as the run used it (the preset with the explicit
    options over it) and whether calls were serialised, and `scenario` names each override."""
    document = _json(*args)
    assert document["scenario"] == label
    assert document["breaker_config"] == config_to_json(config)
    assert set(document["breaker_config"]) == {field.name for field in dataclasses.fields(BreakerConfig)}
    assert document["serialize_calls"] is serialized


def test_plot_into_an_existing_folder_writes_a_named_file_inside_it(tmp_path: pathlib.Path) -> None:
    """`--plot DIR` for an existing folder writes DIR/timeline-TRACE-seedN.png (nothing beside
    the folder) and reports that path, in the table's message and in the JSON."""
    folder = tmp_path / "plots"
    folder.mkdir()
    out = _cli("simulate", *QUICK, "--seed", "3", "--plot", str(folder))
    assert out.returncode == 0, out.stderr
    target = folder / "timeline-hang-seed3.png"
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert out.stdout.splitlines()[-1] == f"timeline written to {target}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots"]
    document = json.loads(_cli("simulate", *QUICK, "--json", "--plot", str(folder)).stdout)
    assert document["plot"] == str(folder / "timeline-hang-seed0.png")
    assert (folder / "timeline-hang-seed0.png").is_file()


@pytest.mark.parametrize(("name", "written"), [("run.svg", "run.svg"), ("run", "run.png")])
def test_plot_to_a_file_writes_that_file_and_reports_it(tmp_path: pathlib.Path, name: str, written: str) -> None:
    """`--plot FILE` writes FILE in the format its extension names (no extension: .png, added to
    the name) and the message names the file really written."""
    out = _cli("simulate", *QUICK, "--plot", name, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == f"timeline written to {written}"
    assert [p.name for p in tmp_path.iterdir()] == [written]
    head = (tmp_path / written).read_bytes()[:100]
    assert head.startswith(b"\x89PNG") if written.endswith(".png") else b"<svg" in head or b"<?xml" in head


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing/run.png", "'--plot' must be a path in an existing folder (got 'missing/run.png'); the folder "
         "'missing' does not exist"),
        ("missing/", "'--plot' must be an existing folder, or a file name such as timeline.png (got 'missing/')"),
        ("run.txt", "'--plot' must be a file name ending in an image format ("),
        ("notes.md/run.png", "'notes.md' is a regular file, not a folder"),
        ("", "'--plot' must be a file or folder name (got '')"),
    ],
)
def test_a_plot_path_that_cannot_be_written_exits_2_before_simulating(
    tmp_path: pathlib.Path, target: str, message: str
) -> None:
    """A missing folder, a path under a regular file or an unknown image format is one error line
    and exit status 2, before any simulation (no table printed, nothing written)."""
    (tmp_path / "notes.md").write_text("x")
    out = _cli("simulate", *QUICK, "--plot", target, cwd=tmp_path)
    assert out.returncode == 2, out.stdout
    assert message in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr
    assert out.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["notes.md"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that folder permissions bind")
def test_a_read_only_plot_folder_exits_2_before_simulating(tmp_path: pathlib.Path) -> None:
    """`--plot` into a folder the user cannot write in fails at once, naming the path."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = _cli("simulate", *QUICK, "--plot", str(folder / "run.png"))
    finally:
        folder.chmod(0o755)
    assert out.returncode == 2 and "a path in a folder you can write in" in out.stderr, out.stderr
    assert out.stdout == "" and not list(folder.iterdir())

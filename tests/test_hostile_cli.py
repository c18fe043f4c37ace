"""Hostile input to `breakerlab simulate` and `breakerlab sweep`: each bad file, size or option
ends in one clear line and exit status 2, before anything is simulated, never in a traceback."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Callable

import pytest

from breakerlab.sim import budget
from breakerlab.sim.sweeps import spec as sweep_spec
from breakerlab.sim.traces import files as trace_files

README = pathlib.Path(__file__).resolve().parents[1] / "sim" / "README.md"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

#: A sweep that would finish in a moment: what an --out case runs if the folder is not refused.
SMALL_SWEEP = 'name = "small"\nreplications = 1\nhorizon_s = 5\nbaselines = false\n'


def _cli(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "breakerlab.cli", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


# -- the bad inputs: each writes what it needs in the test's folder and returns the arguments --


def _sweep_file(text: str | bytes) -> Callable[[pathlib.Path], list[str]]:
    def make(tmp: pathlib.Path) -> list[str]:
        path = tmp / "sweep.toml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return ["sweep", "--config", str(path), "--out", str(tmp / "out"), "--quiet", "--no-plots"]

    return make


def _special_config(kind: str) -> Callable[[pathlib.Path], list[str]]:
    def make(tmp: pathlib.Path) -> list[str]:
        path = tmp / "sweep.toml"
        if kind == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
        return ["sweep", "--config", str(path), "--out", str(tmp / "out"), "--quiet"]

    return make


def _out(where: str) -> Callable[[pathlib.Path], list[str]]:
    def make(tmp: pathlib.Path) -> list[str]:
        config = tmp / "small.toml"
        config.write_text(SMALL_SWEEP, encoding="utf-8")
        (tmp / "a-file").write_text("not a folder\n")
        locked = tmp / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        out = {
            "file": tmp / "a-file", "under-file": tmp / "a-file" / "sweep", "read-only": locked / "sweep",
            "uncreatable": pathlib.Path("/proc/breakerlab-sweep"),
        }[where]
        return ["sweep", "--config", str(config), "--out", str(out), "--quiet", "--no-plots"]

    return make


def _simulate(*args: str) -> Callable[[pathlib.Path], list[str]]:
    return lambda tmp: ["simulate", *args]


def _replay(name: str, write: Callable[[pathlib.Path], None]) -> Callable[[pathlib.Path], list[str]]:
    def make(tmp: pathlib.Path) -> list[str]:
        path = tmp / name
        write(path)
        return ["simulate", "--trace", "replay", "--path", str(path), "--horizon", "10"]

    return make


def _fifo(path: pathlib.Path) -> None:
    os.mkfifo(path)


def _zero(path: pathlib.Path) -> None:
    path.symlink_to("/dev/zero")


def _sparse(size: int) -> Callable[[pathlib.Path], None]:
    def write(path: pathlib.Path) -> None:
        with open(path, "wb") as file:
            file.truncate(size)  # no data written: cheap however large

    return write


def _text(text: str) -> Callable[[pathlib.Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


DEEP = 100_000
GRID_1M = "[grid]\n" + "".join(f'"breaker.{key}" = {list(range(1, 1001))}\n' for key in ("fail_max", "success_threshold"))

CASES = [
    # sweep files
    pytest.param(_sweep_file(bytes(range(128, 256)) * 4), "'--config' must be a UTF-8 text file", id="binary-toml"),
    pytest.param(_sweep_file("x = " + "[" * DEEP + "]" * DEEP + "\n"), "nested too deeply", id="deep-toml"),
    pytest.param(_sweep_file("name = 5\n"), "'name' must be a string", id="name-not-a-string"),
    pytest.param(_sweep_file("[[traces]]\nfamily = 5\n"), "'traces[0].family' must be a string", id="family-not-a-string"),
    pytest.param(
        _sweep_file('[[traces]]\nfamily = "hard_down"\nstart_s = "30"\n'), "'trace.start_s' must be a number, not a string",
        id="trace-number-as-string",
    ),
    pytest.param(_sweep_file("replications = 1" + "0" * 40 + "\n"), "an integer of at most 64 bits", id="int-beyond-64-bits"),
    pytest.param(_sweep_file("seed = " + "1" * 5000 + "\n"), "'--config' must be valid TOML", id="int-of-5000-digits"),
    pytest.param(
        _sweep_file("replications = 1000000000\n"), "'replications' must be small enough for at most 1,000,000 simulations",
        id="replications-1e9",
    ),
    pytest.param(
        _sweep_file("replications = {min = 4, max = 1000000000}\n"), "'replications.max' must be small enough",
        id="adaptive-max-1e9",
    ),
    pytest.param(_sweep_file(GRID_1M), "'grid' must be at most 20,000 cells", id="grid-of-1e6-cells"),
    pytest.param(_special_config("fifo"), "is a FIFO", id="config-is-a-fifo"),
    pytest.param(_special_config("zero"), "is a character device", id="config-is-dev-zero"),
    # sweep output folders
    pytest.param(_out("file"), "it is a regular file, not a folder", id="out-is-a-file"),
    pytest.param(_out("under-file"), "a-file' is a regular file, not a folder", id="out-under-a-file"),
    pytest.param(
        _out("read-only"), "'--out' must be a folder the sweep can write in", id="out-read-only",
        marks=pytest.mark.skipif(AS_ROOT, reason="root writes in a read-only folder (the other --out cases run)"),
    ),
    pytest.param(
        _out("uncreatable"), "'--out' must be a folder the sweep can write in", id="out-not-creatable",
        marks=pytest.mark.skipif(not pathlib.Path("/proc/self").exists(), reason="needs /proc (Linux)"),
    ),
    # run sizes and overflows
    pytest.param(_simulate("--rate", "1e15", "--horizon", "1"), "'attempts per run' must be at most 50,000,000", id="rate-1e15"),
    pytest.param(_simulate("--rate", "1e300"), "'attempts per run' must be at most 50,000,000", id="rate-1e300"),
    pytest.param(
        _simulate("--trace", "flapping", "--down-s", "1e-300", "--up-s", "1e-300"),
        "'trace' must be at most 10,000,000 segments", id="flapping-1e-300",
    ),
    pytest.param(
        _simulate("--trace", "gc_pauses", "--period-s", "1e-300", "--pause-s", "1e-301"),
        "'trace' must be at most 10,000,000 segments", id="gc-pauses-1e-300",
    ),
    pytest.param(
        _simulate("--trace", "slow_recovery", "--steps", "100000000"), "'trace' must be at most 10,000,000 segments",
        id="slow-recovery-1e8-steps",
    ),
    pytest.param(
        _simulate("--trace", "flapping", "--start-s", "1e17", "--horizon", "2e17", "--rate", "1e-12", "--bin", "1e12"),
        "made of periods that move time on", id="periods-below-float-resolution",
    ),
    pytest.param(
        _simulate("--retries", "100", "--retry-backoff-multiplier", "1e308"), "'backoff_multiplier' must be small enough",
        id="backoff-overflow",
    ),
    pytest.param(
        _simulate("--start-s", "1e308", "--duration-s", "1e308"), "'duration_s' must be small enough to end",
        id="fault-ends-past-floats",
    ),
    # replayed trace files
    pytest.param(
        _replay("big.json", _text('[{"time_s": 0, "error_rate": 1' + "0" * 400 + "}]")),
        "must be a number a float can hold", id="replay-int-beyond-float",
    ),
    pytest.param(
        _replay("huge.json", _text('[{"time_s": 1' + "0" * 5000 + "}]")), "holds a number that cannot be read",
        id="replay-int-of-5000-digits",
    ),
    pytest.param(
        _replay("deep.json", _text("[" * DEEP + "]" * DEEP)), "is nested too deeply", id="replay-deep-json",
    ),
    pytest.param(_replay("zero.csv", _zero), "is a character device, not a regular file", id="replay-dev-zero"),
    pytest.param(_replay("pipe.csv", _fifo), "is a FIFO (named pipe), not a regular file", id="replay-fifo"),
    pytest.param(
        _replay("huge.csv", _sparse(trace_files.MAX_FILE_BYTES + 1)), "is larger than 67,108,864 bytes",
        id="replay-too-large",
    ),
]


#: Runs each case's arguments through ``breakerlab.cli.main`` in one process (one interpreter
#: start for the whole table), each in its own folder, and prints what each printed and returned;
#: an exception that escapes ``main`` is printed as the traceback the command would show.
_BATCH = """
import contextlib, io, json, os, sys, traceback
from breakerlab.cli import main
results = []
for folder, args in json.load(sys.stdin):
    os.chdir(folder)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(args)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:
            traceback.print_exc()
            status = 1
    results.append({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[pathlib.Path, dict[str, object]]]:
    """Every case run once, in one process: by case id, its folder and what the command did."""
    batch: list[tuple[str, list[str]]] = []
    folders: dict[str, pathlib.Path] = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(str(case.id))
        folders[str(case.id)] = folder
        make = case.values[0]
        assert callable(make)
        batch.append((str(folder), make(folder)))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _BATCH], input=json.dumps(batch), capture_output=True, text=True, timeout=120,
        )
    finally:
        for folder in folders.values():
            for path in folder.rglob("*"):  # let pytest remove the read-only folders
                if path.is_dir() and not path.is_symlink():
                    path.chmod(0o755)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.splitlines()[-1])
    return {name: (folders[name], result) for name, result in zip(folders, results)}


@pytest.mark.parametrize(("make", "message"), CASES)
def test_hostile_input_exits_2_with_one_clear_line(
    outcomes: dict[str, tuple[pathlib.Path, dict[str, object]]], request: pytest.FixtureRequest,
    make: Callable[[pathlib.Path], list[str]], message: str,
) -> None:
    """Each bad input exits with status 2 and one line naming what is wrong, with no traceback
    and no run simulated."""
    case = request.node.callspec.id
    folder, out = outcomes[case]
    stderr = str(out["stderr"])
    assert out["status"] == 2, (out["stdout"], stderr)
    assert "Traceback" not in stderr, stderr
    assert message in stderr, stderr
    assert stderr.startswith("breakerlab: error: "), stderr
    assert not list(folder.rglob("runs/*.json")), "a run was simulated"


def test_the_installed_command_refuses_a_hostile_file_without_a_traceback(tmp_path: pathlib.Path) -> None:
    """The same refusal from the real command, in its own process: exit 2, one line on stderr."""
    config = tmp_path / "deep.toml"
    config.write_text("x = " + "[" * DEEP + "]" * DEEP + "\n")
    out = _cli("sweep", "--config", str(config), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("breakerlab: error: ") and "nested too deeply" in out.stderr, out.stderr


def test_a_large_sweep_prints_its_size_before_it_starts_even_when_quiet(tmp_path: pathlib.Path) -> None:
    """A sweep of more than 1,000 simulations says how many, and how many requests, before it runs."""
    config = tmp_path / "large.toml"
    runs = budget.LARGE_SWEEP_RUNS + 1
    config.write_text(
        f'name = "large"\nreplications = {runs}\nhorizon_s = 0.5\nbaselines = false\n[base]\n"workload.rate_rps" = 2\n'
    )
    out = _cli("sweep", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet", "--no-plots", "--jobs", "1",
               cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert first.startswith(f"sweep 'large': 1 cells x {runs} runs ({runs:,} simulations, about "), first
    assert re.search(r"about [\d,]+ simulated requests\)", first), first


def test_a_rate_schedule_step_after_the_horizon_adds_no_requests() -> None:
    """A schedule entry that starts after the horizon changes no arrival (it used to pile requests at
    the horizon, or, past the largest float, fail)."""
    import numpy as np

    from breakerlab.sim.arrivals import arrival_times
    from breakerlab.sim.scenario import Workload
    from breakerlab.sim.traces.families import Healthy

    trace = Healthy().build(20.0, np.random.default_rng(0))

    def arrivals(*schedule: tuple[float, float]) -> list[float]:
        workload = Workload(rate_rps=100.0, rate_schedule=schedule)
        return arrival_times(workload, trace, 20.0, np.random.default_rng(1)).tolist()

    plain = arrivals()
    assert arrivals((100.0, 5.0)) == plain
    assert arrivals((1e308, 5.0)) == plain
    assert arrivals((10.0, 5.0)) != plain  # a step inside the horizon still counts


def test_the_readme_quotes_the_limits_the_code_has() -> None:
    """sim/README.md's limits are the constants the checks use."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    for number, words in [
        (budget.MAX_ATTEMPTS_PER_RUN, "attempts per run"),
        (budget.MAX_TRACE_SEGMENTS, "trace segments before the horizon"),
        (budget.MAX_SWEEP_CELLS, "cells"),
        (budget.MAX_SWEEP_RUNS, "simulations"),
        (budget.LARGE_SWEEP_RUNS, "simulations prints its size"),
    ]:
        assert f"{number:,} {words}" in text, (number, words)
    assert f"at most {trace_files.MAX_FILE_BYTES // 2**20} MiB" in text
    assert f"TOML of at most {sweep_spec.MAX_FILE_BYTES // 2**20} MiB" in text

"""Sweeps against what a crash, a kill or a user leaves in the output folder: run files of
another sweep or damaged ones, a damaged sweep.json, torn tables, orphaned workers, and wrong
Dask scheduler addresses."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from breakerlab.model import InvalidConfigError
from breakerlab.sim.sweeps.run import run_sweep
from breakerlab.sim.sweeps.runfile import spec_digest
from breakerlab.sim.sweeps.spec import SweepSpec
from breakerlab.sim.sweeps.store import SweepStore

#: Two settings over one outage, three runs each, and the baselines: 9 short simulations.
TINY = {
    "name": "tiny",
    "replications": 3,
    "seed": 7,
    "horizon_s": 20.0,
    "grid": {"breaker.fail_max": [1, 5]},
    "base": {"workload.rate_rps": 50.0},
    "traces": [{"family": "hard_down", "start_s": 5.0, "duration_s": 10.0}],
}
TABLES = ("results.csv", "summary.csv", "baselines.csv")


def _spec(**changes: object) -> SweepSpec:
    return SweepSpec.from_mapping({**TINY, **changes})


def _toml(path: pathlib.Path, **changes: object) -> pathlib.Path:
    document = {**TINY, **changes}
    lines = [f"{key} = {json.dumps(document[key])}" for key in ("name", "replications", "seed", "horizon_s")]
    lines += ["[grid]", *(f'"{k}" = {json.dumps(v)}' for k, v in document["grid"].items())]  # type: ignore[attr-defined]
    lines += ["[base]", *(f'"{k}" = {json.dumps(v)}' for k, v in document["base"].items())]  # type: ignore[attr-defined]
    for trace in document["traces"]:  # type: ignore[attr-defined]
        lines += ["[[traces]]", *(f"{k} = {json.dumps(v)}" for k, v in trace.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """An undamaged sweep of TINY."""
    folder = tmp_path_factory.mktemp("reference") / "tiny"
    run_sweep(_spec(), folder, jobs=1)
    return folder


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """An undamaged sweep of another spec with the same run names (another root seed)."""
    folder = tmp_path_factory.mktemp("other") / "tiny"
    run_sweep(_spec(seed=8), folder, jobs=1)
    return folder


def _copy(folder: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    return copy


def _breakerlab(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "breakerlab.cli", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def _same_tables(folder: pathlib.Path, reference: pathlib.Path) -> None:
    for name in TABLES:
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name


# -- run files ---------------------------------------------------------------------------------


def test_each_run_file_records_its_sweep_cell_replication_and_seed(reference: pathlib.Path) -> None:
    """A run file records the digest of its sweep's spec, its cell (or world), replication, seed
    and whether it holds baselines, and its row agrees."""
    store = SweepStore(reference)
    run = store.read_run("c00001-r002.json")
    assert run["identity"] == {"sweep": spec_digest(_spec()), "baseline": False, "cell": 1, "replication": 2,
                               "seed": run["row"]["seed"]}
    assert (run["row"]["cell"], run["row"]["replication"]) == (1, 2)
    baselines = store.read_run("w0000-r001.json")
    assert baselines["identity"]["baseline"] is True and baselines["identity"]["world"] == 0
    assert spec_digest(_spec()) != spec_digest(_spec(seed=8))
    assert spec_digest(_spec(horizon_s=20)) == spec_digest(_spec())  # 20 and 20.0 are one spec


def test_a_fresh_sweep_never_mixes_in_another_sweeps_files(other: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """A new sweep into a folder holding another sweep's run files (its sweep.json gone) refuses,
    naming the folder and what to do, and leaves the files alone."""
    folder = _copy(other, tmp_path)
    (folder / "sweep.json").unlink()
    runs = sorted(p.name for p in (folder / "runs").iterdir())
    with pytest.raises(InvalidConfigError, match="'--out' must be a folder without a sweep in it") as error:
        run_sweep(_spec(), folder, jobs=1)
    assert str(folder) in str(error.value) and "choose another --out" in str(error.value)
    assert sorted(p.name for p in (folder / "runs").iterdir()) == runs


def test_resume_sets_aside_run_files_that_are_not_this_runs_and_recomputes_them(
    reference: pathlib.Path, other: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """Truncated, empty, binary, copied-over, bogus and foreign run files are moved to
    runs/rejected/ (named on stderr), recomputed, and the tables are byte-identical to an
    undamaged sweep's."""
    folder = _copy(reference, tmp_path)
    runs = folder / "runs"
    truncated = (runs / "c00000-r000.json").read_bytes()
    (runs / "c00000-r000.json").write_bytes(truncated[: len(truncated) // 2])
    (runs / "c00000-r001.json").write_bytes(b"")
    (runs / "c00001-r000.json").write_bytes(bytes(range(256)))
    shutil.copy(runs / "c00001-r002.json", runs / "c00001-r001.json")
    (runs / "w0000-r000.json").write_text(json.dumps({"row": {"cell": 999}}))
    shutil.copy(other / "runs" / "w0000-r001.json", runs / "w0000-r001.json")
    (runs / "c00999-r000.json").write_text("{}")
    (runs / ".c00000-r002.json.x1y2.tmp").write_text("{")  # a killed write's leftover
    damaged = ["c00000-r000.json", "c00000-r001.json", "c00001-r000.json", "c00001-r001.json", "w0000-r000.json",
               "w0000-r001.json", "c00999-r000.json"]
    resumed = _breakerlab("sweep", "--resume", "--out", str(folder), "--jobs", "1", "--quiet", "--no-plots", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    for name in damaged:
        assert f"set aside {name} as runs/rejected/{name}" in resumed.stderr, name
    assert "not valid JSON" in resumed.stderr and "empty" in resumed.stderr and "binary" in resumed.stderr
    assert "holds cell 1, replication 2, not cell 1, replication 1" in resumed.stderr
    assert "a run of another sweep" in resumed.stderr
    assert "6 simulated, 3 reused" in resumed.stdout
    assert sorted(p.name for p in (runs / "rejected").iterdir()) == sorted(damaged)
    assert not list(runs.glob(".*.tmp"))
    _same_tables(folder, reference)
    again = run_sweep(_spec(), folder, resume=True, jobs=1)
    assert (again.computed, again.reused, again.rejected) == (0, 9, ())


def test_resume_under_another_sweeps_sweep_json_recomputes_every_run(
    reference: pathlib.Path, other: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A folder whose sweep.json was swapped for another sweep's reuses none of its runs: each
    is set aside and the tables are those of the sweep.json's sweep."""
    folder = _copy(reference, tmp_path)
    shutil.copy(other / "sweep.json", folder / "sweep.json")
    outcome = run_sweep(_spec(seed=8), folder, resume=True, jobs=1)
    assert (outcome.computed, outcome.reused, len(outcome.rejected)) == (9, 0, 9)
    assert {run.reason for run in outcome.rejected} == {"a run of another sweep (its digest is not sweep.json's)"}
    _same_tables(folder, other)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not json at all", "not valid JSON"),
        (b'{"spec": {"name": "tiny", "replic', "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not text (binary content)"),
        (b'{"version": "0.1.0"}', "no 'spec' table"),
    ],
    ids=["garbage", "truncated", "binary", "key-less"],
)
def test_a_damaged_sweep_json_is_a_one_line_error_saying_what_to_do(
    reference: pathlib.Path, tmp_path: pathlib.Path, content: bytes, problem: str
) -> None:
    """`sweep --resume` on a folder whose sweep.json is damaged exits 2 with one line naming the
    file, what is wrong and the fix; `--config FILE --resume` then finishes from the checked runs."""
    folder = _copy(reference, tmp_path)
    (folder / "sweep.json").write_bytes(content)
    failed = _breakerlab("sweep", "--resume", "--out", str(folder), "--quiet", "--no-plots", cwd=tmp_path)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith(f"breakerlab: error: '{folder / 'sweep.json'}' must be a sweep written by")
    assert problem in failed.stderr and f"breakerlab sweep --config FILE --resume --out {folder}" in failed.stderr
    if problem == "not valid JSON":  # the recovery, once (a subprocess costs a second)
        outcome = run_sweep(_spec(), folder, resume=True, jobs=1)
        assert (outcome.computed, outcome.rejected) == (0, ())
        assert SweepStore(folder).load_spec() == _spec()
        _same_tables(folder, reference)


# -- tables ------------------------------------------------------------------------------------


def test_an_interrupted_table_write_leaves_the_old_table_whole(
    reference: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill while results.csv is rewritten with new content (here: an interrupt once its bytes
    are written, before they are on disk) leaves the previous results.csv as it was, and no
    temporary file."""
    folder = _copy(reference, tmp_path)
    before = (folder / "results.csv").read_bytes()
    run = json.loads((folder / "runs" / "c00000-r000.json").read_text())
    run["row"]["failed_calls"] += 1  # the rebuilt table differs from the one on disk
    (folder / "runs" / "c00000-r000.json").write_text(json.dumps(run))

    def killed(descriptor: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        SweepStore(folder).assemble(_spec())
    monkeypatch.undo()
    assert (folder / "results.csv").read_bytes() == before
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    SweepStore(folder).assemble(_spec())  # uninterrupted, the new content replaces it
    assert (folder / "results.csv").read_bytes() != before


def test_plot_and_resume_rebuild_torn_or_missing_tables_from_the_run_files(
    reference: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A truncated results.csv, an empty summary.csv and a missing baselines.csv are rebuilt from
    the run files by `breakerlab plot DIR` (which says so) and by `sweep --resume`, byte for byte."""
    folder = _copy(reference, tmp_path)

    def damage() -> None:
        results = (folder / "results.csv").read_bytes()
        (folder / "results.csv").write_bytes(results[: len(results) // 2])
        (folder / "summary.csv").write_bytes(b"")
        (folder / "baselines.csv").unlink()

    damage()
    plotted = _breakerlab("plot", str(folder), cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert "rebuilt results.csv from the run files (it was torn" in plotted.stdout
    assert "rebuilt summary.csv from the run files (it was empty)" in plotted.stdout
    assert "rebuilt baselines.csv from the run files (it was missing)" in plotted.stdout
    _same_tables(folder, reference)
    damage()
    resumed = _breakerlab("sweep", "--resume", "--out", str(folder), "--quiet", "--no-plots", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "0 simulated, 9 reused" in resumed.stdout
    _same_tables(folder, reference)


def test_plot_of_an_unfinished_sweep_or_a_damaged_run_file_says_how_to_finish_it(
    reference: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """With a table gone and a run file missing, `plot` exits 2 telling to resume; the store
    names a damaged run file instead of raising JSONDecodeError."""
    folder = _copy(reference, tmp_path)
    (folder / "results.csv").unlink()
    (folder / "runs" / "c00001-r001.json").unlink()
    failed = _breakerlab("plot", str(folder), cwd=tmp_path)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "1 of its runs are missing (runs/c00001-r001.json...)" in failed.stderr
    assert f"finish it first: breakerlab sweep --resume --out {folder}" in failed.stderr
    (folder / "runs" / "c00000-r000.json").write_bytes(b"{\"identity\": ")
    with pytest.raises(InvalidConfigError, match="c00000-r000.json' must be a run file written by breakerlab sweep"):
        SweepStore(folder).read_run("c00000-r000.json")


# -- worker processes --------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_kill_9_of_a_sweep_ends_its_worker_processes(tmp_path: pathlib.Path) -> None:
    """`kill -9` of a running `breakerlab sweep --jobs 2` ends its worker processes within
    seconds instead of leaving them idle forever."""
    config = _toml(tmp_path / "tiny.toml", replications=8, horizon_s=120.0)
    folder = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "breakerlab.cli", "sweep", "--config", str(config), "--out", str(folder),
         "--jobs", "2", "--quiet", "--no-plots"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path, start_new_session=True,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (len(workers) >= 2 and SweepStore(folder).finished()):
            time.sleep(0.05)
            workers = [pid for pid in _children(process.pid)
                       if b"spawn_main" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) >= 2 and SweepStore(folder).finished(), "the sweep never got its workers running"
        os.kill(process.pid, signal.SIGKILL)  # the sweep alone, not its process group
        process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their sweep"
    finally:
        process.kill()
        for pid in workers:  # the processes this test started, if the assertion failed
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# -- Dask --------------------------------------------------------------------------------------


def test_a_malformed_or_refused_scheduler_address_is_a_one_line_error(tmp_path: pathlib.Path) -> None:
    """`--scheduler garbage-address` exits 2 with one line naming the address, and an address
    where nothing listens fails at once saying so, both before the sweep writes anything."""
    pytest.importorskip("distributed")
    config = _toml(tmp_path / "tiny.toml")
    failed = _breakerlab("sweep", "--config", str(config), "--scheduler", "garbage-address", "--out", "out", "--quiet",
                         cwd=tmp_path)
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr == (
        "breakerlab: error: '--scheduler' must be a Dask scheduler's address (tcp://HOST:PORT) "
        "(got 'garbage-address'); missing port number in address 'garbage-address'\n"
    )
    assert not (tmp_path / "out" / "sweep.json").exists()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()  # nothing listens there
    with pytest.raises(InvalidConfigError, match="the connection was refused: no scheduler listens there") as error:
        run_sweep(_spec(), tmp_path / "refused", scheduler=address)
    assert f"'--scheduler' must be the address of a running Dask scheduler (got {address!r})" in str(error.value)
    assert not (tmp_path / "refused").exists()


def test_a_scheduler_that_never_answers_times_out_with_the_address_and_the_wait(tmp_path: pathlib.Path) -> None:
    """A server that accepts connections but never speaks Dask's protocol fails after the connect
    timeout with the address and the wait, instead of hanging."""
    pytest.importorskip("distributed")
    raised: list[BaseException] = []

    def sweep(address: str) -> None:
        try:
            run_sweep(_spec(), tmp_path / "out", scheduler=address, connect_timeout_s=0.5)
        except BaseException as error:  # handed to the test's thread
            raised.append(error)

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        attempt = threading.Thread(target=sweep, args=(address,), daemon=True)  # a hang fails, not blocks, the test
        attempt.start()
        attempt.join(timeout=20)
    assert not attempt.is_alive(), "run_sweep hung on a scheduler that never answers"
    assert len(raised) == 1 and isinstance(raised[0], InvalidConfigError), raised
    assert f"(got {address!r}); nothing answered there within 0.5 s as a Dask scheduler" in str(raised[0])
    assert not (tmp_path / "out").exists()

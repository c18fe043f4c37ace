"""``benchmarks/bench_shared.py`` runs at a tiny size and counts correctly: the shared breaker
sends exactly its design's two FCALL per call, the command counts split what a client sent
from what a script ran, every loop runs, the printed verdict is the one its printed ratio earns,
and the benchmark's own redis-server is stopped and removed however its block ends.

No timing is asserted; only the test marked ``bench`` asserts the target is met (``pytest -m
bench`` on a quiet machine), as in ``test_benchmarks.py``.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from test_benchmarks import NUMBER, assert_consistent, column, verdict_of

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_shared  # noqa: E402

THROUGHPUT_RATIO = rf"^throughput ratio \(shared / pybreaker\): ({NUMBER}) \(target >= 5\): (PASS|FAIL)$"
TINY = ["--calls", "20", "--count-calls", "10", "--processes", "2", "--threads", "2", "--sleep-ms", "1", "--duration", "0.1"]


@pytest.fixture(scope="module")
def server() -> Iterator[bench_shared.TemporaryRedis]:
    """The benchmark's own redis-server, for this module."""
    with bench_shared.TemporaryRedis() as running:
        yield running


def test_the_shared_breaker_sends_one_fcall_per_admission_and_one_per_settlement(
    server: bench_shared.TemporaryRedis,
) -> None:
    """Counted by the server, a shared breaker's call sends two FCALL and nothing else (its
    other commands run inside the script), and pybreaker's sends plain commands only."""
    counts = bench_shared.measure_commands(server, 10)
    shared, theirs = counts["shared"], counts["pybreaker"]
    assert shared.sent == {"fcall": 2.0}
    assert shared.in_scripts > 0 and shared.server_us > 0
    assert theirs.round_trips > 0 and theirs.scripted == {}
    assert shared.calls == theirs.calls == 10


def test_command_counts_split_what_a_client_sent_from_what_a_script_ran(server: bench_shared.TemporaryRedis) -> None:
    """A call that runs a two-command script counts one EVAL sent and the two commands inside
    it; a call whose commands differ between the counting passes is refused."""
    client = server.client()
    try:
        def scripted(fn: Callable[[], int]) -> object:
            return client.eval("redis.call('get', 'x'); redis.call('set', 'x', '1'); return 1", 0)

        count = bench_shared.count_commands(server, scripted, 3)
        assert (count.sent, count.scripted) == ({"eval": 1.0}, {"get": 1.0, "set": 1.0})

        passes = iter([False] * 3 + [True] * 3)

        def varying(fn: Callable[[], int]) -> object:
            return client.ping() if next(passes) else None

        with pytest.raises(bench_shared.BenchmarkError, match="MONITOR saw"):
            bench_shared.count_commands(server, varying, 3)
    finally:
        client.close()


def test_every_variant_of_the_cost_loop_runs(server: bench_shared.TemporaryRedis) -> None:
    """The one-thread loop times every variant (the shared breaker's totals are checked against
    the calls made, inside the benchmark)."""
    best = bench_shared.measure_overhead(server, 10, 1)
    assert list(best) == ["bare call", "PING", "EVALSHA", "shared", "pybreaker"]
    assert all(0 < seconds < float("inf") for seconds in best.values())


def test_a_tiny_run_reports_every_part_and_the_verdict_its_ratio_earns(capsys: pytest.CaptureFixture[str]) -> None:
    """A tiny whole run (its own redis-server, two worker processes) exits 0 and prints every
    variant, the command counts, and a throughput verdict that follows from the printed rates."""
    assert bench_shared.main(["--quick", *TINY]) == 0
    out = capsys.readouterr().out
    for variant in ("bare call", "PING", "EVALSHA", "shared", "pybreaker"):
        assert re.search(rf"^{variant} +{NUMBER} +\d+ +{NUMBER}$", out, re.MULTILINE), f"no timing for {variant!r}:\n{out}"
    assert re.search(r"^shared +fcall +2\.00 +0\.00$", out, re.MULTILINE), out
    assert re.search(r"^round trips per call \(commands sent\): shared 2\.00, pybreaker \d", out, re.MULTILINE), out
    throughput = out.split("\n2. throughput", 1)[1]
    rates = {name: column(throughput, name, 1) for name in bench_shared.THROUGHPUT_VARIANTS}
    assert all(rate > 0 for rate in rates.values()), rates
    ratio, verdict = verdict_of(THROUGHPUT_RATIO, out)
    assert ratio == pytest.approx(rates["shared"] / rates["pybreaker"], rel=0.01, abs=0.06)
    assert_consistent(ratio, verdict, target=5, at_least=True)


def test_the_server_is_stopped_and_its_folder_removed_when_the_block_is_interrupted() -> None:
    """Ctrl-C inside the benchmark's ``with TemporaryRedis()`` stops the server and removes its
    temporary folder."""
    running = bench_shared.TemporaryRedis()
    with pytest.raises(KeyboardInterrupt):
        with running:
            folder, process = running.folder, running.process
            assert running.running and folder is not None and (folder / "redis.sock").exists()
            raise KeyboardInterrupt
    assert process is not None and process.poll() is not None
    assert folder is not None and not folder.exists()
    assert not running.running


def test_a_missing_redis_server_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without redis-server the benchmark exits 2 and says how to install it or give its path."""
    assert bench_shared.main(["--quick", "--redis-server", "/nonexistent/redis-server"]) == 2
    assert "--redis-server" in capsys.readouterr().err


def test_help_explains_the_benchmark_and_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    """`bench_shared.py --help` explains the benchmark and its options."""
    with pytest.raises(SystemExit) as exited:
        bench_shared.main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "--quick" in out and "--processes" in out and "--duration" in out and "pybreaker" in out


@pytest.mark.bench
def test_shared_benchmark_meets_the_throughput_target() -> None:
    """On a quiet machine, 8 processes x 8 threads through one shared breaker make at least 5x
    pybreaker's calls per second (`bench_shared.py`, full size)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_shared.py")], cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdict_of(THROUGHPUT_RATIO, result.stdout)[1] == "PASS", result.stdout

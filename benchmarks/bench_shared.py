"""Cost and multi-process throughput of ``SharedCircuitBreaker`` against pybreaker on one Redis.

Run: ``python benchmarks/bench_shared.py [--quick] [options]`` (needs pybreaker, ``pip install
-e '.[bench]'``, the redis client, ``pip install -e '.[redis]'``, and ``redis-server`` on the
PATH or given with ``--redis-server``).

The benchmark starts its own ``redis-server`` (a unix socket in a temporary folder, nothing
persisted) and stops it at the end, also on Ctrl-C. Both breakers use ``fail_max=5,
reset_timeout=60`` and stay closed throughout; the baseline is ``pybreaker.CircuitBreaker``
with ``pybreaker.CircuitRedisStorage`` on the same server. The machines this runs on are shared
and noisy, so every figure is a ratio against baselines timed in the same run, interleaved,
taking the best of several repeats.

1. Cost per successful call, one thread (best of ``--repeat`` timings of ``--calls`` calls):

   * ``bare call``: the protected function called directly (the floor);
   * ``PING`` and ``EVALSHA``: one plain Redis round trip, and one running a script that only
     returns 1: the yardsticks (``x PING`` is the cost in round trips);
   * ``shared``: ``SharedCircuitBreaker.call(fn)``;
   * ``pybreaker``: ``pybreaker.CircuitBreaker.call(fn)`` with ``CircuitRedisStorage``.

   No target: the ratio is printed for the record. Then the Redis commands per call of each
   breaker, counted over ``--count-calls`` calls (after a warm-up) from ``INFO commandstats``
   before and after, split by ``MONITOR`` into those the client sent (round trips) and those a
   script ran inside the server. Counts are deterministic, unlike timings. By design the shared
   breaker sends one ``FCALL`` (of its generated function library) per admission and one per
   settlement: 2 per call.

2. Throughput: ``--processes`` processes (8), each with ``--threads`` threads (8), call a
   function that sleeps ``--sleep-ms`` (10 ms) through one breaker shared by all of them, for
   ``--duration`` seconds after a common barrier; the best of ``--throughput-repeat`` rounds.
   A process's rate is its calls over its time from the barrier to its last call's end; the
   rates of the processes are summed. ``no breaker`` is the machine's own limit (the ideal is
   processes x threads x 1000 / sleep-ms calls/s). pybreaker holds its lock across the
   protected call, so its callers run one at a time within each process. Target: the shared
   breaker's throughput is at least 5x pybreaker's.

Each target is printed as PASS or FAIL, but the exit status is 0 whatever the verdicts (a noisy
machine must not break a build): 2 when pybreaker, the redis client or redis-server is missing,
1 if a breaker misbehaved (left the closed state, miscounted calls, raised, or lost its store),
130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import importlib.metadata
import importlib.util
import multiprocessing
import multiprocessing.context
import multiprocessing.queues
import multiprocessing.synchronize
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sized_options import add_sized_options, apply_sizes, positive_float, positive_int

if TYPE_CHECKING:  # imported where used: a missing extra is reported, not raised (exit 2)
    import pybreaker
    import redis

    from breakerlab.model import BreakerStats
    from breakerlab.runtime.shared import SharedCircuitBreaker

FAIL_MAX = 5
RESET_TIMEOUT_S = 60.0
THROUGHPUT_TARGET = 5.0  # shared calls/s / pybreaker calls/s, at least
#: How long one event may take on the store: generous, so a loaded machine slows the shared
#: breaker down instead of failing it (a store error is a benchmark failure: exit 1).
STORE_TIMEOUT_S = 10.0
#: How long the parent waits for the workers at a barrier or for their results.
WORKER_TIMEOUT_S = 120.0

FULL: dict[str, float] = {
    "calls": 5_000, "repeat": 3, "count_calls": 100, "processes": 8, "threads": 8, "sleep_ms": 10.0,
    "duration": 2.0, "throughput_repeat": 2,
}
QUICK: dict[str, float] = {**FULL, "calls": 300, "repeat": 1, "duration": 0.5, "throughput_repeat": 1}

#: The variants of the throughput part, in the order of the first round.
THROUGHPUT_VARIANTS = ("no breaker", "shared", "pybreaker")


class BenchmarkError(Exception):
    """A breaker did not behave as the benchmark assumes (stayed closed, counted every call,
    raised nothing, reached its store every time), or the benchmark's Redis or workers failed."""


class MissingPrerequisite(Exception):
    """Something the benchmark needs is not installed (exit status 2)."""


def _protected() -> int:
    return 1


# -- the Redis server ----------------------------------------------------------------------


class TemporaryRedis:
    """A ``redis-server`` of the benchmark's own: a unix socket in a temporary folder, nothing
    persisted. Use it as a context manager: leaving the block (also by Ctrl-C) stops the
    server and removes the folder.

    Attributes:
        folder: The temporary folder (socket and log), ``None`` when not running.
        socket: The unix socket's path.
    """

    def __init__(self, executable: str = "redis-server") -> None:
        found = shutil.which(executable)
        if found is None:
            raise MissingPrerequisite(
                f"redis-server not found ({executable!r}): install it (apt-get install redis-server) "
                "or give its path with --redis-server"
            )
        self.executable = found
        self.folder: pathlib.Path | None = None
        self.socket = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers.

        Raises:
            BenchmarkError: it exited or did not answer within 10 s (the log's end is quoted).
        """
        import redis

        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="bench_shared-"))
        self.socket = str(self.folder / "redis.sock")
        log = self.folder / "redis.log"
        self.process = subprocess.Popen(
            [
                self.executable, "--port", "0", "--unixsocket", self.socket, "--unixsocketperm", "700",
                "--dir", str(self.folder), "--save", "", "--appendonly", "no", "--logfile", str(log),
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches this process, which then stops the server itself
        )
        probe = redis.Redis(unix_socket_path=self.socket, socket_timeout=1.0)
        try:
            for _ in range(1000):
                try:
                    if probe.ping():
                        return
                except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, FileNotFoundError):
                    pass
                if self.process.poll() is not None:
                    break
                time.sleep(0.01)
        finally:
            probe.close()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        self.stop()
        raise BenchmarkError(f"redis-server did not start on a unix socket in a temporary folder:\n{tail}")

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its folder; safe to call twice."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def client(self) -> redis.Redis:
        """A new ``redis.Redis`` client of this server."""
        import redis

        return redis.Redis(unix_socket_path=self.socket)

    def version(self) -> str:
        """The server's version, e.g. ``7.0.15``."""
        client = self.client()
        try:
            info: dict[str, Any] = client.info("server")  # type: ignore[assignment]
            return str(info["redis_version"])
        finally:
            client.close()

    def __enter__(self) -> TemporaryRedis:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self.stop()


# -- the breakers --------------------------------------------------------------------------


def shared_breaker(client: redis.Redis, name: str) -> SharedCircuitBreaker:
    """A ``SharedCircuitBreaker`` named ``name`` on ``client``'s server. Store errors reject
    calls (``fail_closed``) so that a failing store can never pass for throughput."""
    from breakerlab.model import BreakerConfig
    from breakerlab.runtime.shared import SharedCircuitBreaker

    return SharedCircuitBreaker(
        BreakerConfig(fail_max=FAIL_MAX, reset_timeout=RESET_TIMEOUT_S), redis=client, name=name,
        on_store_error="fail_closed", store_timeout_s=STORE_TIMEOUT_S,
    )


def pybreaker_breaker(client: redis.Redis, name: str) -> pybreaker.CircuitBreaker:
    """A ``pybreaker.CircuitBreaker`` whose state is in Redis under namespace ``name``."""
    import pybreaker

    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=name)
    return pybreaker.CircuitBreaker(fail_max=FAIL_MAX, reset_timeout=RESET_TIMEOUT_S, state_storage=storage)


def _check_shared(breaker: SharedCircuitBreaker, before: BreakerStats, calls: int) -> None:
    """``breaker`` is closed, reached its store every time, and admitted and recorded
    exactly ``calls`` successful calls since its totals were ``before``."""
    from breakerlab.model import State

    after = breaker.stats
    if breaker.state is not State.CLOSED:
        raise BenchmarkError(f"the shared breaker left the closed state ({breaker.state.value})")
    admitted, successes = after.admitted - before.admitted, after.successes - before.successes
    if admitted != calls or successes != calls:
        raise BenchmarkError(f"the shared breaker admitted {admitted} and recorded {successes} successes for {calls} calls")
    if breaker.store_errors or breaker.unguarded_calls:
        raise BenchmarkError(f"the shared breaker lost its store {breaker.store_errors} time(s)")


def _check_pybreaker(breaker: pybreaker.CircuitBreaker) -> None:
    """pybreaker is closed and counted no failure."""
    if breaker.current_state != "closed" or breaker.fail_counter != 0:
        raise BenchmarkError(
            f"pybreaker left the closed state or counted failures ({breaker.current_state}, {breaker.fail_counter})"
        )


# -- 1. cost per call ----------------------------------------------------------------------


def measure_overhead(server: TemporaryRedis, calls: int, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` seconds per call: the bare call, one PING, one tiny EVALSHA, the
    shared breaker's ``call`` and pybreaker's ``call``, interleaved and rotated."""
    client = server.client()
    ours = shared_breaker(client, "bench-overhead")
    theirs = pybreaker_breaker(client, "bench-overhead")
    tiny = client.register_script("return 1")
    try:
        for warm_up in (tiny, lambda: ours.call(_protected), lambda: theirs.call(_protected)):
            warm_up()  # connected and its script loaded before anything is timed
        before = ours.stats

        def bare() -> None:
            for _ in range(calls):
                _protected()

        def ping() -> None:
            send = client.ping
            for _ in range(calls):
                send()

        def evalsha() -> None:
            for _ in range(calls):
                tiny()

        def shared() -> None:
            call = ours.call
            for _ in range(calls):
                call(_protected)

        def pybreaker() -> None:
            call = theirs.call
            for _ in range(calls):
                call(_protected)

        variants: dict[str, Callable[[], None]] = {
            "bare call": bare, "PING": ping, "EVALSHA": evalsha, "shared": shared, "pybreaker": pybreaker,
        }
        names = list(variants)
        best = dict.fromkeys(names, float("inf"))
        for round_ in range(repeat):  # interleaved, so drift in machine load hits every variant alike
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:  # rotated, so no variant always goes first
                try:
                    seconds = timeit.timeit(variants[name], number=1)
                except Exception as exc:  # a closed breaker with a live store must not raise
                    raise BenchmarkError(f"{name} raised {type(exc).__name__}: {exc}") from exc
                best[name] = min(best[name], seconds / calls)
        _check_shared(ours, before, calls * repeat)
        _check_pybreaker(theirs)
        return best
    finally:
        ours.close()
        client.close()


def report_overhead(best: dict[str, float]) -> float:
    """Print the table and the ratio (no target); returns shared calls/s / pybreaker calls/s."""
    ping = best["PING"]
    print(f"{'variant':<10} {'us/call':>9} {'calls/s':>10} {'x PING':>7}")
    for name, seconds in best.items():
        print(f"{name:<10} {seconds * 1e6:9.2f} {1 / seconds:10.0f} {seconds / ping:7.2f}")
    ratio = best["pybreaker"] / best["shared"]
    print(f"\ncalls/s ratio (shared / pybreaker), one thread: {ratio:.2f} (no target; for the record)")
    return ratio


@dataclasses.dataclass(frozen=True)
class CommandCount:
    """Redis commands per call of one breaker, by command name (lower case).

    Attributes:
        sent: Commands the client sent (each one round trip), per call.
        scripted: Commands a script ran inside the server, per call.
        server_us: Microseconds the server spent per call on the commands sent (a script's
            time includes the commands it ran). A timing: noisy, unlike the counts.
        calls: The calls counted.
    """

    sent: dict[str, float]
    scripted: dict[str, float]
    server_us: float
    calls: int

    @property
    def round_trips(self) -> float:
        """Commands sent per call."""
        return sum(self.sent.values())

    @property
    def in_scripts(self) -> float:
        """Commands run inside scripts per call."""
        return sum(self.scripted.values())


#: Commands of the counting itself, left out of the counts (the breakers send none of them).
_BOOKKEEPING = frozenset({"info", "monitor", "echo"})
_SENTINEL = "bench_shared: end of the counted calls"


def _commandstats(client: redis.Redis) -> dict[str, tuple[int, int]]:
    """(calls, microseconds) of every command the server has run, but the counting's own."""
    stats: dict[str, dict[str, Any]] = client.info("commandstats")  # type: ignore[assignment]
    found = {name.removeprefix("cmdstat_"): (int(fields["calls"]), int(fields["usec"])) for name, fields in stats.items()}
    return {name: value for name, value in found.items() if name not in _BOOKKEEPING}


def count_commands(
    server: TemporaryRedis, call: Callable[[Callable[[], int]], object], calls: int
) -> CommandCount:
    """The Redis commands each of ``calls`` calls of ``call(fn)`` costs.

    Two passes of ``calls`` calls. The first takes ``INFO commandstats`` before and after:
    every command the server ran (those run by scripts included) and its time. The second
    watches the calls with ``MONITOR``, which tells the commands a client sent from those a
    script ran; the second pass must perform the same commands as the first (the counts are
    deterministic). Warm the breaker up first (a script's first call also loads it).

    Raises:
        BenchmarkError: the passes disagree (a breaker's commands vary from call to call, or
            another client used the server meanwhile).
    """
    client = server.client()
    try:
        before = _commandstats(client)
        for _ in range(calls):
            call(_protected)
        after = _commandstats(client)
        ran = collections.Counter({name: n - before.get(name, (0, 0))[0] for name, (n, _) in after.items()})
        usec = {name: us - before.get(name, (0, 0))[1] for name, (_, us) in after.items()}
        sent: collections.Counter[str] = collections.Counter()
        scripted: collections.Counter[str] = collections.Counter()
        with client.monitor() as monitor:  # type: ignore[no-untyped-call]
            for _ in range(calls):
                call(_protected)
            client.echo(_SENTINEL)
            while True:
                seen = monitor.next_command()
                name = str(seen["command"]).split(" ", 1)[0].lower()
                if name == "echo" and _SENTINEL in seen["command"]:
                    break
                if name not in _BOOKKEEPING:
                    (scripted if seen["client_type"] == "lua" else sent)[name] += 1
    finally:
        client.close()
    ran = +ran  # drop the commands that did not run
    if ran != sent + scripted:
        raise BenchmarkError(
            f"INFO commandstats counted {dict(ran)} in the first pass, but MONITOR saw {dict(sent)} sent and "
            f"{dict(scripted)} run by scripts in the second: did another client use the benchmark's Redis?"
        )
    return CommandCount(
        sent={name: count / calls for name, count in sorted(sent.items())},
        scripted={name: count / calls for name, count in sorted(scripted.items())},
        server_us=sum(usec[name] for name in sent) / calls,
        calls=calls,
    )


def measure_commands(server: TemporaryRedis, calls: int) -> dict[str, CommandCount]:
    """Commands per call of the shared breaker and of pybreaker (each warmed up first)."""
    client = server.client()
    ours = shared_breaker(client, "bench-commands")
    theirs = pybreaker_breaker(client, "bench-commands")
    try:
        counts: dict[str, CommandCount] = {}
        for name, breaker in (("shared", ours), ("pybreaker", theirs)):
            for _ in range(3):
                breaker.call(_protected)
            counts[name] = count_commands(server, breaker.call, calls)
        return counts
    finally:
        ours.close()
        client.close()


def report_commands(counts: dict[str, CommandCount]) -> None:
    """Print the commands per call of each breaker, command by command, then the totals."""
    print(f"{'breaker':<10} {'command':<16} {'sent':>6} {'in scripts':>10}")
    for breaker, count in counts.items():
        for name in sorted(set(count.sent) | set(count.scripted)):
            print(f"{breaker:<10} {name:<16} {count.sent.get(name, 0):6.2f} {count.scripted.get(name, 0):10.2f}")
        print(f"{breaker:<10} {'(total)':<16} {count.round_trips:6.2f} {count.in_scripts:10.2f}")
    summary = ", ".join(f"{breaker} {count.round_trips:.2f}" for breaker, count in counts.items())
    print(f"\nround trips per call (commands sent): {summary}")
    summary = ", ".join(f"{breaker} {count.server_us:.1f} us" for breaker, count in counts.items())
    ceiling = 1e6 / counts["shared"].server_us if counts["shared"].server_us > 0 else float("inf")
    print(
        f"server time per call (INFO commandstats usec; a timing): {summary}; one single-threaded Redis "
        f"runs at most {ceiling:.0f} shared calls/s"
    )


# -- 2. throughput -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WorkerPlan:
    """What every worker process does: the variants, in order, each for ``duration_s``."""

    socket: str
    steps: tuple[str, ...]
    threads: int
    sleep_s: float
    duration_s: float
    name: str


@dataclasses.dataclass(frozen=True)
class StepResult:
    """One worker's result of one step: calls completed, seconds from the barrier to the end of
    its last call, and the errors its threads raised (an error ends that thread's calls)."""

    step: int
    worker: int
    calls: int
    elapsed_s: float
    errors: tuple[str, ...]


def _run_step(call: Callable[[Callable[[], None]], object], plan: WorkerPlan, barrier: Any) -> tuple[int, float, list[str]]:
    """Start the threads, pass ``barrier`` with the other processes, call until the deadline."""

    def slow() -> None:
        time.sleep(plan.sleep_s)

    counts = [0] * plan.threads
    errors: list[str] = []
    local = threading.Barrier(plan.threads + 1)
    deadline = 0.0

    def worker(slot: int) -> None:
        local.wait()
        done = 0
        try:
            while time.perf_counter() < deadline:
                call(slow)
                done += 1
        except Exception as exc:  # reported to the parent, which fails the benchmark
            errors.append(f"{type(exc).__name__}: {exc}")
        counts[slot] = done

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(plan.threads)]
    for thread in pool:
        thread.start()
    barrier.wait(timeout=WORKER_TIMEOUT_S)
    began = time.perf_counter()
    deadline = began + plan.duration_s
    local.wait()
    for thread in pool:
        thread.join()
    return sum(counts), time.perf_counter() - began, errors


def _no_breaker(fn: Callable[[], None]) -> None:
    fn()


def throughput_worker(index: int, plan: WorkerPlan, barrier: Any, results: Any) -> None:
    """One worker process: for each step, build the variant's breaker, run the step, report."""
    import redis

    # Ctrl-C reaches every process of the terminal: the parent reports it and cleans up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = redis.Redis(unix_socket_path=plan.socket)
    try:
        for step, variant in enumerate(plan.steps):
            breaker: Any = None
            call: Callable[[Callable[[], None]], object] = _no_breaker
            errors: list[str] = []
            try:
                if variant == "shared":
                    breaker = shared_breaker(client, plan.name)
                    call = breaker.call
                elif variant == "pybreaker":
                    breaker = pybreaker_breaker(client, plan.name)
                    call = breaker.call
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                barrier.wait(timeout=WORKER_TIMEOUT_S)  # the others start the step; the parent fails it
                calls, elapsed = 0, 0.0
            else:
                calls, elapsed, errors = _run_step(call, plan, barrier)
            if variant == "shared" and breaker is not None:
                if breaker.store_errors:
                    errors.append(f"the shared breaker lost its store {breaker.store_errors} time(s)")
                breaker.close()
            results.put(StepResult(step, index, calls, elapsed, tuple(errors)))
    finally:
        client.close()


def _context(start_method: str) -> multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext:
    if start_method == "spawn":
        return multiprocessing.get_context("spawn")
    if start_method != "forkserver":
        raise ValueError(f"'start_method' must be 'forkserver' or 'spawn' (got {start_method!r})")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["redis", "pybreaker", "breakerlab.runtime.shared"])  # imported once
    return context


def measure_throughput(
    server: TemporaryRedis, *, processes: int, threads: int, sleep_ms: float, duration_s: float, repeat: int,
    start_method: str = "forkserver",
) -> dict[str, float]:
    """Best-of-``repeat`` calls per second, summed over ``processes`` worker processes, of each
    variant in ``THROUGHPUT_VARIANTS`` (interleaved and rotated between rounds).

    The workers are started once and run every step; each step begins at a barrier that all
    workers and this process pass together.

    Raises:
        BenchmarkError: a worker raised or died, a breaker miscounted or left the closed state.
    """
    names = list(THROUGHPUT_VARIANTS)
    steps: list[str] = []
    for round_ in range(repeat):
        shift = round_ % len(names)
        steps += names[shift:] + names[:shift]
    plan = WorkerPlan(server.socket, tuple(steps), threads, sleep_ms / 1000, duration_s, "bench-throughput")
    context = _context(start_method)
    barrier = context.Barrier(processes + 1)
    results: multiprocessing.queues.Queue[StepResult] = context.Queue()
    client = server.client()
    reader = shared_breaker(client, plan.name)
    before = reader.stats
    workers = [
        context.Process(target=throughput_worker, args=(i, plan, barrier, results), name=f"bench-shared-{i}")
        for i in range(processes)
    ]
    best = dict.fromkeys(names, 0.0)
    shared_calls = 0
    try:
        for worker in workers:
            worker.start()
        for step, variant in enumerate(steps):
            try:
                barrier.wait(timeout=WORKER_TIMEOUT_S)
            except threading.BrokenBarrierError:
                dead = [w.name for w in workers if not w.is_alive()]
                raise BenchmarkError(f"the workers did not start step {step} ({variant}); exited: {dead}") from None
            rate, calls = 0.0, 0
            for _ in range(processes):
                try:
                    result = results.get(timeout=WORKER_TIMEOUT_S + duration_s)
                except queue.Empty:
                    raise BenchmarkError(f"a worker did not report step {step} ({variant})") from None
                if result.errors:
                    raise BenchmarkError(f"{variant} in worker {result.worker}: {result.errors[0]}")
                if result.step != step:
                    raise BenchmarkError(f"worker {result.worker} reported step {result.step} during step {step}")
                calls += result.calls
                rate += result.calls / result.elapsed_s
            best[variant] = max(best[variant], rate)
            if variant == "shared":
                shared_calls += calls
        for worker in workers:
            worker.join(timeout=WORKER_TIMEOUT_S)
        _check_shared(reader, before, shared_calls)
        _check_pybreaker(pybreaker_breaker(client, plan.name))
        return best
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
        results.close()
        reader.close()
        client.close()


def report_throughput(best: dict[str, float], processes: int, threads: int, sleep_ms: float) -> float:
    """Print the table and the verdict; returns shared calls/s / pybreaker calls/s."""
    ideal = processes * threads * 1000 / sleep_ms
    print(f"{'variant':<10} {'calls/s':>9} {'x ideal':>8}")
    for name, rate in best.items():
        print(f"{name:<10} {rate:9.0f} {rate / ideal:8.2f}")
    ratio = best["shared"] / best["pybreaker"] if best["pybreaker"] > 0 else float("inf")
    verdict = "PASS" if round(ratio, 1) >= THROUGHPUT_TARGET else "FAIL"  # judged as printed
    print(f"\nthroughput ratio (shared / pybreaker): {ratio:.1f} (target >= {THROUGHPUT_TARGET:g}): {verdict}")
    return ratio


# -- command line --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options; each one not given takes its ``--quick`` or full default."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="a short run of a few seconds; explicit options still win"
    )
    options: tuple[tuple[str, Callable[[str], object], str], ...] = (
        ("calls", positive_int, "cost: calls per timing"),
        ("repeat", positive_int, "cost: timings per variant, the best is kept"),
        ("count_calls", positive_int, "cost: calls whose Redis commands are counted"),
        ("processes", positive_int, "throughput: worker processes"),
        ("threads", positive_int, "throughput: calling threads per process"),
        ("sleep_ms", positive_float, "throughput: how long the protected function sleeps, ms"),
        ("duration", positive_float, "throughput: seconds per round per variant"),
        ("throughput_repeat", positive_int, "throughput: rounds per variant, the best is kept"),
    )
    add_sized_options(parser, options, FULL, QUICK)
    parser.add_argument(
        "--start-method", choices=("forkserver", "spawn"), default="forkserver",
        help="how the worker processes start (default forkserver)",
    )
    parser.add_argument(
        "--redis-server", default="redis-server", metavar="PATH", help="the redis-server to run (default: from PATH)"
    )
    return apply_sizes(parser.parse_args(argv), FULL, QUICK)


def _interrupt(signum: int, frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for module, extra in (("pybreaker", "bench"), ("redis", "redis")):
        if importlib.util.find_spec(module) is None:
            print(
                f"bench_shared: {module} is not installed; the benchmark needs it. Install it with: "
                f"pip install -e '.[{extra}]'",
                file=sys.stderr,
            )
            return 2
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a terminated run cleans up as on Ctrl-C
    try:
        with TemporaryRedis(args.redis_server) as server:
            print(
                f"SharedCircuitBreaker vs pybreaker {importlib.metadata.version('pybreaker')} + CircuitRedisStorage "
                f"(fail_max={FAIL_MAX}, reset_timeout={RESET_TIMEOUT_S:g}) on redis-server {server.version()} "
                f"(unix socket), Python {sys.version.split()[0]}"
            )
            print(f"\n1. cost per successful call, one thread, closed state ({args.calls} calls, best of {args.repeat})")
            report_overhead(measure_overhead(server, args.calls, args.repeat))
            print(f"\nRedis commands per call ({args.count_calls} calls; INFO commandstats, split by MONITOR)")
            report_commands(measure_commands(server, args.count_calls))
            print(
                f"\n2. throughput: {args.processes} processes x {args.threads} threads calling a {args.sleep_ms:g} ms "
                f"sleep for {args.duration:g} s (best of {args.throughput_repeat}; {args.start_method})"
            )
            best = measure_throughput(
                server, processes=args.processes, threads=args.threads, sleep_ms=args.sleep_ms,
                duration_s=args.duration, repeat=args.throughput_repeat, start_method=args.start_method,
            )
            report_throughput(best, args.processes, args.threads, args.sleep_ms)
    except MissingPrerequisite as exc:
        print(f"bench_shared: {exc}", file=sys.stderr)
        return 2
    except BenchmarkError as exc:
        print(f"bench_shared: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_shared: interrupted (the benchmark's redis-server is stopped)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())

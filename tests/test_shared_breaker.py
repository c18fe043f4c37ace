"""The breaker shared through Redis, across real processes, on a real redis-server: a new
process never resets the shared state, one clock (the server's) for callers whose own clocks
disagree, permits and stale results across processes, namespaces, refused configurations,
idempotent settlements, listeners and the merged event log."""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys
import time
from typing import Any

import pytest

from breakerlab.model import BreakerConfig, CircuitOpenError, ManualClock, PermitError, State
from breakerlab.runtime import replay_log
from breakerlab.runtime.shared import (
    ConfigMismatchError,
    SharedCircuitBreaker,
    keys_for,
    merge_event_logs,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _breaker(server: Any, name: str, **options: Any) -> SharedCircuitBreaker:
    return SharedCircuitBreaker(redis=server.client(), name=name, **options)


def _in_process(server: Any, code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh Python process (it prints one JSON line) and return what it printed."""
    prelude = (
        "import json, redis\n"
        "from breakerlab.model import BreakerConfig\n"
        "from breakerlab.runtime.shared import SharedCircuitBreaker\n"
        f"client = redis.Redis(unix_socket_path={server.socket!r})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_new_process_joins_the_shared_state_and_never_resets_it(redis_server: Any) -> None:
    """pybreaker issues 24 and 26: a process that starts while the breaker is open sees it open
    with its counters and opened_at unchanged, and is rejected."""
    breaker = _breaker(redis_server, "joins", fail_max=2, reset_timeout=60)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            breaker.call(lambda: 1 / 0)
    before = breaker.store.read()
    assert before is not None and before["state"] is State.OPEN
    seen = _in_process(
        redis_server,
        "b = SharedCircuitBreaker(BreakerConfig(fail_max=2, reset_timeout=60), redis=client, name='joins')\n"
        "try:\n"
        "    b.call(lambda: 'ran')\n"
        "    verdict = 'admitted'\n"
        "except Exception as exc:\n"
        "    verdict = type(exc).__name__\n"
        "print(json.dumps({'verdict': verdict, 'state': b.store.read()['state'].value,"
        " 'opened_at': b.store.read()['opened_at'], 'generation': b.store.read()['generation']}))\n",
    )
    assert seen == {"verdict": "CircuitOpenError", "state": "open", "opened_at": before["opened_at"],
                    "generation": before["generation"]}
    assert breaker.stats.rejections == 1  # the other process's rejection is in the shared totals
    breaker.store.delete()


def test_the_server_clock_rules_even_when_the_callers_clocks_disagree(redis_server: Any) -> None:
    """Events are timed by the Redis server: a process whose own clock runs a day ahead
    (time-machine) is told the same remaining open time as one whose clock is right."""
    breaker = _breaker(redis_server, "clock", fail_max=1, reset_timeout=30)
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    server_now = float(".".join(str(int(x)) for x in redis_server.client().time()))
    opened_at = breaker.store.read()["opened_at"]  # type: ignore[index]
    assert abs(float(opened_at) - server_now) < 5  # the server's time, not a process's monotonic clock
    seen = _in_process(
        redis_server,
        "import time_machine, time\n"
        "with time_machine.travel(time.time() + 86400, tick=True):\n"
        "    b = SharedCircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=30), redis=client, name='clock')\n"
        "    try:\n"
        "        b.acquire()\n"
        "        remaining = None\n"
        "    except Exception as exc:\n"
        "        remaining = exc.remaining_s\n"
        "print(json.dumps({'remaining': remaining, 'local_clock': time.time()}))\n",
    )
    assert seen["remaining"] is not None and 20 < seen["remaining"] <= 30
    with pytest.raises(CircuitOpenError) as rejected:
        breaker.acquire()
    assert 20 < rejected.value.remaining_s <= 30
    breaker.store.delete()


def test_half_open_admits_one_probe_fleet_wide_after_real_time_passes(redis_server: Any) -> None:
    """After reset_timeout of server time, one process gets the probe; another process is
    rejected while it is out; the probe's success closes the breaker for both."""
    breaker = _breaker(redis_server, "probe", fail_max=1, reset_timeout=0.2)
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    time.sleep(0.25)
    probe = breaker.acquire()
    assert probe.is_probe and probe.state is State.HALF_OPEN
    seen = _in_process(
        redis_server,
        "b = SharedCircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=0.2), redis=client, name='probe')\n"
        "try:\n"
        "    b.acquire(); verdict = 'admitted'\n"
        "except Exception as exc:\n"
        "    verdict = type(exc).__name__ + ':' + exc.state.value\n"
        "print(json.dumps({'verdict': verdict}))\n",
    )
    assert seen == {"verdict": "CircuitOpenError:half_open"}
    breaker.record_success(probe)
    assert breaker.state is State.CLOSED
    breaker.store.delete()


def test_a_late_result_from_another_generation_is_stale_across_processes(redis_server: Any) -> None:
    """A call admitted while closed that finishes after another process tripped the breaker is
    stale: under the default late-result policy it changes nothing."""
    clock = ManualClock()
    slow = _breaker(redis_server, "stale", fail_max=1, reset_timeout=10, clock=clock)
    other = _breaker(redis_server, "stale", fail_max=1, reset_timeout=10, clock=clock)
    permit = slow.acquire()
    with pytest.raises(ZeroDivisionError):
        other.call(lambda: 1 / 0)
    before = slow.store.read()
    slow.record_failure(permit)
    assert slow.store.read() == before  # nothing changed (a current failure would restart T)
    assert slow.stats.failures == 2  # but the outcome is counted, once
    slow.store.delete()


def test_settling_twice_is_refused_and_a_resent_settlement_changes_nothing(redis_server: Any) -> None:
    """A permit is settled once per process (PermitError), and the store ignores a second
    delivery of the same settlement (what a retry after a lost reply sends)."""
    breaker = _breaker(redis_server, "twice", fail_max=3)
    permit = breaker.acquire()
    breaker.record_failure(permit)
    with pytest.raises(PermitError, match="already settled"):
        breaker.record_failure(permit)
    before = breaker.store.read(), breaker.stats
    reply = breaker.store.perform("record_failure", token=permit.token)
    assert reply.status == "duplicate" and not reply.performed
    assert (breaker.store.read(), breaker.stats) == before
    assert breaker.store.outstanding() == 0
    breaker.store.delete()


def test_names_and_namespaces_keep_breakers_apart_and_configurations_are_checked(redis_server: Any) -> None:
    """Each (namespace, name) is its own breaker; a process with another configuration for
    the same name is refused rather than mixing two breakers; bad names are refused."""
    a = _breaker(redis_server, "apart", fail_max=1)
    b = _breaker(redis_server, "apart", fail_max=1, namespace="staging")
    with pytest.raises(ZeroDivisionError):
        a.call(lambda: 1 / 0)
    assert a.state is State.OPEN and b.state is State.CLOSED
    assert keys_for("apart", "staging")[0] == "staging:breakerlab:{apart}:state"
    other = _breaker(redis_server, "apart", fail_max=2)
    with pytest.raises(ConfigMismatchError, match="another configuration"):
        other.acquire()
    with pytest.raises(ValueError, match="cannot name Redis keys"):
        _breaker(redis_server, "bad name!")
    with pytest.raises(TypeError, match="not both"):
        SharedCircuitBreaker(BreakerConfig(), redis=redis_server.client(), fail_max=2)
    with pytest.raises(TypeError, match="unknown breaker option"):
        SharedCircuitBreaker(redis=redis_server.client(), fial_max=2)
    with pytest.raises(ValueError, match="on_store_error"):
        _breaker(redis_server, "apart", on_store_error="retry")
    with pytest.raises(TypeError, match="redis.Redis"):
        SharedCircuitBreaker(redis="localhost")  # type: ignore[arg-type]
    a.store.delete()
    b.store.delete()


def test_every_way_of_calling_and_manual_control(redis_server: Any) -> None:
    """call, the decorator, with, async with, call_async, and the manual events all go
    through the store; listeners hear this process's events."""
    import asyncio

    heard: list[str] = []

    class Listener:
        def state_change(self, change: Any) -> None:
            heard.append(f"{change.source.value}->{change.dest.value}:{change.cause}")

        def rejection(self, rejection: Any) -> None:
            heard.append(f"rejected:{rejection.cause}")

    breaker = _breaker(redis_server, "ways", fail_max=2, reset_timeout=60)
    breaker.add_listener(Listener())
    assert breaker.call(lambda: "ok") == "ok"

    @breaker
    def decorated() -> str:
        return "decorated"

    assert decorated() == "decorated"
    with breaker:
        pass

    async def coroutine() -> str:
        async with breaker:
            pass
        return await breaker.call_async(asyncio.sleep, 0, "async")

    assert asyncio.run(coroutine()) == "async"
    assert breaker.stats.successes == 5
    breaker.force_open()
    with pytest.raises(CircuitOpenError) as rejected:
        breaker.acquire()
    assert math.isinf(rejected.value.remaining_s) and breaker.time_until_half_open() == math.inf
    breaker.reset()
    assert breaker.state is State.CLOSED
    assert heard == ["closed->forced_open:force_open", "rejected:rejected_forced_open", "forced_open->closed:reset"]
    breaker.store.delete()


def test_the_merged_logs_of_several_processes_replay_clean(redis_server: Any, tmp_path: pathlib.Path) -> None:
    """Two processes log their own events with the fleet-wide seq; merged, the history replays
    on the reference model without a mismatch (and a tampered merge does not)."""
    clock = ManualClock()
    logs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    breakers = [
        _breaker(redis_server, "logged", fail_max=2, reset_timeout=1.0, clock=clock, event_log=str(path))
        for path in logs
    ]
    a, b = breakers
    permits = [a.acquire(), b.acquire(), a.acquire()]
    a.record_failure(permits[0])
    b.record_failure(permits[1])  # trips
    with pytest.raises(CircuitOpenError):
        b.acquire()
    a.record_success(permits[2])  # stale
    clock.advance(1.0)
    probe = b.acquire()
    a.trip()  # a manual trip by another process: the late probe success is stale
    b.record_success(probe)
    for breaker in breakers:
        breaker.close()
    merged = tmp_path / "merged.jsonl"
    assert merge_event_logs(logs, merged) == 10
    report = replay_log(merged)
    assert report.ok, report.mismatch
    from breakerlab.cli import main

    assert main(["replay", *map(str, logs)]) == 0  # the command merges them itself
    (tmp_path / "bad.jsonl").write_text(logs[0].read_text().splitlines()[0] + "\n{not json\n")
    assert main(["replay", str(logs[0]), str(tmp_path / "bad.jsonl")]) == 2
    assert main(["replay", str(logs[0]), str(logs[0])]) == 2  # the same log twice: seq repeats
    lines = merged.read_text().splitlines()
    record = json.loads(lines[4])
    record["dest"] = "closed" if record["dest"] != "closed" else "open"
    lines[4] = json.dumps(record)
    merged.write_text("\n".join(lines) + "\n")
    assert not replay_log(merged).ok
    a.store.delete()


def test_the_documented_examples_run(redis_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's and the shared breaker's README's Python examples run as written (their
    ``redis.Redis()`` pointed at the test server)."""
    import re

    import redis as redis_module

    socket = redis_server.socket

    class TestRedis(redis_module.Redis):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(unix_socket_path=socket)

    monkeypatch.setattr(redis_module, "Redis", TestRedis)
    for path in (ROOT / "README.md", ROOT / "model" / "runtime" / "shared" / "README.md"):
        blocks = [b for b in re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL) if "SharedCircuitBreaker" in b]
        assert blocks, path
        for block in blocks:
            namespace: dict[str, Any] = {}
            exec(compile(block, str(path), "exec"), namespace)
            breaker = namespace["breaker"]
            assert breaker.call(lambda: "ok") == "ok"
            breaker.store.delete()

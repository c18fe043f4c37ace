"""The shared breaker when its Redis is down, restarting or slow: the real redis-server is
stopped and restarted mid-run (its append-only file keeps the data), or blocked with
``DEBUG SLEEP``. Each ``on_store_error`` policy does what it says, and when the store returns
nothing is lost (settlements kept while it was away are sent) and nothing is counted twice."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from breakerlab.model import CircuitOpenError, State
from breakerlab.runtime.shared import SharedCircuitBreaker, StoreUnavailableError


def _breaker(server: Any, name: str, policy: str, **options: Any) -> SharedCircuitBreaker:
    return SharedCircuitBreaker(
        redis=server.client(), name=name, on_store_error=policy, store_timeout_s=0.2, store_retry_s=0.0, **options
    )


def _wait_until_blocked(server: Any) -> None:
    """Return once the server has stopped answering (DEBUG SLEEP has begun), however slowly
    the blocking thread got going on a loaded machine. A raw socket: redis-py retries timeouts."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.05)
            probe.connect(server.socket)
            probe.sendall(b"PING\r\n")
            try:
                probe.recv(16)
            except TimeoutError:
                return
        time.sleep(0.005)
    raise AssertionError("DEBUG SLEEP never blocked the server")


def _fail() -> None:
    raise RuntimeError("down")


def test_local_fallback_through_a_restart_loses_and_doubles_nothing(redis_server: Any) -> None:
    """Permits admitted before the outage and settled during it are sent once the server is
    back; calls during the outage are decided by the local breaker (which trips on its own)."""
    breaker = _breaker(redis_server, "restart", "local", fail_max=3)
    heard: list[str] = []

    class Listener:
        def state_change(self, change: Any) -> None:
            heard.append(f"{change.source.value}->{change.dest.value}")

    breaker.add_listener(Listener())
    first, second = breaker.acquire(), breaker.acquire()
    assert first.where == second.where == "shared"
    redis_server.stop()
    try:
        breaker.record_success(first)
        breaker.record_failure(second)
        assert breaker.pending_settlements == 2
        assert breaker.call(lambda: "ok") == "ok"  # decided locally
        for _ in range(3):
            with pytest.raises(RuntimeError):
                breaker.call(_fail)
        with pytest.raises(CircuitOpenError):
            breaker.call(lambda: "rejected by the local breaker")
        assert breaker.local is not None and breaker.local.state is State.OPEN
        assert heard == ["closed->open"]  # the local breaker's trip, heard by this process's listeners
        assert breaker.state is State.OPEN  # the local state while the store is away
    finally:
        redis_server.start()
    assert breaker.call(lambda: "shared again") == "shared again"
    assert breaker.pending_settlements == 0
    stats = breaker.stats
    assert (stats.admitted, stats.successes, stats.failures) == (3, 2, 1)
    assert breaker.store.outstanding() == 0
    assert breaker.flush() == 0 and breaker.stats == stats  # nothing is sent twice
    local = breaker.local.stats
    assert (local.admitted, local.successes, local.failures, local.rejections) == (4, 1, 3, 1)
    breaker.store.delete()


def test_fail_closed_rejects_and_fail_open_admits_unguarded_while_the_store_is_down(redis_server: Any) -> None:
    closed = _breaker(redis_server, "closed-policy", "fail_closed")
    opened = _breaker(redis_server, "open-policy", "fail_open")
    assert closed.call(lambda: 1) == opened.call(lambda: 1) == 1
    redis_server.stop()
    try:
        with pytest.raises(StoreUnavailableError, match="store unavailable"):
            closed.call(lambda: "never runs")
        assert opened.call(lambda: "unguarded") == "unguarded"
        assert opened.unguarded_calls == 1
    finally:
        redis_server.start()
    assert closed.call(lambda: 2) == 2 and closed.stats.admitted == 2
    assert opened.stats.admitted == 1  # the unguarded call was never the shared breaker's
    closed.store.delete()
    opened.store.delete()


def test_a_slow_store_times_out_and_the_orphaned_admission_is_released(redis_server: Any) -> None:
    """While the server is blocked, an admission times out after store_timeout_s (the call is
    decided locally); the admission may still run on the server, so its release is sent when
    the store answers again: no permit stays outstanding, no probe slot leaks."""
    breaker = _breaker(redis_server, "slow", "local", fail_max=2)
    breaker.call(lambda: "warm")
    blocker = threading.Thread(target=lambda: redis_server.client().execute_command("DEBUG", "SLEEP", "1.0"))
    blocker.start()
    _wait_until_blocked(redis_server)
    try:
        permit = breaker.acquire()
        assert permit.where == "local"
        breaker.record_success(permit)
    finally:
        blocker.join()
    assert breaker.pending_settlements == 1  # the orphan's release
    assert breaker.store_errors >= 1
    breaker.call(lambda: "back")
    assert breaker.pending_settlements == 0
    stats = breaker.stats
    assert breaker.store.outstanding() == 0
    # the orphaned admission ran on the server (it was queued behind DEBUG SLEEP) and was released
    assert (stats.admitted, stats.successes, stats.released) == (3, 2, 1)
    breaker.store.delete()

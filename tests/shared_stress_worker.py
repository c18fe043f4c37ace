"""One process of the shared breaker's stress test (tests/test_shared_stress.py): several
threads call a flaky function through one SharedCircuitBreaker and count what they saw."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import redis

from breakerlab.model import BreakerConfig, CircuitOpenError

CONFIG = dict(fail_max=3, reset_timeout=0.02, half_open_max_calls=2, success_threshold=2)
REJECTED_BACKOFF_S = 0.01


class Flaky(Exception):
    """The flaky function's failure."""


def run_process(socket: str, name: str, log: str, index: int, threads: int, calls: int) -> dict[str, Any]:
    """Run ``threads`` threads of ``calls`` calls each; returns what the callers observed."""
    from breakerlab.runtime.shared import SharedCircuitBreaker

    breaker = SharedCircuitBreaker(
        BreakerConfig(**CONFIG), redis=redis.Redis(unix_socket_path=socket), name=name, event_log=log,
        on_store_error="fail_closed", store_timeout_s=5.0,
    )
    counts = {"success": 0, "failure": 0, "rejected": 0}
    lock = threading.Lock()

    def caller(seed: int) -> None:
        rng = random.Random(seed)

        def flaky() -> str:
            time.sleep(rng.random() * 0.002)
            if rng.random() < 0.4:
                raise Flaky()
            return "ok"

        for _ in range(calls):
            try:
                breaker.call(flaky)
                outcome = "success"
            except Flaky:
                outcome = "failure"
            except CircuitOpenError:
                outcome = "rejected"
                # a rejected caller backs off for a while, as real callers do; so the run
                # spans many reset timeouts however fast the machine rejects
                time.sleep(REJECTED_BACKOFF_S * (0.5 + rng.random()))
            with lock:
                counts[outcome] += 1

    workers = [threading.Thread(target=caller, args=(index * 1000 + t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    breaker.close()
    counts["store_errors"] = breaker.store_errors
    counts["pending"] = breaker.pending_settlements
    return counts

"""Named random streams, each split from one recorded seed (numpy ``SeedSequence``).

Every random number of a run comes from one of these streams, never from global state. A
stream depends only on the seed and its name, so adding a stream, or drawing more from one,
leaves the others unchanged; and every policy of a run (the breaker, each baseline) and every
breaker setting of a sweep reads the same numbers (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

from .errors import InvalidConfigError

__all__ = ["STREAMS", "check_seed", "stream"]

#: The streams a run uses, and what each one draws.
STREAMS = {
    "arrivals": "request arrival times (unit-rate Poisson points, mapped through the rate)",
    "balancer": "one instance per request for a fleet's random load balancer",
    "errors": "one uniform per attempt: it fails fast if below the trace's error rate",
    "latency": "one log-normal base latency per attempt (the service time for `capacity`)",
    "retry_jitter": "one uniform per attempt: the jitter of the backoff before its retry",
    "trace": "random trace families (e.g. the up and down periods of flapping_random)",
}


def check_seed(seed: object) -> int:
    """``seed`` as an int, or ``InvalidConfigError`` if it is not an int in [0, 2**63)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise InvalidConfigError("seed", "an int in [0, 2**63)", seed)
    return int(seed)


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` for ``seed`` (the same on every machine and process)."""
    if name not in STREAMS:
        raise InvalidConfigError("stream", f"one of {', '.join(STREAMS)}", name)
    key = zlib.crc32(name.encode("ascii"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=check_seed(seed), spawn_key=(key,))))

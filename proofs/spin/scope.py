"""What SPIN can check: the configurations a finite Promela model exists for, in whole ticks.

Supported: ``trip_rule="consecutive"`` with ``jitter_ratio=0`` and whole-tick durations (and a
capped backoff). The window trip rules (which need the window's history) are covered by the z3
proofs and the Hypothesis tests instead; other configurations raise ``ValueError``.
"""

from __future__ import annotations

import math

from breakerlab.model import BreakerConfig
from breakerlab.model.config import OpenDurationPolicy, TripRule

__all__ = ["check_config", "whole"]


def check_config(config: BreakerConfig) -> None:
    """Raise ``ValueError`` unless SPIN can model ``config`` (see the module docstring)."""
    if config.trip_rule is not TripRule.CONSECUTIVE:
        raise ValueError(
            f"'trip_rule' must be 'consecutive' for SPIN (got {config.trip_rule.value!r}); "
            "window rules are checked by the z3 proofs and the Hypothesis tests"
        )
    if config.jitter_ratio != 0:
        raise ValueError(f"'jitter_ratio' must be 0 for SPIN (got {config.jitter_ratio!r})")
    ticks = {"reset_timeout": config.reset_timeout, "half_open_max_wait": config.half_open_max_wait}
    if config.open_duration_policy is OpenDurationPolicy.EXPONENTIAL:
        if config.backoff_cap is None:
            raise ValueError("'backoff_cap' must be set for SPIN (got None): an uncapped backoff has no finite model")
        ticks |= {"backoff_factor": config.backoff_factor, "backoff_cap": config.backoff_cap}
    for name, value in ticks.items():
        if value is not None and value != int(value):
            raise ValueError(f"'{name}' must be a whole number of ticks for SPIN (got {value!r})")


def whole(value: object, where: object) -> int:
    """``value`` as an int; ``ValueError`` (naming ``where``) unless it is a whole number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
        raise ValueError(f"constant {value!r} in {where} is not a whole number; SPIN models integers only")
    return int(value)

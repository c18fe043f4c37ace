"""Where well-known libraries' defaults fall on a ``fail_max`` × ``reset_timeout`` grid, so sweep
plots can mark them.

pybreaker, gobreaker, circuitbreaker and cockatiel (its ConsecutiveBreaker) count consecutive
failures as our default trip rule does: their marks are their model presets' two knobs
(``breakerlab.model.presets``). Hystrix, Resilience4j and opossum trip on an error *rate* over a
rolling window: their marks are approximations on this grid, and each note says when they hold
(their model presets have the window rules).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from breakerlab.model import presets as model_presets

from .errors import InvalidConfigError

__all__ = ["PRESETS", "Preset", "PresetMark", "preset_marks"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Preset:
    """One library's defaults as our breaker's two main knobs.

    Attributes:
        name: The library, as labelled in plots (``"pybreaker"``, ``"Hystrix-like"``, ...).
        fail_max: Consecutive failures that open the breaker (the failure that trips it is the
            ``fail_max``-th); an integer ≥ 1.
        reset_timeout_s: Seconds the breaker stays open before it admits a probe; finite, > 0.
        note: Where the numbers come from, and how far the mapping is exact.
    """

    name: str
    fail_max: int
    reset_timeout_s: float
    note: str

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidConfigError("name", "a non-empty string", self.name)
        if isinstance(self.fail_max, bool) or not isinstance(self.fail_max, int) or self.fail_max < 1:
            raise InvalidConfigError("fail_max", "an integer >= 1", self.fail_max)
        if not math.isfinite(self.reset_timeout_s) or self.reset_timeout_s <= 0:
            raise InvalidConfigError("reset_timeout_s", "a finite number of seconds > 0", self.reset_timeout_s)



def _consecutive(name: str) -> Preset:
    """A library whose model preset counts consecutive failures: its two knobs, exactly."""
    library = model_presets.preset_named(name)
    options = library.options
    return Preset(
        name=name,
        fail_max=int(options["fail_max"]),
        reset_timeout_s=float(options["reset_timeout"]),
        note=f"exact for the trip rule: breakerlab.model.presets[{name!r}] ({library.provenance})",
    )


#: The presets, in the order plots list them.
PRESETS: tuple[Preset, ...] = (
    _consecutive("pybreaker"),
    Preset(
        name="Hystrix-like",
        fail_max=20,
        reset_timeout_s=5.0,
        note="approximation: Hystrix opens when a rolling 10 s window holds at least 20 requests "
        "(requestVolumeThreshold) with an error rate >= 50% (errorThresholdPercentage), checked every "
        "500 ms, and sleeps 5 s (sleepWindowInMilliseconds). fail_max=20 matches it when the window starts "
        "empty (e.g. just after it closed) and the service fails every call; after a healthy period at r "
        "requests/s it opens after about 5 s of hard failure (5*r failures, so 20 at 4 rps) and never "
        "below 2 rps. BreakerConfig.preset('hystrix') has the window rule itself.",
    ),
    Preset(
        name="Resilience4j-like",
        fail_max=50,
        reset_timeout_s=60.0,
        note="approximation: Resilience4j opens when the last 100 calls (slidingWindowSize, "
        "minimumNumberOfCalls=100) fail at a rate >= 50% (failureRateThreshold) and waits 60 s "
        "(waitDurationInOpenState). fail_max=50 matches a hard failure after a full window of "
        "successes (the 50th failure brings the rate to 50%); from an empty window it needs 100 calls. "
        "BreakerConfig.preset('resilience4j') has the window rule and its 10 rate-decided probes.",
    ),
    _consecutive("gobreaker"),
    _consecutive("circuitbreaker"),
    _consecutive("cockatiel"),
    Preset(
        name="opossum-like",
        fail_max=1,
        reset_timeout_s=float(model_presets.preset_named("opossum").options["reset_timeout"]),
        note="approximation: opossum (measured, breakerlab.model.presets['opossum']) opens when a failure "
        "brings failures / fires over its rolling 10 s window above 50% (errorThresholdPercentage, exceeded), "
        "with volumeThreshold 0, and re-tries after 30 s (resetTimeout). fail_max=1 matches it when the "
        "window starts empty (e.g. 10 s after it last saw traffic); after a healthy period at r requests/s "
        "it opens after about 5 s of hard failure (5*r failures). BreakerConfig.preset('opossum') has the "
        "window rule itself.",
    ),
)


@dataclasses.dataclass(frozen=True)
class PresetMark:
    """Where a library preset falls on a (fail_max, reset_timeout) grid.

    Attributes:
        preset: The preset.
        row: Index into the sorted fail_max values.
        column: Index into the sorted reset_timeout values.
        exact: The preset's values are grid values; otherwise ``(row, column)`` is the nearest
            grid cell (nearest on a log scale when every grid value is positive).
    """

    preset: Preset
    row: int
    column: int
    exact: bool

    @property
    def label(self) -> str:
        """The preset's name, prefixed with ``≈`` when the cell is only the nearest."""
        return self.preset.name if self.exact else f"≈{self.preset.name}"


def preset_marks(
    presets: Sequence[Preset], fail_max_values: Sequence[float], reset_timeout_values: Sequence[float]
) -> list[PresetMark]:
    """The grid cell of each preset that lies within the grid's range (others are omitted).

    Args:
        presets: The presets to place.
        fail_max_values: The grid's fail_max values, sorted ascending.
        reset_timeout_values: The grid's reset_timeout values (seconds), sorted ascending.
    """
    marks = []
    for preset in presets:
        placed = [_nearest(value, grid) for value, grid in
                  ((preset.fail_max, fail_max_values), (preset.reset_timeout_s, reset_timeout_values))]
        if placed[0] is not None and placed[1] is not None:
            (row, exact_row), (column, exact_column) = placed[0], placed[1]
            marks.append(PresetMark(preset, row, column, exact_row and exact_column))
    return marks


def _nearest(value: float, grid: Sequence[float]) -> tuple[int, bool] | None:
    """``(index of the nearest grid value, whether it is equal)``; None outside the grid's range."""
    values = np.asarray(grid, dtype=float)
    if not len(values) or not values[0] <= value <= values[-1]:
        return None
    if values[0] > 0:
        index = int(np.argmin(np.abs(np.log(values) - math.log(value))))
    else:
        index = int(np.argmin(np.abs(values - value)))
    return index, bool(np.isclose(values[index], value, rtol=1e-9, atol=1e-12))

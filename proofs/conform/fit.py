"""Fitting a library's semantic fingerprint: the model options that reproduce its catalogue runs.

The option space has two parts. The **grid** (``CANDIDATE_OPTIONS``: the options on which the
Python libraries disagree, plus the whole-call lock; 1,152 candidates) is searched whole. The
**dimensions** (``DIMENSIONS``: the trip rule with its window, minimum volume and rate
equality; exponential backoff of the open time; callers waiting in half-open; the library's
own call timeout) are searched one at a time: each variant of a dimension is tried with the
others kept, on the grid's best candidate and its one-option neighbours; the best improvement
is taken and the whole grid searched again under it, until nothing improves (coordinate
descent from the model's defaults; every grid search is branch and bound, dropping a
candidate once it misses as many scenarios as the best so far). This keeps a fit a few
seconds long where the full product would be 46,080 candidates; the dimensions are nearly independent of the grid (each is decided by its own
scenarios: ``volume_and_dilution``, ``rate_equality_at_volume`` and ``window_ageing`` the trip
rule, ``backoff`` the open time, ``half_open_concurrency`` the waiting, ``call_timeout`` the
timeout).

The candidates that agree with every scenario are the fingerprint. When several agree, the
options on which they differ are *undetermined* by the catalogue (reported as such), and the
first in search order (the model's defaults first) is chosen. When none agrees, the closest
candidate is reported with the scenarios it cannot reproduce: behaviour no option explains, a
candidate bug in the library (or in us).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from breakerlab.model.config import BreakerConfig
from breakerlab.model.presets import UNLIMITED_PROBES, LibraryPreset

from .catalogue import CALL_TIMEOUT_S, CATALOGUE, FAIL_MAX, RESET_TIMEOUT_S, WINDOW_S
from .model_adapter import ModelAdapter, comparable
from .script import Excluded, Observation

__all__ = [
    "ADAPTER_OPTIONS",
    "CANDIDATE_OPTIONS",
    "DIMENSIONS",
    "FINGERPRINT_OPTIONS",
    "Fit",
    "adapter_for",
    "candidates",
    "fit_fingerprint",
    "matching_candidates",
    "model_runs",
    "preset_differences",
    "preset_options",
]

#: The grid: options a fingerprint is made of, each with its candidate values (defaults first).
CANDIDATE_OPTIONS: dict[str, tuple[Any, ...]] = {
    "trip_error": ("original", "circuit_open"),
    "admit_at_deadline": (True, False),
    "half_open_entry": ("lazy", "at_deadline"),
    "half_open_limit": ("per_episode", "concurrent"),
    "half_open_max_calls": (1, UNLIMITED_PROBES),
    "late_result": ("ignore", "current_state", "admitting_state"),
    "excluded_outcome": ("neutral", "success"),
    "cancellation_outcome": ("release", "failure", "success"),
    "serializes_calls": (False, True),
}

#: A rate rule as the catalogue configures it: at least ``fail_max`` outcomes, 50% failures.
_RATE = {"minimum_calls": FAIL_MAX, "failure_rate_threshold": 0.5}

#: The dimensions: each a tuple of variants (option values set together), the default first.
DIMENSIONS: dict[str, tuple[dict[str, Any], ...]] = {
    "trip_rule": (
        {"trip_rule": "consecutive"},
        {"trip_rule": "time_window", "window_duration": WINDOW_S, **_RATE, "trip_on_equal_rate": True},
        {"trip_rule": "time_window", "window_duration": WINDOW_S, **_RATE, "trip_on_equal_rate": False},
        {"trip_rule": "count_window", "window_size": 2 * FAIL_MAX, **_RATE, "trip_on_equal_rate": True},
        {"trip_rule": "count_window", "window_size": 2 * FAIL_MAX, **_RATE, "trip_on_equal_rate": False},
    ),
    "open_duration_policy": (
        {"open_duration_policy": "fixed"},
        {"open_duration_policy": "exponential", "backoff_factor": 2.0},
    ),
    "half_open_waits": ({"half_open_waits": False}, {"half_open_waits": True}),
    "call_timeout": ({"call_timeout": None}, {"call_timeout": CALL_TIMEOUT_S}),
}

#: Options that are properties of the library's call path, not ``BreakerConfig`` options.
ADAPTER_OPTIONS = ("serializes_calls", "half_open_waits")

#: What a preset must agree with the fit on (thresholds such as ``minimum_calls`` are the
#: catalogue's settings, not the library's defaults, and ``call_timeout`` only by presence).
FINGERPRINT_OPTIONS: tuple[str, ...] = (
    *CANDIDATE_OPTIONS, "trip_rule", "trip_on_equal_rate", "open_duration_policy", "half_open_waits", "call_timeout",
)

Run = Mapping[str, tuple[Observation, ...]]
#: Which variant of each dimension, by index, in ``DIMENSIONS`` order.
Variants = tuple[int, ...]
_DEFAULTS: Variants = (0,) * len(DIMENSIONS)
_WAITS = list(DIMENSIONS).index("half_open_waits")


def candidates() -> list[dict[str, Any]]:
    """Every combination of ``CANDIDATE_OPTIONS`` (the grid), in grid order."""
    names = list(CANDIDATE_OPTIONS)
    return [dict(zip(names, values)) for values in itertools.product(*CANDIDATE_OPTIONS.values())]


def adapter_for(candidate: Mapping[str, Any]) -> ModelAdapter:
    """The model adapter for a candidate (grid options, and any dimension options), configured
    for the catalogue."""
    options = {k: v for k, v in candidate.items() if k not in ADAPTER_OPTIONS}
    adapter = ModelAdapter(
        options,
        serializes_calls=bool(candidate.get("serializes_calls", False)),
        half_open_waits=bool(candidate.get("half_open_waits", False)),
    )
    adapter.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded,))
    return adapter


def model_runs(candidate: Mapping[str, Any], names: Sequence[str] | None = None) -> dict[str, tuple[Observation, ...]]:
    """The catalogue's observations of the model configured with ``candidate``."""
    adapter = adapter_for(candidate)
    return {name: adapter.run(CATALOGUE[name].steps) for name in (names or list(CATALOGUE))}


@dataclasses.dataclass(frozen=True)
class Fit:
    """A library's fingerprint.

    Attributes:
        options: The chosen candidate: ``BreakerConfig`` options (the grid's and the
            dimensions') plus ``serializes_calls`` and ``half_open_waits``.
        matching: How many of the candidates searched reproduce every scenario (0: none does).
        undetermined: Options on which the matching candidates differ (the catalogue cannot
            tell their values apart for this library).
        unexplained: Scenarios the chosen candidate does not reproduce (empty when it matches).
    """

    options: dict[str, Any]
    matching: int
    undetermined: tuple[str, ...]
    unexplained: tuple[str, ...]

    @property
    def exact(self) -> bool:
        """Some candidate reproduces every scenario."""
        return self.matching > 0

    def config_options(self) -> dict[str, Any]:
        """The ``BreakerConfig`` options, without ``serializes_calls`` and ``half_open_waits``."""
        return {k: v for k, v in self.options.items() if k not in ADAPTER_OPTIONS}


@functools.cache
def _candidate_list() -> tuple[dict[str, Any], ...]:
    return tuple(candidates())


def _redundant(index: int, variants: Variants) -> bool:
    """Waiting in half-open is not a separate candidate where no caller could wait there: a
    whole-call lock already makes every caller wait, and unlimited probes reject none."""
    waits = DIMENSIONS["half_open_waits"][variants[_WAITS]]["half_open_waits"]
    candidate = _candidate_list()[index]
    return bool(waits and (candidate["serializes_calls"] or candidate["half_open_max_calls"] == UNLIMITED_PROBES))


def _candidate(index: int, variants: Variants) -> dict[str, Any]:
    options = dict(_candidate_list()[index])
    for variant, choices in zip(variants, DIMENSIONS.values()):
        options.update(choices[variant])
    return options


@functools.cache
def _model_observations(index: int, variants: Variants, name: str) -> tuple[tuple[Any, ...], ...]:
    """The model's observations (comparable form) of scenario ``name`` under grid candidate
    ``index`` with the dimensions' ``variants``, computed once per process and only when asked for."""
    return tuple(comparable(o) for o in adapter_for(_candidate(index, variants)).run(CATALOGUE[name].steps))


def _observed(library: Run) -> dict[str, tuple[tuple[Any, ...], ...]]:
    return {name: tuple(comparable(o) for o in runs) for name, runs in library.items()}


def _misses(index: int, variants: Variants, observed: Mapping[str, Any], bound: int) -> tuple[str, ...]:
    """The scenarios candidate (``index``, ``variants``) does not reproduce, counted only up
    to ``bound`` (a candidate is dropped as soon as it cannot beat the best so far)."""
    failed: list[str] = []
    for name, runs in observed.items():
        if _model_observations(index, variants, name) != runs:
            failed.append(name)
            if len(failed) >= bound:
                break
    return tuple(failed)


def _grid_best(
    observed: Mapping[str, Any], variants: Variants, bound: int | None = None, first: Sequence[str] = ()
) -> tuple[int, tuple[str, ...]]:
    """The grid's closest candidate under ``variants`` (fewest misses, then grid order), by
    branch and bound: exactly what scoring every candidate on every scenario gives. With
    ``bound``, only a candidate missing fewer scenarios counts (index -1: none does).
    Scenarios named in ``first`` (those the best so far misses, which most candidates miss
    too) are compared first, so that a candidate reaches the bound after few model runs."""
    best_index: int = -1
    best_failed: tuple[str, ...] = ()
    bound = len(observed) + 1 if bound is None else bound
    observed = {**{name: observed[name] for name in first}, **observed}
    for index in range(len(_candidate_list())):
        if _redundant(index, variants):
            continue
        failed = _misses(index, variants, observed, bound)
        if len(failed) < bound:
            best_index, best_failed, bound = index, failed, len(failed)
            if bound == 0:
                break
    return best_index, tuple(name for name in observed if name in best_failed)


def _grid_matches(observed: Mapping[str, Any], variants: Variants) -> list[int]:
    return [
        index for index in range(len(_candidate_list()))
        if not _redundant(index, variants) and not _misses(index, variants, observed, 1)
    ]


@functools.cache
def _neighbours(index: int) -> tuple[int, ...]:
    """``index`` and the grid candidates that differ from it in one option, in grid order."""
    grid = _candidate_list()
    here = grid[index]
    return tuple(i for i, other in enumerate(grid) if sum(other[k] != here[k] for k in CANDIDATE_OPTIONS) <= 1)


def _descend(observed: Mapping[str, Any]) -> tuple[int, Variants, tuple[str, ...]]:
    """Coordinate descent over the dimensions, from the defaults and the grid's best: each
    round tries every other variant of every dimension with the current grid candidate and
    its one-option neighbours (so that a variant needing one grid option changed, such as
    half-open waiting without the whole-call lock, is seen), takes the variant missing fewest
    scenarios, and searches the whole grid again under it; until no variant misses fewer."""
    variants = _DEFAULTS
    index, failed = _grid_best(observed, variants)
    while failed:
        best: tuple[int, Variants, tuple[str, ...]] | None = None
        for trial in _one_dimension_changes(variants):
            for near in _neighbours(index):
                if _redundant(near, trial):
                    continue
                to_beat = len(failed) if best is None else len(best[2])
                missed = _misses(near, trial, {**{n: observed[n] for n in failed}, **observed}, to_beat)
                if len(missed) < to_beat:
                    best = (near, trial, missed)
        if best is None:
            break
        variants = best[1]
        index, failed = _grid_best(observed, variants, len(best[2]) + 1, best[2])
    return index, variants, failed


def _one_dimension_changes(variants: Variants) -> Iterator[Variants]:
    """``variants`` with one dimension set to each of its other variants, in order."""
    for position, choices in enumerate(DIMENSIONS.values()):
        for variant in range(len(choices)):
            if variant != variants[position]:
                yield variants[:position] + (variant,) + variants[position + 1:]


def _matching(observed: Mapping[str, Any], index: int, variants: Variants) -> list[dict[str, Any]]:
    """The candidates reproducing every scenario around a fit without misses: the grid under
    its dimensions (the fit's own first), and the fit with any one dimension changed."""
    found = [(i, variants) for i in _grid_matches(observed, variants)]
    found += [(index, trial) for trial in _one_dimension_changes(variants)
              if not _redundant(index, trial) and not _misses(index, trial, observed, 1)]
    return [_candidate(i, v) for i, v in found]


def matching_candidates(library: Run) -> list[dict[str, Any]]:
    """Every searched candidate reproducing all of ``library``'s scenarios: the grid under the
    fitted dimensions, and the fitted candidate with any one dimension changed."""
    observed = _observed(library)
    index, variants, failed = _descend(observed)
    return [] if failed else _matching(observed, index, variants)


def fit_fingerprint(library: Run) -> Fit:
    """Fit the model's options to a library's catalogue observations (``run_catalogue``)."""
    observed = _observed(library)
    index, variants, failed = _descend(observed)
    chosen = _candidate(index, variants)
    if failed:
        return Fit(options=chosen, matching=0, undetermined=(), unexplained=failed)
    matching = _matching(observed, index, variants)
    undetermined = tuple(name for name in chosen if len({repr(c.get(name)) for c in matching}) > 1)
    return Fit(options=matching[0], matching=len(matching), undetermined=undetermined, unexplained=())


def preset_options(preset: LibraryPreset) -> dict[str, Any]:
    """A preset's options as a fit states them: its ``BreakerConfig`` options plus
    ``serializes_calls`` and ``half_open_waits``."""
    return {**preset.options, "serializes_calls": preset.serializes_calls, "half_open_waits": preset.half_open_waits}


def preset_differences(preset: Mapping[str, Any], fit: Fit) -> dict[str, tuple[Any, Any]]:
    """Where a preset's options (``BreakerConfig`` options plus ``serializes_calls`` and
    ``half_open_waits``) disagree with the fit on a determined option of ``FINGERPRINT_OPTIONS``:
    ``{option: (preset, fit)}``. Defaults fill what either leaves out; ``call_timeout`` is
    compared by presence (the catalogue sets its own value)."""
    defaults: dict[str, Any] = {**_candidate(0, _DEFAULTS), "trip_on_equal_rate": BreakerConfig().trip_on_equal_rate}
    differences: dict[str, tuple[Any, Any]] = {}
    for option in FINGERPRINT_OPTIONS:
        if option in fit.undetermined:
            continue
        mine, theirs = preset.get(option, defaults.get(option)), fit.options.get(option, defaults.get(option))
        if option == "trip_on_equal_rate" and fit.options.get("trip_rule", "consecutive") == "consecutive":
            continue
        same = (mine is None) == (theirs is None) if option == "call_timeout" else mine == theirs
        if not same:
            differences[option] = (mine, theirs)
    return differences

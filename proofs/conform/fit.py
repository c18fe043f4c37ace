"""Fitting a library's semantic fingerprint: the model options that reproduce its catalogue runs.

Every candidate is a point of the option space on which libraries disagree (``CANDIDATE_OPTIONS``
plus the whole-call lock). The catalogue's observations of the library are compared, scenario
by scenario, with the model's under each candidate; the candidates that agree everywhere are
the fingerprint. When several agree, the options on which they differ are *undetermined* by
the catalogue (reported as such), and the first in the grid's order (the model's defaults
first) is chosen. When none agrees, the closest candidate is reported with the scenarios it
cannot reproduce: behaviour no option explains, a candidate bug in the library (or in us).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from .catalogue import CATALOGUE, FAIL_MAX, RESET_TIMEOUT_S
from .model_adapter import ModelAdapter, comparable
from .script import Excluded, Observation

__all__ = ["CANDIDATE_OPTIONS", "Fit", "adapter_for", "candidates", "fit_fingerprint", "matching_candidates", "model_runs"]

#: The options a fingerprint is made of, each with its candidate values (defaults first).
CANDIDATE_OPTIONS: dict[str, tuple[Any, ...]] = {
    "trip_error": ("original", "circuit_open"),
    "admit_at_deadline": (True, False),
    "half_open_entry": ("lazy", "at_deadline"),
    "half_open_limit": ("per_episode", "concurrent"),
    "half_open_max_calls": (1, 1_000_000),
    "late_result": ("ignore", "current_state", "admitting_state"),
    "excluded_outcome": ("neutral", "success"),
    "cancellation_outcome": ("release", "failure", "success"),
    "serializes_calls": (False, True),
}

Run = Mapping[str, tuple[Observation, ...]]


def candidates() -> list[dict[str, Any]]:
    """Every combination of ``CANDIDATE_OPTIONS``, in grid order."""
    names = list(CANDIDATE_OPTIONS)
    return [dict(zip(names, values)) for values in itertools.product(*CANDIDATE_OPTIONS.values())]


def adapter_for(candidate: Mapping[str, Any]) -> ModelAdapter:
    options = {k: v for k, v in candidate.items() if k != "serializes_calls"}
    adapter = ModelAdapter(options, serializes_calls=bool(candidate["serializes_calls"]))
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
        options: The chosen candidate (``BreakerConfig`` options plus ``serializes_calls``).
        matching: How many candidates reproduce every scenario (0: none does).
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
        """The ``BreakerConfig`` options, without ``serializes_calls``."""
        return {k: v for k, v in self.options.items() if k != "serializes_calls"}


@functools.cache
def _candidate_list() -> tuple[dict[str, Any], ...]:
    return tuple(candidates())


@functools.cache
def _model_observations(index: int, name: str) -> tuple[tuple[Any, ...], ...]:
    """The model's observations (comparable form) of scenario ``name`` under candidate
    ``index``, computed once per process and only when asked for."""
    return tuple(comparable(o) for o in adapter_for(_candidate_list()[index]).run(CATALOGUE[name].steps))


def _observed(library: Run) -> dict[str, tuple[tuple[Any, ...], ...]]:
    return {name: tuple(comparable(o) for o in runs) for name, runs in library.items()}


def matching_candidates(library: Run) -> list[dict[str, Any]]:
    """Every candidate reproducing all of ``library``'s scenarios (each candidate is dropped at
    its first disagreement, so most cost one or two model runs)."""
    observed = _observed(library)
    return [
        dict(candidate)
        for index, candidate in enumerate(_candidate_list())
        if all(_model_observations(index, name) == runs for name, runs in observed.items())
    ]


def fit_fingerprint(library: Run) -> Fit:
    """Fit the model's options to a library's catalogue observations (``run_catalogue``)."""
    matching = matching_candidates(library)
    undetermined = tuple(name for name in CANDIDATE_OPTIONS if len({repr(c[name]) for c in matching}) > 1)
    if matching:
        return Fit(options=matching[0], matching=len(matching), undetermined=undetermined, unexplained=())
    # No candidate reproduces everything: the closest (fewest scenarios missed, then grid order).
    observed = _observed(library)
    scores = []
    for index, candidate in enumerate(_candidate_list()):
        failed = tuple(name for name, runs in observed.items() if _model_observations(index, name) != runs)
        scores.append((len(failed), index, candidate, failed))
    _, _, best, failed = min(scores, key=lambda item: (item[0], item[1]))
    return Fit(options=dict(best), matching=0, undetermined=(), unexplained=failed)

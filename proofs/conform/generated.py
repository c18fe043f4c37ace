"""Generated event sequences: Hypothesis searches for scripts on which a library and the model
configured with its fingerprint disagree, and shrinks each to a minimal, replayable one.

A divergence is then classified: if another candidate that also reproduces the whole catalogue
reproduces the shrunk script, the catalogue had left an option undetermined and the script
fixes it; if none does, no option of the model explains the library's behaviour there: a
candidate bug in the library (or in us).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from .adapters.base import Adapter
from .catalogue import FAIL_MAX, RESET_TIMEOUT_S
from .fit import adapter_for, matching_candidates
from .model_adapter import comparable
from .script import Advance, Begin, Call, Excluded, Finish, Observation, ReadState, Step, validate_script

__all__ = ["Divergence", "find_divergences", "scripts"]

#: Clock steps around the interesting instants (the deadline, just before and after it).
ADVANCES = (0.001, 1.0, 5.0, RESET_TIMEOUT_S - 0.001, RESET_TIMEOUT_S, RESET_TIMEOUT_S + 0.001, 30.0)
OUTCOME_CHOICES = ("success", "failure", "failure", "excluded", "cancel", "base")


@st.composite
def scripts(draw: st.DrawFn, max_steps: int = 14) -> tuple[Step, ...]:
    """Valid scripts: calls, overlapping calls (``Begin``/``Finish``), clock steps, state reads."""
    steps: list[Step] = []
    in_flight: list[int] = []
    next_id = 1
    for _ in range(draw(st.integers(1, max_steps))):
        kinds = ["call", "trip", "begin", "advance", "state"] + ["finish"] * 2 * bool(in_flight)
        kind = draw(st.sampled_from(kinds))
        if kind == "trip":  # enough failures in a row to open any candidate
            for _ in range(FAIL_MAX):
                steps.append(Call(next_id, "failure"))
                next_id += 1
        elif kind == "call":
            steps.append(Call(next_id, draw(st.sampled_from(OUTCOME_CHOICES))))
            next_id += 1
        elif kind == "begin" and len(in_flight) < 3:
            steps.append(Begin(next_id))
            in_flight.append(next_id)
            next_id += 1
        elif kind == "finish":
            call_id = draw(st.sampled_from(in_flight))
            in_flight.remove(call_id)
            steps.append(Finish(call_id, draw(st.sampled_from(OUTCOME_CHOICES))))
        elif kind == "advance":
            steps.append(Advance(draw(st.sampled_from(ADVANCES))))
        else:
            steps.append(ReadState())
    return validate_script(steps)


@dataclasses.dataclass(frozen=True)
class Divergence:
    """A minimal script on which the library and the model disagree.

    Attributes:
        steps: The shrunk script.
        library: What the library did.
        model: What the model (with the fingerprint) did.
        first: Index of the first differing observation.
        explained_by: Options of another catalogue-matching candidate that reproduce the script
            (empty: no option explains it).
    """

    steps: tuple[Step, ...]
    library: tuple[Observation, ...]
    model: tuple[Observation, ...]
    first: int
    explained_by: Mapping[str, Any]

    @property
    def unexplained(self) -> bool:
        """No candidate reproduces it: a candidate bug in the library (or in the model)."""
        return not self.explained_by

    def signature(self) -> tuple[Any, ...]:
        """What makes two divergences "the same": the kind and results of the first differing
        observations (not the call ids)."""
        lib = comparable(self.library[self.first])[1:3] if self.first < len(self.library) else None
        mod = comparable(self.model[self.first])[1:3] if self.first < len(self.model) else None
        return (lib, mod)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "steps": [repr(step) for step in self.steps],
            "library": [o.brief() for o in self.library],
            "model": [o.brief() for o in self.model],
            "first_difference": self.first,
            "explained_by": dict(self.explained_by),
        }


def _first_difference(library: Sequence[Observation], model: Sequence[Observation]) -> int:
    a, b = [comparable(o) for o in library], [comparable(o) for o in model]
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def find_divergences(
    library: Adapter,
    fingerprint: Mapping[str, Any],
    *,
    examples: int = 60,
    limit: int = 3,
    matching: Sequence[Mapping[str, Any]] = (),
) -> list[Divergence]:
    """Search up to ``examples`` generated scripts for divergences, shrinking each one found;
    at most ``limit`` divergences with distinct signatures (deterministic: derandomized).

    Args:
        library: A configured library adapter (``fail_max=3``, ``reset_timeout=10``, ``Excluded``).
        fingerprint: The model's options (plus ``serializes_calls``).
        examples: Generated scripts tried per search.
        limit: Distinct divergences to report at most.
        matching: Other candidates reproducing the whole catalogue, to classify divergences.
    """
    library.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded,))
    model = adapter_for(fingerprint)
    found: list[Divergence] = []
    seen: set[tuple[Any, ...]] = set()
    config = settings(
        max_examples=examples, database=None, derandomize=True, deadline=None,
        suppress_health_check=list(HealthCheck),
    )

    def diverges(steps: tuple[Step, ...]) -> bool:
        lib, mod = library.run(steps), model.run(steps)
        if [comparable(o) for o in lib] == [comparable(o) for o in mod]:
            return False
        divergence = Divergence(steps, lib, mod, _first_difference(lib, mod), {})
        return divergence.signature() not in seen

    while len(found) < limit:
        try:
            steps = find(scripts(), diverges, settings=config)
        except NoSuchExample:
            break
        steps = _one_minimal(steps, diverges)
        lib, mod = library.run(steps), model.run(steps)
        explained: Mapping[str, Any] = {}
        for candidate in matching:
            if [comparable(o) for o in adapter_for(candidate).run(steps)] == [comparable(o) for o in lib]:
                explained = candidate
                break
        divergence = Divergence(steps, lib, mod, _first_difference(lib, mod), explained)
        seen.add(divergence.signature())
        found.append(divergence)
    return found


def _one_minimal(steps: tuple[Step, ...], diverges: Any) -> tuple[Step, ...]:
    """Remove steps one at a time while the script still diverges (after Hypothesis' shrinking,
    which keeps steps its generator needs), so that every remaining step matters."""
    index = 0
    while index < len(steps):
        shorter = steps[:index] + steps[index + 1:]
        try:
            validate_script(shorter)
        except ValueError:
            index += 1
            continue
        if diverges(shorter):
            steps = shorter
        else:
            index += 1
    return steps


def catalogue_matches(library_runs: Mapping[str, Sequence[Observation]]) -> list[dict[str, Any]]:
    """Every candidate reproducing the whole catalogue for these library runs."""
    return matching_candidates({name: tuple(runs) for name, runs in library_runs.items()})

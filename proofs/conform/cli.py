"""``breakerlab conform LIBRARY``: fit a library's fingerprint and search for divergences."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from typing import TYPE_CHECKING, Any

from breakerlab.model.errors import BreakerError
from breakerlab.model.presets import PRESETS

from .adapters import ADAPTERS

if TYPE_CHECKING:  # the harness (Hypothesis, the libraries) loads only when the command runs
    from .fit import Fit, Run
    from .generated import Divergence

__all__ = ["ConformReport", "conform", "conform_command", "fingerprint"]


@dataclasses.dataclass(frozen=True)
class ConformReport:
    """What ``conform`` found for one library.

    Attributes:
        library: The library's name.
        version: Its installed version.
        fit: The fingerprint fitted to the catalogue.
        preset_differences: Options where ``breakerlab.model.presets`` disagrees with the fit
            (determined options only): ``{option: (preset, fit)}``.
        unexplained: For each catalogue scenario the fingerprint does not reproduce, the
            library's and the model's observations.
        divergences: Minimal generated scripts on which library and model disagree.
        examples: Generated scripts tried per search.
    """

    library: str
    version: str
    fit: Fit
    preset_differences: dict[str, tuple[Any, Any]]
    unexplained: dict[str, tuple[list[str], list[str]]]
    divergences: list[Divergence]
    examples: int

    @property
    def ok(self) -> bool:
        """The fingerprint reproduces everything tried and the preset equals it."""
        return self.fit.exact and not self.divergences and not self.preset_differences

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "library": self.library,
            "version": self.version,
            "fingerprint": self.fit.options,
            "exact": self.fit.exact,
            "matching_candidates": self.fit.matching,
            "undetermined": list(self.fit.undetermined),
            "unexplained_scenarios": {k: {"library": v[0], "model": v[1]} for k, v in self.unexplained.items()},
            "preset_differences": {k: list(v) for k, v in self.preset_differences.items()},
            "generated_examples": self.examples,
            "divergences": [d.to_dict() for d in self.divergences],
            "ok": self.ok,
        }


def conform(library: str, *, examples: int = 60, limit: int = 3) -> ConformReport:
    """Run the catalogue on ``library``, fit its fingerprint, compare it with its preset, and
    search ``examples`` generated scripts for divergences."""
    try:
        from .adapters import make_adapter
        from .fit import model_runs, preset_differences, preset_options
        from .generated import catalogue_matches, find_divergences
    except ImportError as exc:
        raise BreakerError(
            f"breakerlab conform needs the conformance extra ({exc.name} is missing): pip install -e '.[conform]'"
        ) from None
    adapter = make_adapter(library)
    runs, fit = fingerprint(library)
    differences: dict[str, tuple[Any, Any]] = {}
    preset = PRESETS.get(library)
    if preset is not None:
        differences = preset_differences(preset_options(preset), fit)
    unexplained = {}
    if fit.unexplained:
        model = model_runs(fit.options, list(fit.unexplained))
        for name in fit.unexplained:
            unexplained[name] = ([o.brief() for o in runs[name]], [o.brief() for o in model[name]])
    divergences = find_divergences(adapter, fit.options, examples=examples, limit=limit, matching=catalogue_matches(runs))
    return ConformReport(library, adapter.version, fit, differences, unexplained, divergences, examples)


@functools.cache
def fingerprint(library: str) -> tuple[Run, Fit]:
    """The library's catalogue runs and its fitted fingerprint, measured once per process (the
    installed library cannot change under a running process; the fit is the costly part)."""
    from .adapters import make_adapter
    from .catalogue import run_catalogue
    from .fit import fit_fingerprint

    runs = run_catalogue(make_adapter(library))
    return runs, fit_fingerprint(runs)


def conform_command(subparsers: Any) -> None:
    """Register ``breakerlab conform``."""
    parser = subparsers.add_parser(
        "conform",
        help="fit a real breaker library's semantics to the model and search for divergences",
        description=(
            "Drive an installed breaker library through the scenario catalogue on frozen time (calls "
            "overlapping and finishing late), fit the model options that reproduce it (its semantic "
            "fingerprint), compare them with breakerlab.model.presets, then run Hypothesis-generated "
            "event sequences against the library and the fingerprinted model and report every "
            "divergence as a minimal script. Exit status: 0 everything agrees, 1 divergences or "
            "behaviour no option explains, 2 errors. Needs the libraries: pip install -e '.[conform]'."
        ),
    )
    parser.add_argument("library", choices=sorted(ADAPTERS), metavar="LIBRARY", help=", ".join(sorted(ADAPTERS)))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--examples", type=int, default=60, help="generated sequences per search (default 60)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.examples < 1:
        raise BreakerError(f"'--examples' must be an int >= 1 (got {args.examples})")
    report = conform(args.library, examples=args.examples)
    from .catalogue import CATALOGUE

    if args.json:
        json.dump(report.to_dict(), sys.stdout, default=str)
        sys.stdout.write("\n")
        return 0 if report.ok else 1
    fit = report.fit
    print(f"{report.library} {report.version} against the reference model")
    verdict = (
        f"exact: {fit.matching} candidate(s) reproduce all {len(CATALOGUE)} scenarios"
        if fit.exact
        else f"no candidate reproduces all {len(CATALOGUE)} scenarios; closest misses {len(fit.unexplained)}"
    )
    print(f"catalogue: {verdict}")
    if fit.undetermined:
        print(f"  undetermined by the catalogue (first value chosen): {', '.join(fit.undetermined)}")
    print("fingerprint:")
    for option, value in fit.options.items():
        print(f"  {option} = {value!r}")
    for name, (library, model) in report.unexplained.items():
        print(f"UNEXPLAINED scenario {name}: {CATALOGUE[name].question}")
        print(f"  {report.library}: {'; '.join(library)}")
        print(f"  model:  {'; '.join(model)}")
    if report.library in PRESETS:
        if report.preset_differences:
            for option, (preset, fitted) in report.preset_differences.items():
                print(f"PRESET breakerlab.model.presets[{report.library!r}].{option} = {preset!r}, fitted {fitted!r}")
        else:
            print(f"preset: breakerlab.model.presets[{report.library!r}] matches the fit")
    if not report.divergences:
        print(f"generated sequences: {report.examples} tried, no divergence")
    for number, divergence in enumerate(report.divergences, 1):
        kind = "UNEXPLAINED (no option reproduces it: a candidate bug in the library, or in us)" if divergence.unexplained \
            else f"explained by other options: {divergence.explained_by}"
        print(f"divergence {number}: {kind}")
        for index, step in enumerate(divergence.steps, 1):
            print(f"  {index}. {step!r}")
        print(f"  {report.library}: {'; '.join(o.brief() for o in divergence.library)}")
        print(f"  model:  {'; '.join(o.brief() for o in divergence.model)}")
    return 0 if report.ok else 1

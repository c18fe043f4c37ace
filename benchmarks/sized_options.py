"""Command-line options of the benchmarks that have a full size and a ``--quick`` size.

Each benchmark declares its sizes (``FULL`` and ``QUICK``: option name to default) and its
options; ``add_sized_options`` adds them to the parser, and ``apply_sizes`` fills in every
option not given from the chosen size (an explicit option always wins).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping

__all__ = ["add_sized_options", "apply_sizes", "positive_float", "positive_int"]


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 (got {text!r})")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):  # also rejects NaN
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (got {text!r})")
    return value


def add_sized_options(
    parser: argparse.ArgumentParser,
    options: Iterable[tuple[str, Callable[[str], object], str]],
    full: Mapping[str, float],
    quick: Mapping[str, float],
) -> None:
    """Add ``--NAME`` for each ``(name, type, help)``, its help giving both defaults."""
    for name, kind, text in options:
        defaults = f"default {full[name]:g}"
        if quick[name] != full[name]:
            defaults += f", --quick {quick[name]:g}"
        parser.add_argument("--" + name.replace("_", "-"), type=kind, help=f"{text} ({defaults})")


def apply_sizes(args: argparse.Namespace, full: Mapping[str, float], quick: Mapping[str, float]) -> argparse.Namespace:
    """Fill every sized option not given from ``quick`` (with ``--quick``) or ``full``."""
    for name, default in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args

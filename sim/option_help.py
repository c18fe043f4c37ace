"""The ``--help`` lines of the options ``breakerlab simulate`` generates: one for every
``BreakerConfig`` option, from the model's summary of it (``model.option_summaries``, with
option names written as their flags), and one for every trace parameter, from its field's doc."""

from __future__ import annotations

import collections
import enum
import re
from typing import Any

from breakerlab.model.config import ENUM_OPTIONS
from breakerlab.model.option_summaries import OPTION_SUMMARIES, SECONDS_OPTIONS

from .traces.families import FAMILIES, family_fields

__all__ = ["breaker_option_help", "breaker_option_metavar", "option_flag", "trace_option_help"]


_FLOAT_METAVARS = {
    "failure_rate_threshold": "FRACTION", "slow_call_rate_threshold": "FRACTION", "backoff_factor": "FACTOR",
    "jitter_ratio": "RATIO",
}

#: A breaker option's field name, as a whole word, inside a summary.
_OPTION_NAME = re.compile(r"\b(" + "|".join(sorted(OPTION_SUMMARIES)) + r")\b")


def option_flag(name: str) -> str:
    """The command-line flag of option ``name`` (``fail_max`` -> ``--fail-max``)."""
    return "--" + name.replace("_", "-")


def _shown(value: Any) -> str:
    """A default as it is typed on a command line."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(t.__name__ for t in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def breaker_option_help(name: str, default: Any) -> str:
    """The ``--help`` line of option ``name``: its meaning and ``default`` (``%`` escaped for argparse)."""
    meaning = _OPTION_NAME.sub(lambda found: option_flag(found.group(1)), OPTION_SUMMARIES[name])
    return f"{meaning} (default {_shown(default)})".replace("%", "%%")


def breaker_option_metavar(name: str, kind: Any) -> str:
    """The metavar of option ``name`` of type ``kind``: its unit or the kind of value it takes."""
    if name in SECONDS_OPTIONS:
        return "SECONDS"
    if name in ENUM_OPTIONS:
        return "NAME"
    if kind is bool:
        return "BOOL"
    if kind is int:
        return "N"
    if name in _FLOAT_METAVARS:
        return _FLOAT_METAVARS[name]
    return "NAMES" if name.endswith("_exceptions") else "VALUE"


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def trace_option_help(name: str, families: list[str]) -> tuple[str, str]:
    """The metavar and ``--help`` line of trace parameter ``name``: its meaning and unit (from
    the field's doc, which is plain text), its default in each family, and the families that take it."""
    fields = {family: next(f for f in family_fields(family) if f.name == name) for family in families}
    first = fields[families[0]]
    meaning = first.doc
    metavar = "SECONDS" if name.endswith("_s") else "FILE" if name == "path" else "N" if first.type == "int" else "NUMBER"
    if metavar == "SECONDS" and "second" not in meaning:
        meaning += ", in seconds"
    by_default: dict[object, list[str]] = collections.defaultdict(list)
    for family, field in fields.items():
        by_default[field.default].append(family)
    if None in by_default:
        default = "required"
    else:
        usual = max(by_default, key=lambda value: len(by_default[value]))
        others = "".join(f"; {_number(v)} for {', '.join(f)}" for v, f in by_default.items() if v != usual)
        default = f"default {_number(usual)}{others}"
    applies = "every trace" if len(families) == len(FAMILIES) else ", ".join(families)
    return metavar, f"{meaning} ({default}) [{applies}]".replace("%", "%%")


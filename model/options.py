"""Build a ``BreakerConfig`` from ``name=value`` strings (command lines, sweep files).

Values are parsed by the type of the field: ints, floats, bools (``true``/``false``), ``none``
for optional numbers, enum names, and comma-separated exception names (``builtins`` or
``module.Name``) for exception-type fields. Unknown names fail with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from .config import BreakerConfig
from .errors import InvalidConfigError

__all__ = ["config_fields", "parse_assignments", "parse_value"]

_NOT_SETTABLE = frozenset({"is_failure", "is_failure_result"})


def config_fields() -> dict[str, Any]:
    """The ``BreakerConfig`` fields settable from text, with their resolved types."""
    hints = typing.get_type_hints(BreakerConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(BreakerConfig) if f.name not in _NOT_SETTABLE}


def parse_value(name: str, text: str) -> Any:
    """Parse ``text`` as a value of ``BreakerConfig`` field ``name``."""
    fields = config_fields()
    if name not in fields:
        valid = ", ".join(sorted(fields))
        raise InvalidConfigError(name, f"a BreakerConfig option ({valid})", text, "check the spelling")
    kind = fields[name]
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    optional = type(None) in typing.get_args(kind)
    stripped = text.strip()
    if optional and stripped.lower() in ("none", "null", ""):
        return None
    base = args[0] if optional and args else kind
    try:
        if base is bool:
            lowered = stripped.lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError(text)
        if base is int:
            return int(stripped)
        if base is float:
            return float(stripped)
        if isinstance(base, type) and issubclass(base, enum.Enum):
            return stripped  # BreakerConfig validates enum values and lists the valid ones
        if typing.get_origin(base) is tuple:
            return tuple(_exception_type(part.strip()) for part in stripped.split(",") if part.strip())
    except ValueError:
        rule = {bool: "true or false", int: "an int", float: "a number"}.get(
            base, "comma-separated exception class names, e.g. ValueError,requests.exceptions.HTTPError"
        )
        raise InvalidConfigError(name, rule, text) from None
    return stripped


def _exception_type(dotted: str) -> type[BaseException]:
    module_name, _, attr = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name or "builtins")
    except ImportError:
        raise ValueError(dotted) from None
    value = getattr(module, attr, None)
    if not (isinstance(value, type) and issubclass(value, BaseException)):
        raise ValueError(dotted)
    return value


def parse_assignments(assignments: Iterable[str], base: BreakerConfig | None = None) -> BreakerConfig:
    """A config from ``["fail_max=3", "reset_timeout=10"]`` applied over ``base``."""
    values: dict[str, Any] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep:
            raise InvalidConfigError("--set", "OPTION=VALUE, e.g. fail_max=3", item)
        values[name.strip()] = parse_value(name.strip(), text)
    return config_from_mapping(values, base)


def config_from_mapping(values: Mapping[str, Any], base: BreakerConfig | None = None) -> BreakerConfig:
    """A config with ``values`` (already typed) applied over ``base``; unknown names fail."""
    fields = config_fields()
    unknown = sorted(set(values) - set(fields))
    if unknown:
        valid = ", ".join(sorted(fields))
        raise InvalidConfigError(unknown[0], f"a BreakerConfig option ({valid})", values[unknown[0]])
    return dataclasses.replace(base or BreakerConfig(), **values)

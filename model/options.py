"""Build a ``BreakerConfig`` from ``name=value`` strings (command lines, sweep files).

Values are parsed by the type of the field: ints, floats, bools (``true``/``false``), ``none``
for optional numbers, enum names, and comma-separated exception names (``builtins`` or
``module.Name``) for exception-type fields. Unknown names fail with the list of valid ones.

An exception name is looked up, never imported: a builtin, or a class of a module that is
already in ``sys.modules``. Parsing text must not run code nobody asked for (``this.X`` would
print the Zen of Python; an arbitrary installed module can do anything when imported).
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import sys
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from .config import BreakerConfig
from .errors import InvalidConfigError

__all__ = ["config_fields", "exception_type", "parse_assignments", "parse_value"]

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
    if typing.get_origin(base) is tuple:
        try:
            return tuple(exception_type(part.strip()) for part in stripped.split(",") if part.strip())
        except ValueError as exc:
            raise InvalidConfigError(name, _EXCEPTION_NAMES, text, str(exc)) from None
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
    except ValueError:
        rule = {bool: "true or false", int: "an int", float: "a number"}.get(base, "a valid value")
        raise InvalidConfigError(name, rule, text) from None
    return stripped


_EXCEPTION_NAMES = "comma-separated exception class names: builtins, or module.Class of an imported module"

_NOT_IMPORTED_HINT = (
    "module {module!r} is not imported{maybe}, and names are never imported on demand: import "
    "{module} in your program before building the config, or use a builtin exception such as "
    "OSError (a command line sees only the modules breakerlab itself imports)"
)


def exception_type(dotted: str) -> type[BaseException]:
    """The exception class named ``dotted``: a builtin (``ValueError``, ``builtins.KeyError``) or
    ``module.Class`` of a module already imported; nothing is imported.

    Raises:
        ValueError: The name is malformed, its module is not imported, or it names no exception
            class; the message says which, and how to make the module available.
    """
    parts = dotted.split(".")
    if not all(part.isidentifier() for part in parts):
        raise ValueError(f"{dotted!r} is not a dotted name like ValueError or package.module.Error")
    if len(parts) == 1:
        parts = ["builtins", *parts]
    for split in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:split]))
        if module is not None:
            break
    else:
        raise ValueError(_NOT_IMPORTED_HINT.format(module=".".join(parts[:-1]), maybe=""))
    value: object = module
    for index in range(split, len(parts)):
        try:
            # Static lookup: no module __getattr__ or descriptor runs (no lazy import either).
            value = inspect.getattr_static(value, parts[index])
        except AttributeError:
            if inspect.ismodule(value) and index < len(parts) - 1:
                module_name = ".".join(parts[: index + 1])
                raise ValueError(_NOT_IMPORTED_HINT.format(module=module_name, maybe=" (or does not exist)")) from None
            owner = ".".join(parts[:index])
            raise ValueError(f"{owner} has no attribute {parts[index]!r}") from None
    if not (isinstance(value, type) and issubclass(value, BaseException)):
        raise ValueError(f"{dotted} is {value!r}, not an exception class")
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

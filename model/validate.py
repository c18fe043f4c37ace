"""Validators for frozen configuration dataclasses: one message template for every field.

``'<field>' must be <rule> (got <value>)`` (``InvalidConfigError``), as attrs' validators do.
``BreakerConfig`` and the simulator's scenario classes validate their fields with these.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

from .errors import InvalidConfigError

__all__ = [
    "ExceptionTypes",
    "boolean",
    "enum_value",
    "exception_types",
    "finite_at_least",
    "fraction",
    "int_at_least",
    "integer",
    "is_number",
    "non_negative",
    "number",
    "positive",
]

ExceptionTypes = tuple[type[BaseException], ...]


def number(field: str, value: Any, rule: str, ok: Callable[[float], bool]) -> None:
    """``value`` is a finite int or float (not a bool) for which ``ok`` holds; ``rule`` words
    ``ok`` ("> 0") for the message."""
    if not is_number(value):
        raise InvalidConfigError(field, f"a number {rule}", value)
    if not math.isfinite(value) or not ok(value):
        raise InvalidConfigError(field, f"a finite number {rule}", value)


def integer(field: str, value: Any, rule: str, ok: Callable[[int], bool]) -> None:
    """``value`` is an int (not a bool) for which ``ok`` holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not ok(value):
        raise InvalidConfigError(field, f"an int {rule}", value)


def enum_value(name: str, kind: type[enum.StrEnum], value: object) -> enum.StrEnum:
    if isinstance(value, kind):
        return value
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        try:
            return kind(value)
        except ValueError:
            pass
    valid = ", ".join(repr(m.value) for m in kind)
    raise InvalidConfigError(name, f"one of {valid}", value)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def int_at_least(name: str, value: object, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidConfigError(name, f"an int >= {low}", value)


def boolean(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidConfigError(name, "a bool", value)


def non_negative(name: str, value: object) -> None:
    if not is_number(value) or not 0 <= value < math.inf:  # type: ignore[operator]
        raise InvalidConfigError(name, "a finite number of seconds >= 0", value)


def positive(name: str, value: object) -> None:
    if not is_number(value) or not 0 < value < math.inf:  # type: ignore[operator]
        raise InvalidConfigError(name, "a finite number > 0", value)


def finite_at_least(name: str, value: object, low: float, low_name: str = "") -> None:
    if not is_number(value) or not low <= value < math.inf:  # type: ignore[operator]
        bound = f"{low_name} ({low!r})" if low_name else repr(low)
        raise InvalidConfigError(name, f"a finite number >= {bound}", value)


def fraction(name: str, value: object) -> None:
    if not is_number(value) or not 0 < value <= 1:  # type: ignore[operator]
        raise InvalidConfigError(name, "a fraction in (0, 1], e.g. 0.5 for 50%", value)


def exception_types(name: str, value: object) -> ExceptionTypes:
    items = (value,) if isinstance(value, type) else value
    if not isinstance(items, list | tuple | set | frozenset):
        raise InvalidConfigError(name, "a tuple of exception types", value)
    result = tuple(items)
    for item in result:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise InvalidConfigError(name, "a tuple of exception types", value, f"{item!r} is not one")
    return result

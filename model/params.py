"""The transition table's parameters, each declared once: name, sort, constraint, and how it is read from a config.

``PARAMETERS`` is the one declaration. The rest of the project derives from it: the table's
``PARAMS`` (the names its guards may use), ``BreakerConfig.table_params()`` (every ``read``),
the z3 proofs' parameter assumptions (every ``assumptions``, translated to z3 terms) and the
counterexample search's way back from parameter values to a ``BreakerConfig`` (every ``write``,
``config_from_params``). Constraints are expressions of ``breakerlab.model.expr``, so the same
declaration is evaluated concretely (a test checks that every valid configuration satisfies
it) and symbolically (the proofs assume it for every parameter value).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from .config import (
    RATE_DENOMINATOR_LIMIT,
    BreakerConfig,
    CloseRule,
    HalfOpenEntry,
    HalfOpenLimit,
    LateResultPolicy,
    OpenDurationPolicy,
    TripRule,
)
from .errors import InvalidConfigError
from .expr import TRUE, Expr, Param, Value, all_of, any_of, evaluate, ite

__all__ = [
    "NOT_INVERTIBLE",
    "PARAMETERS",
    "SORT_TYPES",
    "ParamSpec",
    "Sort",
    "config_from_params",
    "implies",
    "parameter",
    "violated",
]


class Sort(enum.StrEnum):
    """The kind of value a parameter holds (an enum value is its string)."""

    BOOL = "bool"
    INT = "int"
    REAL = "real"
    ENUM = "enum"


#: The Python type of each sort's values, as ``BreakerConfig.table_params()`` returns them.
SORT_TYPES: Mapping[Sort, type] = {Sort.BOOL: bool, Sort.INT: int, Sort.REAL: float, Sort.ENUM: str}

Options = dict[str, Any]
"""Keyword arguments of ``BreakerConfig``."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One parameter of the transition table.

    Attributes:
        name: The ``Param`` name the table's guards and actions use.
        sort: The kind of value; an enum parameter takes the string values of ``domain``.
        read: Its value for a configuration (``BreakerConfig.table_params()`` is every ``read``).
        constraint: What ``BreakerConfig`` validation guarantees about it, as an expression over
            ``Param`` names (``TRUE``: nothing beyond its sort and domain).
        domain: The enum of an enum parameter, else ``None``.
        write: The ``BreakerConfig`` options that give this parameter its value back, computed
            from the values of every parameter (a parameter read from several options, or read
            together with another one, writes them all). ``None``: not invertible, because an
            option it is read from is not a parameter; ``config_from_params`` then requires the
            default configuration's value.

    Invariant: ``domain`` is set exactly when ``sort`` is ``Sort.ENUM``.
    """

    name: str
    sort: Sort
    read: Callable[[BreakerConfig], Value]
    constraint: Expr = TRUE
    domain: type[enum.StrEnum] | None = None
    write: Callable[[Mapping[str, Value]], Options] | None = None

    def __post_init__(self) -> None:
        if (self.sort is Sort.ENUM) != (self.domain is not None):
            raise ValueError(
                f"parameter {self.name!r}: 'domain' must be set exactly for sort 'enum' (got {self.domain!r})"
            )

    @property
    def values(self) -> tuple[str, ...]:
        """The values of an enum parameter, in the enum's order (empty for other sorts)."""
        return tuple(str(member.value) for member in self.domain) if self.domain is not None else ()

    @property
    def assumptions(self) -> tuple[Expr, ...]:
        """What holds of this parameter in every valid configuration: its domain, its constraint."""
        facts: list[Expr] = []
        if self.domain is not None:
            facts.append(any_of(*(Param(self.name).eq(value) for value in self.values)))
        if self.constraint != TRUE:
            facts.append(self.constraint)
        return tuple(facts)


def implies(premise: Expr, conclusion: Expr) -> Expr:
    """``premise`` implies ``conclusion``, as an expression."""
    return any_of(~premise, conclusion)


@functools.lru_cache(maxsize=1024)
def _exact(rate: float) -> Fraction:
    """A rate threshold as an exact fraction (0.3 -> 3/10), so guards compare it without rounding."""
    return Fraction(rate).limit_denominator(RATE_DENOMINATOR_LIMIT)


def _option(name: str, option: str, kind: Callable[[Any], Any]) -> Callable[[Mapping[str, Value]], Options]:
    """A ``write`` that sets ``option`` to parameter ``name``'s value, converted by ``kind``."""
    return lambda values: {option: kind(values[name])}


def _plain(name: str, sort: Sort, constraint: Expr = TRUE) -> ParamSpec:
    """A parameter that is an option of the same name, read and written as it is."""
    kind = SORT_TYPES[sort]
    return ParamSpec(
        name=name,
        sort=sort,
        read=lambda config: kind(getattr(config, name)),
        constraint=constraint,
        write=_option(name, name, kind),
    )


def _enum(name: str, domain: type[enum.StrEnum]) -> ParamSpec:
    """An enum option of the same name; the parameter is its string value."""
    return ParamSpec(
        name=name,
        sort=Sort.ENUM,
        domain=domain,
        read=lambda config: str(getattr(config, name).value),
        write=_option(name, name, str),
    )


def _rate(prefix: str, option: str) -> tuple[ParamSpec, ParamSpec]:
    """A rate threshold ``option`` in (0, 1] as the exact fraction ``<prefix>_num / <prefix>_den``."""
    num, den = Param(f"{prefix}_num"), Param(f"{prefix}_den")

    def write(values: Mapping[str, Value]) -> Options:
        return {option: float(Fraction(int(values[num.name]), int(values[den.name])))}

    return (
        ParamSpec(
            name=num.name,
            sort=Sort.INT,
            read=lambda config: _exact(getattr(config, option)).numerator,
            constraint=all_of(num >= 1, num <= den),
            write=write,
        ),
        ParamSpec(
            name=den.name,
            sort=Sort.INT,
            read=lambda config: _exact(getattr(config, option)).denominator,
            constraint=den >= 1,
            write=write,
        ),
    )


def _write_minimum_calls(values: Mapping[str, Value]) -> Options:
    calls = int(values["minimum_calls"])
    return {"minimum_calls": calls, "window_size": max(calls, _DEFAULTS.window_size)}  # a count window holds them


def _read_backoff_cap(config: BreakerConfig) -> float:
    if config.open_duration_policy is not OpenDurationPolicy.EXPONENTIAL or config.backoff_cap is None:
        return math.inf  # the table reads the cap only for an exponential open duration
    return float(config.backoff_cap)


def _write_backoff_cap(values: Mapping[str, Value]) -> Options:
    cap = float(values["backoff_cap"])
    return {"backoff_cap": cap if values["exponential_backoff"] and math.isfinite(cap) else None}


def _write_max_wait(values: Mapping[str, Value]) -> Options:
    return {"half_open_max_wait": float(values["half_open_max_wait"]) if values["max_wait_enabled"] else None}


_DEFAULTS = BreakerConfig()
_consecutive_trip = Param("trip_rule").eq(TripRule.CONSECUTIVE.value)
_per_episode_consecutive_close = all_of(
    Param("close_rule").eq(CloseRule.CONSECUTIVE.value), Param("half_open_limit").eq(HalfOpenLimit.PER_EPISODE.value)
)

PARAMETERS: tuple[ParamSpec, ...] = (
    # -- trip rule ---------------------------------------------------------------------------
    _enum("trip_rule", TripRule),
    _plain("fail_max", Sort.INT, Param("fail_max") >= 1),
    ParamSpec(
        name="minimum_calls",
        sort=Sort.INT,
        read=lambda config: config.minimum_calls,
        constraint=Param("minimum_calls") >= 1,
        write=_write_minimum_calls,
    ),
    *_rate("failure_rate", "failure_rate_threshold"),
    ParamSpec(
        name="slow_rule_enabled",
        sort=Sort.BOOL,
        read=lambda config: config.slow_call_duration_threshold is not None,
        constraint=implies(Param("slow_rule_enabled"), ~_consecutive_trip),
        # not invertible: the slow-call duration threshold is no parameter of the table
    ),
    *_rate("slow_rate", "slow_call_rate_threshold"),
    _plain("trip_on_equal_rate", Sort.BOOL),
    # -- open duration -----------------------------------------------------------------------
    _plain("reset_timeout", Sort.REAL, Param("reset_timeout") >= 0.0),
    ParamSpec(
        name="exponential_backoff",
        sort=Sort.BOOL,
        read=lambda config: config.open_duration_policy is OpenDurationPolicy.EXPONENTIAL,
        write=lambda values: {
            "open_duration_policy": (
                OpenDurationPolicy.EXPONENTIAL if values["exponential_backoff"] else OpenDurationPolicy.FIXED
            )
        },
    ),
    _plain("backoff_factor", Sort.REAL, Param("backoff_factor") >= 1.0),
    ParamSpec(
        name="backoff_cap",
        sort=Sort.REAL,
        read=_read_backoff_cap,
        constraint=Param("backoff_cap") >= Param("reset_timeout"),  # infinite when uncapped
        write=_write_backoff_cap,
    ),
    _plain("admit_at_deadline", Sort.BOOL),
    _enum("half_open_entry", HalfOpenEntry),
    # -- half-open ---------------------------------------------------------------------------
    _plain("half_open_max_calls", Sort.INT, Param("half_open_max_calls") >= 1),
    _enum("half_open_limit", HalfOpenLimit),
    _enum("close_rule", CloseRule),
    _plain(
        "success_threshold",
        Sort.INT,
        all_of(
            Param("success_threshold") >= 1,
            implies(_per_episode_consecutive_close, Param("success_threshold") <= Param("half_open_max_calls")),
        ),
    ),
    ParamSpec(
        name="max_wait_enabled",
        sort=Sort.BOOL,
        read=lambda config: config.half_open_max_wait is not None,
        write=_write_max_wait,
    ),
    ParamSpec(
        name="half_open_max_wait",
        sort=Sort.REAL,
        read=lambda config: 0.0 if config.half_open_max_wait is None else float(config.half_open_max_wait),
        constraint=ite(
            Param("max_wait_enabled"), Param("half_open_max_wait") > 0.0, Param("half_open_max_wait").eq(0.0)
        ),
        write=_write_max_wait,
    ),
    # -- outcomes ----------------------------------------------------------------------------
    _enum("late_result", LateResultPolicy),
)
"""Every parameter of the transition table, in the order ``PARAMS`` lists them."""

_BY_NAME: Mapping[str, ParamSpec] = {spec.name: spec for spec in PARAMETERS}
if len(_BY_NAME) != len(PARAMETERS):
    raise ValueError("PARAMETERS declares a parameter name twice")

NOT_INVERTIBLE: tuple[str, ...] = tuple(spec.name for spec in PARAMETERS if spec.write is None)
"""Parameters ``config_from_params`` cannot set (they must have the default configuration's value)."""


def parameter(name: str) -> ParamSpec:
    """The declaration of parameter ``name``.

    Raises:
        KeyError: an unknown name (the message lists the parameters).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown parameter {name!r}; declared: {', '.join(_BY_NAME)}") from None


def violated(values: Mapping[str, Value]) -> tuple[str, ...]:
    """The parameters whose declared assumptions ``values`` (one value per parameter) break."""
    return tuple(spec.name for spec in PARAMETERS if not all(evaluate(f, values) for f in spec.assumptions))


def config_from_params(values: Mapping[str, Value]) -> BreakerConfig:
    """A ``BreakerConfig`` whose ``table_params()`` are ``values``, from every ``write``.

    Options that are not parameters keep their defaults. A parameter read only for some
    settings (``backoff_cap`` without exponential backoff) is not checked against ``values``.

    Raises:
        InvalidConfigError: a parameter in ``NOT_INVERTIBLE`` does not have the default
            configuration's value, or the options are invalid.
    """
    options: Options = {}
    for spec in PARAMETERS:
        if spec.write is not None:
            options.update(spec.write(values))
    config = BreakerConfig(**options)
    for name in NOT_INVERTIBLE:
        if values[name] != parameter(name).read(config):
            raise InvalidConfigError(
                name,
                f"{parameter(name).read(config)!r} (the default)",
                values[name],
                "no BreakerConfig option sets it back from the table's parameters alone",
            )
    return config

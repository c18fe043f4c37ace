"""Tests of ``BreakerConfig`` validation, defaults and derived views, and of ``options.parse_assignments``.

Every rule of ``BreakerConfig.__post_init__`` has a case below: a bad value raises
``InvalidConfigError`` (a ``ValueError`` and a ``BreakerError``) whose message follows the
template ``'<field>' must be <rule> (got <value!r>)`` and whose ``.field`` names the option.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import pickle
from fractions import Fraction
from typing import Any

import pytest

from breakerlab.model import (
    BreakerConfig,
    BreakerError,
    CancellationOutcome,
    CloseRule,
    ExcludedOutcome,
    HalfOpenEntry,
    HalfOpenLimit,
    InvalidConfigError,
    LateResultPolicy,
    OpenDurationPolicy,
    TripError,
    TripRule,
)
from breakerlab.model.options import parse_assignments

NAN = float("nan")
INF = float("inf")

#: Options that make the window-only rules valid, so a case can isolate one rule.
WINDOW = {"trip_rule": "count_window", "window_size": 100, "minimum_calls": 10}

INT_AT_LEAST_ONE = ("fail_max", "window_size", "minimum_calls", "half_open_max_calls", "success_threshold")


def _not_a_predicate(_: object) -> bool:
    """A module-level function, so a config holding it still pickles."""
    return True


def _check_error(exc: InvalidConfigError, field: str, rule: str, value: object) -> None:
    """Assert ``exc`` follows the message template for ``field``, ``rule`` and ``value``."""
    message = str(exc)
    assert isinstance(exc, ValueError)
    assert isinstance(exc, BreakerError)
    assert exc.field == field
    assert message.startswith(f"'{field}' must be ")
    assert rule in message
    assert f"(got {value!r})" in message


# -- one case per validation rule ------------------------------------------------------------

BAD_VALUES: list[Any] = [
    # ints >= 1: zero, negatives, floats, bools and strings are rejected
    *[pytest.param(field, bad, {}, "an int >= 1", id=f"{field}-{bad!r}") for field in INT_AT_LEAST_ONE
      for bad in (0, -1, 1.5, True, "3", None)],
    # positive finite seconds
    *[pytest.param(field, bad, {}, "a finite number > 0", id=f"{field}-{bad!r}")
      for field in ("window_duration", "half_open_max_wait", "call_timeout")
      for bad in (0, 0.0, -1.0, NAN, INF, True, "1")],
    # non-negative finite seconds
    pytest.param("reset_timeout", -1.0, {}, "a finite number of seconds >= 0", id="reset_timeout-negative"),
    pytest.param("reset_timeout", NAN, {}, "a finite number of seconds >= 0", id="reset_timeout-nan"),
    pytest.param("reset_timeout", INF, {}, "a finite number of seconds >= 0", id="reset_timeout-inf"),
    pytest.param("reset_timeout", True, {}, "a finite number of seconds >= 0", id="reset_timeout-bool"),
    pytest.param("reset_timeout", "60", {}, "a finite number of seconds >= 0", id="reset_timeout-str"),
    pytest.param("reset_timeout", None, {}, "a finite number of seconds >= 0", id="reset_timeout-none"),
    pytest.param("slow_call_duration_threshold", -0.5, WINDOW, ">= 0", id="slow_threshold-negative"),
    pytest.param("slow_call_duration_threshold", NAN, WINDOW, ">= 0", id="slow_threshold-nan"),
    pytest.param("slow_call_duration_threshold", INF, WINDOW, ">= 0", id="slow_threshold-inf"),
    pytest.param("slow_call_duration_threshold", True, WINDOW, ">= 0", id="slow_threshold-bool"),
    pytest.param("jitter_ratio", -0.1, {}, ">= 0", id="jitter_ratio-negative"),
    pytest.param("jitter_ratio", NAN, {}, ">= 0", id="jitter_ratio-nan"),
    pytest.param("jitter_ratio", INF, {}, ">= 0", id="jitter_ratio-inf"),
    # fractions in (0, 1]
    *[pytest.param(field, bad, {}, "a fraction in (0, 1]", id=f"{field}-{bad!r}")
      for field in ("failure_rate_threshold", "slow_call_rate_threshold")
      for bad in (0, 0.0, -0.5, 1.0000001, 50, NAN, INF, True, "0.5")],
    # bools
    *[pytest.param(field, bad, {}, "a bool", id=f"{field}-{bad!r}")
      for field in ("trip_on_equal_rate", "admit_at_deadline")
      for bad in (1, 0, "true", None)],
    # backoff
    pytest.param("backoff_factor", 0.5, {}, "a finite number >= 1", id="backoff_factor-below-1"),
    pytest.param("backoff_factor", NAN, {}, "a finite number >= 1", id="backoff_factor-nan"),
    pytest.param("backoff_factor", INF, {}, "a finite number >= 1", id="backoff_factor-inf"),
    pytest.param("backoff_factor", True, {}, "a finite number >= 1", id="backoff_factor-bool"),
    pytest.param("backoff_cap", 59.0, {}, "a finite number >= reset_timeout (60.0)", id="backoff_cap-below-reset"),
    pytest.param("backoff_cap", 5.0, {"reset_timeout": 10.0}, "reset_timeout (10.0)", id="backoff_cap-below-10"),
    pytest.param("backoff_cap", NAN, {}, "reset_timeout", id="backoff_cap-nan"),
    pytest.param("backoff_cap", INF, {}, "reset_timeout", id="backoff_cap-inf"),
    pytest.param("backoff_cap", True, {"reset_timeout": 0.0}, "reset_timeout", id="backoff_cap-bool"),
    # jitter seed
    pytest.param("jitter_seed", True, {}, "an int", id="jitter_seed-bool"),
    pytest.param("jitter_seed", 1.5, {}, "an int", id="jitter_seed-float"),
    pytest.param("jitter_seed", "1", {}, "an int", id="jitter_seed-str"),
    pytest.param("jitter_seed", None, {}, "an int", id="jitter_seed-none"),
    # exception types
    *[pytest.param(field, bad, {}, "a tuple of exception types", id=f"{field}-{bad!r}")
      for field in ("failure_exceptions", "excluded_exceptions")
      for bad in ("ValueError", 42, None, int, (ValueError, 42), [KeyError, "x"], (ValueError()))],
    # predicates
    *[pytest.param(field, bad, {}, "None or a callable", id=f"{field}-{bad!r}")
      for field in ("is_failure", "is_failure_result")
      for bad in (42, "lambda e: True", True)],
]


@pytest.mark.parametrize(("field", "value", "others", "rule"), BAD_VALUES)
def test_bad_value_raises_invalid_config_error_naming_field_rule_and_value(
    field: str, value: object, others: dict[str, Any], rule: str
) -> None:
    """A value breaking a field's rule raises InvalidConfigError with the templated message."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(**{**others, field: value})
    _check_error(info.value, field, rule, value)
    assert info.value.value is value


def test_error_message_is_exactly_the_template() -> None:
    """The whole message of a plain rule is '<field>' must be <rule> (got <value!r>)."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(fail_max=0)
    assert str(info.value) == "'fail_max' must be an int >= 1 (got 0)"
    assert info.value.rule == "an int >= 1"


@pytest.mark.parametrize("field", INT_AT_LEAST_ONE)
def test_int_fields_accept_one(field: str) -> None:
    """The smallest valid value of an int option, 1, is accepted as given."""
    others: dict[str, Any] = {"trip_rule": "time_window"} if field == "window_size" else {}
    config = BreakerConfig(**{**others, field: 1})
    assert getattr(config, field) == 1


@pytest.mark.parametrize(
    ("field", "value", "others"),
    [
        ("reset_timeout", 0, {}),
        ("reset_timeout", 0.0, {}),
        ("jitter_ratio", 0.0, {}),
        ("jitter_ratio", 2.5, {}),
        ("slow_call_duration_threshold", 0.0, WINDOW),
        ("failure_rate_threshold", 1.0, {}),
        ("failure_rate_threshold", 1e-9, {}),
        ("slow_call_rate_threshold", 1, {}),
        ("backoff_factor", 1.0, {}),
        ("backoff_factor", 1, {}),
        ("backoff_cap", 60.0, {}),
        ("backoff_cap", 60, {}),
        ("backoff_cap", None, {}),
        ("jitter_seed", -7, {}),
        ("half_open_max_wait", 1e-6, {}),
        ("call_timeout", 0.001, {}),
        ("window_duration", 0.5, {}),
    ],
)
def test_boundary_values_are_accepted(field: str, value: object, others: dict[str, Any]) -> None:
    """A value on the closed boundary of its rule (or None where optional) is valid and kept."""
    config = BreakerConfig(**{**others, field: value})
    assert getattr(config, field) == value


# -- enum-valued options -------------------------------------------------------------------

ENUM_FIELDS: dict[str, type[enum.StrEnum]] = {
    "trip_rule": TripRule,
    "open_duration_policy": OpenDurationPolicy,
    "half_open_entry": HalfOpenEntry,
    "half_open_limit": HalfOpenLimit,
    "close_rule": CloseRule,
    "late_result": LateResultPolicy,
    "excluded_outcome": ExcludedOutcome,
    "cancellation_outcome": CancellationOutcome,
    "trip_error": TripError,
}

ENUM_CASES = [
    pytest.param(field, kind, member, id=f"{field}={member.value}")
    for field, kind in ENUM_FIELDS.items()
    for member in kind
]


@pytest.mark.parametrize(("field", "kind", "member"), ENUM_CASES)
def test_enum_field_accepts_its_string_value(field: str, kind: type[enum.StrEnum], member: enum.StrEnum) -> None:
    """An enum option given as its string value is stored as the enum member."""
    config = BreakerConfig(**{field: member.value})
    stored = getattr(config, field)
    assert stored is member
    assert isinstance(stored, kind)


@pytest.mark.parametrize(("field", "kind", "member"), ENUM_CASES)
def test_enum_field_accepts_its_member(field: str, kind: type[enum.StrEnum], member: enum.StrEnum) -> None:
    """An enum option given as an enum member is stored unchanged."""
    assert getattr(BreakerConfig(**{field: member}), field) is member


@pytest.mark.parametrize("bad", ["bogus", "CONSECUTIVE_", "", 3, None])
@pytest.mark.parametrize("field", list(ENUM_FIELDS))
def test_enum_field_rejects_unknown_value_listing_the_valid_ones(field: str, bad: object) -> None:
    """An unknown value for an enum option raises InvalidConfigError listing every valid value."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(**{field: bad})
    valid = ", ".join(repr(m.value) for m in ENUM_FIELDS[field])
    _check_error(info.value, field, f"one of {valid}", bad)


def test_enum_field_rejects_a_member_of_another_enum() -> None:
    """A member of a different option's enum is not accepted even if it is a string."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(close_rule=TripRule.COUNT_WINDOW)
    assert info.value.field == "close_rule"


# -- rules across fields -------------------------------------------------------------------


def test_minimum_calls_above_window_size_rejected_for_count_window() -> None:
    """With a count window, minimum_calls > window_size is rejected on minimum_calls."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(trip_rule="count_window", window_size=10, minimum_calls=11)
    _check_error(info.value, "minimum_calls", "<= window_size (10) with trip_rule 'count_window'", 11)


def test_minimum_calls_above_window_size_rejected_with_default_minimum() -> None:
    """A count window smaller than the default minimum_calls (100) is rejected."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(trip_rule="count_window", window_size=20)
    assert info.value.field == "minimum_calls"


@pytest.mark.parametrize(
    "options",
    [
        {"trip_rule": "count_window", "window_size": 10, "minimum_calls": 10},
        {"trip_rule": "time_window", "window_size": 10, "minimum_calls": 11},
        {"trip_rule": "consecutive", "window_size": 10, "minimum_calls": 11},
    ],
)
def test_minimum_calls_above_window_size_allowed_otherwise(options: dict[str, Any]) -> None:
    """minimum_calls may equal window_size, and exceed it unless the rule is a count window."""
    config = BreakerConfig(**options)
    assert config.minimum_calls == options["minimum_calls"]


def test_slow_call_threshold_rejected_with_consecutive_rule() -> None:
    """A slow-call duration threshold is rejected when the trip rule is consecutive."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(slow_call_duration_threshold=2.0)
    _check_error(
        info.value, "slow_call_duration_threshold", "None unless trip_rule is 'count_window' or 'time_window'", 2.0
    )


@pytest.mark.parametrize("trip_rule", ["count_window", "time_window"])
def test_slow_call_threshold_allowed_with_window_rules(trip_rule: str) -> None:
    """A slow-call duration threshold is accepted with either window rule."""
    config = BreakerConfig(trip_rule=trip_rule, window_size=10, minimum_calls=5, slow_call_duration_threshold=2.0)
    assert config.slow_call_duration_threshold == 2.0


def test_backoff_cap_below_reset_timeout_names_both() -> None:
    """A backoff cap below reset_timeout is rejected with a rule naming reset_timeout and its value."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(open_duration_policy="exponential", reset_timeout=30.0, backoff_cap=29.5)
    _check_error(info.value, "backoff_cap", "a finite number >= reset_timeout (30.0)", 29.5)


def test_success_threshold_above_probe_limit_rejected_per_episode_consecutive() -> None:
    """success_threshold > half_open_max_calls is rejected with a per-episode limit and the consecutive close rule."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(half_open_max_calls=2, success_threshold=3)
    _check_error(
        info.value, "success_threshold", "<= half_open_max_calls (2) with a per-episode probe limit", 3
    )


def test_success_threshold_above_default_probe_limit_rejected() -> None:
    """With the default single probe, success_threshold=2 can never be met and is rejected."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(success_threshold=2)
    assert info.value.field == "success_threshold"


@pytest.mark.parametrize(
    "options",
    [
        {"half_open_limit": "concurrent", "half_open_max_calls": 1, "success_threshold": 3},
        {"close_rule": "rate", "half_open_max_calls": 1, "success_threshold": 3},
        {"half_open_max_calls": 3, "success_threshold": 3},
    ],
)
def test_success_threshold_above_probe_limit_allowed_otherwise(options: dict[str, Any]) -> None:
    """success_threshold may exceed half_open_max_calls with a concurrent limit or the rate close rule."""
    assert BreakerConfig(**options).success_threshold == options["success_threshold"]


# -- exception-type fields and predicates ---------------------------------------------------


@pytest.mark.parametrize("field", ["failure_exceptions", "excluded_exceptions"])
def test_single_exception_type_is_normalised_to_a_tuple(field: str) -> None:
    """A single exception type is stored as a one-element tuple."""
    assert getattr(BreakerConfig(**{field: KeyError}), field) == (KeyError,)


@pytest.mark.parametrize("field", ["failure_exceptions", "excluded_exceptions"])
def test_list_of_exception_types_is_normalised_to_a_tuple(field: str) -> None:
    """A list of exception types is stored as a tuple in the same order."""
    assert getattr(BreakerConfig(**{field: [KeyError, OSError]}), field) == (KeyError, OSError)


def test_base_exception_subclasses_are_accepted_as_exception_types() -> None:
    """Any BaseException subclass is a valid exception type."""
    config = BreakerConfig(excluded_exceptions=(KeyboardInterrupt, LookupError))
    assert config.excluded_exceptions == (KeyboardInterrupt, LookupError)


def test_non_type_in_exception_tuple_is_named_in_the_hint() -> None:
    """A non-type inside an exception tuple is rejected with a hint naming the offending item."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig(failure_exceptions=(ValueError, 42))
    assert "42 is not one" in str(info.value)


@pytest.mark.parametrize("field", ["is_failure", "is_failure_result"])
def test_predicates_accept_callables_and_none(field: str) -> None:
    """Predicate options accept any callable, and None."""
    assert getattr(BreakerConfig(**{field: _not_a_predicate}), field) is _not_a_predicate
    assert getattr(BreakerConfig(**{field: None}), field) is None


# -- defaults, immutability, replace, derived views ----------------------------------------


def test_defaults_reproduce_the_article() -> None:
    """The default configuration is the article's breaker: 5 consecutive failures, 60 s, one probe."""
    config = BreakerConfig()
    assert config.fail_max == 5
    assert config.reset_timeout == 60
    assert config.trip_rule is TripRule.CONSECUTIVE
    assert config.half_open_max_calls == 1
    assert config.half_open_limit is HalfOpenLimit.PER_EPISODE
    assert config.close_rule is CloseRule.CONSECUTIVE
    assert config.success_threshold == 1
    assert config.late_result is LateResultPolicy.IGNORE
    assert config.trip_error is TripError.ORIGINAL
    assert config.open_duration_policy is OpenDurationPolicy.FIXED
    assert config.admit_at_deadline is True
    assert config.half_open_entry is HalfOpenEntry.LAZY
    assert config.half_open_max_wait is None
    assert config.failure_exceptions == (Exception,)
    assert config.excluded_exceptions == ()
    assert config.excluded_outcome is ExcludedOutcome.NEUTRAL
    assert config.call_timeout is None
    assert config.jitter_ratio == 0.0
    assert config.uses_window is False


def test_config_is_frozen() -> None:
    """Assigning to a field of a config raises FrozenInstanceError."""
    config = BreakerConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.fail_max = 3  # type: ignore[misc]


def test_config_is_keyword_only() -> None:
    """Options must be passed by keyword."""
    with pytest.raises(TypeError):
        BreakerConfig(5)  # type: ignore[misc]


def test_configs_with_equal_options_are_equal_and_pickle() -> None:
    """Two configs built from the same options are equal, and a config survives pickling."""
    config = BreakerConfig(fail_max=3, trip_rule="consecutive", excluded_exceptions=KeyError)
    assert config == BreakerConfig(fail_max=3, excluded_exceptions=(KeyError,))
    assert pickle.loads(pickle.dumps(config)) == config


def test_replace_returns_a_changed_copy() -> None:
    """replace() returns a new config with the change, leaving the original untouched."""
    config = BreakerConfig()
    changed = config.replace(fail_max=3, trip_rule="count_window", window_size=10, minimum_calls=10)
    assert changed.fail_max == 3
    assert changed.trip_rule is TripRule.COUNT_WINDOW
    assert config.fail_max == 5
    assert config.trip_rule is TripRule.CONSECUTIVE


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fail_max": 0}, "fail_max"),
        ({"reset_timeout": NAN}, "reset_timeout"),
        ({"trip_rule": "count_window", "window_size": 5}, "minimum_calls"),
        ({"backoff_cap": 1.0}, "backoff_cap"),
        ({"trip_rule": "bogus"}, "trip_rule"),
    ],
)
def test_replace_revalidates(changes: dict[str, Any], field: str) -> None:
    """replace() runs every validation rule again on the new values."""
    with pytest.raises(InvalidConfigError) as info:
        BreakerConfig().replace(**changes)
    assert info.value.field == field


def test_table_params_turns_rates_into_exact_fractions() -> None:
    """table_params() holds the 0.3 failure-rate threshold as exactly 3/10."""
    params = BreakerConfig(failure_rate_threshold=0.3, slow_call_rate_threshold=0.7).table_params()
    assert (params["failure_rate_num"], params["failure_rate_den"]) == (3, 10)
    assert (params["slow_rate_num"], params["slow_rate_den"]) == (7, 10)
    assert Fraction(params["failure_rate_num"], params["failure_rate_den"]) == Fraction(3, 10)


def test_table_params_of_the_defaults() -> None:
    """table_params() of the defaults carries plain values: uncapped backoff, no max wait, no slow rule."""
    params = BreakerConfig().table_params()
    assert params["fail_max"] == 5
    assert params["reset_timeout"] == 60.0
    assert (params["failure_rate_num"], params["failure_rate_den"]) == (1, 2)
    assert params["backoff_cap"] == math.inf
    assert params["max_wait_enabled"] is False
    assert params["slow_rule_enabled"] is False
    assert params["trip_rule"] == "consecutive"
    assert params["late_result"] == "ignore"


# -- options.parse_assignments ---------------------------------------------------------------


def test_parse_assignments_parses_by_field_type() -> None:
    """Each value is parsed by its field's type: int, float, bool, none, enum and exception names."""
    config = parse_assignments(
        [
            "fail_max=3",
            "reset_timeout=10",
            "trip_on_equal_rate=false",
            "admit_at_deadline=true",
            "backoff_cap=none",
            "half_open_max_wait=2.5",
            "trip_rule=count_window",
            "window_size=20",
            "minimum_calls=10",
            "failure_exceptions=ValueError, builtins.KeyError",
            "jitter_seed=-4",
        ]
    )
    assert config.fail_max == 3 and type(config.fail_max) is int
    assert config.reset_timeout == 10.0 and type(config.reset_timeout) is float
    assert config.trip_on_equal_rate is False
    assert config.admit_at_deadline is True
    assert config.backoff_cap is None
    assert config.half_open_max_wait == 2.5
    assert config.trip_rule is TripRule.COUNT_WINDOW
    assert (config.window_size, config.minimum_calls) == (20, 10)
    assert config.failure_exceptions == (ValueError, KeyError)
    assert config.jitter_seed == -4


def test_parse_assignments_applies_over_base() -> None:
    """Assignments override the base config and keep its other options."""
    base = BreakerConfig(fail_max=7, reset_timeout=5.0)
    config = parse_assignments(["reset_timeout=9"], base)
    assert (config.fail_max, config.reset_timeout) == (7, 9.0)


def test_parse_assignments_with_no_assignments_gives_the_defaults() -> None:
    """An empty list of assignments gives the default config."""
    assert parse_assignments([]) == BreakerConfig()


def test_parse_assignments_unknown_option_lists_the_valid_ones() -> None:
    """An unknown option name fails naming it and listing every settable option."""
    with pytest.raises(InvalidConfigError) as info:
        parse_assignments(["fail_maxx=3"])
    message = str(info.value)
    assert info.value.field == "fail_maxx"
    assert message.startswith("'fail_maxx' must be ")
    for name in ("fail_max", "reset_timeout", "trip_rule", "half_open_max_calls", "failure_exceptions"):
        assert name in message


@pytest.mark.parametrize(
    ("assignment", "field", "rule", "text"),
    [
        ("fail_max=abc", "fail_max", "an int", "abc"),
        ("fail_max=1.5", "fail_max", "an int", "1.5"),
        ("reset_timeout=soon", "reset_timeout", "a number", "soon"),
        ("trip_on_equal_rate=maybe", "trip_on_equal_rate", "true or false", "maybe"),
    ],
)
def test_parse_assignments_bad_value_names_the_field(assignment: str, field: str, rule: str, text: str) -> None:
    """A value that does not parse as its field's type fails naming the field, the type and the text."""
    with pytest.raises(InvalidConfigError) as info:
        parse_assignments([assignment])
    _check_error(info.value, field, rule, text)


def test_parse_assignments_bad_enum_lists_the_valid_values() -> None:
    """An unknown enum value fails listing the option's valid values."""
    with pytest.raises(InvalidConfigError) as info:
        parse_assignments(["trip_rule=sliding"])
    _check_error(info.value, "trip_rule", "one of 'consecutive', 'count_window', 'time_window'", "sliding")


@pytest.mark.parametrize("name", ["NoSuchError", "int", "builtins.len", "os.path.NoSuchError"])
def test_parse_assignments_bad_exception_name_names_the_field(name: str) -> None:
    """An exception name that does not resolve to an exception type fails naming the field and the text."""
    with pytest.raises(InvalidConfigError) as info:
        parse_assignments([f"excluded_exceptions={name}"])
    assert info.value.field == "excluded_exceptions"
    assert repr(name) in str(info.value)


def test_parse_assignments_missing_equals_sign_is_rejected() -> None:
    """An item without '=' fails with the expected OPTION=VALUE form."""
    with pytest.raises(InvalidConfigError) as info:
        parse_assignments(["fail_max"])
    assert "OPTION=VALUE" in str(info.value)


def test_parse_assignments_result_is_validated() -> None:
    """A value that parses but breaks a rule is rejected by BreakerConfig's validation."""
    with pytest.raises(InvalidConfigError) as info:
        parse_assignments(["fail_max=0"])
    _check_error(info.value, "fail_max", "an int >= 1", 0)


def test_parse_assignments_cannot_set_predicates() -> None:
    """Predicate options cannot be set from text and are reported as unknown."""
    with pytest.raises(InvalidConfigError) as info:
        parse_assignments(["is_failure=true"])
    assert info.value.field == "is_failure"

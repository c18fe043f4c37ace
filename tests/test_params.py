"""The table's parameters are declared once (``model/params.py``) and everything else derives from it."""

from __future__ import annotations

import pytest
import z3
from hypothesis import given, settings
from strategies import configs

from breakerlab.model import TABLE, BreakerConfig, InvalidConfigError
from breakerlab.model.expr import Param, names
from breakerlab.model.params import (
    NOT_INVERTIBLE,
    PARAMETERS,
    SORT_TYPES,
    Sort,
    config_from_params,
    parameter,
    violated,
)
from breakerlab.model.table import PARAMS
from breakerlab.proofs.encoding import PARAM_SORTS, Encoding, code, to_z3

DECLARED = tuple(spec.name for spec in PARAMETERS)


def test_table_config_and_proofs_use_the_declared_parameters_in_order() -> None:
    """PARAMS, table_params() keys, the z3 sorts and constants all list exactly the declared parameters."""
    assert PARAMS == DECLARED
    assert tuple(BreakerConfig().table_params()) == DECLARED
    assert tuple(PARAM_SORTS) == DECLARED
    assert {name: str(sort) for name, sort in PARAM_SORTS.items()} == {s.name: s.sort.value for s in PARAMETERS}
    assert tuple(Encoding(TABLE).params) == DECLARED


def test_constraints_mention_only_declared_parameters() -> None:
    """Every declared assumption is an expression over declared parameter names."""
    for spec in PARAMETERS:
        for fact in spec.assumptions:
            assert names(fact, Param) <= set(DECLARED), spec.name


def test_z3_assumptions_are_the_declared_ones() -> None:
    """The proofs' parameter assumptions are equivalent to the conjunction of the declared
    assumptions, and each declared parameter with an assumption appears in them."""
    enc = Encoding(TABLE)
    assumed = enc.parameter_assumptions()
    declared = z3.And(*[to_z3(f, enc.params, {}, {}) for spec in PARAMETERS for f in spec.assumptions])
    solver = z3.Solver()
    solver.add(assumed != declared)
    assert solver.check() == z3.unsat
    mentioned = {str(c) for c in z3.z3util.get_vars(assumed)}
    for spec in PARAMETERS:
        if spec.assumptions:
            assert f"p_{spec.name}" in mentioned, spec.name


def test_every_enum_parameter_takes_exactly_its_domain() -> None:
    """An enum parameter's z3 constant ranges over the codes of its enum's values, no others."""
    enc = Encoding(TABLE)
    for spec in (s for s in PARAMETERS if s.sort is Sort.ENUM):
        solver = z3.Solver()
        solver.add(enc.parameter_assumptions(), *[enc.params[spec.name] != code(v) for v in spec.values])
        assert solver.check() == z3.unsat, spec.name


@settings(max_examples=300, deadline=None)
@given(config=configs())
def test_every_valid_config_satisfies_the_declared_constraints(config: BreakerConfig) -> None:
    """Concretely, every configuration BreakerConfig accepts reads to values of the declared sorts
    that satisfy every declared constraint."""
    params = config.table_params()
    for spec in PARAMETERS:
        assert type(params[spec.name]) is SORT_TYPES[spec.sort], spec.name
        if spec.sort is Sort.ENUM:
            assert params[spec.name] in spec.values
    assert violated(params) == ()


@settings(max_examples=300, deadline=None)
@given(config=configs())
def test_writes_invert_reads(config: BreakerConfig) -> None:
    """Setting the options back from a config's parameters gives a config with the same
    parameters, unless a parameter that cannot be set back differs from the default."""
    params = config.table_params()
    if all(params[name] == parameter(name).read(BreakerConfig()) for name in NOT_INVERTIBLE):
        assert config_from_params(params).table_params() == params
    else:
        with pytest.raises(InvalidConfigError) as raised:
            config_from_params(params)
        assert raised.value.field in NOT_INVERTIBLE


def test_a_broken_constraint_names_its_parameter() -> None:
    """``violated`` names each parameter whose declared assumption the values break."""
    params = BreakerConfig().table_params() | {"fail_max": 0, "failure_rate_num": 3}
    assert violated(params) == ("fail_max", "failure_rate_num")
    with pytest.raises(KeyError, match="declared: trip_rule"):
        parameter("no_such_parameter")

"""Config correctness: float coercion from the field table in run ids, exact float ranges, one
declaration of the penalty settings, and a penalty setting without a penalty refused."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from htdyn.config import from_dict
from htdyn.config.fields import FIELDS, fields_of
from htdyn.errors import ConfigError
from htdyn.sweep.axes import axis_values
from htdyn.sweep.spec import spec_from_dict
from htdyn.train.penalty_terms import PenaltySpec, check_spec

MODEL = {"n": 16, "d": 8, "h": 8, "n_test": 4}


def one_id(raw: dict) -> str:
    spec = spec_from_dict({"model": MODEL, **raw})
    assert len(spec.runs) == 1
    return spec.runs[0].id


@pytest.mark.parametrize("key", [f.key for f in FIELDS if f.kind == "float" and f.section != "sim"
                                 and f.lo in (None, 0.0, 1.0)])
def test_an_int_and_its_float_are_one_run(key: str) -> None:
    """Every float field, whatever its section: ``1`` and ``1.0`` (``2``/``2.0`` where 1 is out of range)."""
    section, _, name = key.rpartition(".")
    f = next(x for x in FIELDS if x.key == key)
    v = 2 if f.lo == 1.0 or (f.hi is not None and f.hi <= 1) else 1
    if f.hi is not None and f.hi <= 1:
        v = 0
    extra = {"name": "weighted_alpha"} if section == "penalty" else {}
    if key in ("penalty.tail_start", "penalty.frechet_loc"):
        extra = {"name": "powerlaw_prior" if name == "tail_start" else "frechet_prior"}
        v = 2 if name == "tail_start" else 0
    a = one_id({section: {**extra, name: v}, "sweep": {"seed": [0]}})
    b = one_id({section: {**extra, name: float(v)}, "sweep": {"seed": [0]}})
    assert a == b, key


def test_penalty_coefficient_as_an_axis_and_in_the_base() -> None:
    base = {"penalty": {"name": "stable_rank"}}
    a = one_id({**base, "sweep": {"penalty.coefficient": [1]}})
    b = one_id({**base, "sweep": {"penalty.coefficient": [1.0]}})
    c = one_id({"penalty": {"name": "stable_rank", "coefficient": 1}, "sweep": {"seed": [0]}})
    assert a == b == c


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize("spec, values", [
    ([0.7, 1.0, 0.1], (0.7, 0.8, 0.9)),  # binary floats give ceil(2.9999999999999996) = 3 ... or 4
    ([1.1, 1.4, 0.1], (1.1, 1.2, 1.3)),
    ([0.1, 0.3, 0.1], (0.1, 0.2)),
    ([0.0, 1.0, 0.25], (0.0, 0.25, 0.5, 0.75)),
    ([1.0, 0.7, -0.1], (1.0, 0.9, 0.8)),
    ([0.5, 0.5, 0.1], ()),
    ([1e-3, 3.1e-3, 1e-3], (1e-3, 2e-3, 3e-3)),
    ([2, 5, 1.5], (2.0, 3.5)),
])
def test_a_float_range_stops_below_stop_exactly(spec: list, values: tuple) -> None:
    if not values:
        with pytest.raises(ConfigError, match="empty"):
            axis_values("x", {"range": spec})
        return
    got = axis_values("x", {"range": spec}).values
    assert got == values
    start, stop, step = (Decimal(repr(x)) for x in spec)
    assert all((Decimal(repr(v)) - stop) * step < 0 for v in got)  # every value before stop
    assert (Decimal(repr(got[-1])) + step - stop) * step >= 0  # and the next one would not be


def test_integer_ranges_are_pythons() -> None:
    assert axis_values("x", {"range": [250, 1001, 250]}).values == (250, 500, 750, 1000)


# --------------------------------------------------------------------------- penalties: one declaration


def test_penalty_spec_defaults_are_the_field_tables() -> None:
    spec = PenaltySpec("weighted_alpha")
    for f in fields_of("penalty"):
        if f.name in ("name",):
            continue
        want = "median" if f.name == "tail_start" else f.default
        assert getattr(spec, f.name) == want, f.name
    assert {f.name for f in dataclasses.fields(PenaltySpec)} == {f.name for f in fields_of("penalty")}


@pytest.mark.parametrize("key", [f.name for f in fields_of("penalty") if f.kind in ("float", "int")])
def test_check_spec_applies_the_field_tables_ranges(key: str) -> None:
    """A value the table refuses, check_spec refuses, with the table's message."""
    f = next(x for x in fields_of("penalty") if x.name == key)
    bad = (f.lo - 1 if not f.lo_open else f.lo) if f.lo is not None else float("inf")
    cfg = {"name": "weighted_alpha", key: bad}
    with pytest.raises(ConfigError) as table:
        from_dict({"model": MODEL, "penalty": cfg})
    with pytest.raises(ConfigError) as spec:
        check_spec(PenaltySpec(**cfg))
    assert f"penalty.{key}" in str(spec.value)
    if key != "tail_start":
        assert str(spec.value) == str(table.value)


def test_a_penalty_setting_without_a_penalty_is_refused() -> None:
    for pen in ({"coefficient": 0.5}, {"name": "none", "alpha0": 2.0}):
        with pytest.raises(ConfigError, match="penalty.name is 'none'"):
            from_dict({"model": MODEL, "penalty": pen})
        with pytest.raises(ConfigError, match="penalty.name is 'none'"):
            spec_from_dict({"model": MODEL, "penalty": pen, "sweep": {"optimizer.lr": [0.1]}})
    # settings for the runs that name a penalty: a [[runs]] table, or a sweep over penalty.name
    sim = from_dict({"model": MODEL, "penalty": {"coefficient": 0.5},
                     "runs": [{}, {"penalty": {"name": "stable_rank"}}]})
    assert sim.runs[1].penalty.coefficient == 0.5
    spec = spec_from_dict({"model": MODEL, "penalty": {"coefficient": 0.5},
                           "sweep": {"penalty.name": ["none", "stable_rank"], "optimizer.lr": [0.1, 1.0]}})
    assert len(spec.runs) == 4
    assert from_dict({"model": MODEL, "penalty": {"name": "none"}}).runs[0].penalty.name == "none"

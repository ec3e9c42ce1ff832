"""The optimizer declaration (htdyn.config.optimizers) and the rule modules (htdyn.train.optimizers) agree."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import numpy as np
import pytest
from clitools import cli, needs_htdyn, ok, one_line_error

import htdyn
import htdyn.train.optimizers as pkg
from htdyn.config import OPTIMIZERS, OptimizerConfig, from_dict
from htdyn.config.fields import get_field
from htdyn.config.optimizers import OPTIMIZER_SPECS, optimizer_spec
from htdyn.errors import ConfigError
from htdyn.train.backend import get_backend
from htdyn.train.optim import STATE_NAMES, BatchedOptimizer
from htdyn.train.optimizers import Rule, rule_class, rules


def test_every_module_rule_is_declared_and_every_declaration_has_a_rule() -> None:
    found = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for name, cls in getattr(mod, "RULES", {}).items():
            assert name not in found, f"{name} implemented twice"
            assert optimizer_spec(name).module == info.name, name
            found[name] = cls
    assert set(found) == set(OPTIMIZERS) == set(rules())
    assert all(issubclass(c, Rule) for c in found.values())
    assert tuple(s.name for s in OPTIMIZER_SPECS) == OPTIMIZERS
    assert OPTIMIZERS == ("gd", "momentum", "nesterov", "adam", "adamw", "sign", "muon")


@pytest.mark.parametrize("spec", OPTIMIZER_SPECS, ids=lambda s: s.name)
def test_declared_state_and_hyper_parameters(spec) -> None:
    """After two steps a rule holds exactly its declared buffers; its hyper-parameters are config fields."""
    for h in ("lr", *spec.hyper):
        assert get_field("optimizer", h) is not None, h
        if h != "lr":
            assert f"`{spec.name}`" in get_field("optimizer", h).doc, (h, spec.name)
    be = get_backend("cpu", "float64", "numpy")
    opt = BatchedOptimizer([OptimizerConfig(spec.name, lr=0.1, weight_decay=0.01)] * 2, be)
    assert isinstance(opt.rule, rule_class(spec.name))
    rng = np.random.default_rng(0)
    p = [rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 6))]
    for _ in range(2):
        u = opt.step(p, [rng.standard_normal(x.shape) for x in p], np.array([0.1, 0.2]))
        assert all(np.all(np.isfinite(x)) and np.any(x != 0) for x in u)
    states, k = opt.get_state()
    assert k == 2 and all(tuple(st) == spec.state for st in states) and STATE_NAMES[spec.name] == spec.state


def test_config_takes_every_declared_name_and_hints_muon() -> None:
    for name in OPTIMIZERS:
        assert from_dict({"optimizer": {"name": name}}).runs[0].optimizer.name == name
    with pytest.raises(ConfigError, match="did you mean 'muon'"):
        from_dict({"optimizer": {"name": "moun"}})


def test_unknown_optimizer_names_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="choose from gd, momentum"):
        optimizer_spec("rmsprop")


@needs_htdyn
def test_cli_runs_muon_and_refuses_a_misspelling(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('steps = 2\n[model]\nn = 8\nd = 4\nh = 6\nn_test = 4\n')
    bad = cli("run", cfg, "-q", "-o", tmp_path / "x.h5", "--set", "optimizer.name=muom")
    one_line_error(bad, "optimizer.name", "did you mean 'muon'")
    assert not (tmp_path / "x.h5").exists()
    ok(cli("run", cfg, "-q", "-o", tmp_path / "y.h5", "--set", "optimizer.name=muon"))
    with htdyn.open(tmp_path / "y.h5") as tr:
        assert tr[0].config["optimizer"]["name"] == "muon" and tr.complete

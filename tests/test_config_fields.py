"""The field table drives validation, coercion, hints and the docs: each checked against hand-written answers."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clitools import cli, needs_htdyn, one_line_error

from htdyn.config import ACTIVATIONS, BACKENDS, FIELDS, OPTIMIZERS, SCHEDULES, TEACHERS, Field, from_dict
from htdyn.config.docs import BEGIN, END, docs_block, key_table_markdown, main, replace_block
from htdyn.config.fields import fields_of
from htdyn.config.schema import SECTION_OF
from htdyn.config.validate import check_value, coerce, range_text
from htdyn.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

# Hand-written, not read from the table: for every key, values that must pass and values that must fail.
EXPECT: dict[str, tuple[list[Any], list[Any]]] = {
    "name": (["x", "a b"], ["", 3, None]),
    "steps": ([0, 1, 500], [-1, 1.0, "3", True, None]),
    "device": (["cpu", "cuda"], ["gpu", "", None, 0]),
    "backend": ([None, "numpy", "torch", "cupy"], ["jax", 1]),
    "dtype": (["float32", "float64"], ["float16", None]),
    "output": (["a.h5", "out/{name}.h5"], ["", 5, "out/{run}.h5"]),
    "store_data": ([True, False], [1, "yes", None]),
    "snapshots.at": ([1, 7, [0, 3], "log:2", "first_last", "none"], [0, -1, True, "log:1", "every", [-1], "snapshots"]),
    "snapshots.dtype": (["float32", "float16"], ["float64"]),
    "snapshots.compression": (["none", "lzf", "gzip"], ["zstd", None]),
    "snapshots.updates": ([True, False], [0]),
    "snapshots.optimizer_state": ([True, False], ["no"]),
    "eval.at": (["snapshots", 2, [0, 1], "log:3"], ["sometimes", 0]),
    "eval.ridge_lambda": ([1e-6, 0.01, 5], [0, -1.0, float("nan"), True, "x"]),
    "eval.features": (["model", "official"], ["x"]),
    "eval.metrics": ([[], ["esd", "mp"]], ["esd", [1], None]),
    "seed": ([0, 12], [-1, 1.5, True]),
    "data_seed": ([None, 0, 4], [-2, "1"]),
    "init_seed": ([None, 0, 4], [-2, 0.5]),
    "weight_norm": ([True, False], [1]),
    "label": (["", "adam"], [3, None]),
    "model.n": ([1, 64], [0, -5, 10.0, "10", True]),
    "model.d": ([1, 16], [0, True]),
    "model.h": ([1, 24], [0, 1.5]),
    "model.n_test": ([1, 8], [0, -1]),
    "model.noise_std": ([0, 0.0, 0.3], [-0.1, float("nan"), float("inf"), False]),
    "model.teacher": (["softplus", "relu", "tanh", "linear", abs], ["cubic", None]),
    "model.activation": (["tanh", "relu", "softplus", "gelu", "linear", abs], ["sigmoid", 3]),
    "model.init_scale": ([0.1, 2], [0, -1]),
    "model.readout_scale": ([0.1, 2], [0.0, "big"]),
    "model.train_readout": ([True, False], ["yes"]),
    "optimizer.name": (["gd", "momentum", "nesterov", "adam", "adamw", "sign"], ["rmsprop", "adm"]),
    "optimizer.lr": ([1e-3, 1, 10.0], [0, -1e-3, float("inf"), "fast", True]),
    "optimizer.momentum": ([0, 0.0, 0.5, 0.999], [1, 1.0, -0.1]),
    "optimizer.beta1": ([0.0, 0.9], [1.0, 2]),
    "optimizer.beta2": ([0.0, 0.999], [1.0, -1e-9]),
    "optimizer.eps": ([1e-12, 1], [0, -1e-8]),
    "optimizer.weight_decay": ([0, 0.1], [-1, -1e-9]),
    "optimizer.batch_size": ([None, 0, 1, 100], [-1, 2.5]),
    "schedule.name": (["constant", "step", "exponential", "cosine"], ["poly"]),
    "schedule.gamma": ([0.5, 2], [0, -0.5]),
    "schedule.step_size": ([1, 3], [0, 1.5]),
    "schedule.eta_min": ([0, 1e-4], [-1e-4]),
    "schedule.t_max": ([None, 1, 50], [0, -3]),
    "schedule.warmup_steps": ([0, 5], [-1, 1.5]),
    "penalty.name": (["none", "weighted_alpha", "stable_rank", "powerlaw_prior", "frechet_prior"],
                     ["weighted-alpha", "l2", None]),
    "penalty.coefficient": ([0, 0.01, 5], [-1e-3, float("nan"), True, "x"]),
    "penalty.decay": (["none", "power", "exponential"], ["linear", None]),
    "penalty.decay_rate": ([0, 0.5, 2], [-1, float("inf")]),
    "penalty.decay_period": ([1, 10], [0, 1.5]),
    "penalty.decay_threshold": ([0, 0.3], [-0.1]),
    "penalty.lower_threshold": ([None, -2, 0, 4.5], [float("nan"), "low"]),
    "penalty.alpha0": ([1.5, 3], [1, 0.5]),
    "penalty.tail_start": ([None, 10.0], [0, -1]),
    "penalty.frechet_shape": ([0.5, 2], [0, -1]),
    "penalty.frechet_scale": ([1e-3, 50], [0, -2]),
    "penalty.frechet_loc": ([-5, 0, 100.0], [float("inf"), "x"]),
}


def _raw(key: str, value: Any) -> dict:
    """A config dict setting one dotted key (the sections nest); a penalty setting comes with a penalty
    (a setting of no penalty is refused: test_config_penalty.py)."""
    section, _, name = key.rpartition(".")
    if section == "penalty" and name != "name":
        return {section: {"name": "weighted_alpha", name: value}}
    return {section: {name: value}} if section else {key: value}


def test_every_field_has_expectations() -> None:
    assert sorted(f.key for f in FIELDS) == sorted(EXPECT)


@pytest.mark.parametrize("key", sorted(EXPECT))
def test_valid_values_pass(key: str) -> None:
    for value in EXPECT[key][0]:
        sim = from_dict(_raw(key, value))
        section, _, name = key.rpartition(".")
        obj = {"": sim.runs[0], "model": sim.runs[0].model, "optimizer": sim.runs[0].optimizer,
               "schedule": sim.runs[0].schedule, "penalty": sim.runs[0].penalty,
               "snapshots": sim.snapshots, "eval": sim.eval}[section]
        if key in {f.name for f in fields_of("sim")}:
            obj = sim
        assert getattr(obj, name) == value or getattr(obj, name) is value


@pytest.mark.parametrize("key", sorted(EXPECT))
def test_bad_values_fail_naming_the_key(key: str) -> None:
    for value in EXPECT[key][1]:
        with pytest.raises(ConfigError) as exc:
            from_dict(_raw(key, value))
        msg = str(exc.value)
        assert key in msg, (value, msg)
        assert "\n" not in msg


@pytest.mark.parametrize("key, value, message", [
    ("model.n", 0, "model.n = 0 must be a positive integer"),
    ("steps", -1, "steps = -1 must be a non-negative integer"),
    ("model.n", 2.0, "model.n must be an integer, got 2.0"),
    ("optimizer.lr", 0, "optimizer.lr = 0 must be > 0"),
    ("model.noise_std", -0.5, "model.noise_std = -0.5 must be >= 0"),
    ("optimizer.beta2", 1.0, "optimizer.beta2 = 1.0 is out of range; it must be in [0, 1)"),
    ("optimizer.lr", True, "optimizer.lr must be a number, got True"),
    ("store_data", 1, "store_data must be true or false, got 1"),
    ("output", "o/{x}.h5", "output = 'o/{x}.h5': unknown placeholder {x}; valid placeholders: {name}"),
    ("device", "metal", "device = 'metal' is not valid; choose one of cpu, cuda"),
    ("model.teacher", "cubic", "model.teacher = 'cubic' is not valid; choose one of softplus, relu, tanh, "
     "linear or a Python callable"),
])
def test_messages_word_for_word(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_dict(_raw(key, value))
    assert str(exc.value) == message


# --------------------------------------------------------------------------- did you mean


@pytest.mark.parametrize("key, value, hint", [
    ("optimizer.name", "adm", "adam"),
    ("optimizer.name", "nesterow", "nesterov"),
    ("model.activation", "tahn", "tanh"),
    ("model.teacher", "softpls", "softplus"),
    ("schedule.name", "cosin", "cosine"),
    ("backend", "torh", "torch"),
    ("snapshots.compression", "gzp", "gzip"),
    ("dtype", "float46", "float64"),
])
def test_bad_choice_value_suggests_the_close_one(key: str, value: str, hint: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_dict(_raw(key, value))
    assert f"{key} = {value!r} is not valid (did you mean {hint!r}?)" in str(exc.value)


def test_far_choice_value_has_no_hint() -> None:
    with pytest.raises(ConfigError) as exc:
        from_dict(_raw("optimizer.name", "zzzz"))
    assert "did you mean" not in str(exc.value) and "choose one of gd" in str(exc.value)


@pytest.mark.parametrize("raw, hint", [({"weight_nrom": True}, "weight_norm"), ({"storedata": True}, "store_data"),
                                       ({"model": {"nois_std": 0.1}}, "noise_std"),
                                       ({"snapshots": {"compresion": "lzf"}}, "compression")])
def test_unknown_key_suggests_the_close_one(raw: dict, hint: str) -> None:
    with pytest.raises(ConfigError, match=f"did you mean '{hint}'"):
        from_dict(raw)


@needs_htdyn
def test_cli_suggests_a_value(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('steps = 1\n[model]\nn = 8\nd = 4\nh = 4\nn_test = 4\n')
    r = cli("run", cfg, "-q", "-o", tmp_path / "x.h5", "--set", "optimizer.name=adm")
    one_line_error(r, "optimizer.name", "did you mean 'adam'")
    assert not (tmp_path / "x.h5").exists()


# --------------------------------------------------------------------------- coercion


def test_numeric_strings_become_floats_in_every_float_field() -> None:
    for f in FIELDS:
        if f.kind != "float":
            continue
        text, want = ("5e-1", 0.5) if f.lo is None or f.lo < 0.5 else ("5e0", 5.0)
        raw = _raw(f.key, text)
        if f.section == "penalty":  # a run without a penalty stores no penalty table
            raw["penalty"]["name"] = "stable_rank"
        sim = from_dict(raw)
        flat = sim.to_dict()
        value = flat if f.section == "sim" else flat["runs"][0] if f.section == "run" else None
        if value is None:
            value = flat[f.section] if f.section in ("snapshots", "eval") else flat["runs"][0][f.section]
        got = value[f.name]
        assert isinstance(got, float) and got == want, f.key


def test_coercion_of_optional_floats_and_what_it_leaves_alone() -> None:
    opt = Field("optimizer", "clip", "float", None, "test field", lo=0.0, optional=True)
    assert coerce(opt, "1e-3", "optimizer.clip") == 1e-3 and isinstance(coerce(opt, "1e-3", "k"), float)
    assert coerce(opt, None, "k") is None
    check_value(opt, None, "optimizer.clip")
    check_value(opt, coerce(opt, "2.5", "k"), "optimizer.clip")
    got = coerce(opt, 3, "k")
    assert got == 3 and type(got) is int  # ints stay ints
    assert coerce(opt, True, "k") is True  # bools are not numbers: left for the check to refuse
    with pytest.raises(ConfigError, match="optimizer.clip must be a number, got True"):
        check_value(opt, True, "optimizer.clip")
    with pytest.raises(ConfigError, match="optimizer.clip must be a number, got 'abc'"):
        coerce(opt, "abc", "optimizer.clip")
    with pytest.raises(ConfigError, match=r"optimizer.clip = -1.0 must be >= 0"):
        check_value(opt, coerce(opt, "-1", "k"), "optimizer.clip")
    n = next(f for f in FIELDS if f.key == "model.n")
    assert coerce(n, "10", "model.n") == "10"  # integer fields take no strings (then refused)


def test_yaml_strings_reach_float_fields(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    from htdyn.config import load_config

    p = tmp_path / "c.yaml"
    p.write_text("model: {n: 8, d: 4, h: 4, noise_std: 1e-1}\noptimizer: {lr: 1e-3, weight_decay: 1e-4}\n"
                 "eval: {ridge_lambda: 1e-2}\nschedule: {eta_min: 1e-5, step_size: 2}\n")
    sim = load_config(p)
    r = sim.runs[0]
    assert (r.model.noise_std, r.optimizer.lr, r.optimizer.weight_decay, sim.eval.ridge_lambda,
            r.schedule.eta_min) == (0.1, 1e-3, 1e-4, 1e-2, 1e-5)
    assert all(isinstance(v, float) for v in (r.model.noise_std, r.optimizer.lr, sim.eval.ridge_lambda))
    assert r.schedule.step_size == 2 and type(r.schedule.step_size) is int and type(r.model.n) is int


def test_range_text() -> None:
    by = {f.key: f for f in FIELDS}
    assert range_text(by["optimizer.lr"]) == "> 0"
    assert range_text(by["model.noise_std"]) == ">= 0"
    assert range_text(by["optimizer.beta1"]) == "in [0, 1)"
    assert range_text(by["model.n"]) == ">= 1"


# --------------------------------------------------------------------------- one source


def test_dataclasses_and_table_agree() -> None:
    """Each dataclass's plain fields are its section's table entries, in order, with the table's defaults."""
    for cls, section in SECTION_OF.items():
        plain = [f.name for f in dataclasses.fields(cls)
                 if not (dataclasses.is_dataclass(f.type) or f.name in ("model", "optimizer", "schedule",
                                                                          "penalty", "snapshots", "eval", "runs"))]
        assert plain == [f.name for f in fields_of(section)], cls
        inst = cls()
        for f in fields_of(section):
            assert getattr(inst, f.name) == f.default, f.key


def test_default_lists_are_not_shared() -> None:
    a, b = from_dict({}), from_dict({})
    a.eval.metrics.append("esd")
    assert b.eval.metrics == [] and next(f for f in FIELDS if f.key == "eval.metrics").default == []


def test_names_are_kept_once() -> None:
    """The implementations keyed by name cover exactly config's names; backend takes its list from config."""
    from htdyn import activations
    from htdyn.config import ScheduleConfig
    from htdyn.train import backend, optim
    from htdyn.train.schedules import learning_rate

    assert backend.BACKENDS is BACKENDS
    assert set(activations.ACTIVATIONS) == set(ACTIVATIONS)
    assert set(activations.TEACHERS) == set(TEACHERS)
    assert set(optim.STATE_NAMES) == set(OPTIMIZERS)
    for name in SCHEDULES:
        assert learning_rate(ScheduleConfig(name=name), 1.0, 3, 10) > 0


# --------------------------------------------------------------------------- docs


def test_docs_table_is_generated_from_the_table() -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == docs_block(), "regenerate with: python -m htdyn.config.docs docs/config.md"
    table = key_table_markdown().splitlines()
    assert len(table) == 2 + len(FIELDS)
    assert all(f"`{f.key}`" in line for f, line in zip(FIELDS, table[2:]))
    # every key's row says what is valid: the choices of a choice field appear in its row
    for f, line in zip(FIELDS, table[2:]):
        assert all(f"`{c}`" in line for c in f.choices), f.key


def test_docs_block_is_replaced_in_place(tmp_path: Path) -> None:
    p = tmp_path / "c.md"
    p.write_text(f"intro\n{BEGIN}\nstale\n{END}\noutro\n")
    assert main([str(p)]) == 0
    assert p.read_text() == f"intro\n{docs_block()}\noutro\n"
    assert main([]) == 2
    with pytest.raises(ValueError, match="markers"):
        replace_block("no block here")


def test_docs_module_runs_as_a_script(tmp_path: Path) -> None:
    p = tmp_path / "c.md"
    p.write_text(f"{BEGIN}\n{END}\n")
    r = subprocess.run([sys.executable, "-m", "htdyn.config.docs", str(p)], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr
    assert p.read_text() == docs_block() + "\n"

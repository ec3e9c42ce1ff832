"""Config validation, grid / [[runs]] expansion, overrides, TOML / YAML loading, snapshot step specs."""

from __future__ import annotations

import json
import textwrap

import pytest

from htdyn.config import (
    ModelConfig,
    OptimizerConfig,
    RunConfig,
    SimConfig,
    apply_override,
    from_dict,
    load_config,
    resolve_steps,
    simulation,
)
from htdyn.errors import ConfigError, HtdynError

# --------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    "raw, key, hint",
    [
        ({"stepz": 10}, "stepz", "steps"),
        ({"modle": {"n": 10}}, "modle", "model"),
        ({"model": {"nn": 10}}, "model.nn", "n"),
        ({"model": {"activaton": "relu"}}, "model.activaton", "activation"),
        ({"optimizer": {"lrr": 0.1}}, "optimizer.lrr", "lr"),
        ({"schedule": {"gama": 0.5}}, "schedule.gama", "gamma"),
        ({"snapshots": {"att": 1}}, "snapshots.att", "at"),
        ({"eval": {"ridge_lamda": 0.1}}, "eval.ridge_lamda", "ridge_lambda"),
        ({"runs": [{"optimzer": {"lr": 1}}]}, "optimzer", "optimizer"),
        ({"runs": [{"optimizer": {"lrr": 1}}]}, "lrr", "lr"),
    ],
)
def test_unknown_key_is_named_with_a_hint(raw: dict, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_dict(raw)
    msg = str(exc.value)
    assert key in msg
    assert f"did you mean {hint!r}" in msg


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    with pytest.raises(ConfigError, match="valid keys:.*steps") as exc:
        from_dict({"zzzzzz": 1})
    assert "did you mean" not in str(exc.value)


def test_simulation_rejects_unknown_sim_key() -> None:
    with pytest.raises(ConfigError, match="stepz.*did you mean 'steps'"):
        simulation([RunConfig()], stepz=3)


def test_config_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        from_dict({"steps": -1})
    assert issubclass(ConfigError, HtdynError)


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"model": {"n": "10"}}, "model.n must be an integer"),
        ({"model": {"n": 10.0}}, "model.n must be an integer"),
        ({"model": {"d": True}}, "model.d must be an integer"),
        ({"model": {"n": -5}}, "model.n = -5 must be a positive integer"),
        ({"model": {"h": 0}}, "model.h = 0 must be a positive integer"),
        ({"model": {"n_test": -1}}, "model.n_test"),
        ({"model": {"noise_std": -0.1}}, "model.noise_std"),
        ({"model": {"noise_std": float("nan")}}, "model.noise_std must be finite"),
        ({"model": {"activation": "sigmoid"}}, "model.activation = 'sigmoid' is not valid.*tanh"),
        ({"model": {"teacher": "cubic"}}, "model.teacher"),
        ({"model": {"train_readout": "yes"}}, "model.train_readout must be true or false"),
        ({"optimizer": {"name": "rmsprop"}}, "optimizer.name = 'rmsprop' is not valid.*adam"),
        ({"optimizer": {"lr": 0}}, "optimizer.lr = 0 must be > 0"),
        ({"optimizer": {"lr": -1e-3}}, "optimizer.lr .* must be > 0"),
        ({"optimizer": {"lr": "fast"}}, "optimizer.lr must be a number"),
        ({"optimizer": {"lr": float("inf")}}, "optimizer.lr must be finite"),
        ({"optimizer": {"beta1": 1.0}}, r"optimizer.beta1 .* \[0, 1\)"),
        ({"optimizer": {"momentum": -0.1}}, "optimizer.momentum"),
        ({"optimizer": {"eps": 0}}, "optimizer.eps"),
        ({"optimizer": {"weight_decay": -1}}, "optimizer.weight_decay"),
        ({"optimizer": {"batch_size": 5000}}, "batch_size = 5000 exceeds model.n"),
        ({"optimizer": "adam"}, "optimizer must be a table"),
        ({"schedule": {"name": "poly"}}, "schedule.name = 'poly' is not valid"),
        ({"schedule": {"gamma": 0}}, "schedule.gamma"),
        ({"schedule": {"step_size": 0}}, "schedule.step_size"),
        ({"schedule": {"t_max": -3}}, "schedule.t_max"),
        ({"schedule": {"warmup_steps": 1.5}}, "schedule.warmup_steps must be an integer"),
        ({"steps": -1}, "steps = -1"),
        ({"steps": True}, "steps must be an integer"),
        ({"seed": -1}, "seed = -1"),
        ({"dtype": "float16"}, "dtype = 'float16' is not valid"),
        ({"device": "tpu"}, "device = 'tpu' is not valid"),
        ({"backend": "jax"}, "backend = 'jax' is not valid"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"snapshots": {"at": 0}}, "snapshots.at = 0"),
        ({"snapshots": {"at": -2}}, "snapshots.at"),
        ({"snapshots": {"at": "every"}}, "snapshots.at = 'every' is not valid"),
        ({"snapshots": {"at": "log:1"}}, "snapshots.at = 'log:1'"),
        ({"snapshots": {"at": "log:x"}}, "snapshots.at"),
        ({"snapshots": {"at": [0, -1]}}, r"snapshots.at\[\]"),
        ({"snapshots": {"at": True}}, "snapshots.at"),
        ({"snapshots": {"dtype": "float64"}}, "snapshots.dtype"),
        ({"snapshots": {"compression": "zstd"}}, "snapshots.compression"),
        ({"eval": {"at": "sometimes"}}, "eval.at"),
        ({"eval": {"ridge_lambda": 0}}, "eval.ridge_lambda"),
        ({"eval": {"features": "x"}}, "eval.features"),
        ({"eval": {"metrics": "alpha"}}, "eval.metrics must be a list"),
        ({"grid": {"optimizer.lr": []}}, "grid.optimizer.lr must be a non-empty list"),
        ({"grid": {"optimizer.lr": 0.1}}, "grid.optimizer.lr must be a non-empty list"),
        ({"grid": {"steps": [1, 2]}}, "grid.steps: only per-run keys"),
        ({"grid": [1, 2]}, "grid must be a table"),
        ({"runs": {"seed": 1}}, "runs must be a list of tables"),
        ({"runs": []}, "no runs"),
    ],
)
def test_bad_values(raw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        from_dict(raw)


def test_error_names_the_run_in_a_multi_run_config() -> None:
    with pytest.raises(ConfigError, match=r"run 1: optimizer.lr = -1 must be > 0"):
        from_dict({"runs": [{"optimizer": {"lr": 0.1}}, {"optimizer": {"lr": -1}}]})


def test_numeric_strings_accepted_for_float_fields() -> None:
    """YAML 1.1 reads 1e-3 as a string: float fields accept numeric strings."""
    sim = from_dict({"optimizer": {"lr": "1e-3", "eps": "1e-6"}, "model": {"noise_std": "0.5"}})
    assert sim.runs[0].optimizer.lr == 1e-3 and sim.runs[0].optimizer.eps == 1e-6
    assert sim.runs[0].model.noise_std == 0.5


def test_valid_edge_values() -> None:
    sim = from_dict({"steps": 0, "model": {"noise_std": 0.0}, "optimizer": {"momentum": 0.0, "batch_size": 0},
                     "snapshots": {"at": "log:2"}})
    assert sim.steps == 0 and sim.runs[0].model.noise_std == 0.0


# --------------------------------------------------------------------------- grid and runs


def test_grid_expansion_is_the_cartesian_product() -> None:
    lrs, seeds, acts = [0.01, 0.1, 1.0], [0, 1], ["tanh", "relu"]
    sim = from_dict({"steps": 3, "optimizer": {"name": "adam"},
                     "grid": {"optimizer.lr": lrs, "seed": seeds, "model.activation": acts}})
    assert len(sim.runs) == len(lrs) * len(seeds) * len(acts) == 12
    combos = [(r.optimizer.lr, r.seed, r.model.activation) for r in sim.runs]
    # every combination exactly once, in itertools.product order (first key slowest)
    assert combos == [(lr, s, a) for lr in lrs for s in seeds for a in acts]
    assert all(r.optimizer.name == "adam" and r.model.n == 2000 for r in sim.runs)


def test_runs_overrides_times_grid() -> None:
    raw = {
        "name": "sweep", "steps": 5,
        "model": {"n": 100, "d": 20, "h": 30},
        "optimizer": {"name": "adam", "lr": 1.0, "beta1": 0.8},
        "grid": {"optimizer.lr": [0.1, 1.0], "seed": [3, 4]},
        "runs": [
            {"label": "adam"},
            {"label": "gd", "optimizer": {"name": "gd"}},  # nested tables merge with the base
            {"label": "wide", "model.h": 60, "weight_norm": True},  # dotted keys in an override
        ],
    }
    sim = from_dict(raw)
    assert len(sim.runs) == 3 * 4
    labels = [r.label for r in sim.runs]
    assert labels == ["adam"] * 4 + ["gd"] * 4 + ["wide"] * 4
    for r in sim.runs:
        assert r.model.n == 100 and r.model.d == 20
        assert r.optimizer.beta1 == 0.8  # kept from the base through the partial override
        assert r.optimizer.lr in (0.1, 1.0) and r.seed in (3, 4)
    assert {r.optimizer.name for r in sim.runs[4:8]} == {"gd"}
    assert {r.model.h for r in sim.runs[8:]} == {60} and all(r.weight_norm for r in sim.runs[8:])
    assert {r.model.h for r in sim.runs[:8]} == {30}
    assert [(r.optimizer.lr, r.seed) for r in sim.runs[:4]] == [(0.1, 3), (0.1, 4), (1.0, 3), (1.0, 4)]


def test_grid_overrides_runs_values() -> None:
    """A grid value wins over the same key in a [[runs]] table (the grid is applied last)."""
    sim = from_dict({"runs": [{"seed": 9}], "grid": {"seed": [1, 2]}})
    assert [r.seed for r in sim.runs] == [1, 2]


def test_to_dict_round_trip() -> None:
    sim = from_dict({"name": "rt", "steps": 7, "snapshots": {"at": "log:5", "dtype": "float16"},
                     "grid": {"optimizer.lr": [0.1, 1.0]}, "runs": [{"seed": 1}, {"optimizer.name": "gd"}]})
    d = sim.to_dict()
    assert json.loads(json.dumps(d)) == d  # JSON-serialisable
    again = from_dict(d)
    assert again == sim


def test_seed_defaults() -> None:
    r = RunConfig(seed=5)
    assert r.data_seed_ == 5 and r.init_seed_ == 5
    r = RunConfig(seed=5, data_seed=1, init_seed=2)
    assert r.data_seed_ == 1 and r.init_seed_ == 2


def test_simulation_builder() -> None:
    sim = simulation([RunConfig(optimizer=OptimizerConfig("adam", lr=lr)) for lr in (0.1, 1.0)], steps=3,
                     snapshots={"at": "first_last", "dtype": "float16"}, eval={"ridge_lambda": 0.1})
    assert isinstance(sim, SimConfig)
    assert [r.optimizer.lr for r in sim.runs] == [0.1, 1.0]
    assert sim.snapshots.at == "first_last" and sim.snapshots.dtype == "float16"
    assert sim.eval.ridge_lambda == 0.1
    with pytest.raises(ConfigError, match="optimizer.lr"):
        simulation(RunConfig(optimizer=OptimizerConfig("adam", lr=-1.0)))
    with pytest.raises(ConfigError, match="snapshots.att"):
        simulation(RunConfig(), snapshots={"att": 1})
    sim = simulation(RunConfig(model=ModelConfig(activation=lambda x: x)))  # a callable activation is valid
    assert sim.to_dict()["runs"][0]["model"]["activation"].startswith("callable:")


# --------------------------------------------------------------------------- overrides


def test_apply_override_sets_nested_values_parsed_as_json() -> None:
    raw = {"optimizer": {"name": "adam"}}
    apply_override(raw, "optimizer.lr=1e-3")
    apply_override(raw, "model.train_readout=true")
    apply_override(raw, "snapshots.at=[0, 5, 10]")
    apply_override(raw, "optimizer.name=gd")
    apply_override(raw, "data_seed=null")
    apply_override(raw, " steps = 12 ")
    apply_override(raw, "name=my run")
    assert raw == {"optimizer": {"name": "gd", "lr": 1e-3}, "model": {"train_readout": True},
                   "snapshots": {"at": [0, 5, 10]}, "data_seed": None, "steps": 12, "name": "my run"}
    sim = from_dict(raw)
    assert sim.runs[0].optimizer.lr == 1e-3 and sim.steps == 12 and sim.snapshots.at == [0, 5, 10]


def test_apply_override_replaces_a_swept_key() -> None:
    raw = {"grid": {"optimizer.lr": [0.1, 1.0], "seed": [0, 1]}}
    apply_override(raw, "optimizer.lr=0.5")
    sim = from_dict(raw)
    assert len(sim.runs) == 2 and {r.optimizer.lr for r in sim.runs} == {0.5}


@pytest.mark.parametrize("item, match", [("optimizer.lr", "key=value"), ("=3", "empty key"),
                                          ("optimizer.lr.x=3", "'lr' is not a table")])
def test_apply_override_errors(item: str, match: str) -> None:
    raw = {"optimizer": {"lr": 0.1}}
    with pytest.raises(ConfigError, match=match):
        apply_override(raw, item)


def test_override_with_unknown_key_fails_on_build() -> None:
    raw: dict = {}
    apply_override(raw, "optimizer.lrr=0.1")
    with pytest.raises(ConfigError, match="did you mean 'lr'"):
        from_dict(raw)


# --------------------------------------------------------------------------- files

TOML = textwrap.dedent(
    """
    steps = 4
    dtype = "float64"

    [model]
    n = 64
    d = 16
    h = 24

    [optimizer]
    name = "adam"
    lr = 1e-2

    [snapshots]
    at = "first_last"

    [grid]
    "optimizer.lr" = [0.01, 0.1]
    seed = [0, 1, 2]

    [[runs]]
    label = "base"

    [[runs]]
    label = "momentum"
    optimizer = { name = "momentum", momentum = 0.5 }
    """
)

YAML = textwrap.dedent(
    """
    steps: 4
    model: {n: 64, d: 16, h: 24}
    optimizer:
      name: adam
      lr: 1e-2
      eps: 1e-6
    schedule: {name: step, gamma: 0.5}
    grid:
      optimizer.lr: [0.01, 0.1]
      seed: [0, 1, 2]
    runs:
      - label: base
      - label: momentum
        optimizer: {name: momentum, momentum: 0.5}
    """
)


def _check_loaded(sim: SimConfig, name: str) -> None:
    assert sim.name == name  # defaults to the file's stem
    assert sim.steps == 4
    assert len(sim.runs) == 2 * 2 * 3
    assert [r.label for r in sim.runs] == ["base"] * 6 + ["momentum"] * 6
    assert all(r.model.n == 64 and r.model.h == 24 for r in sim.runs)
    assert {r.optimizer.name for r in sim.runs[6:]} == {"momentum"}
    assert all(r.optimizer.momentum == 0.5 for r in sim.runs[6:])
    assert [(r.optimizer.lr, r.seed) for r in sim.runs[:6]] == [(lr, s) for lr in (0.01, 0.1) for s in (0, 1, 2)]


def test_load_toml(tmp_path) -> None:
    p = tmp_path / "sweep.toml"
    p.write_text(TOML)
    sim = load_config(p)
    _check_loaded(sim, "sweep")
    assert sim.dtype == "float64" and sim.snapshots.at == "first_last"


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_load_yaml(tmp_path, suffix: str) -> None:
    pytest.importorskip("yaml")
    p = tmp_path / f"sweep{suffix}"
    p.write_text(YAML)
    sim = load_config(p)
    _check_loaded(sim, "sweep")
    # YAML 1.1 reads "1e-6" as a string; it must still become a float
    assert all(r.optimizer.eps == 1e-6 and isinstance(r.optimizer.eps, float) for r in sim.runs)
    assert all(r.schedule.name == "step" and r.schedule.gamma == 0.5 for r in sim.runs)


def test_load_with_overrides(tmp_path) -> None:
    p = tmp_path / "sweep.toml"
    p.write_text(TOML)
    sim = load_config(p, ["steps=9", "optimizer.lr=0.5", "name=renamed", "model.h=32"])
    assert sim.steps == 9 and sim.name == "renamed"
    assert len(sim.runs) == 2 * 3  # the lr sweep is replaced by the explicit value
    assert all(r.model.h == 32 for r in sim.runs)
    assert {r.optimizer.lr for r in sim.runs} == {0.5}
    with pytest.raises(ConfigError, match="did you mean 'steps'"):
        load_config(p, ["stepz=3"])


def test_missing_file_names_the_file(tmp_path) -> None:
    p = tmp_path / "nope" / "missing.toml"
    with pytest.raises(ConfigError, match="missing.toml"):
        load_config(p)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("bad.toml", "steps = = 3\n", "bad.toml.*not valid TOML"),
        ("bad.yaml", "steps: [1, 2\n", "bad.yaml.*not valid YAML"),
        ("cfg.json", "{}", "cfg.json.*unknown format"),
        ("list.yaml", "- 1\n- 2\n", "list.yaml.*must hold a table"),
        ("typo.toml", "[model]\nnn = 3\n", "model.nn.*did you mean 'n'"),
    ],
)
def test_bad_files(tmp_path, name: str, text: str, match: str) -> None:
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(p)


def test_empty_yaml_is_the_default_config(tmp_path) -> None:
    pytest.importorskip("yaml")
    p = tmp_path / "empty.yaml"
    p.write_text("")
    sim = load_config(p)
    assert sim.name == "empty" and len(sim.runs) == 1 and sim.runs[0] == RunConfig()


def test_output_path_substitutes_name() -> None:
    sim = from_dict({"name": "abc", "output": "out/{name}/traj.h5"})
    assert str(sim.output_path()) == "out/abc/traj.h5"


# --------------------------------------------------------------------------- step specs


@pytest.mark.parametrize(
    "spec, steps, expected",
    [
        (1, 5, [0, 1, 2, 3, 4, 5]),
        (3, 10, [0, 3, 6, 9, 10]),  # every k, plus the last
        (20, 10, [0, 10]),
        ([0, 2, 5, 50], 10, [0, 2, 5]),  # steps beyond the run are dropped
        ([5, 2, 2], 10, [2, 5]),  # sorted, deduplicated
        ("first_last", 10, [0, 10]),
        ("first_last", 0, [0]),
        ("none", 10, []),
        ("log:4", 10, [0, 1, 3, 10]),
        ("log:2", 100, [0, 1, 100]),
        ("log:4", 0, [0]),
    ],
)
def test_resolve_steps(spec, steps: int, expected: list[int]) -> None:
    assert resolve_steps(spec, steps) == expected


@pytest.mark.parametrize("n", [5, 10, 30])
def test_resolve_steps_log_is_log_spaced(n: int) -> None:
    steps = 10000
    got = resolve_steps(f"log:{n}", steps)
    assert got[0] == 0 and got[-1] == steps
    assert len(got) <= n
    assert got == sorted(set(got))
    q = steps ** (1 / (n - 2))  # the ideal ratio of geomspace(1, steps, n - 1)
    # rounding to integers distorts ratios of small steps; from 20 on it moves them by < 5%
    big = [s for s in got if s >= 20]
    ratios = [b / a for a, b in zip(big[:-1], big[1:])]
    assert ratios and all(abs(r / q - 1) < 0.1 for r in ratios)

"""Sweep files: axes, zips, seeds, run ids, bad specs and the planner, against hand-written answers (no training)."""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest

from htdyn.config import from_dict
from htdyn.errors import ConfigError
from htdyn.io.runid import run_id
from htdyn.sweep.axes import Axis, axis_values, expand_points
from htdyn.sweep.plan import plan_batches
from htdyn.sweep.seeds import repeat_seeds
from htdyn.sweep.spec import run_context, spec_from_dict
from htdyn.train.plan import footprint

BASE = {"name": "t", "steps": 3, "model": {"n": 64, "d": 16, "h": 24, "n_test": 16},
        "optimizer": {"name": "gd", "lr": 0.1}}


def spec(sweep: dict, **top) -> object:
    return spec_from_dict({**copy.deepcopy(BASE), **top, "sweep": sweep})


# ------------------------------------------------------------------ axes


def test_axis_forms_give_the_written_values():
    assert axis_values("x", [3, 1, 2]).values == (3, 1, 2)
    assert axis_values("x", {"range": [250, 1001, 250]}).values == (250, 500, 750, 1000)
    assert axis_values("x", {"range": [5, 0, -2]}).values == (5, 3, 1)
    assert axis_values("x", {"range": [0.0, 0.35, 0.1]}).values == (0.0, 0.1, 0.2, 0.3)
    # 10 ** (-3, -2, -1, 0) exactly, whatever the last bit of numpy's power
    assert axis_values("x", {"logspace": [-3, 0], "num": 4}).values == (0.001, 0.01, 0.1, 1.0)
    assert axis_values("x", {"linspace": [0, 1], "num": 5}).values == (0.0, 0.25, 0.5, 0.75, 1.0)
    lg = axis_values("x", {"logspace": [-3, 3.5], "num": 10}).values
    np.testing.assert_allclose(lg, np.logspace(-3, 3.5, 10), rtol=1e-11)


@pytest.mark.parametrize("bad, words", [
    ([], "is empty"), ({"range": [3, 3]}, "is empty"), ({"range": [0, 5, 0]}, "step must not be 0"),
    ({"logspace": [-3, 0]}, "num"), ({"logspace": [-3], "num": 2}, "2 finite numbers"),
    ({"lin": [0, 1]}, "axis table"), (3.0, "must be a list"),
])
def test_bad_axis_forms(bad, words):
    with pytest.raises(ConfigError, match=words):
        axis_values("optimizer.lr", bad)


def test_product_order_and_zip():
    a, b, c = Axis("a", (1, 2)), Axis("b", ("u", "v")), Axis("c", (10, 20))
    pts, _ = expand_points([a, b, c])
    assert pts[:3] == [{"a": 1, "b": "u", "c": 10}, {"a": 1, "b": "u", "c": 20}, {"a": 1, "b": "v", "c": 10}]
    assert len(pts) == 8
    pts, groups = expand_points([a, b, c], ["a", "c"])
    assert groups == [["a", "c"]]
    assert pts == [{"a": 1, "c": 10, "b": "u"}, {"a": 1, "c": 10, "b": "v"},
                   {"a": 2, "c": 20, "b": "u"}, {"a": 2, "c": 20, "b": "v"}]
    with pytest.raises(ConfigError, match="equal lengths"):
        expand_points([a, Axis("d", (1, 2, 3))], ["a", "d"])
    with pytest.raises(ConfigError, match="not an axis"):
        expand_points([a, b], ["a", "z"])


# ------------------------------------------------------------------ seeds and pairing


def test_repeat_seeds_by_hand():
    assert repeat_seeds({"seed": 0}, 0) == {"seed": 0}
    assert repeat_seeds({"seed": 5}, 3) == {"seed": 8}
    assert repeat_seeds({"seed": 1, "data_seed": 10, "init_seed": None}, 2) == {"seed": 3, "data_seed": 12}


def test_runs_pair_within_a_repeat_and_differ_across():
    s = spec({"repeats": 3, "optimizer.lr": [0.1, 1.0], "optimizer.name": ["gd", "adam"]}, seed=7)
    assert len(s.runs) == 12
    for r in s.runs:
        assert r.config.seed == 7 + r.repeat
        assert r.config.data_seed_ == r.config.init_seed_ == 7 + r.repeat
    # repeat-major order, the axes' product inside
    assert [(r.repeat, r.point["optimizer.lr"], r.point["optimizer.name"]) for r in s.runs[:4]] == [
        (0, 0.1, "gd"), (0, 0.1, "adam"), (0, 1.0, "gd"), (0, 1.0, "adam")]
    assert len({r.id for r in s.runs}) == 12


def test_run_id_is_the_config_hash_with_its_context():
    s = spec({"optimizer.lr": [1, 10]})  # ints for a float key are floats: lr = 1 and 1.0 are one run
    r = s.runs[0]
    assert r.config.optimizer.lr == 1.0 and isinstance(r.config.optimizer.lr, float)
    sim = from_dict({**BASE, "snapshots": {"at": "none"}, "eval": {"at": "first_last", "metrics": [
        "esd", "norms", "powerlaw", "mp", "phase", "teacher", "top"]}, "optimizer": {"name": "gd", "lr": 1.0}})
    assert r.id == run_id(sim.runs[0].to_dict(), run_context(sim.to_dict()))
    assert spec({"optimizer.lr": [1.0, 10.0]}).runs[0].id == r.id
    # another step count is another run
    assert spec({"optimizer.lr": [1.0]}, steps=4).runs[0].id != r.id


def test_extending_an_axis_keeps_the_old_ids():
    old = {r.id for r in spec({"repeats": 2, "optimizer.lr": [0.1, 1.0]}).runs}
    new = {r.id for r in spec({"repeats": 3, "optimizer.lr": [0.1, 1.0, 10.0]}).runs}
    assert old < new and len(new) == 9


def test_store_modes_map_onto_snapshots_and_eval():
    sc = spec({"store": "scalars", "optimizer.lr": [0.1]}).templates[3]
    assert sc.snapshots.at == "none" and sc.eval.at == "first_last" and "esd" not in sc.eval.metrics
    sp = spec({"optimizer.lr": [0.1]}).templates[3]
    assert sp.snapshots.at == "none" and "esd" in sp.eval.metrics
    fu = spec({"store": "full", "optimizer.lr": [0.1]}, snapshots={"at": 2}).templates[3]
    assert fu.snapshots.at == 2 and fu.eval.at == "snapshots"
    mine = spec({"optimizer.lr": [0.1]}, eval={"metrics": ["norms"], "at": [0, 3]}).templates[3]
    assert mine.eval.metrics == ["norms"] and mine.eval.at == [0, 3]


def test_steps_axis_gives_one_template_per_value():
    s = spec({"steps": [2, 5], "optimizer.lr": [0.1]})
    assert sorted(s.templates) == [2, 5]
    assert sorted(r.steps for r in s.runs) == [2, 5]


# ------------------------------------------------------------------ bad specs


@pytest.mark.parametrize("sweep, words", [
    ({"optimizer.lr": []}, "optimizer.lr is empty"),
    ({"optimizer.lrr": [0.1]}, "optimizer.lrr"),
    ({"colour": [1]}, "unknown key 'colour'"),
    ({"a.b": [1]}, "unknown key 'a'"),
    ({"optimizer.lr": [0.1, 1], "optimizer.name": ["gd"], "zip": ["optimizer.lr", "optimizer.name"]},
     "equal lengths"),
    ({"device": ["cpu", "cuda"]}, "not a run key"),
    ({"eval.ridge_lambda": [0.1]}, "not a run key"),
    ({"repeats": 0, "optimizer.lr": [0.1]}, "repeats = 0"),
    ({"repeats": 1.5, "optimizer.lr": [0.1]}, "repeats"),
    ({"optimizer.lr": [0.1, -1.0]}, r"value -1.0: optimizer.lr = -1.0 must be > 0"),
    ({"optimizer.name": ["gd", "rmsprop"]}, "'rmsprop'"),
    ({"store": "everything", "optimizer.lr": [0.1]}, "sweep.store"),
    ({"seed": [0, 1], "repeats": 2}, "same run"),
])
def test_bad_specs_name_the_key(sweep, words):
    with pytest.raises(ConfigError, match=words):
        spec(sweep)


def test_a_sweep_file_needs_sweep_and_no_grid():
    with pytest.raises(ConfigError, match=r"needs a \[sweep\]"):
        spec_from_dict(copy.deepcopy(BASE))
    with pytest.raises(ConfigError, match=r"no \[grid\]"):
        spec_from_dict({**copy.deepcopy(BASE), "grid": {"optimizer.lr": [1]}, "sweep": {"seed": [1]}})


def test_a_combination_that_fails_names_its_point():
    with pytest.raises(ConfigError, match=r"point .*model.n.*: optimizer.batch_size = 50 exceeds model.n = 32"):
        spec({"model.n": [32, 64], "optimizer.batch_size": [50]})


# ------------------------------------------------------------------ planner


def test_batches_follow_the_engine_groups_and_max_batch():
    s = spec({"repeats": 2, "optimizer.name": ["gd", "adam"], "optimizer.lr": [0.1, 1.0, 10.0],
              "model.h": [24, 32]})
    batches = plan_batches(s, s.runs, max_batch=4)
    for b in batches:
        assert len(b.runs) <= 4
        assert len({(r.config.optimizer.name, r.config.model.h) for r in b.runs}) == 1
    assert sorted(r.id for b in batches for r in b.runs) == sorted(r.id for r in s.runs)
    # 4 groups (gd/adam x h) of 6 runs each, 2 repeats of 3 points: a repeat's 3 points
    # (one data set) fit in a batch of 4, so each batch is one repeat, not 4 + 2
    assert sorted(len(b.runs) for b in batches) == [3] * 8
    for b in batches:
        assert len({r.repeat for r in b.runs}) == 1
    # a repeat bigger than max_batch fills batches of its own: 2 + 1 per repeat, never mixed
    small = plan_batches(s, s.runs, max_batch=2)
    assert sorted(len(b.runs) for b in small) == [1] * 8 + [2] * 8
    assert all(len({r.repeat for r in b.runs}) == 1 for b in small)
    # room for both repeats: one batch per group
    assert sorted(len(b.runs) for b in plan_batches(s, s.runs, max_batch=6)) == [6] * 4
    # the same runs plan to the same names
    assert [b.name for b in plan_batches(s, s.runs, max_batch=4)] == [b.name for b in batches]


def test_memory_budget_cut_matches_the_engine_footprint():
    s = spec({"repeats": 3, "optimizer.lr": [0.01, 0.1, 1.0, 10.0]})
    one = footprint(s.sim_for(3, [s.runs[0].config], "x")).memory_bytes
    budget = int(2.5 * one)
    batches = plan_batches(s, s.runs, budget=budget)
    for b in batches:
        exact = footprint(b.sim(s)).memory_bytes
        assert b.memory_bytes == exact <= budget
    # greedy: each batch but the last of a group could not take its successor's first run
    flat = [r for b in batches for r in b.runs]
    pos = 0
    for b in batches[:-1]:
        pos += len(b.runs)
        bigger = [r.config for r in b.runs] + [flat[pos].config]
        assert footprint(s.sim_for(3, bigger, "x")).memory_bytes > budget
    with pytest.raises(ConfigError, match="one run"):
        plan_batches(s, s.runs, budget=one // 2)


def test_mixed_batches_and_penalties_are_planned_at_the_engine_footprint():
    """Batches that mix data sets (one device copy per run) and penalty axes (the eigensolve
    buffers, whichever run comes first) get the engine's own estimate, exactly."""
    s = spec({"repeats": 3, "optimizer.lr": [0.1, 1.0], "penalty.name": ["stable_rank", "none"]},
             penalty={"coefficient": 0.01})
    s.runs = [r for r in s.runs if r.point["penalty.name"] == "none"] + \
        [r for r in s.runs if r.point["penalty.name"] != "none"]  # a run without penalty first
    batches = plan_batches(s, s.runs, max_batch=5)
    assert any(len({r.repeat for r in b.runs}) > 1 for b in batches)  # some batch mixes data sets
    assert any(any(r.point["penalty.name"] != "none" for r in b.runs) for b in batches)
    for b in batches:
        assert b.memory_bytes == footprint(b.sim(s)).memory_bytes


def test_footprint_counts_one_device_copy_of_the_data_per_run_when_mixed():
    from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation
    from htdyn.train.backend import get_backend
    from htdyn.train.loop import GroupRun
    from htdyn.train.recorder import Recorder

    m = ModelConfig(n=64, d=16, h=24, n_test=16)

    def sim(seeds):
        return simulation([RunConfig(model=m, optimizer=OptimizerConfig("gd"), seed=x) for x in seeds], steps=1)

    shared, mixed = sim([0, 0, 0]), sim([0, 0, 1])
    g = GroupRun(0, [0, 1, 2], mixed, get_backend("cpu", "float32"), Recorder(None, mixed), [None] * 3, [None] * 3)
    assert g.dev["Xs"].shape[0] == 3  # the engine stacks a copy per run
    rows = 2 * m.n + m.n_test
    # two more device copies (float32) and one more host data set (float64)
    assert footprint(mixed).memory_bytes - footprint(shared).memory_bytes == 2 * rows * m.d * 4 + rows * m.d * 8


def test_planner_and_index_at_ten_thousand_runs(tmp_path):
    """10^4 planned runs (no training): expansion, planning and a resume scan take seconds."""
    from htdyn.sweep.index import SweepDir

    t0 = time.perf_counter()
    s = spec({"repeats": 4, "optimizer.lr": {"logspace": [-3, 3], "num": 25}, "optimizer.name": ["gd", "adam"],
              "model.n": [64, 128], "model.h": [24, 32, 48, 64, 96], "steps": [3, 5, 10, 20, 40]})
    t_spec = time.perf_counter() - t0
    assert len(s.runs) == 10_000
    t0 = time.perf_counter()
    batches = plan_batches(s, s.runs, max_batch=10)
    t_plan = time.perf_counter() - t0
    sd = SweepDir(tmp_path / "big")
    sd.write_manifest(s)
    t0 = time.perf_counter()
    states = SweepDir(tmp_path / "big").states([r.id for r in s.runs])
    t_scan = time.perf_counter() - t0
    assert len(batches) >= 1000 and all(st.state == "pending" for st in states.values())
    print(f"10^4 runs: spec {t_spec:.2f} s, plan {t_plan:.2f} s, scan {t_scan:.2f} s")
    assert t_spec < 20 and t_plan < 10 and t_scan < 5, (t_spec, t_plan, t_scan)


def _fake_batch_file(path, sim_dict, runs) -> None:
    """A complete trajectory file's header and run configs only (what the resume scan reads)."""
    import json

    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["status"] = "complete"
        f.attrs["config_json"] = json.dumps(sim_dict)
        g = f.create_group("runs")
        for j, r in enumerate(runs):
            rg = g.create_group(f"{j:04d}")
            rg.attrs["index"] = j
            rg.attrs["config_json"] = json.dumps(r.config.to_dict())


@pytest.mark.slow
def test_resume_scan_of_ten_thousand_done_runs(tmp_path):
    """10^4 done runs in 1000 files: the first scan reads every file, a rescan only stats them."""
    from htdyn.sweep.index import SweepDir

    s = spec({"repeats": 4, "optimizer.lr": {"logspace": [-3, 3], "num": 125}, "optimizer.name": ["gd", "adam"],
              "model.h": [24, 32, 48, 64, 96, 128, 160, 192, 224, 256]})
    assert len(s.runs) == 10_000
    batches = plan_batches(s, s.runs, max_batch=10)
    sd = SweepDir(tmp_path / "big")
    sd.write_manifest(s)
    for b in batches:
        _fake_batch_file(sd.batches / b.file, b.sim(s).to_dict(), b.runs)
    ids = [r.id for r in s.runs]
    t0 = time.perf_counter()
    first = sd.states(ids)
    t_first = time.perf_counter() - t0
    sd.save()
    t0 = time.perf_counter()
    again = SweepDir(tmp_path / "big").states(ids)
    t_again = time.perf_counter() - t0
    assert all(st.state == "done" for st in first.values()) and first == again
    where = {(st.file, st.index) for st in again.values()}
    assert len(where) == 10_000  # every run in its own place: no duplicates
    print(f"scan of 10^4 done runs in {len(batches)} files: first {t_first:.2f} s, cached {t_again:.2f} s")
    assert t_again < 2 and t_first < 30, (t_first, t_again)


def test_paper_sweep_files_are_the_paper_grid():
    from pathlib import Path

    from htdyn.sweep.spec import load_spec

    root = Path(__file__).resolve().parents[1] / "sims" / "paper"
    lrs = (1e-3, 1e-2, 0.1, 1, 10, 100, 1000, 2000, 3000)
    for name, (n, d, h) in (("lr_sweep", (2000, 1000, 1500)), ("lr_sweep_small", (400, 200, 300))):
        s = load_spec(root / f"{name}.toml")
        assert len(s.runs) == 90 and s.repeats == 5 and s.store == "spectra"
        assert {(r.config.optimizer.name, r.config.optimizer.lr) for r in s.runs} == {
            (o, float(lr)) for o in ("gd", "adam") for lr in lrs}
        m = s.runs[0].config.model
        assert (m.n, m.d, m.h, m.n_test) == (n, d, h, 200)
        sim = s.templates[10]
        assert sim.steps == 10 and sim.eval.at == "first_last" and sim.eval.features == "official"


def test_yaml_and_toml_sweep_files_give_the_same_runs(tmp_path):
    from htdyn.sweep.spec import load_spec

    (tmp_path / "s.toml").write_text('steps = 3\n[model]\nn = 64\nd = 16\nh = 24\n[sweep]\nrepeats = 2\n'
                                     '"optimizer.lr" = {logspace = [-2, 0], num = 3}\n')
    (tmp_path / "s.yaml").write_text('steps: 3\nmodel: {n: 64, d: 16, h: 24}\nsweep:\n  repeats: 2\n'
                                     '  optimizer.lr: {logspace: [-2, 0], num: 3}\n')
    a, b = load_spec(tmp_path / "s.toml"), load_spec(tmp_path / "s.yaml")
    assert [r.id for r in a.runs] == [r.id for r in b.runs] and len(a.runs) == 6
    (tmp_path / "bad.toml").write_text("[sweep\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_spec(tmp_path / "bad.toml")

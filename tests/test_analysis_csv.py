"""The tidy analysis CSV: one row per run and step, swept keys and losses as columns,
phases by name, counts as integers (issue 8)."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from clitools import cli, ok

import htdyn
from htdyn.analysis import tidy
from htdyn.analysis.offline import analyze, read_analysis
from htdyn.analysis.phases import PHASES
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation

TINY = {"n": 64, "d": 16, "h": 24, "n_test": 16}
STEPS = 3


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs that differ in activation and learning rate (same seed); eval at steps 0, 2 and 3."""
    path = tmp_path_factory.mktemp("csv") / "g.h5"
    runs = [RunConfig(model=ModelConfig(**TINY, activation=act), optimizer=OptimizerConfig("adam", lr=lr), seed=1)
            for act, lr in (("relu", 0.01), ("tanh", 1.0))]
    htdyn.simulate(simulation(runs, steps=STEPS, output=str(path), eval={"at": 2}))
    return path


@pytest.fixture
def traj(grid: Path, tmp_path: Path) -> Path:
    p = tmp_path / "g.h5"
    shutil.copy(grid, p)
    return p


def _hill(ev: np.ndarray) -> float:
    # the paper's PL_Alpha_Hill written out: xmin at the median
    ev = np.sort(ev)
    i = len(ev) // 2
    k = len(ev) - i
    return 1 + k / (np.sum(np.log(ev[i:])) - k * np.log(ev[i]))


def test_one_row_per_run_and_step_with_swept_keys_and_losses(traj: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    analyze(traj, csv_path=out)
    rows = list(csv.DictReader(out.open()))
    header = next(csv.reader(out.open()))
    assert header[:9] == ["run", "label", "model.activation", "optimizer.lr", "step", "loss", "probe_loss",
                          "test_loss", "net_train_loss"]
    assert len(header) == len(set(header))
    assert [(int(r["run"]), int(r["step"])) for r in rows] == [(i, t) for i in (0, 1) for t in range(STEPS + 1)]
    with htdyn.open(traj) as tr:
        for r in rows:
            run = tr.runs[int(r["run"])]
            t = int(r["step"])
            assert r["model.activation"] == run.config["model"]["activation"]
            assert float(r["optimizer.lr"]) == run.config["optimizer"]["lr"]
            assert float(r["loss"]) == float(run.loss[t])  # repr round-trips exactly
            ev_steps = list(run.eval_steps)
            for k in ("probe_loss", "test_loss", "net_train_loss", "net_test_loss"):
                if t in ev_steps:
                    assert float(r[k]) == float(run.eval[k][ev_steps.index(t)]), k
                else:
                    assert r[k] == "", k  # not an eval step: nothing measured
            # a metric against an independent computation from the stored W_t
            s = np.linalg.svd(run.W(t), compute_uv=False)
            assert float(r["alpha_hill"]) == pytest.approx(_hill(s**2), rel=1e-8)
            assert float(r["spectral_norm"]) == pytest.approx(s[0], rel=1e-9)  # the largest singular value
            assert r["phase"] in PHASES
            for k in ("n_spikes", "k_ks", "numerical_rank"):
                assert re.fullmatch(r"\d+", r[k]), (k, r[k])
            assert int(r["numerical_rank"]) == np.linalg.matrix_rank(run.W(t))
            assert (r["update_fro"] == "") == (t == STEPS)  # no update after the last step
            if t < STEPS:
                M = run.update(t)
                assert float(r["update_fro"]) == pytest.approx(np.linalg.norm(M), rel=1e-12)


def test_constant_keys_are_not_columns(tmp_path: Path) -> None:
    path = tmp_path / "one.h5"
    htdyn.simulate(simulation([RunConfig(model=ModelConfig(**TINY))], steps=2, output=str(path)))
    res = analyze(path, metrics=["powerlaw"], write=False)
    assert res.swept == [] and res.record_columns[:3] == ["run", "label", "step"]


def test_records_and_table(traj: Path) -> None:
    res = analyze(traj, metrics=["powerlaw", "phase", "update"], write=False)
    recs = res.records()
    assert len(recs) == 2 * (STEPS + 1) and all(list(r) == res.record_columns for r in recs)
    long = {(r["run"], r["step"], r["set"]): r for r in res.rows}
    for rec in recs:
        key = (rec["run"], rec["step"])
        assert rec["alpha_ks"] == long[(*key, "powerlaw")]["alpha_ks"]
        assert rec["phase"] == PHASES[int(long[(*key, "phase")]["phase"])]
        assert isinstance(rec["k_ks"], int)
        upd = long.get((*key, "update"))
        assert rec["update_stable_rank"] == (None if upd is None else upd["update_stable_rank"])
    # the long rows stay as they were: one per run x step x set, the phase as its index
    assert len(res.rows) == 2 * (2 * (STEPS + 1) + STEPS) and isinstance(res.rows[0]["phase"] if
                                                                         "phase" in res.rows[0] else 0.0, float)
    pd = pytest.importorskip("pandas")
    df = res.table()
    assert isinstance(df, pd.DataFrame) and df.shape == (len(recs), len(res.record_columns))


def test_colliding_keys_get_their_set_as_prefix() -> None:
    rows = [{"run": 0, "step": 0, "set": "norms", "stable_rank": 3.0, "spectral_norm": 2.0},
            {"run": 0, "step": 0, "set": "update", "stable_rank": 1.5, "update_fro": 0.1},
            {"run": 0, "step": 0, "set": "esd", "esd": np.ones(3)}]
    cols = tidy.metric_columns(rows)
    assert cols == {("norms", "stable_rank"): "norms_stable_rank", ("update", "stable_rank"): "update_stable_rank",
                    ("norms", "spectral_norm"): "spectral_norm", ("update", "update_fro"): "update_fro"}
    ctx = {0: {"label": "a", "config": {}, "loss": np.array([0.5]), "eval_steps": [], "eval": {}}}
    columns, recs = tidy.wide_records(rows, ctx, [])
    assert recs == [{"run": 0, "label": "a", "step": 0, "loss": 0.5, "norms_stable_rank": 3.0, "spectral_norm": 2.0,
                     "update_stable_rank": 1.5, "update_fro": 0.1}]
    assert "esd" not in columns


def test_cells_nan_missing_and_integers() -> None:
    text = tidy.csv_text(["a", "b", "c", "d", "e"], [{"a": float("nan"), "b": None, "c": 3, "d": float("-inf"),
                                                    "e": 0.1}])
    assert text.splitlines() == ["a,b,c,d,e", "NaN,,3,-Inf,0.1"]
    rows = [{"run": 0, "step": t, "set": "mp", "n_spikes": n, "mp_ks": 0.5} for t, n in ((0, 4.0), (1, np.nan))]
    rows += [{"run": 0, "step": t, "set": "phase", "phase": p} for t, p in ((0, 5.0), (1, np.nan))]
    ctx = {0: {"label": "", "config": {}, "loss": np.array([1.0, np.nan]), "eval_steps": [], "eval": {}}}
    _, recs = tidy.wide_records(rows, ctx, [])
    assert recs[0]["n_spikes"] == 4 and isinstance(recs[0]["n_spikes"], int) and recs[0]["phase"] == "rank-collapse"
    assert math.isnan(recs[1]["n_spikes"]) and math.isnan(recs[1]["phase"]) and math.isnan(recs[1]["loss"])


def test_normalize_is_one_column(traj: Path) -> None:
    res = analyze(traj, metrics=["powerlaw", "norms"], normalize=True, write=False)
    cols = res.record_columns
    assert cols[-1] == "normalize" and cols.count("normalize") == 1
    assert all(r["normalize"] == 1 for r in res.records())


@pytest.mark.parametrize("steps, text", [
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "0-10"), ([0, 1, 2, 4, 8, 16], "0-2, 4, 8, 16"),
    (range(0, 100, 10), "0-90 every 10"), ([5], "5"), ([3, 1], "1, 3"), ([], "none"),
    ([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], "1, 2, 4, 8, 16, 32, ... (4 more), 1024"),
])
def test_format_steps(steps: list[int], text: str) -> None:
    assert tidy.format_steps(steps) == text


def test_read_analysis_gives_phase_names_back(traj: Path) -> None:
    res = analyze(traj, metrics=["phase", "powerlaw"])
    back = read_analysis(traj)
    assert back.records() == res.records()
    assert back.swept == ["model.activation", "optimizer.lr"]
    # the names are stored with the codes: a reader decodes with the file's names, not its own
    with h5py.File(traj, "r+") as f:
        for key in ("0000", "0001"):
            ds = f[f"analysis/runs/{key}/phase/phase"]
            assert json.loads(ds.attrs["names"]) == list(PHASES)
            ds.attrs["names"] = json.dumps([f"P{i}" for i in range(len(PHASES))])
    back = read_analysis(traj)
    assert [r["phase"] for r in back.records()] == [f"P{PHASES.index(r['phase'])}" for r in res.records()]


def test_cli_writes_the_tidy_csv(traj: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.csv"
    ok(cli("analyze", traj, "--metrics", "mp,phase", "--steps", "0,3", "--csv", out, "-q", columns=120))
    rows = list(csv.DictReader(out.open()))
    assert [(r["run"], r["step"]) for r in rows] == [("0", "0"), ("0", "3"), ("1", "0"), ("1", "3")]
    assert all(r["phase"] in PHASES and re.fullmatch(r"\d+", r["n_spikes"]) for r in rows)
    assert {r["model.activation"] for r in rows} == {"relu", "tanh"}

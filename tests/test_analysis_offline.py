"""`htdyn analyze` and online metrics on real (small) trajectories."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import htdyn
from htdyn.analysis.offline import analyze, read_analysis
from htdyn.analysis.registry import DEFAULT_SETS, PHASES
from htdyn.config import EvalConfig, ModelConfig, OptimizerConfig, RunConfig, SnapshotConfig, simulation

SMALL = ModelConfig(n=400, d=200, h=300, n_test=100)
STEPS = 4


def _hill(ev: np.ndarray) -> float:
    # the paper's PL_Alpha_Hill, written out independently: xmin at the median
    ev = np.sort(ev)
    i = len(ev) // 2
    k = len(ev) - i
    return 1 + k / (np.sum(np.log(ev[i:])) - k * np.log(ev[i]))


@pytest.fixture(scope="module")
def traj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("an") / "t.h5"
    runs = [RunConfig(model=SMALL, optimizer=OptimizerConfig("adam", lr=lr), seed=1) for lr in (0.01, 1.0)]
    htdyn.simulate(simulation(runs, steps=STEPS, output=str(path)))
    return path


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        for key in sorted(f["runs"]):
            g = f["runs"][key]
            for name in ("W", "update", "loss"):
                h.update(np.ascontiguousarray(g[name][()]).tobytes())
    return h.hexdigest()


def test_analyze_writes_group_and_csv_without_touching_data(traj: Path, tmp_path: Path) -> None:
    before = _digest(traj)
    out_csv = tmp_path / "a.csv"
    res = analyze(traj, metrics=["all"], csv_path=out_csv)
    assert _digest(traj) == before
    with h5py.File(traj, "r") as f:
        assert "analysis" in f and set(f["analysis/runs"]) == {"0000", "0001"}
        g = f["analysis/runs/0001"]
        assert g["esd/esd"].shape == (STEPS + 1, 200)
        assert list(g["update/steps"][()]) == list(range(STEPS))  # no update after the last step
    rows = list(csv.DictReader(out_csv.open()))
    # one row per run and step, a column per metric of every set (esd vectors stay in the file, not the CSV)
    assert len(rows) == 2 * (STEPS + 1)
    one_of_each = {"norms": "stable_rank", "powerlaw": "alpha_hill", "mp": "mp_sigma2", "phase": "phase",
                   "teacher": "sim_beta", "drift": "drift_overlap_top10", "features": "kta", "update": "update_fro"}
    assert set(one_of_each.values()) <= set(rows[0]) and "esd" not in rows[0]
    for r in rows:  # the update set exists for steps < STEPS only (no update after the last step)
        assert (r["update_fro"] == "") == (int(r["step"]) == STEPS)
        assert all(r[c] != "" for k, c in one_of_each.items() if k != "update")
    # re-running replaces, never duplicates
    res2 = analyze(traj, metrics=["powerlaw"], write=True)
    with h5py.File(traj, "r") as f:
        assert set(f["analysis/runs/0000"]) == {"powerlaw"}
    assert len(res2.rows) == 2 * (STEPS + 1)
    assert len(res.rows) > len(res2.rows)


def test_values_equal_direct_computation(traj: Path) -> None:
    res = analyze(traj, metrics=["powerlaw", "teacher", "norms", "update"], write=False)
    with htdyn.open(traj) as tr:
        run = tr.runs[1]
        for t in (0, 1, STEPS):
            W = run.W(t)
            s = np.linalg.svd(W, compute_uv=False)
            row = {k: v for r in res.rows if r["run"] == 1 and r["step"] == t for k, v in r.items()}
            # eigenvalues through the Gram matrix vs SVD: relative error ~ N eps kappa, far below 1e-8
            assert row["alpha_hill"] == pytest.approx(_hill(s**2), rel=1e-8)
            # spectral_norm is ||W||_2 = s_1, not WeightWatcher's lambda_max = s_1^2
            # (docs/analysis_mp_phases.md); lambda_max is in log_spectral_norm = log10 s_1^2
            assert row["spectral_norm"] == pytest.approx(s[0], rel=1e-9)
            assert row["log_spectral_norm"] == pytest.approx(2 * np.log10(s[0]), rel=1e-9)
            v1 = np.linalg.svd(W)[2][0]
            assert row["sim_beta"] == pytest.approx(abs(v1 @ run.beta), abs=1e-6)
        M = run.update(0)
        sm = np.linalg.svd(M, compute_uv=False)
        row = next(r for r in res.rows if r["run"] == 1 and r["step"] == 0 and r["set"] == "update")
        assert row["update_stable_rank"] == pytest.approx(np.sum(sm**2) / sm[0] ** 2, rel=1e-9)


def test_paper_mechanism_small(traj: Path) -> None:
    """After a large first Adam step the update is nearly rank one, W_1's top singular
    vectors coincide with the update's, and the alignment with beta rises (paper section 5.2)."""
    res = analyze(traj, metrics=["teacher", "update"], write=False)
    get = {(r["run"], r["step"], r["set"]): r for r in res.rows}
    upd = get[(1, 0, "update")]
    assert upd["update_stable_rank"] < 2.0
    assert upd["overlap_next_left_top1"] > 0.9 and upd["overlap_next_right_top1"] > 0.9
    # before the step, the update is unrelated to W_0's top directions (random: ~ 1/d)
    assert upd["overlap_prev_right_top1"] < 0.1
    assert get[(1, 1, "teacher")]["sim_beta"] > get[(1, 0, "teacher")]["sim_beta"] + 0.2
    # the small learning rate leaves no spike
    assert get[(0, 1, "teacher")]["sim_beta"] < 0.5


def test_phase_codes_are_names(traj: Path) -> None:
    res = analyze(traj, metrics=["phase"], write=False)
    for r in res.rows:
        assert 0 <= int(r["phase"]) < len(PHASES)
    first = next(r for r in res.rows if r["run"] == 0 and r["step"] == 0)
    assert PHASES[int(first["phase"])] in ("random-like", "bleeding-out")


def test_online_metrics_equal_offline(tmp_path: Path) -> None:
    path = tmp_path / "on.h5"
    sim = simulation([RunConfig(model=SMALL, optimizer=OptimizerConfig("adam", lr=1.0))], steps=3,
                     output=str(path), eval=EvalConfig(metrics=["esd", "powerlaw", "teacher", "mp"]),
                     snapshots=SnapshotConfig(at=1))
    res = htdyn.simulate(sim)
    assert "alpha_hill" in res.runs[0].metrics
    off = analyze(path, metrics=["esd", "powerlaw", "teacher", "mp"], write=False)
    with htdyn.open(path) as tr:
        on = tr.runs[0].metrics
        assert on["esd"].shape == (4, 200)
        for r in off.rows:
            i = r["step"]
            for k, v in r.items():
                if k in on and k != "esd":
                    # the same float32 snapshot analysed twice: identical up to summation order
                    assert on[k][i] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_unknown_metric_is_clear_error(traj: Path) -> None:
    with pytest.raises(htdyn.ConfigError, match="unknown metric set"):
        analyze(traj, metrics=["alpha"])
    with pytest.raises(htdyn.ConfigError, match="eval.metrics"):
        htdyn.simulate(simulation([RunConfig(model=SMALL)], steps=1, eval={"metrics": ["update"]}), path=False)


def test_cli_analyze(traj: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "cli.csv"
    env = dict(os.environ, COLUMNS="120")
    r = subprocess.run([sys.executable, "-m", "htdyn.cli", "analyze", str(traj), "--metrics", "powerlaw,teacher",
                        "--steps", "0,1", "--csv", str(out_csv), "-q"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "alpha_hill" in r.stdout and str(out_csv.name) in r.stdout
    rows = list(csv.DictReader(out_csv.open()))
    # one row per run and step, the powerlaw and teacher sets side by side
    assert {int(x["step"]) for x in rows} == {0, 1} and len(rows) == 2 * 2
    assert all(x["alpha_hill"] != "" and x["sim_beta"] != "" for x in rows)
    bad = subprocess.run([sys.executable, "-m", "htdyn.cli", "analyze", str(traj), "--metrics", "nope"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr


def test_read_analysis_round_trip(traj: Path) -> None:
    res = analyze(traj, metrics=["powerlaw", "esd"])
    back = read_analysis(traj)
    key = lambda r: (r["run"], r["step"], r["set"])  # noqa: E731
    stored = {key(r): r for r in back.rows}
    for r in res.rows:
        for k, v in r.items():
            if k in ("alpha_hill", "alpha_ks"):
                assert stored[key(r)][k] == v
        if r["set"] == "esd":
            np.testing.assert_array_equal(stored[key(r)]["esd"], r["esd"])


def test_default_sets_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "analysis.md").read_text()
    for s in DEFAULT_SETS + ("features",):
        assert f"`{s}`" in doc


def test_update_and_drift_sets_equal_full_svd(traj: Path) -> None:
    """The top-k route of the update and drift sets against overlaps from full SVDs."""
    from htdyn.analysis import alignment

    res = analyze(traj, metrics=["update", "drift"], write=False)
    get = {(r["run"], r["step"], r["set"]): r for r in res.rows}
    with htdyn.open(traj) as tr:
        for run in tr.runs:
            W0 = run.W(0)
            for t in (0, 1, STEPS - 1):
                W, M, W1 = run.W(t), run.update(t), run.W(t + 1)
                upd = get[(run.index, t, "update")]
                for tag, A in (("prev", W), ("next", W1)):
                    L, R = alignment.overlap_matrices(A, M, k=5)
                    s = alignment.overlap_summary(L, R, k=5)
                    for key in ("left_top1", "right_top1", "left_mass", "right_mass"):
                        # the same matrices' vectors by two backward-stable routes: ~eps / gap apart
                        assert upd[f"overlap_{tag}_{key}"] == pytest.approx(float(s[key]), abs=1e-8)
                sm = np.linalg.svd(M.astype(np.float64), compute_uv=False)
                assert upd["update_spectral"] == pytest.approx(sm[0], rel=1e-12)
                assert upd["update_fro"] == pytest.approx(np.sqrt(np.sum(sm**2)), rel=1e-12)
                drift = get[(run.index, t, "drift")]["drift_overlap_top10"]
                assert drift == pytest.approx(alignment.subspace_overlap(W, W0, 10), abs=1e-8)

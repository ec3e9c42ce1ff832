"""The ``top`` metric set: the top-K singular triplets of W, against numpy.linalg.svd; stored online and by sweeps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from clitools import MODEL

import htdyn
from htdyn.analysis import setmetrics
from htdyn.analysis.linalg import eigs_and_top_vectors, top_triplets
from htdyn.analysis.metricdecl import SETS, TOP_K, VECTOR_KEYS, MetricKey, top_k
from htdyn.analysis.offline import analyze, read_analysis
from htdyn.analysis.registry import matrix_metrics, metric_keys, nonfinite_set_metrics, online_metrics, set_metrics
from htdyn.sweep.driver import make_executor, prepare, run_sweep
from htdyn.sweep.spec import STORE_MODES, load_spec

EPS = np.finfo(np.float64).eps


def _spiked(h: int, d: int, seed: int) -> np.ndarray:
    """A Gaussian W with two spikes (as a trained W has): separated top values, a bulk below."""
    r = np.random.default_rng(seed)
    W = r.standard_normal((h, d)) / np.sqrt(d)
    for s in (6.0, 3.0):
        u, v = r.standard_normal(h), r.standard_normal(d)
        W += s * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    return W


def _reference(W: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's SVD (LAPACK gesdd, no Gram matrix), top k, with the documented sign convention applied."""
    U, s, Vh = np.linalg.svd(W, full_matrices=False)
    U, s, V = U[:, :k].T, s[:k], Vh[:k]
    sign = np.sign(V[np.arange(k), np.argmax(np.abs(V), axis=1)])
    return s, U * sign[:, None], V * sign[:, None]


def _check_against_svd(W: np.ndarray, s: np.ndarray, U: np.ndarray, V: np.ndarray, vec_tol: float = 1e-9) -> None:
    h, d = W.shape
    k = top_k(h, d)
    assert s.shape == (k,) and U.shape == (k, h) and V.shape == (k, d)
    s_ref, U_ref, V_ref = _reference(W, k)
    np.testing.assert_allclose(s, s_ref, rtol=1e-10, atol=0)
    # up to sign, then exactly the convention (largest-|.| entry of v_i positive)
    np.testing.assert_allclose(np.abs(np.sum(V * V_ref, axis=1)), 1.0, atol=vec_tol)
    np.testing.assert_allclose(np.abs(np.sum(U * U_ref, axis=1)), 1.0, atol=vec_tol)
    np.testing.assert_allclose(V, V_ref, atol=vec_tol)
    np.testing.assert_allclose(U, U_ref, atol=vec_tol)
    assert np.all(V[np.arange(k), np.argmax(np.abs(V), axis=1)] > 0)
    # W v_i = sigma_i u_i, orthonormal rows
    assert np.abs(W @ V.T - U.T * s).max() <= 1e-12 * s[0]
    np.testing.assert_allclose(V @ V.T, np.eye(k), atol=1e-12)
    np.testing.assert_allclose(U @ U.T, np.eye(k), atol=1e-10)


@pytest.mark.parametrize("h, d", [(60, 40), (40, 60), (50, 50), (300, 200), (120, 700)])
def test_triplets_match_numpy_svd(h: int, d: int) -> None:
    W = _spiked(h, d, seed=h + d)
    _check_against_svd(W, *top_triplets(W, TOP_K))
    # the set, computed with the ESD on one reduction, gives the same numbers
    vals = set_metrics(W, ["esd", "top"])
    np.testing.assert_allclose(vals["top"]["top_sigma"] ** 2, vals["esd"]["esd"][::-1][:TOP_K], rtol=1e-14)
    _check_against_svd(W, *(vals["top"][k] for k in ("top_sigma", "top_u", "top_v")))


@pytest.mark.parametrize("h, d", [(2, 7), (7, 2), (5, 3), (3, 1)])
def test_small_matrices_keep_min_h_d_triplets(h: int, d: int) -> None:
    """K = min(8, h, d); below N = 3 the Gram matrix's eigh is used (the path CuPy takes)."""
    W = np.random.default_rng(h * d).standard_normal((h, d))
    _check_against_svd(W, *top_triplets(W, TOP_K))
    out = matrix_metrics(W, ["top"])
    assert out["top_u"].shape == (min(h, d), h) and out["top_v"].shape == (min(h, d), d)


def test_top_k_eigenvectors_of_one_reduction_match_eigh() -> None:
    r = np.random.default_rng(3)
    A = r.standard_normal((90, 70))
    G = A.T @ A
    w_ref, Z_ref = np.linalg.eigh(G)
    w, Z = eigs_and_top_vectors(np.asfortranarray(G.copy()), 5)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-12 * w_ref[-1])
    np.testing.assert_allclose(np.abs(np.sum(Z * Z_ref[:, ::-1][:, :5], axis=0)), 1.0, atol=1e-12)
    np.testing.assert_allclose(G @ Z, Z * w_ref[::-1][:5], atol=1e-11 * w_ref[-1])
    assert eigs_and_top_vectors(np.asfortranarray(G.copy()), 0)[1] is None


@pytest.mark.parametrize("h, d", [(60, 40), (40, 60)])
def test_below_the_rank_sigma_and_vectors_are_zero(h: int, d: int) -> None:
    """A rank-3 W: 3 triplets as the SVD's, then sigma_i = 0 with zero u_i, v_i (no arbitrary completion)."""
    r = np.random.default_rng(7)
    W = r.standard_normal((h, 3)) @ r.standard_normal((3, d))
    s, U, V = top_triplets(W, TOP_K)
    s_ref, U_ref, V_ref = _reference(W, 3)
    np.testing.assert_allclose(s[:3], s_ref, rtol=1e-10)
    np.testing.assert_allclose(V[:3], V_ref, atol=1e-9)
    np.testing.assert_allclose(U[:3], U_ref, atol=1e-9)
    assert np.all(s[3:] == 0) and np.all(U[3:] == 0) and np.all(V[3:] == 0)
    zero = top_triplets(np.zeros((h, d)), TOP_K)
    assert all(np.all(a == 0) for a in zero) and zero[0].shape == (TOP_K,) and zero[1].shape == (TOP_K, h)


def test_non_finite_w_gives_nan_of_the_declared_shapes() -> None:
    nan = nonfinite_set_metrics(["top", "esd"], (30, 20))["top"]
    assert {k: v.shape for k, v in nan.items()} == {"top_sigma": (8,), "top_u": (8, 30), "top_v": (8, 20)}
    assert all(np.all(np.isnan(v)) for v in nan.values())
    W = np.ones((30, 20))
    W[3, 4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        top_triplets(W, TOP_K)


def test_declaration_shapes_and_columns() -> None:
    keys = {k.name: k for k in SETS["top"].keys}
    assert keys["top_sigma"].shape_for(1500, 1000) == (8,)
    assert keys["top_u"].shape_for(1500, 1000) == (8, 1500) and keys["top_v"].shape_for(1500, 1000) == (8, 1000)
    assert keys["top_u"].shape_for(4, 6) == (4, 4) and keys["top_u"].size_for(4, 6) == 16
    assert SETS["top"].online and not SETS["top"].has_columns and SETS["norms"].has_columns
    assert {"esd", "top_sigma", "top_u", "top_v"} <= VECTOR_KEYS
    assert not set(metric_keys(["esd", "top", "norms"])) & VECTOR_KEYS
    _, specs = online_metrics(["esd", "top"], 12, 20)
    assert specs == {"esd": (12,), "top_sigma": (8,), "top_u": (8, 12), "top_v": (8, 20)}
    with pytest.raises(ValueError, match="unknown dimension"):
        MetricKey("bad", "a bad shape", "K,n")


def test_top_is_computed_only_when_asked(monkeypatch) -> None:
    """The paper's W-only sets (the analysis benchmark) find at most v_1 with the ESD, no triplets."""
    asked: list[int] = []
    triplets: list[int] = []
    real_eigs, real_trip = setmetrics.eigs_and_top_vectors, setmetrics.gram_triplets
    monkeypatch.setattr(setmetrics, "eigs_and_top_vectors", lambda G, k: (asked.append(k), real_eigs(G, k))[1])
    monkeypatch.setattr(setmetrics, "gram_triplets", lambda *a: (triplets.append(1), real_trip(*a))[1])
    W = _spiked(60, 40, seed=1)
    beta = np.random.default_rng(2).standard_normal(40)
    paper = ("esd", "norms", "powerlaw", "mp", "phase", "teacher")
    without = matrix_metrics(W, paper, beta=beta)
    assert asked == [1] and not triplets and not set(without) & {"top_sigma", "top_u", "top_v"}
    with_top = matrix_metrics(W, (*paper, "top"), beta=beta)
    assert asked == [1, TOP_K] and triplets == [1]
    # the teacher's v_1 from the K-vector reduction: the same alignment
    assert with_top["sim_beta"] == pytest.approx(without["sim_beta"], rel=1e-12)
    for k, v in without.items():
        np.testing.assert_array_equal(with_top[k], v)  # every other number unchanged


def _run_config(tmp_path: Path, metrics: str, h: int = 24, d: int = 16) -> Path:
    cfg = tmp_path / "run.toml"
    cfg.write_text(f"steps = 3\n[model]\nn = 64\nd = {d}\nh = {h}\nn_test = 16\n[optimizer]\nname = \"adam\"\n"
                   f"lr = 0.5\n[snapshots]\nat = 1\n[eval]\nat = \"snapshots\"\nmetrics = {metrics}\n")
    return cfg


def _check_stored_run(run: htdyn.io.reader.Run) -> None:
    """The stored triplets at each eval step equal a fresh SVD of the stored W_t."""
    m = run.metrics
    K = top_k(*run.shape)
    E = len(run.eval_steps)
    assert m["top_sigma"].shape == (E, K) and m["top_u"].shape == (E, K, run.shape[0])
    assert m["top_v"].shape == (E, K, run.shape[1])
    for e, t in enumerate(run.eval_steps):
        W = run.W(int(t)).astype(np.float64)
        _check_against_svd(W, m["top_sigma"][e], m["top_u"][e], m["top_v"][e], vec_tol=1e-8)
        if "esd" in m:
            np.testing.assert_allclose(m["top_sigma"][e] ** 2, m["esd"][e][::-1][:K], rtol=1e-13)


@pytest.mark.parametrize("h, d", [(24, 16), (10, 30)])
def test_htdyn_run_stores_the_triplets(tmp_path: Path, h: int, d: int) -> None:
    out = tmp_path / "t.h5"
    r = subprocess.run([sys.executable, "-m", "htdyn", "run", str(_run_config(tmp_path, '["esd", "top"]', h, d)),
                        "-o", str(out), "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with htdyn.open(out) as traj:
        run = traj.runs[0]
        with h5py.File(out) as f:
            assert f["runs/0000/metrics/top_u"].shape == (4, min(8, h, d), h)
        _check_stored_run(run)
    # the offline analysis of the same snapshots gives the same arrays; none of them reach the CSV
    res = analyze(out, metrics=["top", "norms"], csv_path=tmp_path / "t.csv")
    back = read_analysis(out)
    with htdyn.open(out) as traj:
        online = traj.runs[0].metrics
    rows = [x for x in back.rows if x["set"] == "top"]
    assert len(rows) == 4
    for x in rows:
        for k in ("top_sigma", "top_u", "top_v"):
            np.testing.assert_allclose(x[k], online[k][x["step"]], rtol=1e-12, atol=1e-13)
    header = (tmp_path / "t.csv").read_text().splitlines()[0].split(",")
    assert "stable_rank" in header and not {"top_sigma", "top_u", "top_v"} & set(header)
    assert all(r["set"] != "top" for r in res.scalar_rows()) and len(res.records()) == 4


def test_a_non_finite_snapshot_gets_nan_triplets(tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    htdyn.simulate(htdyn.config.from_dict(
        {"steps": 2, "model": {"n": 64, "d": 16, "h": 24, "n_test": 16}, "snapshots": {"at": 1},
         "eval": {"at": "none"}}), path=out)
    with h5py.File(out, "r+") as f:
        f["runs/0000/W"][1, 0, 0] = np.nan
    rows = {x["step"]: x for x in analyze(out, metrics=["top"], write=False).rows}
    assert all(np.all(np.isnan(rows[1][k])) for k in ("top_sigma", "top_u", "top_v"))
    assert rows[1]["top_u"].shape == (8, 24) and np.all(np.isfinite(rows[2]["top_u"]))


SWEEP = """
name = "trip"
steps = 3
""" + MODEL + """[optimizer]
name = "adam"
[sweep]
repeats = 1
store = "{store}"
"optimizer.lr" = [0.05, 0.5]
"""


def test_the_default_store_keeps_the_triplets(tmp_path: Path) -> None:
    """A default-store sweep (no snapshots) stores the triplets of W_t; the same runs with store = "full"
    (same seeds, so the same W_t, bitwise on the CPU) give W_t, whose SVD they equal."""
    assert "top" in STORE_MODES["spectra"] and "top" in STORE_MODES["full"] and "top" not in STORE_MODES["scalars"]
    dirs = {}
    for store, extra in (("spectra", ""), ("full", '\n[snapshots]\nat = "first_last"\n')):
        spec = tmp_path / f"{store}.toml"
        spec.write_text(SWEEP.format(store=store) + extra)
        dirs[store] = tmp_path / store
        run_sweep(prepare(load_spec(spec), dirs[store]), make_executor("local"))
    sp, fu = htdyn.open_sweep(dirs["spectra"]), htdyn.open_sweep(dirs["full"])
    for r in sp.runs:
        twin = next(x for x in fu.runs if x.point == r.point and x.repeat == r.repeat)
        with sp.trajectory(r) as (_, a), fu.trajectory(twin) as (_, b):
            assert len(a.steps) == 0 and list(a.eval_steps) == list(b.eval_steps) == [0, 3]
            for k in ("top_sigma", "top_u", "top_v"):
                np.testing.assert_array_equal(a.metrics[k], b.metrics[k])
            _check_stored_run(b)
    table = sp.table()
    assert len(table) == 4 and "sigma_1" in table and not {"top_sigma", "top_u", "top_v"} & set(table.columns)
    assert "alpha_hill_mean" in sp.summary()


def test_the_size_estimates_count_the_metric_arrays() -> None:
    from htdyn.config import from_dict
    from htdyn.train.plan import footprint

    base = {"steps": 3, "model": {"n": 64, "d": 100, "h": 150}, "snapshots": {"at": "none"},
            "eval": {"at": "first_last"}, "runs": [{"seed": 0}, {"seed": 1}]}
    bare = footprint(from_dict(base))
    sets = footprint(from_dict({**base, "eval": {"at": "first_last", "metrics": ["esd", "top"]}}))
    # two runs, two eval steps: the ESD (100), the triplets (8 + 8 x 150 + 8 x 100), in float64;
    # the file also holds the steps; the engine keeps the numbers on the host until the group ends
    values = 100 + 8 + 8 * 150 + 8 * 100
    assert sets.file_bytes - bare.file_bytes == 2 * 2 * 8 * (values + 1)
    assert sets.memory_bytes - bare.memory_bytes == 2 * 2 * 8 * values

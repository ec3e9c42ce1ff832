"""Analysis sets on a real (tiny) trajectory against computations written here.

* ``features``: kernel-target alignment from its definition on the n x n kernel
  K = Z Z^T (uncentred, Cristianini et al.; centred with H = I - 11^T/n, Cortes et al.),
  the probe features' stable rank from numpy's SVD;
* ``update``: ``update_sim_beta`` = |<v_1(M_t), beta>| / ||beta||, v_1 from numpy's SVD, and
  on a matrix built with a known top right singular vector;
* ``htdyn analyze --normalize`` (the installed command): the 1/N-normalised ESD, N = max(h, d)
  (docs/analysis_powerlaw.md), divides the eigenvalue-scale metrics by N (the norms by
  sqrt(N), the log10 ones shift by log10 N) and leaves the scale-free ones unchanged.

The rows of an analysis are read by (run, step), whatever set they are filed under, so the
checks do not depend on the table's layout.
"""

from __future__ import annotations

import csv
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from clitools import cli

import htdyn
from htdyn.analysis.offline import analyze
from htdyn.analysis.registry import update_metrics
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation

H, D = 16, 24  # h < d: N = max(h, d) = d = 24, so N = h or N = min(h, d) would both be wrong
STEPS = 2
ACTS = {"tanh": np.tanh, "relu": lambda p: np.maximum(p, 0.0)}


@pytest.fixture(scope="module")
def traj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ind") / "t.h5"
    runs = [RunConfig(model=ModelConfig(n=64, d=D, h=H, n_test=16, activation=act),
                      optimizer=OptimizerConfig("adam", lr=0.5), seed=1) for act in ACTS]
    htdyn.simulate(simulation(runs, steps=STEPS, output=str(path)))
    return path


def merged(rows: list[dict], run: int, step: int) -> dict:
    """Every value the analysis gives for (run, step), across its metric sets (empty CSV cells dropped)."""
    out: dict = {}
    for r in rows:
        if int(float(r["run"])) == run and int(float(r["step"])) == step:
            out.update({k: v for k, v in r.items() if v != ""})
    assert out, f"no analysis row for run {run}, step {step}"
    return out


# --------------------------------------------------------------------------- features (KTA)


def kta_by_hand(Z: np.ndarray, y: np.ndarray, centered: bool) -> float:
    n = Z.shape[0]
    K = Z @ Z.T
    if centered:
        H_ = np.eye(n) - np.ones((n, n)) / n
        K, y = H_ @ K @ H_, H_ @ y
    Y = np.outer(y, y)
    return float(np.sum(K * Y) / (np.linalg.norm(K) * np.linalg.norm(Y)))


def test_kta_by_hand_on_a_small_example() -> None:
    # Z = [[1, 0], [0, 1], [1, 1]], y = (1, 2, 3): K = [[1,0,1],[0,1,1],[1,1,2]],
    # y^T K y = 1 + 4 + 18 + 2*(3 + 6) = 41, ||K||_F = sqrt(10), ||y y^T||_F = 14
    Z = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([1.0, 2.0, 3.0])
    assert kta_by_hand(Z, y, centered=False) == pytest.approx(41.0 / (math.sqrt(10.0) * 14.0), rel=1e-14)
    from htdyn.analysis.features import kernel_target_alignment

    assert kernel_target_alignment(Z, y) == pytest.approx(41.0 / (math.sqrt(10.0) * 14.0), rel=1e-14)
    assert kernel_target_alignment(Z, y, centered=True) == pytest.approx(kta_by_hand(Z, y, True), rel=1e-13)


def test_features_set_values(traj: Path) -> None:
    res = analyze(traj, metrics=["features"], write=False)
    with htdyn.open(traj) as tr:
        for run in tr.runs:
            act = ACTS[run.config["model"]["activation"]]
            data = run.data()
            X = np.asarray(data["X_probe"], dtype=np.float64)
            y = np.asarray(data["y_probe"], dtype=np.float64)
            assert y.shape == (64,)
            for t in (0, STEPS):
                Z = act(X @ run.W(t).T / math.sqrt(D))
                row = merged(res.rows, run.index, t)
                # float64 sums of <= 64^2 products in two orders: ~1e-14 relative
                assert float(row["kta"]) == pytest.approx(kta_by_hand(Z, y, False), rel=1e-10)
                assert float(row["kta_centered"]) == pytest.approx(kta_by_hand(Z, y, True), rel=1e-10)
                s = np.linalg.svd(Z, compute_uv=False)
                assert float(row["feature_stable_rank"]) == pytest.approx(np.sum(s**2) / s[0] ** 2, rel=1e-10)


# --------------------------------------------------------------------------- update_sim_beta


@pytest.mark.parametrize("theta", [0.0, 0.4, 1.1, math.pi / 2])
def test_update_sim_beta_closed_form(theta: float) -> None:
    """M = 5 u1 v1^T + 2 u2 v2^T with v1 = cos(theta) b + sin(theta) e (b = beta/||beta||, e
    orthogonal to b): |<v_1(M), beta>| / ||beta|| = |cos(theta)|."""
    rng = np.random.default_rng(3)
    h, d = 20, 12
    Q, _ = np.linalg.qr(rng.standard_normal((d, 3)))
    b, e, v2 = Q.T
    beta = 3.0 * b  # not unit: the metric divides by ||beta||
    v1 = math.cos(theta) * b + math.sin(theta) * e
    v2 = -math.sin(theta) * b + math.cos(theta) * e if theta else v2
    U, _ = np.linalg.qr(rng.standard_normal((h, 2)))
    M = 5.0 * np.outer(U[:, 0], v1) + 2.0 * np.outer(U[:, 1], v2)
    W = rng.standard_normal((h, d))
    out = update_metrics(W, M, beta=beta)
    # gap 5 vs 2 in s (25 vs 4 in the Gram matrix): the vector is exact to ~eps * 25/21
    assert out["update_sim_beta"] == pytest.approx(abs(math.cos(theta)), abs=1e-12)
    assert out["update_spectral"] == pytest.approx(5.0, rel=1e-13)


def test_update_sim_beta_on_the_trajectory(traj: Path) -> None:
    res = analyze(traj, metrics=["update"], write=False)
    with htdyn.open(traj) as tr:
        for run in tr.runs:
            beta = run.beta
            for t in run.update_steps:
                M = run.update(int(t)).astype(np.float64)
                _, s, Vh = np.linalg.svd(M)
                want = abs(Vh[0] @ beta) / np.linalg.norm(beta)
                # v_1 from the Gram matrix vs the SVD: ~eps s_1^2 / (s_1^2 - s_2^2) apart
                tol = 1e-12 * s[0] ** 2 / (s[0] ** 2 - s[1] ** 2) + 1e-13
                assert float(merged(res.rows, run.index, int(t))["update_sim_beta"]) == pytest.approx(want, abs=tol)


# --------------------------------------------------------------------------- --normalize

SCALE_FREE = ("alpha_hill", "alpha_ks", "D_ks", "k_ks", "stable_rank", "matrix_entropy")
# metric -> power of N it is divided by under the 1/N-normalised ESD
BY_POWER = {"spectral_norm": 0.5, "frobenius_norm": 0.5, "xmin_hill": 1.0, "xmin_ks": 1.0,
            "mp_lambda_plus": 1.0, "mp_sigma2": 1.0}
LOG10 = ("log_spectral_norm", "log_norm")  # log10 of lambda_max and of sum lambda: shifted by -log10 N


def htdyn_cmd(*args: str) -> subprocess.CompletedProcess:
    return cli(*args, columns=120)


def test_cli_normalize_divides_eigenvalue_scales_by_max_h_d(traj: Path, tmp_path: Path) -> None:
    plain, norm = tmp_path / "plain.csv", tmp_path / "norm.csv"
    for out, extra in ((plain, []), (norm, ["--normalize"])):
        r = htdyn_cmd("analyze", str(traj), "--metrics", "norms,powerlaw,mp", "--csv", str(out), "-q", *extra)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
    a, b = list(csv.DictReader(plain.open())), list(csv.DictReader(norm.open()))
    N = max(H, D)
    for run in (0, 1):
        for t in range(STEPS + 1):
            p, q = merged(a, run, t), merged(b, run, t)
            for k in SCALE_FREE:
                # the fits see every eigenvalue times 1/N: same xmin index, alpha to ~1e-15
                assert float(q[k]) == pytest.approx(float(p[k]), rel=1e-9), k
            for k, power in BY_POWER.items():
                assert float(q[k]) == pytest.approx(float(p[k]) / N**power, rel=1e-9), k
            for k in LOG10:
                assert float(q[k]) == pytest.approx(float(p[k]) - math.log10(N), abs=1e-9), k
            # alpha_hat = alpha_hill log10 lambda_max: shifted by -alpha_hill log10 N
            assert float(q["alpha_hat"]) == pytest.approx(
                float(p["alpha_hat"]) - float(p["alpha_hill"]) * math.log10(N), abs=1e-9)

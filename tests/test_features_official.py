"""The `features` metric set follows eval.features: the official code's features for runs made with them."""

from __future__ import annotations

import numpy as np
import pytest

import htdyn
from htdyn.analysis.offline import analyze
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation


def _kta(Z: np.ndarray, y: np.ndarray) -> float:
    """Uncentred kernel-target alignment <K, y y^T>_F / (||K||_F ||y y^T||_F), K = Z Z^T, by hand."""
    K = Z @ Z.T
    Y = np.outer(y, y)
    return float(np.sum(K * Y) / (np.linalg.norm(K) * np.linalg.norm(Y)))


@pytest.mark.parametrize("features", ["model", "official"])
def test_kta_uses_the_features_of_the_run(tmp_path, features: str) -> None:
    d = 16
    run = RunConfig(model=ModelConfig(n=64, d=d, h=24, n_test=16), optimizer=OptimizerConfig("adam", lr=0.1))
    path = tmp_path / f"{features}.h5"
    htdyn.simulate(simulation([run], steps=2, eval={"features": features}), path=str(path))
    res = analyze(path, metrics=["features"], write=False)
    with htdyn.open(path) as traj:
        r = traj.runs[0]
        data = r.data()
        for row in res.rows:
            W = r.W(row["step"])
            scale = np.sqrt(d) if features == "model" else d  # official: phi(X W^T / d)
            Z = np.tanh(data["X_probe"] @ W.T / scale)
            assert row["kta"] == pytest.approx(_kta(Z, data["y_probe"]), rel=1e-10)
            other = np.tanh(data["X_probe"] @ W.T / (d if features == "model" else np.sqrt(d)))
            assert abs(row["kta"] - _kta(other, data["y_probe"])) > 1e-6  # the two conventions differ here

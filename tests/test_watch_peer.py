"""Peer check: htdyn.watch's per-layer alpha (KS fit) equals WeightWatcher 0.7.7's analyze() alpha.

On an MLP trained a little on scikit-learn's digits (the demo real-mlp's data), the watcher's
last record of each layer holds ``alpha_ks`` (Clauset MLE, xmin at minimum KS distance) of the
final weights; WeightWatcher fits the same eigenvalues (up to its normalisation, which a
power-law fit does not see: alpha and D are scale-free).  WeightWatcher 0.7.7 switches to a
bias-corrected small-sample fit below ``WW_powerlaw.SMALL_N_CUTOFF`` eigenvalues; layers that
small are compared only in shape.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

import htdyn

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
ww = pytest.importorskip("weightwatcher")


def test_alpha_equals_weightwatcher_on_a_trained_mlp(tmp_path: Path) -> None:
    from weightwatcher import WW_powerlaw

    from htdyn.demos.real_mlp import load_data

    X, y, _, _ = load_data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    with htdyn.watch(model, tmp_path / "m.h5", every=10, store="scalars") as w:
        for _ in range(20):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            w.step(loss=loss)
    with contextlib.redirect_stdout(io.StringIO()):
        df = ww.WeightWatcher(model=model).analyze()
    theirs = {str(r["name"]): r for _, r in df.iterrows()}
    compared = 0
    with htdyn.open(w.path) as traj:
        for run in traj.runs:
            r = theirs[run.label]
            assert (int(r["N"]), int(r["M"])) == (max(run.shape), min(run.shape))
            assert int(run.g["metrics/steps"][-1]) == 20
            if min(run.shape) < WW_powerlaw.SMALL_N_CUTOFF:
                continue
            m = run.metrics
            assert m["alpha_ks"][-1] == pytest.approx(float(r["alpha"]), rel=1e-9)
            # the same fit: the same xmin (WeightWatcher 0.7.7 fits the eigenvalues of W^T W unnormalised)
            assert m["xmin_ks"][-1] == pytest.approx(float(r["xmin"]), rel=1e-9)
            assert m["D_ks"][-1] == pytest.approx(float(r["D"]), abs=1e-9)
            compared += 1
    assert compared == 2

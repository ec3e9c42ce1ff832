"""Under weight normalisation every recorded loss, the final one included, is the loss of the rescaled W.

Reference: torch autograd-free float64 forward pass of the paper's student on htdyn's own data,
initial weights and trajectory (``W_t`` from torch.optim, see tests/test_optim.py): loss[t] is
``mean((tanh(X R(W_t)^T / sqrt d) a / sqrt h - y)^2)`` with ``R(W) = W sqrt(h d) / ||W||_F``,
for t = 0 .. T.  Before issue 17 loss[T] was the loss of the unrescaled W_T (a 21% jump at
Adam lr 1 at paper size).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_optim import CASES, _htdyn_run, _torch_run

from htdyn.train.data import make_dataset


def _torch_losses(torch, run, traj, a, rescale: bool = True) -> np.ndarray:
    m = run.model
    ds = make_dataset(m, run.data_seed_)
    X = torch.tensor(ds.X, dtype=torch.float64)
    y = torch.tensor(ds.y, dtype=torch.float64)
    at = torch.tensor(a, dtype=torch.float64)
    out = []
    for W in traj:
        Wt = torch.tensor(W, dtype=torch.float64)
        if rescale:
            Wt = Wt * (math.sqrt(m.h * m.d) / torch.linalg.norm(Wt))
        f = torch.tanh(X @ Wt.T / math.sqrt(m.d)) @ at / math.sqrt(m.h)
        out.append(float(torch.mean((f - y) ** 2)))
    return np.array(out)


@pytest.mark.parametrize("case", ["adam-weightnorm", "gd-weightnorm"])
def test_every_loss_is_of_the_rescaled_weights(torch, case: str) -> None:
    run = CASES[case]
    res, _ = _htdyn_run(run)
    traj, a_ref, _, _ = _torch_run(torch, run)
    ref = _torch_losses(torch, run, traj, a_ref)
    assert res.loss.shape == ref.shape
    np.testing.assert_allclose(res.loss, ref, rtol=1e-10)
    # not vacuous: the unrescaled W_T (what loss[T] used to be) has another loss
    raw = _torch_losses(torch, run, [traj[-1]], a_ref, rescale=False)[0]
    assert abs(raw - ref[-1]) > 1e-3 * ref[-1]

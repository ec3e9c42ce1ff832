"""Evaluation: the ridge read-out fitted on the probe set, and test losses.

As the paper's code (Kothapalli et al. 2025, following Ba et al. 2022): with
features Z = phi(X_probe W^T / sqrt(d)) / sqrt(h) (n x h),

    a_hat = (Z^T Z + (lambda / h) n I_h)^{-1} Z^T y_probe,

the minimiser of (1/n) ||y - Z a||^2 + (lambda / h) ||a||^2.  "probe loss" is
the mean squared error of Z a_hat on the probe set (the paper's "training
loss"), "test loss" that of the test features with a_hat.  The solve is done
in float64 whatever the training dtype, in the cheaper of the primal (h x h)
and dual (n x n) forms, which give the same a_hat.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .activations import Activation
from .model import features, predict


def ridge_readout(xp: Any, Z: Any, y: Any, lam: float) -> Any:
    """a_hat for features Z (B, n, h) and targets y (B_y, n), in float64.

    Uses (Z^T Z + c I_h)^{-1} Z^T y when h <= n and Z^T (Z Z^T + c I_n)^{-1} y
    otherwise, with c = (lam / h) n.  Returns (B, h).
    """
    Z = xp.astype(Z, xp.float64)
    y = xp.astype(y, xp.float64)
    n, h = Z.shape[-2], Z.shape[-1]
    c = lam / h * n
    Zt = xp.matrix_transpose(Z)
    if h <= n:
        G = xp.matmul(Zt, Z) + c * xp.eye(h, dtype=xp.float64, device=_device(Z))
        rhs = xp.matmul(Zt, y[..., None])
        return xp.squeeze(xp.linalg.solve(G, rhs), axis=-1)
    G = xp.matmul(Z, Zt) + c * xp.eye(n, dtype=xp.float64, device=_device(Z))
    alpha = xp.linalg.solve(G, xp.broadcast_to(y[..., None], (Z.shape[0], n, 1)))
    return xp.squeeze(xp.matmul(Zt, alpha), axis=-1)


def _device(a: Any) -> Any:
    return getattr(a, "device", None) if not isinstance(a, np.ndarray) else None


def evaluate(
    xp: Any,
    W: Any,
    a: Any,
    data: dict,
    act: Activation,
    lam: float,
    pre_scale: float = 1.0,
) -> dict[str, Any]:
    """Probe (ridge) loss, test loss of the ridge read-out, and the network's own losses.

    Parameters
    ----------
    W : (B, h, d) array
    a : (B, h) array
        The network's read-out (frozen or trained).
    data : dict
        Backend arrays ``Xs``, ``y``, ``Xs_probe``, ``y_probe``, ``Xs_test``,
        ``y_test`` (inputs pre-scaled by 1/sqrt(d), leading axis 1 or B).
    pre_scale : float
        Extra factor on the read-out's pre-activations: 1 for the student's own
        features phi(X W^T / sqrt(d)); 1/sqrt(d) reproduces the official code of
        Kothapalli et al., whose forward hook divides the stored pre-activations
        by sqrt(d) in place, so its read-out sees phi(X W^T / d) (``eval.features
        = "official"``).

    Returns
    -------
    dict of (B,) float64 arrays: probe_loss, test_loss, net_train_loss, net_test_loss.
    """
    h = W.shape[-2]
    _, Zp = features(xp, W, data["Xs_probe"], act)
    Pt, Zt_net = features(xp, W, data["Xs_test"], act)
    Zt = Zt_net
    if pre_scale != 1.0:
        Zp = act(xp, features(xp, W, data["Xs_probe"], act)[0] * pre_scale)
        Zt = act(xp, Pt * pre_scale)
    Zp = xp.astype(Zp, xp.float64) / math.sqrt(h)
    Zt = xp.astype(Zt, xp.float64) / math.sqrt(h)
    Zt_net = Zt if pre_scale == 1.0 else xp.astype(Zt_net, xp.float64) / math.sqrt(h)
    yp = xp.astype(data["y_probe"], xp.float64)
    yt = xp.astype(data["y_test"], xp.float64)
    a_hat = ridge_readout(xp, Zp, yp, lam)
    rp = xp.squeeze(xp.matmul(Zp, a_hat[..., None]), axis=-1) - yp
    rt = xp.squeeze(xp.matmul(Zt, a_hat[..., None]), axis=-1) - yt
    a64 = xp.astype(a, xp.float64)
    ft = xp.squeeze(xp.matmul(Zt_net, a64[..., None]), axis=-1) - yt  # the network's own features
    fx = predict(xp, W, a, data["Xs"], act)
    rtrain = xp.astype(fx, xp.float64) - xp.astype(data["y"], xp.float64)
    return {
        "probe_loss": xp.mean(rp * rp, axis=-1),
        "test_loss": xp.mean(rt * rt, axis=-1),
        "net_train_loss": xp.mean(rtrain * rtrain, axis=-1),
        "net_test_loss": xp.mean(ft * ft, axis=-1),
    }

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

from ..activations import Activation
from .backend import to_numpy
from .model import features, predict

#: trace(G) / c above which a run's ridge read-out is solved by least squares
COND_LIMIT = 1e10


def ridge_readout(xp: Any, Z: Any, y: Any, lam: float) -> Any:
    """a_hat for features Z (B, n, h) and targets y (B_y, n), in float64.

    Uses (Z^T Z + c I_h)^{-1} Z^T y when h <= n and Z^T (Z Z^T + c I_n)^{-1} y
    otherwise, with c = (lam / h) n.  A run whose normal matrix G is too
    ill-conditioned for that (trace(G) / c > ``COND_LIMIT``, which bounds
    cond(G); never for bounded activations at the paper's lambda) is solved
    by :func:`ridge_lstsq` instead.  Returns (B, h).
    """
    Z = xp.astype(Z, xp.float64, copy=False)
    y = xp.astype(y, xp.float64, copy=False)
    n, h = Z.shape[-2], Z.shape[-1]
    c = lam / h * n
    Zt = xp.matrix_transpose(Z)
    k = min(n, h)
    G = xp.matmul(Zt, Z) if h <= n else xp.matmul(Z, Zt)
    diag = list(range(k))
    G[..., diag, diag] += c  # in place: G is ours, and a B k^2 float64 temporary less
    # cond(G) <= trace(G) / c: past 1e10 the normal equations lose more than ~1e-6 of a_hat
    # (features of a run gone wild, e.g. linear or relu at a huge lr); those runs take lstsq
    tr = to_numpy(xp.sum(xp.linalg.diagonal(G), axis=-1))
    bad = ~(tr <= COND_LIMIT * c)
    if bad.any():
        keep = xp.asarray(~bad, device=_device(Z))[:, None, None]
        G = xp.where(keep, G, xp.eye(k, dtype=xp.float64, device=_device(Z)))
    rhs = xp.matmul(Zt, y[..., None]) if h <= n else xp.broadcast_to(y[..., None], (Z.shape[0], n, 1))
    sol = xp.linalg.solve(G, rhs)
    a_hat = xp.squeeze(sol if h <= n else xp.matmul(Zt, sol), axis=-1)
    if not bad.any():
        return a_hat
    out = np.array(to_numpy(a_hat), dtype=np.float64)
    Zb, yb = to_numpy(Z)[bad], to_numpy(y)
    out[bad] = ridge_lstsq(Zb, yb[bad] if yb.shape[0] == Z.shape[0] else np.broadcast_to(yb, (len(Zb), n)), c)
    return out if isinstance(Z, np.ndarray) else xp.asarray(out, device=_device(Z))


def ridge_lstsq(Z: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    """a_hat for ill-conditioned features, as a least-squares problem (host numpy, float64).

    a_hat = argmin ||Z a - y||^2 + c ||a||^2 is the least-squares solution of
    [Z; sqrt(c) I] a = [y; 0], which ``numpy.linalg.lstsq`` (SVD) solves to
    working accuracy whatever the conditioning of Z^T Z.  Z (B, n, h), y (B, n);
    NaN for a run whose features are not finite.
    """
    B, n, h = Z.shape
    out = np.full((B, h), np.nan)
    for b in range(B):
        if np.all(np.isfinite(Z[b])):
            A = np.concatenate([Z[b], math.sqrt(c) * np.eye(h)])
            out[b] = np.linalg.lstsq(A, np.concatenate([y[b], np.zeros(h)]), rcond=None)[0]
    return out


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
    keep: dict | None = None,
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
    keep : dict, optional
        Receives ``train_pred``, the network's outputs f(X) on the training set (B, n),
        in the training dtype (the last step's loss reuses them).

    Returns
    -------
    dict of (B,) float64 arrays: probe_loss, test_loss, net_train_loss, net_test_loss.
    """
    h = W.shape[-2]
    Pp, Zp = features(xp, W, data["Xs_probe"], act)
    if pre_scale != 1.0:
        Pp *= pre_scale  # in place (Pp is ours): one (B, n, h) temporary less
        Zp = act(xp, Pp)
    del Pp
    Pt, Zt_net = features(xp, W, data["Xs_test"], act)
    Zt = act(xp, Pt * pre_scale) if pre_scale != 1.0 else Zt_net
    Zp = xp.astype(Zp, xp.float64)
    Zp /= math.sqrt(h)
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
    if keep is not None:  # the network's outputs on the training set, for whoever needs them next
        keep["train_pred"] = fx
    rtrain = xp.astype(fx, xp.float64) - xp.astype(data["y"], xp.float64)
    return {
        "probe_loss": xp.mean(rp * rp, axis=-1),
        "test_loss": xp.mean(rt * rt, axis=-1),
        "net_train_loss": xp.mean(rtrain * rtrain, axis=-1),
        "net_test_loss": xp.mean(ft * ft, axis=-1),
    }

"""The two-layer student, its loss and closed-form gradients, batched over runs.

f(x) = a . phi(W x / sqrt(d)) / sqrt(h),  W in R^{h x d},  a in R^h,
L(W, a) = (1/n) sum_i (f(x_i) - y_i)^2      (torch's MSELoss: no 1/2).

With pre-activations P = X W^T / sqrt(d) (n x h), features A = phi(P),
residual r = A a / sqrt(h) - y and s = 2 r / n:

    dL/dW = [(s a^T / sqrt(h)) * phi'(P)]^T X / sqrt(d)
          = diag(a / sqrt(h)) phi'(P)^T diag(s) X / sqrt(d)
    dL/da = A^T s / sqrt(h)

All arrays carry a leading run axis B: W (B, h, d), a (B, h); the data X
(B_x, n, d) and y (B_x, n) with B_x = 1 when runs share their data.  X is
passed pre-scaled by 1/sqrt(d), so both matrix products are plain GEMMs.
"""

from __future__ import annotations

import math
from typing import Any

from ..activations import Activation
from .backend import Workspace


def features(xp: Any, W: Any, Xs: Any, act: Activation) -> tuple[Any, Any]:
    """Pre-activations P = Xs W^T and features phi(P), each (B, n, h)."""
    P = xp.matmul(Xs, xp.matrix_transpose(W))
    return P, act(xp, P)


def predict(xp: Any, W: Any, a: Any, Xs: Any, act: Activation) -> Any:
    """Network outputs f(x) for every run and sample, shape (B, n)."""
    _, A = features(xp, W, Xs, act)
    h = W.shape[-2]
    return xp.squeeze(xp.matmul(A, a[..., None]), axis=-1) / math.sqrt(h)


def loss(xp: Any, W: Any, a: Any, Xs: Any, y: Any, act: Activation) -> Any:
    """Mean-squared loss of every run, shape (B,) (one matrix product, no gradient)."""
    r = predict(xp, W, a, Xs, act) - y
    return xp.mean(r * r, axis=-1)


def loss_and_grad(
    xp: Any, W: Any, a: Any, Xs: Any, y: Any, act: Activation, grad_a: bool = False,
    ws: Workspace | None = None,
) -> tuple[Any, Any, Any | None]:
    """Mean-squared loss and its closed-form gradients.

    The W-gradient is evaluated as ``diag(a/sqrt(h)) phi'(P)^T diag(s) Xs``:
    the scaling by s acts on the (n, d) inputs and the scaling by a on the
    (h, d) result, cheaper than scaling the (n, h) matrix phi'(P) twice.

    Parameters
    ----------
    W : (B, h, d) array
    a : (B, h) array
    Xs : (B_x, n, d) array
        Inputs already divided by sqrt(d); B_x is 1 or B.
    y : (B_x, n) array
    act : Activation
    grad_a : bool
        Also return dL/da (for a trainable read-out).
    ws : Workspace, optional
        Buffers to reuse (the training loop passes one): the pre-activations,
        features, scaled inputs and ``gW`` are written into them, so ``gW`` is
        valid only until the next call with the same workspace.

    Returns
    -------
    loss : (B,) array
    gW : (B, h, d) array
    ga : (B, h) array or None
    """
    B, h, d = W.shape
    n = Xs.shape[-2]
    Wt = xp.matrix_transpose(W)
    if ws is None:
        P = xp.matmul(Xs, Wt)
        A = act(xp, P)
    else:
        nat = ws.native
        P = nat.matmul(Xs, Wt, out=ws.get("P", (B, n, h)))
        if act.f_out is not None:
            A = ws.get("A", (B, n, h))
            ws.map(lambda p, o: act.f_out(nat, p, o), P, A)
        else:
            A = act(xp, P)
    a_s = a / math.sqrt(h)  # (B, h)
    f = xp.squeeze(xp.matmul(A, a_s[..., None]), axis=-1)  # (B, n)
    r = f - y
    loss = xp.mean(r * r, axis=-1)
    s = r * (2.0 / n)  # dL/df, (B, n)
    ga = None
    if grad_a:
        ga = xp.squeeze(xp.matmul(xp.matrix_transpose(A), s[..., None]), axis=-1) / math.sqrt(h)
    if ws is None:
        D = act.derivative(xp, P, A)  # phi'(P), (B, n, h)
        gW = xp.matmul(xp.matrix_transpose(D), Xs * s[..., None])
        gW *= a_s[..., None]
        return loss, gW, ga
    if act.df_inplace is not None:
        ws.map(lambda p, fx: act.df_inplace(nat, p, fx), P, A)
        D = A
    else:
        D = act.derivative(xp, P, A)
    SX = ws.get("SX", (B, n, d))
    ws.map(lambda x, s_, o: nat.multiply(x, s_, out=o), Xs, s[..., None], SX)
    gW = nat.matmul(xp.matrix_transpose(D), SX, out=ws.get("gW", (B, h, d)))
    ws.map(lambda g, c: nat.multiply(g, c, out=g), gW, a_s[..., None])
    return loss, gW, ga

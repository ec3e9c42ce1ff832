"""The two-layer student, its loss and closed-form gradients, batched over runs.

f(x) = a . phi(W x / sqrt(d)) / sqrt(h),  W in R^{h x d},  a in R^h,
L(W, a) = (1/n) sum_i (f(x_i) - y_i)^2      (torch's MSELoss: no 1/2).

With pre-activations P = X W^T / sqrt(d) (n x h), features A = phi(P),
residual r = A a / sqrt(h) - y and s = 2 r / n:

    dL/dW = [(s a^T / sqrt(h)) * phi'(P)]^T X / sqrt(d)
    dL/da = A^T s / sqrt(h)

All arrays carry a leading run axis B: W (B, h, d), a (B, h); the data X
(B_x, n, d) and y (B_x, n) with B_x = 1 when runs share their data.  X is
passed pre-scaled by 1/sqrt(d), so both matrix products are plain GEMMs.
"""

from __future__ import annotations

import math
from typing import Any

from .activations import Activation


def features(xp: Any, W: Any, Xs: Any, act: Activation) -> tuple[Any, Any]:
    """Pre-activations P = Xs W^T and features phi(P), each (B, n, h)."""
    P = xp.matmul(Xs, xp.matrix_transpose(W))
    return P, act(xp, P)


def predict(xp: Any, W: Any, a: Any, Xs: Any, act: Activation) -> Any:
    """Network outputs f(x) for every run and sample, shape (B, n)."""
    _, A = features(xp, W, Xs, act)
    h = W.shape[-2]
    return xp.squeeze(xp.matmul(A, a[..., None]), axis=-1) / math.sqrt(h)


def loss_and_grad(
    xp: Any, W: Any, a: Any, Xs: Any, y: Any, act: Activation, grad_a: bool = False
) -> tuple[Any, Any, Any | None]:
    """Mean-squared loss and its closed-form gradients.

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

    Returns
    -------
    loss : (B,) array
    gW : (B, h, d) array
    ga : (B, h) array or None
    """
    n = Xs.shape[-2]
    h = W.shape[-2]
    P, A = features(xp, W, Xs, act)
    a_s = a / math.sqrt(h)  # (B, h)
    f = xp.squeeze(xp.matmul(A, a_s[..., None]), axis=-1)  # (B, n)
    r = f - y
    loss = xp.mean(r * r, axis=-1)
    s = r * (2.0 / n)  # dL/df, (B, n)
    ga = None
    if grad_a:
        ga = xp.squeeze(xp.matmul(xp.matrix_transpose(A), s[..., None]), axis=-1) / math.sqrt(h)
    G = act.derivative(xp, P, A)  # phi'(P), reusing the buffer where the backend allows
    G *= s[..., :, None]
    G *= a_s[..., None, :]
    gW = xp.matmul(xp.matrix_transpose(G), Xs)
    return loss, gW, ga

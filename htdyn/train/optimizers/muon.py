"""Muon: Nesterov momentum whose update is orthogonalised by a Newton-Schulz iteration.

Jordan et al. (2024), "Muon: an optimizer for hidden layers in neural networks"
(reference: github.com/KellerJordan/Muon, ``muon.py``).  Per run, with g the
gradient of a parameter viewed as an r x c matrix (W: r = h, c = d; the read-out
a, when trained, as the 1 x h weight of an ``nn.Linear(h, 1)``):

- b = mu b + (1 - mu) g                     (b = 0 before the first step; torch ``lerp_``)
- v = (1 - mu) g + mu b                     (Nesterov, as the reference's ``grad.lerp_(b, mu)``)
- X_0 = v / (||v||_F + 1e-7), transposed when r > c; five times
  A = X X^T,  X <- a X + (b' A + c' A^2) X,  (a, b', c') = (3.4445, -4.7750, 2.0315)
- O = X_5 (transposed back);  Delta = -lr sqrt(max(1, r / c)) O - lr wd p  (decoupled decay, as the reference)

Each singular value s of v/||v||_F (all <= 1) is mapped by the quintic
p(s) = a s + b' s^3 + c' s^5 five times; the coefficients trade exactness for
speed, so the singular values of O land in a band around 1 (about [0.68, 1.13]
for those entering above ~1e-3 of the largest) rather than exactly at 1.  The
reference runs the iteration in bfloat16 on the GPU; htdyn runs it in the
run's dtype (float32 or float64).  Batched over runs with ``matmul``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Rule

#: the quintic's coefficients (a, b, c) of the reference
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
#: Newton-Schulz iterations per step (the reference's ``ns_steps``)
NS_STEPS = 5
#: added to ||v||_F before dividing (the reference's 1e-7)
NS_EPS = 1e-7


def newton_schulz(xp: Any, X: Any, steps: int = NS_STEPS) -> Any:
    """Orthogonalise a batch of matrices: approximately U V^T of X = U S V^T, per matrix.

    Parameters
    ----------
    xp : the array namespace of X (``array_api_compat``'s numpy, torch or cupy)
    X : (B, r, c) array
    steps : quintic iterations

    Returns
    -------
    (B, r, c) array: X scaled to ||X||_F = 1 (+ :data:`NS_EPS`), then ``steps`` times
    X <- a X + (b X X^T + c (X X^T)^2) X, computed on the wide orientation (r <= c)
    so X X^T is the smaller Gram matrix.

    References
    ----------
    Jordan, Jin, Boza, You, Cesista, Newhouse, Bernstein (2024), Muon; ``zeropower_via_newtonschulz5``.
    """
    a, b, c = NS_COEFFICIENTS
    tall = X.shape[-2] > X.shape[-1]
    if tall:
        X = xp.matrix_transpose(X)
    X = X / (xp.sqrt(xp.sum(X * X, axis=(-2, -1), keepdims=True)) + NS_EPS)
    for _ in range(steps):
        A = X @ xp.matrix_transpose(X)
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return xp.matrix_transpose(X) if tall else X


class Muon(Rule):
    """Muon on every parameter: W as an h x d matrix, a (if trained) as a 1 x h matrix."""

    decoupled_decay = True

    def update(self, p: Any, g: Any, st: dict[str, Any], u: Any, lr: np.ndarray, k: int) -> None:
        opt = self.opt
        xp, nd = opt.xp, g.ndim
        mu, one_mu = opt.col(opt.host["momentum"], nd), opt.col(1.0 - opt.host["momentum"], nd)
        if "momentum_buffer" not in st:
            st["momentum_buffer"] = xp.zeros_like(g)
        buf = st["momentum_buffer"]

        def part(g, buf, u, mu=mu, one_mu=one_mu):
            u[...] = g  # b <- b + (1 - mu)(g - b);  v = g + mu (b - g)
            u -= buf
            u *= one_mu
            buf += u
            u[...] = buf
            u -= g
            u *= mu
            u += g

        opt.ws.map(part, g, buf, u)
        shape = tuple(u.shape)
        mats = u if nd == 3 else u.reshape((shape[0], 1, -1))
        rows, cols = mats.shape[-2], mats.shape[-1]
        O = newton_schulz(xp, mats)
        scale = opt.col(-lr * math.sqrt(max(1.0, rows / cols)), 3)
        u[...] = (O * scale).reshape(shape)
        if opt.use_wd:  # decoupled: p <- p (1 - lr wd) - lr scale O
            u -= opt.col(lr * opt.host["weight_decay"], nd) * p


RULES = {"muon": Muon}

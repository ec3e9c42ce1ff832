r"""Spectral penalties of the weight matrix: values and closed-form gradients, batched over runs.

Heavy-tailed regularization (Xiao, Li, Xie & Zhou 2023, arXiv 2304.02911) adds to the
training loss a term R(W) that depends on W only through its spectrum, the eigenvalues
``lambda_1 <= ... <= lambda_N`` of W^T W (``N = min(h, d)``, the squared singular values of
W, the convention of :func:`htdyn.analysis.esd.esd`).  For such a term, with ``g_i = dR /
d lambda_i`` and the singular triplets (s_i, u_i, v_i) of W,

.. math::
    \nabla_W R = \sum_i g_i \, \frac{\partial \lambda_i}{\partial W}
               = \sum_i g_i \, 2 s_i u_i v_i^T = 2\, U \operatorname{diag}(g)\, U^T W
               = 2\, W V \operatorname{diag}(g)\, V^T,

(``d lambda_i / dW = 2 W v_i v_i^T`` for a simple eigenvalue), and since the rows of
``U^T W`` are orthogonal with squared norms lambda_i,

.. math::
    \lVert \nabla_W R \rVert_F = 2 \sqrt{\textstyle\sum_i g_i^2 \lambda_i}.

So one batched symmetric eigensolve of the smaller Gram matrix (``W W^T`` when ``h <= d``,
else ``W^T W``) per step gives every penalty's value and gradient: :func:`spectrum` computes
it (in float64, on the device of W, through the array API's ``linalg.eigh``: numpy, torch
CPU/CUDA, CuPy), each penalty maps the eigenvalues to ``(R, g)``, and
:func:`spectral_gradient` turns ``g`` back into a (B, h, d) gradient.

Penalties (each a class taking its parameters as scalars or per-run arrays of shape (B,)):

- :class:`WeightedAlpha`: ``R = alpha_H * ln lambda_max`` (Martin & Mahoney's alpha-hat with
  the Hill alpha at the median, natural log), the split held fixed within a step;
- :class:`StableRank`: ``R = ||W||_F^2 / ||W||_2^2 = sum_i lambda_i / lambda_max``;
- :class:`PowerLawPrior`: the negative log of a power-law prior on the ESD tail
  (a reconstruction, see ``docs/regularization.md``);
- :class:`FrechetPrior`: the negative log of a Frechet prior on lambda_max (a reconstruction).

Eigenvalues are floored at ``N * eps * lambda_max`` (float64 round-off of the Gram route)
before any logarithm, so a rank-deficient W gives large but finite numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

__all__ = ["Spectrum", "spectrum", "spectral_gradient", "spectral_grad_norm", "hill_alpha",
           "WeightedAlpha", "StableRank", "PowerLawPrior", "FrechetPrior", "PENALTIES"]


@dataclass
class Spectrum:
    """The eigen-decomposition of each run's smaller Gram matrix, in float64.

    ``lam`` (B, N) ascending eigenvalues (floored, see the module docstring); ``vecs``
    (B, N, N) their unit eigenvectors (columns); ``left`` is True when the Gram matrix is
    ``W W^T`` (``h <= d``: the vectors are the left singular vectors U), else ``W^T W``
    (right singular vectors V); ``W`` the float64 copy of the weights.
    """

    lam: Any
    vecs: Any
    left: bool
    W: Any


def spectrum(xp: Any, W: Any) -> Spectrum:
    """Eigenvalues and eigenvectors of the smaller Gram matrix of every W (float64).

    Parameters
    ----------
    xp : array namespace (array-API compatible)
    W : (B, h, d) array

    Returns
    -------
    Spectrum
    """
    W64 = xp.astype(W, xp.float64)
    h, d = W.shape[-2], W.shape[-1]
    Wt = xp.matrix_transpose(W64)
    left = h <= d
    G = xp.matmul(W64, Wt) if left else xp.matmul(Wt, W64)
    lam, vecs = _eigh(xp, G)
    n = lam.shape[-1]
    floor = (n * float(np.finfo(np.float64).eps)) * xp.max(xp.abs(lam), axis=-1, keepdims=True)
    return Spectrum(xp.maximum(lam, floor), vecs, left, W64)


#: numpy eigensolves of Gram matrices up to this size run on one BLAS thread (see :func:`_eigh`)
ONE_THREAD_MAX_N = 512
_CONTROLLER: Any = None


def _eigh(xp: Any, G: Any) -> tuple[Any, Any]:
    """``xp.linalg.eigh`` of a batch; on numpy with small matrices, on one BLAS thread.

    LAPACK's eigensolver on a small matrix is a chain of tiny BLAS calls: OpenBLAS's
    threads cost more than they give, 2-60x on a loaded 2-core machine at N = 100-500
    (``benchmarks/bench_penalty.py``).  numpy's BLAS is limited to one thread for the
    call through ``threadpoolctl`` (a required dependency).
    """
    global _CONTROLLER
    if not isinstance(G, np.ndarray) or G.shape[-1] > ONE_THREAD_MAX_N:
        return xp.linalg.eigh(G)
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        return xp.linalg.eigh(G)


def spectral_gradient(xp: Any, spec: Spectrum, g: Any) -> Any:
    """The gradient ``2 U diag(g) U^T W`` (or ``2 W V diag(g) V^T``) of a spectral function.

    ``g`` (B, N) holds ``dR / d lambda_i`` for the eigenvalues of ``spec``; the result is
    (B, h, d), float64.
    """
    Q = spec.vecs
    if spec.left:
        QtW = xp.matmul(xp.matrix_transpose(Q), spec.W)  # (B, N, d)
        return 2.0 * xp.matmul(Q, g[..., None] * QtW)
    WQ = xp.matmul(spec.W, Q)  # (B, h, N)
    return 2.0 * xp.matmul(WQ * g[:, None, :], xp.matrix_transpose(Q))


def spectral_grad_norm(xp: Any, lam: Any, g: Any) -> Any:
    """``||grad_W R||_F = 2 sqrt(sum_i g_i^2 lambda_i)`` for ``g = dR/dlambda`` (B, N) -> (B,)."""
    return 2.0 * xp.sqrt(xp.sum(g * g * lam, axis=-1))


def _param(xp: Any, like: Any, value: Any) -> Any:
    """A scalar or per-run parameter as a (B,) float64 array on the device of ``like``."""
    B = like.shape[0]
    arr = np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), (B,)))  # a writable copy (torch)
    return xp.asarray(arr, dtype=xp.float64, device=array_api_compat.device(like))


def _onehot_last(xp: Any, lam: Any) -> Any:
    """(B, N) indicator of the largest eigenvalue (the last, ascending order)."""
    n = lam.shape[-1]
    idx = xp.arange(n, device=array_api_compat.device(lam))
    return xp.astype(idx == n - 1, xp.float64)[None, :] * xp.ones_like(lam)


def hill_alpha(xp: Any, lam: Any) -> tuple[Any, Any]:
    r"""The Hill alpha at the median and its gradient with respect to the eigenvalues.

    With ascending eigenvalues, ``i = floor(N / 2)``, ``k = N - i`` and
    ``S = sum_{j >= i} ln lambda_j - k ln lambda_i`` (the split i held fixed),

    .. math::
        \alpha_H = 1 + k / S,\qquad
        \frac{\partial \alpha_H}{\partial \lambda_j} = -\frac{k}{S^2 \lambda_j}\ (j > i),\qquad
        \frac{\partial \alpha_H}{\partial \lambda_i} = \frac{k (k - 1)}{S^2 \lambda_i},

    zero below the median.  This equals :func:`htdyn.analysis.powerlaw.fit_hill` (the
    reference code's ``xmin_mid``).  ``sum_j lambda_j d alpha / d lambda_j = 0``: alpha is
    scale invariant, so its W-gradient is orthogonal to W.

    Returns
    -------
    alpha : (B,) array
    dalpha : (B, N) array
    """
    n = lam.shape[-1]
    i = n // 2
    k = n - i
    logs = xp.log(lam)
    S = xp.sum(logs[:, i:], axis=-1) - k * logs[:, i]
    alpha = 1.0 + k / S
    c = -k / (S * S)  # (B,)
    d_tail = c[:, None] / lam[:, i:]
    d_tail = xp.concat([(-(k - 1) * c / lam[:, i])[:, None], d_tail[:, 1:]], axis=-1)
    dalpha = xp.concat([xp.zeros_like(lam[:, :i]), d_tail], axis=-1)
    return alpha, dalpha


class WeightedAlpha:
    r"""Weighted alpha: ``R = alpha_H * ln lambda_max`` (Xiao et al. 2023; Martin & Mahoney's alpha-hat).

    .. math::
        \frac{\partial R}{\partial \lambda} = \ln\lambda_{max}\,\frac{\partial \alpha_H}{\partial \lambda}
            + \frac{\alpha_H}{\lambda_{max}} e_{max}

    with ``alpha_H`` from :func:`hill_alpha` (natural log; WeightWatcher's log10 only
    rescales the coefficient by ln 10).  The alpha part is orthogonal to W and
    ``<grad ln lambda_max, W> = 2``.  Minimising R lowers alpha (a heavier tail) and/or
    lambda_max; with ``lambda_max < 1`` the sign of ``ln lambda_max`` flips and so does the
    push on alpha.
    """

    name = "weighted_alpha"

    def __call__(self, xp: Any, lam: Any) -> tuple[Any, Any]:
        alpha, dalpha = hill_alpha(xp, lam)
        lmax = lam[:, -1]
        llog = xp.log(lmax)
        g = llog[:, None] * dalpha + (alpha / lmax)[:, None] * _onehot_last(xp, lam)
        return alpha * llog, g


class StableRank:
    r"""Stable rank: ``R = ||W||_F^2 / ||W||_2^2 = sum_i lambda_i / lambda_max``.

    .. math::
        \frac{\partial R}{\partial \lambda_j} = \frac{1}{\lambda_{max}}
            - [j = max] \frac{\sum_i \lambda_i}{\lambda_{max}^2},
        \qquad \nabla_W R = \frac{2 W}{\lambda_{max}} - \frac{2 R}{\lambda_{max}} W v_1 v_1^T.

    R is scale invariant, so ``<grad R, W> = 0``.
    """

    name = "stable_rank"

    def __call__(self, xp: Any, lam: Any) -> tuple[Any, Any]:
        lmax = lam[:, -1]
        tot = xp.sum(lam, axis=-1)
        g = xp.ones_like(lam) / lmax[:, None] - (tot / (lmax * lmax))[:, None] * _onehot_last(xp, lam)
        return tot / lmax, g


class PowerLawPrior:
    r"""Negative log power-law prior on the ESD tail (a reconstruction of Xiao et al.'s MAP regularizer).

    The prior density ``p(lambda) = ((alpha0 - 1) / lambda_min) (lambda / lambda_min)^(-alpha0)``
    on ``lambda >= lambda_min``, evaluated on the k tail eigenvalues:

    .. math::
        R = \alpha_0 \sum_{tail} \ln(\lambda_j / \lambda_{min}) - k \ln\frac{\alpha_0 - 1}{\lambda_{min}}.

    ``tail_start``: a number (the tail is ``lambda >= tail_start``, the set held fixed within
    a step; ``dR/dlambda_j = alpha0 / lambda_j`` on it), or NaN / ``"median"`` for the
    median split of :func:`hill_alpha` (``lambda_min = lambda_i`` moves with W:
    ``dR/dlambda_i = (alpha0 (1 - k) + k) / lambda_i``).

    Parameters
    ----------
    alpha0 : float or (B,) array, > 1
        The target tail exponent.
    tail_start : float, "median" or (B,) array (NaN = median)
    """

    name = "powerlaw_prior"

    def __init__(self, alpha0: Any = 3.0, tail_start: Any = "median"):
        self.alpha0 = alpha0
        self.tail_start = np.nan if isinstance(tail_start, str) else tail_start

    def __call__(self, xp: Any, lam: Any) -> tuple[Any, Any]:
        n = lam.shape[-1]
        i, km = n // 2, float(n - n // 2)
        a0 = _param(xp, lam, self.alpha0)
        ts = _param(xp, lam, self.tail_start)
        median = xp.isnan(ts)
        xmin = xp.where(median, lam[:, i], ts)
        idx = xp.arange(n, device=array_api_compat.device(lam))[None, :]
        tail = xp.where(median[:, None], idx >= i, lam >= xmin[:, None])
        tf = xp.astype(tail, xp.float64)
        k = xp.sum(tf, axis=-1)
        logr = xp.where(tail, xp.log(lam / xmin[:, None]), 0.0)
        R = a0 * xp.sum(logr, axis=-1) - k * xp.log((a0 - 1.0) / xmin)
        g = tf * a0[:, None] / lam
        at_i = xp.astype(idx == i, xp.float64) * xp.astype(median, xp.float64)[:, None]
        g = g + at_i * ((-a0 * km + km) / lam[:, i])[:, None]  # xmin's own dependence (median split)
        return R, g


class FrechetPrior:
    r"""Negative log Frechet prior on lambda_max (a reconstruction of Xiao et al.'s MAP regularizer).

    With ``z = (lambda_max - loc) / scale`` and shape ``a``, the Frechet density
    ``p = (a / s) z^(-1-a) exp(-z^(-a))`` gives

    .. math::
        R = \ln(s / a) + (1 + a) \ln z + z^{-a},\qquad
        \frac{\partial R}{\partial \lambda_{max}} = \frac{1}{s}\left(\frac{1 + a}{z} - a z^{-a-1}\right),

    minimal at the mode ``z = (a / (1 + a))^(1/a)``.  Where ``lambda_max <= loc`` the density
    is 0: R is +inf and the gradient 0 (the penalty cannot act there).
    """

    name = "frechet_prior"

    def __init__(self, shape: Any = 2.0, scale: Any = 1.0, loc: Any = 0.0):
        self.shape, self.scale, self.loc = shape, scale, loc

    def __call__(self, xp: Any, lam: Any) -> tuple[Any, Any]:
        a, s, m = (_param(xp, lam, v) for v in (self.shape, self.scale, self.loc))
        z = (lam[:, -1] - m) / s
        ok = z > 0
        zs = xp.where(ok, z, 1.0)
        R = xp.where(ok, xp.log(s / a) + (1.0 + a) * xp.log(zs) + zs ** (-a), math.inf)
        dl = xp.where(ok, ((1.0 + a) / zs - a * zs ** (-a - 1.0)) / s, 0.0)
        return R, dl[:, None] * _onehot_last(xp, lam)


#: penalty name -> class
PENALTIES = {c.name: c for c in (WeightedAlpha, StableRank, PowerLawPrior, FrechetPrior)}

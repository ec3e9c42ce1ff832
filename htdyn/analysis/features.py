"""Hidden-layer features on probe data: kernel-target alignment and stable rank.

Z is the ``(n, h)`` matrix of hidden features of n probe inputs (rows are samples), K = Z Z^T
the ``n x n`` conjugate kernel and y the ``(n,)`` targets.  Nothing here forms an ``n x n``
matrix: the alignment is computed from ``Z^T y`` and from the smaller of the two Gram
matrices ``Z^T Z`` (h x h) and ``Z Z^T`` (n x n), which have the same Frobenius norm
(``||Z^T Z||_F^2 = ||Z Z^T||_F^2 = sum_i s_i(Z)^4``).

All computations are in float64 by default, on the input's device (numpy or CuPy; torch
through DLPack).  :func:`kernel_target_alignment` and :func:`feature_stable_rank` accept
stacks ``(B, n, h)`` and then return ``(B,)`` arrays instead of floats.

References
----------
Cristianini, Shawe-Taylor, Elisseeff & Kandola (2001), "On kernel-target alignment", NIPS 14
(the uncentred alignment).
Cortes, Mohri & Rostamizadeh (2012), "Algorithms for learning kernels based on centered
alignment", JMLR 13:795-828 (the centred alignment).
Kothapalli, Pang, Deng, Liu & Yang (2025), TMLR; arXiv 2406.04657 (KTA of Z = tanh(X W^T/sqrt(d))).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..activations import ACTIVATIONS, get_activation
from .linalg import as_float, gram, like, top_gram_eigenvalue

__all__ = ["hidden_features", "kernel_target_alignment", "feature_stable_rank", "ACTIVATION_NAMES"]

#: the student activations by name (:data:`htdyn.activations.ACTIVATIONS`, shared with the simulator)
ACTIVATION_NAMES = tuple(ACTIVATIONS)


def hidden_features(X: Any, W: Any, activation: str | Callable[[Any], Any] = "tanh", *,
                    dtype: str | None = "float64", pre_scale: float = 1.0) -> Any:
    r"""Hidden features ``Z = phi(c X W^T / sqrt(d))`` of the student (c = ``pre_scale``, 1 by default).

    The student's read-out factor ``1/sqrt(h)`` is left out, as in the paper's code: it scales
    K = Z Z^T by ``1/h``, which changes neither alignment (both are scale-invariant in K) nor
    the stable rank.  (The simulator's ridge read-out does use ``Z/sqrt(h)``.)

    Parameters
    ----------
    X : array (n, d)
        Inputs (not pre-scaled).
    W : array (h, d) or (B, h, d)
    activation : {"tanh", "relu", "linear", "softplus", "gelu"} or callable
        ``gelu`` is the tanh approximation, as the simulator's student.  A callable is applied
        to the pre-activation array of W's namespace.
    dtype : str or None
        Default float64; None keeps W's floating dtype.
    pre_scale : float
        An extra factor c on the pre-activations: ``1 / sqrt(d)`` gives the features
        ``phi(X W^T / d)`` the official code of Kothapalli et al. computes (its forward hook
        divides the stored pre-activations by sqrt(d) twice; ``eval.features = "official"``).

    Returns
    -------
    Z : array (n, h) or (B, n, h), on W's device.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): ``Z = tanh(X W^T / sqrt(d))``.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.features import hidden_features
    >>> X = np.random.default_rng(0).standard_normal((5, 4))
    >>> Z = hidden_features(X, np.zeros((3, 4)))  # tanh(0) = 0
    >>> Z.shape, float(abs(Z).max())
    ((5, 3), 0.0)
    """
    xp, W = as_float(W, dtype)
    X = like(xp, X, W.dtype)
    d = W.shape[-1]
    if X.shape[-1] != d:
        raise ValueError(f"X has {X.shape[-1]} columns, W has {d}")
    P = xp.matmul(X, xp.swapaxes(W, -1, -2)) / math.sqrt(d)
    if pre_scale != 1.0:
        P = P * pre_scale
    return get_activation(activation)(xp, P)


def _gram_fro(xp: Any, Z: Any) -> Any:
    """``||Z Z^T||_F`` over the last two axes, through the smaller Gram matrix."""
    G = gram(Z)
    return xp.sqrt(xp.sum(G * G, axis=(-2, -1)))


def _scalar_or_array(v: Any) -> Any:
    return float(v) if v.ndim == 0 else v


def kernel_target_alignment(Z: Any, y: Any, *, centered: bool = False, dtype: str | None = "float64") -> Any:
    r"""Kernel-target alignment of the linear kernel on features Z with targets y.

    Uncentred (``centered=False``; Cristianini et al. 2001, the paper's code):

    .. math::  A(K, yy^\top) = \frac{\langle K, yy^\top\rangle_F}{\|K\|_F\,\|yy^\top\|_F}
               = \frac{y^\top K y}{\|K\|_F\,\|y\|^2}
               = \frac{\|Z^\top y\|^2}{\|Z^\top Z\|_F\,\|y\|^2}, \qquad K = ZZ^\top.

    Centred (``centered=True``; Cortes, Mohri & Rostamizadeh 2012): the same with
    ``K_c = H K H`` and ``(yy^T)_c = H yy^T H = y_c y_c^T``, ``H = I - 11^T/n``,

    .. math::  \rho(K, yy^\top) = \frac{\langle K_c, y_c y_c^\top\rangle_F}{\|K_c\|_F\,\|y_c\|^2}
               = \frac{\|Z_c^\top y_c\|^2}{\|Z_c^\top Z_c\|_F\,\|y_c\|^2},

    computed with ``Z_c = H Z`` (column means removed; ``K_c = Z_c Z_c^T``) and ``y_c = y -
    mean(y)``.  Both lie in [0, 1] and are invariant to scaling Z or y.  The uncentred value is
    dominated by the mean of y when ``E[y] != 0`` and Z has zero-mean columns (the paper's
    ~0.017 at init); the centred one measures how well the features explain the
    fluctuations of y.  Zero Z or constant y (centred) gives NaN.

    Parameters
    ----------
    Z : array (n, h) or (B, n, h)
        Features, rows are samples (e.g. :func:`hidden_features`).
    y : array (n,) or (B, n)
    centered : bool
    dtype : str or None
        Default float64.

    Returns
    -------
    float, or array (B,) for stacked Z.

    Notes
    -----
    Cost ``O(n h min(n, h))`` for the Gram matrix, memory ``min(n, h)^2``; the n x n kernel is
    never formed when ``h < n``.  Round-off: relative ``~ 1e-15 * sqrt(min(n, h))`` in float64.

    References
    ----------
    .. [1] N. Cristianini, J. Shawe-Taylor, A. Elisseeff & J. Kandola, "On kernel-target alignment",
       NeurIPS 2002.
    .. [2] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657):
       KTA of the hidden features, uncentred.
    .. [3] C. Cortes, M. Mohri & A. Rostamizadeh, "Algorithms for learning kernels based on centered
       alignment", JMLR 13, 2012 (``centered=True``).

    Examples
    --------
    Features equal to the target align perfectly (``y^T y y^T y / (||y y^T||_F ||y||^2) = 1``):

    >>> import numpy as np
    >>> from htdyn.analysis.features import kernel_target_alignment
    >>> y = np.array([1.0, -1.0, 2.0])
    >>> round(float(kernel_target_alignment(y[:, None], y)), 6)
    1.0
    """
    xp, Z = as_float(Z, dtype)
    y = like(xp, y, Z.dtype)
    if Z.ndim not in (2, 3) or y.shape[-1] != Z.shape[-2]:
        raise ValueError(f"Z must be (n, h) or (B, n, h) and y (n,) or (B, n); got {Z.shape} and {y.shape}")
    if centered:
        Z = Z - xp.mean(Z, axis=-2, keepdims=True)
        y = y - xp.mean(y, axis=-1, keepdims=True)
    Zty = xp.matmul(xp.swapaxes(Z, -1, -2), y[..., None])[..., 0]  # (..., h)
    num = xp.sum(Zty * Zty, axis=-1)
    den = _gram_fro(xp, Z) * xp.sum(y * y, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 -> NaN (no-op on CuPy)
        out = num / den
    return _scalar_or_array(out)


def feature_stable_rank(Z: Any, *, centered: bool = False, dtype: str | None = "float64") -> Any:
    r"""Stable rank of the feature matrix, ``||Z||_F^2 / ||Z||_2^2 = sum_i s_i^2 / s_1^2``.

    With ``centered=True`` the column means are removed first (``Z_c = H Z``); otherwise a
    non-zero feature mean (relu, softplus) shows up as one dominant direction and the stable
    rank is close to 1.  NaN for a zero Z.  ``||Z||_2^2`` is the largest eigenvalue of the
    smaller Gram matrix (``Z^T Z`` or ``Z Z^T``), cheaper than an SVD and accurate to a few
    ulps: the top eigenvalue is perfectly conditioned (Weyl).

    Parameters
    ----------
    Z : array (n, h) or (B, n, h)
    centered : bool
    dtype : str or None

    Returns
    -------
    float, or array (B,) for stacked Z.

    References
    ----------
    .. [1] M. Rudelson & R. Vershynin, "Sampling from large matrices: an approach through geometric
       functional analysis", J. ACM 54(4), 2007 (the stable rank ``||Z||_F^2 / ||Z||_2^2``).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.features import feature_stable_rank
    >>> float(feature_stable_rank(np.eye(5))), float(feature_stable_rank(np.ones((5, 3))))
    (5.0, 1.0)
    """
    xp, Z = as_float(Z, dtype)
    if centered:
        Z = Z - xp.mean(Z, axis=-2, keepdims=True)
    fro2 = xp.sum(Z * Z, axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 -> NaN (no-op on CuPy)
        out = fro2 / top_gram_eigenvalue(Z)
    return _scalar_or_array(out)

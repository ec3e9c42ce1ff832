"""Scalar spectral metrics of a weight matrix, computed from the eigenvalues of its Gram matrix.

Every function takes ``evals``: the eigenvalues ``lambda_i = s_i(W)^2`` of W^T W (or of the
smaller Gram matrix; any order), as a numpy or CuPy array or a torch tensor.  A leading batch
axis is allowed, ``evals`` of shape ``(..., M)``: the metrics then have shape ``(...)``.
A single spectrum gives Python floats.

Scaling: the metrics describe the matrix whose Gram eigenvalues are given.  For the
1/N-normalised spectrum (Martin & Mahoney's ``X = W^T W / N``) the norms are those of
``W / sqrt(N)``; stable rank, entropy, ranks and zero fraction are scale-free.

Naming follows Martin & Mahoney (2019, 2021) and WeightWatcher, with one deliberate
difference: :func:`spectral_norm` and :func:`frobenius_norm` are the true norms ``||W||_2``
and ``||W||_F``; WeightWatcher's ``spectral_norm`` and ``norm`` columns are their squares
(``lambda_max`` and ``sum lambda``), which :func:`scalar_metrics` reports as
``log_spectral_norm = log10 lambda_max`` and ``log_norm = log10 sum lambda``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .linalg import check_evals

__all__ = [
    "spectral_norm",
    "frobenius_norm",
    "stable_rank",
    "log_spectral_norm",
    "alpha_hat",
    "log_alpha_norm",
    "matrix_entropy",
    "numerical_rank",
    "zero_fraction",
    "scalar_metrics",
]


def _evals(evals: Any) -> tuple[Any, Any]:
    """The spectra along the last axis, validated by :func:`htdyn.analysis.linalg.check_evals`."""
    return check_evals(evals, "metrics", layout="batched")


def _out(xp: Any, x: Any) -> Any:
    return float(x) if x.ndim == 0 else x


def spectral_norm(evals: Any) -> Any:
    """``||W||_2 = sqrt(lambda_max)``.

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import spectral_norm
    >>> float(spectral_norm(np.array([1.0, 4.0, 9.0])))
    3.0
    """
    xp, ev = _evals(evals)
    return _out(xp, xp.sqrt(xp.max(ev, axis=-1)))


def frobenius_norm(evals: Any) -> Any:
    """``||W||_F = sqrt(sum_i lambda_i)``.

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import frobenius_norm
    >>> float(frobenius_norm(np.array([1.0, 4.0, 4.0])))
    3.0
    """
    xp, ev = _evals(evals)
    return _out(xp, xp.sqrt(xp.sum(ev, axis=-1)))


def stable_rank(evals: Any) -> Any:
    """Stable rank ``||W||_F^2 / ||W||_2^2 = sum_i lambda_i / lambda_max``, in [1, rank].

    NaN for an all-zero spectrum.

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import stable_rank
    >>> round(float(stable_rank(np.array([1.0, 4.0, 9.0]))), 4)  # 14 / 9
    1.5556
    """
    xp, ev = _evals(evals)
    top = xp.max(ev, axis=-1)
    tot = xp.sum(ev, axis=-1)
    safe = xp.where(top > 0, top, 1.0)
    return _out(xp, xp.where(top > 0, tot / safe, xp.nan))


def log_spectral_norm(evals: Any) -> Any:
    """``log10 lambda_max = log10 ||W||_2^2`` (Martin & Mahoney's / WeightWatcher's).

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import log_spectral_norm
    >>> float(log_spectral_norm(np.array([1.0, 100.0])))
    2.0
    """
    xp, ev = _evals(evals)
    return _out(xp, xp.log10(xp.max(ev, axis=-1)))


def alpha_hat(alpha: Any, evals: Any) -> Any:
    """Weighted alpha ``alpha_hat = alpha * log10 lambda_max`` (Martin & Mahoney 2021, from the
    PL-norm relation; WeightWatcher's ``alpha_weighted``).  ``alpha`` is a scalar or has the
    batch shape of ``evals``.

    Parameters
    ----------
    alpha : float or array
        The power-law exponent(s).
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import alpha_hat
    >>> float(alpha_hat(2.0, np.array([1.0, 100.0])))  # 2 * log10(100)
    4.0
    """
    xp, ev = _evals(evals)
    return _out(xp, xp.asarray(alpha, dtype=ev.dtype) * xp.log10(xp.max(ev, axis=-1)))


def log_alpha_norm(alpha: Any, evals: Any) -> Any:
    """Log Schatten alpha-norm ``log10 sum_i lambda_i^alpha`` (Martin & Mahoney 2021).

    Computed as a log-sum-exp of ``alpha ln lambda_i`` (no overflow for large alpha);
    zero eigenvalues contribute 0 (alpha > 0).

    Parameters
    ----------
    alpha : float or array
        The exponent(s).
    evals : array
        Eigenvalues of ``W^T W``.

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import log_alpha_norm
    >>> bool(np.isclose(log_alpha_norm(2.0, np.array([1.0, 10.0])), np.log10(101.0)))
    True
    """
    xp, ev = _evals(evals)
    a = xp.asarray(alpha, dtype=ev.dtype)
    if a.ndim:
        a = a[..., None]
    pos = ev > 0
    loga = xp.where(pos, a * xp.log(xp.where(pos, ev, 1.0)), -xp.inf)
    m = xp.max(loga, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    s = xp.log(xp.sum(xp.exp(loga - m), axis=-1)) + m[..., 0]
    return _out(xp, s / math.log(10.0))


def numerical_rank(evals: Any, shape: tuple[int, int], tol: float | None = None) -> Any:
    """Number of singular values ``s_i = sqrt(lambda_i)`` above a tolerance.

    ``tol=None`` uses numpy's ``matrix_rank`` default ``s_max * max(shape) * eps`` with eps of
    the eigenvalues' dtype.  ``tol`` (on singular values, as numpy) overrides it.

    Caveat: eigenvalues from an eigensolver of W^T W carry an absolute rounding error of
    ~ eps * lambda_max, which puts exact zeros at singular values ~ sqrt(eps) * s_max, far
    above numpy's tolerance.  So with ``tol=None`` an eigenvalue must *also* exceed
    ``max(shape) * eps * lambda_max`` (the eigenvalue-level tolerance) to count; for squared
    singular values from an SVD this only matters for condition numbers above
    ``1/sqrt(max(shape) * eps)`` (~5e6 for float64 at 1000 x 2000), where the rank is ill
    determined anyway.  An explicit ``tol`` is applied as given.

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).
    shape : (int, int)
        Shape of W.
    tol : float, optional
        Tolerance on the singular values (default as above).

    Returns
    -------
    int or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import numerical_rank
    >>> int(numerical_rank(np.array([0.0, 1.0, 4.0]), (3, 3)))
    2
    """
    xp, ev = _evals(evals)
    sv = xp.sqrt(ev)
    sv_max = xp.max(sv, axis=-1, keepdims=True)
    if tol is None:
        eps = float(np.finfo(ev.dtype).eps)
        keep = (sv > sv_max * max(shape) * eps) & (ev > sv_max**2 * max(shape) * eps)
    else:
        keep = sv > tol
    r = xp.sum(keep, axis=-1)
    return int(r) if r.ndim == 0 else r


def zero_fraction(evals: Any, rtol: float = 1e-5) -> Any:
    """Fraction of eigenvalues ``<= rtol * mean(lambda)`` (mass at zero; rank-collapse indicator).

    The reference is the mean eigenvalue ``||W||_F^2 / M`` (the energy of an average
    direction), not lambda_max: a heavy-tailed square matrix can have lambda_max ~ 10^4 times
    its bulk, and a lambda_max-relative cut then swallows the legitimate small eigenvalues of
    its MP-like bulk (at Q = 1 the MP density diverges like lambda^(-1/2) at 0).  With the
    default 1e-5, a square Gaussian matrix has a fraction ``(2/pi) sqrt(1e-5) = 0.2%`` below
    the cut (MP at Q = 1: ``F(x) ~ (2/pi) sqrt(x / sigma2)``), a rectangular one (Q > 1,
    lambda_- > 0) none.  Round-off zeros sit at ~eps * lambda_max <= eps * M * mean: caught
    for float64 eigenvalues at any size, and for float32 ones (eps ~ 1.2e-7) as long as
    ``lambda_max / mean < 80``, i.e. unless the spectrum is a handful of spikes.

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).
    rtol : float
        Relative threshold (times the mean eigenvalue).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import zero_fraction
    >>> float(zero_fraction(np.array([0.0, 1.0, 4.0, 3.0])))
    0.25
    """
    xp, ev = _evals(evals)
    ref = xp.mean(ev, axis=-1, keepdims=True)
    return _out(xp, xp.mean(xp.asarray(ev <= rtol * ref, dtype=ev.dtype), axis=-1))


def matrix_entropy(evals: Any, shape: tuple[int, int] | None = None) -> Any:
    """Martin & Mahoney's generalised (normalised spectral) matrix entropy.

        p_i = lambda_i / sum_j lambda_j,     S = -(1 / ln R) sum_i p_i ln p_i,

    with ``0 ln 0 = 0`` and R the numerical rank (:func:`numerical_rank`, ``shape`` for its
    tolerance; ``len(evals)`` is used as ``max(shape)`` if not given).  S = 1 for a flat
    spectrum on R directions (orthogonal matrix), S = 0 for rank <= 1 (defined as 0 there),
    in between otherwise.  WeightWatcher's ``entropy`` is the same up to its ``+1e-10`` on p.

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).
    shape : (int, int), optional
        Shape of W (for the rank tolerance).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.metrics import matrix_entropy
    >>> float(matrix_entropy(np.ones(4))), float(matrix_entropy(np.array([0.0, 0.0, 0.0, 1.0])))
    (1.0, 0.0)
    """
    xp, ev = _evals(evals)
    if shape is None:
        shape = (ev.shape[-1], ev.shape[-1])
    tot = xp.sum(ev, axis=-1, keepdims=True)
    p = ev / xp.where(tot > 0, tot, 1.0)
    plogp = xp.where(p > 0, p * xp.log(xp.where(p > 0, p, 1.0)), 0.0)
    H = -xp.sum(plogp, axis=-1)
    R = xp.asarray(numerical_rank(ev, shape), dtype=ev.dtype)
    lnR = xp.log(xp.where(R > 1, R, 2.0))
    return _out(xp, xp.where(R > 1, H / lnR, 0.0))


def scalar_metrics(evals: Any, shape: tuple[int, int], alpha: Any = None, *,
                   zero_rtol: float = 1e-5) -> dict[str, Any]:
    """All scalar metrics of one spectrum (or a batch) in a dict.

    Keys: ``spectral_norm`` (||W||_2), ``frobenius_norm`` (||W||_F), ``log_spectral_norm``
    (log10 lambda_max), ``log_norm`` (log10 sum lambda = log10 ||W||_F^2), ``stable_rank``,
    ``matrix_entropy``, ``numerical_rank``, ``zero_fraction``, and with ``alpha`` (a power-law
    exponent fitted elsewhere) ``alpha_hat`` and ``log_alpha_norm``.  Values are floats for a
    single spectrum, arrays of the batch shape otherwise.

    Parameters
    ----------
    evals : array (numpy, CuPy or torch)
        Eigenvalues of ``W^T W`` (a batch along leading axes).
    shape : (int, int)
        Shape of W (for the rank tolerance of ``numerical_rank`` and ``matrix_entropy``).
    alpha : float, array or None
        A power-law exponent fitted elsewhere (e.g. PL_Alpha_Hill); adds ``alpha_hat`` and
        ``log_alpha_norm``.
    zero_rtol : float
        Relative threshold of :func:`zero_fraction`.

    Returns
    -------
    dict of str to float or array

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (the norms, stable rank, matrix entropy, ``alpha_hat`` and the
       log Schatten alpha-norm); WeightWatcher reports the same columns (``log_norm``,
       ``log_spectral_norm``, ``alpha_weighted``, ``log_alpha_norm``, ``entropy``).

    Examples
    --------
    For the singular values 1, 2, 3, 4: ``||W||_2 = 4``, ``||W||_F^2 = 30``, stable rank
    ``30 / 16``, ``alpha_hat = 2 log10 16``:

    >>> import numpy as np
    >>> from htdyn.analysis.metrics import scalar_metrics
    >>> m = scalar_metrics(np.array([1.0, 4.0, 9.0, 16.0]), (4, 4), alpha=2.0)
    >>> m["spectral_norm"], m["stable_rank"], m["numerical_rank"], m["zero_fraction"]
    (4.0, 1.875, 4.0, 0.0)
    >>> bool(np.isclose(m["frobenius_norm"] ** 2, 30)), bool(np.isclose(m["alpha_hat"], 2 * np.log10(16)))
    (True, True)
    >>> bool(np.isclose(m["log_alpha_norm"], np.log10(1 + 16 + 81 + 256)))
    True
    """
    xp, ev = _evals(evals)
    out: dict[str, Any] = {
        "spectral_norm": spectral_norm(ev),
        "frobenius_norm": frobenius_norm(ev),
        "log_spectral_norm": log_spectral_norm(ev),
        "log_norm": _out(xp, xp.log10(xp.sum(ev, axis=-1))),
        "stable_rank": stable_rank(ev),
        "matrix_entropy": matrix_entropy(ev, shape),
        "numerical_rank": numerical_rank(ev, shape),
        "zero_fraction": zero_fraction(ev, zero_rtol),
    }
    if isinstance(out["numerical_rank"], int):
        out["numerical_rank"] = float(out["numerical_rank"])
    if alpha is not None:
        out["alpha_hat"] = alpha_hat(alpha, ev)
        out["log_alpha_norm"] = log_alpha_norm(alpha, ev)
    return out

"""The exponential truncated to [0, 1]: its mean h(t), h'(t), the root of h(t) = r, and the
truncated power-law CDF built on it.

A rate-t exponential on [0, 1] has the mean ``h(t) = 1/t - 1/(e^t - 1)`` (``h(0) = 1/2``, any
sign of t).  Its score equation ``mean(u) / L = h(beta L)`` (u in [0, L]) is the maximum-
likelihood equation of the exponential truncated to an interval, and in log variables
``u = ln(x / xmin)`` of the power law truncated to ``[xmin, xmax]`` (Clauset, Shalizi &
Newman 2009, SIAM Review 51:661; the truncated fits of :mod:`htdyn.analysis.powerlaw` and
:mod:`htdyn.analysis.plcompare`).  Every function works on any array namespace ``xp``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["trunc_mean", "trunc_mean_slope", "solve_trunc_mean", "trunc_cdf"]


def trunc_mean(xp: Any, t: Any) -> Any:
    """Mean of a rate-t exponential truncated to [0, 1]: h(t) = 1/t - 1/(e^t - 1); h(0) = 1/2.

    |t| < 0.1: Bernoulli series to t^9 (next term < 1e-19); otherwise the closed form, whose
    cancellation costs ~ eps / (t h) < 1e-14 relative there.

    Parameters
    ----------
    xp : array namespace (numpy, CuPy, torch through array-api-compat)
    t : array
        Rates.

    Returns
    -------
    array
        ``h(t)``.

    References
    ----------
    .. [1] A. Clauset, C. R. Shalizi & M. E. J. Newman, "Power-law distributions in empirical data",
       SIAM Review 51(4), 2009 (the maximum-likelihood equation of a power law truncated to
       ``[xmin, xmax]``, which in log variables is this truncated exponential's).  The series and the
       closed form are elementary; ``h`` is the mean of the density ``t e^{-t u} / (1 - e^{-t})``.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.truncexp import trunc_mean
    >>> h = trunc_mean(np, np.array([0.0, 1.0]))
    >>> float(h[0]), bool(np.isclose(h[1], 1 - 1 / (np.e - 1)))
    (0.5, True)
    """
    small = xp.abs(t) < 0.1
    ts = xp.where(small, 1.0, t)
    with np.errstate(over="ignore"):
        big = 1.0 / ts - 1.0 / xp.expm1(ts)
    t2 = t * t
    series = 0.5 - t * (1 / 12 - t2 * (1 / 720 - t2 * (1 / 30240 - t2 * (1 / 1209600 - t2 / 47900160))))
    return xp.where(small, series, big)


def trunc_mean_slope(xp: Any, t: Any) -> Any:
    """h'(t) = 1/(4 sinh^2(t/2)) - 1/t^2 (< 0); series for |t| < 0.1, -1/12 at 0.

    The derivative of :func:`trunc_mean`; it is the Newton slope of :func:`solve_trunc_mean`.

    Parameters
    ----------
    xp : array namespace (numpy, CuPy, torch through array-api-compat)
    t : array
        Rates.

    Returns
    -------
    array
        ``h'(t)``, negative everywhere (``h`` is decreasing).

    References
    ----------
    .. [1] A. Clauset, C. R. Shalizi & M. E. J. Newman, "Power-law distributions in empirical data",
       SIAM Review 51(4), 2009 (the score equation this slope solves).  The formula is the
       elementary derivative of ``h(t) = 1/t - 1/(e^t - 1)``; htdyn's own writing of it.

    Examples
    --------
    It agrees with a central difference of :func:`trunc_mean` on both sides of the series switch:

    >>> import numpy as np
    >>> from htdyn.analysis.truncexp import trunc_mean, trunc_mean_slope
    >>> t, e = np.array([0.0, 0.05, 2.0]), 1e-6
    >>> fd = (trunc_mean(np, t + e) - trunc_mean(np, t - e)) / (2 * e)
    >>> bool(np.allclose(trunc_mean_slope(np, t), fd, atol=1e-8)), float(trunc_mean_slope(np, np.array(0.0)))
    (True, -0.08333333333333333)
    """
    small = xp.abs(t) < 0.1
    ts = xp.where(small, 1.0, t)
    with np.errstate(over="ignore"):
        big = 1.0 / (4.0 * xp.sinh(ts / 2.0) ** 2) - 1.0 / ts**2
    t2 = t * t
    series = -1 / 12 + t2 * (1 / 240 - t2 * (1 / 6048 - t2 * (1 / 172800 - t2 / 5322240)))
    return xp.where(small, series, big)


def solve_trunc_mean(xp: Any, r: Any) -> Any:
    """Solve h(t) = r for r in (0, 1), vectorised (safeguarded Newton).

    h is decreasing with h(-t) = 1 - h(t) and h(t) < 1/t for t > 0, so for r <= 1/2 the root
    lies in [0, 1/r]; r > 1/2 is solved by symmetry.  This is the score equation of the
    exponential (and, in log variables, the power law) truncated to a finite interval:
    mean(u)/L = h(beta L) for u in [0, L].

    Parameters
    ----------
    xp : array namespace
    r : array
        Targets in (0, 1).

    Returns
    -------
    array
        ``t`` with ``h(t) = r``.

    References
    ----------
    .. [1] A. Clauset, C. R. Shalizi & M. E. J. Newman, "Power-law distributions in empirical data",
       SIAM Review 51(4), 2009 (the MLE of a truncated power law in log variables).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.truncexp import solve_trunc_mean, trunc_mean
    >>> solve_trunc_mean(np, trunc_mean(np, np.array([2.0, -3.0]))).round(12).tolist()
    [2.0, -3.0]
    """
    flip = r > 0.5
    q = xp.where(flip, 1.0 - r, r)
    lo = xp.zeros_like(q)
    hi = 1.0 / q
    t = xp.minimum(1.0 / q - 1.0, 12.0 * (0.5 - q))  # asymptotic guesses for large / small t
    t = xp.clip(t, lo, hi)
    for _ in range(100):
        f = trunc_mean(xp, t) - q
        lo = xp.where(f > 0, t, lo)  # h decreasing: h(t) > q means the root is above t
        hi = xp.where(f > 0, hi, t)
        step = f / trunc_mean_slope(xp, t)
        tn = t - step
        tn = xp.where((tn <= lo) | (tn >= hi) | ~xp.isfinite(tn), 0.5 * (lo + hi), tn)
        done = bool(xp.all(xp.abs(tn - t) <= 4 * np.finfo(np.float64).eps * xp.maximum(1.0, xp.abs(t))))
        t = tn
        if done:
            break
    return xp.where(flip, -t, t)


def trunc_cdf(xp: Any, beta: Any, d: Any, L: Any) -> Any:
    """CDF of ln(x/xmin) = d for a power law truncated to [xmin, xmax], L = ln(xmax/xmin).

    ``(1 - e^{-beta d}) / (1 - e^{-beta L})``, written with expm1 and, for beta < 0, scaled by
    ``e^{-|beta| (L - d)}`` to avoid overflow; ``d / L`` at beta = 0.  Here ``beta = alpha - 1``
    for the density ``p(x) ~ x^{-alpha}`` on ``[xmin, xmax]``.

    Parameters
    ----------
    xp : array namespace (numpy, CuPy, torch through array-api-compat)
    beta : array
        ``alpha - 1`` (any sign; 0 is the log-uniform law).
    d : array
        ``ln(x / xmin)`` in ``[0, L]``.
    L : array
        ``ln(xmax / xmin) > 0``.

    Returns
    -------
    array
        ``P(ln(X / xmin) <= d)``, broadcast over the three inputs.

    References
    ----------
    .. [1] A. Clauset, C. R. Shalizi & M. E. J. Newman, "Power-law distributions in empirical data",
       SIAM Review 51(4), 2009 (the truncated power law used as a tail model; the KS distance of
       :func:`htdyn.analysis.powerlaw.fit_ks` with a finite ``xmax`` compares against this CDF).

    Examples
    --------
    At ``beta = 1`` (``alpha = 2``) on ``[1, e^2]`` the CDF at ``x = e`` is ``(1 - 1/e) / (1 - 1/e^2)``;
    a negative beta keeps the same form, and ``beta = 0`` is ``d / L``:

    >>> import numpy as np
    >>> from htdyn.analysis.truncexp import trunc_cdf
    >>> c = trunc_cdf(np, np.array([1.0, -50.0, 0.0]), np.array(1.0), np.array(2.0))
    >>> bool(np.isclose(c[0], (1 - np.exp(-1)) / (1 - np.exp(-2))))
    True
    >>> bool(np.isclose(c[1], np.expm1(50) / np.expm1(100)))
    True
    >>> float(c[2])
    0.5
    """
    b = xp.where(beta == 0, 1e-300, beta)
    a = xp.abs(b)
    ratio = xp.expm1(-a * d) / xp.expm1(-a * L)
    return xp.where(b > 0, ratio, xp.exp(-a * (L - d)) * ratio)

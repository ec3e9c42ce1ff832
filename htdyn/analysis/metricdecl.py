"""The declaration of every metric set: its name, what it needs, its keys with shape, dtype and meaning.

One table, :data:`SETS`, read by everything that must know a set's numbers without
computing them: :mod:`htdyn.analysis.registry` (the keys of a non-finite matrix, the
online metrics' shapes, hence the engine's metric arrays, the trajectory file's data sets
and the simulator's file-size estimate), the offline driver, the tidy CSV (array keys,
:data:`VECTOR_KEYS`, are not columns) and the ``/analysis`` size estimate.  The order
of :data:`SETS` is the order the numbers are computed and reported (the CSV's column
order).  :mod:`htdyn.analysis.setmetrics` returns exactly these keys (a test asserts it).
Formulas and references are in ``docs/analysis.md``.

Every name of ``__all__`` is public: the declaration is what a researcher reads to learn
a set's numbers (its helpers are private: ``_dim``, ``_keys``, ``_update_keys``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MetricKey", "MetricSet", "SETS", "NEEDS", "DIMS", "TOP_K", "VECTOR_KEYS", "top_k"]

#: what a set may need: the snapshot W_t, the teacher beta, the update M_t, the initial W_0, probe data
NEEDS = ("W", "beta", "M", "W0", "probe")
#: how many singular triplets the ``top`` set keeps (fewer when min(h, d) is smaller)
TOP_K = 8
#: the dimensions a key's shape may name, for an h x d matrix
DIMS = {"N": "min(h, d)", "K": f"min({TOP_K}, h, d)", "h": "h", "d": "d"}


def top_k(h: int, d: int) -> int:
    """The number of triplets of the ``top`` set for an ``h x d`` matrix: ``min(TOP_K, h, d)``.

    Parameters
    ----------
    h, d : int
        The matrix's shape.

    Returns
    -------
    int
        ``K``, the ``"K"`` dimension of :data:`DIMS`.

    Examples
    --------
    >>> from htdyn.analysis.metricdecl import top_k
    >>> top_k(100, 50), top_k(5, 3)
    (8, 3)
    """
    return min(TOP_K, h, d)


def _dim(name: str, h: int, d: int) -> int:
    return {"N": min(h, d), "K": top_k(h, d), "h": h, "d": d}[name]


@dataclass(frozen=True)
class MetricKey:
    """One number (or vector) of a metric set.

    Attributes
    ----------
    name : str
        The key (an HDF5 data set under ``/analysis/runs/<run>/<set>``, a CSV column).
    meaning : str
        One line, with the paper's name where it has one.
    shape : str
        ``""`` for a scalar, else its dimensions from :data:`DIMS`, comma-separated:
        ``"N"`` a vector of ``N = min(h, d)`` values, ``"K,h"`` a ``min(8, h, d) x h`` array.
    dtype : str
        numpy dtype name of the value (every value is float64; counts and codes too).
    needs_beta : bool
        Only given when the teacher direction beta is known.

    Raises
    ------
    ValueError
        A dimension of ``shape`` that :data:`DIMS` does not name.

    Examples
    --------
    >>> from htdyn.analysis.metricdecl import SETS, MetricKey
    >>> key = SETS["top"].keys[1]
    >>> key.name, key.dims, key.scalar
    ('top_u', ('K', 'h'), False)
    >>> key.shape_for(30, 20), key.size_for(30, 20)     # K = min(8, 30, 20) vectors of length h
    ((8, 30), 240)
    >>> SETS["esd"].keys[0].nan_value((3, 2))            # what a non-finite 3 x 2 matrix gets
    array([nan, nan])
    >>> MetricKey("x", "a made-up key", shape="M")
    Traceback (most recent call last):
        ...
    ValueError: metric key 'x': unknown dimension(s) ['M']; use N, K, h, d
    """

    name: str
    meaning: str
    shape: str = ""
    dtype: str = "float64"
    needs_beta: bool = False

    def __post_init__(self) -> None:
        bad = [x for x in self.dims if x not in DIMS]
        if bad:
            raise ValueError(f"metric key {self.name!r}: unknown dimension(s) {bad}; use {', '.join(DIMS)}")

    @property
    def dims(self) -> tuple[str, ...]:
        """The names of the value's dimensions (``()`` for a scalar)."""
        return tuple(x.strip() for x in self.shape.split(",")) if self.shape else ()

    @property
    def scalar(self) -> bool:
        """Whether the value is one number (a CSV column, a sweep table column)."""
        return not self.shape

    def shape_for(self, h: int, d: int) -> tuple[int, ...]:
        """The value's shape for an ``h x d`` matrix."""
        return tuple(_dim(x, h, d) for x in self.dims)

    def size_for(self, h: int, d: int) -> int:
        """How many numbers the value has for an ``h x d`` matrix."""
        return int(np.prod(self.shape_for(h, d), dtype=np.int64))

    def nan_value(self, shape: tuple[int, int]) -> float | np.ndarray:
        """NaN of this key's shape for a matrix of ``shape`` (what a non-finite matrix gets)."""
        return np.full(self.shape_for(*shape), np.nan) if self.dims else float("nan")


@dataclass(frozen=True)
class MetricSet:
    """A named group of numbers computed together.

    Attributes
    ----------
    name : str
        The set's name (``--metrics``, ``eval.metrics``, ``/analysis/runs/<run>/<set>``).
    needs : tuple of str
        What it is computed from (names from :data:`NEEDS`).
    keys : tuple of MetricKey
        Its numbers.
    meaning : str
        One line.

    Examples
    --------
    >>> from htdyn.analysis.metricdecl import SETS
    >>> list(SETS)[:5]
    ['esd', 'powerlaw', 'mp', 'phase', 'norms']
    >>> teacher = SETS["teacher"]
    >>> teacher.needs, teacher.online, teacher.has_columns
    (('W', 'beta'), True, True)
    >>> teacher.key_names(), teacher.key_names(with_beta=False)
    (('sim_beta',), ())
    >>> SETS["update"].online, SETS["top"].has_columns   # needs M_t; arrays only
    (False, False)
    """

    name: str
    needs: tuple[str, ...]
    keys: tuple[MetricKey, ...]
    meaning: str = ""

    @property
    def online(self) -> bool:
        """Whether the set needs only W_t (and beta): computable during a simulation."""
        return set(self.needs) <= {"W", "beta"}

    @property
    def has_columns(self) -> bool:
        """Whether some key of the set is a scalar (a CSV column); ``esd`` and ``top`` have none."""
        return any(k.scalar for k in self.keys)

    def key_names(self, *, with_beta: bool = True) -> tuple[str, ...]:
        """The keys' names (those needing beta only ``with_beta``)."""
        return tuple(k.name for k in self.keys if with_beta or not k.needs_beta)


def _keys(*rows: tuple[str, str]) -> tuple[MetricKey, ...]:
    return tuple(MetricKey(name, meaning) for name, meaning in rows)


def _update_keys() -> tuple[MetricKey, ...]:
    keys = list(_keys(("update_fro", "||M_t||_F"), ("update_spectral", "||M_t||_2"),
                      ("update_stable_rank", "||M_t||_F^2 / ||M_t||_2^2")))
    for tag, A in (("prev", "W_t"), ("next", "W_{t+1}")):
        for side, vec in (("left", "u"), ("right", "v")):
            keys.append(MetricKey(f"overlap_{tag}_{side}_top1", f"<{vec}_1({A}), {vec}_1(M_t)>^2"))
            keys.append(MetricKey(f"overlap_{tag}_{side}_mass",
                                  f"share of M_t's top-5 {side} subspace in {A}'s (mean squared cosine)"))
    keys.append(MetricKey("update_sim_beta", "|<v_1(M_t), beta>| / ||beta||", needs_beta=True))
    return tuple(keys)


SETS: dict[str, MetricSet] = {s.name: s for s in (
    MetricSet("esd", ("W",), (MetricKey("esd", "eigenvalues of W^T W, ascending (/ max(h, d) if normalised)", "N"),),
              "the empirical spectral density"),
    MetricSet("powerlaw", ("W",), _keys(
        ("alpha_hill", "Hill exponent, xmin at the median eigenvalue (the paper's PL_Alpha_Hill)"),
        ("D_hill", "KS distance of the Hill fit"),
        ("xmin_hill", "xmin of the Hill fit: the eigenvalue at index floor(N / 2)"),
        ("alpha_ks", "Clauset MLE exponent at the KS-optimal xmin (the paper's PL_Alpha_KS)"),
        ("xmin_ks", "the KS-optimal xmin"), ("D_ks", "KS distance at xmin_ks"),
        ("k_ks", "tail size of the KS fit"), ("sigma_ks", "(alpha_ks - 1) / sqrt(k_ks)"),
        ("alpha_hat", "alpha_hill log10 lambda_max (Martin-Mahoney)"),
        ("log_alpha_norm", "log10 sum lambda_i^alpha_hill (Schatten alpha-norm)")),
        "power-law fits of the ESD tail"),
    MetricSet("mp", ("W",), _keys(
        ("mp_sigma2", "MP scale fitted to the bulk (mean eigenvalue of the law)"),
        ("mp_lambda_plus", "MP bulk edge lambda_+ (deflated by the spikes)"),
        ("mp_ks", "KS distance of the bulk to its MP law"),
        ("n_spikes", "eigenvalues above lambda_+ + 3 Tracy-Widom scales"),
        ("mp_soft_rank", "lambda_+ / lambda_max"),
        ("frac_above_edge", "fraction of eigenvalues above lambda_+")),
        "Marchenko-Pastur bulk and spikes"),
    MetricSet("phase", ("W",), _keys(("phase", "index of the Martin-Mahoney phase in PHASES")),
              "the 5+1 phase"),
    MetricSet("norms", ("W",), _keys(
        ("spectral_norm", "||W||_2 = sqrt(lambda_max)"), ("frobenius_norm", "||W||_F = sqrt(sum lambda)"),
        ("log_spectral_norm", "log10 lambda_max"), ("log_norm", "log10 sum lambda = log10 ||W||_F^2"),
        ("stable_rank", "sum lambda / lambda_max"), ("matrix_entropy", "normalised spectral entropy"),
        ("numerical_rank", "eigenvalues above the rank tolerance"),
        ("zero_fraction", "fraction of eigenvalues <= 1e-5 mean(lambda)")),
        "norms and ranks of W"),
    MetricSet("teacher", ("W", "beta"),
              (MetricKey("sim_beta", "|<v_1(W), beta>| / ||beta||, the paper's sim(W, beta*)", needs_beta=True),),
              "alignment of W with the teacher"),
    MetricSet("top", ("W",), (
        MetricKey("top_sigma", "the K largest singular values sigma_1 >= ... >= sigma_K of W", "K"),
        MetricKey("top_u", "their left singular vectors u_i (rows), W v_i = sigma_i u_i", "K,h"),
        MetricKey("top_v", "their right singular vectors v_i (rows), largest-|.| entry positive", "K,d")),
        f"the top-K singular triplets of W, K = min({TOP_K}, h, d)"),
    MetricSet("update", ("W", "M", "beta"), _update_keys(), "the update M_t = W_{t+1} - W_t against W"),
    MetricSet("drift", ("W", "W0"),
              _keys(("drift_overlap_top10", "||V_10(W_t)^T V_10(W_0)||_F^2 / 10")), "distance from W_0"),
    MetricSet("features", ("W", "probe"), _keys(
        ("kta", "kernel-target alignment of Z = phi(X W^T / sqrt(d)) (uncentred, the paper's)"),
        ("kta_centered", "centred kernel-target alignment"),
        ("feature_stable_rank", "||Z||_F^2 / ||Z||_2^2")), "hidden features on the probe set"),
)}

#: the keys whose value is an array (not CSV or table columns)
VECTOR_KEYS = frozenset(k.name for s in SETS.values() for k in s.keys if not k.scalar)

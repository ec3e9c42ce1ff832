"""Named metric sets: what ``htdyn analyze`` and online metrics compute per snapshot.

A *metric set* is a group of numbers computed from one weight matrix W_t (and, for
some sets, its update M_t = W_{t+1} - W_t, the initial W_0, the teacher beta or the
probe data).  Every set is declared once, in :data:`SETS`: its name, what it needs and
its keys, each with its shape, dtype and meaning.  The offline driver
(:mod:`htdyn.analysis.offline`), the tidy CSV and the size estimate of ``/analysis``
(:mod:`htdyn.analysis.tidy`), and :func:`online_metrics` (the simulator's eval-step
metrics) read that declaration; :mod:`htdyn.analysis.setmetrics` computes each set.

=========  =========================================================  ===============
set        numbers                                                    needs
=========  =========================================================  ===============
esd        eigenvalues of W^T W, ascending (length min(h, d))         W
norms      spectral and Frobenius norm, stable rank, numerical rank,  W
           matrix entropy, zero fraction
powerlaw   alpha_hill (xmin at the median, the paper's PL_Alpha_Hill)  W
           with D; alpha_ks, xmin_ks, D_ks, k_ks (Clauset MLE, the
           paper's PL_Alpha_KS); alpha_hat, log_alpha_norm
mp         MP bulk fit sigma2 and edge, spikes (Tracy-Widom margin),   W
           MP KS distance, MP soft rank, fraction above the edge
phase      Martin-Mahoney 5+1 phase (index into PHASES)               W
teacher    |<v_1(W), beta>| (the paper's sim(W, beta*))                W, beta
top        the K = min(8, h, d) largest singular values of W and their  W
           left and right vectors (arrays; not in the default sets)
update     stable rank and norms of M_t; top-1 squared overlaps of     W, M
           (W_t, M_t) and (W_{t+1}, M_t), left and right; overlap mass
           in the top-5; |<v_1(M_t), beta>|
drift      subspace overlap of the top-10 right singular vectors of   W, W_0
           W_t with those of W_0
features   kernel-target alignment (uncentred as the paper, centred),  W, probe data
           stable rank of the probe features
=========  =========================================================  ===============

With ``normalize=True`` the numbers of every W-only set (:data:`ONLINE_SETS`) also carry
``normalize = 1.0`` (the 1/N-normalised ESD was used).  :func:`nonfinite_metrics` is what a
matrix with NaN or inf entries (a diverged W, or a W^T W that overflows float64) gets
instead: the same keys, every number NaN, an ESD of NaN and the phase code of
``"non-finite"`` (the kernels raise ValueError on such input).

Public (``__all__``) are the sets, their key lists and the functions that compute a set's
numbers; ``check_sets``, ``set_keys`` and ``metric_keys`` validate and list set names for the
configuration, the engine and the tidy table, and stay importable as helpers outside ``__all__``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .metricdecl import SETS, TOP_K, VECTOR_KEYS, MetricKey, MetricSet, top_k
from .phases import NON_FINITE, PHASES
from .setmetrics import W_SET_FUNCTIONS, Spectrum, drift_metrics, feature_metrics, update_metrics

__all__ = [
    "SETS", "MetricKey", "MetricSet", "TOP_K", "VECTOR_KEYS", "METRIC_SETS", "ONLINE_SETS", "DEFAULT_SETS", "PHASES",
    "UPDATE_KEYS", "DRIFT_KEYS", "FEATURE_KEYS", "set_metrics", "matrix_metrics", "nonfinite_metrics",
    "nonfinite_set_metrics", "online_metrics",
    "update_metrics", "drift_metrics", "feature_metrics",
]

METRIC_SETS = ("esd", "norms", "powerlaw", "mp", "phase", "teacher", "top", "update", "drift", "features")
#: sets that need only W_t (and beta): usable online, during simulation
ONLINE_SETS = tuple(s for s in METRIC_SETS if SETS[s].online)
DEFAULT_SETS = ("esd", "norms", "powerlaw", "mp", "phase", "teacher", "update", "drift")
#: the numbers of the sets that are not W-only (what ``update_metrics`` & co. return)
UPDATE_KEYS = SETS["update"].key_names()
DRIFT_KEYS = SETS["drift"].key_names()
FEATURE_KEYS = SETS["features"].key_names()


def check_sets(names: Sequence[str], allowed: Sequence[str] = METRIC_SETS, where: str = "metrics") -> list[str]:
    """Validate metric-set names (``"all"`` expands to every allowed set)."""
    from ..errors import ConfigError

    out: list[str] = []
    for name in names:
        if name == "all":
            out.extend(s for s in allowed if s not in out)
            continue
        if name not in allowed:
            raise ConfigError(f"{where}: unknown metric set {name!r}; choose from {', '.join(allowed)} or 'all'")
        if name not in out:
            out.append(name)
    return out


def _in_order(sets: Sequence[str]) -> list[str]:
    """The requested sets in the order of :data:`SETS` (the order their numbers are reported)."""
    want = set(sets)
    return [s for s in SETS if s in want]


def set_keys(name: str, *, with_beta: bool = True, normalize: bool = False) -> tuple[str, ...]:
    """The keys set ``name`` gives (its declared keys; ``normalize`` appended when normalised)."""
    keys = SETS[name].key_names(with_beta=with_beta)
    return keys + ("normalize",) if normalize else keys


def metric_keys(sets: Sequence[str], *, normalize: bool = False) -> list[str]:
    """The scalar numbers (every key but the arrays: ``esd``, ``top_*``) the sets give per snapshot, teacher included.

    ``normalize`` adds one ``normalize`` key when a W-only set is asked for (its value is
    stored once per set; counted once here, as :func:`matrix_metrics` returns it).
    """
    order = _in_order(sets)
    keys = [k.name for s in order for k in SETS[s].keys if k.scalar]
    if normalize and any(SETS[s].online for s in order):
        keys.append("normalize")
    return keys


def set_metrics(W: Any, sets: Sequence[str], *, beta: Any = None, normalize: bool = False,
                evals: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """The numbers of the W-only sets (``ONLINE_SETS``) of one matrix W (h x d), by set.

    One shared spectrum (:class:`htdyn.analysis.setmetrics.Spectrum`: one Gram matrix, one
    eigendecomposition) feeds every set; each set's function is in
    :mod:`htdyn.analysis.setmetrics`, its formulas and references in ``docs/analysis.md``.

    Parameters
    ----------
    W : array (h, d)
        numpy, CuPy or torch; finite (a non-finite W raises ``ValueError``: use
        :func:`nonfinite_set_metrics` for it).
    sets : sequence of str
        Names from ``ONLINE_SETS`` (others, e.g. ``update``, are ignored).
    beta : array (d,), optional
        The teacher direction (needed by ``teacher``; without it that set is left out).
    normalize : bool
        Use the 1/N-normalised ESD (Martin-Mahoney convention) for the eigenvalue-based
        metrics; recorded as ``normalize = 1.0`` in every set's numbers.
    evals : numpy array (min(h, d),), optional
        The ESD if already known (raw or normalised as ``normalize`` says).

    Returns
    -------
    dict
        ``{set: {key: value}}`` in the order of :data:`SETS`, each with its declared keys
        (floats; the ``esd`` and ``top_*`` values are arrays).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.registry import set_metrics
    >>> rng = np.random.default_rng(0)
    >>> W, beta = rng.standard_normal((30, 20)), rng.standard_normal(20)
    >>> out = set_metrics(W, ["teacher", "norms", "update"], beta=beta)   # update is not W-only
    >>> list(out), list(out["teacher"])
    (['norms', 'teacher'], ['sim_beta'])
    >>> v1 = np.linalg.svd(W)[2][0]
    >>> bool(np.isclose(out["norms"]["spectral_norm"], np.linalg.norm(W, 2)))
    True
    >>> bool(np.isclose(out["teacher"]["sim_beta"], abs(v1 @ beta) / np.linalg.norm(beta)))
    True
    >>> set_metrics(W, ["teacher"])                                         # no beta: no teacher set
    {}
    """
    order = [s for s in _in_order(sets) if s in W_SET_FUNCTIONS]
    vectors = top_k(*W.shape) if "top" in order else int("teacher" in order and beta is not None)
    spec = Spectrum(W, beta=beta, normalize=normalize, evals=evals, vectors=vectors)
    out = {s: vals for s in order if (vals := W_SET_FUNCTIONS[s](spec))}  # teacher without beta: none
    if normalize:
        for vals in out.values():
            vals["normalize"] = 1.0
    return out


def matrix_metrics(W: Any, sets: Sequence[str], *, beta: Any = None, normalize: bool = False,
                   evals: np.ndarray | None = None) -> dict[str, Any]:
    """:func:`set_metrics` as one flat dict (``esd`` and ``top_*`` arrays, the rest scalars).

    Parameters
    ----------
    W : array (h, d)
        As :func:`set_metrics`.
    sets : sequence of str
        Names from ``ONLINE_SETS`` (others are ignored).
    beta : array (d,), optional
        The teacher direction.
    normalize : bool
        Use the 1/N-normalised ESD; adds ``normalize = 1.0``.
    evals : numpy array, optional
        The ESD if already known.

    Returns
    -------
    dict
        ``{key: value}``, the keys of every set in the order of :data:`SETS`.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.registry import matrix_metrics
    >>> W = np.random.default_rng(0).standard_normal((30, 20))
    >>> flat = matrix_metrics(W, ["esd", "phase"], normalize=True)
    >>> list(flat), flat["esd"].shape
    (['esd', 'normalize', 'phase'], (20,))
    >>> s = np.linalg.svd(W, compute_uv=False)
    >>> bool(np.allclose(flat["esd"], np.sort(s ** 2) / 30))   # normalised: / max(h, d)
    True
    """
    flat: dict[str, Any] = {}
    for vals in set_metrics(W, sets, beta=beta, normalize=normalize, evals=evals).values():
        flat.update(vals)
    return flat


def nonfinite_set_metrics(sets: Sequence[str], shape: tuple[int, int], *, beta: Any = None,
                          normalize: bool = False) -> dict[str, dict[str, Any]]:
    """The numbers of a matrix with NaN or inf entries, by set: the declared keys, every value NaN.

    ``esd`` is a vector of ``min(h, d)`` NaN (each array key NaN of its declared shape),
    ``phase`` the index of ``"non-finite"`` in ``PHASES``; the keys that need ``beta`` only
    with it; ``normalize`` as :func:`set_metrics` records it (on the W-only sets).

    Parameters
    ----------
    sets : sequence of str
        Names from :data:`SETS` (any set: a diverged W enters ``update`` and ``drift`` too).
    shape : tuple of int
        ``(h, d)`` of the matrix.
    beta : array, optional
        Given when the teacher is known (then the keys that need it are included).
    normalize : bool
        Add ``normalize = 1.0`` to the W-only sets.

    Returns
    -------
    dict
        ``{set: {key: value}}`` in the order of :data:`SETS`; a set with no key left
        (``teacher`` without beta) is absent.

    Examples
    --------
    >>> from htdyn.analysis.registry import PHASES, nonfinite_set_metrics
    >>> out = nonfinite_set_metrics(["teacher", "esd", "phase"], (3, 2))
    >>> out
    {'esd': {'esd': array([nan, nan])}, 'phase': {'phase': 6.0}}
    >>> PHASES[int(out["phase"]["phase"])]
    'non-finite'
    >>> nonfinite_set_metrics(["teacher"], (3, 2), beta=[1.0, 0.0])
    {'teacher': {'sim_beta': nan}}
    """
    out: dict[str, dict[str, Any]] = {}
    for s in _in_order(sets):
        decl = SETS[s]
        vals = {k.name: k.nan_value(shape) for k in decl.keys if beta is not None or not k.needs_beta}
        if s == "phase":
            vals["phase"] = float(PHASES.index(NON_FINITE))
        if not vals:
            continue
        if normalize and decl.online:
            vals["normalize"] = 1.0
        out[s] = vals
    return out


def nonfinite_metrics(sets: Sequence[str], shape: tuple[int, int], *, beta: Any = None,
                      normalize: bool = False) -> dict[str, Any]:
    """:func:`nonfinite_set_metrics` as one flat dict.

    Parameters
    ----------
    sets : sequence of str
        Names from :data:`SETS`.
    shape : tuple of int
        ``(h, d)`` of the matrix.
    beta : array, optional
        Given when the teacher is known.
    normalize : bool
        Add ``normalize = 1.0`` (when a W-only set is asked for).

    Returns
    -------
    dict
        ``{key: value}``, the keys of :func:`matrix_metrics` (and of ``update``, ``drift``,
        ``features`` when asked for), every number NaN.

    Examples
    --------
    >>> from htdyn.analysis.registry import nonfinite_metrics
    >>> flat = nonfinite_metrics(["norms", "drift"], (3, 2))
    >>> flat["spectral_norm"], flat["drift_overlap_top10"], len(flat)
    (nan, nan, 9)
    """
    flat: dict[str, Any] = {}
    for vals in nonfinite_set_metrics(sets, shape, beta=beta, normalize=normalize).values():
        flat.update(vals)
    return flat


@dataclass(frozen=True)
class OnlineMetrics:
    """The function the simulator calls at evaluation steps: ``fn(W_batch, betas) -> {key: (B, ...)}``.

    Attributes
    ----------
    sets : tuple of str
        The W-only sets, in the order of :data:`SETS`.
    specs : dict
        ``{key: shape}`` of one run's numbers, from the declaration (esd: ``(min(h, d),)``,
        top_u: ``(min(8, h, d), h)``).

    Examples
    --------
    Made by :func:`online_metrics`:

    >>> from htdyn.analysis.registry import online_metrics
    >>> fn, _ = online_metrics(["esd"], 30, 20)
    >>> type(fn).__name__, fn.sets
    ('OnlineMetrics', ('esd',))
    """

    sets: tuple[str, ...]
    specs: dict[str, tuple[int, ...]]

    def __call__(self, W: Any, betas: np.ndarray) -> dict[str, np.ndarray]:
        rows = [matrix_metrics(W[b], self.sets, beta=betas[b]) for b in range(W.shape[0])]
        return {k: np.stack([np.asarray(r[k], dtype=np.float64) if k in r else np.full(shape, np.nan)
                             for r in rows]) for k, shape in self.specs.items()}


def online_metrics(names: Sequence[str], h: int, d: int) -> tuple[Callable, dict[str, tuple]]:
    """The function the engine calls at evaluation steps, and its output shapes.

    Parameters
    ----------
    names : sequence of str
        Names from ``ONLINE_SETS``, or ``["all"]`` (``eval.metrics``).
    h, d : int
        The shape of one run's W.

    Returns
    -------
    fn : callable
        ``fn(W_batch (B, h, d), betas (B, d)) -> {name: (B, ...) array}`` (an :class:`OnlineMetrics`).
    specs : dict
        ``{name: shape}`` of one run's numbers, read from :data:`SETS` (``esd`` has
        ``min(h, d)`` values, ``top_sigma``, ``top_u`` and ``top_v`` are ``(K,)``, ``(K, h)``
        and ``(K, d)``, the rest are scalars).

    Raises
    ------
    htdyn.errors.ConfigError
        A name that is not a W-only set (``eval.metrics: unknown metric set ...``).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.registry import online_metrics
    >>> fn, specs = online_metrics(["esd", "top", "teacher"], 30, 20)
    >>> specs
    {'esd': (20,), 'sim_beta': (), 'top_sigma': (8,), 'top_u': (8, 30), 'top_v': (8, 20)}
    >>> rng = np.random.default_rng(0)
    >>> W, betas = rng.standard_normal((2, 30, 20)), rng.standard_normal((2, 20))
    >>> out = fn(W, betas)
    >>> {k: v.shape for k, v in out.items()}
    {'esd': (2, 20), 'sim_beta': (2,), 'top_sigma': (2, 8), 'top_u': (2, 8, 30), 'top_v': (2, 8, 20)}
    >>> bool(np.allclose(out["top_sigma"][1], np.linalg.svd(W[1], compute_uv=False)[:8]))
    True
    """
    sets = tuple(_in_order(check_sets(names, ONLINE_SETS, where="eval.metrics")))
    specs = {k.name: k.shape_for(h, d) for s in sets for k in SETS[s].keys}
    fn = OnlineMetrics(sets, specs)
    return fn, specs

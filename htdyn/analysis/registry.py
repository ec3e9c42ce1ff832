"""Named metric sets: what ``htdyn analyze`` and online metrics compute per snapshot.

A *metric set* is a group of numbers computed from one weight matrix W_t
(and, for some sets, its update M_t = W_{t+1} - W_t, the initial W_0, the
teacher beta or the probe data).  Each set returns a flat dict of scalars,
except ``esd`` which returns the eigenvalue vector.

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
phase      Martin-Mahoney 5+1 phase (index into PHASES) and features  W
teacher    |<v_1(W), beta>| (the paper's sim(W, beta*))                W, beta
update     stable rank and norms of M_t; top-1 squared overlaps of     W, M
           (W_t, M_t) and (W_{t+1}, M_t), left and right; overlap mass
           in the top-5; |<v_1(M_t), beta>|
drift      subspace overlap of the top-10 right singular vectors of   W, W_0
           W_t with those of W_0
features   kernel-target alignment (uncentred as the paper, centred),  W, probe data
           stable rank of the probe features
=========  =========================================================  ===============

:func:`nonfinite_metrics` is what a matrix with NaN or inf entries (a diverged W, or
a W^T W that overflows float64) gets instead: the same keys, every number NaN, an
ESD of NaN and the phase ``"non-finite"`` (``htdyn analyze`` uses it; the functions
below raise ValueError on such input).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..xp import analysis_namespace
from .esd import gram_lower
from .phases import NON_FINITE, PHASES

METRIC_SETS = ("esd", "norms", "powerlaw", "mp", "phase", "teacher", "update", "drift", "features")
#: sets that need only W_t (and beta): usable online, during simulation
ONLINE_SETS = ("esd", "norms", "powerlaw", "mp", "phase", "teacher")
DEFAULT_SETS = ("esd", "norms", "powerlaw", "mp", "phase", "teacher", "update", "drift")
#: the numbers of the sets that are not W-only (what ``update_metrics`` & co. return)
UPDATE_KEYS = ("update_fro", "update_spectral", "update_stable_rank") + tuple(
    f"overlap_{tag}_{side}_{what}" for tag in ("prev", "next") for side in ("left", "right")
    for what in ("top1", "mass")) + ("update_sim_beta",)
DRIFT_KEYS = ("drift_overlap_top10",)
FEATURE_KEYS = ("kta", "kta_centered", "feature_stable_rank")
_OTHER_KEYS = {"update": UPDATE_KEYS, "drift": DRIFT_KEYS, "features": FEATURE_KEYS}


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


def _host_eigs(xp: Any, ev: Any) -> np.ndarray:
    return ev.get() if xp.__name__ == "cupy" else np.asarray(ev)


def matrix_metrics(W: Any, sets: Sequence[str], *, beta: Any = None, normalize: bool = False,
                   evals: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of one matrix W (h x d) for the W-only sets (``ONLINE_SETS``).

    Parameters
    ----------
    W : array (numpy, CuPy or torch)
    sets : names from ``ONLINE_SETS``
    beta : array, optional
        The teacher direction (needed by ``teacher``).
    normalize : bool
        Use the 1/N-normalised ESD (Martin-Mahoney convention) for the
        eigenvalue-based metrics; recorded as ``normalize`` in every output.
    """
    from . import metrics as met
    from . import phases

    xp, W = analysis_namespace(W)
    h, d = W.shape
    out: dict[str, Any] = {}
    G = None
    v1 = None
    if evals is None:
        # one Gram matrix serves the ESD and the top singular vector: on the CPU both come
        # from one tridiagonal reduction (_eigs_and_top_vector); on CuPy by inverse iteration
        if xp is np and min(h, d) >= 3:
            want_v1 = "teacher" in sets and beta is not None
            ev, v1 = _eigs_and_top_vector(gram_lower(W), vector=want_v1)
            if v1 is not None and h < d:
                v1 = W.T @ v1
                v1 = v1 / np.linalg.norm(v1)
        else:
            G, ev = _gram_eigs(xp, W)
        evals = _host_eigs(xp, ev)
        if normalize:
            evals = evals / max(h, d)
    shape = (h, d)
    if "esd" in sets:
        out["esd"] = evals
    nan = float("nan")
    if {"powerlaw", "mp", "phase"} & set(sets):
        # one pass of the fits: the phase rule's features hold the MP bulk fit, the spike
        # count, the KS and Hill power-law fits (each computed once)
        try:
            res = phases.classify_phase(evals, shape)
            f = res.features
        except ValueError:
            res, f = None, {}
        get = lambda k: float(f.get(k, nan))  # noqa: E731
        if "powerlaw" in sets:
            a_hill, a_ks, k_ks = get("alpha_hill"), get("alpha_ks"), get("k_ks")
            out.update({
                "alpha_hill": a_hill, "D_hill": get("D_hill"),
                "xmin_hill": float(np.sort(evals)[len(evals) // 2]) if len(evals) else nan,
                "alpha_ks": a_ks, "xmin_ks": get("xmin_ks"), "D_ks": get("D_PL"), "k_ks": k_ks,
                "sigma_ks": (a_ks - 1) / np.sqrt(k_ks) if k_ks > 0 else nan,
            })
            ok = np.isfinite(a_hill)
            out["alpha_hat"] = float(met.alpha_hat(a_hill, evals)) if ok else nan
            out["log_alpha_norm"] = float(met.log_alpha_norm(a_hill, evals)) if ok else nan
        if "mp" in sets:
            lp = get("lambda_plus")
            out.update({
                "mp_sigma2": get("sigma2"), "mp_lambda_plus": lp, "mp_ks": get("D_MP"),
                "n_spikes": get("n_out"), "mp_soft_rank": get("mp_soft_rank"),
                "frac_above_edge": float(np.mean(evals > lp)) if np.isfinite(lp) else nan,
            })
        if "phase" in sets:
            out["phase"] = float(PHASES.index(res.phase)) if res is not None else nan
    if "norms" in sets:
        for k, v in met.scalar_metrics(evals, shape).items():
            if k not in out and np.ndim(v) == 0:
                out[k] = float(v)
    if "teacher" in sets and beta is not None:
        if v1 is None:
            if G is None:
                G, ev = _gram_eigs(xp, W)
            else:
                ev = xp.asarray(evals * (max(h, d) if normalize else 1.0))
            v1 = _top_right_vector(xp, W, G, float(ev[-1]))
        b = xp.asarray(beta, dtype=xp.float64)
        out["sim_beta"] = float(abs(xp.sum(v1 * b)) / float(xp.linalg.norm(b)))
    if normalize:
        out["normalize"] = 1.0
    return out


@lru_cache(maxsize=64)
def _matrix_keys(sets: tuple[str, ...], with_beta: bool, normalize: bool) -> tuple[str, ...]:
    """The keys :func:`matrix_metrics` returns for these sets (from a small random matrix)."""
    if not sets:
        return ()
    W = np.random.default_rng(0).standard_normal((40, 30))
    beta = np.ones(30) / np.sqrt(30) if with_beta else None
    return tuple(matrix_metrics(W, sets, beta=beta, normalize=normalize))


def metric_keys(sets: Sequence[str], *, normalize: bool = False) -> list[str]:
    """The scalar numbers (every key but ``esd``) the sets give per snapshot, teacher included."""
    keys = [k for k in _matrix_keys(tuple(s for s in sets if s in ONLINE_SETS), True, bool(normalize))
            if k != "esd"]
    for s in sets:
        keys.extend(_OTHER_KEYS.get(s, ()))
    return keys


def nonfinite_metrics(sets: Sequence[str], shape: tuple[int, int], *, beta: Any = None,
                      normalize: bool = False) -> dict[str, Any]:
    """The numbers of a matrix with NaN or inf entries: the keys the sets give, every value NaN.

    For the W-only sets the keys of :func:`matrix_metrics`; ``esd`` is a vector of
    ``min(h, d)`` NaN, ``phase`` the index of ``"non-finite"`` in ``PHASES``; the
    ``update``, ``drift`` and ``features`` sets add their keys.  ``normalize`` is kept
    as :func:`matrix_metrics` records it.
    """
    w = tuple(s for s in sets if s in ONLINE_SETS)
    out: dict[str, Any] = dict.fromkeys(_matrix_keys(w, beta is not None, bool(normalize)), float("nan"))
    for s in sets:
        out.update(dict.fromkeys(_OTHER_KEYS.get(s, ()), float("nan")))
    if beta is None:
        out.pop("update_sim_beta", None)
    if "esd" in out:
        out["esd"] = np.full(min(shape), np.nan)
    if "phase" in out:
        out["phase"] = float(PHASES.index(NON_FINITE))
    if normalize and w:
        out["normalize"] = 1.0
    return out


def _gram_eigs(xp: Any, W: Any) -> tuple[Any, Any]:
    """The smaller Gram matrix of W in float64 and its eigenvalues (ascending, clipped at 0).

    Same route and accuracy as :func:`htdyn.analysis.esd.esd`; kept here so the Gram
    matrix can be reused for the top singular vector.
    """
    W = xp.asarray(W, dtype=xp.float64)
    h, d = W.shape
    G = W.T @ W if d <= h else W @ W.T
    if not bool(xp.all(xp.isfinite(G))):
        raise ValueError("W has non-finite entries (or W^T W overflows float64)")
    return G, xp.maximum(xp.linalg.eigvalsh(G), 0.0)


def _eigs_and_top_vector(G: np.ndarray, vector: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Every eigenvalue of a symmetric G and its top eigenvector, for the price of the eigenvalues.

    G: its lower triangle is read (Fortran order avoids a copy), and overwritten.
    ``eigvalsh`` reduces G to tridiagonal form T = Q^T G Q (LAPACK ``sytrd``, the O(N^3)
    part) and takes T's eigenvalues (``sterf``, O(N^2)); this does the same, then finds
    T's top eigenvector by inverse iteration (``stein``, O(N)) and maps it back with the
    N - 1 Householder reflectors of Q (O(N^2)).  Eigenvalues ascending, clipped at 0;
    the vector is None unless asked for.
    """
    from scipy.linalg import lapack

    N = G.shape[0]
    c, diag, off, tau, info = lapack.dsytrd(G, lower=1, lwork=64 * N, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"dsytrd failed (info={info})")
    w, info = lapack.dsterf(diag, off)
    if info != 0:
        raise np.linalg.LinAlgError(f"dsterf did not converge (info={info})")
    w = np.maximum(w, 0.0)
    if not vector:
        return w, None
    iblock = np.ones(N, dtype=np.int32)
    isplit = np.zeros(N, dtype=np.int32)
    isplit[0] = N  # one block: the tridiagonal matrix as a whole
    z, info = lapack.dstein(diag, off, w[-1:], iblock, isplit)
    if info != 0:
        raise np.linalg.LinAlgError(f"dstein did not converge (info={info})")
    x = z[:, 0].copy()
    for i in range(N - 2, -1, -1):  # Q = H_0 H_1 ... H_{N-2}; H_i = I - tau_i v v^T, v = (1, c[i+2:, i])
        v = c[i + 1:, i].copy()
        v[0] = 1.0
        x[i + 1:] -= (tau[i] * (v @ x[i + 1:])) * v
    return w, x / np.linalg.norm(x)


def _top_right_vector(xp: Any, W: Any, G: Any, lam1: float) -> Any:
    """The top right singular vector v_1 of W by inverse iteration on its Gram matrix.

    With the shift s = lam1 (1 + 1e-10) just above the top eigenvalue (known from the
    ESD), (G - s I)^{-1} amplifies v_1 by |lam_2 - s| / |lam_1 - s| ~ 1e10 gap/lam_1
    relative to any other direction per iteration, so two iterations give v_1 to
    round-off unless the top eigenvalue is degenerate (where v_1 is not defined).
    One LU of an N x N matrix: a fraction of the eigvalsh it complements, instead of a
    full SVD.  When G = W W^T (h < d) the left vector u_1 is found and v_1 = W^T u_1 / ||.||.
    """
    N = G.shape[0]
    shift = lam1 * (1.0 + 1e-10) + 1e-300
    A = G - shift * xp.eye(N, dtype=G.dtype)
    x = xp.ones(N, dtype=G.dtype) / np.sqrt(N) + xp.asarray(np.random.default_rng(0).standard_normal(N) * 1e-3)
    if xp is np:
        import scipy.linalg

        lu = scipy.linalg.lu_factor(A, overwrite_a=True, check_finite=False)
        solve = lambda v: scipy.linalg.lu_solve(lu, v, check_finite=False)  # noqa: E731
    else:
        solve = lambda v: xp.linalg.solve(A, v)  # noqa: E731
    for _ in range(2):
        x = solve(x)
        x = x / xp.linalg.norm(x)
    h, d = W.shape
    if h < d:
        x = xp.asarray(W, dtype=xp.float64).T @ x
        x = x / xp.linalg.norm(x)
    return x


def update_metrics(W: Any, M: Any, *, W_next: Any = None, beta: Any = None, k: int = 5) -> dict[str, float]:
    """Metrics of the update M_t against W_t and W_{t+1} (the paper's overlap view).

    The top-k singular triplets of W_t, W_{t+1} (= W_t + M_t unless given) and M_t
    (:func:`htdyn.analysis.alignment.top_singular_triplets`: one symmetric reduction each,
    not a full SVD); the squared overlaps of their vectors are summarised by
    :func:`htdyn.analysis.alignment.overlap_summary`.  An update of numerical rank r < k
    (a minibatch of r samples, say) has r directions: the masses count those only.
    """
    from . import alignment

    xp, W = analysis_namespace(W)
    _, M = analysis_namespace(M)
    if W_next is None:
        W_next = W + M
    else:
        _, W_next = analysis_namespace(W_next)
    out: dict[str, float] = {}
    M64 = xp.asarray(M, dtype=xp.float64)
    fro2 = float(xp.sum(M64 * M64))
    k = min(k, *M.shape)
    Um, sm, Vhm = alignment.top_singular_triplets(M64, k)
    s1 = float(sm[0])
    out["update_fro"] = float(np.sqrt(fro2))
    out["update_spectral"] = s1
    out["update_stable_rank"] = fro2 / s1**2 if s1 > 0 else float("nan")
    if s1 == 0:
        return out
    for tag, A in (("prev", W), ("next", W_next)):
        Ua, _, Vha = alignment.top_singular_triplets(A, k)
        L = (xp.matmul(Ua.T, Um)) ** 2
        R = (xp.matmul(Vha, Vhm.T)) ** 2
        s = alignment.overlap_summary(L, R, k=k)
        out[f"overlap_{tag}_left_top1"] = float(s["left_top1"])
        out[f"overlap_{tag}_right_top1"] = float(s["right_top1"])
        out[f"overlap_{tag}_left_mass"] = float(s["left_mass"])
        out[f"overlap_{tag}_right_mass"] = float(s["right_mass"])
    if beta is not None:
        b = xp.asarray(beta, dtype=xp.float64)
        out["update_sim_beta"] = float(abs(xp.sum(Vhm[0] * b)) / float(xp.linalg.norm(b)))
    return out


def drift_metrics(W: Any, W0: Any, k: int = 10, *, Vh0: Any = None) -> dict[str, float]:
    """Subspace overlap of the top-k right singular vectors of W_t with those of W_0.

    ``Vh0``: W_0's top-k right singular vectors as rows (``top_singular_triplets(W0, k)[2]``),
    to compute them once for a whole trajectory; ``W0`` is not read when it is given.
    """
    from .alignment import top_singular_triplets

    xp, W = analysis_namespace(W)
    _, _, Va = top_singular_triplets(W, k)
    Vb = top_singular_triplets(W0, k)[2] if Vh0 is None else Vh0
    C = xp.matmul(Va, Vb.T)  # as alignment.subspace_overlap, from the top-k triplets only
    return {"drift_overlap_top10": float(xp.sum(C * C)) / Va.shape[0]}


def feature_metrics(W: Any, X: Any, y: Any, activation: str) -> dict[str, float]:
    """Kernel-target alignment and stable rank of the hidden features on the probe set."""
    from . import features

    Z = features.hidden_features(X, W, activation)
    return {
        "kta": float(features.kernel_target_alignment(Z, y)),
        "kta_centered": float(features.kernel_target_alignment(Z, y, centered=True)),
        "feature_stable_rank": float(features.feature_stable_rank(Z)),
    }


def online_metrics(names: Sequence[str], h: int, d: int) -> tuple[Callable, dict[str, tuple]]:
    """The function the engine calls at evaluation steps, and its output shapes.

    Returns ``fn(W_batch, betas) -> {name: (B, ...) array}`` and ``{name: shape}``.
    """
    sets = check_sets(names, ONLINE_SETS, where="eval.metrics")
    # the keys from a small matrix of the same orientation (cheap); esd's length is min(h, d)
    ph, pd = (40, 30) if h >= d else (30, 40)
    sample = matrix_metrics(np.random.default_rng(0).standard_normal((ph, pd)), sets,
                            beta=np.ones(pd) / np.sqrt(pd))
    specs = {k: ((min(h, d),) if k == "esd" else np.shape(v)) for k, v in sample.items()}

    def fn(W: Any, betas: np.ndarray) -> dict[str, np.ndarray]:
        rows = [matrix_metrics(W[b], sets, beta=betas[b]) for b in range(W.shape[0])]
        return {k: np.stack([np.asarray(r.get(k, np.nan), dtype=np.float64) for r in rows]) for k in specs}

    return fn, specs

"""analysis.linalg against plain LAPACK answers; the one eigenvalue-input rule; the metric-set declaration."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from htdyn.analysis import linalg
from htdyn.analysis.metricdecl import SETS
from htdyn.analysis.registry import (
    ONLINE_SETS,
    metric_keys,
    nonfinite_set_metrics,
    online_metrics,
    set_metrics,
    update_metrics,
)
from htdyn.analysis.setmetrics import drift_metrics, feature_metrics


@pytest.mark.parametrize("shape", [(7, 5), (5, 7), (2, 6, 4)], ids=["tall", "wide", "batch"])
def test_gram_is_the_smaller_product(shape: tuple[int, ...]) -> None:
    W = np.random.default_rng(0).standard_normal(shape)
    Wt = np.swapaxes(W, -1, -2)
    ref = Wt @ W if shape[-1] <= shape[-2] else W @ Wt
    np.testing.assert_array_equal(linalg.gram(W), ref)
    # eigenvalues of the Gram matrix are the squared singular values (float64: ~N eps s_1^2)
    s = np.linalg.svd(W, compute_uv=False)
    np.testing.assert_allclose(linalg.gram_eigvalsh(W), np.sort(s**2, axis=-1), rtol=0, atol=1e-13 * s.max() ** 2)


@pytest.mark.parametrize("shape", [(9, 6), (6, 9)], ids=["tall", "wide"])
def test_gram_lower_holds_the_lower_triangle(shape: tuple[int, int]) -> None:
    W = np.random.default_rng(1).standard_normal(shape)
    G = linalg.gram_lower(W)
    np.testing.assert_allclose(np.tril(G), np.tril(linalg.gram(W)), rtol=1e-14, atol=1e-13)


def test_gram_rejects_non_finite() -> None:
    W = np.ones((4, 3))
    W[1, 2] = np.nan
    for fn in (lambda: linalg.gram(W, check=True), lambda: linalg.gram_lower(W), lambda: linalg.gram_eigvalsh(W)):
        with pytest.raises(ValueError, match="non-finite"):
            fn()


@pytest.mark.parametrize("shape", [(60, 40), (40, 60)], ids=["tall", "wide"])
def test_top_right_vector_both_routes_match_svd(shape: tuple[int, int]) -> None:
    r = np.random.default_rng(2)
    v = r.standard_normal(shape[1])
    W = r.standard_normal(shape) + 8.0 * np.outer(r.standard_normal(shape[0]), v / np.linalg.norm(v))
    _, s, Vt = np.linalg.svd(W, full_matrices=False)
    gap = (s[0] ** 2 - s[1] ** 2) / s[0] ** 2
    tol = max(1e-12, (60 * 1e-15 / gap) ** 2)  # Davis-Kahan: eps ||G|| / gap, squared in 1 - |cos|
    host = linalg.top_right_vector(W)  # one tridiagonal reduction
    inv = linalg.top_right_vector(W, linalg.gram(W), s[0] ** 2)  # inverse iteration on a given G
    for x in (host, inv):
        assert 1.0 - abs(x @ Vt[0]) < tol
        assert np.linalg.norm(x) == pytest.approx(1.0, abs=1e-14)


def test_top_singular_triplets_match_svd() -> None:
    W = np.random.default_rng(3).standard_normal((50, 30)) @ np.diag(np.linspace(1, 5, 30))
    U, s, Vh = linalg.top_singular_triplets(W, 3)
    U0, s0, Vh0 = np.linalg.svd(W, full_matrices=False)
    np.testing.assert_allclose(s, s0[:3], rtol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(Vh * Vh0[:3], axis=1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(U * U0[:, :3], axis=0)), 1.0, atol=1e-9)


def test_as_float_and_like() -> None:
    xp, a = linalg.as_float(np.arange(4))
    assert xp is np and a.dtype == np.float64
    assert linalg.as_float(np.ones(3, np.float32), None)[1].dtype == np.float32
    assert linalg.like(np, [1, 2], np.float32).dtype == np.float32


def test_check_evals_rule() -> None:
    xp, ev = linalg.check_evals([3.0, -1e-15, 1.0], "t")
    np.testing.assert_array_equal(ev, [0.0, 1.0, 3.0])  # negatives (round-off of zeros) -> 0, sorted
    assert ev.dtype == np.float64
    np.testing.assert_array_equal(linalg.check_evals(np.array([[2.0, 1.0], [0.0, 5.0]]), "t", "pooled")[1],
                                  [0.0, 1.0, 2.0, 5.0])
    np.testing.assert_array_equal(linalg.check_evals(np.array([[2.0, 1.0], [5.0, 0.0]]), "t", "batched")[1],
                                  [[1.0, 2.0], [0.0, 5.0]])
    for bad, match in ((np.ones((2, 2)), "1-D"), (np.array([]), "at least one"), ([1.0, np.nan], "non-finite"),
                       ([np.inf], "non-finite")):
        with pytest.raises(ValueError, match=match):
            linalg.check_evals(bad, "caller")
    with pytest.raises(ValueError, match="caller"):
        linalg.check_evals([np.nan], "caller")


def test_every_eigenvalue_consumer_applies_the_rule() -> None:
    from htdyn.analysis import metrics, mp, powerlaw

    ev = np.random.default_rng(4).pareto(2.0, 200) + 1.0
    for fn in (lambda e: metrics.stable_rank(e), lambda e: mp.fit_bulk(e, (400, 200)), lambda e: powerlaw.fit_ks(e)):
        with pytest.raises(ValueError, match="non-finite"):
            fn(np.append(ev, np.nan))
        fn(np.append(ev, -1e-14))  # a round-off negative is accepted (as 0)


def _probe(h: int = 24, d: int = 16) -> tuple[np.ndarray, ...]:
    r = np.random.default_rng(5)
    return r.standard_normal((h, d)), r.standard_normal((h, d)) * 0.1, r.standard_normal(d) / 4, \
        r.standard_normal((30, d)), r.standard_normal(30)


def test_sets_give_exactly_their_declared_keys() -> None:
    W, M, beta, X, y = _probe()
    got = set_metrics(W, ONLINE_SETS, beta=beta)
    assert list(got) == [s for s in SETS if s in ONLINE_SETS]
    for s, vals in got.items():
        assert tuple(vals) == SETS[s].key_names(), s
        for k in SETS[s].keys:
            assert np.shape(vals[k.name]) == k.shape_for(*W.shape)
    assert tuple(update_metrics(W, M, beta=beta)) == SETS["update"].key_names()
    assert tuple(drift_metrics(W, W + M)) == SETS["drift"].key_names()
    assert tuple(feature_metrics(W, X, y, "tanh")) == SETS["features"].key_names()
    # without beta the keys that need it are absent, in both the computed and the NaN results
    assert "teacher" not in set_metrics(W, ["teacher", "norms"])
    assert set(nonfinite_set_metrics(["teacher", "update"], W.shape)) == {"update"}


def test_online_specs_come_from_the_declaration() -> None:
    r = np.random.default_rng(6)
    for h, d in ((24, 16), (16, 24)):
        fn, specs = online_metrics(["all"], h, d)
        out = fn(r.standard_normal((2, h, d)), r.standard_normal((2, d)))
        assert list(out) == list(specs)
        assert specs["esd"] == (min(h, d),)
        for k, shape in specs.items():
            assert out[k].shape == (2, *shape), k
            assert np.all(np.isfinite(out[k])), k


def test_metric_keys_and_nonfinite_agree_with_the_declaration() -> None:
    keys = metric_keys(["esd", "norms", "teacher", "update"], normalize=True)
    assert "esd" not in keys and "normalize" in keys
    assert set(keys) - {"normalize"} == set(SETS["norms"].key_names()) | {"sim_beta"} | set(SETS["update"].key_names())
    nan = nonfinite_set_metrics(["esd", "phase"], (6, 4), beta=np.ones(4), normalize=True)
    assert nan["esd"]["esd"].shape == (4,) and nan["esd"]["normalize"] == 1.0
    assert nan["phase"]["phase"] == 6.0  # "non-finite", last of PHASES


def test_activations_and_analysis_need_no_training_code() -> None:
    code = ("import sys, numpy as np; import htdyn.activations; from htdyn.analysis import features; "
            "features.hidden_features(np.ones((3, 2)), np.ones((4, 2)), 'gelu'); "
            "print(sorted(m for m in sys.modules if m.startswith(('htdyn.train', 'htdyn.config'))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_features_use_the_simulator_activations() -> None:
    from htdyn.activations import ACTIVATIONS
    from htdyn.analysis.features import ACTIVATION_NAMES, hidden_features

    assert set(ACTIVATION_NAMES) == set(ACTIVATIONS)
    X, W = np.random.default_rng(8).standard_normal((5, 3)), np.random.default_rng(9).standard_normal((4, 3))
    P = X @ W.T / np.sqrt(3)
    for name, act in ACTIVATIONS.items():
        np.testing.assert_array_equal(hidden_features(X, W, name), act(np, P))
    with pytest.raises(ValueError, match="not valid"):
        hidden_features(X, W, "swish")

"""The phase rule's two decisions of issue 11, on generators whose phase is known by construction.

* A lone rank-one spike placed by the BGN formula at 1.25 lambda_+ (below the old
  ``spike_ratio`` 1.5, tens of Tracy-Widom scales past the edge, nothing between it and
  the bulk) is **bulk+spikes**: Martin & Mahoney's "spike well separated above lambda_+ + TW".
  The old rule (``spike_gap_tw`` = inf) called it bleeding-out.
* Five near-critical spikes (1.30-1.45 times the BGN threshold) still bleed out: their
  eigenvalues stay contiguous with the edge (gaps of a few TW scales).
* The paper's convention (heavy-tailed when alpha_Hill < 2) relabels only what has alpha_Hill < 2.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from htdyn.analysis import mp, phases

sys.path.insert(0, str(Path(__file__).parent))
from test_phases import evals, generate  # noqa: E402


def lone_spike(shape: tuple[int, int], ratio: float, seed: int) -> np.ndarray:
    """N(0, 1) noise plus theta u v^T with theta such that the BGN outlier sits at ``ratio * lambda_+``."""
    h, d = shape
    rng = np.random.default_rng(seed)
    lam_plus = (math.sqrt(h) + math.sqrt(d)) ** 2
    # BGN: the outlier of X + theta u v^T is (theta^2 + h)(theta^2 + d) / theta^2 above (hd)^(1/4)
    theta = brentq(lambda t: (t * t + h) * (t * t + d) / t**2 - ratio * lam_plus, mp.bgn_threshold(shape) * 1.0001, 1e5)
    u = rng.standard_normal(h)
    v = rng.standard_normal(d)
    return rng.standard_normal(shape) + theta * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))


@pytest.mark.parametrize("shape", [(800, 400), (600, 900)])
def test_lone_detached_spike_is_bulk_plus_spikes(shape: tuple[int, int]) -> None:
    old = phases.PhaseRule(spike_gap_tw=math.inf)
    for seed in range(6):
        ev = evals(lone_spike(shape, 1.25, seed))
        res = phases.classify_phase(ev, shape)
        assert res.features["n_out"] == 1 and res.features["top_ratio"] < 1.5
        assert res.features["top_sep_tw"] >= 16
        assert res.phase == "bulk+spikes", res.reason
        assert phases.classify_phase(ev, shape, rule=old).phase == "bleeding-out"


@pytest.mark.parametrize("shape", [(400, 200), (240, 480)])
def test_near_critical_spikes_still_bleed_out(shape: tuple[int, int]) -> None:
    for seed in range(20):
        res = phases.classify_phase(evals(generate("weak", shape, seed)), shape)
        assert res.phase == "bleeding-out", (seed, res.reason)
        assert res.features["top_sep_tw"] < 16


def test_top_sep_is_the_gap_to_the_next_eigenvalue() -> None:
    shape = (400, 200)
    ev = evals(generate("strong", shape, 0))
    f = phases.phase_features(ev, shape)
    assert f["top_sep_tw"] == pytest.approx((ev[-1] - max(ev[-2], f["lambda_plus"])) / f["tw"])


def test_paper_convention() -> None:
    shape = (400, 200)
    gauss = evals(generate("gaussian", shape, 0))
    assert phases.classify_phase(gauss, shape, convention="paper").phase == "random-like"
    lone = evals(lone_spike((800, 400), 1.25, 0))
    assert phases.classify_phase(lone, (800, 400), convention="paper").phase == "bulk+spikes"
    heavy = evals(generate("pareto", shape, 0))
    mm = phases.classify_phase(heavy, shape)
    paper = phases.classify_phase(heavy, shape, convention="paper")
    assert mm.features["alpha_hill"] < 2 and paper.phase == "heavy-tailed"
    decay = evals(generate("twobulk", shape, 0))
    res = phases.classify_phase(decay, shape, convention="paper")
    # twobulk: alpha_Hill above 2 keeps the rule's bulk-decay; below 2 the paper says heavy-tailed
    want = "heavy-tailed" if res.features["alpha_hill"] < 2 else "bulk-decay"
    assert res.phase == want and "paper convention" in res.reason
    with pytest.raises(ValueError, match="convention"):
        phases.classify_phase(gauss, shape, convention="mine")

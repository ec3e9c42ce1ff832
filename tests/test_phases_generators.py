"""The phase classifier on generators of known phase (benchmarks/phase_confusion.py), issue 17.

* every class is right in >= 90% of draws where the docs say it is identifiable;
* the moderately heavy-tailed generators (Pareto 2.5, Student-t 3) are heavy-tailed once they
  show enough outliers (M >= 500), through the spike-strength tail;
* the zero cut is at round-off: full-rank Pareto mu = 1 is not rank collapse, a product of
  rank M/5 is, in float64 and float32 eigenvalues;
* the committed confusion table in docs/analysis_mp_phases.md matches a regeneration of its
  cheap cells.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from htdyn.analysis import mp, phases

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import phase_confusion as pc  # noqa: E402


def _labels(kind: str, shape: tuple[int, int], seeds: range) -> list[str]:
    return [phases.classify_phase(pc.evals(pc.generate(kind, shape, s)), shape).phase for s in seeds]


@pytest.mark.parametrize("kind", ["gaussian", "weak", "strong", "twobulk", "pareto1", "pareto1.5", "lowrank"])
@pytest.mark.parametrize("shape", [(400, 200), (240, 480)])
def test_identifiable_classes_at_small_size(kind: str, shape: tuple[int, int]) -> None:
    got = _labels(kind, shape, range(5))
    assert got.count(pc.EXPECTED[kind]) >= 0.9 * len(got), got


@pytest.mark.parametrize("kind", ["pareto2.5", "clump", "strong", "weak"])
def test_moderately_heavy_tailed_at_m500(kind: str) -> None:
    """At 1000 x 500 Pareto 2.5 leaves 12-18 outliers in a power law from the edge: heavy-tailed;
    the look-alikes (a bounded clump of near-critical spikes, detached strong spikes, a few weak
    ones) keep their phase."""
    got = _labels(kind, (1000, 500), range(4))
    assert got.count(pc.EXPECTED[kind]) >= 3, got


def test_strength_tail_separates_a_power_law_from_detached_spikes() -> None:
    shape = (1000, 500)
    ht = phases.phase_features(pc.evals(pc.generate("pareto2.5", shape, 0)), shape)
    st = phases.phase_features(pc.evals(pc.generate("strong", shape, 0)), shape)
    assert ht["n_out"] >= 12 and ht["ks_out"] <= mp.STEPHENS_EXP_5PC and ht["mu_out"] <= 4
    assert st["ks_out"] > mp.STEPHENS_EXP_5PC  # nothing between the edge and the spikes


def test_bgn_strength_inverts_bgn_outlier() -> None:
    for shape in [(800, 400), (300, 600), (500, 500)]:
        N = max(shape)
        theta = np.array([1.01, 1.5, 3.0, 10.0]) * mp.bgn_threshold(shape)
        lam = mp.bgn_outlier(theta, shape, squared=True)
        np.testing.assert_allclose(mp.bgn_strength(lam, shape, float(N)) * math.sqrt(N), theta, rtol=1e-10)
        # below the edge: the critical strength c^(1/4)
        assert mp.bgn_strength(0.5 * N, shape, float(N)) == pytest.approx((min(shape) / N) ** 0.25)


def test_strength_tail_of_an_exact_pareto_sample() -> None:
    """Outliers placed by BGN at Pareto(3) strengths above the threshold: mu_out is the Pareto MLE."""
    shape, N = (800, 400), 800
    thr_lam = (math.sqrt(800) + math.sqrt(400)) ** 2 * 1.01
    t_thr = mp.bgn_strength(thr_lam, shape, float(N))
    rng = np.random.default_rng(0)
    t = t_thr * rng.uniform(size=400) ** (-1 / 3.0)
    lam = mp.bgn_outlier(t * math.sqrt(N), shape, squared=True)
    res = mp.strength_tail(np.concatenate([np.full(10, 1.0), lam]), shape, float(N), thr_lam)
    assert res.n == 400
    assert res.mu == pytest.approx(400 / np.sum(np.log(t / t_thr)), rel=1e-9)
    assert abs(res.mu - 3.0) < 4 * 3.0 / math.sqrt(400) and res.ks < mp.STEPHENS_EXP_5PC


def test_full_rank_pareto_mu1_is_not_rank_collapse() -> None:
    """Square Pareto mu = 1: full rank by numpy's matrix_rank, lambda_min / lambda_max down to 1e-14.
    The mean-relative cut of before issue 17 called most of these draws rank-collapse."""
    shape, old_rc = (500, 500), 0
    for seed in range(4):
        W = pc.generate("pareto1", shape, seed)
        assert np.linalg.matrix_rank(W) == 500
        ev = pc.evals(W)
        res = phases.classify_phase(ev, shape)
        assert res.phase != "rank-collapse" and res.features["frac0"] <= 0.01, res.reason
        old = phases.classify_phase(ev, shape, rule=phases.PhaseRule(zero_rtol=1e-5))
        old_rc += old.phase == "rank-collapse"
    assert old_rc >= 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_low_rank_is_rank_collapse_in_either_dtype(dtype) -> None:
    W = pc.generate("lowrank", (400, 200), 0).astype(dtype)
    ev = np.linalg.eigvalsh((W.T @ W).astype(dtype))
    res = phases.classify_phase(ev, (400, 200))
    assert res.phase == "rank-collapse" and res.features["frac0"] == pytest.approx(0.8)
    assert res.features["zero_cut"] == pytest.approx(400 * np.finfo(dtype).eps * float(ev.max()), rel=1e-6)


def test_zero_cut_is_scale_free() -> None:
    ev = pc.evals(pc.generate("pareto1", (300, 300), 1))
    a, b = (phases.classify_phase(x, (300, 300)) for x in (ev, ev * 1e-6))
    assert a.phase == b.phase and a.features["frac0"] == b.features["frac0"]


def test_committed_confusion_table_matches_a_regeneration() -> None:
    doc = (ROOT / "docs" / "analysis_mp_phases.md").read_text()
    block = doc[doc.index(pc.BEGIN):doc.index(pc.END)]
    header = next(line for line in block.splitlines() if line.startswith("| generator"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    seeds = int(re.search(r"(\d+) draws", block).group(1))
    shape = (400, 200)
    j = cols.index("400x200")
    for kind in ("gaussian", "strong", "lowrank"):
        row = next(line for line in block.splitlines() if line.startswith(f"| {kind} |"))
        cell = [c.strip() for c in row.strip("|").split("|")][j]
        res = pc.confusion([kind], [shape], seeds)
        assert cell == pc.cell(res[(kind, shape)], pc.EXPECTED[kind], seeds), kind


def test_script_runs_and_refuses_unknown_generators() -> None:
    script = str(ROOT / "benchmarks" / "phase_confusion.py")
    ok = subprocess.run([sys.executable, script, "--shapes", "200x100", "--kinds", "gaussian", "--seeds", "2"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "| gaussian | random-like | 2/2 |" in ok.stdout
    bad = subprocess.run([sys.executable, script, "--kinds", "cauchy"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown generator 'cauchy'" in bad.stderr and "Traceback" not in bad.stderr

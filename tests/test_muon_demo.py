"""The adam-vs-muon demo at a tiny size: the numbers it prints and the data it draws, against the file."""

from __future__ import annotations

import math

import numpy as np
import pytest

import htdyn
from htdyn import demos
from htdyn.config import ModelConfig
from htdyn.demos import adam_vs_muon

STEPS = 3
MODEL = ModelConfig(n=300, d=80, h=120, n_test=20)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> demos.DemoResult:
    return adam_vs_muon.run(tmp_path_factory.mktemp("avm"), model=MODEL, steps=STEPS)


def _bgn(theta: float, h: int, d: int) -> float:  # Benaych-Georges & Nadakuditi (2012), written out here
    return math.sqrt((theta**2 + h) * (theta**2 + d)) / theta


def test_registered() -> None:
    assert demos.DEMOS["adam-vs-muon"] == "adam_vs_muon" and "Muon" in demos.describe()["adam-vs-muon"]


def test_numbers_against_the_trajectory(result: demos.DemoResult) -> None:
    n = result.numbers
    h, d = MODEL.h, MODEL.d
    assert n["bgn_threshold"] == pytest.approx((h * d) ** 0.25)
    with htdyn.open(result.trajectories[0]) as tr:
        for i, (opt, lr) in enumerate(adam_vs_muon.RUNS):
            run = tr[i]
            assert run.config["optimizer"]["name"] == opt and run.config["optimizer"]["lr"] == lr
            k = f"{opt}_lr{lr:g}"
            M0 = np.asarray(run.update(0), dtype=np.float64)
            s = np.linalg.svd(M0, compute_uv=False)
            assert n[f"{k}_sigma1_M0"] == pytest.approx(s[0], rel=1e-5)
            assert n[f"{k}_stable_rank_M0"] == pytest.approx((s**2).sum() / s[0] ** 2, rel=1e-5)
            for t, key in ((1, "W1"), (STEPS, "WT")):
                top = np.linalg.norm(np.asarray(run.W(t), dtype=np.float64), 2)
                assert n[f"{k}_sigma1_{key}"] == pytest.approx(top, rel=1e-5)
            pred = n[f"{k}_bgn_prediction"]
            assert (pred == pytest.approx(_bgn(s[0], h, d), rel=1e-5)) if s[0] > (h * d) ** 0.25 else math.isnan(pred)
    # the claim at any size: Adam's first step is nearly rank one, Muon's is spread out
    assert n["adam_lr0.3_stable_rank_M0"] < 2 < 10 < n["muon_lr5_stable_rank_M0"]
    assert n["muon_lr0.3_sigma1_W1"] < 1.05 * n["mp_edge_sigma"] < n["adam_lr0.3_sigma1_W1"]


def test_figure_draws_the_spectra_and_lines(result: demos.DemoResult) -> None:
    assert [p.suffix for p in result.figures] == [".png", ".pdf"] and all(p.is_file() for p in result.figures)
    assert str(result.figures[0]) in result.text
    fig, drawn = adam_vs_muon.figure(result.trajectories[0], adam_vs_muon.RUNS, STEPS)
    axes = fig.axes
    assert len(axes) == len(drawn) == len(adam_vs_muon.RUNS)
    edge = 2 * math.log10(math.sqrt(MODEL.h) + math.sqrt(MODEL.d))
    with htdyn.open(result.trajectories[0]) as tr:
        for i, (ax, dr) in enumerate(zip(axes, drawn)):
            for t, key in ((0, "w0"), (1, "w1"), (STEPS, "wT")):
                lam = np.linalg.svd(np.asarray(tr[i].W(t), dtype=np.float64), compute_uv=False) ** 2
                counts, edges = dr[key]["counts"], dr[key]["edges"]
                assert counts.sum() == lam.size == MODEL.d  # every eigenvalue in a bin
                # the drawn spectrum is the file's float32 ESD: a value on a bin edge (the first edge is the
                # smallest eigenvalue) may fall one bin over or out of the grid in float64
                ref = np.histogram(np.log10(lam), bins=edges)[0]
                assert np.abs(counts - ref).sum() <= 2 and edges[0] <= np.log10(lam.min()) + 1e-5
            xs = sorted(float(line.get_xdata()[0]) for line in ax.get_lines())
            assert dr["edge"] == pytest.approx(edge)
            want = [edge] + ([dr["bgn"]] if dr["bgn"] == dr["bgn"] else [])
            assert xs == pytest.approx(sorted(want))
            theta = dr["theta"]
            if theta > (MODEL.h * MODEL.d) ** 0.25:
                assert dr["bgn"] == pytest.approx(2 * math.log10(_bgn(theta, MODEL.h, MODEL.d)))
    assert not math.isnan(drawn[0]["bgn"])  # Adam's panel has its BGN line


@pytest.mark.slow
def test_quick_size_claims(tmp_path) -> None:
    """At the demo's own size (n=1000, d=200, h=300, 10 steps): Adam's step-1 outlier where BGN says, none for Muon."""
    n = demos.run("adam-vs-muon", tmp_path).numbers
    assert n["adam_lr0.3_spikes_W1"] >= 1 and n["adam_lr0.3_sigma1_M0"] > n["bgn_threshold"]
    # BGN is exact for a rank-one update independent of W_0; Adam's has stable rank < 2: within 15%
    assert abs(n["adam_lr0.3_sigma1_W1"] / n["adam_lr0.3_bgn_prediction"] - 1) < 0.15
    for lr in (0.3, 5):
        assert n[f"muon_lr{lr:g}_spikes_W1"] == 0 and n[f"muon_lr{lr:g}_sigma1_M0"] < n["bgn_threshold"]
        assert n[f"muon_lr{lr:g}_stable_rank_M0"] > 50
    # Muon at lr 5 takes a step of Adam's Frobenius size (within 30%)
    assert abs(n["muon_lr5_fro_M0"] / n["adam_lr0.3_fro_M0"] - 1) < 0.3

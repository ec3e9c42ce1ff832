"""The multi-step demos at their reduced size (20-30 s each on 2 cores: slow), their claims on the numbers measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from htdyn import demos

pytestmark = pytest.mark.slow


def test_spike_to_heavy_tail(tmp_path: Path) -> None:
    res = demos.run("spike-to-heavy-tail", tmp_path)
    n = res.numbers
    assert n["spike_at_step1"]
    a = np.asarray(n["alpha_hill"])
    assert a[0] > 2.4 and a[-1] < 2.0 and np.all(np.diff(a) < 0.02)  # falls, from MP to below 2
    assert n["route"][0] == "random-like" and n["route"][1] == "bulk+spikes"
    assert n["route"][-1] in ("bulk-decay", "heavy-tailed") and n["paper_phase_final"] == "heavy-tailed"
    assert n["overlap_left_min_1_5"] >= 0.8  # the updates ride the spike
    assert n["update_stable_rank_first"] < 2 < 10 < n["update_stable_rank_last"]
    assert any(p.suffix == ".gif" for p in res.figures) and all(p.is_file() for p in res.figures)


def test_lr_phase_diagram(tmp_path: Path) -> None:
    res = demos.run("lr-phase-diagram", tmp_path)
    n = res.numbers
    assert n["adam_lr0.01_alpha_hill"] > 2.4 and n["gd_lr10_alpha_hill"] > 2.4 and n["gd_lr100_alpha_hill"] > 2.4
    assert n["adam_lr1_alpha_hill"] < 2.0 and n["gd_lr3000_alpha_hill"] < 2.0
    assert n["gd_over_adam_lr_ratio"] >= 100
    assert n["adam_lr0.01_phase"] == "random-like"
    assert all(p.is_file() for p in res.figures)


def test_noise_vs_no_noise(tmp_path: Path) -> None:
    res = demos.run("noise-vs-no-noise", tmp_path)
    n = res.numbers
    assert n["alpha_hill_full"] < 2.0  # heavy tail without any gradient noise
    assert n["alpha_hill_batch"] < 2.45
    assert f"{n['alpha_hill_full']:.2f}" in res.text and f"{n['alpha_hill_batch']:.2f}" in res.text

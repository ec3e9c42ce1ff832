"""The one-step-spike demo at its reduced size: its claims, asserted on the numbers it measured; and ``htdyn demo``."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import assert_clean, cli, needs_htdyn, ok

from htdyn import demos
from htdyn.demos import one_step_spike


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> demos.DemoResult:
    return demos.run("one-step-spike", tmp_path_factory.mktemp("demo1"))


def test_adam_spikes_gd_does_not_at_the_same_lr(result: demos.DemoResult) -> None:
    n = result.numbers
    (_, small), (_, big), (_, gd_same), (_, gd_big) = one_step_spike.RUNS
    assert not n[f"adam_lr{small:g}_spike"] and n[f"adam_lr{big:g}_spike"]
    assert big == gd_same and not n[f"gd_lr{gd_same:g}_spike"] and n[f"gd_lr{gd_big:g}_spike"]
    assert gd_big / big >= 1000  # "thousands of times smaller"
    # the spike leaves the bulk: sigma_1(W_1) well past the MP edge, and aligned with the teacher
    for key in (f"adam_lr{big:g}", f"gd_lr{gd_big:g}"):
        assert n[f"{key}_sigma1_W1"] > 1.5 * n["mp_edge_sigma"]
        assert n[f"{key}_sigma1_M0"] > n["bgn_threshold"]
        assert n[f"{key}_sim_beta"] > 0.3
        # where BGN says: within the update's departure from rank one (stable rank < 2 -> within 15%)
        assert n[f"{key}_update_stable_rank"] < 2
        assert abs(n[f"{key}_sigma1_W1"] / n[f"{key}_bgn_prediction"] - 1) < 0.15
    for key in (f"adam_lr{small:g}", f"gd_lr{gd_same:g}"):
        assert n[f"{key}_sigma1_M0"] < n["bgn_threshold"]
        assert n[f"{key}_sigma1_W1"] < 1.05 * n["mp_edge_sigma"]


def test_text_says_measured_against_the_paper(result: demos.DemoResult) -> None:
    text, n = result.text, result.numbers
    first = text.index("BGN")
    assert text.count("Benaych-Georges-Nadakuditi (BGN)") == 1 and text.index("Benaych-Georges-Nadakuditi") < first
    assert "the paper (n=2000" in text and "993.7" in text
    for o, lr in one_step_spike.RUNS:  # each spike's distance from BGN, as printed
        k = f"{o}_lr{lr:g}"
        assert n[f"{k}_bgn_error"] == pytest.approx(n[f"{k}_sigma1_W1"] / n[f"{k}_bgn_prediction"] - 1)
        if n[f"{k}_spike"]:
            assert f"({100 * n[f'{k}_bgn_error']:+.1f}%)" in text


def test_phase_flickers_counts_runs_that_step_back() -> None:
    import pandas as pd

    from htdyn.demos.common import phase_flickers

    rows = pd.DataFrame({"run": [0, 0, 0, 1, 1, 1, 2, 2], "step": [0, 1, 2, 0, 2, 1, 0, 1],
                         "phase": ["random-like", "bulk+spikes", "bulk-decay",  # forward
                                   "random-like", "bulk+spikes", "bulk-decay",  # back once steps are sorted
                                   "heavy-tailed", "non-finite"]})  # outside the order: ignored
    assert phase_flickers(rows) == 1


def test_figures_and_text(result: demos.DemoResult) -> None:
    assert [p.suffix for p in result.figures] == [".png", ".pdf"]
    assert all(p.is_file() and p.stat().st_size > 1000 and p.parent == result.outdir for p in result.figures)
    n = result.numbers
    assert f"sigma_1(W_1)={n['adam_lr0.3_sigma1_W1']:7.1f}" in result.text
    assert str(result.figures[0]) in result.text


@pytest.mark.slow
@needs_htdyn
def test_demo_command(tmp_path: Path) -> None:
    r = ok(cli("demo", "--list", cwd=tmp_path, columns=120))
    assert all(name in r.stdout for name in demos.DEMOS)
    r = cli("demo", "nope", cwd=tmp_path, columns=120)
    assert_clean(r, 2)
    assert "one-step-spike" in r.stderr, r.stderr
    r = ok(cli("demo", "one-step-spike", cwd=tmp_path, columns=120))
    out = tmp_path / "outputs" / "demos" / "one-step-spike"
    assert (out / "one_step_spike.png").is_file() and "pictures in" in r.stdout and "spike: yes" in r.stdout

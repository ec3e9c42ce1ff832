"""Demo real-mlp: the figure draws the recorded numbers; the demo's claim holds (slow: the full demo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from htdyn.demos import real_mlp  # noqa: E402


def test_figure_lines_and_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The alpha lines are the recorded alpha_Hill; the heat map cells are the histogram of the recorded ESD."""
    import htdyn
    from htdyn.plot import common
    from htdyn.plot.source import Source
    from htdyn.plot.spectra import log_esd_histograms

    drawn = []
    monkeypatch.setattr(common, "save", lambda fig, stem: drawn.append(fig) or [Path(f"{stem}.png")])
    data = real_mlp.load_data()
    paths = [tmp_path / f"lr{lr:g}.h5" for lr in real_mlp.LRS]
    for lr, p in zip(real_mlp.LRS, paths):
        real_mlp.train(lr, 10, p, data)
    real_mlp.figure(paths, tmp_path, 10)
    (fig,) = drawn
    axes = fig.axes
    lines = [ax for ax in axes if ax.lines and ax.get_ylabel() == r"$\alpha_{Hill}$"]
    assert len(lines) == 2
    for ax, p in zip(lines, paths):
        with htdyn.open(p) as traj:
            for line, run in zip(ax.lines, traj.runs):
                np.testing.assert_array_equal(line.get_xdata(), run.g["metrics/steps"][()])
                np.testing.assert_array_equal(line.get_ydata(), run.metrics["alpha_hill"])
    maps = [ax for ax in axes if ax.collections and "layer" in ax.get_title()]
    assert len(maps) == 6 and "Adam lr=0.001, layer 0 (256x64)" in maps[0].get_title()
    with Source(paths[1]) as src:
        st, spectra, _, H = log_esd_histograms(src.run(1), real_mlp.BINS)
        np.testing.assert_array_equal(spectra[-1], src.run(1).run.metrics["esd"][-1])  # the recorded ESD
    assert st == [0, 10]
    ax_titles = [ax.get_title() for ax in maps]
    k = ax_titles.index(next(t for t in ax_titles if t.startswith("Adam lr=0.1, layer 2")))
    cells = np.ma.filled(maps[k].collections[0].get_array().astype(float), np.nan).reshape(H.T.shape)
    np.testing.assert_allclose(cells, np.log10(np.where(H > 0, H, np.nan)).T, equal_nan=True)


@pytest.mark.slow
def test_the_demo_claim(tmp_path: Path) -> None:
    res = real_mlp.run(tmp_path)
    n = res.numbers
    for layer in ("0", "2"):
        assert n[f"lr0.1_layer{layer}_alpha_hill_end"] < n[f"lr0.001_layer{layer}_alpha_hill_end"]
    for lr in real_mlp.LRS:
        assert n[f"lr{lr:g}_test_accuracy"] > 0.9
    assert "alpha_Hill" in res.text and res.figures[0].exists()

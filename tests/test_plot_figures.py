"""Every figure of htdyn.plot, headless, on a tiny trajectory: image size, axes, labels, and what a file lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import htdyn
from htdyn.analysis.offline import analyze
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig
from htdyn.plot import (
    PlotError,
    animate_esd,
    plot_esd,
    plot_esd_evolution,
    plot_metrics,
    plot_overlaps,
    plot_update_spectra,
    save,
)

MODEL = ModelConfig(n=120, d=40, h=60, n_test=40)


def make_trajectory(path: Path, *, updates: bool = True, analysed: bool = True, lrs=(0.1, 3.0), steps: int = 4) -> Path:
    runs = [RunConfig(model=MODEL, optimizer=OptimizerConfig("adam", lr=lr)) for lr in lrs]
    sim = htdyn.simulation(runs, steps=steps, output=str(path))
    sim.snapshots.updates = updates
    htdyn.simulate(sim, overwrite=True)
    if analysed:
        analyze(path, metrics=["all"] if updates else ["esd", "norms", "powerlaw", "mp", "phase", "teacher"])
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("plot")
    full = make_trajectory(d / "full.h5")
    bare = d / "bare.h5"
    shutil.copy(full, bare)
    with h5py.File(bare, "a") as f:
        del f["analysis"]
    noup = make_trajectory(d / "noup.h5", updates=False)
    return {"full": full, "bare": bare, "noup": noup, "dir": d}


def _png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _check_saved(fig, stem: Path) -> None:
    paths = save(fig, stem)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    w, h = fig.get_size_inches() * fig.dpi
    assert _png_size(paths[0]) == (round(w), round(h))
    assert paths[1].read_bytes()[:5] == b"%PDF-"


def _labelled(ax) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_esd_figure(files, tmp_path: Path) -> None:
    fig = plot_esd(files["full"], 1)
    panels = [ax for ax in fig.axes if ax.containers]
    assert len(panels) == 2  # steps 0 and 4, one panel each
    assert "log" in panels[-1].get_xlabel() and all(ax.get_ylabel() and ax.get_yscale() == "log" for ax in panels)
    assert panels[0].get_title(loc="left").startswith("$t$=0") and panels[1].get_title(loc="left").startswith("$t$=4")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "ESD" in labels and "fitted MP bulk" in labels
    assert "run 1: adam lr=3" in fig.get_supxlabel()
    _check_saved(fig, tmp_path / "esd")


def test_esd_without_analysis_is_computed_from_W(files) -> None:
    """The file holds W but no ESD: the spectrum is computed, and equals the stored one of the analysed copy."""
    a = plot_esd(files["bare"], 1, [2])
    b = plot_esd(files["full"], 1, [2])
    ha = [[r.get_height() for r in c] for c in a.axes[0].containers]
    hb = [[r.get_height() for r in c] for c in b.axes[0].containers]
    assert len(ha) == len(hb) == 1 and np.array_equal(ha[0], hb[0]) and sum(ha[0]) == 40


def test_esd_evolution(files, tmp_path: Path) -> None:
    fig = plot_esd_evolution(files["full"], 1)
    assert len(fig.axes) == 4  # alpha strip, phase strip, heat map, colour bar
    assert all(_labelled(ax) for ax in fig.axes[2:3])
    _check_saved(fig, tmp_path / "evo")


def test_metrics_figure(files, tmp_path: Path) -> None:
    fig = plot_metrics(files["full"], 0)
    from htdyn.plot.metrics import PANELS

    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == [p[1] for p in PANELS]  # one quantity per panel (tests/test_figures_metrics_cli.py: the data)
    assert fig.axes[-1].get_xlabel().startswith("step")
    _check_saved(fig, tmp_path / "metrics")


def test_overlap_and_update_figures(files, tmp_path: Path) -> None:
    fig = plot_overlaps(files["full"], 1, 1, k=5)
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 4 and all(ax.images[0].get_array().shape == (5, 5) for ax in maps)
    arr = np.asarray(maps[0].images[0].get_array())
    assert np.all((arr >= -1e-12) & (arr <= 1 + 1e-12))
    _check_saved(fig, tmp_path / "ov")
    fig = plot_update_spectra(files["full"], 1)
    assert all(_labelled(ax) for ax in fig.axes)
    _check_saved(fig, tmp_path / "up")


def test_animation(files, tmp_path: Path) -> None:
    from PIL import Image

    out = animate_esd(files["full"], tmp_path / "a.gif", 1)
    with Image.open(out) as im:
        assert im.n_frames == 5  # steps 0..4
    with pytest.raises(PlotError, match="gif or .mp4"):
        animate_esd(files["full"], tmp_path / "a.avi", 1)


def test_figures_say_what_is_missing(files) -> None:
    with pytest.raises(PlotError, match="run: htdyn analyze"):
        plot_metrics(files["bare"], 0)
    with pytest.raises(PlotError, match="snapshots.updates=true"):
        plot_overlaps(files["noup"], 0)
    with pytest.raises(PlotError, match="holds runs 0..1"):
        plot_esd(files["full"], 5)
    with pytest.raises(PlotError, match="no update stored at step 9"):
        plot_overlaps(files["full"], 0, 9)

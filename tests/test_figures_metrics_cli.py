"""The metrics figure checks what it draws (one quantity per axes, legend clear of the caption, the KTA from
the stored W); `htdyn plot` refuses an unusable -o before drawing, and a diverged run leaks no warning."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from clitools import cli, htdyn_command, needs_htdyn, ok, one_line_error, write_config

from htdyn.plot import plot_metrics


def make_run(d: Path, name: str, opt: str = "adam", lr: float = 1.0, extra: str = "") -> Path:
    from htdyn.analysis.offline import analyze

    cfg = write_config(d / f"{name}.toml", name="m", steps=4, seed=0, model=extra, optimizer=opt, lr=lr,
                       extra="[snapshots]\nat = 1")
    path = d / f"{name}.h5"
    ok(cli("run", str(cfg), "-o", str(path), "-q", cwd=d))
    analyze(path)  # the default sets: no KTA (it needs the features set)
    return path


@pytest.fixture(scope="module")
def run_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    htdyn_command()
    return make_run(tmp_path_factory.mktemp("m"), "adam")


def test_metrics_one_quantity_per_axes_and_the_data_drawn(run_file: Path) -> None:
    from htdyn.analysis.offline import analyze, read_analysis

    fig = plot_metrics(run_file)
    axes = {ax.get_title(loc="left"): ax for ax in fig.axes}
    table = read_analysis(run_file).table()
    table = table[table["run"] == 0].sort_values("step")
    for title, col in ((r"$\alpha_{\rm Hill}$ (PL_Alpha_Hill)", "alpha_hill"),
                       (r"$\alpha_{\rm KS}$ (PL_Alpha_KS)", "alpha_ks"),
                       (r"stable rank $\|W\|_F^2/\|W\|_2^2$", "stable_rank"),
                       (r"spikes past the MP edge $\lambda_+$ + 3 TW", "n_spikes")):
        (ln,) = axes[title].get_lines()[:1]
        np.testing.assert_allclose(ln.get_xdata(), table["step"].to_numpy())
        np.testing.assert_allclose(ln.get_ydata(), table[col].to_numpy())
    ridge = axes["ridge read-out losses (the paper's train and test)"]
    net = axes["network losses"]
    assert ridge.get_yscale() == "linear" and net.get_yscale() == "log"
    assert {ln.get_label() for ln in ridge.get_lines()} >= {"train (probe ridge)", "test"}
    # the KTA: not in the analysis, computed from the stored W_t, equal to the features set's
    kta = {ln.get_label(): ln for ln in axes["alignment"].get_lines()}["KTA (uncentred)"]
    want = analyze(run_file, metrics=["features"], write=False).table().sort_values("step")
    np.testing.assert_allclose(kta.get_ydata(), want["kta"].to_numpy())
    # the phase legend and the settings caption do not meet; no empty axes
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    (legend,) = fig.legends
    assert not legend.get_window_extent(r).overlaps(fig._supxlabel.get_window_extent(r))
    assert all(not legend.get_window_extent(r).overlaps(ax.get_window_extent(r)) for ax in fig.axes)
    assert all(ax.get_lines() for ax in fig.axes)


@needs_htdyn
def test_a_diverged_run_draws_without_warnings(tmp_path: Path) -> None:
    path = make_run(tmp_path, "div", opt="gd", lr=1e30, extra='activation = "relu"')
    import htdyn

    with htdyn.open(path) as t:
        assert t.runs[0].diverged_step >= 0
    for kind in ("metrics", "esd", "evolution"):
        r = cli("plot", str(path), "--kind", kind, "-o", str(tmp_path / kind), cwd=tmp_path)
        assert r.returncode == 0 and "Warning" not in r.stderr and "warn" not in r.stderr, (kind, r.stderr)


@needs_htdyn
@pytest.mark.parametrize("case", ["under-a-file", "folder-as-stem", "unwritable-place", "read-only-folder"])
def test_plot_refuses_an_unusable_output_before_drawing(case: str, run_file: Path, tmp_path: Path) -> None:
    if case == "under-a-file":
        (tmp_path / "afile").write_text("x")
        stem, words = tmp_path / "afile" / "sub" / "fig", "is a file, not a folder"
    elif case == "folder-as-stem":
        (tmp_path / "fig.png").mkdir()
        stem, words = tmp_path / "fig", "is a folder"
    elif case == "unwritable-place":  # a place nobody may create folders in, as a missing mount is
        stem, words = Path("/proc/self/htdyn-figs/fig"), "cannot write in '/proc/self'"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        stem, words = ro / "fig", "cannot write in"
    before = sorted(p.name for p in tmp_path.iterdir())
    r = cli("plot", str(run_file), "--kind", "metrics", "-o", str(stem), cwd=tmp_path)
    one_line_error(r, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing drawn, nothing created


@needs_htdyn
@pytest.mark.skipif(importlib.util.find_spec("htdyn.plot.style") is None, reason="htdyn.plot.style is not there yet")
def test_paper_style_writes_300_dpi_png_and_pdf(run_file: Path, tmp_path: Path) -> None:
    from PIL import Image

    r = cli("plot", str(run_file), "--kind", "metrics", "--style", "paper", "-o", str(tmp_path / "p"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "p.png") as im:
        assert round(im.info["dpi"][0]) == 300
    assert (tmp_path / "p.pdf").stat().st_size > 1000

"""`htdyn plot` and `htdyn report` through the installed command; the sweep figures on a table of several files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from clitools import cli, htdyn_command, needs_htdyn

GRID = """
name = "lrs"
steps = 3
seed = {seed}
[model]
n = 96
d = 32
h = 48
n_test = 32
[snapshots]
updates = {updates}
[grid]
"optimizer.name" = ["adam", "gd"]
"optimizer.lr" = [0.1, 10.0, 1000.0]
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli(*args, cwd=cwd, columns=120)


@pytest.fixture(scope="module")
def sweep_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    htdyn_command()
    d = tmp_path_factory.mktemp("sweep")
    out = []
    for seed in (0, 1):
        cfg = d / f"lrs{seed}.toml"
        cfg.write_text(GRID.format(seed=seed, updates="false"))
        path = d / f"lrs{seed}.h5"
        r = _cli("run", str(cfg), "-o", str(path), "-q", cwd=d)
        assert r.returncode == 0, r.stderr
        r = _cli("analyze", str(path), "-q", "--metrics", "esd,powerlaw,mp,phase,teacher,features", cwd=d)
        assert r.returncode == 0, r.stderr
        out.append(path)
    return out


def test_sweep_table_and_panels(sweep_files: list[Path], tmp_path: Path) -> None:
    from htdyn.plot import final_rows, plot_metric_vs, plot_phase_diagram, plot_sweep_panel, save, sweep_table

    df = sweep_table(sweep_files)
    for col in ("run_id", "repeat", "optimizer.name", "optimizer.lr", "step", "probe_loss", "test_loss",
                "alpha_hill", "alpha_ks", "kta", "sim_beta", "phase"):
        assert col in df.columns, col
    last = final_rows(df)
    assert len(last) == 12 and set(last["step"]) == {3} and set(last["repeat"]) == {0, 1}
    fig = plot_sweep_panel(df)
    panels = {ax.get_ylabel(): ax for ax in fig.axes}
    assert {"ridge read-out MSE", "KTA (uncentred)", r"sim$(W, \beta)$", r"$\alpha_{\rm Hill}$ (PL_Alpha_Hill)",
            r"$\alpha_{\rm KS}$ (PL_Alpha_KS)"} <= set(panels)
    hill = panels[r"$\alpha_{\rm Hill}$ (PL_Alpha_Hill)"]
    assert hill.get_xlabel() == r"$\log_{10}\eta$"
    # the alpha_Hill curve of Adam is the mean over the two repeats, at log10(lr)
    adam = [ln for ln in hill.get_lines() if ln.get_label() == "adam"][0]
    want = last[last["optimizer.name"] == "adam"].groupby("optimizer.lr")["alpha_hill"].mean()
    assert np.allclose(adam.get_xdata(), np.log10(want.index.to_numpy()))
    assert np.allclose(adam.get_ydata(), want.to_numpy())
    assert hill.collections  # the std band
    save(fig, tmp_path / "panel")
    fig = plot_phase_diagram(df[df["optimizer.name"] == "adam"])
    (mesh,) = fig.axes[0].collections
    assert mesh.get_array().shape in ((4, 3), (12,))  # 3 lrs x the 4 stored steps 0..3, one cell each
    fig = plot_metric_vs(df, "sim_beta", x="optimizer.lr")
    assert fig.axes[0].get_ylabel() == "sim_beta"


@needs_htdyn
def test_plot_command_writes_png_and_pdf(sweep_files: list[Path], tmp_path: Path) -> None:
    r = _cli("plot", str(sweep_files[0]), "--kind", "sweep", "-o", str(tmp_path / "s"), cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "s.png").stat().st_size > 1000 and (tmp_path / "s.pdf").stat().st_size > 1000
    r = _cli("plot", str(sweep_files[0]), "--kind", "esd", "--run", "2", "--steps", "0,3", "-o", str(tmp_path / "e"),
             cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "e.png").exists(), r.stderr


@needs_htdyn
@pytest.mark.parametrize("kind, words", [("metrics", "htdyn analyze"), ("overlaps", "snapshots.updates=true"),
                                         ("bogus", "choose from")])
def test_plot_says_what_to_run(kind: str, words: str, sweep_files: list[Path], tmp_path: Path) -> None:
    import h5py

    bare = tmp_path / "bare.h5"
    shutil.copy(sweep_files[0], bare)
    with h5py.File(bare, "a") as f:
        del f["analysis"]
    target = bare if kind != "overlaps" else sweep_files[0]
    r = _cli("plot", str(target), "--kind", kind, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], r.stderr


@needs_htdyn
def test_report_links_only_files_that_exist(tmp_path: Path) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(GRID.format(seed=0, updates="true").replace('[0.1, 10.0, 1000.0]', '[0.1, 3.0]')
                   .replace('["adam", "gd"]', '["adam"]'))
    path = tmp_path / "r.h5"
    assert _cli("run", str(cfg), "-o", str(path), "-q", cwd=tmp_path).returncode == 0
    assert _cli("analyze", str(path), "-q", "--metrics", "all", cwd=tmp_path).returncode == 0
    r = _cli("report", str(path), "-o", str(tmp_path / "rep"), "--max-runs", "1", cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    index = tmp_path / "rep" / "index.html"
    html = index.read_text()
    links = re.findall(r"(?:href|src)='([^'#][^']*)'", html)  # files (not the table of contents' anchors)
    # 5 figures of run 0 and 2 of the sweep, each a PNG and a PDF link and an img; the GIF, a link and an img
    assert len(links) == 7 * 3 + 2
    assert all((index.parent / ln).is_file() and (index.parent / ln).stat().st_size > 0 for ln in links)
    assert "not drawn" not in html and "adam lr=0.1" in html and "1 more runs" in html
    assert html.count("<tr>") == 3  # header + one summary row per run

"""The sweep figures check the data they draw: the phase diagram's cells per optimizer against the table's
modal phase and share, the sweep panel's curves against the table's means, the metrics figure's panels and
bounding boxes; the figure-kind registry; one run of a sweep by --select."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clitools import ROOT, cli, needs_htdyn, ok, one_line_error, write_config
from sweeptools import run_spec, spec_text

from htdyn.analysis.phases import PHASES
from htdyn.plot import PlotError, plot_phase_diagram, plot_sweep_panel, sweep_frame
from htdyn.plot.kinds import KINDS, kinds_markdown


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_spec(tmp_path_factory.mktemp("sw"), spec_text(store="spectra", steps=3, repeats=3))


def modal(phases: list) -> tuple[str, int, int]:
    """The most common phase (ties: the earlier in PHASES), its count and the repeats: computed here, apart."""
    names = ["non-finite" if p is None or p != p else p for p in phases]
    best = sorted(set(names), key=lambda p: (-names.count(p), PHASES.index(p)))[0]
    return best, names.count(best), len(names)


def planted_table() -> pd.DataFrame:
    """Two optimizers x 3 lrs x steps 0, 5, 3 repeats, with planted disagreements."""
    rows = []
    plan = {("adam", 5, 1.0): ["heavy-tailed", "heavy-tailed", "bulk-decay"],
            ("gd", 5, 100.0): ["bulk-decay", "random-like", "bulk+spikes"],
            ("gd", 5, 1.0): ["bleeding-out", "random-like", "bleeding-out"]}
    for opt in ("adam", "gd"):
        for lr in (0.1, 1.0, 100.0):
            for step in (0, 5):
                for rep in range(3):
                    ph = plan.get((opt, step, lr), ["random-like"] * 3)[rep]
                    rows.append({"run_id": f"{opt}{lr}{rep}", "repeat": rep, "optimizer.name": opt, "optimizer.lr": lr,
                                 "step": step, "phase": ph, "probe_loss": 0.5 + lr / 1000 + rep * 0.01,
                                 "test_loss": 1.0 - lr / 1000 + rep * 0.01, "alpha_hill": 2.5 - np.log10(lr) / 4 + rep,
                                 "alpha_ks": 3.0 + rep, "sim_beta": 0.1 * rep, "model.n": 64})
    return pd.DataFrame(rows)


def drawn_cells(ax) -> tuple[np.ndarray, dict[tuple[int, int], str]]:
    """The phase index per cell of a phase-diagram panel and the k/n texts by (row, column)."""
    from matplotlib.collections import QuadMesh

    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    coords = mesh.get_coordinates()  # (ny+1, nx+1, 2): a full grid, no gaps, unit cells
    ny, nx = coords.shape[0] - 1, coords.shape[1] - 1
    assert np.allclose(coords[0, :, 0], np.arange(nx + 1) - 0.5)
    assert np.allclose(coords[:, 0, 1], np.arange(ny + 1) - 0.5)
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    return np.ma.filled(mesh.get_array().reshape(ny, nx).astype(float), np.nan), texts


def check_cells_against_table(fig, df: pd.DataFrame, x: str = "optimizer.lr", y: str = "step") -> int:
    xs, ys = np.sort(df[x].unique()), np.sort(df[y].unique())
    panels = {ax.get_title(): ax for ax in fig.axes}
    mixed = 0
    for opt, g in df.groupby("optimizer.name"):
        codes, texts = drawn_cells(panels[opt])
        assert codes.shape == (len(ys), len(xs))
        for (xv, yv), cell in g.groupby([x, y]):
            ph, k, n = modal(cell["phase"].tolist())
            i, j = int(np.searchsorted(ys, yv)), int(np.searchsorted(xs, xv))
            assert PHASES[int(codes[i, j])] == ph, (opt, xv, yv)
            assert texts.get((i, j)) == (f"{k}/{n}" if k < n else None), (opt, xv, yv, texts)
            mixed += k < n
    return mixed


def test_phase_diagram_cells_are_the_modal_phase_per_optimizer() -> None:
    df = planted_table()
    fig = plot_phase_diagram(df)
    assert sorted(ax.get_title() for ax in fig.axes) == ["adam", "gd"]  # optimizers never pooled
    assert check_cells_against_table(fig, df) == 3
    ax = fig.axes[0]  # categorical axes: one tick per value, the values as labels
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "1", "100"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "5"]
    # a 1/3-1/3-1/3 tie goes to the earliest phase in PHASES, with its share 1/3
    codes, texts = drawn_cells([a for a in fig.axes if a.get_title() == "gd"][0])
    assert PHASES[int(codes[1, 2])] == "random-like" and texts[(1, 2)] == "1/3"


def test_phase_diagram_facets_every_other_axis_or_refuses() -> None:
    df = pd.concat([planted_table(), planted_table().assign(**{"model.n": 128})], ignore_index=True)
    fig = plot_phase_diagram(df)
    assert sorted(ax.get_title() for ax in fig.axes) == ["adam, model.n=128", "adam, model.n=64",
                                                          "gd, model.n=128", "gd, model.n=64"]
    with pytest.raises(PlotError, match="4 panels.*optimizer.name, model.n"):
        plot_phase_diagram(df, max_panels=3)


def test_phase_diagram_of_a_real_sweep(sweep_dir: Path) -> None:
    df = sweep_frame(sweep_dir)
    fig = plot_phase_diagram(df)
    check_cells_against_table(fig, df)
    assert "n=64 d=16 h=24" in fig._supxlabel.get_text()


def lines_by_label(ax) -> dict[str, object]:
    return {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def test_sweep_panel_curves_are_the_table_means(sweep_dir: Path) -> None:
    df = sweep_frame(sweep_dir)
    fig = plot_sweep_panel(df)
    last = df[df["step"] == df["step"].max()]
    by_y = {ax.get_ylabel(): ax for ax in fig.axes}
    colors = {}
    for ylab, col in (("ridge read-out MSE", "probe_loss"), ("ridge read-out MSE", "test_loss"),
                      (r"sim$(W, \beta)$", "sim_beta"), (r"$\alpha_{\rm Hill}$ (PL_Alpha_Hill)", "alpha_hill"),
                      (r"$\alpha_{\rm KS}$ (PL_Alpha_KS)", "alpha_ks")):
        ax = by_y[ylab]
        assert ax.get_xlabel() == r"$\log_{10}\eta$"
        for opt, g in last.groupby("optimizer.name"):
            label = opt + {"probe_loss": " train", "test_loss": " test"}.get(col, "")
            ln = lines_by_label(ax)[label]
            want = g.groupby("optimizer.lr")[col].mean()
            np.testing.assert_allclose(ln.get_xdata(), np.log10(want.index.to_numpy()))
            np.testing.assert_allclose(ln.get_ydata(), want.to_numpy())
            assert colors.setdefault(opt, ln.get_color()) == ln.get_color()  # one colour per optimizer
            if col in ("probe_loss", "test_loss"):
                assert ln.get_linestyle() == ("--" if col == "probe_loss" else "-")
    assert colors["gd"] != colors["adam"]
    # no KTA in a spectra store: no KTA panel, and the caption says why; no empty panel
    assert "KTA (uncentred)" not in by_y and "no KTA panel" in fig._supxlabel.get_text()
    assert all(ax.get_lines() or ax.patches for ax in fig.axes)
    title = fig._suptitle.get_text()
    assert "step 3" in title and "3 repeat" in title and "n=64 d=16 h=24" in title


def test_sweep_panel_draws_kta_where_the_table_has_it() -> None:
    df = planted_table().assign(kta=lambda d: 0.01 * d["optimizer.lr"])
    fig = plot_sweep_panel(df)
    ax = {a.get_ylabel(): a for a in fig.axes}["KTA (uncentred)"]
    ln = lines_by_label(ax)["adam"]
    np.testing.assert_allclose(ln.get_ydata(), [0.001, 0.01, 1.0])
    assert "no KTA panel" not in fig._supxlabel.get_text()


def test_sweep_phase_strip_cells_do_not_overlap() -> None:
    fig = plot_sweep_panel(planted_table())
    ax = [a for a in fig.axes if a.get_yticklabels() and a.get_yticklabels()[0].get_text() == "adam"][0]
    for row in (0, 1):
        cells = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches
                       if abs(p.get_y() - (row - 0.5)) < 1e-9)
        assert len(cells) == 3
        assert all(np.isclose(a[1], b[0]) for a, b in zip(cells, cells[1:]))  # they meet: no gap, no overlap


@pytest.mark.parametrize("fn", [plot_sweep_panel, plot_phase_diagram])
def test_sweep_figures_refuse_one_value_of_lr(fn) -> None:
    df = planted_table()
    with pytest.raises(PlotError, match="two or more values of optimizer.lr"):
        fn(df[df["optimizer.lr"] == 1.0])


def test_the_cli_and_the_docs_list_the_registry() -> None:
    docs = (ROOT / "docs" / "figures.md").read_text()
    assert kinds_markdown() in docs
    import inspect

    from htdyn.cli.plot import plot
    help_text = inspect.signature(plot).parameters["kind"].default.help
    assert all(name in help_text for name in KINDS)


@needs_htdyn
def test_plot_one_run_of_a_sweep_by_what_it_is(sweep_dir: Path, tmp_path: Path) -> None:
    import htdyn
    from htdyn.plot.source import Source, select_sweep_run

    sel = ["--select", "optimizer.name=adam", "--select", "optimizer.lr=0.5"]
    for kind in ("esd", "evolution", "metrics", "animation"):
        r = cli("plot", str(sweep_dir), "--kind", kind, *sel, "--repeat", "1", "-o", str(tmp_path / kind),
                cwd=tmp_path)
        assert r.returncode == 0 and "Traceback" not in r.stderr and "Warning" not in r.stderr, (kind, r.stderr)
    assert (tmp_path / "esd.png").stat().st_size > 1000 and (tmp_path / "animation.gif").is_file()
    # the run drawn is the one selected: its stored ESD is what the figures read
    path, index = select_sweep_run(sweep_dir, ["optimizer.name=adam", "optimizer.lr=5e-1"], 1)
    sw = htdyn.open_sweep(sweep_dir)
    (want,) = [r for r in sw.runs if r.point == {"optimizer.name": "adam", "optimizer.lr": 0.5} and r.repeat == 1]
    assert (Path(path), index) == (want.file, want.index)
    with Source(path) as src, sw.trajectory(want) as (_, run):
        rv = src.run(index)
        np.testing.assert_array_equal(rv.esd(3), np.sort(run.metrics["esd"][-1]))
    for args, words in ((["--select", "optimizer.name=adam"], "matches 9 runs.*optimizer.lr= one of 0.05, 0.5, 5"
                         ".*--repeat one of 0..2"),
                        ([*sel, "--repeat", "7"], "repeats 0..2"),
                        (["--select", "optimizer.lr=7", "--repeat", "0"], "matches no run.*0.05, 0.5, 5"),
                        (["--select", "model.n=3"], "axis of sweep 'tiny': optimizer.name, optimizer.lr"),
                        ([*sel, "--repeat", "0", "--kind", "overlaps"], "needs the updates M_t"),
                        (["--run", "2"], "is a sweep directory: pick its run with --select"),
                        ([*sel, "--repeat", "0", "-o", str(sweep_dir / "batches")], "is a folder")):
        r = cli("plot", str(sweep_dir), *(args if "--kind" in args else ["--kind", "esd", *args]), cwd=tmp_path)
        err = one_line_error(r)
        assert re.search(words, err), err


@needs_htdyn
@pytest.mark.parametrize("kind", ["sweep", "phase-diagram"])
def test_sweep_kinds_refuse_a_one_run_file(kind: str, sweep_dir: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "one.toml", name="one", steps=2, extra="[snapshots]\nat = 1")
    one = tmp_path / "one.h5"
    ok(cli("run", str(cfg), "-o", str(one), "-q", cwd=tmp_path))
    ok(cli("analyze", str(one), "-q", cwd=tmp_path))
    r = cli("plot", str(one), "--kind", kind, "-o", str(tmp_path / "x"), cwd=tmp_path)
    one_line_error(r, "two or more values of optimizer.lr")
    assert not list(tmp_path.glob("x.*"))

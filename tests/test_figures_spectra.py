"""What the spectrum figures draw, checked against the data: the ESD panels, the evolution's cells, the animation's
frames, the result objects' pictures, the paper style, and a light ``import htdyn``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import htdyn
from htdyn.analysis import mp, phases, powerlaw
from htdyn.analysis.esd import esd
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig
from htdyn.plot import PlotError, plot_esd, plot_esd_evolution, plot_overlaps, plot_update_spectra, save, style
from htdyn.plot.animate import animate_esd, esd_frames
from htdyn.plot.common import OKABE_ITO, new_figure
from htdyn.plot.source import Source
from htdyn.plot.spectra import COUNT_FLOOR, MAX_MARKED, draw_esd, log_bin_edges

SHAPE = (600, 200)  # (h, d): N = 600, M = 200


def _gauss(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(SHAPE)


def _spiked(strength: float = 6.0, seed: int = 0) -> np.ndarray:
    """A Gaussian W plus one rank-one spike far past the BGN threshold: one isolated outlier."""
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal(SHAPE[0]), rng.standard_normal(SHAPE[1])
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    return _gauss(seed) + strength * np.sqrt(np.sqrt(np.prod(SHAPE))) * np.outer(u, v) * 3


def _bars(ax) -> np.ndarray:
    return np.array([r.get_height() for r in ax.containers[0]])


def _lines(ax, prefix: str) -> list:
    return [ln for ln in ax.get_lines() if ln.get_label().startswith(prefix)]


# --------------------------------------------------------------------------- the ESD panel


def test_esd_panel_bars_mp_scale_and_one_marked_spike() -> None:
    ev = np.asarray(esd(_spiked()))
    fig = new_figure()
    ax = fig.add_subplot()
    drawn = draw_esd(ax, ev, SHAPE)
    edges = drawn["edges"]
    assert np.array_equal(_bars(ax), np.histogram(np.log10(ev), bins=edges)[0])
    fit = mp.fit_bulk(ev, SHAPE)
    out = ev[ev > fit.threshold]
    assert out.size == 1 and np.array_equal(drawn["marked"], out)  # the spike, marked
    (marker,) = _lines(ax, "spike")
    assert np.allclose(marker.get_xdata(), np.log10(out))
    assert any(t.get_text() == rf"$\lambda$={out[0]:.3g}" for t in ax.texts)  # with its value
    # the one-eigenvalue bar is not a stub: it fills log10(1/0.3) of the log axis, >= 15% of its height
    lo, hi = ax.get_ylim()
    assert lo == COUNT_FLOOR and np.log10(1 / lo) / np.log10(hi / lo) > 0.15
    # the MP curve: expected counts n_bulk p(x) x ln10 w; integrated over log10 x it holds n_bulk eigenvalues
    (curve,) = _lines(ax, "fitted MP")
    x, y = curve.get_xdata(), curve.get_ydata()
    w = np.diff(edges).mean()
    assert np.trapezoid(y, x) / w == pytest.approx(fit.n_bulk, rel=0.02)
    assert x[-1] == pytest.approx(np.log10(fit.lambda_plus), abs=0.01)  # the curve ends at the edge
    assert not _lines(ax, "power law")  # a spike is not a heavy tail: no power law drawn
    assert phases.classify_phase(ev, SHAPE).phase == "bulk+spikes"


def test_esd_panel_many_outliers_are_shaded_not_a_rug_and_a_claimed_tail_is_drawn() -> None:
    rng = np.random.default_rng(3)
    W = rng.pareto(1.5, SHAPE) * rng.choice([-1, 1], SHAPE)  # heavy-tailed entries: a power-law ESD
    ev = np.asarray(esd(W))
    res = phases.classify_phase(ev, SHAPE)
    assert res.phase == "heavy-tailed"
    ax = new_figure().add_subplot()
    drawn = draw_esd(ax, ev, SHAPE, phase=res)
    assert drawn["outliers"].size > 5 * MAX_MARKED
    marks = _lines(ax, "spike")
    assert drawn["marked"].size <= MAX_MARKED and sum(len(m.get_xdata()) for m in marks) == drawn["marked"].size
    assert any(p.get_label().startswith("past") for p in ax.patches)  # the region shaded instead
    assert "KS" in drawn["powerlaws"]
    (law,) = _lines(ax, "power law (KS)")
    ks = powerlaw.fit_ks(ev[ev > 0])
    x, y = 10 ** law.get_xdata(), law.get_ydata()
    w = np.diff(drawn["edges"]).mean()
    assert np.allclose(y, ks.k * (ks.alpha - 1) / ks.xmin * (x / ks.xmin) ** -ks.alpha * x * np.log(10) * w)
    assert x[0] == pytest.approx(ks.xmin)


def test_pure_mp_draws_no_power_law_and_no_outlier() -> None:
    ev = np.asarray(esd(_gauss(1)))
    ax = new_figure().add_subplot()
    drawn = draw_esd(ax, ev, SHAPE)
    assert drawn["powerlaws"] == [] and drawn["marked"].size == 0 and not _lines(ax, "power law")


def test_bins_follow_freedman_diaconis() -> None:
    ev = np.asarray(esd(_gauss(2)))
    lg = np.log10(ev)
    assert log_bin_edges([ev]).size - 1 == np.histogram_bin_edges(lg, bins="fd").size - 1
    assert log_bin_edges([ev], 30).size == 31
    with pytest.raises(PlotError, match="'fd'"):
        log_bin_edges([ev], "auto")


# --------------------------------------------------------------------------- figures from a file


@pytest.fixture(scope="module")
def uneven(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with snapshots at uneven steps (0, 1, 2, 5, 12) and its updates."""
    path = tmp_path_factory.mktemp("spectra") / "uneven.h5"
    run = RunConfig(model=ModelConfig(n=160, d=40, h=80, n_test=40), optimizer=OptimizerConfig("adam", lr=3.0))
    sim = htdyn.simulation([run], steps=12, output=str(path))
    sim.snapshots.at = [0, 1, 2, 5, 12]
    sim.snapshots.updates = True
    htdyn.simulate(sim, overwrite=True)
    return path


def test_plot_esd_small_multiples_share_x_and_draw_each_step(uneven: Path) -> None:
    fig = plot_esd(uneven, 0, [0, 2, 12])
    panels = [ax for ax in fig.axes if ax.containers]
    assert len(panels) == 3
    assert len({ax.get_xlim() for ax in panels}) == 1 and len({ax.get_ylim() for ax in panels}) == 1
    with Source(uneven) as src:
        rv = src.run(0)
        spectra = [rv.esd(t) for t in (0, 2, 12)]
    edges = log_bin_edges(spectra)
    for ax, ev in zip(panels, spectra):
        assert np.array_equal(_bars(ax), np.histogram(np.log10(ev[ev > 0]), bins=edges)[0])
    assert _lines(panels[1], r"$\lambda_+$ of $W_{0}$") and not _lines(panels[0], r"$\lambda_+$ of")
    (legend,) = fig.legends  # one legend for all panels, each entry once
    labels = [t.get_text() for t in legend.get_texts()]
    assert len(labels) == len(set(labels)) and {"ESD", "fitted MP bulk", r"$\lambda_+$ of $W_{0}$"} <= set(labels)


def test_figures_compose_into_a_users_layout(uneven: Path) -> None:
    fig = new_figure(12, 8)
    left, right = fig.subfigures(1, 2)
    assert plot_esd(uneven, 0, [0, 12], fig=left) is fig
    assert plot_overlaps(uneven, 0, 1, k=4, fig=right) is fig
    assert len([ax for ax in left.axes if ax.containers]) == 2 and len([ax for ax in right.axes if ax.images]) == 4
    assert fig.get_supxlabel() == ""  # a caller's figure gets no caption of ours
    fig2 = new_figure()
    a, b = fig2.subplots(1, 2)
    assert plot_esd(uneven, 0, [0, 12], ax=[a, b]) is fig2 and _bars(b).sum() == 40
    assert plot_esd(uneven, 0, [5], ax=a) is fig2
    assert plot_update_spectra(uneven, 0, fig=new_figure().subfigures(1, 1)) is not None
    with pytest.raises(PlotError, match="one Axes per step"):
        plot_esd(uneven, 0, [0, 5, 12], ax=[a, b])


def test_evolution_phase_bar_sits_on_the_heat_maps_cells(uneven: Path) -> None:
    fig = plot_esd_evolution(uneven, 0)
    ax_a, ax_p, ax = fig.axes[:3]
    (mesh,) = ax.collections
    xe = mesh.get_coordinates()[0, :, 0]
    assert np.allclose(xe, [-0.5, 0.5, 1.5, 3.5, 8.5, 15.5])  # midpoints between 0, 1, 2, 5, 12
    bars = ax_p.patches
    left = np.array([b.get_x() for b in bars])
    right = left + np.array([b.get_width() for b in bars])
    assert np.allclose(left, xe[:-1]) and np.allclose(right, xe[1:])  # the same cells, no gap
    assert ax.get_xlim() == ax_p.get_xlim() == ax_a.get_xlim() == (xe[0], xe[-1])
    fig.canvas.draw()
    bb, bp = ax.get_position(), ax_p.get_position()
    assert bb.x0 == pytest.approx(bp.x0) and bb.x1 == pytest.approx(bp.x1)  # the colour bar takes its own column


# --------------------------------------------------------------------------- the animation


def test_animation_axes_are_fixed_and_frames_draw_the_spectra(uneven: Path, tmp_path: Path) -> None:
    with Source(uneven) as src:
        rv = src.run(0)
        fr = esd_frames(rv)
        spectra = [rv.esd(t) for t in fr.steps]
    limits = set()
    bars = [p for p in fr.ax.patches if p.get_label() == "$W_t$"][0]
    for i, ev in enumerate(spectra):
        fr.update(i)
        limits.add((fr.ax.get_xlim(), fr.ax.get_ylim()))
        c = np.histogram(np.log10(ev[ev > 0]), bins=fr.edges)[0]
        vals = bars.get_data().values
        assert np.array_equal(vals[c > 0], c[c > 0]) and np.all(vals[c == 0] < COUNT_FLOOR)
        (marks,) = _lines(fr.ax, "outliers")
        assert np.allclose(marks.get_xdata(), np.log10(fr.marked[i]))
        thr = phases.classify_phase(ev, rv.shape).features["threshold"]
        assert np.all(fr.marked[i] > thr)
    assert len(limits) == 1
    assert fr.ax.get_xlim()[0] <= fr.edges[0] and fr.ax.get_xlim()[1] >= fr.edges[-1]
    labels = [t.get_text() for t in fr.ax.get_legend().get_texts()]
    assert len(labels) == len(set(labels)) == 4 and r"MP edge $\lambda_+$ of $W_{0}$" in labels
    from PIL import Image

    out = animate_esd(uneven, tmp_path / "a.gif")
    with Image.open(out) as im:
        assert im.n_frames == 5 and im.size[0] >= 900


# --------------------------------------------------------------------------- result objects, style, import


def test_result_objects_plot_themselves() -> None:
    ev = np.asarray(esd(_spiked()))
    ks = powerlaw.fit_ks(ev)
    fig = ks.plot(evals=ev)
    ax = fig.axes[0]
    (fit_line,) = _lines(ax, "fit (ks)")
    assert fit_line.get_ydata()[0] == pytest.approx(ks.k / ev.size)  # P(X >= xmin) = k / n
    assert np.allclose(fit_line.get_ydata(), ks.k / ev.size * (fit_line.get_xdata() / ks.xmin) ** (1 - ks.alpha))
    (data,) = _lines(ax, "data")
    assert np.allclose(data.get_ydata(), (ev.size - np.arange(ev.size)) / ev.size)
    fit = mp.fit_bulk(ev, SHAPE)
    (law,) = _lines(fit.plot().axes[0], "bulk law")
    assert np.trapezoid(law.get_ydata(), law.get_xdata()) == pytest.approx(1.0, abs=0.02)  # a density (Q > 1)
    user = new_figure()
    a = user.add_subplot()
    assert fit.plot(a, evals=ev) is user
    assert np.array_equal(_bars(a), np.histogram(np.log10(ev), log_bin_edges([ev]))[0])
    res = phases.classify_phase(ev, SHAPE)
    assert res.plot().axes[0].get_title(loc="left").startswith("phase: bulk+spikes")
    assert res.plot(evals=ev, shape=SHAPE).axes[0].containers


def test_analysis_and_a_bare_import_load_no_matplotlib() -> None:
    code = ("import sys, htdyn\n"
            "from htdyn.analysis import mp, phases, powerlaw\n"
            "assert callable(htdyn.plot.plot_esd) and callable(htdyn.demos.run) and callable(htdyn.plot.style)\n"
            "print(sorted(m for m in sys.modules if m.startswith('matplotlib')))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_paper_style_sets_and_restores(tmp_path: Path) -> None:
    import matplotlib

    before = dict(matplotlib.rcParams)
    with style("paper"):
        assert matplotlib.rcParams["savefig.dpi"] == 300 and matplotlib.rcParams["pdf.fonttype"] == 42
        assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == list(OKABE_ITO.values())
        fig = new_figure(7.0, 3.0)
        fig.add_subplot().plot([0, 1])
        png, pdf = save(fig, tmp_path / "p")
        from PIL import Image

        with Image.open(png) as im:
            assert im.size == (2100, 900)
        assert pdf.read_bytes()[:5] == b"%PDF-"
    assert dict(matplotlib.rcParams) == before
    with pytest.raises(PlotError, match="choose from paper, default"):
        style("poster")


_SYMBOL = re.compile(r"\b(sigma|alpha|lambda|beta)(_|\b)|\b[WM]_\{?\w|\b\w+\^\w")


def _plain_symbols(fig) -> list[str]:
    """Texts of a figure with a symbol written outside mathtext (sigma_1, alpha_Hill, W_t, ...)."""
    texts = [fig.get_supxlabel() or "", fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        texts += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(loc="left"), ax.get_title()]
        texts += [t.get_text() for t in ax.texts]
        if ax.get_legend():
            texts += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in texts if _SYMBOL.search(re.sub(r"\$[^$]*\$", "", t))]


def test_labels_use_mathtext_for_symbols(uneven: Path) -> None:
    for fig in (plot_esd(uneven, 0), plot_esd_evolution(uneven, 0), plot_overlaps(uneven, 0, 1, k=4),
                plot_update_spectra(uneven, 0)):
        assert not _plain_symbols(fig)

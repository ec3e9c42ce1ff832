r"""An animation of the ESD evolving: one frame per stored spectrum, alpha_Hill and the phase in the title.

Every frame has the same axes: x is the common range of log10 lambda over all frames and y the
eigenvalue count per bin (log, from 0.3 to three times the largest count of any frame), fixed
before the first frame, so the bulk standing still and a spike moving read as they are.  Drawn:
the ESD of W_0 (grey line) behind W_t (filled), the MP edge lambda_+ of W_0 (dashed), and the
outliers of W_t past its own fitted lambda_+ + 3 TW (triangles, the value of each when there
are at most five; past that, the spikes detached from the bulk, and the count in the corner).
The artists are updated in place (no ``ax.clear()``), so the legend is made once.

GIF through matplotlib's PillowWriter (Pillow comes with matplotlib); MP4 through FFMpegWriter
only where ``ffmpeg`` is on the PATH.  1000 x 560 pixels (10 x 5.6 in at 100 dpi).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import phases
from .common import PlotError, target_figure
from .source import Source, open_source
from .spectra import (
    COUNT_FLOOR,
    EDGE0_COLOR,
    HIST_COLOR,
    MAX_MARKED,
    OUT_COLOR,
    detached,
    label_values,
    log_esd_histograms,
)

__all__ = ["animate_esd", "esd_frames", "EsdFrames", "has_ffmpeg", "HIDDEN"]

#: what a bin with no eigenvalue is drawn at: below the axis (COUNT_FLOOR), so it is not seen
HIDDEN = COUNT_FLOOR / 10


def has_ffmpeg() -> bool:
    """Whether MP4 animations can be written (``ffmpeg`` on the PATH).

    Returns
    -------
    bool
        True when ``ffmpeg`` is found; GIFs need no ffmpeg.

    Examples
    --------
    >>> from htdyn.plot import has_ffmpeg
    >>> has_ffmpeg() in (True, False)
    True
    """
    return shutil.which("ffmpeg") is not None


@dataclass
class EsdFrames:
    """The figure of an ESD animation and the function that draws frame ``i`` into it.

    ``counts[i]`` are the eigenvalues per bin of ``edges`` (log10 lambda) at ``steps[i]``;
    ``marked[i]`` the outliers marked in that frame; ``update(i)`` draws frame i.
    """

    fig: Any
    ax: Any
    steps: list[int]
    edges: np.ndarray
    counts: list[np.ndarray]
    marked: list[np.ndarray]
    labels: list[str]
    update: Callable[[int], None]


def _frame_data(spectra: list[np.ndarray], edges: np.ndarray, shape: tuple[int, int]) -> tuple[list, list, list]:
    counts, marked, labels = [], [], []
    for s in spectra:
        c = np.histogram(np.log10(s[s > 0]), bins=edges)[0]
        res = phases.classify_phase(s, shape)
        f = res.features
        out = s[s > f.get("threshold", np.inf)] if np.isfinite(f.get("threshold", np.nan)) else s[:0]
        mk = np.sort(out) if out.size <= MAX_MARKED else detached(out, edges, c, f["lambda_plus"])[-MAX_MARKED:]
        a = f.get("alpha_hill", np.nan)
        labels.append(rf"$\alpha_{{\rm Hill}}$={a:.2f}, {res.phase}; {out.size} outliers past $\lambda_+ + 3\,$TW"
                      + (rf", top $\lambda$={s.max():.3g}" if out.size else ""))
        counts.append(c)
        marked.append(mk)
    return counts, marked, labels


def esd_frames(rv: Any, *, bins: int | str = "fd", fig: Any = None) -> EsdFrames:
    """Build the animation's figure for run view ``rv`` and its frame function (nothing drawn per frame yet)."""
    steps, spectra, edges, _ = log_esd_histograms(rv, bins)
    counts, marked, labels = _frame_data(spectra, edges, rv.shape)
    target, _ = target_figure(fig, 10.0, 5.6, dpi=100)
    ax = target.add_subplot()
    ax.set_yscale("log")
    ax.set_xlim(edges[0] - 0.02 * np.ptp(edges), edges[-1] + 0.04 * np.ptp(edges))
    ax.set_ylim(COUNT_FLOOR, 3.0 * max(float(c.max()) for c in counts))
    ax.set_autoscale_on(False)
    ax.stairs(np.where(counts[0] > 0, counts[0], HIDDEN), edges, color=EDGE0_COLOR, lw=1.6, baseline=None,
              label=f"$W_{{{steps[0]}}}$")
    bars = ax.stairs(np.full(edges.size - 1, HIDDEN), edges, fill=True, baseline=HIDDEN, color=HIST_COLOR, alpha=0.55,
                     label="$W_t$")
    try:
        from ..analysis import mp

        ax.axvline(np.log10(mp.fit_bulk(spectra[0], rv.shape).lambda_plus), color="k", ls="--", lw=1.2,
                   label=rf"MP edge $\lambda_+$ of $W_{{{steps[0]}}}$")
    except ValueError:
        pass
    (marks,) = ax.plot([], [], "v", color=OUT_COLOR, ms=9, label="outliers (spikes)")
    texts: list[Any] = []
    ax.set_xlabel(r"$\log_{10}\lambda$  (eigenvalues of $W_t^\top W_t$)", fontsize="large")
    ax.set_ylabel("eigenvalues per bin", fontsize="large")
    ax.tick_params(labelsize="medium")
    ax.legend(fontsize="medium", loc="upper right")
    title = ax.set_title("", fontsize="large", loc="left")

    def update(i: int) -> None:
        c = counts[i]
        bars.set_data(np.where(c > 0, c, HIDDEN), edges, baseline=HIDDEN)
        lg = np.log10(marked[i])
        k = np.clip(np.searchsorted(edges, lg, side="right") - 1, 0, c.size - 1)
        y = np.maximum(c[k], 1) * 1.7
        marks.set_data(lg, y)
        for t in texts:
            t.remove()
        texts[:] = label_values(ax, marked[i], y, edges, fontsize="medium")
        title.set_text(f"{rv.title}, $t$={steps[i]}: {labels[i]}")

    return EsdFrames(target, ax, steps, edges, counts, marked, labels, update)


def animate_esd(src: str | os.PathLike | Source, out: str | os.PathLike, run: int = 0, *, fps: int = 4,
                bins: int | str = "fd", fig: Any = None) -> Path:
    """Write the ESD evolution of one run to ``out`` (``.gif``, or ``.mp4`` with ffmpeg); returns the path.

    Frames as the module says (:func:`esd_frames`): one per stored spectrum (a snapshot W_t, or
    the ESD an online ``esd`` metric set stored).  The file is written under a temporary name
    and renamed when complete.

    Parameters
    ----------
    src : str, path-like or Source
        A trajectory file (or an open :class:`~htdyn.plot.source.Source`).
    out : str or path-like
        The animation: ``.gif`` (Pillow) or ``.mp4`` (needs ffmpeg, :func:`has_ffmpeg`).
    run : int
        The run (or watched layer) of the file.
    fps : int
        Frames per second.
    bins : int or str
        Bins of log10 lambda, as :func:`~htdyn.plot.spectra.log_bin_edges` takes (``"fd"``: Freedman-Diaconis).
    fig : matplotlib Figure, optional
        A Figure to draw into (its size is the animation's); default 10 x 5.6 in at 100 dpi.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    PlotError
        ``out`` is not ``.gif`` / ``.mp4``, an MP4 without ffmpeg, or a run with no spectrum.

    Examples
    --------
    A GIF of a tiny run's three spectra (W_0, W_1, W_2), drawn small to be quick:

    >>> import htdyn, tempfile
    >>> from matplotlib.figure import Figure
    >>> from htdyn.plot import animate_esd, has_ffmpeg
    >>> tmp = tempfile.mkdtemp()
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)), steps=2,
    ...                        output=f"{tmp}/demo.h5")
    >>> path = htdyn.simulate(sim).path
    >>> gif = animate_esd(path, f"{tmp}/esd.gif", fps=2, fig=Figure(figsize=(5, 3), dpi=60))
    >>> from PIL import Image
    >>> with Image.open(gif) as im:
    ...     im.n_frames, im.size
    (3, (300, 180))

    An MP4 needs ffmpeg on the PATH (written only where it is installed):

    >>> if has_ffmpeg():
    ...     _ = animate_esd(path, f"{tmp}/esd.mp4", fps=2, fig=Figure(figsize=(5, 3), dpi=60))
    """
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

    out = Path(out)
    if out.suffix not in (".gif", ".mp4"):
        raise PlotError(f"animation {str(out)!r}: the file name must end in .gif or .mp4")
    if out.suffix == ".mp4" and not has_ffmpeg():
        raise PlotError("an MP4 animation needs ffmpeg on the PATH; write a .gif instead")
    source, own = open_source(src)
    try:
        frames = esd_frames(source.run(run), bins=bins, fig=fig)
        anim = FuncAnimation(frames.fig, frames.update, frames=len(frames.steps))
        writer = PillowWriter(fps=fps) if out.suffix == ".gif" else FFMpegWriter(fps=fps)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
        anim.save(str(tmp), writer=writer)
        os.replace(tmp, out)
        return out
    finally:
        if own:
            source.close()

"""An animation of the ESD evolving: one frame per stored spectrum, alpha_Hill and the phase in the title.

GIF through matplotlib's PillowWriter (Pillow comes with matplotlib); MP4 through FFMpegWriter
only where ``ffmpeg`` is on the PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..analysis import phases
from .common import PlotError, new_figure
from .source import Source, open_source
from .spectra import log_esd_histograms

__all__ = ["animate_esd", "has_ffmpeg"]


def has_ffmpeg() -> bool:
    """Whether MP4 animations can be written (``ffmpeg`` on the PATH)."""
    return shutil.which("ffmpeg") is not None


def animate_esd(src: str | os.PathLike | Source, out: str | os.PathLike, run: int = 0, *, fps: int = 4,
                bins: int = 80) -> Path:
    """Write the ESD evolution of one run to ``out`` (``.gif``, or ``.mp4`` with ffmpeg); returns the path.

    Every frame is the histogram of log10 lambda (density, log scale) on a common grid, the
    initial ESD in grey behind it, and ``t``, alpha_Hill and the phase in the title.
    """
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

    out = Path(out)
    if out.suffix not in (".gif", ".mp4"):
        raise PlotError(f"animation {str(out)!r}: the file name must end in .gif or .mp4")
    if out.suffix == ".mp4" and not has_ffmpeg():
        raise PlotError("an MP4 animation needs ffmpeg on the PATH; write a .gif instead")
    source, own = open_source(src)
    try:
        rv = source.run(run)
        steps, spectra, edges, H = log_esd_histograms(rv, bins)
        labels = []
        for s in spectra:
            res = phases.classify_phase(s, rv.shape)
            labels.append((res.features.get("alpha_hill", float("nan")), res.phase))
        fig = new_figure(6.0, 4.0, dpi=90)
        ax = fig.add_subplot()
        H0, top = H[0], H.max()

        def frame(i: int) -> None:
            ax.clear()
            ax.stairs(np.where(H0 > 0, H0, np.nan), edges, color="0.6", label="step 0")
            H, _ = np.histogram(np.log10(spectra[i][spectra[i] > 0]), bins=edges, density=True)
            ax.stairs(np.where(H > 0, H, np.nan), edges, fill=True, alpha=0.6, color="tab:blue",
                      label=f"step {steps[i]}")
            ax.set_yscale("log")
            ax.set_ylim(top * 1e-3, top * 2)
            ax.set_xlabel(r"$\log_{10}\lambda$ (eigenvalues of $W_t^\top W_t$)")
            ax.set_ylabel(r"density per unit $\log_{10}\lambda$")
            a, ph = labels[i]
            ax.set_title(f"{rv.title}, t={steps[i]}: alpha_Hill={a:.2f}, {ph}", fontsize=9)
            ax.legend(fontsize=7, loc="upper right")

        anim = FuncAnimation(fig, frame, frames=len(steps))
        writer = PillowWriter(fps=fps) if out.suffix == ".gif" else FFMpegWriter(fps=fps)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
        anim.save(str(tmp), writer=writer)
        os.replace(tmp, out)
        return out
    finally:
        if own:
            source.close()

"""Figures of stored results: spectra, metrics against step, update overlaps, sweeps, animations, reports.

Every function returns a :class:`matplotlib.figure.Figure` (built without pyplot, on an Agg
canvas) and reads only what a file or table stores; :func:`save` writes PNG and PDF.
The spectrum, overlap and result figures draw into a caller's ``ax=`` or ``fig=`` (a Figure or
SubFigure), so they compose into a layout of one's own; :func:`style` (``style("paper")``)
sets the look.  Importing this package imports no matplotlib and no numpy: the figure
functions load on first use (PEP 562), so ``htdyn plot --help`` and the figure-kind registry
(:mod:`htdyn.plot.kinds`) stay light.  See docs/figures.md.
"""

from __future__ import annotations

import importlib
from typing import Any

from .common import PlotError, save
from .style import style

#: public name -> the submodule that defines it (loaded on first use)
_LAZY = {
    "animate_esd": "animate", "has_ffmpeg": "animate", "plot_metrics": "metrics", "plot_overlaps": "overlaps",
    "plot_update_spectra": "overlaps", "write_report": "report", "plot_mp_fit": "results",
    "plot_phase_result": "results", "plot_powerlaw_fit": "results", "draw_esd": "spectra", "plot_esd": "spectra",
    "plot_esd_evolution": "spectra", "final_rows": "sweep", "plot_metric_vs": "sweep",
    "plot_phase_diagram": "sweep", "plot_sweep_panel": "sweep", "sweep_frame": "sweep", "sweep_table": "sweep",
}

_SUBMODULES = {"animate", "common", "kinds", "metrics", "output", "overlaps", "phasediagram", "report", "results",
               "source", "spectra", "sweep", "sweeptable"}

__all__ = ["PlotError", "save", "plot_esd", "plot_esd_evolution", "plot_metrics", "plot_overlaps",
           "plot_update_spectra", "plot_sweep_panel", "plot_metric_vs", "plot_phase_diagram", "sweep_table",
           "final_rows", "animate_esd", "has_ffmpeg", "write_report", "draw_esd", "plot_powerlaw_fit", "plot_mp_fit",
           "plot_phase_result", "style", "sweep_frame"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Figures of stored results: spectra, metrics against step, update overlaps, sweeps, animations, reports.

Every function returns a :class:`matplotlib.figure.Figure` (built without pyplot, on an Agg
canvas) and reads only what a file or table stores; :func:`save` writes PNG and PDF.
The spectrum, overlap and result figures draw into a caller's ``ax=`` or ``fig=`` (a Figure or
SubFigure), so they compose into a layout of one's own; :func:`style` (``style("paper")``)
sets the look.  Importing this package imports no matplotlib (each figure imports it when
drawn).  See docs/figures.md.
"""

from .animate import animate_esd, has_ffmpeg
from .common import PlotError, save
from .metrics import plot_metrics
from .overlaps import plot_overlaps, plot_update_spectra
from .report import write_report
from .results import plot_mp_fit, plot_phase_result, plot_powerlaw_fit
from .spectra import draw_esd, plot_esd, plot_esd_evolution
from .style import style
from .sweep import final_rows, plot_metric_vs, plot_phase_diagram, plot_sweep_panel, sweep_frame, sweep_table

__all__ = ["PlotError", "save", "plot_esd", "plot_esd_evolution", "plot_metrics", "plot_overlaps",
           "plot_update_spectra", "plot_sweep_panel", "plot_metric_vs", "plot_phase_diagram", "sweep_table",
           "final_rows", "animate_esd", "has_ffmpeg", "write_report", "draw_esd", "plot_powerlaw_fit", "plot_mp_fit",
           "plot_phase_result", "style", "sweep_frame"]

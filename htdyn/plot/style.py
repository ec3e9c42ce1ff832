"""Figure styles: ``htdyn.plot.style("paper")`` for figures that go into a two-column paper.

``style(name)`` sets matplotlib's rcParams at once and returns a context manager that puts
them back on exit, so it works both ways::

    htdyn.plot.style("paper")                 # from here on (a setter)
    with htdyn.plot.style("paper"):           # only inside the block
        htdyn.plot.save(htdyn.plot.plot_esd("outputs/demo.h5"), "figs/esd")

The figures of :mod:`htdyn.plot` are built outside pyplot but read rcParams when they are
drawn, so a style applies to every figure made (and saved) inside it.

``"paper"``: the figures keep their size (about 7 in wide, the text width of a two-column
page, so they are placed at 1:1); 10 pt text, 9 pt ticks and 8 pt legends and captions, so no
text is below 8 pt on the page (single-column figures: draw into a 3.4 in figure of your own
with ``fig=``/``ax=``); the Okabe-Ito palette (Okabe & Ito 2008, distinguishable under the
common colour-vision deficiencies) as the colour cycle and viridis for maps; PNGs at 300 dpi
(:func:`htdyn.plot.save` writes PNG and PDF); TrueType fonts embedded in the PDF (type 42, so
the text stays text); mathtext in STIX sans, matching the sans-serif text.
``"default"``: matplotlib's defaults for the same keys, with the Okabe-Ito cycle.
"""

from __future__ import annotations

from typing import Any

from .common import OKABE_ITO, PlotError

__all__ = ["style", "STYLES", "StyleContext"]


def _cycle() -> Any:
    from cycler import cycler

    return cycler(color=list(OKABE_ITO.values()))


def _paper() -> dict[str, Any]:
    return {
        "font.size": 10.0, "axes.titlesize": 10.0, "axes.labelsize": 10.0, "xtick.labelsize": 9.0,
        "ytick.labelsize": 9.0, "legend.fontsize": 8.0, "figure.titlesize": 11.0, "figure.labelsize": 10.0,
        "lines.linewidth": 1.5, "lines.markersize": 4.5, "axes.linewidth": 0.8, "axes.prop_cycle": _cycle(),
        "image.cmap": "viridis", "savefig.dpi": 300, "pdf.fonttype": 42, "ps.fonttype": 42,
        "mathtext.fontset": "stixsans", "legend.frameon": False,
    }


def _default() -> dict[str, Any]:
    from matplotlib import rcParamsDefault

    keys = _paper().keys()
    return {**{k: rcParamsDefault[k] for k in keys}, "axes.prop_cycle": _cycle()}


#: style name -> function giving its rcParams
STYLES = {"paper": _paper, "default": _default}


class StyleContext:
    """The rcParams a :func:`style` call replaced; leaving the ``with`` block puts them back."""

    def __init__(self, name: str, old: dict[str, Any]):
        self.name = name
        self.old = old

    def __enter__(self) -> StyleContext:
        return self

    def __exit__(self, *exc: Any) -> None:
        import matplotlib

        matplotlib.rcParams.update(self.old)

    def __repr__(self) -> str:
        return f"<htdyn.plot style {self.name!r}>"


def style(name: str = "paper") -> StyleContext:
    """Apply the figure style ``name`` (``"paper"`` or ``"default"``); as a context manager, undo it on exit.

    Raises :class:`~htdyn.plot.common.PlotError` (one line naming the valid styles) for an
    unknown name.

    Parameters
    ----------
    name : {"paper", "default"}

    Returns
    -------
    StyleContext
        Usable as a context manager.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.plot import plot_powerlaw_fit, style
    >>> from htdyn.analysis.powerlaw import fit_hill
    >>> with style("paper"):
    ...     fig = plot_powerlaw_fit(fit_hill(np.exp(np.arange(10.0))))
    >>> len(fig.axes)
    1
    """
    if name not in STYLES:
        raise PlotError(f"unknown figure style {name!r}; choose from {', '.join(STYLES)}")
    import matplotlib

    rc = STYLES[name]()
    old = {k: matplotlib.rcParams[k] for k in rc}
    matplotlib.rcParams.update(rc)
    return StyleContext(name, old)

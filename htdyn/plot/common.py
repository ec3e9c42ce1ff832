"""What every figure shares: a headless Figure, a caption line, saving as PNG and PDF.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas, never through
pyplot, so nothing touches matplotlib's global state (a notebook shows a returned Figure
inline by its ``_repr_png_``; a script saves it with :func:`save`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import HtdynError

__all__ = ["PlotError", "NEEDS", "LAYER_NEEDS", "how_to_get", "need_pandas", "new_figure", "add_caption", "save",
           "run_caption", "FORMATS", "PHASE_COLORS", "OKABE_ITO", "root_figure", "target_axes", "target_figure"]

#: the formats :func:`save` writes by default
FORMATS = ("png", "pdf")
#: one colour per Martin-Mahoney phase (the order of :data:`htdyn.analysis.phases.PHASES`)
PHASE_COLORS = {
    "random-like": "#d9d9d9", "bleeding-out": "#a6cee3", "bulk+spikes": "#1f78b4", "bulk-decay": "#fdbf6f",
    "heavy-tailed": "#e31a1c", "rank-collapse": "#6a3d9a", "non-finite": "#000000",
}

#: Okabe & Ito's (2008) colour-blind-safe palette, by name
OKABE_ITO = {
    "blue": "#0072B2", "vermillion": "#D55E00", "bluish green": "#009E73", "orange": "#E69F00",
    "reddish purple": "#CC79A7", "sky blue": "#56B4E9", "yellow": "#F0E442", "black": "#000000",
}


class PlotError(HtdynError):
    """A figure was asked of a file (or table) that lacks what it needs; the message says what to run.

    An :class:`htdyn.HtdynError`: ``htdyn plot`` prints it on one line and exits with 2.

    Attributes
    ----------
    args : tuple
        ``(message,)``: one line naming the file, run or column, and what would make the figure.

    Examples
    --------
    The overlap maps need the updates M_t, which this tiny run does not store:

    >>> import htdyn, tempfile
    >>> from htdyn.plot import PlotError, plot_overlaps
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)), steps=2,
    ...                        snapshots={"updates": False}, output=f"{tempfile.mkdtemp()}/demo.h5")
    >>> path = htdyn.simulate(sim).path
    >>> try:
    ...     plot_overlaps(path)
    ... except PlotError as exc:
    ...     print(str(exc).replace(path, "FILE").split("; ")[0])
    the overlap maps: the updates M_t are needed and 'FILE' stores none
    """


def need_pandas(what: str) -> None:
    """Raise a PlotError naming the extra to install when pandas (the tables' library) is missing."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise PlotError(f"{what} needs pandas; install it: pip install 'htdyn[pandas]'") from None


def new_figure(width: float = 7.0, height: float = 4.5, dpi: int = 120) -> Any:
    """A Figure (inches, dots per inch) on an Agg canvas, outside pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def root_figure(artist: Any) -> Any:
    """The top-level Figure of an Axes, a SubFigure or a Figure."""
    get = getattr(artist, "get_figure", None)
    root = get(root=True) if get is not None else None
    return artist if root is None else root


def target_figure(fig: Any, width: float, height: float, dpi: int = 120) -> tuple[Any, bool]:
    """``(figure to draw into, made here)``: the Figure or SubFigure passed as ``fig=``, else a new one."""
    if fig is None:
        return new_figure(width, height, dpi), True
    if not hasattr(fig, "add_subplot"):
        raise PlotError(f"fig= must be a matplotlib Figure or SubFigure, not {type(fig).__name__}")
    return fig, False


def target_axes(ax: Any, width: float, height: float, dpi: int = 120) -> tuple[Any, Any, bool]:
    """``(axes, its root Figure, made here)``: the Axes passed as ``ax=``, else one on a new Figure."""
    if ax is None:
        fig = new_figure(width, height, dpi)
        return fig.add_subplot(), fig, True
    if not hasattr(ax, "plot"):
        raise PlotError(f"ax= must be a matplotlib Axes, not {type(ax).__name__}")
    return ax, root_figure(ax), False


def add_caption(fig: Any, text: str) -> None:
    """Put a caption (the run's settings) under the figure, in small type, wrapped to the figure's width.

    Lines break at spaces only (never at a hyphen), so mathtext written without spaces
    (``$M_1=W_1-W_0$``) is never split.
    """
    import textwrap

    width = int(fig.get_figwidth() * 16)
    lines = textwrap.wrap(text, width, break_on_hyphens=False)
    fig.supxlabel("\n".join(lines), fontsize="small", color="0.3")


def save(fig: Any, stem: str | os.PathLike, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.png``, ``stem.pdf`` (or ``formats``); returns the paths.

    The parent directory is created.  A file is written under a temporary name and
    renamed, so an existing figure is replaced only by a complete one.

    Parameters
    ----------
    fig : matplotlib Figure
    stem : str or path
        The path without the extension.
    formats : sequence of str
        Extensions to write.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from htdyn.plot import save
    >>> import tempfile
    >>> [p.name for p in save(Figure(), f"{tempfile.mkdtemp()}/empty")]
    ['empty.png', 'empty.pdf']
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = stem.with_name(f"{stem.name}.{fmt}")
        tmp = p.with_name(f".{p.name}.tmp")
        fig.savefig(tmp, format=fmt)
        os.replace(tmp, p)
        paths.append(p)
    return paths


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def run_caption(config: Mapping[str, Any], extra: str = "") -> str:
    """A one-line summary of a run's config: optimizer, lr, sizes, teacher, noise, seed.

    ``config`` is the run's config dict (``Run.config``: model / optimizer / schedule / seeds).
    """
    m = config.get("model", {})
    o = config.get("optimizer", {})
    parts = [f"{o.get('name', '?')} lr={_fmt(o.get('lr', '?'))}"]
    if o.get("batch_size"):
        parts.append(f"batch={o['batch_size']}")
    sch = config.get("schedule", {})
    if sch.get("name", "constant") != "constant":
        parts.append(f"schedule={sch['name']}(gamma={_fmt(sch.get('gamma'))})")
    if config.get("weight_norm"):
        parts.append("weight-norm")
    parts.append(f"n={m.get('n')} d={m.get('d')} h={m.get('h')}")
    parts.append(f"{m.get('teacher', '?')} teacher, {m.get('activation', '?')} student, "
                 f"noise={_fmt(m.get('noise_std'))}")
    parts.append(f"seed={config.get('seed')}")
    text = ", ".join(parts)
    return f"{text}; {extra}" if extra else text


#: what a figure may need, and how a file gets it (the end of the one-line message when it lacks it)
NEEDS = {
    "esd": "an ESD per step: the ESDs a sweep or htdyn analyze stores, or stored W_t "
           "(htdyn run CONFIG --set snapshots.at=1)",
    "W": "the stored W_t (htdyn run CONFIG --set snapshots.at=1)",
    "updates": "the updates M_t (htdyn run CONFIG --set snapshots.updates=true --set snapshots.at=1)",
    "metrics": "metrics per step: the analysis (htdyn analyze FILE) or the online metrics a sweep stores",
    "table": "runs at two or more values of an axis: a sweep directory or an analysed file of several runs",
}

#: how a watched model's file (htdyn.watch) gets what it lacks
LAYER_NEEDS = {"W": "the stored W_t (htdyn.watch(..., store='full'))",
               "updates": "the updates M_t (htdyn.watch(..., store='full'))"}


def how_to_get(need: str, layer: bool = False) -> str:
    """What ``need`` (a key of :data:`NEEDS`) is and how a file gets it: a simulator's run, or a watched layer."""
    return (LAYER_NEEDS if layer else {}).get(need, NEEDS[need])

"""The figure kinds of ``htdyn plot --kind``: one registry, from which the CLI's choices, its help and
the list in docs/figures.md are made.

Each :class:`FigureKind` declares its function, what stored data it needs (:data:`NEEDS`) and
whether it draws one run (``scope="run"``: a trajectory file's run, or one run of a sweep
picked with ``--select``) or several (``scope="sweep"``: a sweep directory's table, or the
analysed runs of one file).  To add a kind: write its function in a module of ``htdyn.plot``,
add one entry to :data:`KINDS` and a test; the CLI and the docs follow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import NEEDS, PlotError, how_to_get

__all__ = ["FigureKind", "KINDS", "NEEDS", "get_kind", "kinds_help", "kinds_markdown", "check_run"]


@dataclass(frozen=True)
class FigureKind:
    """One figure kind.

    Attributes
    ----------
    name : the ``--kind`` value
    title : what the figure shows, in a few words
    scope : ``"run"`` (one run) or ``"sweep"`` (a table of runs)
    needs : keys of :data:`NEEDS`
    draw : ``draw(source, run, steps) -> Figure`` for a run, ``draw(table) -> Figure`` for a sweep;
        for an animation ``draw(source, run, steps, path) -> Path``
    animation : writes a GIF (or MP4) instead of PNG and PDF
    """

    name: str
    title: str
    scope: str
    needs: tuple[str, ...]
    draw: Callable[..., Any]
    animation: bool = False


def _esd(src: Any, run: int, steps: Sequence[int]) -> Any:
    from .spectra import plot_esd

    return plot_esd(src, run, list(steps) or None)


def _evolution(src: Any, run: int, steps: Sequence[int]) -> Any:
    from .spectra import plot_esd_evolution

    return plot_esd_evolution(src, run)


def _metrics(src: Any, run: int, steps: Sequence[int]) -> Any:
    from .metrics import plot_metrics

    return plot_metrics(src, run)


def _overlaps(src: Any, run: int, steps: Sequence[int]) -> Any:
    from .overlaps import plot_overlaps

    return plot_overlaps(src, run, steps[0] if steps else None)


def _updates(src: Any, run: int, steps: Sequence[int]) -> Any:
    from .overlaps import plot_update_spectra

    return plot_update_spectra(src, run, list(steps) or None)


def _animation(src: Any, run: int, steps: Sequence[int], path: Path) -> Path:
    from .animate import animate_esd

    return animate_esd(src, path, run)


def _sweep(table: Any) -> Any:
    from .sweep import plot_sweep_panel

    return plot_sweep_panel(table)


def _phase_diagram(table: Any) -> Any:
    from .sweep import plot_phase_diagram

    return plot_phase_diagram(table)


#: every figure kind, by name, in the order the help lists them
KINDS: dict[str, FigureKind] = {k.name: k for k in (
    FigureKind("esd", "the ESD of W_t^T W_t at chosen steps (--steps; default first and last)", "run", ("esd",), _esd),
    FigureKind("evolution", "the ESD against step as a heat map, with the phase", "run", ("esd",), _evolution),
    FigureKind("metrics", "losses, alphas, stable rank, spikes, alignment and sigma_1 against step", "run",
               ("metrics",), _metrics),
    FigureKind("overlaps", "overlaps of the top singular vectors of W_t and the update M_t (--steps: t)", "run",
               ("updates", "W"), _overlaps),
    FigureKind("updates", "the top singular values and stable rank of the updates against step", "run",
               ("updates",), _updates),
    FigureKind("animation", "a GIF of the ESD evolving", "run", ("esd",), _animation, animation=True),
    FigureKind("sweep", "the paper's lr-sweep panel: losses, sim, alphas and phase against lr", "sweep",
               ("table",), _sweep),
    FigureKind("phase-diagram", "the phase over lr x step, one panel per optimizer (and other axis)", "sweep",
               ("table",), _phase_diagram),
)}


def get_kind(name: str) -> FigureKind:
    """The kind called ``name``; PlotError listing the kinds otherwise."""
    if name not in KINDS:
        raise PlotError(f"--kind {name!r}: choose from {', '.join(KINDS)}")
    return KINDS[name]


def check_run(kind: FigureKind, rv: Any, where: str, note: str = "") -> None:
    """Raise PlotError in one line when run view ``rv`` lacks what ``kind`` needs (``where`` names it,
    ``note`` ends the line)."""
    have = {"esd": bool(rv.esd_steps()), "W": len(rv.run.steps) > 0, "updates": bool(rv.update_steps()),
            "metrics": rv.has_metrics()}
    for need in kind.needs:
        if not have.get(need, True):
            text = how_to_get(need, rv.is_layer).replace("FILE", rv.source.path)
            raise PlotError(f"--kind {kind.name} needs {text}; {where} has none{note}")


def kinds_help() -> str:
    """The ``--kind`` help of the CLI: every kind with what it shows."""
    return "; ".join(f"{k.name}: {k.title}" for k in KINDS.values())


def kinds_markdown() -> str:
    """The table of kinds in docs/figures.md (between its ``kinds`` markers; a test keeps them equal)."""
    lines = ["| `--kind` | figure | of | needs |", "|---|---|---|---|"]
    for k in KINDS.values():
        of = "one run (a file's `--run`, or a sweep's `--select`/`--repeat`)" if k.scope == "run" else \
            "a sweep directory, or a file of several analysed runs"
        lines.append(f"| `{k.name}` | {k.title} | {of} | {'; '.join(NEEDS[n].split(':')[0] for n in k.needs)} |")
    return "\n".join(lines)

"""``htdyn plot``: draw one figure of a trajectory file (stored results only) as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from .app import app, out

KINDS = ("esd", "evolution", "metrics", "overlaps", "updates", "sweep", "phase-diagram", "animation")


@app.command()
def plot(
    path: Path = typer.Argument(..., help="Trajectory file (.h5) written by htdyn run, or a sweep directory."),
    kind: str = typer.Option("esd", "--kind", "-k", help=f"Figure: {', '.join(KINDS)}."),
    run: int = typer.Option(0, "--run", "-r", help="Run index (htdyn info lists them)."),
    steps: str = typer.Option("", "--steps", help="Steps for esd (comma list; default first and last) or the "
                              "update step for overlaps."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Output stem (default: beside the file, "
                                       "<stem>_<kind>_run<i>); .png and .pdf are added (.gif for animation)."),
) -> None:
    """Draw one figure from what a trajectory file stores (never re-running anything).

    A spectrum is read from the file's analysis (htdyn analyze) and computed from the
    stored W only where there is none; metrics, sweep and phase-diagram need the
    analysis, overlaps and updates need stored updates: a file without them gets one
    line saying what to run, and exit code 2.

    A sweep directory (htdyn sweep ... -o DIR) gives the sweep panel and the phase
    diagram from its results table (htdyn.open_sweep(DIR).table()).

    Example: htdyn plot outputs/demo.h5 --kind metrics --run 2
    """
    from ..errors import HtdynError
    from ..plot import animate, metrics, overlaps, save, spectra, sweep
    from ..plot.source import Source

    if kind not in KINDS:
        raise HtdynError(f"--kind {kind!r}: choose from {', '.join(KINDS)}")
    try:
        step_list = [int(s) for s in steps.split(",") if s.strip()]
    except ValueError:
        raise HtdynError(f"--steps {steps!r}: give integers separated by commas, e.g. 0,10") from None
    if (path / "sweep.json").is_file():
        _plot_sweep_dir(path, kind, output)
        return
    stem = output if output is not None else path.with_name(f"{path.stem}_{kind}_run{run}")
    with Source(path) as src:
        src.run(run)  # a bad index is an error before any work
        if kind == "animation":
            gif = stem if stem.suffix in (".gif", ".mp4") else stem.with_name(stem.name + ".gif")
            written = [animate.animate_esd(src, gif, run)]
        else:
            if kind == "esd":
                fig = spectra.plot_esd(src, run, step_list or None)
            elif kind == "evolution":
                fig = spectra.plot_esd_evolution(src, run)
            elif kind == "metrics":
                fig = metrics.plot_metrics(src, run)
            elif kind == "overlaps":
                fig = overlaps.plot_overlaps(src, run, step_list[0] if step_list else None)
            elif kind == "updates":
                fig = overlaps.plot_update_spectra(src, run, step_list or None)
            elif kind == "sweep":
                fig = sweep.plot_sweep_panel(sweep.sweep_table([path]))
            else:
                fig = sweep.plot_phase_diagram(sweep.sweep_table([path]))
            written = save(fig, stem)
    for p in written:
        out.print(f"wrote {escape(str(p))}", highlight=False)


def _plot_sweep_dir(path: Path, kind: str, output: Path | None) -> None:
    """The sweep panel or phase diagram of a sweep directory, from its results table."""
    from ..errors import HtdynError
    from ..plot import save, sweep
    from ..sweep.results import open_sweep

    if kind not in ("sweep", "phase-diagram"):
        raise HtdynError(f"{str(path)!r} is a sweep directory: --kind sweep or phase-diagram; for one run's "
                         f"figures plot its batch file ({path}/batches/b-*.h5)")
    table = open_sweep(path).table()
    fig = sweep.plot_sweep_panel(table) if kind == "sweep" else sweep.plot_phase_diagram(table)
    for p in save(fig, output if output is not None else path / kind.replace("-", "_")):
        out.print(f"wrote {escape(str(p))}", highlight=False)

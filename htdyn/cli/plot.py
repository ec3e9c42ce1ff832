"""``htdyn plot``: draw one figure of a trajectory file or a sweep directory (stored results only).

The figure kinds, their help and what each needs come from :data:`htdyn.plot.kinds.KINDS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ..plot.kinds import KINDS, kinds_help
from .app import app, out

STYLES = ("default", "paper")


@app.command()
def plot(
    path: Path = typer.Argument(..., help="Trajectory file (.h5) written by htdyn run, or a sweep directory."),
    kind: str = typer.Option("esd", "--kind", "-k", help=f"Figure, one of {', '.join(KINDS)}: {kinds_help()}."),
    run: int | None = typer.Option(None, "--run", "-r", help="Run index in a file (htdyn info lists them; "
                                   "default 0)."),
    select: list[str] = typer.Option([], "--select", "-s", help="In a sweep directory: AXIS=VALUE, once per axis "
                                     "(e.g. --select optimizer.name=adam --select optimizer.lr=1); picks the run "
                                     "of a per-run kind, or the part of the table a sweep kind draws."),
    repeat: int | None = typer.Option(None, "--repeat", help="In a sweep directory: the repeat (0-based) of the "
                                      "run to draw."),
    steps: str = typer.Option("", "--steps", help="Steps for esd (comma list; default first and last) or the "
                              "update step for overlaps."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Output stem (default: beside the file, "
                                       "<stem>_<kind>_run<i>); .png and .pdf are added (.gif for animation)."),
    style: str = typer.Option("default", "--style", help="default, or paper: htdyn.plot.style('paper'), "
                              "fonts for a two-column layout, a colour-blind-safe palette, 300-dpi PNG and PDF."),
) -> None:
    """Draw one figure from what a trajectory file or a sweep stores (never re-running anything).

    A file's run is picked with --run; a sweep directory's run with --select AXIS=VALUE and --repeat.

    A figure whose data the file lacks gets one line saying what it needs, and exit code 2.

    An output place that cannot be written is refused the same way, before any figure is drawn.

    Examples:

      htdyn plot outputs/demo.h5 --kind metrics --run 2

      htdyn plot outputs/lr_small --kind phase-diagram

      htdyn plot outputs/lr_small --kind esd --select optimizer.name=adam --select optimizer.lr=1 --repeat 0
    """

    from ..errors import HtdynError
    from ..plot.kinds import get_kind
    from ..plot.output import check_output, output_paths

    fk = get_kind(kind)
    if style not in STYLES:
        raise HtdynError(f"--style {style!r}: choose from {', '.join(STYLES)}")
    try:
        step_list = [int(s) for s in steps.split(",") if s.strip()]
    except ValueError:
        raise HtdynError(f"--steps {steps!r}: give integers separated by commas, e.g. 0,10") from None
    is_sweep = (path / "sweep.json").is_file()
    if not is_sweep and (select or repeat is not None):
        raise HtdynError(f"--select and --repeat pick a run of a sweep directory; {str(path)!r} is not one "
                         "(pick a file's run with --run)")
    if is_sweep and run is not None:
        raise HtdynError(f"{str(path)!r} is a sweep directory: pick its run with --select AXIS=VALUE and --repeat, "
                         "not --run")
    if path.is_dir() and not is_sweep:
        raise HtdynError(f"{str(path)!r} is a folder but not a sweep directory (no sweep.json); give a trajectory "
                         "file or a directory written by htdyn sweep")
    if not is_sweep and not path.is_file():
        raise HtdynError(f"no such trajectory file or sweep directory: {str(path)!r}")
    run = run or 0
    stem = output if output is not None else _default_stem(path, fk.name, run, select, repeat, is_sweep)
    if fk.animation:
        targets = [stem if stem.suffix in (".gif", ".mp4") else stem.with_name(stem.name + ".gif")]
    else:
        targets = output_paths(stem, ("png", "pdf"))
    check_output(targets, stem=stem)
    if style == "paper":
        _paper_style()
    written = _draw(fk, path, is_sweep, run, select, repeat, step_list, targets, stem)
    for p in written:
        out.print(f"wrote {escape(str(p))}", highlight=False)


def _default_stem(path: Path, kind: str, run: int, select: list[str], repeat: int | None, is_sweep: bool) -> Path:
    stub = kind.replace("-", "_")
    if not is_sweep:
        return path.with_name(f"{path.stem}_{kind}_run{run}")
    tags = [s.partition("=")[2].replace("/", "_") for s in select] + ([f"rep{repeat}"] if repeat is not None else [])
    return path / "_".join([stub, *tags])


def _paper_style() -> None:
    """``htdyn.plot.style("paper")`` for this command: its fonts, palette and 300-dpi PNGs."""
    from ..plot.style import style as set_style

    set_style("paper")


def _draw(fk: Any, path: Path, is_sweep: bool, run: int, select: list[str], repeat: int | None,
          step_list: list[int], targets: list[Path], stem: Path) -> list[Path]:
    """Draw kind ``fk`` and write it; returns the files written."""
    from ..plot import save
    from ..plot.kinds import check_run
    from ..plot.source import Source, select_sweep_run

    if fk.scope == "sweep":
        fig = fk.draw(_sweep_table(path, is_sweep, select))
    else:
        where, note = f"{str(path)!r} run {run}", ""
        if is_sweep:
            file, run = select_sweep_run(path, select, repeat)
            where = f"the run {', '.join(select)}, repeat {repeat} of sweep {str(path)!r}"
            note = " (a sweep's store keeps only what its store = ... names; run that point alone with htdyn run)"
        else:
            file = str(path)
        with Source(file) as src:
            rv = src.run(run)
            check_run(fk, rv, where, note)
            if fk.animation:
                return [fk.draw(src, run, step_list, targets[0])]
            fig = fk.draw(src, run, step_list)
    return save(fig, stem)


def _sweep_table(path: Path, is_sweep: bool, select: list[str]) -> Any:
    """The table a sweep kind draws: a sweep directory's (with --select applied) or a file's runs."""
    from ..errors import HtdynError
    from ..plot.source import matches
    from ..plot.sweep import sweep_frame, sweep_table

    if not is_sweep:
        return sweep_table([path])
    df = sweep_frame(path)
    for item in select:
        key, sep, text = item.partition("=")
        if not sep or key not in df.attrs["axes"]:
            raise HtdynError(f"--select {item!r}: give AXIS=VALUE with an axis of the sweep: "
                             f"{', '.join(df.attrs['axes'])}")
        keep = df[key].map(lambda v, t=text.strip(): matches(t, v))
        if not keep.any():
            raise HtdynError(f"--select {item!r} matches no run; {key} takes "
                             f"{', '.join(map(str, df[key].drop_duplicates()))}")
        df = df[keep]
    return df

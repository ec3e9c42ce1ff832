"""``htdyn report``: every figure of a trajectory file (or a folder of them) and an index.html."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from .app import app, console, out


@app.command()
def report(
    path: Path = typer.Argument(..., help="Trajectory file, a folder of them, or a sweep directory."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Folder to write (default: <stem>_report "
                                       "beside the file, or DIR/report)."),
    max_runs: int = typer.Option(12, "--max-runs", help="Draw the per-run figures of at most this many runs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress (bar or lines)."),
) -> None:
    """Write a folder with every figure (PNG and PDF), an animation and an index.html that explains them.

    Each figure gets a caption saying what to look for; runs at the paper's setting get the
    paper's numbers beside the measured ones.  Figures a file cannot give (no analysis: run
    htdyn analyze; no updates stored) are listed with the command that would make them.

    Example: htdyn report outputs/demo.h5 && xdg-open outputs/demo_report/index.html
    """
    from ..errors import HtdynError
    from ..plot.report import check_output_dir, report_plan, write_report

    if max_runs < 0:
        raise HtdynError(f"--max-runs {max_runs}: give 0 or more (the number of runs whose figures are drawn)")
    if not path.exists():
        raise HtdynError(f"no such trajectory file, folder or sweep: {str(path)!r}")
    if output is None:
        output = path / "report" if path.is_dir() else path.with_name(f"{path.stem}_report")
    check_output_dir(output)  # before any figure is drawn
    total = report_plan(path, max_runs)
    console.print(f"drawing {total} figures of {escape(str(path))} ...", highlight=False)
    if quiet:
        index = write_report(path, output, max_runs=max_runs)
    elif console.is_terminal:
        index = _with_bar(path, output, max_runs, total)
    else:
        start = time.perf_counter()

        def line(title: str, done: int, total: int) -> None:
            console.print(f"report: {done + 1}/{total + 1} {title} ({time.perf_counter() - start:.1f} s)",
                          markup=False, highlight=False, soft_wrap=True)

        index = write_report(path, output, max_runs=max_runs, progress=line)
    out.print(f"report written to [bold]{escape(str(index))}[/]")


def _with_bar(path: Path, output: Path, max_runs: int, total: int) -> Path:
    """A rich bar naming the figure being drawn."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..plot.report import write_report

    with Progress(TextColumn("report"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console) as bar:
        task = bar.add_task("", total=total + 1)

        def step(title: str, done: int, _total: int) -> None:
            bar.update(task, completed=done, description=escape(title))

        index = write_report(path, output, max_runs=max_runs, progress=step)
        bar.update(task, completed=total + 1, description="done")
    return index

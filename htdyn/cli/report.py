"""``htdyn report``: every figure of a trajectory file (or a folder of them) and an index.html."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from .app import app, console, out


@app.command()
def report(
    path: Path = typer.Argument(..., help="Trajectory file, or a folder of them."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Folder to write (default: <stem>_report "
                                       "beside the file, or DIR/report)."),
    max_runs: int = typer.Option(12, "--max-runs", help="Draw the per-run figures of at most this many runs."),
) -> None:
    """Write a folder with every figure (PNG and PDF) and an index.html showing them with the runs' settings.

    Figures a file cannot give (no analysis: run htdyn analyze; no updates stored) are
    listed in the index with the command that would make them.

    Example: htdyn report outputs/demo.h5 && xdg-open outputs/demo_report/index.html
    """
    from ..plot.report import write_report

    if output is None:
        output = path / "report" if path.is_dir() else path.with_name(f"{path.stem}_report")
    console.print(f"drawing the figures of {escape(str(path))} ...", highlight=False)
    index = write_report(path, output, max_runs=max_runs)
    out.print(f"report written to [bold]{escape(str(index))}[/]")

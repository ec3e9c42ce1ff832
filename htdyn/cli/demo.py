"""``htdyn demo NAME``: run a teaching demo, leave its pictures on disk, say what to look at."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from .app import app, console, out


@app.command()
def demo(
    name: str = typer.Argument("", help="Demo to run (htdyn demo --list shows them)."),
    list_: bool = typer.Option(False, "--list", "-l", help="List the demos and exit."),
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="Folder for its files (default outputs/demos/NAME)."),
    full: bool = typer.Option(False, "--full", help="Run at the paper's size (minutes) instead of the reduced one."),
) -> None:
    """Run a teaching demo (under a minute on 2 CPU cores at its reduced size).

    Each demo simulates, analyses, draws its figures into outputs/demos/NAME/ and
    prints what to look at, with the numbers it measured.

    Example: htdyn demo one-step-spike
    """
    from ..demos import DEMOS, describe, run
    from ..errors import HtdynError

    if list_:
        for key, summary in describe().items():
            out.print(f"{key:22s} {escape(summary)}", highlight=False, soft_wrap=True)
        return
    if not name:
        raise HtdynError(f"name a demo: {', '.join(DEMOS)} (htdyn demo --list)")
    run_name = name
    if run_name not in DEMOS:
        raise HtdynError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    from ..plot.report import check_output_dir

    output = check_output_dir(output if output is not None else Path("outputs") / "demos" / run_name)
    console.print(f"running demo {escape(run_name)} ({'paper' if full else 'reduced'} size) ...", highlight=False)
    res = run(run_name, output, quick=not full)
    out.print(escape(res.text), highlight=False, soft_wrap=True)
    out.print(f"pictures in [bold]{escape(str(res.outdir))}[/]")

"""``htdyn info``: what a trajectory file holds, and who is writing it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text

from .app import app, out
from .tables import RunTable, config_grid, swept_keys


@app.command()
def info(path: Path = typer.Argument(..., metavar="FILE", help="A trajectory file written by `htdyn run`.")) -> None:
    """Show what a trajectory file holds: config, status, runs, snapshots and final losses.

    Reads a file while it is written, too (NAME.partial.h5: how far the run got, and who
    writes it), and says how to continue a run that stopped.

    Example: htdyn info outputs/demo.h5
    """
    from ..io.reader import open as open_traj

    with open_traj(path) as traj:
        a = traj.attrs
        h, d = traj.runs[0].shape if traj.runs else (0, 0)
        out.print(f"[bold]{escape(str(path))}[/]  {escape(str(a.get('name')))}  format v{a.get('format_version')}  "
                  f"htdyn {a.get('htdyn_version')}  status {_status_text(traj)}", highlight=False)
        if traj.status != "complete" and not (traj.writer or {}).get("alive"):
            # the first thing to do with a stopped run (on its own line: a long path never breaks the command)
            out.print(f"continue it with: [bold]htdyn run --resume {escape(str(path))}[/]", highlight=False,
                      soft_wrap=True)
        took = a.get("timing_total_s")
        unit = "layer" if traj.unit == "layer" else "run"
        out.print(f"{len(traj.runs)} {unit}(s), W {h} x {d}, {a.get('steps')} steps  "
                  f"backend {a.get('backend')}/{a.get('device')} {a.get('dtype')}  "
                  f"created {a.get('created')}" + (f"  took {took:.2f} s" if took is not None else ""),
                  highlight=False)
        _info_table(traj)
        if traj.absent():
            out.print(Text(f"layers of a watched model: no {', '.join(traj.absent())}"))
        if traj.analysis_groups:
            out.print(Text(f"analysis group: {', '.join(traj.analysis_groups)}"))


def _info_table(traj: object) -> None:
    """The shared config once, then one row per run: what was swept, snapshots, progress, losses."""
    runs = traj.runs  # type: ignore[attr-defined]
    configs = [r.config for r in runs]
    out.print(Text("config (shared by every run):"))
    out.print(config_grid(traj.config, skip=swept_keys(configs)))  # type: ignore[attr-defined]
    labelled = any(r.label for r in runs)
    table = RunTable("", configs, [("snaps", True), ("done", True), ("diverged", True), ("loss", True),
                                   ("probe", True), ("test", True)],
                     lead=("run", "label") if labelled else ("run",), same_line=False)
    for r in runs:
        s = r.summary()
        table.add([s["run"], s["label"]] if labelled else [s["run"]],
                  [s["snapshots"], s["steps_done"],
                   f"step {s['diverged_step']}" if s["diverged_step"] >= 0 else "no",
                   s["loss"], s["probe_loss"], s["test_loss"]])
    table.print(out)


def _status_text(traj: object) -> str:
    """The status as a reader should take it: complete, interrupted, failed, being written, or incomplete."""
    from ..io.filelock import describe

    status = traj.status  # type: ignore[attr-defined]
    writer = traj.writer  # type: ignore[attr-defined]
    if status == "complete":
        return "[green]complete[/]"
    steps = int(traj.attrs.get("steps", 0))  # type: ignore[attr-defined]
    # groups run one after the other: the first unfinished run is in the group that was being written
    done = next((r.steps_done for r in traj.runs if r.steps_done < steps and not r.diverged), steps)  # type: ignore
    if writer is None:
        return f"[yellow]{escape(status)}[/] (stopped after step {done})"
    if writer["alive"]:
        return f"[yellow]running[/]: being written by {escape(describe(writer))}, step {done} so far"
    return (f"[red]incomplete[/]: the writer ({escape(describe(writer))}) stopped at step {done}; "
            "the snapshots it flushed are readable")

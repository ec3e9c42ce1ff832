"""The ``htdyn`` command line: run simulations, inspect and analyse trajectory files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import HtdynError

app = typer.Typer(
    name="htdyn",
    help=(
        "Simulate noise-free training of two-layer networks and analyse how the spectra "
        "of their weight matrices evolve (Marchenko-Pastur bulk -> spikes -> heavy tails)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:.4g}"
    return str(v)


@app.command()
def run(
    config: Path = typer.Argument(..., help="Simulation config, TOML or YAML (see sims/)."),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="Trajectory file to write (default: the config's `output`)."
    ),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (overrides the config)."),
    set_: list[str] = typer.Option(
        [], "--set", "-s", help="Override a config key, e.g. --set optimizer.lr=0.1 --set steps=20."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output file if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Run the simulation a config describes and write its trajectory file.

    Runs that share sizes, activation and optimizer family are batched on one
    device. Ends with a table of the final losses of every run.

    Example: htdyn run sims/demo.toml --set optimizer.lr=0.5 -o outputs/demo_lr05.h5
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .config import load_config
    from .engine import simulate

    overrides = list(set_)
    if device is not None:
        overrides.append(f"device={device}")
    sim = load_config(config, overrides)
    path = output if output is not None else sim.output_path()
    if path.exists() and not overwrite:
        raise HtdynError(f"{str(path)!r} exists; pass --overwrite to replace it or -o to write elsewhere")
    total = _total_steps(sim)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, disable=quiet, transient=False,
    ) as bar:
        task = bar.add_task(f"{sim.name}: {len(sim.runs)} run(s)", total=total)
        try:
            result = simulate(sim, path=str(path), overwrite=overwrite,
                              progress=lambda k: bar.advance(task, k))
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted[/]: completed snapshots are kept in {path}")
            raise typer.Exit(130) from None
    table = Table(title=f"{sim.name}: {result.timings['total_s']:.1f} s on {result.backend}/{sim.device}")
    for col in ("run", "label", "optimizer", "lr", "final loss", "probe loss", "test loss", "diverged"):
        table.add_column(col, justify="right" if col not in ("label", "optimizer") else "left")
    for r in result.runs:
        table.add_row(
            str(r.index), r.config.label, r.config.optimizer.name, _fmt(r.config.optimizer.lr),
            _fmt(_last(r.loss)), _fmt(r.final("probe_loss")), _fmt(r.final("test_loss")),
            f"step {r.diverged_step}" if r.diverged else "no",
        )
    out.print(table)
    out.print(f"trajectory written to [bold]{path}[/]  (inspect: htdyn info {path})")


def _last(v: object) -> float:
    import numpy as np

    v = np.asarray(v)
    ok = np.isfinite(v)
    return float(v[ok][-1]) if ok.any() else float("nan")


def _total_steps(sim: object) -> int:
    from .engine import _group_key

    return sim.steps * len({_group_key(r) for r in sim.runs})  # type: ignore[attr-defined]


@app.command()
def info(path: Path = typer.Argument(..., help="A trajectory file written by `htdyn run`.")) -> None:
    """Show what a trajectory file holds: config, status, runs, snapshots and final losses."""
    from .reader import open as open_traj

    with open_traj(path) as traj:
        a = traj.attrs
        status = traj.status
        colour = "green" if status == "complete" else "yellow"
        out.print(f"[bold]{path}[/]  {a.get('name')}  format v{a.get('format_version')}  "
                  f"htdyn {a.get('htdyn_version')}  status [{colour}]{status}[/]")
        h, d = traj.runs[0].shape if traj.runs else (0, 0)
        out.print(f"{len(traj.runs)} run(s), W {h} x {d}, {a.get('steps')} steps  "
                  f"backend {a.get('backend')}/{a.get('device')} {a.get('dtype')}  "
                  f"created {a.get('created')}  took {a.get('timing_total_s', float('nan')):.2f} s")
        table = Table()
        cols = ("run", "label", "opt", "lr", "snaps", "done", "diverged", "loss", "probe", "test")
        for c in cols:
            table.add_column(c, justify="left" if c in ("label", "opt") else "right")
        for r in traj.runs:
            s = r.summary()
            table.add_row(str(s["run"]), s["label"], s["optimizer"], _fmt(s["lr"]), str(s["snapshots"]),
                          str(s["steps_done"]), f"step {s['diverged_step']}" if s["diverged_step"] >= 0 else "no",
                          _fmt(s["loss"]), _fmt(s["probe_loss"]), _fmt(s["test_loss"]))
        out.print(table)
        if "analysis" in traj.f:
            out.print(f"analysis group: {', '.join(sorted(traj.f['analysis'].keys()))}")


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except HtdynError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:  # typer.Exit carries the exit code
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()

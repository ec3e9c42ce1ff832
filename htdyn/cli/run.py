"""``htdyn run``: run the simulation a config describes and write its trajectory file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ..errors import HtdynError
from .app import StopSignals, app, console, out
from .progress import progress
from .tables import RunTable


@app.command()
def run(
    config: Path | None = typer.Argument(None, metavar="CONFIG", help="Simulation config, TOML or YAML (see sims/)."),
    output: Path | None = typer.Option(
        None, "-o", "--output", metavar="FILE", help="Trajectory file to write (default: the config's `output`)."
    ),
    device: str | None = typer.Option(None, "--device", metavar="cpu|cuda", help="cpu or cuda (overrides the config)."),
    set_: list[str] = typer.Option(
        [], "--set", "-s", metavar="KEY=VALUE",
        help="Override a config key, e.g. --set optimizer.lr=0.1 --set steps=20."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output file if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress (bar or lines)."),
    resume: Path | None = typer.Option(
        None, "--resume", metavar="FILE",
        help="Continue an interrupted or killed run from its file (NAME.partial.h5) instead."
    ),
) -> None:
    """Run the simulation a config describes and write its trajectory file.

    Runs that share sizes, activation and optimizer family are batched on one
    device. Ends with a table of the final losses of every run and the config
    keys that differ between runs. Off a terminal (CI logs, pipes) progress is
    a plain line about every tenth of the run.

    Example: htdyn run sims/demo.toml --set optimizer.lr=0.5 -o outputs/demo_lr05.h5

    A run stopped by Ctrl-C, SIGTERM, kill -9 or a full disk continues from its
    last checkpoint (every 60 s of training) with: htdyn run --resume outputs/demo.partial.h5
    """
    if resume is not None:
        if config is not None or set_ or output is not None or device is not None:
            raise HtdynError("--resume continues a file as it was configured; give no config, -o, --set or --device")
        _resume(resume, quiet)
        return
    if config is None:
        raise HtdynError("give a config file (e.g. htdyn run sims/demo.toml) or --resume FILE")
    from ..config import load_config
    from ..io.format import partial_path
    from ..io.writer import check_destination
    from ..train.simulate import simulate

    overrides = list(set_)
    if device is not None:
        overrides.append(f"device={device}")
    sim = load_config(config, overrides, allow_empty=False)
    path = output if output is not None else sim.output_path()
    if path.exists() and config.exists() and path.resolve() == config.resolve():
        raise HtdynError(f"output {str(path)!r} is the config file itself; choose another output (-o)")
    check_destination(path, overwrite=overwrite)
    total = _total_steps(sim)
    with progress(console, f"{sim.name}: {len(sim.runs)} run(s)", total, "steps", quiet) as advance, \
            StopSignals() as stop:
        try:
            result = simulate(sim, path=str(path), overwrite=overwrite,
                              progress=lambda k: (stop.check(), advance(k)))
        except KeyboardInterrupt as exc:
            part = partial_path(path)
            kept = f"; {escape(str(path))} is unchanged" if path.exists() else ""
            console.print(f"[yellow]interrupted[/]: continue it with [bold]htdyn run --resume {escape(str(part))}"
                          f"[/] (the completed steps are kept there, status interrupted){kept}", highlight=False,
                          soft_wrap=True)
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    _run_table(result, f"{sim.name}: {result.timings['total_s']:.1f} s on {result.backend}/{sim.device}")
    out.print(f"trajectory written to [bold]{escape(str(path))}[/]  (inspect: htdyn info {escape(str(path))})")


def _resume(path: Path, quiet: bool) -> None:

    from ..config import from_dict
    from ..io.reader import open as open_traj
    from ..train.simulate import resume

    if path.exists():
        with open_traj(path) as traj:  # the bar's length: every step of the simulation (finished ones are skipped)
            total = _total_steps(from_dict(traj.config))
    else:
        total = 0
    with progress(console, f"resume {path.name}", total, "steps", quiet) as advance, StopSignals() as stop:
        try:
            result = resume(path, progress=lambda k: (stop.check(), advance(k)))
        except KeyboardInterrupt as exc:
            console.print(f"[yellow]interrupted[/]: continue it with [bold]htdyn run --resume {escape(str(path))}[/] "
                          "(the file keeps its last checkpoint)", highlight=False, soft_wrap=True)
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    _run_table(result, f"{result.config.name}: resumed, {result.timings['total_s']:.1f} s")
    out.print(f"trajectory written to [bold]{escape(str(result.path))}[/]")


def _run_table(result: object, title: str) -> None:
    """Final losses of every run of a simulation result, with what was swept."""
    runs = result.runs  # type: ignore[attr-defined]
    labelled = any(r.config.label for r in runs)
    table = RunTable(title, [r.config.to_dict() for r in runs],
                     [("final loss", True), ("probe loss", True), ("test loss", True), ("diverged", True)],
                     lead=("run", "label") if labelled else ("run",))
    for r in runs:
        table.add([r.index, r.config.label] if labelled else [r.index],
                  [_last(r.loss), r.final("probe_loss"), r.final("test_loss"),
                   f"step {r.diverged_step}" if r.diverged else "no"])
    table.print(out)


def _last(v: object) -> float:
    import numpy as np

    v = np.asarray(v)
    ok = np.isfinite(v)
    return float(v[ok][-1]) if ok.any() else float("nan")


def _total_steps(sim: object) -> int:
    from ..train.plan import batch_key

    return sim.steps * len({batch_key(r) for r in sim.runs})  # type: ignore[attr-defined]

"""The ``htdyn`` command line: run simulations, inspect and analyse trajectory files."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .blas import set_thread_timeout
from .errors import HtdynError

# nothing above loads numpy (the commands import it when they run): OpenBLAS still reads this
set_thread_timeout()

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
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Trajectory file to write (default: the config's `output`)."
    ),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (overrides the config)."),
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


@app.command()
def analyze(
    path: Path = typer.Argument(..., help="A trajectory file written by `htdyn run`."),
    metrics: str = typer.Option(
        "default", "--metrics", "-m",
        help="Comma-separated metric sets: esd, norms, powerlaw, mp, phase, teacher, update, drift, "
        "features; 'default' (all but features) or 'all'.",
    ),
    steps: str | None = typer.Option(
        None, "--steps", help="Comma-separated snapshot steps to analyse (default: every written one)."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu (numpy/SciPy) or cuda (CuPy)."),
    normalize: bool = typer.Option(False, "--normalize", help="Use the 1/N-normalised ESD (Martin-Mahoney)."),
    csv: Path | None = typer.Option(
        None, "--csv", help="Where the tidy CSV goes (default: next to the file, <name>.analysis.csv)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Compute spectral metrics of every snapshot; store them in the file and a tidy CSV.

    Snapshots are streamed one at a time (memory stays at a few matrices). Results go
    to the file's /analysis group (re-running replaces it once the new results are
    complete; the simulation data are never touched) and to a tidy CSV: one row per
    run and step, the swept config keys, the losses and every metric as columns.

    Example: htdyn analyze outputs/demo.h5 --metrics powerlaw,mp,teacher --steps 0,1,10
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .analysis.offline import analyze as run_analysis
    from .analysis.offline import check_request
    from .analysis.registry import DEFAULT_SETS
    from .errors import ConfigError

    names = DEFAULT_SETS if metrics == "default" else [m.strip() for m in metrics.split(",") if m.strip()]
    step_list = None
    if steps is not None:  # "" is an error, not "every step"
        try:
            step_list = [int(s) for s in steps.split(",")]
        except ValueError:
            raise ConfigError(f"--steps {steps!r} must be comma-separated integers, e.g. 0,1,10") from None
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device!r} is not valid; choose cpu or cuda")
    csv_path = csv if csv is not None else path.with_suffix(".analysis.csv")
    # every check analyze makes before its work, here before the progress bar shows
    total = check_request(path, metrics=names, steps=step_list, device=device, normalize=normalize,
                          csv_path=csv_path)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, disable=quiet) as bar:
        task = bar.add_task(f"analyze {path.name}", total=total)
        res = run_analysis(path, metrics=names, steps=step_list, device=device, normalize=normalize,
                           csv_path=csv_path, progress=lambda k: bar.advance(task, k))
    _analysis_table(res)
    out.print(f"results in [bold]{path}[/] (/analysis) and [bold]{csv_path}[/]")


def _analysis_table(res: object) -> None:
    rows = res.rows  # type: ignore[attr-defined]
    last: dict = {}
    for r in rows:
        last.setdefault(r["run"], {})
        if r["step"] >= last[r["run"]].get("_step", -1):
            if r["step"] > last[r["run"]].get("_step", -1):
                last[r["run"]] = {"_step": r["step"], "label": r["label"], "lr": r["lr"],
                                  "optimizer": r["optimizer"]}
            last[r["run"]].update({k: v for k, v in r.items() if k not in ("set",)})
    from .analysis.registry import PHASES

    table = Table(title="last analysed snapshot of each run")
    cols = [("run", "run"), ("opt", "optimizer"), ("lr", "lr"), ("step", "_step"), ("alpha_hill", "alpha_hill"),
            ("alpha_ks", "alpha_ks"), ("spikes", "n_spikes"), ("sim(W,beta)", "sim_beta"), ("phase", "phase")]
    for name in (c[0] for c in cols):
        table.add_column(name, justify="left" if name in ("opt", "phase") else "right")
    for run, v in last.items():
        cells = []
        for _, key in cols:
            x = v.get(key, float("nan")) if key != "run" else run
            if key == "phase" and isinstance(x, float) and x == x:
                x = PHASES[int(x)]
            cells.append(_fmt(x) if not isinstance(x, str) else x)
        table.add_row(*cells)
    out.print(table)


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

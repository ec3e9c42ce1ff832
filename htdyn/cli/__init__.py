"""The ``htdyn`` command line: run simulations, inspect and analyse trajectory files."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..blas import set_thread_timeout
from ..errors import HtdynError
from .progress import progress
from .tables import RunTable, config_grid, swept_keys

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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress (bar or lines)."),
) -> None:
    """Run the simulation a config describes and write its trajectory file.

    Runs that share sizes, activation and optimizer family are batched on one
    device. Ends with a table of the final losses of every run and the config
    keys that differ between runs. Off a terminal (CI logs, pipes) progress is
    a plain line about every tenth of the run.

    Example: htdyn run sims/demo.toml --set optimizer.lr=0.5 -o outputs/demo_lr05.h5
    """
    from ..config import load_config
    from ..io.writer import check_destination, partial_path
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
    with progress(console, f"{sim.name}: {len(sim.runs)} run(s)", total, "steps", quiet) as advance:
        try:
            result = simulate(sim, path=str(path), overwrite=overwrite, progress=advance)
        except KeyboardInterrupt as exc:
            part = partial_path(path)
            kept = f"; {escape(str(path))} is unchanged" if path.exists() else ""
            console.print(f"[yellow]interrupted[/]: the completed snapshots are kept in {escape(str(part))} "
                          f"(status interrupted){kept}", highlight=False)
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    _run_table(result, f"{sim.name}: {result.timings['total_s']:.1f} s on {result.backend}/{sim.device}")
    out.print(f"trajectory written to [bold]{escape(str(path))}[/]  (inspect: htdyn info {escape(str(path))})")


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


@app.command()
def info(path: Path = typer.Argument(..., help="A trajectory file written by `htdyn run`.")) -> None:
    """Show what a trajectory file holds: config, status, runs, snapshots and final losses."""
    from ..io.reader import open as open_traj

    with open_traj(path) as traj:
        a = traj.attrs
        h, d = traj.runs[0].shape if traj.runs else (0, 0)
        out.print(f"[bold]{escape(str(path))}[/]  {escape(str(a.get('name')))}  format v{a.get('format_version')}  "
                  f"htdyn {a.get('htdyn_version')}  status {_status_text(traj)}", highlight=False)
        took = a.get("timing_total_s")
        out.print(f"{len(traj.runs)} run(s), W {h} x {d}, {a.get('steps')} steps  "
                  f"backend {a.get('backend')}/{a.get('device')} {a.get('dtype')}  "
                  f"created {a.get('created')}" + (f"  took {took:.2f} s" if took is not None else ""),
                  highlight=False)
        _info_table(traj)
        if "analysis" in traj.f:
            out.print(Text(f"analysis group: {', '.join(sorted(traj.f['analysis'].keys()))}"))


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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress (bar or lines)."),
) -> None:
    """Compute spectral metrics of every snapshot; store them in the file and a tidy CSV.

    Snapshots are streamed one at a time (memory stays at a few matrices). Results go
    to the file's /analysis group (re-running replaces it once the new results are
    complete; the simulation data are never touched) and to a tidy CSV: one row per
    run and step, the swept config keys, the losses and every metric as columns.

    Example: htdyn analyze outputs/demo.h5 --metrics powerlaw,mp,teacher --steps 0,1,10
    """
    from ..analysis.offline import analyze as run_analysis
    from ..analysis.offline import check_request
    from ..analysis.registry import DEFAULT_SETS
    from ..errors import ConfigError
    from ..io.reader import open as open_traj

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
    with open_traj(path) as traj:
        configs = {r.index: r.config for r in traj.runs}
    with progress(console, f"analyze {path.name}", total, "snapshots", quiet) as advance:
        try:
            res = run_analysis(path, metrics=names, steps=step_list, device=device, normalize=normalize,
                               csv_path=csv_path, progress=advance)
        except KeyboardInterrupt as exc:  # on every typer: the shell's code, and the earlier results kept
            console.print("[yellow]interrupted[/]: the earlier analysis and CSV (if any) are unchanged",
                          highlight=False)
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    _analysis_table(res, configs)
    out.print(f"results in [bold]{escape(str(path))}[/] (/analysis) and [bold]{escape(str(csv_path))}[/]")


def _analysis_table(res: object, configs: dict[int, dict]) -> None:
    """The last analysed snapshot of each run: step, power-law alphas, spikes, teacher alignment, phase.

    Reads ``res.rows`` in the long form (one dict per run x step x metric set, keys run, label,
    step, set and the metric values; ``phase`` an index into PHASES or already its name);
    ``configs`` maps a run's index to its config (plain data), for the swept keys.
    """
    from ..analysis.registry import PHASES

    last: dict[int, dict] = {}
    for r in res.rows:  # type: ignore[attr-defined]
        cur = last.get(r["run"])
        if cur is None or r["step"] > cur["step"]:
            last[r["run"]] = cur = {"step": r["step"]}
        if r["step"] == cur["step"]:
            cur.update(r)
    metrics = [("alpha_hill", "alpha_hill"), ("alpha_ks", "alpha_ks"), ("spikes", "n_spikes"),
               ("sim(W,beta)", "sim_beta")]
    labelled = any(v.get("label") for v in last.values())
    table = RunTable("last analysed snapshot of each run", [configs[run] for run in last],
                     [("step", True), *((h, True) for h, _ in metrics), ("phase", False)],
                     lead=("run", "label") if labelled else ("run",))
    for run, v in last.items():
        phase = v.get("phase", float("nan"))
        if isinstance(phase, float) and phase == phase:
            phase = PHASES[int(phase)]
        table.add([run, v.get("label", "")] if labelled else [run],
                  [v["step"], *(v.get(key, float("nan")) for _, key in metrics), phase])
    table.print(out)


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        out.print(f"htdyn {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Simulate two-layer network training and analyse the spectra of its weight matrices."""


def _on_sigterm(signum: int, frame: object) -> None:
    from ..errors import Interrupted

    raise Interrupted(signum)


def main() -> None:
    """Console entry point.

    typer runs in its standalone mode, so usage errors (unknown command or
    option, missing argument) get typer's own message and exit code 2 on every
    typer the dependency range allows; errors of user input (:class:`HtdynError`)
    become one line ``error: ...`` on stderr and exit code 2.
    """
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)  # a clean stop (status interrupted, exit 143), as Ctrl-C
    try:
        app(prog_name="htdyn")
    except HtdynError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        console.print("interrupted", markup=False, highlight=False)
        sys.exit(getattr(exc, "exit_code", 130))


"""``htdyn analyze``: spectral metrics of every snapshot, into the file and a tidy CSV."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text

from .app import StopSignals, app, console, out
from .progress import progress
from .tables import RunTable


@app.command()
def analyze(
    path: Path = typer.Argument(..., metavar="FILE", help="A trajectory file written by `htdyn run`."),
    metrics: str = typer.Option(
        "default", "--metrics", "-m", metavar="SETS",
        help="Comma-separated metric sets: esd, norms, powerlaw, mp, phase, teacher, top, update, drift, "
        "features; 'default' (all but features and top) or 'all'.",
    ),
    steps: str | None = typer.Option(
        None, "--steps", metavar="STEPS", help="Comma-separated snapshot steps to analyse (default: every written one)."
    ),
    device: str = typer.Option("cpu", "--device", metavar="cpu|cuda", help="cpu (numpy/SciPy) or cuda (CuPy)."),
    normalize: bool = typer.Option(False, "--normalize", help="Use the 1/N-normalised ESD (Martin-Mahoney)."),
    csv: Path | None = typer.Option(
        None, "--csv", metavar="FILE", help="Where the tidy CSV goes (default: next to the file, <name>.analysis.csv)."
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
    with progress(console, f"analyze {path.name}", total, "snapshots", quiet) as advance, StopSignals() as stop:
        try:
            res = run_analysis(path, metrics=names, steps=step_list, device=device, normalize=normalize,
                               csv_path=csv_path, progress=lambda k: (stop.check(), advance(k)))
        except KeyboardInterrupt as exc:  # on every typer: the shell's code, and the earlier results kept
            console.print("[yellow]interrupted[/]: the earlier analysis and CSV (if any) are unchanged",
                          highlight=False)
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    for note in res.notes:
        out.print(Text(note))
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

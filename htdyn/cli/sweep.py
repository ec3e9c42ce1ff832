"""``htdyn sweep``: run a parameter sweep into a directory, show its state, summarise it.

``htdyn sweep SPEC -o DIR`` is ``htdyn sweep run SPEC -o DIR`` (a first word that is not
a subcommand is a spec file); ``status`` and ``summary`` read a sweep directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from ..errors import HtdynError
from ..sweep.executors import EXECUTORS, executor_help
from .app import StopSignals, app, console, out
from .progress import progress
from .tables import RunTable, fmt


class _SweepGroup(TyperGroup):
    """``sweep SPEC ...`` means ``sweep run SPEC ...``; ``sweep --help`` shows ``sweep run``'s options."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and (args[0] not in self.commands and not args[0].startswith("-") or args[0] in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(cls=_SweepGroup, no_args_is_help=True, help=(
    "Parameter sweeps: `htdyn sweep SPEC -o DIR` runs one (resumable: rerun it to finish), "
    "`htdyn sweep status DIR` shows its runs' states, `htdyn sweep summary DIR` averages over repeats."))
app.add_typer(sweep_app, name="sweep")


@sweep_app.command("run")
def run_cmd(
    spec_path: Path = typer.Argument(..., metavar="SPEC",
                                     help="Sweep file: a run config plus a \\[sweep] table of axes (docs/sweeps.md)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Sweep directory (default outputs/<name>)."),
    executor: str = typer.Option("local", "--executor", metavar="|".join(EXECUTORS), help=executor_help()),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (default: a local runtime)."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (overrides the spec)."),
    num_cpus: int | None = typer.Option(None, "--num-cpus", help="CPUs of a local Ray runtime."),
    workers: int | None = typer.Option(None, "--workers", help=(
        "Worker processes of the local executor (default: one per visible GPU on CUDA, 1 on the CPU: "
        "this process).")),
    results: str = typer.Option("shared", "--results", help=(
        "How Ray tasks return batch files: shared (they write DIR, which every worker sees) or "
        "object-store (sent to the driver, for workers without a shared disk).")),
    set_: list[str] = typer.Option([], "--set", "-s", help=(
        "Override a key of the spec, as htdyn run --set: --set steps=20, --set sweep.repeats=3; "
        "a swept key set this way is no longer an axis.")),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (runs, batches, memory, files, time)."),
    force: bool = typer.Option(False, "--force", help="Adopt a changed spec in an existing directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress."),
) -> None:
    """Run a sweep into a directory; rerun the same command to resume (done runs are skipped).

    `htdyn sweep SPEC -o DIR` is short for `htdyn sweep run SPEC -o DIR`;
    `htdyn sweep status DIR` shows the runs' states, `htdyn sweep summary DIR`
    averages over repeats. Every bad spec is reported before anything runs.
    Ctrl-C stops cleanly: finished batches are kept untouched, the running one
    is redone on resume, and the message says the command that resumes. Ends
    with a table per point (means over repeats).

    Example: htdyn sweep sims/paper/lr_sweep_small.toml -o outputs/lr_small --workers 2
    """
    from ..sweep.driver import make_executor, prepare, run_sweep
    from ..sweep.spec import load_spec

    spec = load_spec(spec_path, set_)
    root = output if output is not None else Path("outputs") / spec.name
    sim = next(iter(spec.templates.values()))
    dev = device or sim.device
    ex = make_executor(executor, address, num_cpus, workers=workers, device=dev, results=results)
    if dev == "cuda" and ex.runs_here:  # a cluster's workers may have the GPUs this host lacks
        from ..train.backend import get_backend

        get_backend("cuda", sim.dtype, sim.backend)  # no GPU here: refused before the directory is made
    prep = prepare(spec, root, force=force, device=device, workers=ex.per_device)
    if prep.note:
        console.print(Text(prep.note))
    if prep.dir.rebuilt:
        console.print(Text(f"{prep.dir.index_path} could not be used ({prep.dir.rebuilt}); it is a cache of the "
                           "batch files" + (": rebuilt from them" if not dry_run else ", rebuilt when the sweep runs")))
    if dry_run:
        _print_plan(prep)
        out.print(Text(f"executor: {ex.describe()}"))
        return
    if prep.changes:
        console.print(Text(f"spec changed ({len(prep.changes)} key(s)); done runs that are still in it are kept"))
    resume = f"htdyn sweep {spec_path} -o {root}"
    total = sum(len(b.runs) * b.steps for b in prep.batches)
    desc = f"{spec.name}: {len(prep.pending)} run(s) in {len(prep.batches)} batch(es)" + (
        f", {len(prep.done)} already done" if prep.done else "")
    from ..sweep.events import SweepEvents

    with progress(console, desc, total, "run-steps", quiet) as advance, StopSignals() as stop:
        events = SweepEvents(on_step=lambda k: (stop.check(), advance(k)))
        try:
            run_sweep(prep, ex, events)
        except KeyboardInterrupt as exc:
            ok = sum(len(b.runs) for b, o in events.outcomes if o["ok"])
            console.print(Text(f"interrupted: {len(prep.done) + ok} of {len(spec.runs)} runs are done and kept; "
                               f"resume with: {resume}"))
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    _final(root, prep, events, resume)


def _final(root: Path, prep: Any, events: Any, resume: str) -> None:
    from ..sweep.results import open_sweep

    sw = open_sweep(root)
    title = f"{sw.name}: {len(sw.runs)} runs, {_counts(sw.counts())}"
    try:
        _summary_table(sw, sw.summary(), title)
    except HtdynError as exc:  # no pandas: the sweep is done all the same
        out.print(Text(f"{title} (no table: {exc})"))
    failed = [(b, o) for b, o in events.outcomes if not o["ok"]]
    out.print(Text(f"sweep directory: {root}  (htdyn sweep status {root}; in Python: htdyn.open_sweep)"))
    if prep.dir.unsaved:
        console.print(Text(f"{prep.dir.unsaved} (index.json is a cache of the batch files: until the rerun, "
                           "status shows the failed runs as pending)"))
    if failed:
        n = sum(len(b.runs) for b, _ in failed)
        console.print(Text(f"{n} run(s) in {len(failed)} batch(es) failed:"))
        for b, o in failed[:10]:
            console.print(Text(f"  {b.name} ({len(b.runs)} run(s)): {o['error']}"))
        if len(failed) > 10:
            console.print(Text(f"  ... and {len(failed) - 10} more batch(es)"))
        console.print(Text(f"see htdyn sweep status {root}; fix the cause and rerun: {resume}"))
        raise typer.Exit(1)


def _counts(c: dict) -> str:
    return ", ".join(f"{n} {s}" for s, n in c.items() if n)


def _print_plan(prep: Any) -> None:
    from ..io.diskspace import format_bytes
    from ..sweep.plan import gemm_rate

    spec = prep.spec
    axes = " x ".join(f"{a.key} ({len(a)})" for a in spec.axes) or "no axes"
    zips = f", zipped: {'; '.join('+'.join(g) for g in spec.zip_groups)}" if spec.zip_groups else ""
    out.print(Text(f"sweep {spec.name}: {len(spec.runs)} runs = {axes}{zips} x {spec.repeats} repeat(s); "
                   f"store {spec.store}"))
    out.print(Text(f"directory {prep.dir.root}: {len(prep.done)} done, {len(prep.pending)} to run in "
                   f"{len(prep.batches)} batch(es) (at most {prep.max_batch or 'any number of'} runs each, memory "
                   f"budget {format_bytes(prep.budget) if prep.budget else 'none'})"))
    sim = next(iter(spec.templates.values()))
    rates = gemm_rate(sim.dtype, spec.threads) if sim.device == "cpu" else None
    rate = rates[0] if rates else None
    t = Table(title="plan", box=None)
    for h in ("batch", "runs", "steps", "n", "d", "h", "optimizer", "memory", "file", "est. time"):
        t.add_column(h, justify="left" if h in ("batch", "optimizer") else "right", no_wrap=h == "batch")
    shown = prep.batches[:20]
    for b in shown:
        m, o = b.runs[0].config.model, b.runs[0].config.optimizer
        t.add_row(b.file, str(len(b.runs)), str(b.steps), str(m.n), str(m.d), str(m.h), o.name,
                  format_bytes(b.memory_bytes), format_bytes(b.file_bytes), f"{b.flops / rate:.1f} s" if rate else "-")
    out.print(t)
    if len(prep.batches) > len(shown):
        out.print(Text(f"... and {len(prep.batches) - len(shown)} more batch(es)"))
    total_file = sum(b.file_bytes for b in prep.batches)
    out.print(Text(f"files: {len(prep.batches)} under {prep.dir.batches}/ ({format_bytes(total_file)}), "
                   f"plus sweep.json and index.json"))
    if rates:
        flops = sum(b.flops for b in prep.batches)
        mid, slow, fast = rates
        out.print(Text(f"estimated time: about {_secs(flops / mid)} ({_secs(flops / fast)} to {_secs(flops / slow)} "
                       f"over 7 timings of a 512^3 product at {spec.threads} BLAS thread(s), after a warm-up: "
                       f"{mid / 1e9:.0f} GFLOP/s, {slow / 1e9:.0f}-{fast / 1e9:.0f}); rough: it counts the products "
                       "and eigenvalue work, not the element-wise steps or the writes"))
    else:
        out.print(Text("estimated time: no estimate for a CUDA device from here"))


def _secs(t: float) -> str:
    return f"{t:.2g} s" if t < 10 else f"{t:.0f} s"


def _summary_table(sw: Any, df: Any, title: str, by: list[str] | None = None) -> None:
    by = list(sw.axes) if by is None else by
    cols = [("runs", True), ("diverged", True), ("probe loss", True), ("test loss", True), ("alpha_hill", True)]
    keys = ["probe_loss_mean", "test_loss_mean", "alpha_hill_mean"]
    configs = [{k: row[k] for k in by} for _, row in df.iterrows()] if len(df) else []
    table = RunTable(title, configs, cols, lead=(), same_line=False)
    for _, row in df.iterrows():
        table.add([], [int(row["runs"]), int(row["diverged"]), *(float(row.get(k, float("nan"))) for k in keys)])
    table.print(out)


@sweep_app.command("status")
def status_cmd(directory: Path = typer.Argument(..., metavar="DIR", help="A sweep directory.")) -> None:
    """Done / running / failed / pending counts, and the failed runs with their error.

    Example: htdyn sweep status outputs/lr_small
    """
    from ..sweep.results import open_sweep

    sw = open_sweep(directory)
    if sw.dir.rebuilt:
        console.print(Text(f"{sw.dir.index_path} could not be used ({sw.dir.rebuilt}); it is a cache of the batch "
                           "files: the states below are read from them, and the next htdyn sweep rebuilds it "
                           "(the failed runs' errors it held are lost: they show as pending)"))
    c = sw.counts()
    out.print(Text(f"sweep {sw.name}: {len(sw.runs)} runs: " + ", ".join(f"{n} {s}" for s, n in c.items())))
    drv = sw.dir.driver()
    if drv:
        out.print(Text(f"being run by process {drv.get('pid')} on {drv.get('host')}: {drv.get('command', '')}"))
    failed = [r for r in sw.runs if r.state == "failed"]
    if failed:
        t = Table(title="failed runs", box=None)
        for h in ("run", "repeat", "point", "error"):
            t.add_column(h)
        for r in failed[:50]:
            t.add_row(r.id, str(r.repeat), " ".join(f"{k}={fmt(v)}" for k, v in r.point.items()), r.error or "")
        out.print(t)
        if len(failed) > 50:
            out.print(Text(f"... and {len(failed) - 50} more"))


@sweep_app.command("summary")
def summary_cmd(
    directory: Path = typer.Argument(..., metavar="DIR", help="A sweep directory."),
    by: list[str] = typer.Option([], "--by", help="Axis to group by (repeatable; default every axis)."),
    csv: Path | None = typer.Option(None, "--csv", help="Write the summary as CSV."),
    parquet: Path | None = typer.Option(None, "--parquet", help="Write the summary as Parquet (needs pyarrow)."),
) -> None:
    """Per axis point: mean and std over repeats of the final losses, alpha, spikes, sim(W, beta), phases.

    Example: htdyn sweep summary outputs/lr_small --by optimizer.lr --csv lr_small.csv
    """
    from ..sweep.results import open_sweep

    sw = open_sweep(directory)
    df = sw.summary(by=by or None)
    _summary_table(sw, df, f"{sw.name}: mean over repeats at the last eval step", by or None)
    if csv is not None:
        _atomic(csv, lambda p: df.to_csv(p, index=False))
        out.print(Text(f"summary written to {csv}"))
    if parquet is not None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise HtdynError("--parquet needs pyarrow: pip install pyarrow (or use --csv)") from None
        _atomic(parquet, lambda p: df.to_parquet(p, index=False))
        out.print(Text(f"summary written to {parquet}"))


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary name beside ``path``, then rename: an old file is replaced only by a whole one."""
    from ..io.atomic import write_atomic

    if path.is_dir():
        raise HtdynError(f"{str(path)!r} is a directory; give a file name")
    if not path.absolute().parent.is_dir():
        raise HtdynError(f"cannot write {str(path)!r}: its directory does not exist")
    write_atomic(path, write)


__all__ = ["sweep_app"]

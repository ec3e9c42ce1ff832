"""``htdyn report``: a folder with every figure of one trajectory file (or a folder of them) and an index.html.

For each file: per run (up to ``max_runs``) the ESD (initial and final), its evolution, the
metrics against step, and, where updates are stored, the overlap maps and update spectra; the
ESD animation of the first run (a GIF); for a file of several runs whose learning rate varies,
the sweep panel and the phase diagram.  Every figure is a ``<figure>`` with a caption saying
what to look for (:data:`htdyn.plot.report_notes.CAPTIONS`); for runs at the paper's setting
the paper's expected numbers stand beside the measured ones
(:data:`htdyn.plot.report_notes.PAPER_EXPECTED`).  A figure the file cannot give (no analysis,
no updates) is listed with the command that would make it, never silently dropped.  The index
has a table of contents, the config, htdyn's version and the date, and a summary table.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import PlotError, save
from .report_html import CSS, config_block, figure_html, paper_table, summary_table, toc
from .report_notes import CAPTIONS, paper_rows
from .source import Source

__all__ = ["write_report", "ReportEntry", "report_plan", "check_output_dir"]

#: progress(title, done, total): called before each figure is drawn
Progress = Callable[[str, int, int], None]


class ReportEntry:
    """One figure of a report: its title, kind, the files written (relative to the folder), or why none."""

    def __init__(self, title: str, files: list[str] | None = None, missing: str = "", kind: str = "",
                 note: str = "", number: int = 0):
        self.title = title
        self.number = number
        self.files = files or []
        self.missing = missing
        self.kind = kind
        self.note = note

    @property
    def caption(self) -> str:
        """What to look for (HTML), then this figure's own numbers."""
        return " ".join(x for x in (CAPTIONS.get(self.kind, ""), html.escape(self.note)) if x)


def check_output_dir(path: str | os.PathLike, option: str = "-o") -> Path:
    """``path`` as a folder the report or demo can write, created; else a one-line :class:`PlotError`.

    Refused: a path that is an existing file, a path under a file, a folder that cannot be
    created or written (read-only, a missing mount).  Checked before any figure is drawn.
    """
    p = Path(path)
    where = f"{option} {str(p)!r}"
    if p.exists() and not p.is_dir():
        raise PlotError(f"{where} is a file; give a folder to write the figures into")
    for parent in p.parents:
        if parent.exists() and not parent.is_dir():
            raise PlotError(f"{where}: {str(parent)!r} is a file, not a folder; give a folder path")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlotError(f"{where} cannot be created ({exc.strerror or exc}); give a folder you can write") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise PlotError(f"{where} is not writable; give a folder you can write")
    return p


def _trajectory_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.h5") if not p.name.endswith(".partial.h5"))
        if not files:
            raise PlotError(f"no trajectory files (*.h5) in {str(path)!r}; run one: htdyn run CONFIG -o {path}/NAME.h5")
        return files
    if not path.exists():
        raise PlotError(f"no such trajectory file or folder: {str(path)!r}")
    return [path]


#: the per-run figures: (file suffix, title, kind, function name in its module)
PER_RUN = (("esd", "ESD", "esd", "spectra.plot_esd"),
           ("esd_evolution", "ESD evolution", "esd_evolution", "spectra.plot_esd_evolution"),
           ("metrics", "metrics against step", "metrics", "metrics.plot_metrics"),
           ("overlaps", "update overlaps", "overlaps", "overlaps.plot_overlaps"),
           ("updates", "update spectra", "updates", "overlaps.plot_update_spectra"))


def _function(dotted: str) -> Callable[..., Any]:
    import importlib

    mod, name = dotted.split(".")
    return getattr(importlib.import_module(f".{mod}", __package__), name)


class _Drawer:
    """Draws the figures one by one, records them as entries, reports progress."""

    def __init__(self, out: Path, total: int, progress: Progress | None):
        self.out, self.total, self.progress, self.done = out, total, progress, 0

    def figure(self, stem: str, title: str, kind: str, make: Callable[..., Any], args: tuple,
               entries: list[ReportEntry], note: str = "") -> None:
        if self.progress is not None:
            self.progress(title, self.done, self.total)
        self.done += 1
        try:
            with warnings.catch_warnings():  # a diverged run's empty log axis is drawn blank, not warned about
                warnings.simplefilter("ignore", UserWarning)  # matplotlib's "Data has no positive values"
                warnings.simplefilter("ignore", RuntimeWarning)  # numpy's NaN arithmetic on a diverged run
                fig = make(*args)
                paths = [fig] if isinstance(fig, Path) else save(fig, self.out / stem)
        except PlotError as exc:
            entries.append(ReportEntry(title, missing=str(exc), kind=kind, number=self.done))
            return
        except Exception as exc:  # noqa: BLE001 - one figure's bug must not lose the others; it is shown
            entries.append(ReportEntry(title, missing=f"drawing it failed ({type(exc).__name__}: {exc}); "
                                       "please report this as an htdyn bug", kind=kind, number=self.done))
            return
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")
        entries.append(ReportEntry(title, [p.name for p in paths], kind=kind, note=note, number=self.done))


def report_plan(path: str | os.PathLike, max_runs: int = 12) -> int:
    """How many figures :func:`write_report` will draw for ``path`` (for a progress bar)."""
    p = Path(path)
    if (p / "sweep.json").is_file():
        return 2
    total = 0
    for f in _trajectory_files(p):
        with Source(f) as src:
            lrs = {r.config["optimizer"]["lr"] for r in src.traj.runs}
            total += len(PER_RUN) * min(src.n_runs, max_runs) + 1 + (2 if len(lrs) > 1 else 0)
    return total


def _run_note(src: Source, i: int) -> str:
    """This run's own numbers for its captions: sigma_1 and alpha_Hill from first to last step, the last phase."""
    rv = src.run(i)
    if not rv.has_metrics():
        return ""
    m = rv.metrics
    first, last = m.iloc[0], m.iloc[-1]
    parts = [f"Here (run {i}): sigma_1 {first['spectral_norm']:.1f} -> {last['spectral_norm']:.1f}",
             f"PL_Alpha_Hill {first['alpha_hill']:.2f} -> {last['alpha_hill']:.2f}"]
    if "phase" in m:
        parts.append(f"phase at step {int(last['step'])}: {last['phase']}")
    return ", ".join(parts) + "."


def _file_entries(src: Source, drawer: _Drawer, tag: str, max_runs: int) -> tuple[list[ReportEntry], list[str]]:
    from . import animate, sweep

    entries: list[ReportEntry] = []
    for i in range(min(src.n_runs, max_runs)):
        note = _safe_note(src, i)
        rv = src.run(i)
        unit = f"layer {rv.run.label}" if rv.is_layer else f"run {i}"
        for suffix, title, kind, fn in PER_RUN:
            drawer.figure(f"{tag}_run{i}_{suffix}", f"{unit}: {title}", kind, _function(fn), (src, i), entries,
                          note if kind in ("esd", "metrics") else "")
    unit0 = f"layer {src.run(0).run.label}" if src.run(0).is_layer else "run 0"
    drawer.figure(f"{tag}_run0_esd_animation", f"{unit0}: ESD animation", "animation", animate.animate_esd,
                  (src, drawer.out / f"{tag}_run0_esd.gif", 0), entries)
    lrs = {r.config.get("optimizer", {}).get("lr") for r in src.traj.runs}
    if len(lrs) > 1:
        drawer.figure(f"{tag}_sweep", "sweep panel", "sweep", _sweep_figure, (sweep.plot_sweep_panel, src.path),
                      entries)
        drawer.figure(f"{tag}_phase_diagram", "phase diagram (lr x step)", "phase_diagram", _sweep_figure,
                      (sweep.plot_phase_diagram, src.path), entries)
    captions = [src.run(i).caption for i in range(src.n_runs)]
    if src.traj.absent():
        captions.append(f"layers of a watched model: no {', '.join(src.traj.absent())}")
    return entries, captions


def _safe_note(src: Source, i: int) -> str:
    try:
        return _run_note(src, i)
    except (PlotError, KeyError, IndexError):
        return ""


def _sweep_figure(fn: Callable[[Any], Any], path: str) -> Any:
    from .sweep import sweep_table

    return fn(sweep_table([path]))


def _paper(src: Source, max_runs: int) -> list[tuple[str, list[dict]]]:
    """Per run at the paper's setting: its title and the paper's numbers beside the measured ones."""
    features = src.traj.config.get("eval", {}).get("features", "model")
    out = []
    for i in range(min(src.n_runs, max_runs)):
        rv = src.run(i)
        rows = paper_rows(rv.config, rv.metrics if rv.has_metrics() else None, features)
        if rows:
            out.append((rv.title, rows))
    return out


def write_report(path: str | os.PathLike, outdir: str | os.PathLike, *, max_runs: int = 12,
                 progress: Progress | None = None) -> Path:
    """Write every figure of ``path`` (a trajectory file, a folder of them, a sweep) into ``outdir``.

    The figures are those the module docstring lists, each as PNG and PDF (the animation as a
    GIF), and ``index.html`` links them with their captions; a figure the file cannot give is
    listed with the command that would make it.

    Parameters
    ----------
    path : str or path-like
        A trajectory file, a folder of them, or a sweep directory (``htdyn sweep ... -o DIR``).
    outdir : str or path-like
        The report's folder, created if needed; refused if it is a file or cannot be written.
    max_runs : int
        Draw the per-run figures of at most this many runs of each file (0: none; the summary
        table and the first run's animation are always made).
    progress : callable, optional
        ``progress(title, done, total)``, called before each figure is drawn.

    Returns
    -------
    Path
        ``outdir / "index.html"``.

    Raises
    ------
    PlotError
        A negative ``max_runs``, an ``outdir`` that cannot be written, a path with no trajectory.

    Examples
    --------
    A tiny run; ``max_runs=0`` keeps the example quick (the index with its summary table and the
    ESD animation; the full report of even a tiny file draws for several seconds):

    >>> import htdyn, os, tempfile
    >>> from htdyn.plot import write_report
    >>> tmp = tempfile.mkdtemp()
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)), steps=2,
    ...                        snapshots={"at": "first_last", "updates": False}, output=f"{tmp}/demo.h5")
    >>> path = htdyn.simulate(sim).path
    >>> seen = []
    >>> index = write_report(path, f"{tmp}/report", max_runs=0, progress=lambda title, i, n: seen.append(title))
    >>> index.name, sorted(os.listdir(f"{tmp}/report")), seen
    ('index.html', ['demo_run0_esd.gif', 'index.html'], ['run 0: ESD animation', 'index.html'])
    >>> "htdyn report" in index.read_text()
    True
    """
    if max_runs < 0:
        raise PlotError(f"--max-runs {max_runs}: give 0 or more runs to draw")
    out = check_output_dir(outdir)
    drawer = _Drawer(out, report_plan(path, max_runs), progress)
    sections: list[tuple[str, str, list[ReportEntry], bool]] = []
    configs: list[tuple[str, str]] = []
    if (Path(path) / "sweep.json").is_file():  # a sweep directory: the figures of its results table
        sections.append((str(path), *_sweep_section(Path(path), drawer, "s0")))
        configs.append((str(Path(path) / "sweep.json") + ": design", json.dumps(_design(Path(path)))))
    else:
        for f in _trajectory_files(Path(path)):
            with Source(f) as src:
                entries, captions = _file_entries(src, drawer, f.stem, max_runs)
                paper = _paper(src, max_runs)
                body = _section(f"s{len(sections)}", entries, src.traj.summary(), captions, max_runs, paper)
                configs.append((str(f), json.dumps(src.traj.config, indent=1)))
            sections.append((str(f), body, entries, bool(paper)))
    if progress is not None:
        progress("index.html", drawer.done, drawer.total)
    return _write_index(out, sections, configs)


def _write_index(out: Path, sections: list[tuple[str, str, list[ReportEntry], bool]],
                 configs: list[tuple[str, str]]) -> Path:
    from .. import __version__

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f"<section id='s{k}'><h2>{html.escape(name)}</h2>{text}</section>"
                   for k, (name, text, *_) in enumerate(sections))
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>htdyn report</title>"
            f"<style>{CSS}</style></head><body><h1>htdyn report</h1>"
            f"<p class='meta'>written by htdyn {html.escape(__version__)} on {now}</p>"
            + toc([(name, entries, paper) for name, _, entries, paper in sections]) + body + config_block(configs)
            + "</body></html>\n")
    index = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text(page)
    os.replace(tmp, index)
    return index


def _section(sid: str, entries: list[ReportEntry], summary: list[dict], captions: list[str], max_runs: int,
             paper: list[tuple[str, list[dict]]]) -> str:
    e = html.escape
    parts = ["<h3>runs</h3><ul>"] + [f"<li>{e(c)}</li>" for c in captions[:max_runs]]
    if len(captions) > max_runs:
        parts.append(f"<li>... {len(captions) - max_runs} more runs (figures of the first {max_runs} only)</li>")
    parts.append(f"</ul><h3 id='{sid}-summary'>summary</h3>" + summary_table(summary))
    if paper:
        parts.append(paper_table(paper, f"{sid}-paper"))
    parts.append("<h3>figures</h3>")
    parts += [figure_html(ent) for ent in entries]
    return "".join(parts)


def _sweep_section(root: Path, drawer: _Drawer, sid: str) -> tuple[str, list[ReportEntry], bool]:
    """The sweep panel, the phase diagram and the summary over repeats of a sweep directory."""
    from ..sweep.results import open_sweep
    from .sweep import plot_phase_diagram, plot_sweep_panel

    sw = open_sweep(root)
    table = sw.table()
    entries: list[ReportEntry] = []
    drawer.figure("sweep_panel", "sweep panel", "sweep", plot_sweep_panel, (table,), entries)
    drawer.figure("sweep_phase_diagram", "phase diagram (lr x step)", "phase_diagram", plot_phase_diagram,
                  (table,), entries)
    summary = sw.summary().reset_index(drop=True).to_dict("records")
    paper = _sweep_paper(sw, table)
    text = _section(sid, entries, summary or [{"runs": 0}], [f"{len(sw.runs)} runs, axes: {', '.join(sw.axes)}"],
                    len(summary) or 1, paper)
    return text, entries, bool(paper)


def _short(key: str) -> str:
    """A sweep axis as a reader says it: ``optimizer.name`` -> optimizer, ``optimizer.lr`` -> lr."""
    return "optimizer" if key == "optimizer.name" else key.rsplit(".", 1)[-1]


def _design(root: Path) -> Any:
    from ..sweep.results import open_sweep

    return open_sweep(root).manifest["design"]


def _sweep_paper(sw: Any, table: Any) -> list[tuple[str, list[dict]]]:
    """Per point of a sweep at the paper's setting: the paper's numbers beside the mean over repeats."""
    import copy

    done = next((r for r in sw.runs if r.state == "done"), None)
    if done is None or table.empty:
        return []
    with sw.trajectory(done) as (traj, run):
        base = run.config
        features = traj.config.get("eval", {}).get("features", "model")
    axes = [a for a in sw.axes if a in table.columns and a not in ("seed", "steps")]
    out = []
    for point, g in table.groupby(axes, sort=True) if axes else []:
        cfg = copy.deepcopy(base)
        for key, v in zip(axes, point if isinstance(point, tuple) else (point,)):
            node = cfg
            *head, last = key.split(".")
            for part in head:
                node = node.setdefault(part, {})
            node[last] = v.item() if hasattr(v, "item") else v
        mean = g.groupby("step").mean(numeric_only=True).reset_index()
        rows = paper_rows(cfg, mean, features)
        if rows:
            label = ", ".join(f"{_short(a)}={v:g}" if isinstance(v, float) else f"{_short(a)}={v}"
                              for a, v in zip(axes, point if isinstance(point, tuple) else (point,)))
            out.append((f"{label} (mean of {g['repeat'].nunique()} repeats)", rows))
    return out

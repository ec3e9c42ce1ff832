"""``htdyn report``: a folder with every figure of one trajectory file (or a folder of them) and an index.html.

For each file: per run (up to ``max_runs``) the ESD (initial and final), its evolution, the
metrics against step, and, where updates are stored, the overlap maps and update spectra; for
a file of several runs whose learning rate varies, the sweep panel and the phase diagram.  A
figure the file cannot give (no analysis, no updates) is listed with the command that would
make it, never silently dropped.  The index shows the settings of every run and the summary
table of the file, and links every PNG and PDF it wrote.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import PlotError, save
from .source import Source

__all__ = ["write_report", "ReportEntry"]


class ReportEntry:
    """One figure of a report: its title, the files written (relative to the folder), or why none."""

    def __init__(self, title: str, files: list[str] | None = None, missing: str = ""):
        self.title = title
        self.files = files or []
        self.missing = missing


def _trajectory_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.h5") if not p.name.endswith(".partial.h5"))
        if not files:
            raise PlotError(f"no trajectory files (*.h5) in {str(path)!r}; run one: htdyn run CONFIG -o {path}/NAME.h5")
        return files
    if not path.exists():
        raise PlotError(f"no such trajectory file or folder: {str(path)!r}")
    return [path]


def _figure(out: Path, stem: str, title: str, make: Callable[..., Any], args: tuple,
            entries: list[ReportEntry]) -> None:
    try:
        fig = make(*args)
    except PlotError as exc:
        entries.append(ReportEntry(title, missing=str(exc)))
        return
    paths = save(fig, out / stem)
    entries.append(ReportEntry(title, [p.name for p in paths]))


def _file_entries(src: Source, out: Path, tag: str, max_runs: int) -> tuple[list[ReportEntry], list[dict], list[str]]:
    from . import metrics, overlaps, spectra, sweep

    entries: list[ReportEntry] = []
    captions = []
    n = min(src.n_runs, max_runs)
    for i in range(n):
        rv = src.run(i)
        captions.append(rv.caption)
        for suffix, title, fn in (("esd", "ESD", spectra.plot_esd),
                                  ("esd_evolution", "ESD evolution", spectra.plot_esd_evolution),
                                  ("metrics", "metrics against step", metrics.plot_metrics),
                                  ("overlaps", "update overlaps", overlaps.plot_overlaps),
                                  ("updates", "update spectra", overlaps.plot_update_spectra)):
            unit = f"layer {rv.run.label}" if rv.is_layer else f"run {i}"
            _figure(out, f"{tag}_run{i}_{suffix}", f"{unit}: {title}", fn, (src, i), entries)
    if src.traj.absent():
        captions.append(f"layers of a watched model: no {', '.join(src.traj.absent())}")
    lrs = {r.config.get("optimizer", {}).get("lr") for r in src.traj.runs}
    if len(lrs) > 1:
        _figure(out, f"{tag}_sweep", "sweep panel", _sweep_figure, (sweep.plot_sweep_panel, src.path), entries)
        _figure(out, f"{tag}_phase_diagram", "phase diagram (lr x step)", _sweep_figure,
                (sweep.plot_phase_diagram, src.path), entries)
    return entries, src.traj.summary(), captions


def _sweep_figure(fn: Callable[[Any], Any], path: str) -> Any:
    from .sweep import sweep_table

    return fn(sweep_table([path]))


def write_report(path: str | os.PathLike, outdir: str | os.PathLike, *, max_runs: int = 12) -> Path:
    """Write every figure of ``path`` (a trajectory file or a folder of them) into ``outdir``; returns index.html."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    is_sweep = (Path(path) / "sweep.json").is_file()
    if is_sweep:  # a sweep directory: the figures of its results table (a batch file can be reported alone)
        sections.append(_sweep_section(Path(path), out))
    for f in [] if is_sweep else _trajectory_files(Path(path)):
        with Source(f) as src:
            entries, summary, captions = _file_entries(src, out, f.stem, max_runs)
        sections.append(_section(f, entries, summary, captions, max_runs))
    index = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text("<!doctype html><html><head><meta charset='utf-8'><title>htdyn report</title>"
                   "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}img{max-width:100%}"
                   "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
                   ".missing{color:#a00}</style></head><body><h1>htdyn report</h1>"
                   + "".join(sections) + "</body></html>\n")
    os.replace(tmp, index)
    return index


def _section(f: Path, entries: list[ReportEntry], summary: list[dict], captions: list[str], max_runs: int) -> str:
    e = html.escape
    parts = [f"<h2>{e(str(f))}</h2>", "<h3>runs</h3><ul>"]
    parts += [f"<li>{e(c)}</li>" for c in captions]
    if len(summary) > max_runs:
        parts.append(f"<li>... {len(summary) - max_runs} more runs (figures of the first {max_runs} only)</li>")
    parts.append("</ul><h3>summary</h3><table><tr>" + "".join(f"<th>{e(k)}</th>" for k in summary[0]) + "</tr>")
    for row in summary:
        parts.append("<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in row.values()) + "</tr>")
    parts.append("</table><h3>figures</h3>")
    for ent in entries:
        if ent.missing:
            parts.append(f"<h4>{e(ent.title)}</h4><p class='missing'>not drawn: {e(ent.missing)}</p>")
            continue
        png = next((x for x in ent.files if x.endswith(".png")), ent.files[0])
        links = " ".join(f"<a href='{e(x)}'>{e(x.rsplit('.', 1)[-1].upper())}</a>" for x in ent.files)
        parts.append(f"<h4>{e(ent.title)} ({links})</h4><img src='{e(png)}' alt='{e(ent.title)}'>")
    return "".join(parts)


def _sweep_section(root: Path, out: Path) -> str:
    """The sweep panel, the phase diagram and the summary over repeats of a sweep directory."""
    from ..sweep.results import open_sweep
    from .sweep import plot_phase_diagram, plot_sweep_panel

    sw = open_sweep(root)
    table = sw.table()
    entries: list[ReportEntry] = []
    _figure(out, "sweep_panel", "sweep panel", plot_sweep_panel, (table,), entries)
    _figure(out, "sweep_phase_diagram", "phase diagram (lr x step)", plot_phase_diagram, (table,), entries)
    summary = sw.summary().reset_index().to_dict("records")
    return _section(root, entries, summary or [{"runs": 0}], [f"{len(sw.runs)} runs, axes: {', '.join(sw.axes)}"],
                    len(summary) or 1)


def _cell(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)




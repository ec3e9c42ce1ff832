"""The HTML pieces of ``htdyn report``'s index: style, table of contents, figures, tables, config.

Everything user-provided (file names, labels, config text) is escaped; captions from
:data:`htdyn.plot.report_notes.CAPTIONS` are trusted HTML (``<sup>``, entities).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["CSS", "anchor", "toc", "figure_html", "summary_table", "paper_table", "config_block", "header", "cell"]

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:0 16px;color:#222;line-height:1.4}
h1{margin-bottom:0}.meta{color:#666;margin-top:4px}
nav{background:#f6f6f6;border:1px solid #ddd;padding:6px 14px;margin:12px 0}nav ul{margin:4px 0}
figure{margin:18px 0;padding:8px;border:1px solid #e4e4e4;border-radius:4px}
figure img{display:block;max-width:100%;height:auto;margin:auto}
figcaption{font-size:14px;color:#333;margin-top:6px}figcaption .links{color:#666;font-size:12px}
.tablewrap{max-width:100%;overflow-x:auto;margin:8px 0}
table{border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#f0f0f0;white-space:normal;vertical-align:bottom;max-width:9em}
td.text{text-align:left}.differs{color:#a00;font-weight:bold}.matched{color:#070}
.missing{color:#a00}pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:420px;font-size:12px}
"""

#: summary column -> readable header
HEADERS = {"run": "run", "label": "label", "optimizer": "optimizer", "lr": "learning rate",
           "snapshots": "snapshots", "steps_done": "steps done", "diverged_step": "diverged at step",
           "loss": "network train loss", "probe_loss": "train loss (probe read-out)",
           "test_loss": "test loss (read-out)", "alpha_hill": "PL_Alpha_Hill", "alpha_ks": "PL_Alpha_KS",
           "sim_beta": "sim(W, beta)", "kta": "KTA", "n_spikes": "spikes", "sigma_1": "sigma_1",
           "optimizer.name": "optimizer", "optimizer.lr": "learning rate", "repeats": "repeats", "n": "repeats"}


def header(key: str) -> str:
    """A readable header for a summary column: known names spelled out, ``x_mean``/``x_std`` as ``x (mean)``."""
    key = str(key)
    m = re.fullmatch(r"(.+)_(mean|std|min|max)", key)
    if m and m.group(1) in HEADERS:
        return f"{HEADERS[m.group(1)]} ({m.group(2)})"
    return HEADERS.get(key, key.replace("_", " "))


def cell(key: str, v: Any) -> str:
    """A summary value, rounded: floats to 4 significant digits, -1 "diverged at step" as "no"."""
    if key == "diverged_step" and v == -1:
        return "no"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:.4g}"
    return str(v)


def _td(key: str, v: Any) -> str:
    cls = "" if isinstance(v, (int, float)) and not isinstance(v, bool) else " class='text'"
    return f"<td{cls}>{html.escape(cell(key, v))}</td>"


def summary_table(rows: Sequence[dict]) -> str:
    """The summary as an HTML table that scrolls inside the page rather than overflowing it."""
    if not rows:
        return "<p>no runs</p>"
    keys = list(rows[0])
    head = "".join(f"<th title='{html.escape(str(k))}'>{html.escape(header(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(_td(k, r.get(k, "")) for k in keys) + "</tr>" for r in rows)
    return f"<div class='tablewrap'><table class='summary'><tr>{head}</tr>{body}</table></div>"


def paper_table(per_run: Sequence[tuple[str, list[dict]]], anchor_id: str = "paper") -> str:
    """The paper's numbers beside the measured ones, one table for the runs at the paper's setting."""
    from .report_notes import PAPER_SOURCE

    rows = []
    for title, items in per_run:
        for it in items:
            rows.append(f"<tr><td class='text'>{html.escape(title)}</td><td class='text'>{html.escape(it['quantity'])}"
                        f"</td><td>{html.escape(it['paper'])}</td><td>{it['measured']:.4g}</td>"
                        f"<td class='text {it['verdict']}'>{it['verdict']}</td></tr>")
    return (f"<h3 id='{html.escape(anchor_id)}'>the paper's numbers beside the measured ones</h3>"
            f"<p>These runs are at the paper's setting. Source of the paper's numbers: {html.escape(PAPER_SOURCE)}. "
            "\"matched\" means within the official code's spread over its seeds plus a tolerance.</p>"
            "<div class='tablewrap'><table class='paper'><tr><th>run</th><th>quantity</th><th>paper</th>"
            "<th>measured here</th><th>verdict</th></tr>" + "".join(rows) + "</table></div>")


def figure_html(ent: Any) -> str:
    """One figure (a :class:`~htdyn.plot.report.ReportEntry`) as ``<figure>`` with its ``<figcaption>``."""
    e = html.escape
    if ent.missing:
        return (f"<figure class='missing' id='{e(anchor(ent))}'><figcaption><b>{e(ent.title)}</b>: "
                f"not drawn: {e(ent.missing)}</figcaption></figure>")
    img = next((x for x in ent.files if x.endswith((".png", ".gif"))), ent.files[0])
    links = " ".join(f"<a href='{e(x)}'>{e(x.rsplit('.', 1)[-1].upper())}</a>" for x in ent.files)
    return (f"<figure id='{e(anchor(ent))}'><img src='{e(img)}' alt='{e(ent.title)}' loading='lazy'>"
            f"<figcaption><b>{e(ent.title)}.</b> {ent.caption} <span class='links'>({links})</span>"
            "</figcaption></figure>")


def anchor(ent: Any) -> str:
    """A figure's id in the page: its number in the report, then the title's words joined by dashes."""
    return f"fig{ent.number}-" + re.sub(r"[^a-z0-9]+", "-", ent.title.lower()).strip("-")


def toc(sections: Sequence[tuple[str, Sequence[Any], bool]]) -> str:
    """The table of contents: per file (or sweep) section its summary, the paper's numbers, its figures; the config."""
    e = html.escape
    items = ""
    for k, (name, entries, paper) in enumerate(sections):
        figs = f"<li><a href='#s{k}-summary'>summary</a></li>"
        if paper:
            figs += f"<li><a href='#s{k}-paper'>the paper's numbers beside the measured ones</a></li>"
        figs += "".join(f"<li><a href='#{e(anchor(ent))}'>{e(ent.title)}</a>"
                       f"{' (not drawn)' if ent.missing else ''}</li>" for ent in entries)
        items += f"<li><a href='#s{k}'>{e(name)}</a><ul>{figs}</ul></li>"
    return f"<nav><b>contents</b><ul>{items}<li><a href='#config'>config</a></li></ul></nav>"


def config_block(configs: Sequence[tuple[str, str]]) -> str:
    """Each file's simulation config (the JSON it stores), pretty-printed."""
    parts = ["<section id='config'><h2>config</h2>"]
    if not configs:
        parts.append("<p>the sweep's design is in its sweep.json</p>")
    for name, text in configs:
        try:
            text = json.dumps(json.loads(text), indent=1)
        except ValueError:
            pass
        parts.append(f"<h3>{html.escape(name)}</h3><pre>{html.escape(text)}</pre>")
    return "".join(parts) + "</section>"

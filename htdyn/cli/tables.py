"""Summary tables that say what was swept and fit the console (80 columns in logs and pipes).

A run table has a column for every key whose value differs between the runs
(:func:`htdyn.runkeys.varying_keys`), headed by a short name (``model.noise_std``
-> ``noise_std``) and named in full on a ``swept:`` line under the table; the
optimizer and its learning rate, when not swept, are on a ``same in every run:``
line.  When the columns are wider than the console, the swept keys become one
``settings`` column of ``key=value`` words, which wraps, or, when even that leaves
too little room, a table of their own above the results.  No number is ever cut
short, and all text is printed verbatim (no rich markup).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..runkeys import flatten, varying_keys

ALWAYS = ("optimizer.name", "optimizer.lr")
"""Keys a run table names even when they are not swept (on its ``same in every run:`` line)."""


def fmt(v: Any) -> str:
    """A cell: floats to 4 significant digits, NaN as ``-``, None as ``none``, the rest as text."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "-" if v != v else f"{v:.4g}"
    if v is None:
        return "none"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return str(v)


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """Column headers for dotted keys: the last part (``optimizer.lr`` -> ``lr``), the table for a
    ``name`` (``optimizer.name`` -> ``optimizer``), the whole key where two short names would clash."""

    def short(k: str) -> str:
        parts = k.split(".")
        return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]

    names = {k: short(k) for k in keys}
    clash = {s for s in names.values() if list(names.values()).count(s) > 1}
    return {k: (k if s in clash else s) for k, s in names.items()}


def swept_keys(configs: Sequence[Mapping]) -> list[str]:
    """The dotted keys whose values differ between the runs (the label excepted)."""
    return varying_keys(configs)


def same_keys_line(configs: Sequence[Mapping], keys: Sequence[str] = ALWAYS) -> str:
    """``same in every run: optimizer=adam lr=0.1`` for those of ``keys`` that are not swept ('' if none)."""
    if not configs:
        return ""
    swept = set(swept_keys(configs))
    flat = flatten(configs[0])
    same = [k for k in keys if k not in swept and k in flat]
    heads = short_names(same)
    return "same in every run: " + " ".join(f"{heads[k]}={fmt(flat[k])}" for k in same) if same else ""


Column = tuple[str, bool, list[str]]
"""A column: header, right-justified, cells."""

MIN_SETTINGS = 24
"""The narrowest a wrapped ``settings`` column may be before the settings get a table of their own."""


@dataclass
class RunTable:
    """Rows of runs: identity cells, their swept settings, then result cells.

    Parameters
    ----------
    title : printed above the table (user text, verbatim).
    configs : each run's config as plain nested data, in row order (what :func:`swept_keys` reads).
    results : (header, right-justified) of the result columns, in order.
    lead : headers of the identity columns before the settings (``run``, ``label``).
    same_line : print :func:`same_keys_line` under the table (the optimizer and lr when not swept).
    """

    title: str
    configs: Sequence[Mapping]
    results: Sequence[tuple[str, bool]]
    lead: Sequence[str] = ("run",)
    same_line: bool = True
    rows: list[tuple[list[Any], list[Any]]] = field(default_factory=list)

    def add(self, lead: Sequence[Any], results: Sequence[Any]) -> None:
        """One run: its identity cells and its result cells (its settings come from ``configs``)."""
        self.rows.append(([fmt(v) for v in lead], [fmt(v) for v in results]))

    def print(self, console: Console) -> None:
        """The table, narrowed to the console as needed, then the ``swept:`` and ``same in every run:`` lines."""
        keys = swept_keys(self.configs)
        heads = short_names(keys)
        flat = [flatten(c) for c in self.configs]
        lead = [(h, h == "run", [r[0][i] for r in self.rows]) for i, h in enumerate(self.lead)]
        results = [(h, right, [r[1][i] for r in self.rows]) for i, (h, right) in enumerate(self.results)]
        settings = [(heads[k], False, [fmt(f.get(k)) for f in flat]) for k in keys]
        words = [("settings", False, [" ".join(f"{heads[k]}={fmt(f.get(k))}" for k in keys) for f in flat])]
        tables = [_table(self.title, lead + settings + results)]
        if keys and _width(console, tables[0]) > console.width:
            rest = _table(self.title, lead + results)
            if _width(console, rest) + MIN_SETTINGS <= console.width:
                tables = [_table(self.title, lead + words + results)]
            else:  # the settings get a table of their own, above the results
                own = _table("", lead + settings)
                tables = [own if _width(console, own) <= console.width else _table("", lead + words), rest]
        for t in tables:
            console.print(t)
        if keys:
            console.print(Text("swept: " + ", ".join(k if heads[k] == k else f"{heads[k]} = {k}" for k in keys)))
        line = same_keys_line(self.configs) if self.same_line else ""
        if line:
            console.print(Text(line))


def _table(title: str, columns: Sequence[Column]) -> Table:
    table = Table(title=Text(title) if title else None, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  collapse_padding=True)
    for head, right, cells in columns:
        wrap = head == "settings"
        # a number or a name is never folded: the column is at least as wide as its widest cell
        widest = max([len(head)] + ([] if wrap else [len(c) for c in cells]))
        table.add_column(Text(head), justify="right" if right else "left", overflow="fold",
                         min_width=min(widest, MIN_SETTINGS) if wrap else widest)
    for i in range(len(columns[0][2]) if columns else 0):
        table.add_row(*(Text(cells[i]) for _, _, cells in columns))
    return table


def _width(console: Console, table: Table) -> int:
    """How wide ``table`` is with no width limit."""
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def config_grid(config: Mapping, skip: Sequence[str] = ()) -> Table:
    """A simulation config, compactly: one line per table (``model n=64 d=16 ...``), shared keys once.

    Parameters
    ----------
    config : the simulation config as plain data, its runs under ``runs`` (``Trajectory.config``).
    skip : dotted run keys left out (the swept ones, shown per run in the run table).
    """
    sim = {k: v for k, v in config.items() if k != "runs"}
    runs = config.get("runs") or [{}]
    sections: dict[str, list[str]] = {}
    for source in (sim, runs[0]):
        for key, value in flatten(source).items():
            if key in skip or key == "label":
                continue
            head, _, rest = key.rpartition(".")
            section = head or ("sim" if source is sim else "run")
            sections.setdefault(section, []).append(f"{rest}={fmt(value)}")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for section, words in sections.items():
        grid.add_row(Text(section), Text(" ".join(words)))
    return grid

"""What the sweep tests share: a tiny sweep (GD and Adam at three learning rates, paired
repeats), running it in-process, and its table in a fixed row order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clitools import MODEL

import htdyn
from htdyn.sweep.driver import make_executor, prepare, run_sweep
from htdyn.sweep.spec import load_spec

SPEC = """
name = "tiny"
steps = {steps}
""" + MODEL + """[optimizer]
name = "gd"
[sweep]
repeats = {repeats}
max_batch = 3
store = "{store}"
"optimizer.name" = ["gd", "adam"]
"optimizer.lr" = [0.05, 0.5, 5.0]
"""


def spec_text(store: str = "spectra", steps: int = 3, repeats: int = 2) -> str:
    """The tiny sweep's file: 2 optimizers x 3 learning rates x ``repeats``, batches of 3 runs."""
    return SPEC.format(store=store, steps=steps, repeats=repeats)


def run_spec(tmp_path: Path, text: str, name: str = "out", executor: str = "local", **kw: Any) -> Path:
    """Write ``text`` as a sweep file, run it into ``tmp_path / name`` and return that directory."""
    spec = tmp_path / f"{name}.toml"
    spec.write_text(text)
    out = tmp_path / name
    run_sweep(prepare(load_spec(spec), out), make_executor(executor, **kw))
    return out


def sorted_table(root: Path) -> Any:
    """``open_sweep(root).table()`` sorted by run id and step (tables of two executors compare row by row)."""
    return htdyn.open_sweep(root).table().sort_values(["run_id", "step"]).reset_index(drop=True)

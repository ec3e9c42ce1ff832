"""What the demos share: their result object, a simulate-then-analyse helper, the output folder.

A demo is a module with ``NAME``, ``SUMMARY`` and ``run(outdir, quick=True) -> DemoResult``:
it simulates at a reduced size (under a minute on 2 CPU cores with ``quick``), analyses the
trajectory, draws its figures into ``outdir`` (default ``outputs/demos/NAME/``) and returns the
numbers it measured together with the explanation printed by ``htdyn demo NAME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DemoResult", "demo_dir", "simulate_and_analyze", "phase_flickers", "PHASE_ORDER"]


@dataclass
class DemoResult:
    """What a demo measured and drew.

    Attributes
    ----------
    name : the demo's name
    outdir : the folder holding its files
    figures : the figure files written (PNG, PDF, GIF)
    numbers : the measured numbers the explanation quotes (plain floats, ints, strings, bools)
    text : the explanation: what to look at, with the numbers
    trajectories : the trajectory files written
    """

    name: str
    outdir: Path
    figures: list[Path] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    trajectories: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:  # a notebook shows the explanation and the pictures inline
        import html

        imgs = "".join(f"<img src='{p}' style='max-width:100%'>" for p in self.figures if p.suffix in (".png", ".gif"))
        return f"<pre>{html.escape(self.text)}</pre>{imgs}"


def demo_dir(name: str, outdir: str | os.PathLike | None) -> Path:
    """``outdir``, or ``outputs/demos/NAME`` under the current directory; created."""
    p = Path(outdir) if outdir is not None else Path("outputs") / "demos" / name
    p.mkdir(parents=True, exist_ok=True)
    return p


def simulate_and_analyze(path: Path, runs: list[Any], steps: int, *, snapshots: Any = 1, updates: bool = True,
                         metrics: tuple[str, ...] = ("esd", "norms", "powerlaw", "mp", "phase", "teacher", "update"),
                         features: str = "model") -> Any:
    """Simulate ``runs`` (RunConfig list) for ``steps`` into ``path`` (replaced), analyse it; returns the table."""
    from ..analysis.offline import analyze
    from ..config import EvalConfig, SimConfig, SnapshotConfig
    from ..train.simulate import simulate

    sim = SimConfig(name=path.stem, steps=steps, output=str(path), runs=runs,
                    snapshots=SnapshotConfig(at=snapshots, updates=updates), eval=EvalConfig(features=features))
    simulate(sim.validate(), path=str(path), overwrite=True)
    sets = [m for m in metrics if updates or m != "update"]
    return analyze(path, metrics=sets, csv_path=None).table()


#: the order the paper's story goes through; a label that steps back along this order is a flicker
PHASE_ORDER = {"random-like": 0, "bleeding-out": 1, "bulk+spikes": 1, "bulk-decay": 2, "heavy-tailed": 3}


def phase_flickers(rows: Any) -> int:
    """How many runs of ``rows`` (a sweep table: ``run``, ``step``, ``phase``) have a phase that steps back.

    Backwards means a later step's phase comes earlier in :data:`PHASE_ORDER` than an
    earlier step's (e.g. bulk-decay then bulk+spikes); phases outside the order are ignored.
    """
    n = 0
    for _, g in rows.sort_values("step").groupby("run"):
        ranks = [PHASE_ORDER[p] for p in g["phase"].astype(str) if p in PHASE_ORDER]
        n += any(b < a for a, b in zip(ranks, ranks[1:]))
    return n

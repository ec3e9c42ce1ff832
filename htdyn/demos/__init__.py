"""Teaching demos: each runs in under a minute on 2 CPU cores at a reduced size and leaves pictures on disk.

>>> from htdyn import demos
>>> res = demos.run("one-step-spike")        # doctest: +SKIP
>>> print(res.text); res.numbers["adam_lr0.3_spike"]  # doctest: +SKIP

(The figures go to outputs/demos/one-step-spike/; the demos take up to a minute, so these lines are
not run as doctests: tests/ runs the demos.)

``htdyn demo --list`` lists them; ``htdyn demo NAME`` runs one and prints what to look at.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .common import DemoResult

__all__ = ["DEMOS", "DemoResult", "run", "describe"]

#: demo name -> module (each with NAME, SUMMARY, run(outdir, quick) -> DemoResult); a new demo is a module
#: in this package and one line here (``htdyn demo --list``, the CLI and :func:`run` read only this table)
DEMOS = {
    "one-step-spike": "one_step_spike",
    "spike-to-heavy-tail": "spike_to_heavy_tail",
    "lr-phase-diagram": "lr_phase_diagram",
    "noise-vs-no-noise": "noise_vs_no_noise",
    "real-mlp": "real_mlp",
    "adam-vs-muon": "adam_vs_muon",
}


def _module(name: str) -> Any:
    from ..errors import ConfigError

    if name not in DEMOS:
        raise ConfigError(f"unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    return importlib.import_module(f".{DEMOS[name]}", __name__)


def describe() -> dict[str, str]:
    """Demo name -> one-line summary."""
    return {name: _module(name).SUMMARY for name in DEMOS}


def run(name: str, outdir: str | os.PathLike | None = None, quick: bool = True) -> DemoResult:
    """Run demo ``name`` (figures in ``outdir``, default ``outputs/demos/NAME``); returns its numbers and text."""
    return _module(name).run(outdir, quick=quick)

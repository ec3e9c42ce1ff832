"""htdyn: spectral dynamics of two-layer networks trained without gradient noise.

>>> import htdyn
>>> sim = htdyn.load_config("sims/demo.toml")      # or htdyn.simulation([...])
>>> result = htdyn.simulate(sim)                     # writes outputs/demo.h5
>>> with htdyn.open(result.path) as traj:
...     W = traj.runs[0].W(traj.runs[0].steps[-1])
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .blas import set_thread_timeout

# OpenBLAS reads its threads' spin time once, when numpy loads: set it now, as the command line does
# (unless the user set it, or numpy is loaded already); see htdyn/blas.py and docs/performance.md
set_thread_timeout()
del set_thread_timeout

# The public names and the modules that define them, imported on first use
# (PEP 562): ``import htdyn`` loads no numpy, so the command line can set
# BLAS options that are read when numpy loads (see htdyn.cli).
_EXPORTS = {
    "Activation": "activations",
    "EvalConfig": "config", "ModelConfig": "config", "OptimizerConfig": "config", "RunConfig": "config",
    "ScheduleConfig": "config", "SimConfig": "config", "SnapshotConfig": "config", "from_dict": "config",
    "load_config": "config", "simulation": "config",
    "RunResult": "train.simulate", "SimulationResult": "train.simulate", "StepInfo": "train.simulate",
    "simulate": "train.simulate",
    "ConfigError": "errors", "HtdynError": "errors", "StoreError": "errors",
    "Run": "io.reader", "Trajectory": "io.reader", "open": "io.reader",
    "open_sweep": "sweep.results",
    "watch": "watcher", "Watcher": "watcher",
}
#: the rooms: config -> train -> io -> analysis (and the cli, plot and demos on top); see docs/architecture.md.
#: ``htdyn.plot.plot_esd(...)`` and ``htdyn.demos.run(...)`` work after a bare ``import htdyn``: the
#: subpackage is imported on first attribute access (matplotlib only when a figure is drawn).
_SUBMODULES = {"activations", "analysis", "blas", "cli", "config", "datagen", "demos", "errors", "io", "plot",
               "runkeys", "sweep", "train", "watcher", "xp"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'htdyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBMODULES})

"""htdyn: spectral dynamics of two-layer networks trained without gradient noise.

Simulate, open the trajectory file, and measure the spectrum of the hidden layer W (a small
network here, so that it runs in a second; ``htdyn.load_config("sims/demo.toml")`` reads the
same settings from a TOML file):

>>> import htdyn, tempfile
>>> from htdyn.analysis.esd import esd
>>> from htdyn.analysis.powerlaw import fit_hill
>>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
...                        steps=3, output=f"{tempfile.mkdtemp()}/demo.h5")
>>> result = htdyn.simulate(sim)                     # writes the trajectory file
>>> with htdyn.open(result.path) as traj:
...     run = traj.runs[0]
...     steps = run.steps.tolist()
...     W = run.W(steps[-1])
>>> W.shape, steps                                   # h x d, every step stored
((24, 16), [0, 1, 2, 3])
>>> fit = fit_hill(esd(W))                           # the paper's PL_Alpha_Hill
>>> fit.k                                            # the upper half of the 16 eigenvalues
8

References: Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the
Spectral Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657); the analysis functions
cite the papers of their formulas.
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
#: the rooms, in order: config -> io -> analysis -> train -> watcher -> sweep -> plot -> demos -> cli
#: (docs/architecture.md).
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

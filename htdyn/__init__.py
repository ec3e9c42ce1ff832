"""htdyn: spectral dynamics of two-layer networks trained without gradient noise.

>>> import htdyn
>>> sim = htdyn.load_config("sims/demo.toml")      # or htdyn.simulation([...])
>>> result = htdyn.simulate(sim)                     # writes outputs/demo.h5
>>> with htdyn.open(result.path) as traj:
...     W = traj.runs[0].W(traj.runs[0].steps[-1])
"""

from ._version import __version__
from .activations import Activation
from .config import (
    EvalConfig,
    ModelConfig,
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    SimConfig,
    SnapshotConfig,
    from_dict,
    load_config,
    simulation,
)
from .engine import RunResult, SimulationResult, StepInfo, simulate
from .errors import ConfigError, HtdynError, StoreError
from .reader import Run, Trajectory, open

__all__ = [
    "__version__", "Activation", "EvalConfig", "ModelConfig", "OptimizerConfig", "RunConfig",
    "ScheduleConfig", "SimConfig", "SnapshotConfig", "from_dict", "load_config", "simulation",
    "RunResult", "SimulationResult", "StepInfo", "simulate", "ConfigError", "HtdynError",
    "StoreError", "Run", "Trajectory", "open",
]

"""Simulation configs: plain data, validated, loaded from TOML or YAML.

A *simulation* is a list of *runs* that share the number of steps, the
device, the dtype, and the snapshot and evaluation schedules.  Each run is
plain data (:class:`RunConfig`: model, optimizer, schedule, seeds), so a run
can be reproduced alone from its config.  A config file holds one base run,
optionally expanded by a ``[grid]`` (Cartesian product over dotted keys) and
a ``[[runs]]`` list of overrides::

    name = "adam-lr-sweep"
    steps = 10

    [model]
    n = 2000
    d = 1000
    h = 1500

    [optimizer]
    name = "adam"
    lr = 1.0

    [grid]
    "optimizer.lr" = [0.01, 0.1, 1.0]
    seed = [0, 1]

Every error names the offending key and what would be valid (:class:`ConfigError`).

The package, one idea a module: :mod:`~htdyn.config.names` (the valid names),
:mod:`~htdyn.config.fields` (the table of every field: type, range, choices,
default, doc), :mod:`~htdyn.config.validate` (checks and coercion driven by the
table), :mod:`~htdyn.config.steps` (step specs), :mod:`~htdyn.config.schema`
(the dataclasses), :mod:`~htdyn.config.grid` (grid expansion, a pure function),
:mod:`~htdyn.config.build` (plain data -> SimConfig), :mod:`~htdyn.config.loading`
(files and ``--set`` overrides), :mod:`~htdyn.config.docs` (the docs' key table).
"""

from __future__ import annotations

from ..runkeys import flatten
from .build import from_dict, simulation
from .fields import FIELDS, Field
from .grid import expand_grid, grid_points
from .loading import apply_override, load_config, parse_value
from .names import (
    ACTIVATIONS,
    BACKENDS,
    COMPRESSIONS,
    DEVICES,
    DTYPES,
    EVAL_FEATURES,
    OPTIMIZERS,
    SCHEDULES,
    STORE_DTYPES,
    TEACHERS,
)
from .schema import (
    RUN_KEYS,
    SIM_KEYS,
    EvalConfig,
    ModelConfig,
    OptimizerConfig,
    PenaltyConfig,
    RunConfig,
    ScheduleConfig,
    SimConfig,
    SnapshotConfig,
)
from .steps import resolve_steps

__all__ = [
    "ACTIVATIONS", "BACKENDS", "COMPRESSIONS", "DEVICES", "DTYPES", "EVAL_FEATURES", "FIELDS", "OPTIMIZERS",
    "RUN_KEYS", "SCHEDULES", "SIM_KEYS", "STORE_DTYPES", "TEACHERS",
    "EvalConfig", "Field", "ModelConfig", "OptimizerConfig", "PenaltyConfig", "RunConfig", "ScheduleConfig",
    "SimConfig", "SnapshotConfig",
    "apply_override", "expand_grid", "flatten", "from_dict", "grid_points", "load_config", "parse_value",
    "resolve_steps", "simulation",
]

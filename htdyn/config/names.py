"""The valid names of every choice in a config, kept once.

Training code imports these (``htdyn.train.backend`` takes :data:`BACKENDS` and
:data:`DEVICES` from here), never the other way round: config -> train.
The implementations keyed by these names (``htdyn.activations``,
``htdyn.train.optimizers``) are checked against them by ``tests/test_config_fields.py``.
"""

from __future__ import annotations

from .optimizers import OPTIMIZER_SPECS

#: teacher link functions g in y = g(beta . x) + eps
TEACHERS = ("softplus", "relu", "tanh", "linear")
#: student activations phi (gelu: the tanh approximation)
ACTIVATIONS = ("tanh", "relu", "softplus", "gelu", "linear")
#: optimizers (declared once in :mod:`htdyn.config.optimizers`)
OPTIMIZERS = tuple(s.name for s in OPTIMIZER_SPECS)
#: learning-rate schedules
SCHEDULES = ("constant", "step", "exponential", "cosine")
#: HDF5 compression of the snapshots
COMPRESSIONS = ("none", "lzf", "gzip")
#: storage dtypes of the snapshots
STORE_DTYPES = ("float32", "float16")
#: training dtypes
DTYPES = ("float32", "float64")
#: devices
DEVICES = ("cpu", "cuda")
#: array backends (auto when unset: numpy on cpu; CuPy if installed, else torch, on cuda)
BACKENDS = ("numpy", "torch", "cupy")
#: which features the ridge read-out is fitted on
EVAL_FEATURES = ("model", "official")
#: the placeholders that ``output`` may hold
OUTPUT_PLACEHOLDERS = ("name",)
#: spectral penalties added to the loss (``none``: the plain loss); htdyn.train.penalties implements them
PENALTIES = ("none", "weighted_alpha", "stable_rank", "powerlaw_prior", "frechet_prior")
#: decay forms of a penalty's coefficient
PENALTY_DECAYS = ("none", "power", "exponential")

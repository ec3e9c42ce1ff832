"""Single-index teacher and the three data sets (train, probe, test).

x ~ N(0, I_d), y = g(beta . x) + eps, ||beta|| = 1, eps ~ N(0, noise_std^2),
as Kothapalli et al. (2025) and Ba et al. (2022).  The seeded draws follow the
recipe in :mod:`htdyn.datagen` (shared with the reader, which regenerates the
data of a file that stores only its seed): every draw on the host from numpy's
PCG64, each from its own stream keyed by (seed, stream id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import ModelConfig
from ..datagen import (  # noqa: F401 - the stream ids, re-exported for the engine
    STREAM_A,
    STREAM_BETA,
    STREAM_PROBE,
    STREAM_SHUFFLE,
    STREAM_TEST,
    STREAM_TRAIN,
    STREAM_W,
    draw_data,
    rng,
)
from ..errors import ConfigError


@dataclass
class Dataset:
    """Teacher direction and data sets, float64 numpy on the host."""

    beta: np.ndarray
    X: np.ndarray
    y: np.ndarray
    X_probe: np.ndarray
    y_probe: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    seed: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def d(self) -> int:
        return self.X.shape[1]


def make_dataset(model: ModelConfig, seed: int) -> Dataset:
    """Draw beta and the train, probe and test sets for a model config (:func:`htdyn.datagen.draw_data`)."""
    arrays = draw_data(seed, n=model.n, d=model.d, n_test=model.n_test, noise_std=model.noise_std,
                       teacher=model.teacher)
    return Dataset(**arrays, seed=seed)


def make_init(model: ModelConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial W (h x d) and read-out a (h), entries N(0, init_scale^2) and N(0, readout_scale^2)."""
    W = rng(seed, STREAM_W).standard_normal((model.h, model.d)) * model.init_scale
    a = rng(seed, STREAM_A).standard_normal(model.h) * model.readout_scale
    return W, a


def dataset_from_arrays(model: ModelConfig, arrays: dict) -> Dataset:
    """A :class:`Dataset` from user arrays (to replay another code's run exactly).

    ``arrays`` needs X, y, X_probe, y_probe, X_test, y_test and beta, with shapes
    matching the model config.
    """
    need = ("beta", "X", "y", "X_probe", "y_probe", "X_test", "y_test")
    missing = [k for k in need if k not in arrays]
    if missing:
        raise ConfigError(f"user data is missing {', '.join(missing)}; give all of {', '.join(need)}")
    a = {k: np.asarray(arrays[k], dtype=np.float64) for k in need}
    shapes = {
        "beta": (model.d,),
        "X": (model.n, model.d),
        "y": (model.n,),
        "X_probe": (model.n, model.d),
        "y_probe": (model.n,),
        "X_test": (model.n_test, model.d),
        "y_test": (model.n_test,),
    }
    for k, shape in shapes.items():
        if a[k].shape != shape:
            raise ConfigError(f"user data {k} has shape {a[k].shape}; the model config needs {shape}")
    return Dataset(**a, seed=None, meta={"source": "user"})

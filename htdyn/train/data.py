"""Single-index teacher and the three data sets (train, probe, test).

x ~ N(0, I_d), y = g(beta . x) + eps, ||beta|| = 1, eps ~ N(0, noise_std^2),
as Kothapalli et al. (2025) and Ba et al. (2022).  All draws are made on the
host from numpy's PCG64 so every backend starts from the same bits, each from
its own stream keyed by (seed, stream id): a run is reproducible alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..activations import get_teacher
from ..config import ModelConfig
from ..errors import ConfigError

# stream ids (documented in docs/format.md; changing them changes every result)
STREAM_BETA, STREAM_TRAIN, STREAM_PROBE, STREAM_TEST = 0, 1, 2, 3
STREAM_W, STREAM_A = 10, 11
STREAM_SHUFFLE = 20


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


def rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one named stream of a seed."""
    return np.random.default_rng([int(seed), int(stream)])


def make_dataset(model: ModelConfig, seed: int) -> Dataset:
    """Draw beta and the train, probe and test sets for a model config.

    beta ~ uniform on the unit sphere (a normalised Gaussian); each set's rows
    x ~ N(0, I_d) and labels g(beta . x) + eps, eps ~ N(0, noise_std^2), the
    noise added to every set as the paper's code does.
    """
    g = get_teacher(model.teacher)
    beta = rng(seed, STREAM_BETA).standard_normal(model.d)
    beta /= np.linalg.norm(beta)

    def draw(stream: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        r = rng(seed, stream)
        X = r.standard_normal((n, model.d))
        eps = r.standard_normal(n) * model.noise_std
        return X, np.asarray(g(X @ beta), dtype=np.float64) + eps

    X, y = draw(STREAM_TRAIN, model.n)
    Xp, yp = draw(STREAM_PROBE, model.n)
    Xt, yt = draw(STREAM_TEST, model.n_test)
    return Dataset(beta, X, y, Xp, yp, Xt, yt, seed=seed)


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

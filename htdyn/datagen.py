"""The seeded draws of the data: the one recipe training and reading share (below both ``train`` and ``io``).

x ~ N(0, I_d), y = g(beta . x) + eps, ||beta|| = 1, eps ~ N(0, noise_std^2), as
Kothapalli et al. (2025) and Ba et al. (2022).  Every draw is made on the host from
numpy's PCG64, each from its own stream keyed by (seed, stream id), so a run is
reproducible alone and every backend starts from the same bits.  Training draws its
data here (:mod:`htdyn.train.data`); a trajectory written with ``store_data = false``
keeps only the seed, and :meth:`htdyn.io.reader.Run.data` regenerates the arrays here,
bit for bit, without importing the training code or the config.
"""

from __future__ import annotations

import numpy as np

from .activations import get_teacher

# stream ids (documented in docs/format.md; changing them changes every result)
STREAM_BETA, STREAM_TRAIN, STREAM_PROBE, STREAM_TEST = 0, 1, 2, 3
STREAM_W, STREAM_A = 10, 11
STREAM_SHUFFLE = 20

#: the arrays of a data set, in the order the recipe draws them
DATA_KEYS = ("beta", "X", "y", "X_probe", "y_probe", "X_test", "y_test")


def rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one named stream of a seed: PCG64 seeded with ``[seed, stream]``."""
    return np.random.default_rng([int(seed), int(stream)])


def draw_data(seed: int, *, n: int, d: int, n_test: int, noise_std: float, teacher: str) -> dict[str, np.ndarray]:
    """Draw beta and the train, probe and test sets of a seed (float64 host arrays, keys :data:`DATA_KEYS`).

    beta ~ uniform on the unit sphere (a normalised Gaussian, stream 0); the rows of
    each set x ~ N(0, I_d) and its labels g(beta . x) + eps, eps ~ N(0, noise_std^2)
    (train n rows from stream 1, probe n from stream 2, test n_test from stream 3),
    the noise added to every set as the paper's code does.

    Parameters
    ----------
    seed : int
        The data seed (a run's ``data_seed``, stored in the file as ``data/<key>/seed``).
    n, d, n_test, noise_std, teacher
        The model config's fields of those names.
    """
    g = get_teacher(teacher)
    beta = rng(seed, STREAM_BETA).standard_normal(d)
    beta /= np.linalg.norm(beta)

    def draw(stream: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
        r = rng(seed, stream)
        X = r.standard_normal((rows, d))
        eps = r.standard_normal(rows) * noise_std
        return X, np.asarray(g(X @ beta), dtype=np.float64) + eps

    X, y = draw(STREAM_TRAIN, n)
    Xp, yp = draw(STREAM_PROBE, n)
    Xt, yt = draw(STREAM_TEST, n_test)
    return {"beta": beta, "X": X, "y": y, "X_probe": Xp, "y_probe": yp, "X_test": Xt, "y_test": yt}

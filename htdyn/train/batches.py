"""A batch group's data on the device, and the minibatches a step trains on.

Runs that draw the same data set (same data seed and model) share one copy;
inputs are stored pre-scaled by 1/sqrt(d).  Minibatches follow a seeded
shuffle per run and epoch (stream ``STREAM_SHUFFLE`` of the run's seed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..config import RunConfig
from .backend import Backend
from .data import STREAM_SHUFFLE, Dataset, dataset_from_arrays, make_dataset, rng
from .plan import data_key


def group_datasets(runs: list[RunConfig], user_data: list, run_ids: list[int]) -> tuple[list[Dataset], list[str]]:
    """The data set of every run of a group and its key in the file (equal keys: one shared draw)."""
    datasets, keys = [], []
    cache: dict[str, Dataset] = {}
    for run, arrays, i in zip(runs, user_data, run_ids):
        if arrays is not None:
            ds, key = dataset_from_arrays(run.model, arrays), f"user_run{i:04d}"
        else:
            key = data_key(run)
            if key not in cache:
                cache[key] = make_dataset(run.model, run.data_seed_)
            ds = cache[key]
        datasets.append(ds)
        keys.append(key)
    return datasets, keys


def device_data(backend: Backend, datasets: list[Dataset], d: int) -> dict[str, Any]:
    """The data sets stacked on the device (leading axis 1 when shared, else one per run)."""
    s = 1.0 / math.sqrt(d)

    def stack(name: str, scale: float = 1.0) -> Any:
        return backend.asarray(np.stack([getattr(ds, name) * scale for ds in datasets]))

    return {
        "Xs": stack("X", s), "y": stack("y"),
        "Xs_probe": stack("X_probe", s), "y_probe": stack("y_probe"),
        "Xs_test": stack("X_test", s), "y_test": stack("y_test"),
    }


class Minibatches:
    """The (X, y) each step trains on: the full training set, or a seeded minibatch per run.

    Parameters
    ----------
    backend : Backend
    runs : the group's runs (they share ``optimizer.batch_size``)
    dev : the device data of :func:`device_data`
    """

    def __init__(self, backend: Backend, runs: list[RunConfig], dev: dict[str, Any]):
        self.backend, self.dev = backend, dev
        self.B = len(runs)
        self.n = runs[0].model.n
        self.bs = runs[0].optimizer.batch_size or 0
        self.on = 0 < self.bs < self.n
        self.shuffles = [rng(r.seed, STREAM_SHUFFLE) for r in runs] if self.on else []
        self.per_epoch = math.ceil(self.n / self.bs) if self.on else 1
        self.perms: np.ndarray | None = None

    def get(self, t: int) -> tuple[Any, Any]:
        """The inputs and targets of step t, (B or 1, batch, d) and (B or 1, batch)."""
        if not self.on:
            return self.dev["Xs"], self.dev["y"]
        xp = self.backend.xp
        if t % self.per_epoch == 0:
            self.perms = np.stack([g.permutation(self.n) for g in self.shuffles])
        k = t % self.per_epoch
        sel = self.perms[:, k * self.bs:(k + 1) * self.bs]
        Xs, y = self.dev["Xs"], self.dev["y"]
        shared = Xs.shape[0] == 1
        idx = [self.backend.asarray(sel[b], dtype=xp.int64) for b in range(self.B)]
        xb = [xp.take(Xs[0 if shared else b], idx[b], axis=0) for b in range(self.B)]
        yb = [xp.take(y[0 if shared else b], idx[b], axis=0) for b in range(self.B)]
        return xp.stack(xb), xp.stack(yb)

    def get_state(self) -> dict:
        """The shuffle generators' states and the current epoch's permutation (host data)."""
        if not self.on:
            return {}
        return {"generators": [g.bit_generator.state for g in self.shuffles],
                "perms": None if self.perms is None else self.perms.copy()}

    def set_state(self, state: dict) -> None:
        """Continue the shuffles from :meth:`get_state`'s value."""
        if not self.on or not state:
            return
        for g, s in zip(self.shuffles, state["generators"]):
            g.bit_generator.state = s
        self.perms = None if state["perms"] is None else np.array(state["perms"])

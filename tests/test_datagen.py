"""A file that stores only the data seed gives back, bit for bit, the data its training used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import htdyn
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation
from htdyn.train.data import make_dataset, make_init

MODEL = {"n": 64, "d": 16, "h": 24, "n_test": 16, "noise_std": 0.3}


def _recipe(seed: int, n: int, d: int, n_test: int, noise_std: float) -> dict[str, np.ndarray]:
    """The draws as docs/format.md states them, written out again here (softplus teacher)."""
    def gen(stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, stream])

    beta = gen(0).standard_normal(d)
    beta /= np.linalg.norm(beta)
    out = {"beta": beta}
    for stream, rows, name in ((1, n, ""), (2, n, "_probe"), (3, n_test, "_test")):
        g = gen(stream)
        X = g.standard_normal((rows, d))
        eps = g.standard_normal(rows) * noise_std
        out["X" + name], out["y" + name] = X, np.logaddexp(0.0, X @ beta) + eps
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    tmp = tmp_path_factory.mktemp("datagen")
    runs = [RunConfig(model=ModelConfig(**MODEL), optimizer=OptimizerConfig("gd", lr=0.1), seed=s, data_seed=ds)
            for s, ds in ((0, 5), (1, 7))]
    out = {}
    for stored in (True, False):
        out[stored] = tmp / f"stored{stored}.h5"
        htdyn.simulate(simulation(runs, steps=2, dtype="float64", store_data=stored), path=str(out[stored]))
    return out


def test_regenerated_data_equal_the_stored_and_the_recipe(files: dict[bool, Path]) -> None:
    with htdyn.open(files[False]) as seed_only, htdyn.open(files[True]) as stored:
        for a, b, seed in zip(seed_only.runs, stored.runs, (5, 7)):
            assert not a.g["data"].attrs["stored"] and b.g["data"].attrs["stored"]
            regen, kept = a.data(), b.data()
            want = _recipe(seed, MODEL["n"], MODEL["d"], MODEL["n_test"], MODEL["noise_std"])
            assert sorted(regen) == sorted(want)
            for k, v in want.items():
                assert regen[k].dtype == np.float64
                # bit for bit against the recipe (np.logaddexp is the softplus the teacher uses: 1 ulp apart at most)
                if k.startswith("y"):
                    np.testing.assert_array_max_ulp(regen[k], v, maxulp=2)
                else:
                    np.testing.assert_array_equal(regen[k], v)
                # the stored file keeps 2-d sets as float32, the rest as drawn
                np.testing.assert_array_equal(kept[k], regen[k].astype(np.float32) if v.ndim == 2 else regen[k])


def test_regenerated_data_are_what_training_used(files: dict[bool, Path]) -> None:
    """The loss the engine recorded for W_0 (float64) is the loss of W_0 on the regenerated train set."""
    with htdyn.open(files[False]) as traj:
        for r in traj.runs:
            data = r.data()
            # W_0 is stored as float32: take the seeded float64 initial weights (checked against the file)
            cfg = htdyn.from_dict(traj.config).runs[r.index]
            W, a = make_init(cfg.model, cfg.init_seed_)
            np.testing.assert_array_equal(W.astype(np.float32), r.W(0))
            np.testing.assert_array_equal(a, r.a())
            d, h = W.shape[1], W.shape[0]
            pred = np.tanh(data["X"] @ W.T / np.sqrt(d)) @ a / np.sqrt(h)
            loss = np.mean((pred - data["y"]) ** 2)
            np.testing.assert_allclose(r.loss[0], loss, rtol=1e-13)
            trained = make_dataset(cfg.model, cfg.data_seed_)  # the engine's own draw
            for k, v in data.items():
                np.testing.assert_array_equal(v, getattr(trained, k))

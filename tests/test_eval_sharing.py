"""Evaluations shared by runs that are equal at an eval step (a sweep repeat's W_0).

Runs of one batch whose data set, W_t and a_t are equal element for element have the
same evaluation; the engine evaluates each distinct one once.  Checked against the
answer that needs no sharing: every run evaluated alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY

import htdyn
import htdyn.train.loop as loop
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation
from htdyn.train.loop import distinct_runs


def _runs(seeds: list[int], lrs: list[float], opt: str = "gd") -> list[RunConfig]:
    return [RunConfig(model=ModelConfig(**TINY), optimizer=OptimizerConfig(opt, lr=lr), seed=s)
            for s in seeds for lr in lrs]


def _sim(runs: list[RunConfig], **kw):
    return simulation(runs, steps=4, dtype="float64", eval={"at": "first_last", "metrics": ["esd", "powerlaw"]},
                      **kw)


@pytest.fixture
def eval_sizes(monkeypatch) -> list[int]:
    """The batch size of every read-out evaluation the engine makes."""
    sizes: list[int] = []
    real = loop.evaluate

    def counting(xp, W, *args, **kw):
        sizes.append(int(W.shape[0]))
        return real(xp, W, *args, **kw)

    monkeypatch.setattr(loop, "evaluate", counting)
    return sizes


@pytest.mark.parametrize("seeds", [[0], [0, 1]])
def test_equal_runs_are_evaluated_once_and_as_if_alone(eval_sizes: list[int], seeds: list[int]) -> None:
    runs = _runs(seeds, [1.0, 10.0, 100.0])
    res = htdyn.simulate(_sim(runs), path=False)
    # step 0: one evaluation per seed (its points share W_0 and the data); step 4: every run
    assert eval_sizes == [len(seeds), len(runs)]
    eval_sizes.clear()
    for j, run in enumerate(runs):
        alone = htdyn.simulate(_sim([run]), path=False).runs[0]
        for k in alone.eval:
            np.testing.assert_allclose(res.runs[j].eval[k], alone.eval[k], rtol=1e-12, atol=0, err_msg=k)
        for k in alone.metrics:
            np.testing.assert_allclose(res.runs[j].metrics[k], alone.metrics[k], rtol=1e-12, atol=0, err_msg=k)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverged_runs_are_not_recorded_again(eval_sizes: list[int]) -> None:
    m = ModelConfig(**{**TINY, "activation": "linear"})  # GD at lr = 1e6 overflows (tests/test_engine.py)
    runs = [RunConfig(model=m, optimizer=OptimizerConfig("gd", lr=lr), seed=0) for lr in (5.0, 1e6)]
    sim = simulation(runs, steps=10, dtype="float32", eval={"at": "first_last"})
    res = htdyn.simulate(sim, path=False)
    assert res.runs[1].diverged and not res.runs[0].diverged
    # W_0 once for both; at step 10 nothing is shared, so the batch as it is (no copy), the
    # frozen run's numbers dropped
    assert eval_sizes == [1, 2]
    assert np.isnan(res.runs[1].eval["probe_loss"][-1]) and np.isfinite(res.runs[0].eval["probe_loss"][-1])


def test_distinct_runs_compares_data_key_a_and_every_entry_of_w() -> None:
    rng = np.random.default_rng(0)
    W = np.repeat(rng.standard_normal((1, 5, 4)), 7, axis=0)
    a = np.repeat(rng.standard_normal((1, 5)), 7, axis=0)
    W[2, 4, 3] = np.nextafter(W[2, 4, 3], np.inf)  # differs in its last entry only
    a[3, 0] = np.nextafter(a[3, 0], np.inf)  # differs in a only
    W[6, 2, 1] = np.nextafter(W[6, 2, 1], np.inf)  # a middle row: equal fingerprint, caught in full
    keys = ["d0", "d0", "d0", "d0", "d1", "d0", "d0"]  # run 4: another data set
    W, a = np.concatenate([W, W[6:]]), np.concatenate([a, a[6:]])  # run 7 equals run 6
    keys.append("d0")
    reps, inverse = distinct_runs(np, W, a, keys, np.arange(8))
    assert reps == [0, 2, 3, 4, 6]
    assert inverse.tolist() == [0, 0, 1, 2, 3, 0, 4, 4]
    reps, inverse = distinct_runs(np, W, a, keys, np.array([1, 2, 5]))  # the others inactive
    assert reps == [1, 2]
    assert inverse.tolist() == [-1, 0, 1, -1, -1, 0, -1, -1]


def test_distinct_runs_on_torch() -> None:
    torch = pytest.importorskip("torch")
    W = torch.zeros((3, 4, 5), dtype=torch.float64)
    a = torch.ones((3, 4), dtype=torch.float64)
    W[1, 1, 1] = 1.0
    reps, inverse = distinct_runs(torch, W, a, ["d", "d", "d"], np.arange(3))
    assert reps == [0, 1] and inverse.tolist() == [0, 1, 0]


def test_the_last_loss_reuses_the_evaluation_outputs(monkeypatch) -> None:
    """At W_T the evaluation has just computed f(X) on the training set: the final loss reuses it
    (one n h d product less per run), and equals model.loss's own computation bit for bit."""
    calls: list[int] = []
    real = loop.full_loss

    def counting(xp, W, *args):
        calls.append(int(W.shape[0]))
        return real(xp, W, *args)

    monkeypatch.setattr(loop, "full_loss", counting)
    htdyn.simulate(_sim(_runs([0], [1.0, 10.0])), path=False)
    assert calls == []  # W_T evaluated as a whole batch: its outputs reused
    # equal at T: a shared, partial evaluation, so the loss is model.loss's; it equals the reused one
    twins = htdyn.simulate(_sim(_runs([0], [1.0, 1.0])), path=False)
    assert calls == [2]
    np.testing.assert_array_equal(twins.runs[0].loss, twins.runs[1].loss)
    alone = htdyn.simulate(_sim(_runs([0], [1.0])), path=False).runs[0]
    np.testing.assert_array_equal(twins.runs[0].loss, alone.loss)

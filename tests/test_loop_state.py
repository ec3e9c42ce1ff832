"""A batch group's training state can be saved after any step and continued, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, ScheduleConfig, simulation
from htdyn.train.backend import get_backend, to_numpy
from htdyn.train.loop import GroupRun
from htdyn.train.recorder import Recorder

TINY = {"n": 64, "d": 16, "h": 24, "n_test": 16}


def _group(sim, backend) -> GroupRun:
    n = len(sim.runs)
    return GroupRun(0, list(range(n)), sim, backend, Recorder(None, sim), [None] * n, [None] * n)


@pytest.mark.parametrize("opt, batch_size, weight_norm", [
    ("adam", None, False), ("momentum", 16, False), ("adamw", 24, True), ("gd", None, True),
])
def test_resume_from_saved_state_is_bit_identical(opt: str, batch_size: int | None, weight_norm: bool) -> None:
    runs = [RunConfig(model=ModelConfig(**TINY),
                      optimizer=OptimizerConfig(opt, lr=lr, weight_decay=0.01, batch_size=batch_size),
                      schedule=ScheduleConfig("cosine"), seed=s, weight_norm=weight_norm)
            for s, lr in ((0, 0.01), (1, 0.05))]
    sim = simulation(runs, steps=9, dtype="float64", eval={"at": 3})
    backend = get_backend("cpu", "float64")
    whole = _group(sim, backend)
    whole.run()
    first = _group(sim, backend)
    first.run(until=5)
    saved = first.save_state()
    assert saved.step == 5
    del first
    second = _group(sim, backend)  # a fresh process would build the same group from the config
    second.load_state(saved)
    second.run()
    np.testing.assert_array_equal(to_numpy(second.state.W), to_numpy(whole.state.W))
    np.testing.assert_array_equal(second.state.losses, whole.state.losses)
    for k in whole.evals:  # evaluations after the resume point match; those before belong to the first half
        np.testing.assert_array_equal(second.evals[k][:, 2:], whole.evals[k][:, 2:])
    opt_a, k_a = second.opt.get_state()
    opt_b, k_b = whole.opt.get_state()
    assert k_a == k_b == 9
    for pa, pb in zip(opt_a, opt_b):
        for name in pb:
            np.testing.assert_array_equal(to_numpy(pa[name]), to_numpy(pb[name]))


def test_saved_state_is_a_host_copy() -> None:
    sim = simulation([RunConfig(model=ModelConfig(**TINY), optimizer=OptimizerConfig("adam", lr=0.01))], steps=4)
    g = _group(sim, get_backend("cpu", "float32"))
    g.run(until=2)
    saved = g.save_state()
    W2 = saved.W.copy()
    g.run()
    np.testing.assert_array_equal(saved.W, W2)  # later steps do not write into a saved state
    assert isinstance(saved.W, np.ndarray) and saved.optimizer_steps == 2

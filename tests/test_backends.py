"""One code path, several array backends: numpy and torch (CPU) agree; CUDA when present."""

from __future__ import annotations

import numpy as np
import pytest

import htdyn
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, ScheduleConfig, simulation

torch = pytest.importorskip("torch")

OPTS = ["gd", "momentum", "nesterov", "adam", "adamw", "sign"]


def _runs(opt: str) -> list[RunConfig]:
    return [
        RunConfig(model=ModelConfig(n=64, d=16, h=24, n_test=16, train_readout=(opt == "adam")),
                  optimizer=OptimizerConfig(opt, lr=lr, weight_decay=0.01), weight_norm=(i == 1),
                  schedule=ScheduleConfig("cosine"), seed=i)
        for i, lr in enumerate((0.1, 1.0))
    ]


def _sim(runs: list[RunConfig], backend: str, device: str = "cpu", dtype: str = "float64"):
    return htdyn.simulate(simulation(runs, steps=5, dtype=dtype, backend=backend, device=device), path=False)


@pytest.mark.parametrize("opt", OPTS)
def test_torch_cpu_equals_numpy(opt: str) -> None:
    a, b = _sim(_runs(opt), "numpy"), _sim(_runs(opt), "torch")
    for ra, rb in zip(a.runs, b.runs):
        # same float64 operations in a possibly different order (BLAS blocking): a few ulps
        # of |W| ~ 10 amplified by at most 5 steps
        np.testing.assert_allclose(ra.W_final, rb.W_final, rtol=0, atol=1e-11)
        np.testing.assert_allclose(ra.loss, rb.loss, rtol=1e-11)
        np.testing.assert_allclose(ra.eval["test_loss"], rb.eval["test_loss"], rtol=1e-10)


def test_minibatch_same_on_both_backends() -> None:
    runs = [RunConfig(model=ModelConfig(n=64, d=16, h=24, n_test=16),
                      optimizer=OptimizerConfig("adam", lr=0.1, batch_size=20), seed=s) for s in (0, 1)]
    a, b = _sim(runs, "numpy"), _sim(runs, "torch")
    for ra, rb in zip(a.runs, b.runs):
        np.testing.assert_allclose(ra.W_final, rb.W_final, atol=1e-11)


def _cuda_backends() -> list[str]:
    out = []
    if torch.cuda.is_available():
        out.append("torch")
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            out.append("cupy")
    except Exception:
        pass
    return out


@pytest.mark.cuda
@pytest.mark.parametrize("backend", ["torch", "cupy"])
def test_cuda_matches_cpu(backend: str) -> None:
    if backend not in _cuda_backends():
        pytest.skip(f"no CUDA GPU for {backend}")
    for opt in ("gd", "adam"):
        a, b = _sim(_runs(opt), "numpy"), _sim(_runs(opt), backend, device="cuda")
        for ra, rb in zip(a.runs, b.runs):
            np.testing.assert_allclose(ra.W_final, rb.W_final, atol=1e-9)


def test_cuda_request_without_gpu_is_a_clear_error() -> None:
    if _cuda_backends():
        pytest.skip("a GPU is present")
    with pytest.raises(htdyn.ConfigError, match="cuda"):
        _sim(_runs("gd"), None, device="cuda")  # type: ignore[arg-type]

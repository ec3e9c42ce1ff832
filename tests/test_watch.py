"""htdyn.watch: which matrices, what is recorded at which step, the checks before training, the file's rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import htdyn
from htdyn.errors import ConfigError, StoreError

torch = pytest.importorskip("torch")
nn = torch.nn

from htdyn.watcher.layers import find_layers  # noqa: E402
from htdyn.watcher.spectra import STORE_MODES, device_metrics, device_spectrum  # noqa: E402


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, kernel_size=(2, 3))
        self.attn = nn.MultiheadAttention(4, 2)
        self.fc = nn.Linear(12, 5)
        self.bn = nn.BatchNorm1d(5)


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 24), nn.ReLU(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 3))


def train(model: nn.Module, w: htdyn.Watcher | None, steps: int, lr: float = 0.05) -> list[float]:
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 10, generator=g), torch.randn(40, 3, generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if w is not None:
            w.step(loss=loss, lr=lr, accuracy=0.25)
    return losses


# ---------------------------------------------------------------- the matrices
def test_linear_conv_and_attention_become_the_documented_matrices() -> None:
    net = Net()
    units = {u.name: u for u in find_layers(net)}
    assert list(units) == ["conv", "attn.q", "attn.k", "attn.v", "attn.out_proj", "fc"]  # no BatchNorm by default
    assert units["conv"].shape == (3, 2 * 2 * 3)
    assert torch.equal(units["conv"].matrix(), net.conv.weight.detach().reshape(3, 12))
    E = 4
    for i, p in enumerate("qkv"):
        assert units[f"attn.{p}"].shape == (E, E)
        assert torch.equal(units[f"attn.{p}"].matrix(), net.attn.in_proj_weight.detach()[i * E:(i + 1) * E])
    assert torch.equal(units["fc"].matrix(), net.fc.weight.detach())
    sep = nn.MultiheadAttention(4, 2, kdim=6, vdim=7)
    shapes = {u.name: u.shape for u in find_layers(sep)}
    assert shapes == {"MultiheadAttention.q": (4, 4), "MultiheadAttention.k": (4, 6),
                      "MultiheadAttention.v": (4, 7), "out_proj": (4, 4)}


def test_layers_by_name_module_name_and_predicate() -> None:
    net = Net()
    assert [u.name for u in find_layers(net, "attn")] == ["attn.q", "attn.k", "attn.v"]
    assert [u.name for u in find_layers(net, ["fc", "attn.v"])] == ["attn.v", "fc"]
    assert [u.name for u in find_layers(net, lambda n, m: isinstance(m, nn.Conv2d))] == ["conv"]


@pytest.mark.parametrize(("model", "layers", "words"), [
    (Net(), "bn", ["'bn'", "BatchNorm1d", "(5,)", "not 2-D after flattening"]),
    (nn.Sequential(nn.ReLU(), nn.Tanh()), None, ["no nn.Linear", "layers=["]),
    (Net(), "nope", ["no layer 'nope'", "conv, attn.q"]),
    (Net(), lambda n, m: False, ["matches no layer"]),
    (Net(), [], ["selects no layer"]),
])
def test_bad_layers_are_one_line_before_any_file(tmp_path: Path, model, layers, words) -> None:
    out = tmp_path / "w.h5"
    with pytest.raises(ConfigError) as e:
        htdyn.watch(model, out, layers=layers)
    msg = str(e.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("every", "steps", "words"), [
    (0, None, ["every = 0", "positive"]),
    (-3, None, ["every = -3"]),
    (2.5, None, ["every = 2.5", "log:N"]),
    ("log:1", 100, ["'log:1'"]),
    ("log:5", None, ["needs the number of steps", "steps=N"]),
    ([0, 5, 200], 100, ["step 200 is past the end", "0..100"]),
    (500, 100, ["every = 500 is past the end", "steps = 100"]),
    ("none", None, ["records nothing"]),
    (5, 0, ["steps = 0"]),
])
def test_every_out_of_range_is_one_line(tmp_path: Path, every, steps, words) -> None:
    with pytest.raises(ConfigError) as e:
        htdyn.watch(mlp(), tmp_path / "w.h5", every=every, steps=steps)
    msg = str(e.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    assert list(tmp_path.iterdir()) == []


def test_store_and_metric_sets_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="store = 'big'"):
        htdyn.watch(mlp(), tmp_path / "w.h5", store="big")
    with pytest.raises(ConfigError, match="has none"):
        htdyn.watch(mlp(), tmp_path / "w.h5", metrics=["teacher"])
    with pytest.raises(ConfigError, match="unknown metric set 'esdd'"):
        htdyn.watch(mlp(), tmp_path / "w.h5", metrics=["esdd"])


def test_store_modes_are_the_sweeps_without_the_teacher() -> None:
    from htdyn.sweep.spec import STORE_MODES as SWEEP

    assert {k: tuple(s for s in v if s != "teacher") for k, v in SWEEP.items()} == STORE_MODES


# ---------------------------------------------------------------- what is recorded
def test_recorded_metrics_are_those_of_the_weights_at_the_step(tmp_path: Path) -> None:
    model = mlp()
    snaps = {}
    w = htdyn.watch(model, tmp_path / "w.h5", every=3, store="spectra")
    snaps[0] = [m.weight.detach().double().numpy().copy() for m in model if isinstance(m, nn.Linear)]
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 10, generator=g), torch.randn(40, 3, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for t in range(7):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        w.step(loss=loss, lr=0.05 * (t + 1))
        snaps[t + 1] = [m.weight.detach().double().numpy().copy() for m in model if isinstance(m, nn.Linear)]
    path = w.finish()
    assert path == tmp_path / "w.h5" and not (tmp_path / "w.partial.h5").exists()
    with htdyn.open(path) as traj:
        assert traj.unit == "layer" and traj.complete and [r.label for r in traj.runs] == ["0", "2", "4"]
        assert traj.attrs["format_version"] == 2
        np.testing.assert_array_equal(traj.f["scalars/lr"][()], 0.05 * np.arange(1, 8))
        for i, run in enumerate(traj.runs):
            assert run.unit == "layer" and not run.has_teacher
            np.testing.assert_array_equal(run.g["metrics/steps"][()], [0, 3, 6, 7])  # 0, k, 2k and the last
            np.testing.assert_allclose(run.loss, losses, rtol=1e-7)  # loss[t]: computed with W_t
            assert run.steps_done == 7 and len(run.steps) == 0  # no W with store="spectra"
            for j, t in enumerate([0, 3, 6, 7]):
                W = snaps[t][i]
                ref = np.linalg.eigvalsh(W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T)
                got = run.metrics["esd"][j]
                np.testing.assert_allclose(got, np.maximum(ref, 0), rtol=1e-5, atol=1e-6 * ref.max())
                s = np.linalg.svd(W, compute_uv=False)[:min(8, *W.shape)]
                np.testing.assert_allclose(run.metrics["top_sigma"][j], s, rtol=1e-5)
                U = run.metrics["top_u"][j]
                V = run.metrics["top_v"][j]
                np.testing.assert_allclose(W @ V[0], s[0] * U[0], atol=1e-4 * s[0])
                assert np.isfinite(run.metrics["alpha_hill"][j])


def test_full_store_keeps_w_and_the_update(tmp_path: Path) -> None:
    model = mlp()
    with htdyn.watch(model, tmp_path / "w.h5", every=[0, 2, 4], store="full", layers="2") as w:
        W = {0: model[2].weight.detach().numpy().copy()}
        for t in range(5):
            train(model, w, 1)
            W[t + 1] = model[2].weight.detach().numpy().copy()
    with htdyn.open(w.path) as traj:
        (run,) = traj.runs
        np.testing.assert_array_equal(run.steps, [0, 2, 4])  # a list: only its steps, not the last
        np.testing.assert_array_equal(run.update_steps, [0, 2, 4])
        for t in (0, 2, 4):
            np.testing.assert_array_equal(run.W(t), W[t].astype(np.float64))
            np.testing.assert_allclose(run.update(t), W[t + 1].astype(np.float64) - W[t], atol=1e-7)
        np.testing.assert_array_equal(traj.f["scalars/accuracy"][()], np.full(5, 0.25))


def test_device_path_equals_the_host_path() -> None:
    """The decompositions on the model's device (torch; CUDA in use) give the host path's numbers."""
    from htdyn.analysis.registry import matrix_metrics
    from htdyn.watcher.spectra import STORE_MODES as MODES

    g = torch.Generator().manual_seed(3)
    W = torch.randn(30, 12, dtype=torch.float64, generator=g) @ torch.diag(torch.linspace(0.1, 3, 12,
                                                                                          dtype=torch.float64))
    for A in (W, W.T.contiguous()):
        evals, (s, U, V) = device_spectrum(A, 5)
        An = A.numpy()
        np.testing.assert_allclose(evals, np.linalg.eigvalsh(An.T @ An if An.shape[0] >= An.shape[1] else An @ An.T),
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s, np.linalg.svd(An, compute_uv=False)[:5], rtol=1e-10)
        np.testing.assert_allclose(An @ V.T, U.T * s, atol=1e-10)
        host = matrix_metrics(An, MODES["spectra"])
        dev = {k: v for vals in device_metrics(A, MODES["spectra"]).values() for k, v in vals.items()}
        assert set(dev) == set(host)
        for k in host:
            np.testing.assert_allclose(dev[k], host[k], rtol=1e-8, atol=1e-10, err_msg=k)


def test_a_nonfinite_layer_is_recorded_as_such(tmp_path: Path) -> None:
    model = mlp()
    with htdyn.watch(model, tmp_path / "w.h5", every=1, store="scalars") as w:
        train(model, w, 1)
        with torch.no_grad():
            model[4].weight[0, 0] = float("nan")
        w.step(loss=float("nan"))
    with htdyn.open(w.path) as traj:
        run = traj.runs[2]
        assert run.diverged_step == 2
        from htdyn.analysis.phases import PHASES

        assert PHASES[int(run.metrics["phase"][-1])] == "non-finite"
        assert np.isnan(run.metrics["alpha_hill"][-1]) and np.isfinite(run.metrics["alpha_hill"][0])
        assert traj.runs[0].diverged_step == -1


# ---------------------------------------------------------------- the file's rules
def test_an_exception_leaves_a_failed_partial_file_with_the_step(tmp_path: Path) -> None:
    out = tmp_path / "w.h5"
    model = mlp()
    with pytest.raises(RuntimeError, match="boom"):
        with htdyn.watch(model, out, every=2) as w:
            train(model, w, 3)
            raise RuntimeError("boom")
    assert not out.exists()
    part = tmp_path / "w.partial.h5"
    with htdyn.open(part) as traj:
        assert traj.status == "failed" and traj.attrs["failed_step"] == 3
        assert "RuntimeError: boom" in traj.attrs["error"]
        assert traj.runs[0].steps_done == 3
        np.testing.assert_array_equal(traj.runs[0].g["metrics/steps"][()], [0, 2])
    with pytest.raises(StoreError, match="unfinished earlier run"):
        htdyn.watch(model, out)


def test_existing_output_and_a_second_writer_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "w.h5"
    out.write_bytes(b"mine")
    with pytest.raises(StoreError, match="exists"):
        htdyn.watch(mlp(), out)
    assert out.read_bytes() == b"mine"
    w = htdyn.watch(mlp(), tmp_path / "v.h5")
    with pytest.raises(StoreError, match="being written|another process|holds"):
        htdyn.watch(mlp(), tmp_path / "v.h5", overwrite=True)
    w.finish()
    with pytest.raises(StoreError, match="finished"):
        w.step(loss=1.0)


KILLED = """
import os, signal, sys, torch, htdyn
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.Linear(20, 3))
w = htdyn.watch(m, sys.argv[1], every=2)
for t in range(5):
    w.step(loss=float(t))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_process_leaves_a_readable_file(tmp_path: Path) -> None:
    out = tmp_path / "k.h5"
    r = subprocess.run([sys.executable, "-c", KILLED, str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r.stderr
    with htdyn.open(tmp_path / "k.partial.h5") as traj:
        assert traj.status == "running" and traj.writer is not None and not traj.writer["alive"]
        run = traj.runs[1]
        np.testing.assert_array_equal(run.g["metrics/steps"][()], [0, 2, 4])
        assert run.steps_done == 4 and np.isfinite(run.metrics["alpha_hill"]).all()
        np.testing.assert_array_equal(run.loss[:4], [0, 1, 2, 3])


def test_import_htdyn_and_watch_do_not_import_torch() -> None:
    code = "import sys, htdyn; htdyn.watch; htdyn.Watcher; assert 'torch' not in sys.modules, 'torch'"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_plain_h5py_reads_the_layers(tmp_path: Path) -> None:
    model = mlp()
    with htdyn.watch(model, tmp_path / "w.h5", every=2, store="scalars") as w:
        train(model, w, 2)
    with h5py.File(w.path, "r") as f:
        assert f.attrs["unit"] == "layer"
        assert [f[f"runs/{k}"].attrs["layer"] for k in sorted(f["runs"])] == ["0", "2", "4"]
        assert f["runs/0001/metrics/alpha_ks"].shape == (2,)


@pytest.mark.cuda
def test_a_cuda_model_is_watched_on_its_device(tmp_path: Path) -> None:
    """The decompositions run on the GPU (torch); the numbers equal those of the same weights on the CPU."""
    from htdyn.analysis.registry import matrix_metrics

    model = mlp().cuda()
    with htdyn.watch(model, tmp_path / "g.h5", every=[0], store="spectra") as w:
        pass
    with htdyn.open(w.path) as traj:
        assert traj.attrs["device"].startswith("cuda")
        for run, m in zip(traj.runs, [m for m in model if isinstance(m, nn.Linear)]):
            host = matrix_metrics(m.weight.detach().cpu().numpy(), STORE_MODES["spectra"])
            for k, v in host.items():
                np.testing.assert_allclose(run.metrics[k][0], v, rtol=1e-6, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_is_finite_sees_one_bad_entry_anywhere(bad: float, dtype) -> None:
    from htdyn.watcher.spectra import is_finite

    W = torch.randn(64, 48).to(dtype)
    assert is_finite(W)
    for i, j in ((0, 0), (63, 47), (17, 5)):
        V = W.clone()
        V[i, j] = bad
        assert is_finite(V) is bool(torch.isfinite(V).all()) is False


def test_metric_records_buffered_between_flushes_land_in_order(tmp_path: Path) -> None:
    """Records written before one flush (a key missing from one of them) read back row by row, NaN where missing."""
    from htdyn.io.producer import LayerWriter

    w = LayerWriter(tmp_path / "b.h5", {"name": "b"})
    w.add_layer(0, "fc", (4, 3), metric_specs={"alpha_hill": (), "esd": (3,)})
    rows = [(0, {"alpha_hill": 2.5, "esd": [1.0, 2.0, 3.0]}), (3, {"esd": [4.0, 5.0, 6.0]}), (7, {"alpha_hill": 1.5})]
    for step, values in rows[:2]:
        w.write_metrics(0, step, values)
    w.flush(4)
    w.write_metrics(0, *rows[2])
    path = w.finish()
    with htdyn.open(path) as traj:
        run = traj.runs[0]
        np.testing.assert_array_equal(run.metric_steps, [0, 3, 7])
        got = run.read_metrics()
    np.testing.assert_array_equal(got["alpha_hill"], [2.5, np.nan, 1.5])
    np.testing.assert_array_equal(got["esd"], [[1, 2, 3], [4, 5, 6], [np.nan] * 3])

"""The HDF5 trajectory file: round trip, dtypes, compression, snapshot schedules, overwrite protection,
chunking, and robustness to SIGKILL / SIGINT mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import TINY, StepLog

import htdyn
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, ScheduleConfig, from_dict, simulation
from htdyn.errors import StoreError
from htdyn.io.format import partial_path
from htdyn.train.data import make_dataset, make_init

REPO = Path(__file__).resolve().parents[1]
STEPS = 6
F32 = np.float32


def _runs(train_readout: bool = False, opt: str = "adam") -> list[RunConfig]:
    m = ModelConfig(**{**TINY, "train_readout": train_readout})
    return [
        RunConfig(model=m, optimizer=OptimizerConfig(opt, lr=0.05), seed=0, label="a"),
        RunConfig(model=m, optimizer=OptimizerConfig(opt, lr=0.2, weight_decay=0.01), seed=1,
                  schedule=ScheduleConfig("step", gamma=0.5, step_size=2), label="b"),
    ]


def _run_sim(path, runs, steps=STEPS, dtype="float64", **keys):
    log = StepLog()
    sim = simulation(runs, steps=steps, dtype=dtype, **keys)
    res = htdyn.simulate(sim, path=str(path), on_step=log)
    return sim, res, log


@pytest.mark.parametrize("train_readout", [False, True])
def test_round_trip(tmp_path, train_readout: bool) -> None:
    runs = _runs(train_readout)
    path = tmp_path / "rt.h5"
    sim, res, log = _run_sim(path, runs, snapshots={"at": 1, "optimizer_state": True})
    with htdyn.open(path) as traj:
        assert traj.status == "complete" and traj.complete
        assert len(traj) == 2
        assert traj.config == json.loads(json.dumps(sim.to_dict()))
        assert traj.attrs["steps"] == STEPS and traj.attrs["n_runs"] == 2
        for j, r in enumerate(traj.runs):
            mem = res.runs[j]
            assert r.index == j and r.label == runs[j].label
            assert r.shape == (TINY["h"], TINY["d"])
            assert list(r.steps) == list(range(STEPS + 1))
            assert list(r.update_steps) == list(range(STEPS))
            assert r.steps_done == STEPS and r.diverged_step == -1 and not r.diverged
            # snapshots are float32 roundings of the float64 in-memory values (bitwise)
            for t in range(STEPS):
                np.testing.assert_array_equal(r.W(t), log.W[t][j].astype(F32))
                np.testing.assert_array_equal(r.update(t), log.M[t][j].astype(F32))
                st = r.optimizer_state(t)
                assert set(st) == {"exp_avg", "exp_avg_sq"} == set(log.state[t])
                for k in st:
                    np.testing.assert_array_equal(st[k], log.state[t][k][j].astype(F32))
                # W_t + M_t = W_{t+1}: each of the three is rounded to float32 (rel. 2^-24), so the
                # identity holds to 2^-24 (|W_t| + |M_t| + |W_{t+1}|) <= 2^-22 max|W|
                np.testing.assert_allclose(r.W(t) + r.update(t), r.W(t + 1), rtol=0,
                                           atol=2.0**-22 * np.abs(r.W(t + 1)).max())
                # and the update really is W_{t+1} - W_t of the hook
                np.testing.assert_array_equal(log.M[t][j], log.W_next[t][j] - log.W[t][j])
            np.testing.assert_array_equal(r.W(STEPS), log.W_next[STEPS - 1][j].astype(F32))
            np.testing.assert_array_equal(r.W(STEPS), mem.W_final.astype(F32))
            with pytest.raises(KeyError):
                r.update(STEPS)  # no update after the last step
            # losses, learning rates, evaluations: float64, exact
            np.testing.assert_array_equal(r.loss, mem.loss)
            np.testing.assert_array_equal(r.lr, mem.lr)
            assert list(r.eval_steps) == mem.eval_steps
            for k, v in mem.eval.items():
                np.testing.assert_array_equal(r.eval[k], v)
            for t in range(STEPS):
                assert r.loss[t] == log.loss[t][j]
            # run config, read-out, teacher, data
            assert from_dict(r.config).runs[0] == runs[j]
            W0, a0 = make_init(runs[j].model, runs[j].init_seed_)
            np.testing.assert_array_equal(r.a(), a0)
            if train_readout:
                np.testing.assert_array_equal(r.a(STEPS), mem.a_final.astype(F32))
                np.testing.assert_array_equal(r.a(0), a0.astype(F32))
                assert not np.array_equal(r.a(STEPS), r.a(0))
            ds = make_dataset(runs[j].model, runs[j].data_seed_)
            np.testing.assert_array_equal(r.beta, ds.beta)
            data = r.data()
            for k in ("y", "y_probe", "y_test", "beta"):
                np.testing.assert_array_equal(data[k], getattr(ds, k))
            for k in ("X", "X_probe", "X_test"):  # documented: inputs stored as float32
                np.testing.assert_array_equal(data[k], getattr(ds, k).astype(F32))
    # plain h5py sees the documented layout
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "htdyn-trajectory"
        assert f.attrs["status"] == "complete"
        assert int(f["runs/0000/snapshot_count"][()]) == STEPS + 1


def test_data_not_stored_is_regenerated(tmp_path) -> None:
    path = tmp_path / "nodata.h5"
    runs = _runs()
    _run_sim(path, runs, store_data=False)
    with htdyn.open(path) as traj:
        for j, r in enumerate(traj.runs):
            assert "X" not in r.g["data"]
            ds = make_dataset(runs[j].model, runs[j].data_seed_)
            np.testing.assert_array_equal(r.beta, ds.beta)  # beta is always stored
            data = r.data()  # regenerated from the seed: exact float64
            for k in ("X", "y", "X_probe", "y_probe", "X_test", "y_test"):
                np.testing.assert_array_equal(data[k], getattr(ds, k))


def test_user_data_is_stored(tmp_path) -> None:
    run = _runs()[0]
    r = np.random.default_rng(5)
    m = run.model
    user = {"X": r.standard_normal((m.n, m.d)), "y": r.standard_normal(m.n),
            "X_probe": r.standard_normal((m.n, m.d)), "y_probe": r.standard_normal(m.n),
            "X_test": r.standard_normal((m.n_test, m.d)), "y_test": r.standard_normal(m.n_test),
            "beta": np.eye(m.d)[0]}
    path = tmp_path / "user.h5"
    htdyn.simulate(simulation([run], steps=2, dtype="float64", store_data=False), path=str(path), data=user)
    with htdyn.open(path) as traj:
        data = traj.runs[0].data()
        np.testing.assert_array_equal(data["y"], user["y"])
        np.testing.assert_array_equal(data["X"], user["X"].astype(F32))
        np.testing.assert_array_equal(traj.runs[0].beta, user["beta"])


@pytest.mark.parametrize("scale_up", [False, True], ids=["unscaled", "scaled"])
def test_float16_storage_with_scale(tmp_path, scale_up: bool) -> None:
    """float16 keeps 11 significant bits: relative rounding error <= 2^-11 for normal numbers, and
    <= 2^-25 (half the smallest subnormal) absolute in scaled units; the scale keeps |stored| <= 32752."""
    init_scale = 1e5 if scale_up else 1.0
    m = ModelConfig(**{**TINY, "init_scale": init_scale})
    runs = [RunConfig(model=m, optimizer=OptimizerConfig("adam", lr=0.05 * init_scale), seed=3)]
    path = tmp_path / "f16.h5"
    _, _, log = _run_sim(path, runs, snapshots={"at": 1, "dtype": "float16", "optimizer_state": True})
    with htdyn.open(path) as traj:
        r = traj.runs[0]
        assert r.g["W"].dtype == np.float16 and r.g["update"].dtype == np.float16
        scales = r.g["W_scale"][()]
        assert np.all(np.isfinite(scales))
        if scale_up:
            assert np.all(scales > 1)
        else:
            np.testing.assert_array_equal(scales, 1.0)
        for t in range(STEPS + 1):
            ref = log.W[t][0] if t < STEPS else log.W_next[STEPS - 1][0]
            got = r.W(t)
            s = r.g["W_scale"][t]
            assert np.abs(r.g["W"][t].astype(np.float64)).max() <= 65504
            assert np.all(np.abs(got - ref) <= 2.0**-11 * np.abs(ref) + 2.0**-25 * s)
        for t in range(STEPS):
            s = r.g["update_scale"][t]
            assert np.all(np.abs(r.update(t) - log.M[t][0]) <= 2.0**-11 * np.abs(log.M[t][0]) + 2.0**-25 * s)
            st = r.optimizer_state(t)
            for k, v in st.items():
                ref = log.state[t][k][0]
                s = r.g[f"optimizer/{k}_scale"][t]
                assert np.all(np.abs(v - ref) <= 2.0**-11 * np.abs(ref) + 2.0**-25 * s), k


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_float32_store_of_huge_float64_weights(tmp_path) -> None:
    """A finite float64 run whose weights exceed the float32 range (3.4e38) must not be stored as inf.

    GD at lr = 1e6 with a linear student grows W by ~1e5 per step without overflowing float64 in 10
    steps, so the run is not diverged; its stored snapshots should still be finite float32 roundings
    (with a scale, as for float16), i.e. within 2^-24 relative of the in-memory W_t.
    """
    m = ModelConfig(**{**TINY, "activation": "linear"})
    runs = [RunConfig(model=m, optimizer=OptimizerConfig("gd", lr=1e6), seed=0)]
    path = tmp_path / "huge.h5"
    _, res, log = _run_sim(path, runs, steps=10)
    assert not res.runs[0].diverged
    assert np.abs(res.runs[0].W_final).max() > 1e39  # the premise: beyond float32's range
    with htdyn.open(path) as traj:
        r = traj.runs[0]
        for t in range(10):
            assert np.all(np.isfinite(r.W(t))), f"W({t}) stored as non-finite"
            np.testing.assert_allclose(r.W(t), log.W[t][0], rtol=2.0**-23)


@pytest.mark.parametrize("compression", ["gzip", "lzf"])
def test_compression_round_trip(tmp_path, compression: str) -> None:
    runs = _runs()
    _run_sim(tmp_path / "plain.h5", runs, snapshots={"at": 1, "optimizer_state": True})
    _run_sim(tmp_path / "comp.h5", runs, snapshots={"at": 1, "optimizer_state": True, "compression": compression})
    with htdyn.open(tmp_path / "plain.h5") as a, htdyn.open(tmp_path / "comp.h5") as b:
        for ra, rb in zip(a.runs, b.runs):
            assert rb.g["W"].compression == compression and rb.g["update"].compression == compression
            assert ra.g["W"].compression is None
            for t in ra.steps:
                np.testing.assert_array_equal(ra.W(t), rb.W(t))  # lossless
            for t in ra.update_steps:
                np.testing.assert_array_equal(ra.update(t), rb.update(t))
                for k, v in ra.optimizer_state(t).items():
                    np.testing.assert_array_equal(v, rb.optimizer_state(t)[k])


@pytest.mark.parametrize(
    "spec, expected",
    [
        (1, list(range(11))),
        (3, [0, 3, 6, 9, 10]),
        (5, [0, 5, 10]),
        ([0, 2, 5, 50], [0, 2, 5]),
        ([7], [7]),
        ("log:4", [0, 1, 3, 10]),  # 0, the last, and round(geomspace(1, 10, 3)) = 1, 3, 10
        ("first_last", [0, 10]),
        ("none", []),
        ([50], []),
    ],
    ids=["every-1", "every-3", "every-5", "list", "single", "log4", "first_last", "none", "list-beyond-end"],
)
def test_snapshot_schedules(tmp_path, spec, expected: list[int]) -> None:
    steps = 10
    path = tmp_path / "sched.h5"
    _, res, log = _run_sim(path, _runs()[:1], steps=steps, snapshots={"at": spec})
    assert htdyn.config.resolve_steps(spec, steps) == expected
    with htdyn.open(path) as traj:
        r = traj.runs[0]
        assert list(r.steps) == expected
        assert list(r.update_steps) == [s for s in expected if s < steps]
        assert r.g["W"].shape == (len(expected), TINY["h"], TINY["d"])
        for t in expected:
            ref = log.W[t][0] if t < steps else log.W_next[steps - 1][0]
            np.testing.assert_array_equal(r.W(t), ref.astype(F32))
            if t < steps:
                np.testing.assert_array_equal(r.update(t), log.M[t][0].astype(F32))
        for t in set(range(steps + 1)) - set(expected):
            with pytest.raises(KeyError):
                r.W(t)
        # eval defaults to the snapshot steps; the loss is recorded at every step regardless
        assert list(r.eval_steps) == expected
        assert np.all(np.isfinite(r.loss))
        np.testing.assert_array_equal(r.loss, res.runs[0].loss)


def test_no_updates_stored(tmp_path) -> None:
    path = tmp_path / "noupd.h5"
    _run_sim(path, _runs()[:1], snapshots={"at": 1, "updates": False})
    with htdyn.open(path) as traj:
        r = traj.runs[0]
        assert len(r.steps) == STEPS + 1 and len(r.update_steps) == 0
        with pytest.raises(KeyError):
            r.update(0)


def test_never_overwrite_without_flag(tmp_path) -> None:
    path = tmp_path / "once.h5"
    runs = _runs()
    _run_sim(path, runs)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="exists"):
        htdyn.simulate(simulation(runs[:1], steps=2), path=str(path))
    assert path.read_bytes() == before  # untouched
    htdyn.simulate(simulation(runs[:1], steps=2), path=str(path), overwrite=True)
    with htdyn.open(path) as traj:
        assert len(traj) == 1 and traj.attrs["steps"] == 2 and traj.status == "complete"


def test_open_errors(tmp_path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        htdyn.open(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(StoreError):
        htdyn.open(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(StoreError, match="not an htdyn trajectory"):
        htdyn.open(tmp_path / "other.h5")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_one_snapshot_per_chunk(tmp_path, dtype: str) -> None:
    path = tmp_path / "chunks.h5"
    _run_sim(path, _runs(train_readout=True), snapshots={"at": 2, "optimizer_state": True, "dtype": dtype,
                                                          "compression": "gzip"})
    h, d = TINY["h"], TINY["d"]
    with h5py.File(path, "r") as f:
        for k in f["runs"]:
            g = f["runs"][k]
            for name in ("W", "update", "optimizer/exp_avg", "optimizer/exp_avg_sq"):
                assert g[name].chunks == (1, h, d), name
            assert g["a"].chunks == (1, h)


def test_interrupted_and_failed_status(tmp_path) -> None:
    """KeyboardInterrupt (Ctrl-C) in the loop leaves status "interrupted"; another error "failed"."""
    runs = _runs()

    def stop(exc):
        def hook(info):
            if info.t == 3:
                raise exc
        return hook

    for exc, status in ((KeyboardInterrupt(), "interrupted"), (RuntimeError("boom"), "failed")):
        path = tmp_path / f"{status}.h5"
        with pytest.raises(type(exc)):
            htdyn.simulate(simulation(runs, steps=STEPS, dtype="float64"), path=str(path), on_step=stop(exc))
        ref = StepLog()
        htdyn.simulate(simulation(runs, steps=STEPS, dtype="float64"), path=False, on_step=ref)
        assert not path.exists()  # only a complete run is published under its name
        with htdyn.open(partial_path(path)) as traj:
            assert traj.status == status and not traj.complete
            for j, r in enumerate(traj.runs):
                assert 1 <= len(r.steps) <= 4
                for t in r.steps:
                    np.testing.assert_array_equal(r.W(t), ref.W[t][j].astype(F32))


# --------------------------------------------------------------------------- killed writers

CHILD = textwrap.dedent(
    """
    import signal
    import sys
    import htdyn
    from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation

    # a shell that starts a job in the background (CI runners do) leaves SIGINT ignored in
    # its children; restore Python's handler so the test's SIGINT acts as a user's Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)

    steps = int(sys.argv[2])
    runs = [RunConfig(model=ModelConfig(n=64, d=16, h=24, n_test=16), optimizer=OptimizerConfig("adam", lr=lr),
                      seed=s) for s, lr in ((0, 0.01), (1, 0.1))]
    sim = simulation(runs, steps=steps, dtype="float32", snapshots={"at": 1, "optimizer_state": True})
    done = [0]

    def progress(k):
        done[0] += k
        print(done[0], flush=True)

    htdyn.simulate(sim, path=sys.argv[1], progress=progress)
    """
)
CHILD_STEPS = 20000  # ~5 ms a step with a flush per snapshot: minutes, far longer than the test waits


def _child_runs() -> list[RunConfig]:
    return [RunConfig(model=ModelConfig(**TINY), optimizer=OptimizerConfig("adam", lr=lr), seed=s)
            for s, lr in ((0, 0.01), (1, 0.1))]


def _start_child(tmp_path: Path, path: Path) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, str(script), str(path), str(CHILD_STEPS)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_steps(proc: subprocess.Popen, k: int, timeout: float = 60.0) -> None:
    """Block until the child reports >= k completed steps."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read()
            raise AssertionError(f"child ended early (rc {proc.poll()}): {err[-2000:]}")
        if int(line) >= k:
            return
    raise AssertionError("child too slow")


def _check_partial_file(path: Path, status: str) -> None:
    """The file opens, has the status, and every listed snapshot is finite and equals a re-run's."""
    with htdyn.open(path) as traj:
        assert traj.status == status
        assert not traj.complete
        last = max(int(r.steps.max()) if len(r.steps) else 0 for r in traj.runs)
        # runs are deterministic: a re-run to the last listed step (constant lr: the trajectory
        # does not depend on the planned number of steps) gives the same float32 weights bitwise
        ref = StepLog()
        htdyn.simulate(simulation(_child_runs(), steps=last + 1, dtype="float32", snapshots={"at": "none"}),
                       path=False, on_step=ref)
        for j, r in enumerate(traj.runs):
            assert len(r.steps) >= 1
            assert list(r.steps) == list(range(len(r.steps)))
            for t in r.steps:
                W = r.W(t)
                assert np.all(np.isfinite(W))
                np.testing.assert_array_equal(W, ref.W[t][j])
            for t in r.update_steps:
                np.testing.assert_array_equal(r.update(t), ref.M[t][j])
                for k, v in r.optimizer_state(t).items():
                    np.testing.assert_array_equal(v, ref.state[t][k][j])
            # losses written so far are the re-run's
            loss = r.loss
            ok = np.isfinite(loss)
            n_ok = int(ok.sum())
            assert ok[:n_ok].all()  # a prefix
            got = loss[:min(n_ok, last + 1)]
            np.testing.assert_array_equal(got, [ref.loss[t][j] for t in range(len(got))])


@pytest.mark.parametrize("k, delay", [(2, 0.0), (30, 0.0023), (120, 0.0371)], ids=["early", "middle", "later"])
def test_sigkill_leaves_readable_file(tmp_path, k: int, delay: float) -> None:
    """Kill -9 after k reported steps plus a delay (a step takes ~5 ms: the delays land at different
    points inside a step, flushes included)."""
    path = tmp_path / "killed.h5"
    proc = _start_child(tmp_path, path)
    try:
        _wait_steps(proc, k)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not path.exists()
    _check_partial_file(partial_path(path), "running")
    with htdyn.open(partial_path(path)) as traj:  # the writer's identity tells a dead writer from a live one
        assert traj.writer is not None and traj.writer["pid"] == proc.pid and not traj.writer["alive"]


def test_sigint_leaves_interrupted_file(tmp_path) -> None:
    path = tmp_path / "ctrl_c.h5"
    proc = _start_child(tmp_path, path)
    try:
        _wait_steps(proc, 20)
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    _check_partial_file(partial_path(path), "interrupted")


def test_integer_snapshot_is_stored_as_float(tmp_path) -> None:
    """write_snapshot takes any real array; integers go through the ordinary float path."""
    from htdyn.io.writer import TrajectoryWriter

    sim = simulation([RunConfig(model=ModelConfig(**TINY))], steps=1)
    run = sim.runs[0]
    h, d = run.model.h, run.model.d
    w = TrajectoryWriter(tmp_path / "i.h5", sim)
    w.add_run(0, run, h=h, d=d, snapshot_steps=[0, 1], eval_steps=[], data_path="/data",
              a0=np.zeros(h), state_names=(), group=0)
    Wi = np.arange(h * d, dtype=np.int64).reshape(h, d)
    w.write_snapshot(0, 0, Wi)
    w.finish()
    with h5py.File(tmp_path / "i.h5", "r") as f:
        np.testing.assert_array_equal(f["runs/0000/W"][0], Wi.astype(np.float32))

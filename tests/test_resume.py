"""A killed long run resumes from its last checkpoint and equals the uninterrupted run (float64, bit for bit)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from clitools import MODEL, assert_clean, cli, needs_htdyn, ok, start

import htdyn
from htdyn.errors import StoreError
from htdyn.io.format import partial_path
from htdyn.train.simulate import resume

LONG = """
name = "long"
steps = {steps}
dtype = "float64"
""" + MODEL + """[optimizer]
name = "{opt}"
lr = 0.01
batch_size = {bs}
[snapshots]
at = "log:12"
optimizer_state = true
[grid]
seed = [0, 1]
"""


def _config(tmp_path: Path, steps: int, opt: str = "adam", bs: int = 16) -> Path:
    p = tmp_path / "long.toml"
    p.write_text(LONG.format(steps=steps, opt=opt, bs=bs))
    return p


def _same_file(a: Path, b: Path) -> None:
    with htdyn.open(a) as ta, htdyn.open(b) as tb:
        assert ta.complete and tb.complete
        for ra, rb in zip(ta.runs, tb.runs):
            np.testing.assert_array_equal(ra.loss, rb.loss)  # float64 losses: bit for bit
            assert list(ra.steps) == list(rb.steps)
            for t in ra.steps:
                np.testing.assert_array_equal(ra.W(t), rb.W(t))
            for t in ra.update_steps:
                np.testing.assert_array_equal(ra.update(t), rb.update(t))
                for k, v in ra.optimizer_state(t).items():
                    np.testing.assert_array_equal(v, rb.optimizer_state(t)[k])
            for k in ra.eval:
                np.testing.assert_array_equal(ra.eval[k], rb.eval[k])
        assert "checkpoints" not in ta.f  # dropped once complete


@needs_htdyn
@pytest.mark.parametrize("opt, bs, steps", [("adam", 16, 15000),
                                           pytest.param("momentum", 32, 40000, marks=pytest.mark.slow)])
def test_killed_run_resumes_bit_identical(tmp_path: Path, opt: str, bs: int, steps: int) -> None:
    cfg = _config(tmp_path, steps, opt, bs)  # a few seconds
    ref = tmp_path / "ref.h5"
    ok(cli("run", cfg, "-o", ref, "-q"))
    out = tmp_path / "killed.h5"
    env = {"HTDYN_CHECKPOINT_EVERY_S": "0.3"}
    proc = start("run", cfg, "-o", out, "-q", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = partial_path(out)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:  # until a checkpoint is in the file
        time.sleep(0.05)
        if part.exists():
            try:
                with htdyn.open(part) as traj:
                    if "checkpoints" in traj.f:
                        break
            except (StoreError, OSError, KeyError):
                pass
    time.sleep(0.15)  # somewhere after it, mid-step or mid-write
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists() and part.exists()
    ok(cli("run", "--resume", part, "-q", env=env))
    assert out.exists() and not part.exists()
    _same_file(out, ref)
    with htdyn.open(out) as traj:
        assert int(traj.attrs["resumed"]) == 1


def test_resume_without_checkpoint_restarts_the_group(tmp_path: Path) -> None:
    """Interrupted before any checkpoint: the group starts again from step 0 and the file completes the same."""
    sim = htdyn.load_config(_config(tmp_path, 30))
    ref = htdyn.simulate(sim, path=str(tmp_path / "ref.h5"))

    def stop(info):
        if info.t == 12:
            raise KeyboardInterrupt

    out = tmp_path / "int.h5"
    with pytest.raises(KeyboardInterrupt):
        htdyn.simulate(sim, path=str(out), on_step=stop)
    res = resume(out)  # the destination names its partial file
    assert res.path == str(out)
    _same_file(out, Path(ref.path))
    for a, b in zip(res.runs, ref.runs):
        np.testing.assert_array_equal(a.W_final, b.W_final)


def test_resume_refuses_what_it_cannot_continue(tmp_path: Path) -> None:
    sim = htdyn.load_config(_config(tmp_path, 3))
    done = htdyn.simulate(sim, path=str(tmp_path / "done.h5"))
    with pytest.raises(StoreError, match="no unfinished run"):
        resume(done.path)
    with pytest.raises(StoreError, match="does not exist"):
        resume(tmp_path / "nothing.h5")

    def stop(info):
        if info.t == 1:
            raise KeyboardInterrupt

    W0 = np.zeros((24, 16))
    with pytest.raises(KeyboardInterrupt):
        htdyn.simulate(sim, path=str(tmp_path / "user.h5"), init={"W": W0 + 0.1, "a": np.ones(24)}, on_step=stop)
    with pytest.raises(StoreError, match="user-supplied"):
        resume(tmp_path / "user.h5")


@needs_htdyn
def test_resume_cli_usage_errors(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 3)
    for args, words in ((["--resume", str(tmp_path / "x.h5"), str(cfg)], "--resume"),
                        ([], "config file"),
                        (["--resume", str(tmp_path / "x.h5")], "does not exist")):
        r = cli("run", *args, columns=80)
        assert_clean(r, 2)
        assert words in r.stderr, (args, r.stderr)


def test_sweep_batch_continues_from_its_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep batch killed after a checkpoint resumes from it (the file says so) and equals a fresh batch."""
    from htdyn.sweep.worker import execute_batch, resumable

    sim = htdyn.load_config(_config(tmp_path, 40))
    fresh = tmp_path / "fresh.h5"
    assert execute_batch(sim, str(fresh))["ok"]
    monkeypatch.setenv("HTDYN_CHECKPOINT_EVERY_S", "0")

    def stop(info):
        if info.t == 25:
            raise KeyboardInterrupt

    dest = tmp_path / "b.h5"
    with pytest.raises(KeyboardInterrupt):
        htdyn.simulate(sim, path=str(dest), on_step=stop)
    assert resumable(sim, str(dest))
    other = htdyn.load_config(_config(tmp_path, 41))
    assert not resumable(other, str(dest))  # another batch's file is not continued
    out = execute_batch(sim, str(dest))
    assert out["ok"], out
    with htdyn.open(dest) as traj:
        assert int(traj.attrs["resumed"]) == 1
    _same_file(dest, fresh)


def test_a_rerun_plans_a_checkpointed_batch_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cut follows the budget (the free memory) and max_batch; an interrupted batch with a
    checkpoint is planned again with its own runs, continues from the checkpoint, and the sweep
    equals an uninterrupted one."""
    import pandas as pd

    from htdyn.sweep.driver import make_executor, prepare, run_sweep
    from htdyn.sweep.spec import load_spec

    text = LONG.format(steps=40, opt="adam", bs=16).replace("[grid]\nseed = [0, 1]\n", "") + \
        '[sweep]\nrepeats = 2\nmax_batch = 2\nstore = "scalars"\n"optimizer.lr" = [0.01, 0.02]\n'
    spec_path = tmp_path / "sw.toml"
    spec_path.write_text(text)
    ref = tmp_path / "ref"
    run_sweep(prepare(load_spec(spec_path), ref), make_executor("local"))
    out = tmp_path / "out"
    prep = prepare(load_spec(spec_path), out)
    first = prep.batches[0]
    prep.dir.write_manifest(prep.spec)
    monkeypatch.setenv("HTDYN_CHECKPOINT_EVERY_S", "0")

    def stop(info):
        if info.t == 25:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        htdyn.simulate(first.sim(prep.spec), path=str(out / "batches" / first.file), on_step=stop)
    # the rerun would now put all 4 runs in one batch, but keeps the checkpointed one
    spec_path.write_text(text.replace("max_batch = 2", "max_batch = 4"))
    again = prepare(load_spec(spec_path), out)
    assert again.batches[0].name == first.name
    assert [r.id for r in again.batches[0].runs] == [r.id for r in first.runs]
    assert sorted(len(b.runs) for b in again.batches) == [2, 2]
    run_sweep(again, make_executor("local"))
    with htdyn.open(out / "batches" / first.file) as traj:
        assert int(traj.attrs["resumed"]) == 1
    a = htdyn.open_sweep(ref).table().sort_values(["run_id", "step"]).reset_index(drop=True)
    b = htdyn.open_sweep(out).table().sort_values(["run_id", "step"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)

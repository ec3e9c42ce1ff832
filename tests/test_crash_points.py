"""Crash safety by fault injection: the writer stopped after any of its writes, or killed at its named points.

Two ways to stop a writer where a crash would:

- in process, the trajectory file is opened through a file object that records every write
  (``htdyn.io.writer.open_hdf5`` is the seam); the file as it would be on disk had the process
  died after write k is rebuilt for every k, and read as a user would (``htdyn.open``), checked
  against an uninterrupted run, and resumed;
- in a subprocess, ``HTDYN_FAULT=NAME@K`` makes the installed ``htdyn run`` kill itself with
  SIGKILL at a named point (``htdyn.io.faults``): between the two flushes of a progress flush,
  between writing a checkpoint slot and naming it the valid one.

What must hold at every crash point: every snapshot the file announces reads back as the
uninterrupted run wrote it (so do the losses its counters cover); the valid checkpoint is
complete (its arrays and its step are one saved state); a resume continues from the newest
complete checkpoint and ends bit for bit equal (float64) to the uninterrupted run.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
from collections import deque
from pathlib import Path

import h5py
import numpy as np
import pytest
from clitools import MODEL, cli, needs_htdyn

import htdyn
from htdyn.io import writer as writer_mod
from htdyn.io.format import partial_path
from htdyn.train.simulate import resume

CONFIG = """
name = "crash"
steps = {steps}
dtype = "float64"
""" + MODEL + """[optimizer]
name = "adam"
lr = 0.01
[grid]
seed = [0, 1]
"""
STEPS = 5


class RecordingFile(io.RawIOBase):
    """A read-write file that logs every write and truncation in order (what reached the OS, and when)."""

    def __init__(self, path: Path, mode: str):
        self.fh = open(path, "w+b" if mode == "w" else "r+b")  # noqa: SIM115 - closed by close()
        self.ops: list[tuple[str, int, bytes]] = []

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def readinto(self, b) -> int:  # noqa: ANN001 - a writable buffer
        return self.fh.readinto(b)

    def write(self, b) -> int:  # noqa: ANN001 - a buffer
        self.ops.append(("write", self.fh.tell(), bytes(b)))
        return self.fh.write(b)

    def truncate(self, size: int | None = None) -> int:
        size = self.fh.tell() if size is None else size
        self.ops.append(("truncate", size, b""))
        return self.fh.truncate(size)

    def flush(self) -> None:
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()
        super().close()


def images(ops: list[tuple[str, int, bytes]]):
    """(k, the file's bytes had the writer died right after its k-th write) for every k."""
    img = bytearray()
    for k, (kind, offset, data) in enumerate(ops, 1):
        if kind == "write":
            if len(img) < offset + len(data):
                img.extend(b"\0" * (offset + len(data) - len(img)))
            img[offset:offset + len(data)] = data
        else:
            del img[offset:]
            img.extend(b"\0" * (offset - len(img)))
        yield k, bytes(img)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One simulation written through a recording file (a checkpoint after every step), and its reference."""
    tmp = tmp_path_factory.mktemp("crash")
    cfg = tmp / "crash.toml"
    cfg.write_text(CONFIG.format(steps=STEPS))
    sim = htdyn.load_config(cfg)
    ref = tmp / "ref.h5"
    htdyn.simulate(sim, path=str(ref))
    files: list[RecordingFile] = []
    saved: dict[int, tuple[dict, dict]] = {}  # the checkpoints written, by their step
    real_write = writer_mod.write_checkpoint

    def open_recording(path: Path, mode: str) -> h5py.File:
        files.append(RecordingFile(path, mode))
        return h5py.File(files[-1], mode)

    def keep(f, group, arrays, meta):  # noqa: ANN001
        saved[int(meta["step"])] = (copy.deepcopy(dict(arrays)), copy.deepcopy(dict(meta)))
        real_write(f, group, arrays, meta)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HTDYN_CHECKPOINT_EVERY_S", "0")
        mp.setattr(writer_mod, "open_hdf5", open_recording)
        mp.setattr(writer_mod, "write_checkpoint", keep)
        htdyn.simulate(sim, path=str(tmp / "rec.h5"))
    assert len(files) == 1 and sorted(saved) == list(range(1, STEPS + 1))
    with htdyn.open(ref) as traj:
        want = {r.index: {"steps": [int(t) for t in r.steps], "loss": r.loss,
                          "W": {int(t): r.W(int(t)) for t in r.steps},
                          "M": {int(t): r.update(int(t)) for t in r.update_steps}}
                for r in traj.runs}
    return {"tmp": tmp, "ref": ref, "ops": files[0].ops, "saved": saved, "want": want}


def _valid_checkpoint(f: h5py.File) -> tuple[dict, dict] | None:
    """The valid checkpoint of batch group 0, read from the layout docs/format.md gives (not through htdyn)."""
    if "checkpoints/group0000" not in f:
        return None
    g = f["checkpoints/group0000"]
    valid = int(g["valid"][()])
    if valid < 0:
        return None
    slot = g[f"slot{valid}"]
    return {k: slot[k][()] for k in slot}, json.loads(slot.attrs["meta"])


def _check_image(traj: htdyn.Trajectory, want: dict, saved: dict) -> tuple[tuple[int, ...], int]:
    """What a reader sees must be what the uninterrupted run wrote; returns (snapshot counts, checkpoint step)."""
    counts = []
    for r in traj.runs:
        w = want[r.index]
        steps = [int(t) for t in r.steps]
        assert steps == w["steps"][:len(steps)]
        for t in steps:
            np.testing.assert_array_equal(r.W(t), w["W"][t])
        for t in (int(t) for t in r.update_steps):
            np.testing.assert_array_equal(r.update(t), w["M"][t])
        done = r.steps_done
        np.testing.assert_array_equal(r.loss[:done], w["loss"][:done])  # the counters cover written losses
        counts.append(len(steps))
    ck = _valid_checkpoint(traj.f)
    if ck is None:
        return tuple(counts), 0
    arrays, meta = ck
    step = int(meta["step"])
    s_arrays, s_meta = saved[step]
    assert meta == s_meta
    assert sorted(arrays) == sorted(s_arrays)
    for k, v in arrays.items():  # the valid slot is one complete saved state, not a mixture
        np.testing.assert_array_equal(v, s_arrays[k], err_msg=f"checkpoint of step {step}: {k}")
    return tuple(counts), step


def test_a_writer_stopped_after_any_write_shows_only_complete_snapshots(recorded: dict) -> None:
    """Rebuild the file after each of the writer's writes: whatever opens holds only complete data.

    HDF5 itself is not crash-consistent inside one flush (some images do not open: a reader
    says the file is not readable); the writer's rules are that the progress counters reach
    the file only after the data they announce, and a checkpoint is named valid only after
    its slot is complete.  A wrong flush order or slot choice shows here as an announced
    snapshot, loss or checkpoint that differs from the uninterrupted run.
    """
    tmp, ops = recorded["tmp"], recorded["ops"]
    path = tmp / "image.h5"
    seen_counts, seen_steps, opened = set(), set(), 0
    for k, img in images(ops):
        path.write_bytes(img)
        try:
            traj = htdyn.open(path)
        except htdyn.StoreError:
            continue
        try:
            counts, step = _check_image(traj, recorded["want"], recorded["saved"])
        except (KeyError, OSError, RuntimeError):
            continue  # a group or data set whose metadata did not reach the file yet: HDF5 mid-flush
        except AssertionError as exc:
            raise AssertionError(f"after write {k} of {len(ops)}: {exc}") from None
        finally:
            traj.close()
        opened += 1
        seen_counts.add(counts)
        seen_steps.add(step)
    assert opened > len(ops) // 2
    # not vacuous: every snapshot count of both runs, and every checkpoint, was seen at some crash point
    assert {c[0] for c in seen_counts if c} == set(range(STEPS + 2)), seen_counts
    assert set(range(1, STEPS + 1)) <= seen_steps, seen_steps


def _crash_copy(recorded: dict, k: int, name: str) -> Path:
    """The image after write k as an unfinished file ``<name>/rec.partial.h5`` (the destination is rec.h5)."""
    (_, img), = deque(images(recorded["ops"][:k]), maxlen=1)
    d = recorded["tmp"] / name
    d.mkdir()
    part = d / "rec.partial.h5"
    part.write_bytes(img)
    return part


def _same_as_reference(path: Path, ref: Path) -> None:
    with htdyn.open(path) as ta, htdyn.open(ref) as tb:
        assert ta.complete and "checkpoints" not in ta.f
        for ra, rb in zip(ta.runs, tb.runs):
            np.testing.assert_array_equal(ra.loss, rb.loss)  # float64 losses: bit for bit
            assert list(ra.steps) == list(rb.steps)
            for t in ra.steps:
                np.testing.assert_array_equal(ra.W(t), rb.W(t))
            for t in ra.update_steps:
                np.testing.assert_array_equal(ra.update(t), rb.update(t))
            for key in ra.eval:
                np.testing.assert_array_equal(ra.eval[key], rb.eval[key])


def _valid_step(path: Path) -> int:
    with htdyn.open(path) as traj:
        ck = _valid_checkpoint(traj.f)
        return 0 if ck is None else int(ck[1]["step"])


def test_resume_after_a_crash_between_checkpoint_slots(recorded: dict) -> None:
    """Killed with a new checkpoint in its slot but not yet named valid, and just after: the resume
    continues from the newest complete checkpoint and ends equal to the uninterrupted run."""
    tmp, ops = recorded["tmp"], recorded["ops"]
    probe = tmp / "probe.h5"
    steps_at: list[tuple[int, int]] = []  # (k, the valid checkpoint's step after write k), where it opens
    for k, img in images(ops):
        probe.write_bytes(img)
        try:
            with h5py.File(probe, "r") as f:
                ck = _valid_checkpoint(f)
        except (KeyError, OSError, RuntimeError):
            continue
        steps_at.append((k, 0 if ck is None else int(ck[1]["step"])))
    # the last crash point before checkpoints 3 and 5 become valid, and the first after
    chosen = []
    for new in (2, 4):
        i = next(i for i, (_, s) in enumerate(steps_at) if s == new)
        chosen += [(steps_at[i - 1][0], new - 1), (steps_at[i][0], new)]
    for k, expect in chosen:
        part = _crash_copy(recorded, k, f"resume{k}")
        assert _valid_step(part) == expect
        res = resume(part)
        assert res.timings["group0_resumed_from"] == expect, (k, res.timings)
        _same_as_reference(part.with_name("rec.h5"), recorded["ref"])
        with htdyn.open(part.with_name("rec.h5")) as traj:
            assert traj.attrs["timing_group0_resumed_from"] == expect


# --------------------------------------------------------------------------- SIGKILL at a named point


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return cli(*args, env=env, columns=250)


@needs_htdyn
@pytest.mark.parametrize("fault, valid", [("checkpoint-between@4", 3), ("flush-between@7", None)])
def test_killed_at_a_named_point_reads_and_resumes(tmp_path: Path, recorded: dict, fault: str,
                                                   valid: int | None) -> None:
    """``htdyn run`` killed (SIGKILL) at a named point: ``htdyn.open`` and ``htdyn info`` see complete
    snapshots and a stopped writer, and ``htdyn run --resume`` ends equal to the uninterrupted run,
    continuing from the newest complete checkpoint."""
    cfg = tmp_path / "crash.toml"
    cfg.write_text(CONFIG.format(steps=STEPS))
    out = tmp_path / "killed.h5"
    env = {"HTDYN_CHECKPOINT_EVERY_S": "0", "HTDYN_FAULT": fault}
    r = _cli("run", str(cfg), "-o", str(out), "-q", env=env)
    assert r.returncode == -9, (r.returncode, r.stderr)  # it did die at the point
    part = partial_path(out)
    assert not out.exists() and part.exists()
    with htdyn.open(part) as traj:
        assert traj.status == "running" and not traj.writer["alive"]
        counts, step = _check_image(traj, recorded["want"], recorded["saved"])
        assert 0 < min(counts) < STEPS + 1
    if valid is not None:
        assert step == valid  # the checkpoint being written when killed is not the valid one
    r = _cli("info", str(part))
    assert r.returncode == 0, r.stderr
    assert "incomplete" in r.stdout and f"htdyn run --resume {part}" in r.stdout
    r = _cli("run", "--resume", str(part), "-q", env={"HTDYN_CHECKPOINT_EVERY_S": "0"})
    assert r.returncode == 0, r.stderr
    _same_as_reference(out, recorded["ref"])
    with htdyn.open(out) as traj:
        assert traj.attrs["timing_group0_resumed_from"] == step

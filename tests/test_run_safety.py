"""`htdyn run` never destroys a file it did not finish replacing; signals, live and dead writers, full disks.

Each test drives the installed `htdyn` command in a subprocess (or the Python API where a
hook must act mid-run) and checks the exit code, the absence of a traceback, the message's
key words, and that earlier bytes survive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from clitools import cli, needs_htdyn, one_line_error, start, tiny_config

import htdyn
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation
from htdyn.errors import ConfigError, StoreError
from htdyn.io.format import partial_path

pytestmark = needs_htdyn

TINY = tiny_config(steps=3, optimizer="adam", lr=0.1)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY)
    return p


@pytest.fixture
def precious(tiny: Path, tmp_path: Path) -> Path:
    """A complete trajectory whose bytes the tests check are never lost."""
    out = tmp_path / "keep.h5"
    r = cli("run", str(tiny), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return out


# --------------------------------------------------------------------------- --overwrite keeps the old file


@pytest.mark.parametrize("setting, words", [
    ("eval.metrics=[\"powerlaww\"]", ("eval.metrics", "powerlaww")),
    ("model.d=1000000", ("memory", "model.d")),
])
def test_overwrite_keeps_old_file_when_the_new_run_cannot_start(tiny: Path, precious: Path, setting: str,
                                                                 words: tuple) -> None:
    before = precious.read_bytes()
    extra = ["--set", "model.h=1000000"] if "model.d" in setting else []
    t0 = time.monotonic()
    r = cli("run", str(tiny), "-o", str(precious), "-q", "--overwrite", "--set", setting, *extra)
    one_line_error(r, *words)
    assert time.monotonic() - t0 < 30  # refused up front, not after trying to allocate terabytes
    assert precious.read_bytes() == before
    assert not partial_path(precious).exists()


def test_overwrite_replaces_only_on_completion(tiny: Path, precious: Path) -> None:
    """A run that fails mid-way leaves the old file as it was and its own partial file, marked failed."""
    before = precious.read_bytes()
    sim = htdyn.load_config(tiny, ["steps=5"])

    def boom(info):
        if info.t == 2:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        htdyn.simulate(sim, path=str(precious), overwrite=True, on_step=boom)
    assert precious.read_bytes() == before
    with htdyn.open(partial_path(precious)) as traj:
        assert traj.status == "failed" and list(traj.runs[0].steps) == [0, 1]  # the hook runs before step 2 is stored
    # a later run asked to overwrite completes and replaces both
    assert cli("run", str(tiny), "-o", str(precious), "-q", "--overwrite").returncode == 0
    assert not partial_path(precious).exists()
    with htdyn.open(precious) as traj:
        assert traj.complete


def test_output_is_the_config_or_a_directory(tiny: Path, tmp_path: Path) -> None:
    before = tiny.read_bytes()
    one_line_error(cli("run", str(tiny), "-o", str(tiny), "--overwrite", "-q"), "config file itself")
    assert tiny.read_bytes() == before
    one_line_error(cli("run", str(tiny), "-o", str(tmp_path), "--overwrite", "-q"), "is a directory")
    r = cli("run", str(tiny), "-o", str(tmp_path), "-q")
    one_line_error(r, "is a directory")
    assert "--overwrite" not in r.stderr  # a directory is not a file to overwrite
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(cli("run", str(tiny), "-o", str(blocker / "out.h5"), "-q"), "is a file, not a directory")


def test_unfinished_partial_file_is_not_discarded_silently(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    part = partial_path(out)
    part.write_bytes(b"an interrupted run")
    r = cli("run", str(tiny), "-o", str(out), "-q")
    one_line_error(r, "unfinished", f"htdyn run --resume {part}", "--overwrite")
    assert r.stderr.index("--resume") < r.stderr.index("--overwrite")
    assert "overwrite=True" not in r.stderr  # no Python argument in a command's message
    # a finished file and an unfinished one: the unfinished one is named (and resumable) first
    out.write_bytes(b"finished")
    r = cli("run", str(tiny), "-o", str(out), "-q")
    one_line_error(r, f"htdyn run --resume {part}")
    out.unlink()
    assert part.read_bytes() == b"an interrupted run"
    r = cli("info", str(out))
    one_line_error(r, "does not exist", "partial")


# --------------------------------------------------------------------------- signals, live and dead writers

SLOW = TINY.replace("steps = 3", "steps = 200000") + '[snapshots]\nat = "first_last"\n'


def _start(config: Path, out: Path, env: dict | None = None) -> subprocess.Popen:
    return start("run", config, "-o", out, "-q", env=env)  # with SIGINT at its default (clitools.start)


def _wait_running(out: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the partial file holds a flushed step (its first progress flush comes within ~5 s)."""
    part = partial_path(out)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.stderr.read()
        if part.exists():
            with contextlib.suppress(StoreError, OSError, KeyError), htdyn.open(part) as traj:
                if traj.runs and traj.runs[0].steps_done > 0:
                    return
        time.sleep(0.2)
    raise AssertionError("the run did not start")


@contextlib.contextmanager
def running(config: Path, out: Path, env: dict | None = None):
    proc = _start(config, out, env)
    try:
        _wait_running(out, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_stop_cleanly_with_the_shell_exit_code(tmp_path: Path, sig: int, code: int) -> None:
    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW)
    out = tmp_path / "s.h5"
    with running(cfg, out) as proc:
        proc.send_signal(sig)
        proc.wait(timeout=30)
        err = proc.stderr.read()
    assert proc.returncode == code, err
    part = partial_path(out)
    assert "Traceback" not in err and "interrupted" in err and f"htdyn run --resume {part}" in err
    assert "--overwrite" not in err
    with htdyn.open(part) as traj:
        assert traj.status == "interrupted" and traj.writer is None
        assert traj.runs[0].steps_done > 0 and list(traj.runs[0].steps) == [0]
    # the same command again is told to resume first (--overwrite would throw the steps done away)
    before = part.read_bytes()
    r = cli("run", str(cfg), "-o", str(out), "-q")
    one_line_error(r, f"htdyn run --resume {part}", "--overwrite")
    assert r.stderr.index("--resume") < r.stderr.index("--overwrite")
    assert part.read_bytes() == before
    r = cli("info", str(part))
    assert r.returncode == 0 and f"htdyn run --resume {part}" in r.stdout, r.stdout
    one_line_error(cli("info", str(out)), "does not exist", f"htdyn run --resume {part}")


def test_live_writer_refuses_second_writer_and_analysis(tmp_path: Path, tiny: Path) -> None:
    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW)
    out = tmp_path / "live.h5"
    part = partial_path(out)
    with running(cfg, out) as proc:
        # a second writer to the same destination is refused, naming the first
        r = cli("run", str(tiny), "-o", str(out), "-q", "--overwrite")
        one_line_error(r, "being written by process", str(proc.pid))
        # the live file can be read (its flushed state), not changed
        r = cli("info", str(part))
        assert r.returncode == 0, r.stderr
        assert "being written by process" in r.stdout and str(proc.pid) in r.stdout
        with htdyn.open(part) as traj:
            assert traj.live and traj.writer["alive"] and traj.runs[0].steps_done > 0
        one_line_error(cli("analyze", str(part), "-q"), "being written by process", str(proc.pid))
        # with HDF5's own locking off, the writer's claim still keeps analyze out
        one_line_error(cli("analyze", str(part), "-q", env={"HDF5_USE_FILE_LOCKING": "FALSE"}),
                       "being written by process")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    with htdyn.open(part) as traj:
        assert "analysis" not in traj.f and traj.status == "interrupted"


def test_killed_writer_is_reported_incomplete(tmp_path: Path) -> None:
    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW)
    out = tmp_path / "dead.h5"
    with running(cfg, out) as proc:
        proc.kill()  # SIGKILL: no handler runs
        proc.wait(timeout=30)
    r = cli("info", str(partial_path(out)))
    assert r.returncode == 0, r.stderr
    assert "incomplete" in r.stdout and "stopped at step" in r.stdout and str(proc.pid) in r.stdout
    assert "nan" not in r.stdout.lower()
    # nothing holds it now: it can be analysed, and rerunning with --overwrite replaces the partial file
    assert cli("analyze", str(partial_path(out)), "-q").returncode == 0


# --------------------------------------------------------------------------- full disks


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB tmpfs (we need root to mount one; skipped elsewhere)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_refused_up_front(tiny: Path, small_disk: Path) -> None:
    out = small_disk / "big.h5"
    r = cli("run", str(tiny), "-o", str(out), "-q", "--set", "model.d=256", "--set", "model.h=256",
            "--set", "steps=20")
    one_line_error(r, "free", "snapshots")
    assert not out.exists() and not partial_path(out).exists()


def test_disk_filled_by_another_process_keeps_flushed_snapshots(small_disk: Path) -> None:
    out = small_disk / "t.h5"
    runs = [RunConfig(model=ModelConfig(n=64, d=64, h=96, n_test=16), optimizer=OptimizerConfig("adam", lr=0.01))]
    sim = simulation(runs, steps=12)  # W and the update, 24 KiB each a step: ~0.6 MiB in all

    def fill(info):  # after step 4, another process takes every free byte
        if info.t == 4:
            with open(small_disk / "filler", "wb") as fh:
                with contextlib.suppress(OSError):
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()

    with pytest.raises(StoreError, match="full") as exc:
        htdyn.simulate(sim, path=str(out), on_step=fill)
    assert f"htdyn run --resume {partial_path(out)}" in str(exc.value) and "\n" not in str(exc.value)
    assert not out.exists()
    (small_disk / "filler").unlink()
    with htdyn.open(partial_path(out)) as traj:
        assert traj.status == "failed"
        r = traj.runs[0]
        assert len(r.steps) >= 4 and list(r.steps) == list(range(len(r.steps)))
        ref = htdyn.simulate(simulation(runs, steps=int(r.steps[-1])), path=False).runs[0]
        np.testing.assert_array_equal(r.W(int(r.steps[-1])), ref.W_final.astype(np.float32))


# --------------------------------------------------------------------------- quiet about expected overflow


def test_divergence_warnings_stay_off_the_screen(tmp_path: Path) -> None:
    cfg = tmp_path / "wild.toml"
    cfg.write_text(TINY.replace('name = "adam"', 'name = "gd"').replace("lr = 0.1", "lr = 1e6")
                   .replace("steps = 3", "steps = 10").replace("[model]\n", '[model]\nactivation = "linear"\n'))
    r = cli("run", str(cfg), "-o", str(tmp_path / "w.h5"), "-q")
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr and "overflow" not in r.stderr
    with htdyn.open(tmp_path / "w.h5") as traj:
        assert traj.runs[0].diverged


def test_memory_check_names_what_to_reduce() -> None:
    from htdyn.train.plan import check_resources, footprint

    sim = simulation([RunConfig(model=ModelConfig(n=100, d=50, h=60, n_test=10), optimizer=OptimizerConfig("gd"))],
                     steps=2)
    fp = footprint(sim)
    # W-sized buffers (5, no optimizer state) in float32, X W^T and the gradient's product, the inputs twice
    # (device float32, host float64), the float64 initial weights
    expect = 5 * 60 * 50 * 4 + 100 * (60 + 50) * 4 + 210 * 50 * (4 + 8) + 60 * 50 * 8
    assert fp.memory_bytes == expect
    with pytest.raises(ConfigError, match="model.n, model.d, model.h"):
        check_resources(sim, None, memory=expect - 1)
    check_resources(sim, None, memory=expect)


# --------------------------------------------------------------------------- Ctrl-C on a terminal


def _screen(stream: str) -> list[str]:
    """The lines a terminal shows after ``stream`` (text, CR, LF, cursor up/down/column, erase in line)."""
    import re

    lines, row, col = [""], 0, 0
    for tok in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[^\[]|.", stream, flags=re.S):
        if tok.startswith("\x1b["):
            n = int(tok[2:-1]) if tok[2:-1].isdigit() else None
            if tok[-1] == "A":
                row = max(row - (n or 1), 0)
            elif tok[-1] == "B":
                row += n or 1
            elif tok[-1] == "G":
                col = (n or 1) - 1
            elif tok[-1] == "K":
                while len(lines) <= row:
                    lines.append("")
                lines[row] = lines[row][:col] if (n or 0) == 0 else ""
            continue
        if tok == "\r":
            col = 0
        elif tok == "\n":
            row, col = row + 1, 0
        elif tok.isprintable():
            while len(lines) <= row:
                lines.append("")
            cur = lines[row].ljust(col)
            lines[row] = cur[:col] + tok + cur[col + 1:]
            col += 1
    return [ln.rstrip() for ln in lines if ln.strip()]


def test_ctrl_c_on_a_terminal_leaves_the_message_last(tmp_path: Path) -> None:
    """On a terminal the progress bar is cleared when a run is stopped: the message is the last line."""
    import pty

    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW)
    out = tmp_path / "s.h5"
    master, slave = pty.openpty()
    proc = start("run", cfg, "-o", out, stdin=slave, stdout=slave, stderr=slave, env={"LINES": "50", "TERM": "xterm"},
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    chunks: list[bytes] = []
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60 and not partial_path(out).exists():
            time.sleep(0.1)
        time.sleep(1.5)  # the bar is drawn and refreshed
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    screen = _screen(b"".join(chunks).decode(errors="replace"))
    assert proc.returncode == 130, screen
    assert "interrupted" in screen[-1] and "htdyn run --resume" in screen[-1], screen
    assert not any("run(s)" in ln for ln in screen), screen  # no bar left anywhere


def test_a_run_stopped_by_a_full_disk_is_resumed_not_overwritten(tmp_path: Path, small_disk: Path) -> None:
    """Through the command: the disk fills mid-run (the run is paused at a flush while another file takes
    the free space); the message, and the same command run again, name `htdyn run --resume` first; the
    resume completes the file equal to an uninterrupted run."""
    cfg = tmp_path / "disk.toml"
    cfg.write_text(TINY.replace("steps = 3", "steps = 12").replace("d = 16", "d = 64").replace("h = 24", "h = 96")
                   .replace('name = "tiny"', 'name = "tiny"\ndtype = "float64"'))
    ref = tmp_path / "ref.h5"
    assert cli("run", str(cfg), "-o", str(ref), "-q").returncode == 0
    out = small_disk / "t.h5"
    part = partial_path(out)
    proc = start("run", cfg, "-o", out, "-q", columns=250, env={"HTDYN_FAULT": "flush-between@5=stop"})
    try:
        t0 = time.monotonic()
        while Path(f"/proc/{proc.pid}/stat").read_text().split(") ")[1][0] != "T":  # until it stops itself
            assert proc.poll() is None and time.monotonic() - t0 < 60, proc.stderr.read()
            time.sleep(0.05)
        with open(small_disk / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
            while True:  # another process takes every free byte
                fh.write(b"\0" * 4096)
        proc.send_signal(signal.SIGCONT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert "full" in err and f"htdyn run --resume {part}" in err and "--overwrite" not in err, err
    (small_disk / "filler").unlink()
    before = part.read_bytes()
    r = cli("run", str(cfg), "-o", str(out), "-q")  # the same command again: resume first
    one_line_error(r, f"htdyn run --resume {part}", "--overwrite")
    assert r.stderr.index("--resume") < r.stderr.index("--overwrite") and part.read_bytes() == before
    r = cli("run", "--resume", str(part), "-q")
    assert r.returncode == 0, r.stderr
    with htdyn.open(out) as a, htdyn.open(ref) as b:
        assert a.complete and int(a.attrs["resumed"]) == 1
        np.testing.assert_array_equal(a.runs[0].loss, b.runs[0].loss)
        assert list(a.runs[0].steps) == list(b.runs[0].steps)
        for t in a.runs[0].steps:
            np.testing.assert_array_equal(a.runs[0].W(t), b.runs[0].W(t))

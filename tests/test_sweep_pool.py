"""The local executor's worker pool: the serial results, the device binding, a killed worker, Ctrl-C, bad values.

Processes are inspected through /proc (psutil is not a dependency); the CUDA binding
is checked with a fake device list on the CPU (a worker reports the
``CUDA_VISIBLE_DEVICES`` it was started with).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import h5py
import pytest
from clitools import assert_clean, cli, one_line_error, start
from sweeptools import sorted_table, spec_text

import htdyn
import htdyn.sweep.pool as pool
import htdyn.sweep.slots as slots
from htdyn.errors import StoreError
from htdyn.sweep.driver import make_executor, prepare, run_sweep
from htdyn.sweep.events import SweepEvents
from htdyn.sweep.local import LocalExecutor, default_workers
from htdyn.sweep.pool import Slot, WorkerPool, WorkerStartError, cpu_cores, make_slots
from htdyn.sweep.spec import load_spec

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")

SLOW = 10000  # steps: a batch of 3 runs takes 0.5-2 s on 2 busy cores, long enough to be caught mid-batch


def spec_file(tmp_path: Path, steps: int = 3, repeats: int = 2) -> Path:
    p = tmp_path / f"s{steps}r{repeats}.toml"
    p.write_text(spec_text(steps=steps, repeats=repeats))
    return p


def sweep(spec: Path, out: Path, executor: object, events: SweepEvents | None = None) -> SweepEvents:
    return run_sweep(prepare(load_spec(spec), out), executor, events)


# ---------------------------------------------------------------------- processes, through /proc
def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by its new parent, does not count)."""
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        st = _stat(int(d)) if d.isdigit() else None
        if st is not None and int(st[1]) == pid and st[0] != "Z":
            out.append(int(d))
    return out


def writing(pid: int) -> list[str]:
    """The partial batch files process ``pid`` has open."""
    names = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.endswith(".partial.h5"):
            names.append(os.path.basename(target))
    return names


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    t0 = time.time()
    while any(alive(p) for p in pids) and time.time() - t0 < timeout:
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


# ---------------------------------------------------------------------- results and binding
def test_two_workers_give_the_serial_table_exactly(tmp_path):
    spec = spec_file(tmp_path)
    sweep(spec, tmp_path / "serial", make_executor("local"))
    ev = sweep(spec, tmp_path / "pool", make_executor("local", workers=2))
    a, b = sorted_table(tmp_path / "serial"), sorted_table(tmp_path / "pool")
    assert len(a) == 24
    import pandas as pd

    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pids = {o["worker"]["pid"] for _, o in ev.outcomes}
    assert len(ev.outcomes) == 4 and os.getpid() not in pids and len(pids) == 2
    assert htdyn.open_sweep(tmp_path / "pool").counts() == {"done": 12, "running": 0, "failed": 0, "pending": 0}
    assert not multiprocessing.active_children() and not wait_gone(list(pids))


def test_each_worker_runs_with_its_own_device_and_threads(tmp_path):
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    ex = LocalExecutor(workers=2, device="cpu", devices=["0", "1"])
    ev = sweep(spec_file(tmp_path, repeats=1), tmp_path / "out", ex)
    seen = {o["worker"]["pid"]: o["worker"] for _, o in ev.outcomes}
    assert len(ev.outcomes) == 2 and len(seen) == 2
    assert sorted(w["device"] for w in seen.values()) == ["0", "1"]  # as read in each child's os.environ
    assert {w["threads"] for w in seen.values()} == {str(max(1, cpu_cores() // 2))}
    assert os.environ.get("CUDA_VISIBLE_DEVICES") == before  # the driver's environment is restored


def test_slots_and_default_worker_counts(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert [s.device for s in make_slots(3, "cuda")] == ["2", "5", "2"] and default_workers("cuda") == 2
    assert make_slots(3, "cuda")[0].threads is None and default_workers("cpu") == 1
    assert make_slots(2, "cuda")[1].env() == {"CUDA_VISIBLE_DEVICES": "5"}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert default_workers("cuda") == 1
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(slots, "_nvidia_smi_count", lambda: 3)
    assert default_workers("cuda") == 3 and [s.device for s in make_slots(2, "cuda")] == ["0", "1"]
    monkeypatch.setattr(slots, "_nvidia_smi_count", lambda: None)
    monkeypatch.setattr(slots, "_library_gpu_count", lambda: None)
    assert default_workers("cuda") == 1 and make_slots(2, "cuda")[0].device is None
    cpu = make_slots(2, "cpu")
    assert cpu[0].device is None and cpu[0].env()["OPENBLAS_NUM_THREADS"] == str(max(1, cpu_cores() // 2))


def test_gpus_counted_from_nvidia_smi(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 (UUID: GPU-a)'\necho '  MIG 1g.10gb Device 0: (UUID: MIG-b)'\n"
                    "echo 'GPU 1: NVIDIA H100 (UUID: GPU-c)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert pool.visible_gpus() == ["0", "1"]


def test_a_worker_dead_before_it_is_ready_stops_the_pool():
    p = WorkerPool([Slot(0)])
    p.start()
    pid = p.workers[0].pid
    os.kill(pid, signal.SIGKILL)
    try:
        with pytest.raises(WorkerStartError, match=rf"worker 0 \(pid {pid}\) died with exit code -9 \(SIGKILL\)"):
            while True:
                p.wait(10)
    finally:
        p.close()
    assert not multiprocessing.active_children()


def test_a_replacement_dead_before_it_is_ready_is_replaced_again(monkeypatch):
    """A slot whose worker once started may lose replacements (say to the OOM killer) before they
    are ready: each is replaced, and only MAX_FAILED_STARTS in a row stop the pool."""
    p = WorkerPool([Slot(0)])
    p.start()
    try:
        while not p.workers[0].ready:
            p.wait(10)
        real = p._spawn
        dying = {"left": pool.MAX_FAILED_STARTS - 1}

        def spawn(slot):  # the next replacements exit at once, before they are ready
            if dying["left"] == 0:
                return real(slot)
            dying["left"] -= 1
            proc = p.ctx.Process(target=os._exit, args=(9,), daemon=True)
            proc.start()
            ours, theirs = p.ctx.Pipe(duplex=True)
            theirs.close()
            return pool._Worker(slot, proc, ours)

        monkeypatch.setattr(p, "_spawn", spawn)
        first = p.workers[0].pid
        os.kill(first, signal.SIGKILL)
        t0 = time.monotonic()
        while p.workers[0].pid == first or not p.workers[0].ready:  # two that die, then a real one
            p.wait(10)
            assert time.monotonic() - t0 < 60
        assert dying["left"] == 0
        dying["left"] = pool.MAX_FAILED_STARTS  # now every replacement dies: the pool stops
        os.kill(p.workers[0].pid, signal.SIGKILL)
        with pytest.raises(WorkerStartError, match=rf"{pool.MAX_FAILED_STARTS} replacements in a row"):
            while True:
                p.wait(10)
    finally:
        p.close()
    assert not multiprocessing.active_children()


# ---------------------------------------------------------------------- a worker killed mid-batch
class KillOne:
    """An ``on_step`` callback: at the first progress, kill -9 the worker writing a batch file."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.batch: str | None = None
        self.workers: set[int] = set()

    def __call__(self, k: int) -> None:
        kids = children(os.getpid())
        busy = {c: writing(c) for c in kids}
        self.workers |= {c for c, files in busy.items() if files}
        if self.pid is None:
            for c, files in busy.items():
                if files:
                    self.pid, self.batch = c, files[0].split(".")[0]
                    os.kill(c, signal.SIGKILL)
                    return


def test_a_killed_worker_fails_its_batch_and_the_sweep_goes_on(tmp_path):
    spec, out = spec_file(tmp_path, steps=SLOW), tmp_path / "out"
    kill = KillOne()
    ev = sweep(spec, out, make_executor("local", workers=2), SweepEvents(on_step=kill))
    assert kill.pid is not None, "no worker was caught writing"
    sw = htdyn.open_sweep(out)
    assert sw.counts() == {"done": 9, "running": 0, "failed": 3, "pending": 0}
    failed = [r for r in sw.runs if r.state == "failed"]
    assert all(re.fullmatch(rf"worker [01] \(pid {kill.pid}\) died with exit code -9 \(SIGKILL\)", r.error)
               for r in failed), failed[0].error
    bad = [b for b, o in ev.outcomes if not o["ok"]]
    assert len(bad) == 1 and bad[0].name == kill.batch and (out / "batches" / f"{kill.batch}.partial.h5").exists()
    assert len({o["worker"]["pid"] for _, o in ev.outcomes if o["ok"]}) == 2  # the replacement worked too
    assert not multiprocessing.active_children() and not wait_gone(list(kill.workers))
    sweep(spec, out, make_executor("local"))
    assert htdyn.open_sweep(out).counts()["done"] == 12


# ---------------------------------------------------------------------- the command
def training(part: Path) -> bool:
    """Whether the live partial file ``part`` holds its batch's runs: its worker is past creating the file and
    inside the training, where a stop marks the file ``interrupted`` (one stopped while it still creates the
    file leaves it without a status)."""
    with contextlib.suppress(StoreError, OSError, KeyError, ValueError, RuntimeError), htdyn.open(part) as traj:
        return traj.status == "running" and len(traj.runs) > 0
    return False


def start_mid_batch(spec: Path, out: Path, training_too: bool = False,
                    timeout: float = 180) -> tuple[subprocess.Popen, list[int]]:
    """``htdyn sweep --workers 2`` started and caught with both workers writing; returns it and its children.

    With ``training_too``, also both files being written hold their runs (:func:`training`): the readiness
    a test of what a stop records needs, polled for rather than timed.
    """
    proc = start("sweep", spec, "-o", out, "--workers", "2")
    t0, seen = time.monotonic(), "no two workers writing"
    while time.monotonic() - t0 < timeout and proc.poll() is None:
        kids = children(proc.pid)
        files = [n for c in kids for n in writing(c)]
        if sum(bool(writing(c)) for c in kids) == 2:
            ready = {n: training(out / "batches" / n) for n in files}
            seen = f"workers writing {ready} (True: training)"
            if not training_too or all(ready.values()):
                return proc, kids
        time.sleep(0.02)
    proc.kill()
    want = "two workers writing" + (", both training" if training_too else "")
    pytest.fail(f"the sweep was never caught with {want} in {timeout:.0f} s (last seen: {seen}): "
                f"{proc.communicate()}")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_the_workers_and_a_rerun_finishes(tmp_path, sig, code):
    spec, out = spec_file(tmp_path, steps=SLOW), tmp_path / "out"
    proc, kids = start_mid_batch(spec, out, training_too=True)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, (stdout, stderr)
    assert "Traceback" not in stderr and "resume with: htdyn sweep" in stderr, stderr
    assert not wait_gone(kids), "a worker outlived the driver"
    sw = htdyn.open_sweep(out)
    assert sw.counts()["running"] == 0 and sw.counts()["failed"] == 0
    status = []
    for p in (out / "batches").glob("*.partial.h5"):
        with h5py.File(p, "r") as f:
            status.append(f.attrs.get("status"))  # none yet in a file caught while being created
    # the workers were stopped by SIGTERM mid-step: they marked their files, as a Ctrl-C does in-process
    assert status.count("interrupted") >= 1 and "complete" not in status, status
    r = cli("sweep", spec, "-o", out, "--workers", "2", "-q")
    assert r.returncode == 0, r.stderr
    assert htdyn.open_sweep(out).counts()["done"] == 12


def test_workers_die_with_a_killed_driver(tmp_path):
    """At once (PR_SET_PDEATHSIG), not when they next write to the pipe: their batches would take 10 s more."""
    proc, kids = start_mid_batch(spec_file(tmp_path, steps=20 * SLOW), tmp_path / "out")
    proc.kill()
    proc.communicate(timeout=60)
    assert not wait_gone(kids, timeout=3), "a worker outlived its killed driver"


@pytest.mark.parametrize("args, words", [
    (["--workers", "0"], ["--workers 0 is not valid", ">= 1"]),
    (["--workers", "-3"], ["--workers -3 is not valid"]),
    (["--workers", "2", "--executor", "ray"], ["--workers is for --executor local"]),
])
def test_bad_worker_counts_exit_2_with_one_line(tmp_path, args, words):
    out = tmp_path / "out"
    one_line_error(cli("sweep", spec_file(tmp_path), "-o", out, *args), *words)
    assert not out.exists()


def test_dry_run_shows_the_workers(tmp_path):
    spec = spec_file(tmp_path)
    r = cli("sweep", spec, "-o", tmp_path / "out", "--dry-run", "--workers", "3")
    assert r.returncode == 0 and f"executor: local, 3 worker processes ({max(1, cpu_cores() // 3)} BLAS" in r.stdout
    r = cli("sweep", spec, "-o", tmp_path / "out", "--dry-run")
    assert r.returncode == 0 and "executor: local, in this process (cpu)" in r.stdout, r.stdout
    assert not (tmp_path / "out").exists()


def test_not_an_integer_is_a_usage_error(tmp_path):
    r = cli("sweep", spec_file(tmp_path), "-o", tmp_path / "o", "--workers", "two")
    assert_clean(r, 2)
    assert "--workers" in r.stderr, r.stderr


def test_cpu_workers_share_the_default_memory_budget(tmp_path: Path, monkeypatch) -> None:
    """N CPU workers hold N batches at once: each is planned against 1/N of half the free RAM."""
    import htdyn.sweep.driver as driver

    monkeypatch.setattr(driver, "default_budget", lambda device, dtype="float32": 10 ** 9)
    spec = load_spec(spec_file(tmp_path))
    assert prepare(spec, tmp_path / "a").budget == 10 ** 9
    assert prepare(spec, tmp_path / "a", workers=4).budget == 10 ** 9 // 4
    spec.batch_memory = 123456789  # set by the user: per batch, whatever the workers
    assert prepare(spec, tmp_path / "a", workers=4).budget == 123456789


def test_workers_that_share_a_gpu_share_its_budget() -> None:
    """per_device: the batches one device's memory holds at once (what prepare divides the budget by)."""
    assert LocalExecutor(1, "cpu").per_device == 1
    assert LocalExecutor(3, "cpu").per_device == 3
    assert LocalExecutor(2, "cuda", devices=["0", "1"]).per_device == 1
    assert LocalExecutor(3, "cuda", devices=["0", "1"]).per_device == 2  # round-robin: GPU 0 runs two
    assert LocalExecutor(4, "cuda", devices=[]).per_device == 4  # GPUs unknown: all on the default one

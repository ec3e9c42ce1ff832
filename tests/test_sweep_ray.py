"""The Ray executor: results through Ray's object store (no shared disk), and an existing cluster (--address)."""

from __future__ import annotations

import copy
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from clitools import cli, ok, one_line_error
from sweeptools import run_spec, sorted_table, spec_text

import htdyn
from htdyn.errors import ConfigError
from htdyn.sweep import ray as ray_ex
from htdyn.sweep.driver import make_executor, prepare
from htdyn.sweep.spec import load_spec

ROOT = str(Path(htdyn.__file__).resolve().parents[1])

def esds(root: Path) -> dict:
    """Every run's stored ESDs, by run id, as read back from its batch file."""
    out = {}
    for r in htdyn.open_sweep(root).runs:
        with h5py.File(r.file, "r") as f:
            out[r.id] = f["runs"][f"{r.index:04d}"]["metrics/esd"][()]
    return out


def test_object_store_results_equal_the_local_ones(tmp_path, monkeypatch):
    """Tasks get no path in DIR and write into their own temp dir; the driver writes every file."""
    ray = pytest.importorskip("ray")
    import pandas as pd

    local = run_spec(tmp_path, spec_text(), "local")
    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    before = worker_tmp.stat().st_mtime_ns
    sent, written = [], []
    args, write = ray_ex.RayExecutor._args, ray_ex.write_batch_file

    def spy_args(self, b, spec, sd):
        sent.append(pickle.dumps(args(self, b, spec, sd)))
        return pickle.loads(sent[-1])

    monkeypatch.setattr(ray_ex.RayExecutor, "_args", spy_args)
    monkeypatch.setattr(ray_ex, "write_batch_file", lambda dest, data: written.append(dest) or write(dest, data))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": ROOT, "TMPDIR": str(worker_tmp)}})
    try:
        obj = run_spec(tmp_path, spec_text(), "driver-only-dir", "ray", results="object-store")
    finally:
        ray.shutdown()
    assert len(sent) == 4 and all(b"driver-only-dir" not in s for s in sent)  # no path under DIR reached a task
    files = sorted((obj / "batches").iterdir())
    assert [p.name for p in files] == sorted(p.name for p in written) and len(files) == 4  # no partial left
    assert worker_tmp.stat().st_mtime_ns > before and not any(worker_tmp.iterdir())  # used, then cleaned up
    a, b = sorted_table(local), sorted_table(obj)
    assert len(a) == 24
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    ea, eb = esds(local), esds(obj)
    assert sorted(ea) == sorted(eb) and len(ea) == 12
    for rid in ea:
        np.testing.assert_array_equal(ea[rid], eb[rid])


def one_batch(tmp_path: Path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    prep = prepare(load_spec(spec), tmp_path / "sw")
    return prep, prep.batches[0]


def test_the_object_task_returns_the_file_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "wt"))
    (tmp_path / "wt").mkdir()
    prep, b = one_batch(tmp_path)
    out, data = ray_ex._object_task(b.sim(prep.spec), b.file)
    assert out["ok"] and out["runs"] == 3 and "path" not in out and data.dtype == np.uint8
    assert not any((tmp_path / "wt").iterdir())
    dest = ray_ex.write_batch_file(tmp_path / b.file, data)
    with h5py.File(dest, "r") as f:
        assert f.attrs["status"] == "complete" and f.attrs["destination"] == b.file and len(f["runs"]) == 3
    sim = copy.deepcopy(b.sim(prep.spec))
    sim.runs[0].model.n = -1  # fails in the task: no file comes back
    out, data = ray_ex._object_task(sim, b.file)
    assert not out["ok"] and data is None and "n" in out["error"]
    assert not any((tmp_path / "wt").iterdir())


def test_a_failed_write_leaves_neither_the_file_nor_its_partial(tmp_path, monkeypatch):
    dest = tmp_path / "b-x.h5"

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ray_ex.os, "fsync", no_space)
    with pytest.raises(OSError):
        ray_ex.write_batch_file(dest, np.arange(10, dtype=np.uint8))
    assert not any(tmp_path.iterdir())
    monkeypatch.undo()
    ray_ex.write_batch_file(dest, np.arange(10, dtype=np.uint8))
    assert dest.read_bytes() == bytes(range(10)) and sorted(tmp_path.iterdir()) == [dest]


class _FakeRay:
    def __init__(self, result):
        self.result = result

    def get(self, ref):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_the_driver_writes_only_finished_batches(tmp_path):
    """A failed batch (or a dead task) marks nothing done and writes nothing into DIR."""
    prep, b = one_batch(tmp_path)
    sd = prep.dir
    sd.batches.mkdir(parents=True)
    ex = ray_ex.RayExecutor(results="object-store")
    fail = {"ok": False, "error": "MemoryError: injected", "runs": 3}
    assert ex._collect(_FakeRay((fail, None)), None, sd, b) == fail
    out = ex._collect(_FakeRay(RuntimeError("worker died\ndetails")), None, sd, b)
    assert out == {"ok": False, "error": "ray task failed: worker died", "runs": 3}
    assert not any(sd.batches.iterdir())
    out = ex._collect(_FakeRay(({"ok": True, "error": None, "runs": 3}, np.zeros(4, np.uint8))), None, sd, b)
    assert out["ok"] and out["path"] == str(sd.batches / b.file) and (sd.batches / b.file).stat().st_size == 4


def test_results_option_errors():
    with pytest.raises(ConfigError, match="is for --executor ray"):
        make_executor("local", results="object-store")
    with pytest.raises(ConfigError, match="choose shared or object-store"):
        make_executor("ray", results="nfs")


@pytest.mark.parametrize("args, words", [
    (["--results", "object-store"], ["--results object-store is for --executor ray"]),
    (["--executor", "ray", "--results", "nfs"], ["'nfs' is not valid", "shared or object-store"]),
])
def test_results_option_through_the_command(tmp_path, args, words):
    (tmp_path / "s.toml").write_text(spec_text())
    r = cli("sweep", tmp_path / "s.toml", "-o", tmp_path / "o", *args)
    one_line_error(r, *words)
    assert not (tmp_path / "o").exists()


def ray_command() -> str | None:
    here = Path(sys.executable).parent / "ray"
    return str(here) if here.exists() else shutil.which("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayHead:
    """``ray start --head --block`` in its own session: stopped by its own pid, no other Ray is touched."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.temp = tempfile.mkdtemp(prefix="htdyn-ray-")  # short: Ray's socket paths have a length limit
        self.log = tmp / "ray-head.log"
        cmd = [ray_command(), "start", "--head", "--block", "--num-cpus", "2", "--port", str(self.port),
               "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
               "--dashboard-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
               "--temp-dir", self.temp, "--object-store-memory", str(100 * 2**20), "--disable-usage-stats"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)}
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def wait_ready(self, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "block forever" in self.log.read_text():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"ray start exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            time.sleep(0.5)
        raise AssertionError(f"ray start not ready after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to `ray start --block` stops the processes it started; then anything left in its session."""
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session this test created, and nothing else
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """A one-machine cluster started with Ray's own command; always stopped."""
    if ray_command() is None:
        pytest.skip("the ray command is not installed")
    head = RayHead(tmp_path_factory.mktemp("head"))
    try:
        head.wait_ready()
        yield head
    finally:
        head.stop()
    assert head.proc.returncode is not None


@pytest.mark.parametrize("results", ["shared", "object-store"])
def test_an_existing_cluster_through_the_command(tmp_path, ray_head, results):
    """`ray start --head` (one machine), then `htdyn sweep ... --executor ray --address`: the local table."""
    import pandas as pd

    local = run_spec(tmp_path, spec_text(), "local")
    r = cli("sweep", tmp_path / "local.toml", "-o", tmp_path / "cluster", "-q", "--executor", "ray",
            "--address", f"127.0.0.1:{ray_head.port}", "--results", results)
    ok(r)
    pd.testing.assert_frame_equal(sorted_table(local), sorted_table(tmp_path / "cluster"), check_exact=True)


def test_dry_run_describes_the_ray_executor() -> None:
    from htdyn.sweep.ray import RayExecutor

    assert RayExecutor(None, 2).describe() == ("ray, on a local runtime with 2 CPU(s), 1 CPU(s) per task; "
                                               "results through files on the shared directory")
    assert RayExecutor("10.0.0.1:6379", results="object-store").describe().startswith(
        "ray, on the cluster at 10.0.0.1:6379")

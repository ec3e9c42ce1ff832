"""`htdyn sweep` through the installed command: bad specs, dry runs, resume, kill -9, Ctrl-C, changed specs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py
import pytest
from clitools import cli, needs_htdyn, one_line_error, start, tiny_config

import htdyn

pytestmark = needs_htdyn


def write_spec(path: Path, *, steps: int = 3, repeats: int = 2, max_batch: int = 4,
               lrs: str = "[0.01, 0.1, 1.0]", extra: str = "") -> Path:
    """A sweep of the tiny config: GD and Adam at ``lrs``, ``repeats`` times, batches of ``max_batch`` runs."""
    sweep = f"""
[sweep]
repeats = {repeats}
max_batch = {max_batch}
"optimizer.name" = ["gd", "adam"]
"optimizer.lr" = {lrs}
"""
    path.write_text(tiny_config(steps=steps, optimizer="gd", lr=0.1, extra=sweep) + extra)
    return path


def digests(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "batches").glob("*.h5"))
            if not p.name.endswith(".partial.h5")}


def ids_in_files(root: Path) -> list[str]:
    """Every sweep run id held by a complete batch file, read with h5py (duplicates kept)."""
    from htdyn.io.runid import run_id
    from htdyn.sweep.spec import run_context

    out = []
    for p in sorted((root / "batches").glob("*.h5")):
        if p.name.endswith(".partial.h5"):
            continue
        with h5py.File(p, "r") as f:
            assert f.attrs["status"] == "complete"
            ctx = run_context(json.loads(f.attrs["config_json"]))
            out += [run_id(json.loads(g.attrs["config_json"]), ctx) for g in f["runs"].values()]
    return out


@pytest.mark.parametrize("sweep, words", [
    ('"optimizer.lr" = []', ["optimizer.lr is empty"]),
    ('"optimizer.lrr" = [0.1]', ["optimizer.lrr"]),
    ('"optimizer.lr" = [0.1, 1.0]\n"model.h" = [8]\nzip = ["optimizer.lr", "model.h"]', ["equal lengths"]),
    ('"eval.ridge_lambda" = [0.1, 1.0]', ["eval.ridge_lambda", "not a run key"]),
    ('repeats = 0\n"optimizer.lr" = [0.1]', ["sweep.repeats = 0"]),
    ('"optimizer.lr" = [0.1, -2.0]', ["optimizer.lr", "-2.0", "> 0"]),
    ('"model.activation" = ["tanh", "swish"]', ["model.activation", "'swish'"]),
])
def test_bad_specs_exit_2_before_anything_runs(tmp_path, sweep, words):
    spec = tmp_path / "bad.toml"
    spec.write_text('steps = 2\n[model]\nn = 64\nd = 16\nh = 24\n[sweep]\n' + sweep + "\n")
    out = tmp_path / "out"
    one_line_error(cli("sweep", spec, "-o", out), *words)
    assert not out.exists()


def test_missing_spec_and_bad_executor(tmp_path):
    one_line_error(cli("sweep", tmp_path / "nope.toml", "-o", tmp_path / "o"), "does not exist")
    spec = write_spec(tmp_path / "s.toml")
    one_line_error(cli("sweep", spec, "-o", tmp_path / "o", "--executor", "slurm"), "--executor", "local or ray")
    one_line_error(cli("sweep", "status", tmp_path / "nothing"), "not a sweep directory")


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    spec = write_spec(tmp_path / "s.toml")
    out = tmp_path / "out"
    r = cli("sweep", spec, "-o", out, "--dry-run")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "12 runs" in text and "optimizer.lr (3)" in text and "2 repeat(s)" in text
    assert "4 batch(es)" in text and "estimated time" in text and "b-" in text and "memory" in text
    assert not out.exists()


def test_run_resume_extend_and_refuse_a_changed_spec(tmp_path):
    spec = write_spec(tmp_path / "s.toml")
    out = tmp_path / "out"
    r = cli("sweep", spec, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "12 done" in r.stdout and "Traceback" not in r.stderr
    before = digests(out)
    assert len(before) == 4
    # the same command again: nothing to run, every file untouched
    r = cli("sweep", spec, "-o", out)
    assert r.returncode == 0 and digests(out) == before
    # a fourth learning rate and a third repeat: the 12 runs done are reused
    write_spec(spec, repeats=3, lrs="[0.01, 0.1, 1.0, 10.0]")
    r = cli("sweep", spec, "-o", out, "--dry-run")
    assert "12 done, 12 to run" in r.stdout, r.stdout
    r = cli("sweep", spec, "-o", out)
    assert r.returncode == 0, r.stderr
    after = digests(out)
    assert all(after[k] == v for k, v in before.items())
    ids = ids_in_files(out)
    assert len(ids) == len(set(ids)) == 24
    # a changed base setting drops the old runs: refused, saying what changed, unless --force
    write_spec(spec, repeats=3, lrs="[0.01, 0.1, 1.0, 10.0]", extra="")
    spec.write_text(spec.read_text().replace("n = 64", "n = 80"))
    one_line_error(cli("sweep", spec, "-o", out), "spec differs", "model", "64 -> 80", "--force")
    r = cli("sweep", spec, "-o", out, "--force", "--dry-run")
    assert r.returncode == 0 and "24 to run" in r.stdout
    # status and summary
    r = cli("sweep", "status", out)
    assert r.returncode == 0 and "24 runs: 24 done, 0 running, 0 failed, 0 pending" in r.stdout, r.stdout
    r = cli("sweep", "summary", out, "--by", "optimizer.name", "--csv", tmp_path / "s.csv")
    assert r.returncode == 0, r.stderr
    import pandas as pd

    df = pd.read_csv(tmp_path / "s.csv")
    assert list(df["optimizer.name"]) == ["gd", "adam"] and list(df["runs"]) == [12, 12]
    one_line_error(cli("sweep", "summary", out, "--by", "model.d"), "--by 'model.d'", "axes")
    r = cli("sweep", "summary", out, "--parquet", tmp_path / "s.parquet")
    try:
        import pyarrow  # noqa: F401

        assert r.returncode == 0 and pd.read_parquet(tmp_path / "s.parquet").shape[0] == 8
    except ImportError:
        one_line_error(r, "--parquet needs pyarrow")
    assert not (tmp_path / "s.parquet").exists() or r.returncode == 0


def _start(spec: Path, out: Path) -> subprocess.Popen:
    return start("sweep", spec, "-o", out)


def _wait_mid_batch(out: Path, proc: subprocess.Popen, done: int, timeout: float = 120) -> None:
    """Until ``done`` batch files are complete and the next one is being written."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        b = out / "batches"
        if b.is_dir():
            complete = [p for p in b.glob("*.h5") if not p.name.endswith(".partial.h5")]
            if len(complete) >= done and list(b.glob("*.partial.h5")):
                return
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it could be interrupted: {proc.communicate()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the sweep never reached a mid-batch point")


def test_kill_9_mid_batch_then_rerun(tmp_path):
    """Finished batches keep their bytes, the killed one is redone, no run is held twice."""
    spec = write_spec(tmp_path / "s.toml", steps=400, max_batch=2)
    out = tmp_path / "out"
    proc = _start(spec, out)
    _wait_mid_batch(out, proc, done=1)
    before = digests(out)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert before and list((out / "batches").glob("*.partial.h5"))
    sw = htdyn.open_sweep(out)
    assert sw.counts()["done"] == 2 * len(before) and sw.counts()["running"] == 0
    r = cli("sweep", spec, "-o", out)
    assert r.returncode == 0, r.stderr
    after = digests(out)
    assert all(after[k] == v for k, v in before.items())
    ids = ids_in_files(out)
    assert len(ids) == len(set(ids)) == 12
    assert htdyn.open_sweep(out).counts()["done"] == 12


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    spec = write_spec(tmp_path / "s.toml", steps=400, max_batch=2)
    out = tmp_path / "out"
    proc = _start(spec, out)
    _wait_mid_batch(out, proc, done=1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and "resume with: htdyn sweep" in stderr, stderr
    assert htdyn.open_sweep(out).counts()["running"] == 0
    r = cli("sweep", spec, "-o", out)
    assert r.returncode == 0 and htdyn.open_sweep(out).counts()["done"] == 12


@pytest.mark.slow
def test_ray_executor_through_the_command(tmp_path):
    pytest.importorskip("ray")
    spec = write_spec(tmp_path / "s.toml")
    r = cli("sweep", spec, "-o", tmp_path / "ray", "--executor", "ray", "--num-cpus", "2")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    r2 = cli("sweep", spec, "-o", tmp_path / "local")
    assert r2.returncode == 0
    ray_ids, local_ids = ids_in_files(tmp_path / "ray"), ids_in_files(tmp_path / "local")
    assert sorted(ray_ids) == sorted(local_ids) and len(ray_ids) == 12
    a = htdyn.open_sweep(tmp_path / "ray").table().sort_values(["run_id", "step"]).reset_index(drop=True)
    b = htdyn.open_sweep(tmp_path / "local").table().sort_values(["run_id", "step"]).reset_index(drop=True)
    import pandas as pd

    pd.testing.assert_frame_equal(a, b, check_exact=True)

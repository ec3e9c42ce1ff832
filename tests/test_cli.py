"""The command line: exit codes, one-line errors, files written, summary tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clitools import cli

import htdyn

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
name = "tiny"
steps = 3
[model]
n = 64
d = 16
h = 24
n_test = 32
[optimizer]
name = "adam"
lr = 0.1
[grid]
"optimizer.lr" = [0.1, 1.0]
"""


def htdyn_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return cli(*args, cwd=cwd, columns=120)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(SMALL)
    return p


def test_run_writes_file_and_summary(cfg: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    r = htdyn_cli("run", str(cfg), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert "trajectory written to" in r.stdout and str(out.name) in r.stdout
    assert "adam" in r.stdout and "diverged" in r.stdout
    with htdyn.open(out) as traj:
        assert traj.complete and len(traj.runs) == 2
        assert [r_.config["optimizer"]["lr"] for r_ in traj.runs] == [0.1, 1.0]
    info = htdyn_cli("info", str(out))
    assert info.returncode == 0 and "complete" in info.stdout and "24 x 16" in info.stdout


def test_set_overrides_and_replaces_grid(cfg: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    r = htdyn_cli("run", str(cfg), "-o", str(out), "-q", "--set", "optimizer.lr=0.5", "--set", "steps=2")
    assert r.returncode == 0, r.stderr
    with htdyn.open(out) as traj:
        assert len(traj.runs) == 1 and traj.runs[0].config["optimizer"]["lr"] == 0.5
        assert traj.attrs["steps"] == 2


def test_yaml_config(tmp_path: Path) -> None:
    """Every value of the YAML file reaches the run (1e-3 included, which YAML reads as a string)."""
    p = tmp_path / "c.yaml"
    p.write_text("steps: 2\nmodel: {n: 32, d: 8, h: 12, n_test: 8, noise_std: 0.05}\n"
                 "optimizer: {name: gd, lr: 1e-3}\nsnapshots: {at: first_last}\n")
    r = htdyn_cli("run", str(p), "-o", str(tmp_path / "y.h5"), "-q")
    assert r.returncode == 0, r.stderr
    with htdyn.open(tmp_path / "y.h5") as traj:
        assert traj.complete and traj.attrs["steps"] == 2 and len(traj.runs) == 1
        run = traj.runs[0]
        assert run.config["model"] == {**run.config["model"], "n": 32, "d": 8, "h": 12, "n_test": 8,
                                       "noise_std": 0.05}
        assert run.config["optimizer"]["name"] == "gd" and run.config["optimizer"]["lr"] == 1e-3
        assert run.shape == (12, 8) and list(run.steps) == [0, 2]
        np.testing.assert_array_equal(run.lr, [1e-3, 1e-3])  # the learning rate the steps used
        data = run.data()
        assert data["X"].shape == (32, 8) and data["y_test"].shape == (8,)
        # the noise level reached the labels: y - softplus(beta . x) has sd 0.05 (SE 0.05/sqrt(2 * 32))
        eps = data["y"] - np.logaddexp(0.0, data["X"].astype(np.float64) @ run.beta)
        assert abs(eps.std() - 0.05) < 5 * 0.05 / np.sqrt(64)
        assert np.all(np.isfinite(run.loss)) and run.loss.shape == (3,)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--set", "optimizer.lrr=3"], "optimizer.lrr"),
        (["--set", "optimizer.name=adm"], "optimizer.name"),
        (["--set", "optimizer.lr=-1"], "optimizer.lr"),
        (["--set", "optimizer.lr=0"], "optimizer.lr"),
        (["--set", "model.n=-5"], "model.n"),
        (["--set", "model.h=1.5"], "model.h"),
        (["--set", "steps=ten"], "steps"),
        (["--set", "snapshots.at=log:1"], "snapshots.at"),
        (["--set", "snapshots.compression=zip"], "snapshots.compression"),
        (["--set", "bogus=1"], "bogus"),
        (["--device", "gpu"], "device"),
    ],
)
def test_bad_config_one_line_exit_2(cfg: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    r = htdyn_cli("run", str(cfg), "-o", str(tmp_path / "x.h5"), "-q", *args)
    assert r.returncode == 2
    err = r.stderr.strip()
    assert "Traceback" not in r.stderr
    assert err.startswith("error:") and needle in err
    assert len(err.splitlines()) <= 2  # one logical line (rich may wrap very long messages)
    assert not (tmp_path / "x.h5").exists()


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    r = htdyn_cli("run", str(tmp_path / "nope.toml"))
    assert r.returncode == 2 and "nope.toml" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = [unclosed\n")
    r = htdyn_cli("run", str(bad))
    assert r.returncode == 2 and "bad.toml" in r.stderr and "Traceback" not in r.stderr
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an hdf5 file at all")
    for cmd in ("info", "analyze"):
        r = htdyn_cli(cmd, str(junk))
        assert r.returncode == 2 and "junk.h5" in r.stderr and "Traceback" not in r.stderr
    r = htdyn_cli("info", str(tmp_path / "absent.h5"))
    assert r.returncode == 2 and "absent.h5" in r.stderr


def test_never_overwrites_without_flag(cfg: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    out.write_bytes(b"precious")
    r = htdyn_cli("run", str(cfg), "-o", str(out), "-q")
    assert r.returncode == 2 and "--overwrite" in r.stderr
    assert out.read_bytes() == b"precious"
    r = htdyn_cli("run", str(cfg), "-o", str(out), "-q", "--overwrite")
    assert r.returncode == 0, r.stderr
    with htdyn.open(out) as traj:
        assert traj.complete


def test_help_teaches() -> None:
    r = htdyn_cli("run", "--help")
    assert r.returncode == 0
    for word in ("--set", "--overwrite", "--device", "Example"):
        assert word in r.stdout
    r = htdyn_cli("--help")
    assert r.returncode == 0 and "run" in r.stdout and "analyze" in r.stdout and "info" in r.stdout


def test_demo_config_runs_and_is_documented(tmp_path: Path) -> None:
    """The README's demo config runs and its learning rates do what its comment says."""
    readme = (ROOT / "README.md").read_text()
    assert "htdyn run sims/demo.toml" in readme
    sim = htdyn.load_config(ROOT / "sims" / "demo.toml")
    res = htdyn.simulate(sim, path=str(tmp_path / "demo.h5"))
    W0 = htdyn.train.data.make_init(sim.runs[0].model, sim.runs[0].init_seed_)[0]
    s0 = np.linalg.svd(W0, compute_uv=False)[0]
    s_small, s_mid, s_big = (np.linalg.svd(r.W_final, compute_uv=False)[0] for r in res.runs)
    assert s_small < 1.5 * s0 < s_mid < s_big


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "sims").glob("*.toml")))
def test_shipped_configs_are_valid(name: str) -> None:
    sim = htdyn.load_config(ROOT / "sims" / name)
    assert sim.runs and sim.steps > 0


@pytest.mark.parametrize("preset", [None, "9"])
def test_cli_sets_openblas_thread_timeout_before_numpy_loads(preset: str | None) -> None:
    """`import htdyn` loads no numpy, so the CLI module can set OpenBLAS's spin time first; a user's value wins."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if preset is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    code = ("import os, sys, htdyn; assert 'numpy' not in sys.modules; import htdyn.cli; "
            "assert 'numpy' not in sys.modules; print(os.environ['OPENBLAS_THREAD_TIMEOUT']); "
            "from htdyn import RunConfig, simulate; assert 'numpy' in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (preset or "18")

"""`htdyn sweep` and the config loader through the installed command: messages that say what is wrong.

Each refusal: exit code 2, one line, no traceback, and the bytes of every earlier file unchanged.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import clitools
import pytest
from clitools import needs_htdyn, one_line_error
from sweeptools import spec_text

pytestmark = needs_htdyn


def cli(*args: object) -> subprocess.CompletedProcess:
    return clitools.cli(*args, columns=300)


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(spec_text(steps=2, repeats=1))
    return p


def test_a_file_where_a_sweep_directory_is_wanted(tmp_path: Path, spec: Path) -> None:
    f = tmp_path / "notadir"
    f.write_bytes(b"user data")
    one_line_error(cli("sweep", "status", f), "is a file", "not a sweep directory")
    one_line_error(cli("sweep", spec, "-o", f, "-q"), "is a file")
    one_line_error(cli("sweep", "summary", f), "is a file")
    one_line_error(cli("sweep", "status", f / "sub"), "is under", "which is a file")
    one_line_error(cli("sweep", spec, "-o", f / "sub", "-q"), "which is a file")
    assert f.read_bytes() == b"user data"


def test_a_corrupt_index_is_rebuilt_and_a_corrupt_manifest_is_not_called_the_index(tmp_path: Path,
                                                                                  spec: Path) -> None:
    out = tmp_path / "out"
    assert cli("sweep", spec, "-o", out, "-q").returncode == 0
    (out / "index.json").write_text("{not json")
    st = cli("sweep", "status", out)
    assert st.returncode == 0 and "6 done" in st.stdout and "cache" in st.stderr, (st.stdout, st.stderr)
    batches = tree(out / "batches")
    r = cli("sweep", spec, "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    assert "rebuilt" in r.stderr and "index.json" in r.stderr
    assert tree(out / "batches") == batches  # nothing run again
    assert (out / "index.json").read_text().startswith("{\"done\"")
    (out / "sweep.json").write_text("[broken")
    before = tree(out)
    err = one_line_error(cli("sweep", "status", out), "sweep.json", "design")
    assert "index" not in err.split("cannot be read")[1]
    one_line_error(cli("sweep", spec, "-o", out, "-q"), "sweep.json")
    assert tree(out) == before


def test_a_duplicate_axis_value_is_named_as_such(tmp_path: Path) -> None:
    p = tmp_path / "dup.toml"
    p.write_text(spec_text(steps=2, repeats=1).replace("[0.05, 0.5, 5.0]", "[0.05, 0.5, 0.5]"))
    err = one_line_error(cli("sweep", p, "-o", tmp_path / "o", "--dry-run"), "sweep.optimizer.lr", "0.5", "twice")
    assert "seed" not in err
    p.write_text(spec_text(steps=2, repeats=1).replace("[0.05, 0.5, 5.0]", "[1, 1.0]"))
    one_line_error(cli("sweep", p, "-o", tmp_path / "o", "--dry-run"), "twice")
    assert not (tmp_path / "o").exists()


def test_cuda_without_a_gpu_is_refused_before_the_directory_is_made(tmp_path: Path, spec: Path) -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine may have a GPU")
    out = tmp_path / "gpu"
    one_line_error(cli("sweep", spec, "-o", out, "--device", "cuda", "-q"), "cuda", "--device cpu")
    assert not out.exists()


def test_set_follows_the_rules_of_htdyn_run(tmp_path: Path, spec: Path) -> None:
    out = tmp_path / "o"
    r = cli("sweep", spec, "-o", out, "--dry-run", "--set", "sweep.repeats=3", "--set", "steps=4")
    assert r.returncode == 0, r.stderr
    assert "12 runs" not in r.stdout and "18 runs" in r.stdout  # 2 x 3 points x 3 repeats
    r = cli("sweep", spec, "-o", out, "--dry-run", "--set", "optimizer.lr=0.3")  # the axis is replaced
    assert r.returncode == 0 and "optimizer.lr" not in r.stdout.split("\n")[0] and "2 runs" in r.stdout, r.stdout
    r = cli("sweep", spec, "-o", out, "--dry-run", "--set", "sweep.optimizer.lr=[0.1, 0.2]")
    assert r.returncode == 0 and "optimizer.lr (2)" in r.stdout, r.stdout
    one_line_error(cli("sweep", spec, "-o", out, "--set", "optimizer.lrr=0.3"), "optimizer.lrr", "did you mean 'lr'")
    one_line_error(cli("sweep", spec, "-o", out, "--set", "steps"), "key=value")
    assert not out.exists()


def test_sweep_help_shows_the_options_and_examples() -> None:
    r = cli("sweep", "--help")
    assert r.returncode == 0
    for word in ("--workers", "--set", "--dry-run", "-o", "Example: htdyn sweep", "status", "summary"):
        assert word in r.stdout, word
    for sub in ("status", "summary"):
        h = cli("sweep", sub, "--help")
        assert h.returncode == 0 and f"Example: htdyn sweep {sub}" in h.stdout


def test_dry_run_estimate_shows_its_spread(spec: Path, tmp_path: Path) -> None:
    r = cli("sweep", spec, "-o", tmp_path / "o", "--dry-run")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "estimated time: about" in text and " to " in text and "after a warm-up" in text, text


# --------------------------------------------------------------------------- config files


def test_a_sweep_file_given_to_htdyn_run_names_the_sweep_command(tmp_path: Path, spec: Path) -> None:
    err = one_line_error(cli("run", spec, "-o", tmp_path / "x.h5"), "sweep file", f"htdyn sweep {spec}")
    assert "did you mean" not in err
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("text, words", [
    ("model:\n  n: 3\n - bad\n", ["line 3, column 2", "expected <block end>", "block mapping"]),
    ("model: {n: 3\nsteps: 2\n", ["line 2", "flow mapping"]),
])
def test_yaml_errors_keep_their_cause_and_place(tmp_path: Path, text: str, words: list) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    one_line_error(cli("run", p, "-o", tmp_path / "x.h5"), "not valid YAML", *words)


def test_a_penalty_setting_without_a_penalty_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "pen.toml"
    p.write_text("steps = 2\n[model]\nn = 16\nd = 8\nh = 8\nn_test = 4\n[penalty]\ncoefficient = 0.1\n")
    one_line_error(cli("run", p, "-o", tmp_path / "x.h5"), "penalty.coefficient", "penalty.name", "weighted_alpha")
    one_line_error(cli("run", p, "-o", tmp_path / "x.h5", "--set", "penalty.name=none"), "penalty.coefficient")
    r = cli("run", p, "-o", tmp_path / "x.h5", "-q", "--set", "penalty.name=stable_rank")
    assert r.returncode == 0, r.stderr

"""`htdyn analyze` loses nothing: bad requests, Ctrl-C, a full disk, a bad --csv and
non-finite snapshots leave the earlier results intact and give one line, never a
traceback (issue 8)."""

from __future__ import annotations

import csv
import hashlib
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from clitools import cli, one_line_error

import htdyn
from htdyn.analysis.offline import analyze, check_request, read_analysis
from htdyn.analysis.phases import NON_FINITE, PHASES
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation
from htdyn.errors import ConfigError, StoreError
from htdyn.io import results

TINY = {"n": 64, "d": 16, "h": 24, "n_test": 16}
STEPS = 3


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("safety") / "t.h5"
    runs = [RunConfig(model=ModelConfig(**TINY), optimizer=OptimizerConfig("adam", lr=lr), seed=1)
            for lr in (0.01, 1.0)]
    htdyn.simulate(simulation(runs, steps=STEPS, output=str(path)))
    return path


@pytest.fixture
def analysed(source: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the trajectory with an earlier analysis in the file and its CSV beside it."""
    p = tmp_path / "t.h5"
    shutil.copy(source, p)
    out = tmp_path / "t.analysis.csv"
    analyze(p, csv_path=out)
    return p, out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return cli(*args, columns=120)


# ---------------------------------------------------------------- bad requests change nothing


@pytest.mark.parametrize("args, words", [
    (["--steps", "5000"], ["step 5000 is not stored", "stored steps: 0-3"]),
    (["--steps=-1"], ["step -1 is not stored", "0-3"]),
    (["--steps", "0,2,7,9"], ["steps 7, 9 are not stored", "0-3"]),
    (["--metrics", ""], ["no metric set", "powerlaw"]),
    (["--metrics", " , "], ["no metric set"]),
    (["--steps", ""], ["--steps", "comma-separated integers"]),
])
def test_bad_request_is_refused_before_anything_is_written(analysed: tuple[Path, Path], args: list[str],
                                                           words: list[str]) -> None:
    path, out = analysed
    before, csv_before = _sha(path), _sha(out)
    r = _cli("analyze", str(path), "--csv", str(out), *args)  # no -q: the error comes before any progress bar
    one_line_error(r, *words)
    assert _sha(path) == before and _sha(out) == csv_before


def test_api_checks_runs_steps_and_metrics(analysed: tuple[Path, Path]) -> None:
    path, _ = analysed
    before = _sha(path)
    with pytest.raises(ConfigError, match=r"run 7 not in 't.h5'; runs: 0, 1"):
        analyze(path, runs=[7])
    with pytest.raises(ConfigError, match="no step given"):
        analyze(path, steps=[])
    with pytest.raises(ConfigError, match="no metric set given"):
        analyze(path, metrics=[])
    assert _sha(path) == before


def test_check_request_counts_what_analyze_will_do(analysed: tuple[Path, Path]) -> None:
    path, _ = analysed
    before = _sha(path)
    assert check_request(path) == 2 * (STEPS + 1)
    assert check_request(path, steps=[0, 2], runs=[1]) == 2
    with pytest.raises(ConfigError, match="step 9 is not stored"):
        check_request(path, steps=[9])
    assert _sha(path) == before


def test_steps_stored_in_some_run_only_are_analysed_where_stored(source: Path, tmp_path: Path) -> None:
    p = tmp_path / "t.h5"
    shutil.copy(source, p)
    with h5py.File(p, "r+") as f:  # run 1 kept snapshots 0-1 only (as a run that diverged at step 1)
        f["runs/0001/snapshot_count"][()] = 2
    res = analyze(p, metrics=["norms"], steps=[0, 3], write=False)
    assert sorted((r["run"], r["step"]) for r in res.rows) == [(0, 0), (0, 3), (1, 0)]


# ---------------------------------------------------------------- interruption keeps the old results


def test_ctrl_c_half_way_keeps_the_earlier_analysis_and_csv(analysed: tuple[Path, Path]) -> None:
    path, out = analysed
    before, csv_before = _sha(path), _sha(out)
    old = read_analysis(path).records()
    calls = []

    def progress(k: int) -> None:
        calls.append(k)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyze(path, metrics=["powerlaw"], csv_path=out, progress=progress)
    assert _sha(path) == before and _sha(out) == csv_before
    assert read_analysis(path).records() == old
    assert sorted(os.listdir(out.parent)) == ["t.analysis.csv", "t.h5"]  # no temporary file left


def test_a_failed_write_keeps_the_earlier_analysis(analysed: tuple[Path, Path], monkeypatch) -> None:
    path, out = analysed
    before, csv_before = _sha(path), _sha(out)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(h5py.Group, "copy", broken)
    with pytest.raises(StoreError, match="the earlier analysis is kept"):
        analyze(path, metrics=["powerlaw"], csv_path=out)
    assert _sha(path) == before and _sha(out) == csv_before
    monkeypatch.undo()
    with h5py.File(path, "r") as f:
        assert set(f) == {"analysis", "config", "data", "runs"}


def test_an_interrupted_swap_is_recovered(analysed: tuple[Path, Path]) -> None:
    path, _ = analysed
    old = read_analysis(path).records()
    with h5py.File(path, "r+") as f:  # killed between renaming the old group and renaming the new one
        f.move("analysis", results.OLD_GROUP)
        f.create_group(results.TMP_GROUP)
    assert read_analysis(path).records() == old  # readable as it is
    with h5py.File(path, "r+") as f:
        results.recover(f)
        assert "analysis" in f and results.OLD_GROUP not in f and results.TMP_GROUP not in f
    assert read_analysis(path).records() == old
    with h5py.File(path, "r+") as f:  # a stale temporary group from a crash is dropped by the next analysis
        f.create_group(results.TMP_GROUP)
    analyze(path, metrics=["norms"])
    with h5py.File(path, "r") as f:
        assert results.TMP_GROUP not in f and set(f["analysis/runs/0000"]) == {"norms"}


def test_a_file_replaced_during_the_analysis_is_not_written(analysed: tuple[Path, Path], source: Path) -> None:
    path, out = analysed
    csv_before = _sha(out)
    replacement = path.with_name("new.h5")
    shutil.copy(source, replacement)
    new_bytes = _sha(replacement)

    def progress(k: int) -> None:  # e.g. htdyn run --overwrite renaming its finished file over the path
        if replacement.exists():
            os.replace(replacement, path)

    with pytest.raises(StoreError, match="was replaced while it was being analysed"):
        analyze(path, metrics=["norms"], csv_path=out, progress=progress)
    assert _sha(path) == new_bytes and _sha(out) == csv_before


# ---------------------------------------------------------------- --csv


def test_csv_onto_a_directory_fails_first(analysed: tuple[Path, Path], tmp_path: Path) -> None:
    path, _ = analysed
    before = _sha(path)
    d = tmp_path / "adir"
    d.mkdir()
    one_line_error(_cli("analyze", str(path), "-q", "--csv", str(d)), "is a directory", str(d))
    one_line_error(_cli("analyze", str(path), "-q", "--csv", str(path)), "trajectory file itself")
    (tmp_path / "afile").write_text("x")
    one_line_error(_cli("analyze", str(path), "-q", "--csv", str(tmp_path / "afile" / "x.csv")), "not a directory")
    assert _sha(path) == before


def test_csv_into_missing_directories_creates_them(analysed: tuple[Path, Path], tmp_path: Path) -> None:
    path, _ = analysed
    out = tmp_path / "new" / "deeper" / "a.csv"
    r = _cli("analyze", str(path), "-q", "--metrics", "norms", "--csv", str(out))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert len(list(csv.DictReader(out.open()))) == 2 * (STEPS + 1)


# ---------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs (needs root); skipped where it cannot be mounted."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True)
    except FileNotFoundError:
        pytest.skip("no mount command")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(disk: Path, leave: int = 0) -> None:
    """Fill the disk with a file, leaving about ``leave`` bytes free."""
    free = shutil.disk_usage(disk).free
    with open(disk / "fill", "wb") as fh:
        try:
            fh.write(b"\0" * max(free - leave, 0))
        except OSError:
            pass


def _snapshots_intact(path: Path, source: Path) -> None:
    with htdyn.open(path) as tr, htdyn.open(source) as ref:
        assert tr.status == "complete"
        for run, r0 in zip(tr.runs, ref.runs):
            assert list(run.steps) == list(r0.steps)
            for t in run.steps:
                np.testing.assert_array_equal(run.W(t), r0.W(t))


def test_full_disk_is_one_line_and_loses_nothing(analysed: tuple[Path, Path], source: Path,
                                                 small_disk: Path) -> None:
    path, out = small_disk / "t.h5", small_disk / "t.analysis.csv"
    shutil.copy(analysed[0], path)
    shutil.copy(analysed[1], out)
    before, csv_before = _sha(path), _sha(out)
    _fill(small_disk)
    r = _cli("analyze", str(path), "-q")
    assert r.returncode >= 0, f"killed by signal {-r.returncode}"
    one_line_error(r, "free", "disk")
    assert _sha(path) == before and _sha(out) == csv_before
    _snapshots_intact(path, source)


def test_disk_filling_during_the_write_keeps_the_file(analysed: tuple[Path, Path], source: Path,
                                                      small_disk: Path, monkeypatch) -> None:
    """Space that goes between the check up front and the write (another process) is found by the
    reservation before HDF5 writes a byte: one error, the file and the earlier analysis as they were."""
    path, out = small_disk / "t.h5", small_disk / "t.analysis.csv"
    shutil.copy(analysed[0], path)
    shutil.copy(analysed[1], out)
    before, csv_before = _sha(path), _sha(out)
    old = read_analysis(path).records()
    monkeypatch.setattr(results, "check_space", lambda needs: None)  # the disk fills after the check
    _fill(small_disk, leave=24 * 1024)  # room for the CSV, not for the HDF5 group
    with pytest.raises(StoreError, match="No space left on device.*unchanged"):
        analyze(path, csv_path=out)
    assert _sha(path) == before and _sha(out) == csv_before
    assert sorted(os.listdir(small_disk)) == ["fill", "t.analysis.csv", "t.h5"]
    assert read_analysis(path).records() == old
    _snapshots_intact(path, source)


def test_the_reservation_is_released(source: Path, tmp_path: Path, small_disk: Path) -> None:
    """An analysis on the small disk leaves a file of the same size as one on a roomy disk."""
    a, b = small_disk / "t.h5", tmp_path / "t.h5"
    shutil.copy(source, a)
    shutil.copy(source, b)
    analyze(a, metrics=["norms", "mp"])
    analyze(b, metrics=["norms", "mp"])
    assert os.path.getsize(a) == os.path.getsize(b)
    _snapshots_intact(a, source)


# ---------------------------------------------------------------- non-finite snapshots


@pytest.fixture
def poisoned(source: Path, tmp_path: Path) -> Path:
    """Run 0's W_1 holds a NaN, run 1's W_2 an inf."""
    p = tmp_path / "bad.h5"
    shutil.copy(source, p)
    with h5py.File(p, "r+") as f:
        for key, i, v in (("0000", 1, np.nan), ("0001", 2, np.inf)):
            W = f[f"runs/{key}/W"][i]
            W[3, 4] = v
            f[f"runs/{key}/W"][i] = W
    return p


def test_non_finite_snapshot_gets_nan_and_its_phase(poisoned: Path, source: Path) -> None:
    res = analyze(poisoned, metrics=["all"])
    clean = analyze(source, metrics=["all"], write=False)
    bad = {(0, 1), (1, 2)}
    # the update of step t involves W_t and W_{t+1}; drift and the W-only sets involve W_t only
    touched = {"update": bad | {(0, 0), (1, 1)}}
    ref = {(r["run"], r["step"], r["set"]): r for r in clean.rows}
    for r in res.rows:
        key = (r["run"], r["step"])
        nums = {k: v for k, v in r.items() if k not in ("run", "label", "optimizer", "lr", "seed", "step", "set")}
        if key in touched.get(r["set"], bad):
            if r["set"] == "phase":
                assert PHASES[int(r["phase"])] == NON_FINITE
            else:
                assert all(np.all(np.isnan(v)) for v in nums.values()), (key, r["set"])
        else:  # the others are analysed as in the clean file
            for k, v in nums.items():
                np.testing.assert_array_equal(v, ref[(*key, r["set"])][k], err_msg=f"{key} {r['set']} {k}")
    recs = {(r["run"], r["step"]): r for r in read_analysis(poisoned).records()}
    assert recs[(0, 1)]["phase"] == recs[(1, 2)]["phase"] == NON_FINITE
    assert math.isnan(recs[(0, 1)]["alpha_hill"]) and math.isnan(recs[(0, 0)]["update_fro"])
    assert recs[(0, 2)]["phase"] in PHASES[:-1] and math.isfinite(recs[(0, 2)]["alpha_hill"])


def test_non_finite_first_snapshot_makes_drift_nan(source: Path, tmp_path: Path) -> None:
    p = tmp_path / "w0.h5"
    shutil.copy(source, p)
    with h5py.File(p, "r+") as f:
        W = f["runs/0000/W"][0]
        W[0, 0] = np.nan
        f["runs/0000/W"][0] = W
    res = analyze(p, metrics=["drift"], write=False)
    drift = {(r["run"], r["step"]): r["drift_overlap_top10"] for r in res.rows}
    assert all(math.isnan(v) for (run, _), v in drift.items() if run == 0)
    assert all(math.isfinite(v) for (run, _), v in drift.items() if run == 1)


def test_cli_non_finite_snapshot(poisoned: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad.csv"
    r = _cli("analyze", str(poisoned), "-q", "--csv", str(out))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    rows = {(int(x["run"]), int(x["step"])): x for x in csv.DictReader(out.open())}
    assert len(rows) == 2 * (STEPS + 1)
    assert rows[(0, 1)]["phase"] == NON_FINITE and rows[(0, 1)]["alpha_hill"] == "NaN"
    assert rows[(0, 2)]["phase"] in PHASES[:-1] and rows[(0, 2)]["alpha_hill"] not in ("", "NaN")


# --------------------------------------------------------------------------- unreadable files, said as they are


@pytest.mark.parametrize("kind, words", [
    ("empty", ("empty (0 bytes)",)),
    ("truncated", ("truncated", "bytes")),
    ("garbage", ("not an HDF5 file",)),
    ("h5", ("not an htdyn trajectory",)),
])
def test_unreadable_files_are_named_as_they_are_and_left_unchanged(source: Path, tmp_path: Path, kind: str,
                                                                   words: tuple) -> None:
    """A truncated or corrupt file is not "locked by another process"; analyze refuses it read-only (bytes kept)."""
    p = tmp_path / f"{kind}.h5"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "truncated":
        p.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    elif kind == "garbage":
        p.write_bytes(b"not hdf5 at all " * 64)
    else:
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(3)
    before = p.read_bytes()
    for args in (("info", str(p)), ("analyze", str(p), "-q"), ("plot", str(p), "--kind", "esd")):
        r = _cli(*args)
        one_line_error(r, *words)
        assert "lock" not in r.stderr, r.stderr
        assert p.read_bytes() == before, args
    with pytest.raises(StoreError, match=words[0].split(" (")[0]):
        analyze(p, csv_path=tmp_path / "x.csv")
    assert p.read_bytes() == before
    assert not (tmp_path / "x.csv").exists()


def test_a_file_held_open_by_another_process_is_said_to_be_held(source: Path, tmp_path: Path) -> None:
    """A file some other program has open for writing (HDF5's lock taken, no htdyn writer): read, not changed."""
    import sys
    import time

    p = tmp_path / "held.h5"
    shutil.copy(source, p)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, h5py\nf = h5py.File(sys.argv[1], 'r+')\n"
                               "print('open', flush=True)\ntime.sleep(60)", str(p)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        time.sleep(0.2)
        before = p.read_bytes()
        r = _cli("analyze", str(p), "-q")
        one_line_error(r, "being written by another process")
        assert p.read_bytes() == before
        r = _cli("info", str(p))  # its flushed state can be read
        assert r.returncode == 0, r.stderr
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()

"""htdyn.io.batchscan (what a sweep index reads from a batch file) and htdyn.io.atomic (one
atomic-write helper), against files written by the trajectory writer and by hand."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import h5py
import pytest
from sweeptools import run_spec, spec_text

from htdyn.errors import StoreError
from htdyn.io.atomic import temp_beside, write_atomic, write_bytes_atomic, write_text_atomic
from htdyn.io.batchscan import scan_batch_file
from htdyn.io.diskspace import is_disk_full
from htdyn.io.reader import Trajectory
from htdyn.io.runid import run_id
from htdyn.sweep.spec import run_context


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    return run_spec(tmp_path_factory.mktemp("scan"), spec_text(repeats=1))


def test_a_complete_batch_file_gives_the_writers_configs(sweep_dir):
    files = sorted((sweep_dir / "batches").glob("*.h5"))
    assert files
    ids = []
    for path in files:
        scan = scan_batch_file(path)
        with Trajectory(path) as traj:
            assert scan.config == traj.config
            assert sorted(scan.runs, key=lambda r: r[1]) == [(r.config, r.index) for r in traj.runs]
        assert scan_batch_file(path, checkpointed=True) is None  # complete: nothing to resume
        ids += [run_id(cfg, run_context(scan.config)) for cfg, _ in scan.runs]
    assert sorted(ids) == sorted(json.loads((sweep_dir / "sweep.json").read_text())["run_ids"])


def test_an_unfinished_file_counts_only_with_a_checkpoint(sweep_dir, tmp_path):
    path = tmp_path / "b.partial.h5"
    shutil.copy(next((sweep_dir / "batches").glob("*.h5")), path)
    with h5py.File(path, "a") as f:
        f.attrs["status"] = "interrupted"
    assert scan_batch_file(path) is None and scan_batch_file(path, checkpointed=True) is None
    with h5py.File(path, "a") as f:
        f.create_group("checkpoints")
    scan = scan_batch_file(path, checkpointed=True)
    assert scan is not None and len(scan.runs) == 3 and scan_batch_file(path) is None


def test_what_is_not_a_batch_file_is_none(tmp_path):
    (tmp_path / "text.h5").write_text("not HDF5")
    with h5py.File(tmp_path / "bare.h5", "w") as f:
        f.attrs["status"] = "complete"  # complete, but no config
    for name in ("text.h5", "bare.h5", "missing.h5"):
        assert scan_batch_file(tmp_path / name) is None


def test_write_atomic_replaces_whole(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("old")
    assert write_text_atomic(p, "new\r\n") == p and p.read_bytes() == b"new\r\n"
    assert sorted(tmp_path.iterdir()) == [p]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("old")

    def full(tmp):
        Path(tmp).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StoreError, match=r"cannot write .*a\.csv' \(No space left on device\); it is unchanged") as e:
        write_atomic(p, full)
    assert is_disk_full(e.value) and p.read_text() == "old" and sorted(tmp_path.iterdir()) == [p]

    def stop(tmp):
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(p, stop)
    assert p.read_text() == "old" and sorted(tmp_path.iterdir()) == [p]


def test_commit_false_leaves_the_rename_to_the_caller(tmp_path):
    p = tmp_path / "a.csv"
    tmp = write_text_atomic(p, "x", commit=False)
    assert tmp == temp_beside(p) and tmp.parent == tmp_path and tmp.read_text() == "x" and not p.exists()


def test_bytes_go_through_the_given_temporary_name(tmp_path, monkeypatch):
    import numpy as np

    p, part = tmp_path / "b.h5", tmp_path / "b.partial.h5"
    seen = []
    real = write_atomic.__globals__["os"].replace
    monkeypatch.setattr("htdyn.io.atomic.os.replace", lambda a, b: (seen.append(Path(a)), real(a, b)))
    write_bytes_atomic(p, np.arange(5, dtype=np.uint8), tmp=part)
    assert seen == [part] and p.read_bytes() == bytes(range(5)) and not part.exists()


def _outside_io(found_in) -> list[str]:
    """``path:line`` of every node that ``found_in(node)`` flags in a module outside htdyn/io."""
    import ast

    import htdyn

    root = Path(htdyn.__file__).parent
    return [f"{path.relative_to(root)}:{node.lineno}" for path in sorted(root.rglob("*.py"))
            if path.relative_to(root).parts[0] != "io"
            for node in ast.walk(ast.parse(path.read_text())) if found_in(node)]


def _imports_h5py(node) -> bool:
    import ast

    names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
        [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
    return any(n.split(".")[0] == "h5py" for n in names)


def _writer_file(node) -> bool:
    import ast

    return isinstance(node, ast.Attribute) and node.attr == "f" and isinstance(node.value, ast.Attribute) \
        and node.value.attr == "writer"


def test_no_module_outside_io_imports_h5py():
    found = _outside_io(_imports_h5py)
    assert found == [], f"h5py imported outside htdyn/io: {found}"


def test_no_module_outside_io_reaches_into_a_writers_hdf5_file():
    """Producers call the writer's methods (checkpoints, finished runs, is_open), never ``writer.f``."""
    found = _outside_io(_writer_file)
    assert found == [], f"a writer's h5py file used outside htdyn/io: {found}"


def test_the_checks_see_what_they_look_for():
    import ast

    tree = ast.parse("import h5py\nfrom h5py import File\nx = self.writer.f['runs']\ny = self.f\n")
    assert sum(map(_imports_h5py, ast.walk(tree))) == 2 and sum(map(_writer_file, ast.walk(tree))) == 1

"""A sweep's numbers do not depend on how it was run: one process, worker processes, Ray.

Every executor runs a batch through ``execute_batch`` with the sweep's ``threads``
(default 1) BLAS/OpenMP/torch threads.  The model is large enough that OpenBLAS splits the
evaluation's products over its threads, so 1 and 2 threads give other last bits (checked
first: otherwise the equality below could not fail).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from sweeptools import run_spec, sorted_table

import htdyn
from htdyn.blas import fixed_threads, thread_counts
from htdyn.config import from_dict

ROOT = str(Path(htdyn.__file__).resolve().parents[1])

MODEL = {"n": 256, "d": 128, "h": 192, "n_test": 16}

SPEC = """
name = "threads"
steps = 3
[model]
n = 256
d = 128
h = 192
n_test = 16
[optimizer]
name = "adam"
[sweep]
repeats = 1
max_batch = 2
"optimizer.name" = ["gd", "adam"]
"optimizer.lr" = [0.5, 5.0]
"""


def test_the_thread_count_changes_the_last_bits_at_this_size() -> None:
    raw = {"steps": 2, "model": MODEL, "optimizer": {"name": "adam", "lr": 1.0}, "eval": {"metrics": ["norms"]}}
    res = {}
    for t in (1, 2):
        with fixed_threads(t):
            assert {lib["threads"] for lib in thread_counts()["libraries"]} == {t}
            res[t] = htdyn.simulate(from_dict(raw), path=False).runs[0]
    assert not np.array_equal(res[1].eval["probe_loss"], res[2].eval["probe_loss"])
    np.testing.assert_allclose(res[1].eval["probe_loss"], res[2].eval["probe_loss"], rtol=1e-5)


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    return run_spec(tmp_path_factory.mktemp("serial"), SPEC, "serial")


def test_every_file_records_its_thread_counts(serial: Path) -> None:
    for r in htdyn.open_sweep(serial).runs:
        with h5py.File(r.file, "r") as f:
            rec = json.loads(f.attrs["threads_json"])
        assert rec["libraries"] and {lib["threads"] for lib in rec["libraries"]} == {1}
        assert all(lib["api"] for lib in rec["libraries"])


def test_two_workers_give_the_serial_table_bit_for_bit(serial: Path, tmp_path: Path) -> None:
    pool = run_spec(tmp_path, SPEC, "pool", workers=2)
    a, b = sorted_table(serial), sorted_table(pool)
    assert len(a) == 8
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_ray_gives_the_serial_table_bit_for_bit(serial: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": ROOT}})
    try:
        out = run_spec(tmp_path, SPEC, "ray", "ray")
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(sorted_table(serial), sorted_table(out), check_exact=True)


def test_threads_is_a_checked_sweep_setting(tmp_path: Path) -> None:
    from htdyn.errors import ConfigError
    from htdyn.sweep.spec import spec_from_dict

    raw = {"model": MODEL, "sweep": {"optimizer.lr": [0.1], "threads": 2}}
    assert spec_from_dict(raw).threads == 2
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="sweep.threads"):
            spec_from_dict({**raw, "sweep": {"optimizer.lr": [0.1], "threads": bad}})

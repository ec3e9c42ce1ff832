"""Sweeps that train (tiny sizes): pairing, a sweep run equals `htdyn run` alone, divergence, failures, tables."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from clitools import HTDYN, cli, needs_htdyn, ok, one_line_error, write_config
from sweeptools import run_spec, spec_text

import htdyn
from htdyn.sweep.driver import make_executor, prepare, run_sweep
from htdyn.sweep.spec import load_spec


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("full")
    text = spec_text(store="full") + '\n[snapshots]\nat = "first_last"\n'
    return run_spec(tmp, text)


def test_pairing_within_a_repeat_and_not_across(full):
    sw = htdyn.open_sweep(full)
    assert sw.counts()["done"] == 12
    seen: dict[int, tuple] = {}
    for r in sw.runs:
        with sw.trajectory(r) as (_, run):
            data = run.data()
            W0 = run.W(0)
            assert run.config["seed"] == r.repeat
        if r.repeat not in seen:
            seen[r.repeat] = (data, W0)
            continue
        d0, w0 = seen[r.repeat]
        np.testing.assert_array_equal(W0, w0)
        for k in ("beta", "X", "y", "X_test"):
            np.testing.assert_array_equal(data[k], d0[k])
    (d0, w0), (d1, w1) = seen[0], seen[1]
    assert not np.array_equal(w0, w1) and not np.array_equal(d0["X"], d1["X"])
    assert not np.array_equal(d0["beta"], d1["beta"])


@needs_htdyn
def test_a_sweep_run_equals_the_same_run_alone(full, tmp_path):
    """`htdyn run` of a sweep run's config gives the same arrays, bitwise (CPU, same dtype)."""
    sw = htdyn.open_sweep(full)
    r = next(x for x in sw.runs if x.repeat == 1 and x.point == {"optimizer.name": "adam", "optimizer.lr": 0.5})
    base = (spec_text(store="full").split("[sweep]")[0] + '\n[snapshots]\nat = "first_last"\n'
            '[eval]\nmetrics = ["esd", "norms", "powerlaw", "mp", "phase", "teacher"]\n')
    cfg = tmp_path / "alone.toml"
    cfg.write_text(base)
    alone = tmp_path / "alone.h5"
    ok(cli("run", cfg, "-o", alone, "-q", "--set", "optimizer.name=adam", "--set", "optimizer.lr=0.5",
           "--set", "seed=1", columns=80))
    with sw.trajectory(r) as (_, a), htdyn.open(alone) as t:
        b = t.runs[0]
        assert a.config == b.config
        for step in (0, 3):
            np.testing.assert_array_equal(a.W(step), b.W(step))
        np.testing.assert_array_equal(a.loss, b.loss)
        for k in b.eval:
            np.testing.assert_array_equal(a.eval[k], b.eval[k])
        for k in b.metrics:
            np.testing.assert_array_equal(a.metrics[k], b.metrics[k])


def test_table_matches_the_files_read_with_h5py(full):
    sw = htdyn.open_sweep(full)
    df = sw.table()
    assert len(df) == 12 * 2 and list(df.columns[:6]) == ["run_id", "repeat", "optimizer.name", "optimizer.lr",
                                                           "steps", "step"]
    for r in sw.runs:
        with h5py.File(r.file, "r") as f:
            g = f["runs"][f"{r.index:04d}"]
            probe = g["eval/probe_loss"][()]
            esd = g["metrics/esd"][()]
            alpha = g["metrics/alpha_hill"][()]
        rows = df[df.run_id == r.id].sort_values("step")
        np.testing.assert_array_equal(rows.probe_loss.to_numpy(), probe)
        np.testing.assert_array_equal(rows.alpha_hill.to_numpy(), alpha)
        np.testing.assert_allclose(rows.sigma_1.to_numpy(), np.sqrt(esd.max(axis=1)), rtol=1e-15)
    summ = sw.summary()
    assert len(summ) == 6 and (summ.runs == 2).all()
    one = summ[(summ["optimizer.name"] == "adam") & (summ["optimizer.lr"] == 0.5)].iloc[0]
    last = df[(df["optimizer.name"] == "adam") & (df["optimizer.lr"] == 0.5) & (df.step == 3)]
    assert one.probe_loss_mean == pytest.approx(np.mean(last.probe_loss), rel=1e-14)
    assert one.probe_loss_std == pytest.approx(np.std(last.probe_loss, ddof=1), rel=1e-12)


def test_to_xarray_has_the_axes_repeat_and_step(full):
    pytest.importorskip("xarray")
    ds = htdyn.open_sweep(full).to_xarray()
    assert ds.probe_loss.dims == ("optimizer.name", "optimizer.lr", "repeat", "step")
    assert list(ds["optimizer.name"].values) == ["gd", "adam"] and list(ds.step.values) == [0, 3]
    df = htdyn.open_sweep(full).table()
    row = df[(df["optimizer.name"] == "adam") & (df["optimizer.lr"] == 5.0) & (df.repeat == 1) & (df.step == 3)]
    assert float(ds.probe_loss.sel({"optimizer.name": "adam", "optimizer.lr": 5.0, "repeat": 1, "step": 3})) \
        == float(row.probe_loss.iloc[0])


def test_zip_group_is_one_xarray_dim(tmp_path):
    pytest.importorskip("xarray")
    text = spec_text(store="scalars").replace('"optimizer.name" = ["gd", "adam"]',
                                                '"model.h" = [24, 32, 40]\nzip = ["model.h", "optimizer.lr"]')
    out = run_spec(tmp_path, text.replace("repeats = 2", "repeats = 1"))
    sw = htdyn.open_sweep(out)
    assert sw.counts()["done"] == 3 and "sigma_1" not in sw.table()  # scalars: no ESD stored
    ds = sw.to_xarray()
    assert ds.probe_loss.dims == ("zip0", "repeat", "step")
    assert list(ds["model.h"].values) == [24, 32, 40] and list(ds["optimizer.lr"].values) == [0.05, 0.5, 5.0]


def test_a_diverged_run_is_a_result(tmp_path):
    text = spec_text(store="scalars").replace('"optimizer.lr" = [0.05, 0.5, 5.0]', '"optimizer.lr" = [0.1, 1e300]')
    out = run_spec(tmp_path, text.replace('"optimizer.name" = ["gd", "adam"]', '"optimizer.name" = ["gd"]'))
    sw = htdyn.open_sweep(out)
    assert sw.counts() == {"done": 4, "running": 0, "failed": 0, "pending": 0}
    s = sw.summary()
    assert list(s.diverged) == [0, 2]


def test_a_failed_batch_is_recorded_and_rerun(tmp_path, monkeypatch):
    import htdyn.sweep.local as local

    real = local.execute_batch
    calls = {"n": 0}

    def flaky(sim, dest, progress=None, threads=1):
        calls["n"] += 1
        if calls["n"] == 2:
            return {"ok": False, "error": "MemoryError: out of memory (injected)", "runs": len(sim.runs)}
        return real(sim, dest, progress, threads)

    monkeypatch.setattr(local, "execute_batch", flaky)
    text = spec_text(store="scalars")
    out = run_spec(tmp_path, text)
    sw = htdyn.open_sweep(out)
    assert sw.counts() == {"done": 9, "running": 0, "failed": 3, "pending": 0}
    assert {r.error for r in sw.runs if r.state == "failed"} == {"MemoryError: out of memory (injected)"}
    if HTDYN is not None:
        p = ok(cli("sweep", "status", out))
        assert "3 failed" in p.stdout and "injected" in p.stdout, p.stdout
    monkeypatch.setattr(local, "execute_batch", real)
    run_sweep(prepare(load_spec(tmp_path / "out.toml"), out), make_executor("local"))
    assert htdyn.open_sweep(out).counts()["done"] == 12


def test_manifest_records_design_and_seed_derivation(full):
    m = json.loads((full / "sweep.json").read_text())
    assert m["design"]["seed_derivation"] == "offset-v1" and m["design"]["repeats"] == 2
    assert len(m["run_ids"]) == 12


def test_ray_executor_equals_the_local_one(tmp_path):
    """A local Ray runtime with 2 CPUs, results through the shared directory: the same numbers as local."""
    ray = pytest.importorskip("ray")
    text = spec_text(store="spectra")
    local_out = run_spec(tmp_path, text, "local")
    try:
        ray_out = run_spec(tmp_path, text, "rayrun", executor="ray", num_cpus=2)
    finally:
        ray.shutdown()
    a = htdyn.open_sweep(local_out).table().sort_values(["run_id", "step"]).reset_index(drop=True)
    b = htdyn.open_sweep(ray_out).table().sort_values(["run_id", "step"]).reset_index(drop=True)
    assert len(a) == 24
    import pandas as pd

    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_kta_from_an_offline_analysis_of_full_snapshots(tmp_path):
    from htdyn.analysis.offline import analyze, read_analysis

    text = spec_text(store="full").replace("repeats = 2", "repeats = 1") + '\n[snapshots]\nat = "first_last"\n'
    out = run_spec(tmp_path, text)
    sw = htdyn.open_sweep(out)
    assert "kta" not in sw.table()
    files = sorted({r.file for r in sw.runs})
    for f in files:
        analyze(f, metrics=["features"], csv_path=None)
    sw = htdyn.open_sweep(out)
    assert sw.counts()["done"] == 6  # the analysed files are still recognised as done
    df = sw.table()
    r = sw.runs[4]
    want = {(row["run"], row["step"]): row["kta"] for row in read_analysis(r.file).rows if row["set"] == "features"}
    got = df[df.run_id == r.id].set_index("step").kta
    assert got.loc[3] == want[(r.index, 3)] and got.loc[0] == want[(r.index, 0)]
    assert "kta_mean" in sw.summary()


def test_plot_and_report_read_a_sweep_directory(tmp_path) -> None:
    """`htdyn plot DIR --kind sweep` and `htdyn report DIR` draw from the sweep's table; every link exists."""
    import re

    spec = write_config(tmp_path / "s.toml", name="s", steps=2, optimizer="adam",
                        extra='[sweep]\n"optimizer.lr" = [0.01, 0.1, 1.0]\nrepeats = 2')
    root = tmp_path / "sw"
    ok(cli("sweep", spec, "-o", root, "-q", columns=80))
    ok(cli("plot", root, "--kind", "sweep", columns=80))
    assert (root / "sweep.png").stat().st_size > 10_000 and (root / "sweep.pdf").exists()
    one_line_error(cli("plot", root, "--kind", "esd", columns=80), "sweep directory")
    ok(cli("report", root, columns=80))
    index = root / "report" / "index.html"
    links = set(re.findall(r"(?:href|src)='([^'#][^']*)'", index.read_text()))  # files, not the contents' anchors
    assert {"sweep_panel.png", "sweep_phase_diagram.png"} <= links
    assert all((index.parent / link).exists() for link in links)


def test_a_steps_axis_is_one_column_and_summarises(tmp_path):
    """`steps` as an axis: one `steps` column (it used to appear twice and break summary())."""
    text = spec_text(store="scalars").replace('"optimizer.name" = ["gd", "adam"]', "steps = [2, 3]")
    sw = htdyn.open_sweep(run_spec(tmp_path, text))
    df = sw.table()
    assert list(df.columns).count("steps") == 1
    assert sorted(df.groupby("steps")["step"].max().tolist()) == [2, 3]
    s = sw.summary(by=["steps"])
    assert s["steps"].tolist() == [2, 3] and s["runs"].tolist() == [6, 6]


def test_a_directory_made_with_older_store_sets_resumes_with_them(tmp_path):
    """The store's metric sets are part of each run's id: a directory made by a release whose
    'spectra' lacked 'top' (its sweep.json records no sets) is resumed with its own sets, not rerun."""
    import json

    from htdyn.sweep.spec import PAST_STORE_MODES, spec_from_dict

    text = spec_text(store="spectra").replace("repeats = 2", "repeats = 1")
    path = tmp_path / "s.toml"
    path.write_text(text)
    new = load_spec(path)
    old_sets = PAST_STORE_MODES["spectra"][0]
    old = spec_from_dict(new.raw, store_sets=old_sets)
    assert not {r.id for r in old.runs} & {r.id for r in new.runs}  # the ids really differ
    out = tmp_path / "out"
    run_sweep(prepare(old, out), make_executor("local"))
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["store_sets"] == list(old_sets)
    for recorded in (True, False):  # this release's sweep.json, and an older one without the key
        if not recorded:
            manifest.pop("store_sets")
            (out / "sweep.json").write_text(json.dumps(manifest))
        prep = prepare(load_spec(path), out)
        assert prep.pending == [] and len(prep.done) == 6
        assert prep.spec.store_sets == old_sets and "kept the metric sets" in prep.note and "top" in prep.note
    # a new directory gets this release's sets
    assert prepare(load_spec(path), tmp_path / "fresh").spec.store_sets == new.store_sets
    if HTDYN is not None:  # the command says which sets it kept, and trains nothing
        files = sorted(p.name for p in (out / "batches").iterdir())
        r = ok(cli("sweep", path, "-o", out, "-q"))
        assert "kept the metric sets" in r.stderr and "also keeps top" in r.stderr, r.stderr
        assert htdyn.open_sweep(out).counts()["done"] == 6
        assert sorted(p.name for p in (out / "batches").iterdir()) == files


def test_a_changed_store_is_not_undone_by_the_directory_sets(tmp_path):
    """Adopting a directory's sets is for a release's drift only: a user's new store is the user's."""
    text = spec_text(store="spectra").replace("repeats = 2", "repeats = 1")
    path = tmp_path / "s.toml"
    path.write_text(text)
    out = tmp_path / "out"
    run_sweep(prepare(load_spec(path), out), make_executor("local"))
    path.write_text(text.replace('store = "spectra"', 'store = "scalars"'))
    spec = load_spec(path)
    prep = prepare(spec, out, force=True)
    assert prep.note is None and prep.spec.store_sets == spec.store_sets
    assert len(prep.pending) == 6  # scalars runs are other runs


def test_status_shows_a_batch_running_while_its_driver_lives(tmp_path):
    """A batch sent by a live driver is running even with no file in DIR (Ray object-store batches);
    once the driver is gone it is pending again, and a new driver starts with no stale marks."""
    from htdyn.sweep.index import SweepDir

    path = tmp_path / "s.toml"
    path.write_text(spec_text(store="scalars").replace("repeats = 2", "repeats = 1"))
    spec = load_spec(path)
    prep = prepare(spec, tmp_path / "out")
    ids = [r.id for r in prep.batches[0].runs]
    sd = prep.dir.lock()
    try:
        sd.write_manifest(spec)
        sd.mark_running(prep.batches[0].name, ids)
        assert {SweepDir(tmp_path / "out").states(ids)[i].state for i in ids} == {"running"}
    finally:
        sd.unlock()
    assert {SweepDir(tmp_path / "out").states(ids)[i].state for i in ids} == {"pending"}

    class Nothing:
        def run(self, sd, spec, batches, events):
            assert sd.index["running"] == {}

    run_sweep(prepare(spec, tmp_path / "out"), Nothing())

"""A watched file through the installed ``htdyn`` command: info, analyze, plot and report name layers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import clitools
import numpy as np
import pytest
from clitools import needs_htdyn

import htdyn

torch = pytest.importorskip("torch")
pytestmark = needs_htdyn


def cli(*args: str) -> subprocess.CompletedProcess:
    return clitools.cli(*args, columns=100)


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("watch") / "net.h5"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(12, 40), torch.nn.ReLU(), torch.nn.Linear(40, 30))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.randn(64, 12), torch.randn(64, 30)
    with htdyn.watch(model, path, every=2, store="spectra", name="net") as w:
        for _ in range(6):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            w.step(loss=loss)
    return path


def test_info_names_layers_and_what_is_absent(watched: Path) -> None:
    r = cli("info", str(watched))
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "2 layer(s)" in text and "format v2" in text and "[30, 40]" in text
    assert "layers of a watched model: no teacher, data or probe set, evaluations, optimizer state" in text


def test_analyze_a_spectra_file_from_its_recorded_metrics(watched: Path) -> None:
    r = cli("analyze", str(watched))
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "no teacher or probe set: sets teacher skipped" in text
    assert "no W stored (watch store='spectra')" in text
    from htdyn.analysis.offline import read_analysis

    res = read_analysis(watched)
    with htdyn.open(watched) as traj:
        rec = traj.runs[1].metrics
    rows = [r for r in res.rows if r["run"] == 1 and r["set"] == "powerlaw"]
    assert [r["step"] for r in rows] == [0, 2, 4, 6]
    np.testing.assert_array_equal([r["alpha_hill"] for r in rows], rec["alpha_hill"])
    assert {r["label"] for r in res.rows} == {"0", "2"}


def test_plot_evolution_of_a_layer_without_analysis(tmp_path: Path, watched: Path) -> None:
    copy = tmp_path / "c.h5"
    shutil.copy(watched, copy)
    r = cli("plot", str(copy), "--kind", "evolution", "--run", "1")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c_evolution_run1.png").exists()
    r = cli("plot", str(copy), "--kind", "overlaps", "--run", "1")
    assert r.returncode == 2 and "store='full'" in r.stdout + r.stderr

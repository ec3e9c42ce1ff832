"""Tables say what was swept and fit 80 columns; progress is plain lines off a terminal.

The CLI checks run the installed ``htdyn`` command with COLUMNS=80 and its output piped
(what a CI log gets); the values a row must show are read back from the trajectory file.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import clitools
import pytest
from clitools import htdyn_command, needs_htdyn, ok, tiny_config
from rich.console import Console

import htdyn
from htdyn.analysis.registry import PHASES
from htdyn.cli.progress import PlainProgress, progress
from htdyn.cli.tables import RunTable, config_grid, short_names
from htdyn.runkeys import flatten

GRID = tiny_config(name="grid", steps=2, optimizer="adam", lr=0.1, extra="""
[grid]
"model.noise_std" = [0.1, 0.5]
"model.activation" = ["tanh", "relu"]
""")

WIDE = GRID + """"model.teacher" = ["softplus", "linear"]
"model.init_scale" = [1.0, 0.5]
"optimizer.weight_decay" = [0.0, 0.001]
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    """The command at 80 columns, piped (what a CI log gets); it must succeed."""
    return ok(clitools.cli(*args, columns=80))


def assert_fits(text: str, width: int = 80) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert not long, long


def row_of(text: str, run: int) -> list[str]:
    """The words of the first table line that starts with the run index."""
    for line in text.splitlines():
        words = line.split()
        if words and words[0] == str(run):
            return words
    raise AssertionError(f"no row for run {run} in:\n{text}")


def swept_values(path: Path) -> dict[int, list[str]]:
    """Each run's noise_std and activation, read from the file (not from any table)."""
    with htdyn.open(path) as traj:
        return {r.index: [f"{r.config['model']['noise_std']:.4g}", r.config["model"]["activation"]]
                for r in traj.runs}


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    d = tmp_path_factory.mktemp("grid")
    (d / "grid.toml").write_text(GRID)
    out = d / "grid.h5"
    htdyn_command()
    r = cli("run", str(d / "grid.toml"), "-o", str(out))
    return out, r.stdout


@needs_htdyn
def test_run_table_shows_the_swept_keys(grid_file: tuple[Path, str]) -> None:
    path, text = grid_file
    assert_fits(text)
    assert "noise_std" in text and "activation" in text and "model.noise_std" in text
    assert "adam" in text and "lr=0.1" in text  # not swept: said once
    values = swept_values(path)
    assert len({tuple(v) for v in values.values()}) == 4
    for run, (noise, act) in values.items():
        words = row_of(text, run)
        assert words[1:3] == [noise, act], words


@needs_htdyn
def test_info_shows_shared_config_and_swept_keys(grid_file: tuple[Path, str]) -> None:
    path, _ = grid_file
    text = cli("info", str(path)).stdout
    assert_fits(text)
    config_part = text[text.index("config"):]
    for word in ("n=64", "d=16", "h=24", "n_test=16", "steps=2", "name=adam", "lr=0.1", "ridge_lambda=0.01"):
        assert word in config_part, word
    assert "noise_std=" not in config_part and "activation=" not in config_part  # swept: per run, not shared
    for run, (noise, act) in swept_values(path).items():
        words = row_of(text.split("config")[-1], run)
        assert words[1:3] == [noise, act], words


@needs_htdyn
def test_analysis_table_shows_swept_keys_and_phase_names(grid_file: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = grid_file
    copy = tmp_path / "a.h5"
    shutil.copy(path, copy)
    text = cli("analyze", str(copy), "--metrics", "powerlaw,phase", "--steps", "2").stdout
    assert_fits(text)
    values = swept_values(copy)
    for run, (noise, act) in values.items():
        assert noise in " ".join(row_of(text, run)) or [noise, act] == row_of(text, run)[1:3]
    phases = [w for line in text.splitlines() for w in line.split() if w in PHASES]
    assert len(phases) == 4, text
    assert "noise_std = model.noise_std" in text


@needs_htdyn
def test_wide_sweep_fits_80_columns_and_loses_no_value(tmp_path: Path) -> None:
    (tmp_path / "wide.toml").write_text(WIDE)
    out = tmp_path / "wide.h5"
    run_text = cli("run", str(tmp_path / "wide.toml"), "-o", str(out), "-q").stdout
    info_text = cli("info", str(out)).stdout
    for text in (run_text, info_text):
        assert_fits(text)
        for key in ("noise_std", "activation", "teacher", "init_scale", "weight_decay"):
            assert key in text, key
    with htdyn.open(out) as traj:
        assert len(traj.runs) == 32
        for r in traj.runs:
            s = r.summary()
            for v in (s["loss"], s["test_loss"]):
                assert f"{v:.4g}" in info_text


@needs_htdyn
def test_bracketed_label_and_name_are_printed_verbatim(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRID)
    out = tmp_path / "x.h5"
    r = cli("run", str(tmp_path / "g.toml"), "-o", str(out), "-q", "--set", "label=[red]mine",
            "--set", "name=n[1]")
    assert "[red]mine" in r.stdout and "n[1]:" in r.stdout
    assert "[red]mine" in cli("info", str(out)).stdout


@needs_htdyn
def test_piped_progress_is_lines_not_a_bar_and_quiet_is_silent(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRID)
    r = cli("run", str(tmp_path / "g.toml"), "-o", str(tmp_path / "a.h5"))
    assert "━" not in r.stderr  # a run under a second prints no progress at all off a terminal
    r = cli("run", str(tmp_path / "g.toml"), "-o", str(tmp_path / "b.h5"), "-q")
    assert r.stderr == ""


# --------------------------------------------------------------------------- the helpers


def test_short_names_keep_clashing_keys_whole() -> None:
    assert short_names(["optimizer.lr", "model.noise_std", "seed", "optimizer.name"]) == {
        "optimizer.lr": "lr", "model.noise_std": "noise_std", "seed": "seed", "optimizer.name": "optimizer"}
    assert short_names(["a.x", "b.x", "c.y"]) == {"a.x": "a.x", "b.x": "b.x", "c.y": "y"}


def narrow_console(width: int = 80) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, force_terminal=False, color_system=None), buf


@pytest.mark.parametrize("n_keys", [1, 3, 6, 12])
def test_run_table_fits_and_keeps_every_value(n_keys: int) -> None:
    configs = [{"model": {f"knob_{k}": 1000.0 + 10 * k + j for k in range(n_keys)}, "optimizer": {"lr": 0.1}}
               for j in range(3)]
    table = RunTable("t", configs, [("final loss", True), ("test loss", True), ("diverged", True)])
    for j in range(3):
        table.add([j], [0.123456 + j, 1234.5678, "no"])
    con, buf = narrow_console()
    table.print(con)
    text = buf.getvalue()
    assert_fits(text)
    for c in configs:
        for key, v in flatten(c).items():
            if key.startswith("model."):
                assert f"{v:.4g}" in text, (key, text)
    assert "1235" in text and "0.1235" in text and "2.123" in text and "lr=0.1" in text


def test_config_grid_prints_shared_keys_once() -> None:
    config = {"name": "x", "steps": 3, "runs": [{"model": {"n": 64, "d": 16}, "seed": 0, "label": "a"},
                                                {"model": {"n": 64, "d": 32}, "seed": 0, "label": "b"}]}
    con, buf = narrow_console()
    con.print(config_grid(config, skip=["model.d"]))
    text = buf.getvalue()
    assert "name=x steps=3" in text and "n=64" in text and "seed=0" in text
    assert not re.search(r"\bd=", text) and "label" not in text


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_progress_lines() -> None:
    con, buf = narrow_console()
    clock = Clock()
    p = PlainProgress(con, "demo", 100, "steps", delay=1.0, interval=1e9, fraction=0.1, clock=clock)
    for _ in range(3):  # under a second: nothing
        clock.t += 0.25
        p.advance(1)
    assert buf.getvalue() == ""
    for _ in range(97):
        clock.t += 0.25
        p.advance(1)
    p.close()
    lines = buf.getvalue().splitlines()
    assert lines[0] == "demo: 4/100 steps, 1.0 s, eta 24.0 s"  # the first after a second
    assert lines[1] == "demo: 14/100 steps, 3.5 s, eta 21.5 s"  # then one per tenth of the work
    assert lines[-1] == "demo: 100/100 steps, 25.0 s"
    assert len(lines) == 11


def test_plain_progress_by_time_when_steps_are_slow() -> None:
    con, buf = narrow_console()
    clock = Clock()
    p = PlainProgress(con, "slow", 1000, "steps", delay=1.0, interval=5.0, fraction=0.1, clock=clock)
    for _ in range(20):  # 20 steps of 2 s: far less than a tenth of the work, so lines come by time
        clock.t += 2.0
        p.advance(1)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("slow: 1/1000 steps, 2.0 s") and 6 <= len(lines) <= 8


def test_progress_picks_lines_off_a_terminal_and_nothing_when_quiet() -> None:
    con, buf = narrow_console()
    with progress(con, "[red]x", 10, quiet=True) as advance:
        advance(10)
    assert buf.getvalue() == ""
    with progress(con, "[red]x", 10) as advance:  # off a terminal, under a second: no bar, no line
        advance(10)
    assert buf.getvalue() == ""

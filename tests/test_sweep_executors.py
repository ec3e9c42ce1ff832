"""The executor registry: the CLI and docs/sweeps.md follow it, its option checks, and a new
executor is one class plus one entry (a test-only executor runs a sweep to the local table)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer.main
from clitools import assert_clean, cli, needs_htdyn
from sweeptools import run_spec, sorted_table, spec_text

import htdyn.cli.sweep  # noqa: F401  (registers `htdyn sweep`)
from htdyn.cli.app import app
from htdyn.errors import ConfigError
from htdyn.sweep import executors as ex
from htdyn.sweep.worker import execute_batch

DOCS = Path(__file__).resolve().parents[1] / "docs" / "sweeps.md"


def _executor_option() -> Any:
    import click

    root = typer.main.get_command(app)
    ctx = click.Context(root)
    run = root.get_command(ctx, "sweep").get_command(ctx, "run")
    return next(p for p in run.params if "--executor" in p.opts)


def test_the_cli_choices_are_the_registry():
    opt = _executor_option()
    assert opt.metavar == "|".join(ex.EXECUTORS) and opt.default == next(iter(ex.EXECUTORS)) == "local"
    assert re.findall(r"\w+", opt.help.split("(")[0]) == [w for n in ex.EXECUTORS for w in (n, "or")][:-1]


def test_the_docs_table_is_the_registry():
    text = DOCS.read_text()
    m = re.search(r"<!-- executors: [^\n]*-->\n(.*?)\n<!-- /executors -->", text, re.S)
    assert m is not None, "docs/sweeps.md lost its executor table markers"
    assert m.group(1) == ex.executor_table()
    assert [r.split("|")[1].strip(" `") for r in m.group(1).splitlines()[2:]] == list(ex.EXECUTORS)


@pytest.mark.parametrize("name", list(ex.EXECUTORS))
def test_every_entry_builds_an_executor(name):
    e = ex.make_executor(name)
    assert isinstance(e, ex.Executor) and e.name == name
    assert isinstance(e.describe(), str) and e.describe().startswith(name)
    assert e.per_device >= 1 and e.runs_here is True  # no --address: this host


@pytest.mark.parametrize("name, key", [(n, k) for n, e in ex.EXECUTORS.items() for k in ex.OPTIONS
                                       if k not in e.takes])
def test_an_option_the_executor_does_not_take_is_refused(name, key):
    value = {"address": "auto", "num_cpus": 2, "workers": 2, "results": "object-store"}[key]
    takers = " or ".join(n for n, e in ex.EXECUTORS.items() if key in e.takes)
    with pytest.raises(ConfigError, match=f"--{key.replace('_', '-')}.* is for --executor {takers}"):
        ex.make_executor(name, **{key: value})


@needs_htdyn
def test_an_unknown_executor_is_one_line_through_the_command(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(spec_text())
    r = cli("sweep", spec, "-o", tmp_path / "o", "--executor", "dask", columns=80)
    assert_clean(r, 2)
    assert r.stderr.strip().splitlines() == [f"error: --executor 'dask' is not valid; choose "
                                             f"{' or '.join(ex.EXECUTORS)}"]
    assert not (tmp_path / "o").exists()


class BackwardsExecutor:
    """A test-only executor: the batches in this process, last first (what a new executor writes)."""

    name = "backwards"
    per_device = 1
    runs_here = True

    @classmethod
    def from_options(cls, options: dict, device: str) -> BackwardsExecutor:
        assert options == {}
        return cls()

    def describe(self) -> str:
        return "backwards, in this process"

    def run(self, sd: Any, spec: Any, batches: list, events: Any) -> None:
        for b in reversed(batches):
            ids = [r.id for r in b.runs]
            sd.mark_running(b.name, ids)
            out = execute_batch(b.sim(spec), str(sd.batches / b.file), threads=spec.threads)
            sd.record(b.name, ids, out)
            events.step(len(ids) * b.steps)
            events.batch(b, out)


def test_a_new_executor_is_one_class_and_one_entry(tmp_path, monkeypatch):
    entry = ex.ExecutorEntry("backwards", "this process, last batch first", __name__, "BackwardsExecutor")
    monkeypatch.setitem(ex.EXECUTORS, "backwards", entry)
    assert isinstance(ex.make_executor("backwards"), ex.Executor)
    with pytest.raises(ConfigError, match="--workers is for --executor local"):
        ex.make_executor("backwards", workers=2)
    text = spec_text()
    new = sorted_table(run_spec(tmp_path, text, "new", executor="backwards"))
    ref = sorted_table(run_spec(tmp_path, text, "ref"))
    assert len(new) == len(ref) > 0
    pd.testing.assert_frame_equal(new.drop(columns=["file"], errors="ignore"),
                                  ref.drop(columns=["file"], errors="ignore"))

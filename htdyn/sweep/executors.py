"""Executors: the :class:`Executor` protocol the driver calls, and the registry of them.

An executor runs a sweep's planned batches: :func:`~htdyn.sweep.driver.run_sweep`
holds the directory's lock and calls ``executor.run(sd, spec, batches, events)``, which
marks each batch running in the index (``sd.mark_running`` or ``sd.index["running"]``),
runs it through :func:`~htdyn.sweep.worker.execute_batch` somewhere, records its outcome
(``sd.record``), reports progress (``events.step``, ``events.batch``) and, on an
interrupt, clears the running marks (``sd.clear_running``) and lets it propagate.  The
driver alone writes the index.

:data:`EXECUTORS` maps each ``--executor`` name to an :class:`ExecutorEntry` that
declares what it needs: its class, the optional dependency it imports, and which of the
options ``--address``, ``--num-cpus``, ``--workers``, ``--results`` it takes (any other
given is one line, exit 2).  The CLI's ``--executor`` choices and help and the table in
docs/sweeps.md come from it (``tests/test_sweep_executors.py`` holds them equal).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigError

if TYPE_CHECKING:
    from .events import SweepEvents
    from .index import SweepDir
    from .plan import Batch
    from .spec import SweepSpec

__all__ = ["Executor", "ExecutorEntry", "EXECUTORS", "OPTIONS", "RESULTS", "make_executor", "check_results",
           "executor_help", "executor_table"]

#: how batch files come back (``--results``): written by the tasks, or sent to the driver
RESULTS = ("shared", "object-store")

#: the executor options of ``htdyn sweep``, with the value meaning "not given"
OPTIONS = {"address": None, "num_cpus": None, "workers": None, "results": "shared"}


@runtime_checkable
class Executor(Protocol):
    """What the driver and the CLI call on an executor.

    Attributes
    ----------
    name : its registry name (``--executor NAME``).
    per_device : batches that run at once on one device's memory (the default memory
        budget is divided by it).
    runs_here : whether the batches run on this host's devices (the CLI then refuses
        ``--device cuda`` without a GPU before the directory is made).
    """

    name: str

    @property
    def per_device(self) -> int: ...

    @property
    def runs_here(self) -> bool: ...

    def describe(self) -> str:
        """One line for ``--dry-run``: where the batches run."""
        ...

    def run(self, sd: SweepDir, spec: SweepSpec, batches: list[Batch], events: SweepEvents) -> None:
        """Run the batches, recording each outcome in ``sd`` (the driver holds its lock)."""
        ...


@dataclass(frozen=True)
class ExecutorEntry:
    """One executor: where it lives, what it needs, which options it takes.

    ``build(options, device)`` imports ``module`` and calls its ``cls.from_options(options,
    device)`` with the options it takes (the others are refused before).  ``needs``: the
    optional dependency (pip extra) it imports when it runs, or None.  ``refused``: a
    reason appended to the refusal of an option it does not take.
    """

    name: str
    summary: str
    module: str
    cls: str
    takes: tuple[str, ...] = ()
    needs: str | None = None
    refused: dict[str, str] = field(default_factory=dict)

    def build(self, options: dict[str, Any], device: str) -> Executor:
        cls = getattr(importlib.import_module(self.module), self.cls)
        return cls.from_options({k: options[k] for k in self.takes}, device)


EXECUTORS: dict[str, ExecutorEntry] = {
    e.name: e for e in (
        ExecutorEntry("local", "this host: the batches in this process, or in --workers worker processes "
                      "(one per GPU on CUDA)", "htdyn.sweep.local", "LocalExecutor", takes=("workers",),
                      refused={"results": "the local executor writes the sweep directory itself"}),
        ExecutorEntry("ray", "a Ray runtime: a local one (--num-cpus) or a cluster (--address); results through "
                      "a shared directory or Ray's object store (--results)", "htdyn.sweep.ray", "RayExecutor",
                      takes=("address", "num_cpus", "results"), needs="ray",
                      refused={"workers": "Ray places one task per free CPU or GPU itself"}),
    )
}


def check_results(results: str) -> None:
    """``--results`` must be one of :data:`RESULTS`."""
    if results not in RESULTS:
        raise ConfigError(f"--results {results!r} is not valid; choose {' or '.join(RESULTS)}")


def make_executor(name: str, address: str | None = None, num_cpus: int | None = None, *,
                  workers: int | None = None, device: str = "cpu", results: str = "shared") -> Executor:
    """The executor called ``name`` (a key of :data:`EXECUTORS`), built from the options it takes.

    ``workers`` (local) defaults to one per GPU on CUDA, 1 on the CPU; ``results`` (Ray):
    ``shared`` (tasks write the sweep directory) or ``object-store``.  An unknown name, or
    an option given to an executor that does not take it, raises a ConfigError (one line).
    """
    check_results(results)
    entry = EXECUTORS.get(name)
    if entry is None:
        raise ConfigError(f"--executor {name!r} is not valid; choose {' or '.join(EXECUTORS)}")
    options = {"address": address, "num_cpus": num_cpus, "workers": workers, "results": results}
    for key, unset in OPTIONS.items():
        if key not in entry.takes and options[key] != unset:
            flag = "--" + key.replace("_", "-") + ("" if key != "results" else f" {results}")
            takers = " or ".join(e.name for e in EXECUTORS.values() if key in e.takes)
            why = entry.refused.get(key)
            raise ConfigError(f"{flag} is for --executor {takers}" + (f" ({why})" if why else ""))
    return entry.build(options, device)


def executor_help() -> str:
    """The ``--executor`` option's help: the names, the default first."""
    return " or ".join(EXECUTORS) + " (docs/sweeps.md, Executors)."


def executor_table() -> str:
    """The Markdown table of :data:`EXECUTORS` that docs/sweeps.md holds."""
    flags = {k: "--" + k.replace("_", "-") for k in OPTIONS}
    rows = ["| executor | runs the batches on | options | needs |", "|---|---|---|---|"]
    for e in EXECUTORS.values():
        opts = ", ".join(f"`{flags[k]}`" for k in e.takes) or "-"
        needs = f"`pip install 'htdyn[{e.needs}]'`" if e.needs else "-"
        rows.append(f"| `{e.name}` | {e.summary} | {opts} | {needs} |")
    return "\n".join(rows)

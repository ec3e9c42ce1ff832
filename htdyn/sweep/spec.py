"""A sweep file: a run config plus a ``[sweep]`` table of axes; read, checked, expanded into runs.

::

    name = "lr_sweep"
    steps = 10
    [model]
    n = 2000
    d = 1000
    h = 1500
    [eval]
    at = "first_last"
    [sweep]
    repeats = 5                               # R repeats per point (seeds: htdyn.sweep.seeds)
    store = "spectra"                         # scalars | spectra | full (see STORE_MODES)
    "optimizer.name" = ["gd", "adam"]
    "optimizer.lr" = [1e-3, 1e-2, 0.1, 1, 10, 100, 1000, 2000, 3000]

Every key outside ``[sweep]`` is a key ``htdyn run`` accepts (``[grid]`` and ``[[runs]]``
excepted: a sweep's axes replace them; ``output`` is ignored: batches go to the sweep
directory).  Besides axes (dotted run keys, or ``steps``), ``[sweep]`` holds ``repeats``,
``store``, ``zip`` (axes that advance together), ``max_batch`` (most runs per batch) and
``batch_memory`` (bytes a batch may use; default a fraction of the device's free memory)
and ``threads`` (the BLAS, OpenMP and torch threads each batch computes with, default 1,
whatever the executor: a sweep's numbers do not depend on how it was run).

Every mistake is one :class:`~htdyn.errors.ConfigError` naming the key and what is
valid, raised before anything runs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RUN_KEYS, SIM_KEYS, RunConfig, SimConfig, from_dict
from ..config.validate import as_floats
from ..errors import ConfigError
from ..io.runid import run_id
from .axes import Axis, axis_values, expand_points
from .seeds import DERIVATION, SEED_KEYS, repeat_seeds

__all__ = ["STORE_MODES", "PlannedRun", "SweepSpec", "load_spec", "spec_from_dict"]

#: what a sweep keeps per run.  scalars: eval losses and the scalar metrics at the eval
#: steps; spectra (the default): those plus the ESD (every eigenvalue of W^T W, so
#: alpha can be refitted and the ESD redrawn later; sqrt gives the singular values) and
#: the top singular triplets (the ``top`` set: min(8, h, d) values with their u and v);
#: full: also the snapshots of W_t and M_t (as the [snapshots] table says).
STORE_MODES = {
    "scalars": ("norms", "powerlaw", "mp", "phase", "teacher"),
    "spectra": ("esd", "norms", "powerlaw", "mp", "phase", "teacher", "top"),
    "full": ("esd", "norms", "powerlaw", "mp", "phase", "teacher", "top"),
}
#: the sets earlier releases gave each store mode, newest first (for a directory whose
#: sweep.json does not record them: ``htdyn.sweep.driver`` resumes it with its own sets)
PAST_STORE_MODES = {
    "spectra": (("esd", "norms", "powerlaw", "mp", "phase", "teacher"),),
    "full": (("esd", "norms", "powerlaw", "mp", "phase", "teacher"),),
}
SWEEP_SETTINGS = ("repeats", "store", "zip", "max_batch", "batch_memory", "threads")
#: the simulation-level keys an axis may vary (each value becomes its own batches)
SIM_AXES = ("steps",)


@dataclass
class PlannedRun:
    """One run of a sweep: its id, repeat, axis values and its resolved config."""

    id: str
    repeat: int
    point: dict
    config: RunConfig
    steps: int


@dataclass
class SweepSpec:
    """A checked sweep: its axes, repeats, storage, the runs, and one SimConfig template per ``steps``."""

    name: str
    raw: dict
    axes: list[Axis]
    zip_groups: list[list[str]]
    repeats: int
    store: str
    max_batch: int | None
    batch_memory: int | None
    runs: list[PlannedRun] = field(default_factory=list)
    templates: dict[int, SimConfig] = field(default_factory=dict)
    #: the store mode's metric sets as applied (None when the spec sets ``eval.metrics`` itself)
    store_sets: tuple[str, ...] | None = None
    #: BLAS/OpenMP/torch threads of every batch (:func:`htdyn.blas.fixed_threads`)
    threads: int = 1

    @property
    def axis_keys(self) -> list[str]:
        return [a.key for a in self.axes]

    def manifest(self) -> dict:
        """What identifies the sweep's design (stored in the directory; compared on resume)."""
        return {"name": self.name, "spec": self.raw, "seed_derivation": DERIVATION,
                "axes": {a.key: list(a.values) for a in self.axes}, "zip": self.zip_groups,
                "repeats": self.repeats, "store": self.store}

    def sim_for(self, steps: int, runs: list[RunConfig], name: str) -> SimConfig:
        """The simulation of a batch: the template for ``steps`` with these runs."""
        sim = copy.copy(self.templates[steps])
        sim.runs, sim.name = list(runs), name
        return sim


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> SweepSpec:
    """Read and check a sweep file (TOML or YAML); see the module docstring.

    ``overrides``: ``key=value`` strings applied in order, as ``htdyn run --set``
    (:func:`htdyn.config.loading.apply_override`): a dotted run or simulation key, or
    ``sweep.KEY`` for a key of ``[sweep]`` (a setting or an axis, whose dotted name is kept
    whole: ``sweep.optimizer.lr=[0.1, 1]``).  A value given for a swept key replaces its
    axis, as an explicit value replaces a ``[grid]`` entry in a run config.
    """
    from ..config.loading import apply_override, read_config_file

    path = Path(path)
    raw = read_config_file(path, what="sweep file", examples="sims/paper/")
    raw.setdefault("name", path.stem)
    for item in overrides:
        key, eq, value = item.partition("=")
        key = key.strip()
        sw = raw.get("sweep")
        if eq and key.startswith("sweep.") and isinstance(sw, dict):
            holder = {"v": None}
            apply_override(holder, f"v={value}")  # the value parsed as --set parses it
            sw[key[len("sweep."):]] = holder["v"]
            continue
        if isinstance(sw, dict):
            sw.pop(key, None)  # an explicit value replaces a swept one
        apply_override(raw, item)
    return spec_from_dict(raw)


def _settings(sw: dict) -> tuple[int, str, int | None, int | None]:
    repeats = sw.get("repeats", 1)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"sweep.repeats = {repeats!r} must be an integer >= 1")
    store = sw.get("store", "spectra")
    if store not in STORE_MODES:
        raise ConfigError(f"sweep.store = {store!r} is not valid; choose one of {', '.join(STORE_MODES)}")
    max_batch = sw.get("max_batch")
    if max_batch is not None and (isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1):
        raise ConfigError(f"sweep.max_batch = {max_batch!r} must be an integer >= 1")
    mem = sw.get("batch_memory")
    if mem is not None and (isinstance(mem, bool) or not isinstance(mem, (int, float)) or mem <= 0):
        raise ConfigError(f"sweep.batch_memory = {mem!r} must be a number of bytes > 0")
    threads = sw.get("threads", 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"sweep.threads = {threads!r} must be an integer >= 1 (the BLAS threads of each batch)")
    return repeats, store, max_batch, None if mem is None else int(mem)


def _check_axis_key(key: str) -> None:
    head = key.split(".")[0]
    if key in SIM_AXES:
        return
    if head in SIM_KEYS:
        raise ConfigError(f"sweep axis {key!r} is not a run key: it is shared by every run of a simulation; "
                          f"axes vary run keys ({', '.join(sorted(RUN_KEYS))}, dotted into model/optimizer/"
                          f"schedule) or {', '.join(SIM_AXES)}")
    if head not in RUN_KEYS:
        raise ConfigError(f"sweep axis {key!r}: unknown key {head!r}; axes vary run keys "
                          f"({', '.join(sorted(RUN_KEYS))}) or {', '.join(SIM_AXES)}")


def _base_sim(base: dict, store: str, store_sets: Sequence[str] | None = None) -> dict:
    """The base config with the store mode's defaults (``store_sets`` for its metric sets) where unset."""
    base = copy.deepcopy(base)
    ev = base.setdefault("eval", {})
    snaps = base.setdefault("snapshots", {})
    if not isinstance(ev, dict) or not isinstance(snaps, dict):
        raise ConfigError("eval and snapshots must be tables")
    if store != "full":
        snaps.setdefault("at", "none")
    if snaps.get("at", 1) == "none":
        ev.setdefault("at", "first_last")
    ev.setdefault("metrics", list(STORE_MODES[store] if store_sets is None else store_sets))
    base.pop("output", None)
    return base


def _check_values(base: dict, axes: list[Axis]) -> None:
    """Each axis value alone must give a valid config: the error names the axis and the value."""
    named = {a.key: a.values[0] for a in axes if a.key == "penalty.name"}  # base penalty keys are for it
    from_dict({**copy.deepcopy(base), "runs": [dict(named)]})  # the base config's own mistakes, unprefixed
    for a in axes:
        for v in a.values:
            raw = copy.deepcopy(base)
            if a.key in SIM_AXES:
                raw[a.key] = v
                raw["runs"] = [dict(named)]
            else:
                raw["runs"] = [{**named, a.key: v}]
            try:
                from_dict(raw)
            except ConfigError as exc:
                raise ConfigError(f"sweep axis {a.key!r}, value {v!r}: {exc}") from None


def spec_from_dict(raw: dict, *, store_sets: Sequence[str] | None = None) -> SweepSpec:
    """A :class:`SweepSpec` from the plain data of a sweep file (checked; runs expanded).

    ``store_sets``: the metric sets the store mode applies where ``eval.metrics`` is
    unset (default :data:`STORE_MODES`; a directory made by an earlier release keeps its own).
    """
    raw = copy.deepcopy(raw)
    for bad in ("grid", "runs"):
        if bad in raw:
            raise ConfigError(f"a sweep file has no [{bad}]: put the swept keys in [sweep] "
                              f"(e.g. \"optimizer.lr\" = [0.1, 1.0])")
    sw = raw.pop("sweep", None)
    if not isinstance(sw, dict):
        raise ConfigError("a sweep file needs a [sweep] table of axes, e.g. [sweep] \"optimizer.lr\" = [0.1, 1.0]")
    repeats, store, max_batch, batch_memory = _settings(sw)
    axes = []
    for key, spec in sw.items():
        if key in SWEEP_SETTINGS:
            continue
        _check_axis_key(key)
        axes.append(axis_values(key, spec))
    points, groups = expand_points(axes, sw.get("zip"))
    user_sets = isinstance(raw.get("eval"), dict) and "metrics" in raw["eval"]
    base = _base_sim(raw, store, store_sets)
    _check_values(base, axes)
    spec = SweepSpec(str(raw.get("name", "sweep")), {**raw, "sweep": sw}, axes, groups, repeats, store,
                     max_batch, batch_memory,
                     store_sets=None if user_sets else tuple(base["eval"]["metrics"]), threads=sw.get("threads", 1))
    _expand_runs(spec, base, points)
    return spec


def _expand_runs(spec: SweepSpec, base: dict, points: list[dict]) -> None:
    """Every (repeat, point) as a validated RunConfig with its stable id, grouped by steps."""
    by_steps: dict[int, list[tuple[int, dict, dict]]] = {}
    default_steps = base.get("steps", SimConfig.steps)
    for r in range(spec.repeats):
        for p in points:
            steps = p.get("steps", default_steps)
            over = {k: v for k, v in p.items() if k not in SIM_AXES}
            seeds_from = {k: over.get(k, base.get(k)) for k in SEED_KEYS}
            over.update(repeat_seeds(seeds_from, r))
            by_steps.setdefault(steps, []).append((r, p, over))
    seen: dict[str, dict] = {}
    for steps, items in by_steps.items():
        raw = copy.deepcopy(base)
        raw["steps"] = steps
        raw["runs"] = [over for _, _, over in items]
        try:
            sim = from_dict(raw)
        except ConfigError as exc:
            raise ConfigError(f"sweep: {_name_point(str(exc), items)}") from None
        _floats(sim)
        context = run_context(sim.to_dict())
        runs = sim.runs
        sim.runs = []
        spec.templates[steps] = sim
        for (r, p, _), cfg in zip(items, runs):
            _floats(cfg)
            rid = run_id(cfg.to_dict(), context)
            if rid in seen:
                raise ConfigError(f"sweep: points {seen[rid]} and {p} (repeat {r}) are the same run; "
                                  + _same_run_cause(spec))
            seen[rid] = {**p, "repeat": r}
            spec.runs.append(PlannedRun(rid, r, p, cfg, steps))


def _floats(cfg: Any) -> None:
    """Ints given for float fields become floats, so ``lr = 1`` and ``lr = 1.0`` are one run with one id.

    Every float field of the field table, whatever its section (run keys, model, optimizer,
    schedule, penalty; on a simulation its eval and snapshots settings).
    """
    if isinstance(cfg, SimConfig):
        for section in ("sim", "eval", "snapshots"):
            as_floats(cfg if section == "sim" else getattr(cfg, section), section)
        return
    as_floats(cfg, "run")
    for section in ("model", "optimizer", "schedule", "penalty"):
        part = getattr(cfg, section, None)
        if part is not None and not isinstance(part, (list, tuple, dict)):
            as_floats(part, section)


def _same_run_cause(spec: SweepSpec) -> str:
    """Why two points of a sweep can be one run config."""
    seeds = [a.key for a in spec.axes if a.key in SEED_KEYS]
    if seeds and spec.repeats > 1:
        return (f"the axis {seeds[0]!r} collides with the repeats' seeds (repeat r uses {seeds[0]} + r); "
                "space its values by at least the number of repeats")
    return ("their stored configs are equal (a setting the point's optimizer, schedule or penalty does not "
            "use is not part of it, e.g. optimizer.momentum with adam); give each point a distinct config")


def _name_point(msg: str, items: list) -> str:
    """Replace from_dict's 'run i:' by the point and repeat it stands for."""
    if msg.startswith("run "):
        head, _, rest = msg.partition(": ")
        try:
            r, p, _ = items[int(head[4:])]
            return f"point {json.dumps(p)} (repeat {r}): {rest}"
        except (ValueError, IndexError):
            pass
    return msg


def run_context(sim: dict) -> dict:
    """The simulation settings (``SimConfig.to_dict()``) that change a run's results or what is stored of it.

    They are the ``context`` of the run's id (:func:`htdyn.io.runid.run_id`): the same run
    config with other steps, dtype, evaluation or snapshot settings is another run.  The
    device and backend are not: a sweep resumed on another device reuses its done runs.
    """
    return {"steps": sim["steps"], "dtype": sim["dtype"], "eval": sim["eval"], "snapshots": sim["snapshots"],
            "store_data": sim["store_data"]}

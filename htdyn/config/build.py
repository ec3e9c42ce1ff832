"""Plain data -> validated :class:`SimConfig`: the base run, ``[[runs]]`` overrides, the ``[grid]``.

Unknown keys are named with a "did you mean" hint and the valid keys; values are
coerced by the field table (:func:`htdyn.config.validate.coerce`) and then
validated (:meth:`SimConfig.validate`).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError
from .fields import get_field
from .grid import expand_grid, set_dotted
from .schema import NESTED, RUN_KEYS, SECTION_OF, SIM_KEYS, RunConfig, SimConfig
from .validate import coerce, unknown_key_message


def from_dict(raw: Mapping[str, Any]) -> SimConfig:
    """Build and validate a :class:`SimConfig` from plain data.

    Top-level keys are simulation keys (name, steps, device, dtype, output,
    store_data, snapshots, eval) or base-run keys (model, optimizer,
    schedule, seed, data_seed, init_seed, weight_norm, label).  ``grid`` maps
    dotted run keys to lists of values (Cartesian product, first key slowest:
    :func:`htdyn.config.grid.expand_grid`); ``runs`` is a list of per-run
    override tables.  The product is runs x grid points, the runs slowest; a
    grid value wins over the same key in a ``runs`` table.

    Parameters
    ----------
    raw : mapping
        A config as plain data (what a TOML file parses to); it is not modified.

    Returns
    -------
    SimConfig
        Validated, one :class:`RunConfig` per (``runs`` table, grid point).

    Raises
    ------
    ConfigError
        An unknown key (named, with a "did you mean" hint), a bad value, a bad grid.

    Examples
    --------
    >>> from htdyn import from_dict
    >>> sim = from_dict({"steps": 3, "model": {"n": 64, "d": 16, "h": 24},
    ...                  "optimizer": {"name": "gd"}, "grid": {"optimizer.lr": [0.1, 1.0]}})
    >>> [(r.optimizer.name, r.optimizer.lr) for r in sim.runs]
    [('gd', 0.1), ('gd', 1.0)]
    >>> from_dict({"steps": -1})
    Traceback (most recent call last):
    ...
    htdyn.errors.ConfigError: steps = -1 must be a non-negative integer
    """
    raw = copy.deepcopy(dict(raw))
    grid = raw.pop("grid", None) or {}
    run_list = raw.pop("runs", None)
    sim_raw = {k: raw.pop(k) for k in list(raw) if k in SIM_KEYS}
    base_run = raw
    unknown = set(base_run) - RUN_KEYS
    if unknown:
        raise ConfigError(unknown_key_message(sorted(unknown)[0], "", SIM_KEYS | RUN_KEYS | {"grid", "runs"}))
    _check_grid(grid)
    if run_list is None:
        run_list = [{}]
    if not isinstance(run_list, list) or not all(isinstance(r, dict) for r in run_list):
        raise ConfigError("runs must be a list of tables of per-run overrides")
    _check_penalty_named(base_run, run_list, grid)

    runs = []
    for i, override in enumerate(run_list):
        merged = copy.deepcopy(base_run)
        _deep_update(merged, override, f"runs[{i}]")
        runs += [build(RunConfig, point, "") for point in expand_grid(merged, grid)]
    sim = build(SimConfig, sim_raw, "")
    sim.runs = runs
    return sim.validate()


def simulation(runs: Sequence[RunConfig] | RunConfig | None = None, **sim_keys: Any) -> SimConfig:
    """Build a :class:`SimConfig` from Python objects and validate it.

    Parameters
    ----------
    runs : RunConfig, sequence of RunConfig, or None
        The runs (None: one default run, the paper's size).
    **sim_keys
        Simulation keys of :class:`SimConfig` (``steps``, ``output``, ``dtype``, ...);
        ``snapshots`` and ``eval`` may be dicts.

    Returns
    -------
    SimConfig
        Validated.

    Raises
    ------
    ConfigError
        An unknown simulation key, or a bad value in any run.

    Examples
    --------
    >>> from htdyn import ModelConfig, OptimizerConfig, RunConfig, simulation
    >>> tiny = ModelConfig(n=64, d=16, h=24)
    >>> sim = simulation([RunConfig(model=tiny, optimizer=OptimizerConfig("adam", lr=lr)) for lr in (0.1, 1.0)],
    ...                  steps=10, snapshots={"at": "first_last"})
    >>> len(sim.runs), sim.steps, sim.snapshots.at
    (2, 10, 'first_last')
    """
    if runs is None:
        runs = [RunConfig()]
    elif isinstance(runs, RunConfig):
        runs = [runs]
    for key in ("snapshots", "eval"):
        if isinstance(sim_keys.get(key), Mapping):
            sim_keys[key] = build(NESTED[(SimConfig, key)], sim_keys[key], f"{key}.")
    unknown = set(sim_keys) - SIM_KEYS
    if unknown:
        raise ConfigError(unknown_key_message(sorted(unknown)[0], "", SIM_KEYS))
    return SimConfig(runs=list(runs), **sim_keys).validate()


def build(cls: type, raw: Any, prefix: str) -> Any:
    """Instantiate dataclass ``cls`` from a dict, naming unknown keys and coercing values by the table.

    ``prefix`` is the dotted prefix of the keys in messages (``"model."``; ``""`` at the top).
    """
    if isinstance(raw, cls):
        return raw
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table, got {raw!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    section = SECTION_OF[cls]
    kwargs = {}
    for key, value in raw.items():
        if key not in names:
            raise ConfigError(unknown_key_message(key, prefix, names))
        sub = NESTED.get((cls, key))
        if sub is not None:
            kwargs[key] = build(sub, value, f"{prefix}{key}.")
            continue
        f = get_field(section, key)
        kwargs[key] = value if f is None else coerce(f, value, f"{prefix}{key}")
    return cls(**kwargs)


def _check_penalty_named(base: Mapping, run_list: list, grid: Mapping) -> None:
    """Refuse penalty settings that no run would use: a ``[penalty]`` key without a penalty.

    Allowed when a ``[[runs]]`` table or the grid (a sweep's axes arrive as ``[[runs]]``)
    names the penalty: then the settings are for the runs that have one.
    """
    pen = base.get("penalty")
    if not isinstance(pen, Mapping) or pen.get("name", "none") != "none":
        return
    keys = sorted(k for k in pen if k != "name")
    named = "penalty.name" in grid or any(
        "penalty.name" in r or isinstance(r.get("penalty"), Mapping) and "name" in r["penalty"] for r in run_list)
    if keys and not named:
        choices = [c for c in get_field("penalty", "name").choices if c != "none"]  # type: ignore[union-attr]
        raise ConfigError(f"penalty.{keys[0]} is set but penalty.name is 'none' (no penalty), so it would be "
                          f"ignored; set penalty.name ({', '.join(choices)}) or remove penalty.{keys[0]}")


def _check_grid(grid: Any) -> None:
    if not isinstance(grid, dict):
        raise ConfigError("grid must be a table of dotted keys to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{key} must be a non-empty list of values, got {values!r}")
        if key.split(".")[0] not in RUN_KEYS:
            raise ConfigError(f"grid.{key}: only per-run keys can be swept ({', '.join(sorted(RUN_KEYS))})")


def _deep_update(target: dict, src: Mapping, where: str) -> None:
    """Merge one ``[[runs]]`` table into the base run: nested tables merge, dotted keys set one value."""
    for key, value in src.items():
        if key not in RUN_KEYS and "." not in key:
            raise ConfigError(unknown_key_message(key, f"{where}.", RUN_KEYS))
        if "." in key:
            set_dotted(target, key, copy.deepcopy(value), where=where)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key].update(value)
        else:
            target[key] = copy.deepcopy(value)

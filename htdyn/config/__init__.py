"""Simulation configs: plain data, validated, loaded from TOML or YAML.

A *simulation* is a list of *runs* that share the number of steps, the
device, the dtype, and the snapshot and evaluation schedules.  Each run is
plain data (:class:`RunConfig`: model, optimizer, schedule, seeds), so a run
can be reproduced alone from its config.  A config file holds one base run,
optionally expanded by a ``[grid]`` (Cartesian product over dotted keys) and
a ``[[runs]]`` list of overrides::

    name = "adam-lr-sweep"
    steps = 10

    [model]
    n = 2000
    d = 1000
    h = 1500

    [optimizer]
    name = "adam"
    lr = 1.0

    [grid]
    "optimizer.lr" = [0.01, 0.1, 1.0]
    seed = [0, 1]

Every error names the offending key and what would be valid (:class:`ConfigError`).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

TEACHERS = ("softplus", "relu", "tanh", "linear")
ACTIVATIONS = ("tanh", "relu", "softplus", "gelu", "linear")
OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "adamw", "sign")
SCHEDULES = ("constant", "step", "exponential", "cosine")
COMPRESSIONS = ("none", "lzf", "gzip")
STORE_DTYPES = ("float32", "float16")


@dataclass
class ModelConfig:
    """Teacher, data and student sizes (defaults: the paper's setting).

    Data x ~ N(0, I_d); teacher y = g(beta . x) + eps, ||beta|| = 1,
    eps ~ N(0, noise_std^2); student f(x) = a . phi(W x / sqrt(d)) / sqrt(h).
    """

    n: int = 2000
    d: int = 1000
    h: int = 1500
    n_test: int = 200
    noise_std: float = 0.3
    teacher: Any = "softplus"
    activation: Any = "tanh"
    init_scale: float = 1.0
    readout_scale: float = 1.0
    train_readout: bool = False

    def validate(self, prefix: str = "model") -> None:
        for key in ("n", "d", "h", "n_test"):
            _positive_int(getattr(self, key), f"{prefix}.{key}")
        _nonneg_float(self.noise_std, f"{prefix}.noise_std")
        _positive_float(self.init_scale, f"{prefix}.init_scale")
        _positive_float(self.readout_scale, f"{prefix}.readout_scale")
        _choice_or_callable(self.teacher, TEACHERS, f"{prefix}.teacher")
        _choice_or_callable(self.activation, ACTIVATIONS, f"{prefix}.activation")
        _bool(self.train_readout, f"{prefix}.train_readout")


@dataclass
class OptimizerConfig:
    """Optimizer and its hyper-parameters (torch.optim semantics).

    ``name``: ``gd`` (plain gradient descent, torch SGD), ``momentum``
    (heavy-ball), ``nesterov``, ``adam``, ``adamw`` (decoupled weight decay),
    ``sign`` (sign descent).  ``weight_decay`` is coupled (added to the
    gradient, as torch SGD/Adam) except for ``adamw``.  ``batch_size``: None
    or 0 for full batch (the paper), else minibatches of that size drawn by
    a seeded shuffle each epoch.
    """

    name: str = "adam"
    lr: float = 1.0
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    batch_size: int | None = None

    def validate(self, prefix: str = "optimizer") -> None:
        _choice(self.name, OPTIMIZERS, f"{prefix}.name")
        _positive_float(self.lr, f"{prefix}.lr")
        for key in ("momentum", "beta1", "beta2"):
            v = _float(getattr(self, key), f"{prefix}.{key}")
            if not 0.0 <= v < 1.0:
                raise ConfigError(f"{prefix}.{key} = {v!r} is out of range; it must be in [0, 1)")
        _positive_float(self.eps, f"{prefix}.eps")
        _nonneg_float(self.weight_decay, f"{prefix}.weight_decay")
        if self.batch_size is not None:
            _nonneg_int(self.batch_size, f"{prefix}.batch_size")


@dataclass
class ScheduleConfig:
    """Learning-rate schedule, evaluated per optimizer step t = 0, 1, ...

    - ``constant``: lr
    - ``step``: lr * gamma ** floor(t / step_size) (torch StepLR stepped per step)
    - ``exponential``: lr * gamma ** t
    - ``cosine``: eta_min + (lr - eta_min) (1 + cos(pi t / t_max)) / 2, t_max = steps by default
    - ``warmup_steps`` > 0 multiplies any of them by min(1, (t + 1) / warmup_steps).
    """

    name: str = "constant"
    gamma: float = 0.1
    step_size: int = 1
    eta_min: float = 0.0
    t_max: int | None = None
    warmup_steps: int = 0

    def validate(self, prefix: str = "schedule") -> None:
        _choice(self.name, SCHEDULES, f"{prefix}.name")
        _positive_float(self.gamma, f"{prefix}.gamma")
        _positive_int(self.step_size, f"{prefix}.step_size")
        _nonneg_float(self.eta_min, f"{prefix}.eta_min")
        if self.t_max is not None:
            _positive_int(self.t_max, f"{prefix}.t_max")
        _nonneg_int(self.warmup_steps, f"{prefix}.warmup_steps")


@dataclass
class RunConfig:
    """One training run: model, optimizer, schedule and seeds.

    ``seed`` drives everything; ``data_seed`` (teacher and data sets) and
    ``init_seed`` (W and a) default to it.  Runs with the same data seed and
    model see the same data; runs with the same init seed start from the same W.
    ``weight_norm``: rescale W to ||W||_F = sqrt(h d) before each step.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    seed: int = 0
    data_seed: int | None = None
    init_seed: int | None = None
    weight_norm: bool = False
    label: str = ""

    @property
    def data_seed_(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def init_seed_(self) -> int:
        return self.seed if self.init_seed is None else self.init_seed

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable; callables become their names), as a trajectory stores it."""
        return _to_plain(dataclasses.asdict(self))

    def validate(self) -> None:
        self.model.validate()
        self.optimizer.validate()
        self.schedule.validate()
        _nonneg_int(self.seed, "seed")
        for key in ("data_seed", "init_seed"):
            if getattr(self, key) is not None:
                _nonneg_int(getattr(self, key), key)
        _bool(self.weight_norm, "weight_norm")
        if not isinstance(self.label, str):
            raise ConfigError(f"label must be a string, got {self.label!r}")
        bs = self.optimizer.batch_size
        if bs and bs > self.model.n:
            raise ConfigError(f"optimizer.batch_size = {bs} exceeds model.n = {self.model.n}")


@dataclass
class SnapshotConfig:
    """Which steps store W_t (and the update M_t = W_{t+1} - W_t) and how.

    ``at``: an int k (every k steps, plus the last), a list of steps,
    ``"log:N"`` (about N log-spaced steps, 0 and the last included),
    ``"first_last"``, or ``"none"``.
    """

    at: Any = 1
    dtype: str = "float32"
    compression: str = "none"
    updates: bool = True
    optimizer_state: bool = False

    def validate(self, prefix: str = "snapshots") -> None:
        _check_schedule_spec(self.at, f"{prefix}.at")
        _choice(self.dtype, STORE_DTYPES, f"{prefix}.dtype")
        _choice(self.compression, COMPRESSIONS, f"{prefix}.compression")
        _bool(self.updates, f"{prefix}.updates")
        _bool(self.optimizer_state, f"{prefix}.optimizer_state")


@dataclass
class EvalConfig:
    """Evaluation: ridge read-out on the probe set, test loss, online metrics.

    ``at``: as :attr:`SnapshotConfig.at`, or ``"snapshots"`` (the default) for the
    snapshot steps.  ``ridge_lambda``: the lambda of
    a_hat = (Z^T Z + (lambda / h) n I)^{-1} Z^T y.  ``features``: ``"model"``
    fits the read-out on the student's features phi(X W^T / sqrt(d)) / sqrt(h);
    ``"official"`` on phi(X W^T / d) / sqrt(h), what the paper's official code
    computes (its forward hook scales the stored pre-activations in place, so
    they are divided by sqrt(d) twice) and what its loss numbers come from.
    ``metrics``: names of spectral metric sets computed at each evaluation step.
    """

    at: Any = "snapshots"
    ridge_lambda: float = 0.01
    features: str = "model"
    metrics: list = field(default_factory=list)

    def validate(self, prefix: str = "eval") -> None:
        if self.at != "snapshots":
            _check_schedule_spec(self.at, f"{prefix}.at")
        _choice(self.features, ("model", "official"), f"{prefix}.features")
        _positive_float(self.ridge_lambda, f"{prefix}.ridge_lambda")
        if not isinstance(self.metrics, list) or not all(isinstance(m, str) for m in self.metrics):
            raise ConfigError(f"{prefix}.metrics must be a list of metric names, got {self.metrics!r}")


@dataclass
class SimConfig:
    """A simulation: runs that share steps, device, dtype and schedules.

    ``output``: where the trajectory file goes (``{name}`` is replaced by the
    name).  ``store_data``: store the data sets in the file (True) or only the
    seeds that regenerate them (False; beta is always stored).
    """

    name: str = "sim"
    steps: int = 10
    device: str = "cpu"
    backend: str | None = None
    dtype: str = "float32"
    output: str = "outputs/{name}.h5"
    store_data: bool = True
    snapshots: SnapshotConfig = field(default_factory=SnapshotConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    runs: list[RunConfig] = field(default_factory=lambda: [RunConfig()])

    def validate(self) -> SimConfig:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"name must be a non-empty string, got {self.name!r}")
        _nonneg_int(self.steps, "steps")
        _choice(self.device, ("cpu", "cuda"), "device")
        if self.backend is not None:
            _choice(self.backend, ("numpy", "torch", "cupy"), "backend")
        _choice(self.dtype, ("float32", "float64"), "dtype")
        if not isinstance(self.output, str) or not self.output:
            raise ConfigError(f"output must be a file path, got {self.output!r}")
        _check_placeholders(self.output, "output", ("name",))
        _bool(self.store_data, "store_data")
        self.snapshots.validate()
        self.eval.validate()
        if not self.runs:
            raise ConfigError("the config defines no runs")
        for i, run in enumerate(self.runs):
            try:
                run.validate()
            except ConfigError as exc:
                raise ConfigError(f"run {i}: {exc}") if len(self.runs) > 1 else exc from None
        return self

    def output_path(self) -> Path:
        return Path(self.output.replace("{name}", self.name))

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable; callables become their names)."""
        return _to_plain(dataclasses.asdict(self))


# --------------------------------------------------------------------------- loading

SIM_KEYS = {f.name for f in dataclasses.fields(SimConfig)} - {"runs"}
RUN_KEYS = {f.name for f in dataclasses.fields(RunConfig)}


def load_config(path: str | Path, overrides: Sequence[str] = (), *, allow_empty: bool = True) -> SimConfig:
    """Read a TOML or YAML config file, apply ``key=value`` overrides, validate.

    A file names its steps explicitly, so a snapshot or evaluation step past
    ``steps`` is an error here (the Python API, :func:`resolve_steps`, drops them).

    Parameters
    ----------
    path : the .toml, .yaml or .yml file.
    overrides : ``dotted.key=value`` strings, applied in order (see :func:`apply_override`).
    allow_empty : an empty file (or one of comments only) means the default config, the
        paper's size (n=2000, d=1000, h=1500, 143 MB of snapshots); False makes it an error,
        as the command line does.

    Raises
    ------
    ConfigError
        Missing, unreadable, binary or empty file, syntax error, unknown key, bad value.
    """
    path = Path(path)
    raw = _read_config_file(path, allow_empty)
    raw.setdefault("name", path.stem)
    for item in overrides:
        apply_override(raw, item)
    sim = from_dict(raw)
    _check_steps_in_range(sim.snapshots.at, sim.steps, "snapshots.at")
    _check_steps_in_range(sim.eval.at, sim.steps, "eval.at")
    return sim


def _read_config_file(path: Path, allow_empty: bool) -> dict:
    """The top-level table of a config file; every way it can be wrong is a one-line ConfigError."""
    where = f"config file {str(path)!r}"
    if path.is_dir():
        raise ConfigError(f"{where} is a directory; expected a .toml, .yaml or .yml file (examples in sims/)")
    if not path.is_file():
        raise ConfigError(f"{where} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"{where}: unknown format; use .toml, .yaml or .yml")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not a text file (byte {exc.start} is not UTF-8); "
                          "expected TOML or YAML text") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror or exc}") from None
    try:
        if suffix == ".toml":
            raw = _toml_loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where} is not valid {suffix[1:].upper()}: {msg}") from None
    if raw is None:  # YAML: an empty document
        raw = {}
    if raw == {} and not allow_empty:
        # the defaults are the paper's setting (n=2000, d=1000, h=1500): never run them by accident
        raise ConfigError(f"{where} is empty; a config sets at least the model sizes and the optimizer "
                          "(copy one from sims/, e.g. sims/demo.toml)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must hold a table of keys at the top")
    return raw


def apply_override(raw: dict, item: str) -> None:
    """Apply one ``dotted.key=value`` override to a raw config dict in place.

    The value is parsed as JSON when it can be (numbers, true/false, lists),
    else taken as a string.
    """
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key=value, e.g. optimizer.lr=0.1")
    key, _, text = item.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"override {item!r} has an empty key")
    value = parse_value(text.strip())
    grid = raw.get("grid")
    if isinstance(grid, dict):
        grid.pop(key, None)  # an explicit value replaces a swept one
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"override {item!r}: {part!r} is not a table")
        node = nxt
    node[parts[-1]] = value


def parse_value(text: str) -> Any:
    """Parse a command-line value: JSON if possible (1e-3, true, [1, 2]), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        return text


def from_dict(raw: Mapping[str, Any]) -> SimConfig:
    """Build and validate a :class:`SimConfig` from plain data.

    Top-level keys are simulation keys (name, steps, device, dtype, output,
    store_data, snapshots, eval) or base-run keys (model, optimizer,
    schedule, seed, data_seed, init_seed, weight_norm, label).  ``grid`` maps
    dotted run keys to lists of values (Cartesian product); ``runs`` is a list
    of per-run override tables.  The product is runs x grid points.
    """
    raw = copy.deepcopy(dict(raw))
    grid = raw.pop("grid", None) or {}
    run_list = raw.pop("runs", None)
    sim_raw = {k: raw.pop(k) for k in list(raw) if k in SIM_KEYS}
    base_run = raw
    unknown = set(base_run) - RUN_KEYS
    if unknown:
        raise ConfigError(_unknown_msg(sorted(unknown)[0], "", SIM_KEYS | RUN_KEYS | {"grid", "runs"}))
    if not isinstance(grid, dict):
        raise ConfigError("grid must be a table of dotted keys to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{key} must be a non-empty list of values, got {values!r}")
        if key.split(".")[0] not in RUN_KEYS:
            raise ConfigError(
                f"grid.{key}: only per-run keys can be swept ({', '.join(sorted(RUN_KEYS))})"
            )
    if run_list is None:
        run_list = [{}]
    if not isinstance(run_list, list) or not all(isinstance(r, dict) for r in run_list):
        raise ConfigError("runs must be a list of tables of per-run overrides")

    runs = []
    grid_keys = list(grid)
    for i, override in enumerate(run_list):
        for combo in itertools.product(*(grid[k] for k in grid_keys)):
            merged = copy.deepcopy(base_run)
            _deep_update(merged, override, f"runs[{i}]")
            for key, value in zip(grid_keys, combo):
                _set_dotted(merged, key, value)
            runs.append(_build(RunConfig, merged, ""))
    sim = _build(SimConfig, sim_raw, "")
    sim.runs = runs
    return sim.validate()


def _deep_update(target: dict, src: Mapping, where: str) -> None:
    for key, value in src.items():
        if key not in RUN_KEYS and "." not in key:
            raise ConfigError(_unknown_msg(key, f"{where}.", RUN_KEYS))
        if "." in key:
            _set_dotted(target, key, value)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key].update(value)
        else:
            target[key] = copy.deepcopy(value)


def _set_dotted(target: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _build(cls: type, raw: Any, prefix: str) -> Any:
    """Instantiate dataclass ``cls`` from a dict, naming unknown keys and bad types."""
    if isinstance(raw, cls):
        return raw
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(_unknown_msg(key, prefix, fields))
        sub = _NESTED.get((cls, key))
        if sub is not None:
            kwargs[key] = _build(sub, value, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, fields[key], f"{prefix}{key}")
    return cls(**kwargs)


def _coerce(value: Any, f: dataclasses.Field, key: str) -> Any:
    """Accept numeric strings for float fields (YAML reads 1e-3 as a string)."""
    if f.type in ("float",) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {value!r}") from None
    return value


def _unknown_msg(key: str, prefix: str, valid: Any) -> str:
    import difflib

    valid = sorted(valid)
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown config key '{prefix}{key}'{hint}; valid keys: {', '.join(valid)}"


_NESTED = {
    (RunConfig, "model"): ModelConfig,
    (RunConfig, "optimizer"): OptimizerConfig,
    (RunConfig, "schedule"): ScheduleConfig,
    (SimConfig, "snapshots"): SnapshotConfig,
    (SimConfig, "eval"): EvalConfig,
}


def _toml_loads(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def _to_plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    if callable(obj):
        return f"callable:{getattr(obj, 'name', getattr(obj, '__name__', repr(obj)))}"
    return obj


def flatten(d: Mapping, prefix: str = "") -> dict:
    """Flatten nested dicts to dotted keys (for HDF5 attributes and tables)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# --------------------------------------------------------------------------- checks


def _int(v: Any, key: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{key} must be an integer, got {v!r}")
    return v


def _positive_int(v: Any, key: str) -> int:
    if _int(v, key) <= 0:
        raise ConfigError(f"{key} = {v} must be a positive integer")
    return v


def _nonneg_int(v: Any, key: str) -> int:
    if _int(v, key) < 0:
        raise ConfigError(f"{key} = {v} must be a non-negative integer")
    return v


def _float(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{key} must be a number, got {v!r}")
    if not math.isfinite(v):
        raise ConfigError(f"{key} must be finite, got {v!r}")
    return float(v)


def _positive_float(v: Any, key: str) -> float:
    if _float(v, key) <= 0:
        raise ConfigError(f"{key} = {v} must be > 0")
    return v


def _nonneg_float(v: Any, key: str) -> float:
    if _float(v, key) < 0:
        raise ConfigError(f"{key} = {v} must be >= 0")
    return v


def _bool(v: Any, key: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{key} must be true or false, got {v!r}")
    return v


def _choice(v: Any, choices: Sequence[str], key: str) -> str:
    if v not in choices:
        raise ConfigError(f"{key} = {v!r} is not valid; choose one of {', '.join(choices)}")
    return v


def _choice_or_callable(v: Any, choices: Sequence[str], key: str) -> None:
    if callable(v):
        return
    _choice(v, choices, key)


def _check_schedule_spec(spec: Any, key: str) -> None:
    if isinstance(spec, bool):
        raise ConfigError(f"{key} must be an int, a list of steps, 'log:N', 'first_last' or 'none'")
    if isinstance(spec, int):
        if spec <= 0:
            raise ConfigError(f"{key} = {spec} must be a positive step interval")
        return
    if isinstance(spec, list):
        for s in spec:
            _nonneg_int(s, f"{key}[]")
        return
    if isinstance(spec, str):
        if spec in ("first_last", "none"):
            return
        if spec.startswith("log:"):
            try:
                n = int(spec[4:])
            except ValueError:
                n = 0
            if n >= 2:
                return
    raise ConfigError(
        f"{key} = {spec!r} is not valid; use an int k (every k steps), a list of steps, "
        "'log:N' (N >= 2), 'first_last' or 'none'"
    )


def _check_steps_in_range(spec: Any, steps: int, key: str) -> None:
    """An explicit list of steps must lie in 0..steps (W_0 .. W_steps exist; nothing later)."""
    if isinstance(spec, list):
        late = [s for s in spec if s > steps]
        if late:
            raise ConfigError(f"{key} = {spec!r}: step {late[0]} is past the end of the run; "
                              f"with steps = {steps} the valid steps are 0..{steps}")


def _check_placeholders(text: str, key: str, valid: Sequence[str]) -> None:
    """Only the ``{name}``-style placeholders in ``valid`` may appear in ``text``."""
    import re

    for found in re.findall(r"\{([^{}]*)\}", text):
        if found not in valid:
            raise ConfigError(f"{key} = {text!r}: unknown placeholder {{{found}}}; "
                              f"valid placeholders: {', '.join('{' + v + '}' for v in valid)}")


def resolve_steps(spec: Any, steps: int) -> list[int]:
    """The sorted steps in [0, steps] that a schedule spec selects.

    An int k selects 0, k, 2k, ... and always ``steps``; ``"log:N"`` selects
    0 and about N-1 log-spaced steps up to ``steps``; steps beyond ``steps`` in
    an explicit list are dropped.
    """
    if spec == "none":
        return []
    if spec == "first_last":
        return sorted({0, steps})
    if isinstance(spec, int):
        return sorted(set(range(0, steps + 1, spec)) | {steps})
    if isinstance(spec, list):
        return sorted({int(s) for s in spec if 0 <= s <= steps})
    if isinstance(spec, str) and spec.startswith("log:"):
        import numpy as np

        n = int(spec[4:])
        if steps == 0:
            return [0]
        pts = np.unique(np.rint(np.geomspace(1, steps, max(n - 1, 1))).astype(int))
        return sorted({0, steps, *(int(p) for p in pts)})
    raise ConfigError(f"schedule spec {spec!r} is not valid")


def simulation(runs: Sequence[RunConfig] | RunConfig | None = None, **sim_keys: Any) -> SimConfig:
    """Build a :class:`SimConfig` from Python objects and validate it.

    >>> from htdyn.config import RunConfig, OptimizerConfig, simulation
    >>> sim = simulation([RunConfig(optimizer=OptimizerConfig("adam", lr=lr)) for lr in (0.1, 1.0)],
    ...                  steps=10)
    """
    if runs is None:
        runs = [RunConfig()]
    elif isinstance(runs, RunConfig):
        runs = [runs]
    for key in ("snapshots", "eval"):
        if isinstance(sim_keys.get(key), Mapping):
            sim_keys[key] = _build(_NESTED[(SimConfig, key)], sim_keys[key], f"{key}.")
    unknown = set(sim_keys) - SIM_KEYS
    if unknown:
        raise ConfigError(_unknown_msg(sorted(unknown)[0], "", SIM_KEYS))
    return SimConfig(runs=list(runs), **sim_keys).validate()


Callback = Callable[[int], None]

"""Config files (TOML, YAML) and ``key=value`` overrides (``--set``).

Every way a file can be wrong (missing, a directory, binary, unknown format,
syntax error, empty when that is refused) is a one-line :class:`ConfigError`
naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .build import from_dict
from .schema import SimConfig
from .steps import check_steps_in_range


def load_config(path: str | Path, overrides: Sequence[str] = (), *, allow_empty: bool = True) -> SimConfig:
    """Read a TOML or YAML config file, apply ``key=value`` overrides, validate.

    A file names its steps explicitly, so a snapshot or evaluation step past
    ``steps`` is an error here (the Python API, :func:`resolve_steps`, drops them).

    Parameters
    ----------
    path : str or Path
        The .toml, .yaml or .yml file.  Its stem is the simulation's ``name`` unless it sets one.
    overrides : sequence of str
        ``dotted.key=value`` strings, applied in order (see :func:`apply_override`).
    allow_empty : bool
        An empty file (or one of comments only) means the default config, the
        paper's size (n=2000, d=1000, h=1500, 143 MB of snapshots); False makes it an error,
        as the command line does.

    Returns
    -------
    SimConfig
        Validated.

    Raises
    ------
    ConfigError
        Missing, unreadable, binary or empty file, syntax error, unknown key, bad value.

    Examples
    --------
    >>> import htdyn, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.toml"
    >>> _ = path.write_text('''
    ... steps = 3
    ... [model]
    ... n = 64
    ... d = 16
    ... h = 24
    ... [optimizer]
    ... name = "gd"
    ... lr = 0.5
    ... ''')
    >>> sim = htdyn.load_config(path, ["optimizer.lr=2.0"])
    >>> sim.name, sim.runs[0].optimizer.lr, str(sim.output_path())
    ('tiny', 2.0, 'outputs/tiny.h5')
    >>> htdyn.load_config(path, ["model.hidden=8"])
    Traceback (most recent call last):
    ...
    htdyn.errors.ConfigError: unknown config key 'model.hidden'; valid keys: activation, d, h, ...
    """
    path = Path(path)
    raw = read_config_file(path, allow_empty)
    if isinstance(raw.get("sweep"), dict):
        raise ConfigError(f"{str(path)!r} is a sweep file (it has a [sweep] table of axes); run it with: "
                          f"htdyn sweep {path} -o DIR")
    raw.setdefault("name", path.stem)
    for item in overrides:
        apply_override(raw, item)
    sim = from_dict(raw)
    check_steps_in_range(sim.snapshots.at, sim.steps, "snapshots.at")
    check_steps_in_range(sim.eval.at, sim.steps, "eval.at")
    return sim


def read_config_file(path: Path, allow_empty: bool = True, *, what: str = "config file",
                     examples: str = "sims/") -> dict:
    """The top-level table of a config (or sweep) file; every way it can be wrong is a one-line ConfigError.

    ``what`` names the file in messages, ``examples`` where ready ones are.
    """
    path = Path(path)
    where = f"{what} {str(path)!r}"
    if path.is_dir():
        raise ConfigError(f"{where} is a directory; expected a .toml, .yaml or .yml file (examples in {examples})")
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
        raw = _toml_loads(text) if suffix == ".toml" else _yaml_loads(text)
    except Exception as exc:
        raise ConfigError(f"{where} is not valid {suffix[1:].upper()}: {_syntax_error(exc)}") from None
    if raw is None:  # YAML: an empty document
        raw = {}
    if raw == {} and not allow_empty:
        # the defaults are the paper's setting (n=2000, d=1000, h=1500): never run them by accident
        raise ConfigError(f"{where} is empty; a config sets at least the model sizes and the optimizer "
                          "(copy one from sims/, e.g. sims/demo.toml)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must hold a table of keys at the top")
    return raw


def _syntax_error(exc: Exception) -> str:
    """A parser's error on one line, with its cause and where: tomllib's text already says
    "(at line L, column C)"; pyyaml's is several lines (context, problem, marks), rejoined."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem is None:
        return " ".join(str(exc).split()) or type(exc).__name__
    out = f"{problem} (at line {mark.line + 1}, column {mark.column + 1})" if mark is not None else str(problem)
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        out += f", {context}" + (f" (at line {cmark.line + 1}, column {cmark.column + 1})" if cmark is not None
                                 else "")
    return out


def apply_override(raw: dict, item: str) -> None:
    """Apply one ``dotted.key=value`` override to a raw config dict in place.

    The value is parsed by :func:`parse_value`.  An explicit value of a swept key
    replaces its ``[grid]`` entry.
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


def _toml_loads(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def _yaml_loads(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)

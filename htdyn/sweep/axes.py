"""Sweep axes: the values one dotted run key takes, and how axes combine into points.

An axis is written in a sweep file's ``[sweep]`` table as

- a list: ``"optimizer.lr" = [0.1, 1.0, 10.0]``;
- a range: ``"model.d" = {range = [250, 1001, 250]}``: start + k * step for k = 0, 1, ...
  while below stop (above it for a negative step; Python's ``range``).  Floats are
  allowed and the arithmetic is exact in decimal, on the numbers as written:
  ``[0.7, 1.0, 0.1]`` is 0.7, 0.8, 0.9 and ``[1.1, 1.4, 0.1]`` is 1.1, 1.2, 1.3 (stop
  never included; binary floating point would give 1.0 in the first);
- a log-range: ``"optimizer.lr" = {logspace = [-3, 3.5], num = 10}``: 10 ** e for
  ``num`` exponents e equally spaced from -3 to 3.5 inclusive (``numpy.logspace``);
- a lin-range: ``{linspace = [0, 1], num = 5}`` (``numpy.linspace``).

Computed floats are rounded to 12 significant digits (``float(f"{v:.12g}")``), so
``logspace = [-3, 0]`` gives exactly 0.001, 0.01, 0.1, 1.0: the values, and so the
run ids (:mod:`htdyn.io.runid`), do not depend on the last bit of a numpy version's
``power``.  Axes combine as a Cartesian product (the first axis varies slowest),
except the axes of a *zip group*, which advance together (equal lengths, checked)
and count as one factor of the product, placed where its first axis is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..config.grid import grid_points
from ..errors import ConfigError

__all__ = ["Axis", "axis_values", "expand_points"]


@dataclass(frozen=True)
class Axis:
    """One swept key and its values, in order."""

    key: str
    values: tuple

    def __len__(self) -> int:
        return len(self.values)


def _round(v: float) -> float:
    return float(f"{v:.12g}")


def _numbers(spec: Any, n: int, what: str, key: str) -> list[float]:
    if not isinstance(spec, list) or len(spec) != n or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in spec):
        raise ConfigError(f"sweep.{key}: {what} must be a list of {n} finite numbers, got {spec!r}")
    return [x for x in spec]


def _num(spec: Mapping, key: str, form: str) -> int:
    num = spec.get("num")
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError(f"sweep.{key}: {{{form} = [start, stop], num = N}} needs num, a positive integer; "
                          f"got {num!r}")
    return num


def _range(spec: Any, key: str) -> list:
    if not isinstance(spec, list) or len(spec) not in (2, 3):
        raise ConfigError(f"sweep.{key}: range must be [start, stop] or [start, stop, step], got {spec!r}")
    start, stop, *rest = _numbers(spec, len(spec), "range", key)
    step = rest[0] if rest else 1
    if step == 0:
        raise ConfigError(f"sweep.{key}: range step must not be 0")
    if all(isinstance(x, int) for x in (start, stop, step)):
        return list(range(start, stop, step))
    a, b, c = (Decimal(repr(x)) for x in (start, stop, step))  # the numbers as written, exactly
    count = max(0, math.ceil((b - a) / c))
    return [_round(float(a + k * c)) for k in range(count)]


def axis_values(key: str, spec: Any) -> Axis:
    """The values of one axis from its spec (a list, ``range``, ``logspace`` or ``linspace``).

    Raises
    ------
    ConfigError
        A malformed spec, or one that gives no values.
    """
    if isinstance(spec, list):
        values = list(spec)
    elif isinstance(spec, Mapping):
        forms = [f for f in ("range", "logspace", "linspace") if f in spec]
        extra = set(spec) - {"range", "logspace", "linspace", "num"}
        if len(forms) != 1 or extra or (forms == ["range"] and "num" in spec):
            raise ConfigError(f"sweep.{key}: an axis table is {{range = [start, stop, step]}}, "
                              f"{{logspace = [a, b], num = N}} or {{linspace = [a, b], num = N}}; got {dict(spec)!r}")
        form = forms[0]
        if form == "range":
            values = _range(spec["range"], key)
        else:
            a, b = _numbers(spec[form], 2, form, key)
            num = _num(spec, key, form)
            ts = [a + (b - a) * i / (num - 1) for i in range(num)] if num > 1 else [a]
            values = [_round(10.0 ** t if form == "logspace" else t) for t in ts]
    else:
        raise ConfigError(f"sweep.{key} must be a list of values or an axis table "
                          f"({{range = ...}}, {{logspace = ..., num = N}}), got {spec!r}")
    if not values:
        raise ConfigError(f"sweep.{key} is empty; an axis needs at least one value")
    for i, v in enumerate(values):
        if any(_same(v, w) for w in values[:i]):
            raise ConfigError(f"sweep.{key} lists the value {v!r} twice; each value of an axis is one point, "
                              "give it once")
    return Axis(key, tuple(values))


def _same(a: Any, b: Any) -> bool:
    """Equal as config values: 1 and 1.0 are (ints in float fields become floats), True and 1 are not."""
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
        and not isinstance(b, bool) and a == b)


def _zip_groups(zip_spec: Any, keys: Sequence[str]) -> list[list[str]]:
    """``zip``: a list of axis keys (one group) or a list of such lists."""
    if zip_spec is None or zip_spec == []:
        return []
    groups = [zip_spec] if isinstance(zip_spec, list) and all(isinstance(k, str) for k in zip_spec) else zip_spec
    if not isinstance(groups, list) or not all(isinstance(g, list) and all(isinstance(k, str) for k in g)
                                                for g in groups):
        raise ConfigError(f"sweep.zip must be a list of axis keys (or a list of such lists), got {zip_spec!r}")
    seen: set[str] = set()
    for g in groups:
        if len(g) < 2:
            raise ConfigError(f"sweep.zip group {g!r} must name at least two axes")
        for k in g:
            if k not in keys:
                raise ConfigError(f"sweep.zip names {k!r}, which is not an axis of [sweep]; axes: "
                                  f"{', '.join(keys) or '(none)'}")
            if k in seen:
                raise ConfigError(f"sweep.zip names {k!r} twice; an axis belongs to at most one zip group")
            seen.add(k)
    return groups  # equal lengths: checked by grid_points


def expand_points(axes: Sequence[Axis], zip_spec: Any = None) -> tuple[list[dict], list[list[str]]]:
    """Every point of the sweep (a dict key -> value per point) and the zip groups used.

    The product runs over *factors*: each axis alone, or a zip group as one factor
    (its axes' i-th values together), in the order the axes are written; the last
    factor varies fastest (as ``itertools.product``).

    >>> a, b = Axis("x", (1, 2)), Axis("y", ("u", "v"))
    >>> expand_points([a, b])[0]
    [{'x': 1, 'y': 'u'}, {'x': 1, 'y': 'v'}, {'x': 2, 'y': 'u'}, {'x': 2, 'y': 'v'}]
    >>> expand_points([a, b], ["x", "y"])[0]
    [{'x': 1, 'y': 'u'}, {'x': 2, 'y': 'v'}]
    """
    groups = _zip_groups(zip_spec, [a.key for a in axes])
    # the product itself is the config's grid expansion (same order: axes as written, zip groups as one factor)
    points = grid_points({a.key: list(a.values) for a in axes}, groups, where="sweep")
    return points, groups

"""Grid expansion: a pure function from a base config and swept axes to the list of configs.

Used by ``[grid]`` in a config file (:func:`htdyn.config.from_dict`) and meant
for the sweep driver: plain dicts in, plain dicts out, nothing validated but
the axes themselves.

Order (stable, documented): the Cartesian product in the order of ``axes``,
the first axis varying slowest (``itertools.product``).  A *zip group* is a set
of axes of equal length stepped together, as one axis placed where its first
key appears in ``axes``.  For ``axes = {"a": [1, 2], "b": [10, 20], "c": [5, 6]}``
and ``zip_groups = [("a", "c")]`` the points are ``(a=1, c=5, b=10)``,
``(a=1, c=5, b=20)``, ``(a=2, c=6, b=10)``, ``(a=2, c=6, b=20)``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError


def grid_points(axes: Mapping[str, Sequence[Any]], zip_groups: Sequence[Sequence[str]] = (), *,
                where: str = "grid") -> list[dict[str, Any]]:
    """The grid's points, each a dict of dotted key -> value, in the documented order.

    Parameters
    ----------
    axes : dotted key -> non-empty list of values.
    zip_groups : groups of keys of ``axes`` whose lists have equal lengths and are stepped
        together (the i-th point of a group takes the i-th value of each of its axes).
    where : how messages name the axes (``grid.optimizer.lr``).

    Returns
    -------
    list of dict
        ``prod_j len(dimension_j)`` points; one empty point when ``axes`` is empty.

    Raises
    ------
    ConfigError
        An axis that is not a non-empty list, a zip group naming a key that is not an
        axis or a key twice, or a zip group of unequal lengths.
    """
    for key, values in axes.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"{where}.{key} must be a non-empty list of values, got {values!r}")
    group_of = _group_index(axes, zip_groups, where)
    dims: list[tuple[str, ...]] = []  # each dimension: the keys it sets
    for key in axes:
        g = group_of.get(key)
        keys = (key,) if g is None else tuple(zip_groups[g])
        if keys not in dims:
            dims.append(keys)
    choices = [list(zip(*(axes[k] for k in keys))) for keys in dims]
    return [{k: v for keys, vals in zip(dims, combo) for k, v in zip(keys, vals)}
            for combo in itertools.product(*choices)]


def expand_grid(base: Mapping[str, Any], axes: Mapping[str, Sequence[Any]],
                zip_groups: Sequence[Sequence[str]] = (), *, where: str = "grid") -> list[dict[str, Any]]:
    """Copies of ``base`` with each grid point's dotted keys set, in :func:`grid_points` order.

    ``base`` is never modified; each returned dict is an independent deep copy.
    ``"optimizer.lr"`` sets ``d["optimizer"]["lr"]``, creating missing tables.

    >>> expand_grid({"seed": 0}, {"optimizer.lr": [0.1, 1.0], "seed": [0, 1]})[1]
    {'seed': 1, 'optimizer': {'lr': 0.1}}
    """
    out = []
    for point in grid_points(axes, zip_groups, where=where):
        d = copy.deepcopy(dict(base))
        for key, value in point.items():
            set_dotted(d, key, copy.deepcopy(value), where=where)
        out.append(d)
    return out


def set_dotted(target: dict, key: str, value: Any, *, where: str = "grid") -> None:
    """``target[a][b] = value`` for ``key = "a.b"``, creating missing tables."""
    parts = key.split(".")
    node = target
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"{where}.{key}: {part!r} is not a table (it is {nxt!r})")
        node = nxt
    node[parts[-1]] = value


def _group_index(axes: Mapping[str, Sequence[Any]], zip_groups: Sequence[Sequence[str]],
                 where: str) -> dict[str, int]:
    """key -> index of its zip group, after checking the groups."""
    group_of: dict[str, int] = {}
    for g, keys in enumerate(zip_groups):
        if isinstance(keys, str) or not keys:
            raise ConfigError(f"{where}: a zip group must be a non-empty list of swept keys, got {keys!r}")
        for key in keys:
            if key not in axes:
                raise ConfigError(f"{where}: zip group {list(keys)!r} names {key!r}, which is not swept; "
                                  f"swept keys: {', '.join(axes) or '(none)'}")
            if key in group_of:
                raise ConfigError(f"{where}: {key!r} is in two zip groups; a key can be zipped once")
            group_of[key] = g
        lengths = {len(axes[k]) for k in keys}
        if len(lengths) > 1:
            sizes = ", ".join(f"{k} ({len(axes[k])})" for k in keys)
            raise ConfigError(f"{where}: zipped axes must have equal lengths; got {sizes}")
    return group_of

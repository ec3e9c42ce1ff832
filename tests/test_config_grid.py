"""expand_grid / grid_points: product order, zipped axes, refusals, purity."""

from __future__ import annotations

import copy
import itertools

import pytest

from htdyn.config import expand_grid, from_dict, grid_points
from htdyn.errors import ConfigError


def test_product_order_first_axis_slowest() -> None:
    axes = {"optimizer.lr": [0.1, 1.0, 10.0], "seed": [0, 1], "model.activation": ["tanh", "relu"]}
    pts = grid_points(axes)
    expected = [{"optimizer.lr": a, "seed": b, "model.activation": c}
                for a in [0.1, 1.0, 10.0] for b in [0, 1] for c in ["tanh", "relu"]]
    assert pts == expected and len(pts) == 12


def test_expand_sets_dotted_keys_and_keeps_base() -> None:
    base = {"optimizer": {"name": "adam", "lr": 5.0}, "seed": 9}
    before = copy.deepcopy(base)
    out = expand_grid(base, {"optimizer.lr": [0.1, 1.0], "model.h": [8]})
    assert base == before  # pure: the base is not modified
    assert out == [{"optimizer": {"name": "adam", "lr": 0.1}, "seed": 9, "model": {"h": 8}},
                   {"optimizer": {"name": "adam", "lr": 1.0}, "seed": 9, "model": {"h": 8}}]
    out[0]["optimizer"]["name"] = "gd"
    assert out[1]["optimizer"]["name"] == "adam" and base["optimizer"]["name"] == "adam"  # independent copies


def test_values_are_copied() -> None:
    axes = {"snapshots.at": [[0, 1]], "seed": [0, 1]}
    out = expand_grid({}, axes)
    out[0]["snapshots"]["at"].append(5)
    assert out[1]["snapshots"]["at"] == [0, 1] and axes["snapshots.at"] == [[0, 1]]


def test_no_axes_is_one_point() -> None:
    assert grid_points({}) == [{}]
    assert expand_grid({"seed": 3}, {}) == [{"seed": 3}]


def test_zip_group_steps_together_at_its_first_key() -> None:
    axes = {"a": [1, 2], "b": [10, 20, 30], "c": [5, 6]}
    pts = grid_points(axes, zip_groups=[("a", "c")])
    assert [(p["a"], p["c"], p["b"]) for p in pts] == [(1, 5, 10), (1, 5, 20), (1, 5, 30),
                                                       (2, 6, 10), (2, 6, 20), (2, 6, 30)]
    # the group sits where its first key (in axes order) appears: here after b
    pts = grid_points({"b": [10, 20], "a": [1, 2], "c": [5, 6]}, zip_groups=[("c", "a")])
    assert [(p["b"], p["a"], p["c"]) for p in pts] == [(10, 1, 5), (10, 2, 6), (20, 1, 5), (20, 2, 6)]


def test_two_zip_groups_and_a_free_axis() -> None:
    axes = {"lr": [1, 2, 3], "wd": [0, 0.1, 0.2], "seed": [7, 8], "h": [4, 5], "d": [6, 7]}
    pts = grid_points(axes, zip_groups=[["lr", "wd"], ["h", "d"]])
    expected = [{"lr": lr, "wd": wd, "seed": s, "h": h, "d": d}
                for (lr, wd), s, (h, d) in itertools.product(zip([1, 2, 3], [0, 0.1, 0.2]), [7, 8],
                                                             zip([4, 5], [6, 7]))]
    assert pts == expected and len(pts) == 3 * 2 * 2


@pytest.mark.parametrize("axes, groups, match", [
    ({"optimizer.lr": [0.1, 1.0, 10.0], "schedule.gamma": [0.5, 0.9]}, [("optimizer.lr", "schedule.gamma")],
     r"zipped axes must have equal lengths; got optimizer.lr \(3\), schedule.gamma \(2\)"),
    ({"seed": []}, [], r"grid.seed must be a non-empty list of values, got \[\]"),
    ({"seed": 3}, [], "grid.seed must be a non-empty list"),
    ({"seed": "012"}, [], "grid.seed must be a non-empty list"),
    ({"a": [1], "b": [2]}, [("a", "z")], "names 'z', which is not swept; swept keys: a, b"),
    ({"a": [1], "b": [2]}, [("a",), ("a", "b")], "'a' is in two zip groups"),
    ({"a": [1]}, ["a"], "zip group must be a non-empty list"),
    ({"a": [1]}, [()], "zip group must be a non-empty list"),
])
def test_refusals(axes: dict, groups: list, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        grid_points(axes, zip_groups=groups)


def test_parent_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"grid.optimizer.lr: 'optimizer' is not a table"):
        expand_grid({"optimizer": "adam"}, {"optimizer.lr": [0.1]})


def test_where_names_the_caller() -> None:
    with pytest.raises(ConfigError, match="sweep.seed must be a non-empty list"):
        grid_points({"seed": []}, where="sweep")


def test_from_dict_uses_the_same_order() -> None:
    grid = {"optimizer.lr": [0.1, 1.0], "seed": [0, 1, 2]}
    sim = from_dict({"model": {"n": 8, "d": 4, "h": 4}, "grid": grid})
    assert [(r.optimizer.lr, r.seed) for r in sim.runs] == [(p["optimizer.lr"], p["seed"]) for p in grid_points(grid)]


def test_config_grid_through_a_non_table_parent_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'optimizer' is not a table"):
        from_dict({"optimizer": "adam", "grid": {"optimizer.lr": [0.1]}})


def test_config_loads_no_numpy_or_training_code() -> None:
    """The CLI sets BLAS options before numpy loads: reading and validating a config must not load it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; from htdyn.config import from_dict, expand_grid; "
            "from_dict({'grid': {'seed': [0, 1]}}); "
            "print(sorted(m for m in sys.modules if m == 'numpy' or m.startswith('htdyn.train')))")
    root = str(Path(__file__).resolve().parents[1])
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=root))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"

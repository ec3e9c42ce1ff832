"""Step specs: which steps of a run store a snapshot or are evaluated.

A spec is an int k (0, k, 2k, ... and the last step), a list of steps,
``"log:N"`` (about N log-spaced steps, 0 and the last included),
``"first_last"`` or ``"none"``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

_SPEC_HELP = "use an int k (every k steps), a list of steps, 'log:N' (N >= 2), 'first_last' or 'none'"


def check_step_spec(spec: Any, key: str) -> None:
    """Raise a :class:`ConfigError` naming ``key`` unless ``spec`` is a valid step spec."""
    if isinstance(spec, bool):
        raise ConfigError(f"{key} must be an int, a list of steps, 'log:N', 'first_last' or 'none'")
    if isinstance(spec, int):
        if spec <= 0:
            raise ConfigError(f"{key} = {spec} must be a positive step interval")
        return
    if isinstance(spec, list):
        for s in spec:
            if isinstance(s, bool) or not isinstance(s, int):
                raise ConfigError(f"{key}[] must be an integer, got {s!r}")
            if s < 0:
                raise ConfigError(f"{key}[] = {s} must be a non-negative integer")
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
    raise ConfigError(f"{key} = {spec!r} is not valid; {_SPEC_HELP}")


def check_steps_in_range(spec: Any, steps: int, key: str) -> None:
    """An explicit list of steps must lie in 0..steps (W_0 .. W_steps exist; nothing later)."""
    if isinstance(spec, list):
        late = [s for s in spec if s > steps]
        if late:
            raise ConfigError(f"{key} = {spec!r}: step {late[0]} is past the end of the run; "
                              f"with steps = {steps} the valid steps are 0..{steps}")


def resolve_steps(spec: Any, steps: int) -> list[int]:
    """The sorted steps in [0, steps] that a schedule spec selects.

    An int k selects 0, k, 2k, ... and always ``steps``; ``"log:N"`` selects
    0 and about N-1 log-spaced steps up to ``steps`` (the rounded
    ``geomspace(1, steps, N - 1)``); steps beyond ``steps`` in an explicit list
    are dropped.
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

"""How a sweep's repeats get their seeds: a documented, stable derivation.

Repeat r (r = 0 .. repeats - 1) of every point of a sweep runs with

    seed      = S + r           (S: the spec's ``seed``, default 0)
    data_seed = D + r           only if the spec sets ``data_seed = D`` (else it follows seed)
    init_seed = I + r           only if the spec sets ``init_seed = I`` (else it follows seed)

and an axis over one of these keys gives its value v + r.  So within a repeat every
point shares the teacher, the three data sets (when the sizes agree) and the initial
weights, which is the paper's pairing: its curves over the learning rate are paired
(Kothapalli et al. 2025, the official code's lr sweep); different repeats differ in all three.
The engine draws each from its own stream of the seed (``htdyn.train.data``), so a
sweep run equals ``htdyn run`` of the same config with that seed.

This derivation is part of what makes a sweep directory resumable by a later release
of htdyn: it never changes (a new one would get a new name and be opt-in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SEED_KEYS = ("seed", "data_seed", "init_seed")
#: the name of this derivation, stored in a sweep's manifest
DERIVATION = "offset-v1"


def repeat_seeds(base: Mapping[str, Any], repeat: int) -> dict[str, int]:
    """The seed keys repeat ``repeat`` sets, from the base run's (or a point's) seed keys.

    >>> repeat_seeds({"seed": 7}, 2)
    {'seed': 9}
    >>> repeat_seeds({"seed": 0, "data_seed": 100}, 1)
    {'seed': 1, 'data_seed': 101}
    """
    out = {"seed": int(base.get("seed", 0) or 0) + repeat}
    for key in ("data_seed", "init_seed"):
        if base.get(key) is not None:
            out[key] = int(base[key]) + repeat
    return out

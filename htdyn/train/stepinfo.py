"""What one optimizer step of a batch group produces: the engine's :class:`StepResult` and the hook's :class:`StepInfo`.

Both sit below the loop, the recorder and ``simulate``, which all pass them on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["StepInfo", "StepResult"]


@dataclass
class StepResult:
    """One optimizer step of a group: W_{t+1}, a_{t+1}, the update's source W_t and the host losses."""

    t: int
    W: Any
    W_next: Any
    a_next: Any
    loss: np.ndarray


class StepInfo:
    """What a step hook sees after optimizer step ``t`` of a batch group.

    Arrays are backend arrays with a leading run axis (positions in ``runs``).
    ``W`` is W_t, ``W_next`` is W_{t+1}, ``update`` is M_t = W_{t+1} - W_t,
    ``state`` the optimizer state after the step (torch's names), ``loss`` the
    host losses of W_t, ``active`` which runs are still training.

    ``W``, ``W_next``, ``update`` and ``state`` are copies, made on first access,
    so a hook may keep them (for example to collect every update in memory).
    ``view(name)`` returns the engine's own buffer instead, without a copy: it
    is valid only during the call (later steps overwrite it), for hooks that
    consume the arrays at once (write them out, reduce them to numbers).

    Attributes
    ----------
    t : int
        The optimizer step just taken (W_t -> W_{t+1}).
    runs : list of int
        The simulation's run indices of the group, in the order of the leading axis.
    W, W_next, update : array
        W_t, W_{t+1} and M_t, shape (len(runs), h, d); copies.
    state : dict
        The optimizer state after the step (copies; empty for plain GD).
    loss : numpy.ndarray
        The loss of W_t of each run.
    active : numpy.ndarray of bool
        Which runs are still training (a diverged run is frozen).

    Examples
    --------
    Keep the norm of every update of a tiny Adam run:

    >>> import htdyn
    >>> import numpy as np
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)), steps=3)
    >>> seen = []
    >>> def hook(info: htdyn.StepInfo) -> None:
    ...     seen.append((info.t, info.runs, sorted(info.state), float(np.linalg.norm(info.view("update")))))
    >>> _ = htdyn.simulate(sim, path=False, on_step=hook)
    >>> [(t, runs, state) for t, runs, state, _ in seen]
    [(0, [0], ['exp_avg', 'exp_avg_sq']), (1, [0], ['exp_avg', 'exp_avg_sq']), (2, [0], ['exp_avg', 'exp_avg_sq'])]
    >>> all(norm > 0 for *_, norm in seen)
    True
    """

    def __init__(self, t: int, runs: list[int], W: Any, W_next: Any, update: Any, state: dict,
                 loss: np.ndarray, active: np.ndarray):
        self.t, self.runs, self.loss, self.active = t, runs, loss, active
        self._live = {"W": W, "W_next": W_next, "update": update, "state": state}
        self._copies: dict[str, Any] = {}

    def view(self, name: str) -> Any:
        """The live array (or state dict) ``name`` without a copy; valid only during the hook call."""
        return self._live[name]

    def _copy(self, name: str) -> Any:
        if name not in self._copies:
            v = self._live[name]
            self._copies[name] = {k: _copy_array(a) for k, a in v.items()} if isinstance(v, dict) \
                else _copy_array(v)
        return self._copies[name]

    W = property(lambda self: self._copy("W"), doc="W_t (a copy).")
    W_next = property(lambda self: self._copy("W_next"), doc="W_{t+1} (a copy).")
    update = property(lambda self: self._copy("update"), doc="M_t = W_{t+1} - W_t (a copy; None without one).")
    state = property(lambda self: self._copy("state"), doc="The optimizer state after the step (copies).")


def _copy_array(a: Any) -> Any:
    if a is None:
        return None
    return a.clone() if hasattr(a, "clone") else a.copy()  # torch / numpy and CuPy

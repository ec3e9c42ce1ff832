"""What every update rule is: the interface :class:`htdyn.train.optim.BatchedOptimizer` calls."""

from __future__ import annotations

from typing import Any

import numpy as np


class Rule:
    """The update of one optimizer, applied to a batch of B runs.

    A rule writes the update Delta of one parameter into the buffer ``u`` (it
    does not change the parameter) and advances that parameter's state, a dict
    of arrays named as its declaration's ``state``.  ``opt`` is the driving
    :class:`~htdyn.train.optim.BatchedOptimizer`: per-run hyper-parameters in
    ``opt.host`` (host arrays of shape (B,)), ``opt.col`` to broadcast them,
    ``opt.ws`` (the workspace, for element-wise passes split over threads),
    ``opt.backend``, ``opt.xp``.

    Attributes
    ----------
    decoupled_decay : bool
        False: the driver adds the coupled decay wd p to the gradient before
        :meth:`update` (torch SGD / Adam); True: the rule applies its own decay.
    """

    decoupled_decay = False

    def __init__(self, opt: Any, name: str):
        self.opt = opt
        self.name = name

    def update(self, p: Any, g: Any, st: dict[str, Any], u: Any, lr: np.ndarray, k: int) -> None:
        """Write the update of parameter ``p`` (gradient ``g``) into ``u``; advance ``st``.

        Parameters
        ----------
        p, g, u : (B, ...) arrays of the backend
        st : the parameter's state (empty before the first step)
        lr : (B,) host array of this step's learning rates
        k : the step count, 1 at the first step
        """
        raise NotImplementedError

"""Optimizers batched over runs, with torch.optim semantics.

Each optimizer returns the update Delta to add to every parameter (it does
not change the parameters), so the engine can check it for divergence, mask
frozen runs and record W_{t+1} - W_t.  Hyper-parameters may differ per run:
they are arrays of shape (B, 1, ..., 1).  Formulas (g the gradient, wd the
weight decay, k = t + 1 the step count; g' = g + wd p unless the decay is decoupled):

- gd:        Delta = -lr g'
- momentum:  b = mu b + g'  (b = g' at the first step);  Delta = -lr b
- nesterov:  b as momentum;  Delta = -lr (g' + mu b)
- adam:      m = m + (1 - beta1)(g' - m);  v = beta2 v + (1 - beta2) g'^2;
             Delta = -(lr / (1 - beta1^k)) m / (sqrt(v) / sqrt(1 - beta2^k) + eps)
             (evaluated as -(lr c / (1 - beta1^k)) m / (sqrt(v) + c eps), c = sqrt(1 - beta2^k))
- adamw:     adam with g' = g, plus the decoupled decay -lr wd p
- sign:      Delta = -lr sign(g')
- muon:      Nesterov momentum orthogonalised by Newton-Schulz (:mod:`htdyn.train.optimizers.muon`)

The first six are the update rules of torch.optim.SGD, Adam and AdamW (checked
step by step against them in the tests).  Which optimizers exist, their state
buffers and hyper-parameters are declared once in
:mod:`htdyn.config.optimizers`; each update rule lives in its module under
:mod:`htdyn.train.optimizers`; this module drives the rule of a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import OptimizerConfig
from ..config.optimizers import OPTIMIZER_SPECS
from .backend import Workspace
from .optimizers import rule_class

#: optimizer name -> the names of its state buffers (torch.optim's names), from the declaration
STATE_NAMES = {s.name: s.state for s in OPTIMIZER_SPECS}
#: every hyper-parameter an optimizer declares (host arrays of shape (B,) in ``BatchedOptimizer.host``)
HYPER = tuple(sorted({h for s in OPTIMIZER_SPECS for h in s.hyper}))


class BatchedOptimizer:
    """One optimizer family applied to B runs at once.

    Parameters
    ----------
    configs : list of OptimizerConfig
        One per run, all with the same ``name``.
    backend : htdyn.backend.Backend
    """

    def __init__(self, configs: list[OptimizerConfig], backend: Any):
        names = {c.name for c in configs}
        if len(names) != 1:
            raise ValueError(f"one optimizer family per batch, got {sorted(names)}")
        self.name = names.pop()
        self.backend = backend
        self.xp = backend.xp
        self.B = len(configs)
        host = {k: np.array([getattr(c, k) for c in configs], dtype=np.float64)
                for k in HYPER}
        self.host = host
        self.use_wd = bool(np.any(host["weight_decay"] != 0))
        self.state: list[dict[str, Any]] = []
        self.ws = Workspace(backend)
        self.k = 0  # steps taken
        self.rule = rule_class(self.name)(self, self.name)

    def col(self, values: np.ndarray, ndim: int) -> Any:
        """Per-run values as a (B, 1, ..., 1) array broadcasting against a parameter."""
        return self.backend.asarray(values.reshape((self.B,) + (1,) * (ndim - 1)))

    def step(self, params: list[Any], grads: list[Any], lr: np.ndarray) -> list[Any]:
        """Updates for each parameter from its gradient; advances the state.

        The updates are written into buffers the optimizer reuses: each is
        valid until the next call.  Gradients are read, never kept.

        Parameters
        ----------
        params, grads : lists of (B, ...) arrays
        lr : (B,) host array of this step's learning rates
        """
        if not self.state:
            self.state = [{} for _ in params]
        self.k += 1
        k = self.k
        out = []
        coupled = self.use_wd and not self.rule.decoupled_decay
        for i, (p, g, st) in enumerate(zip(params, grads, self.state)):
            u = self.ws.get(f"update{i}", tuple(g.shape))  # the update, built in place
            if coupled:
                g = g + self.col(self.host["weight_decay"], p.ndim) * p
            self.rule.update(p, g, st, u, lr, k)
            out.append(u)
        return out

    def get_state(self) -> tuple[list[dict[str, Any]], int]:
        """The state to save: per parameter, its arrays by torch's names; and the steps taken."""
        return [dict(st) for st in self.state], self.k

    def set_state(self, state: list[dict[str, Any]], steps: int) -> None:
        """Continue from a saved state (arrays on this optimizer's backend) after ``steps`` steps."""
        self.state = [dict(st) for st in state]
        self.k = int(steps)

    def state_arrays(self, index: int = 0) -> dict[str, Any]:
        """The optimizer state of parameter ``index`` (0 = W), by torch's names."""
        if not self.state:
            return {}
        return dict(self.state[index])

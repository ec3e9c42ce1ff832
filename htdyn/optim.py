"""Optimizers batched over runs, with torch.optim semantics.

Each optimizer returns the update Delta to add to every parameter (it does
not change the parameters), so the engine can check it for divergence, mask
frozen runs and record W_{t+1} - W_t.  Hyper-parameters may differ per run:
they are arrays of shape (B, 1, ..., 1).  Formulas (g the gradient, wd the
weight decay, k = t + 1 the step count):

- gd:        Delta = -lr (g + wd p)
- momentum:  b = mu b + (g + wd p)  (b = g + wd p at the first step);  Delta = -lr b
- nesterov:  b as momentum;  Delta = -lr ((g + wd p) + mu b)
- adam:      g' = g + wd p;  m = m + (1 - beta1)(g' - m);  v = beta2 v + (1 - beta2) g'^2;
             Delta = -(lr / (1 - beta1^k)) m / (sqrt(v) / sqrt(1 - beta2^k) + eps)
- adamw:     adam with g' = g, plus the decoupled decay -lr wd p
- sign:      Delta = -lr sign(g + wd p)

These are the update rules of torch.optim.SGD, Adam and AdamW (checked step
by step against them in the tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import OptimizerConfig

STATE_NAMES = {
    "gd": (),
    "sign": (),
    "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
}


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
                for k in ("momentum", "beta1", "beta2", "eps", "weight_decay")}
        self.host = host
        self.use_wd = bool(np.any(host["weight_decay"] != 0))
        self.state: list[dict[str, Any]] = []
        self.k = 0  # steps taken

    def _col(self, values: np.ndarray, ndim: int) -> Any:
        """Per-run values as a (B, 1, ..., 1) array broadcasting against a parameter."""
        return self.backend.asarray(values.reshape((self.B,) + (1,) * (ndim - 1)))

    def step(self, params: list[Any], grads: list[Any], lr: np.ndarray) -> list[Any]:
        """Updates for each parameter from its gradient; advances the state.

        Parameters
        ----------
        params, grads : lists of (B, ...) arrays
        lr : (B,) host array of this step's learning rates
        """
        xp = self.xp
        if not self.state:
            self.state = [{} for _ in params]
        self.k += 1
        k = self.k
        out = []
        for p, g, st in zip(params, grads, self.state):
            nd = p.ndim
            lr_c = self._col(lr, nd)
            wd = self.host["weight_decay"]
            if self.use_wd and self.name != "adamw":
                g = g + self._col(wd, nd) * p
            if self.name == "gd":
                out.append(-lr_c * g)
            elif self.name == "sign":
                out.append(-lr_c * xp.sign(g))
            elif self.name in ("momentum", "nesterov"):
                mu = self._col(self.host["momentum"], nd)
                if "momentum_buffer" not in st:
                    st["momentum_buffer"] = xp.asarray(g, copy=True)
                else:
                    buf = st["momentum_buffer"]
                    buf *= mu
                    buf += g
                buf = st["momentum_buffer"]
                out.append(-lr_c * (g + mu * buf) if self.name == "nesterov" else -lr_c * buf)
            else:  # adam, adamw
                b1 = self.host["beta1"]
                b2 = self.host["beta2"]
                if "exp_avg" not in st:
                    st["exp_avg"] = xp.zeros_like(g)
                    st["exp_avg_sq"] = xp.zeros_like(g)
                m, v = st["exp_avg"], st["exp_avg_sq"]
                m += self._col(1.0 - b1, nd) * (g - m)  # torch: exp_avg.lerp_(grad, 1 - beta1)
                v *= self._col(b2, nd)
                v += self._col(1.0 - b2, nd) * (g * g)
                step_size = lr / (1.0 - b1**k)
                bc2_sqrt = np.sqrt(1.0 - b2**k)
                denom = xp.sqrt(v) / self._col(bc2_sqrt, nd)
                denom += self._col(self.host["eps"], nd)
                upd = m / denom
                upd *= self._col(-step_size, nd)
                if self.name == "adamw" and self.use_wd:
                    upd -= (lr_c * self._col(wd, nd)) * p
                out.append(upd)
        return out

    def state_arrays(self, index: int = 0) -> dict[str, Any]:
        """The optimizer state of parameter ``index`` (0 = W), by torch's names."""
        if not self.state:
            return {}
        return dict(self.state[index])

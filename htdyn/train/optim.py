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
             (evaluated as -(lr c / (1 - beta1^k)) m / (sqrt(v) + c eps), c = sqrt(1 - beta2^k))
- adamw:     adam with g' = g, plus the decoupled decay -lr wd p
- sign:      Delta = -lr sign(g + wd p)

These are the update rules of torch.optim.SGD, Adam and AdamW (checked step
by step against them in the tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import OptimizerConfig
from .backend import Workspace

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
        self.ws = Workspace(backend)
        self.k = 0  # steps taken

    def _col(self, values: np.ndarray, ndim: int) -> Any:
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
        nat = self.backend.native
        if not self.state:
            self.state = [{} for _ in params]
        self.k += 1
        k = self.k
        out = []
        for i, (p, g, st) in enumerate(zip(params, grads, self.state)):
            u = self.ws.get(f"update{i}", tuple(g.shape))  # the update, built in place
            if self.use_wd and self.name != "adamw":
                g = g + self._col(self.host["weight_decay"], p.ndim) * p
            if self.name in ("momentum", "nesterov"):
                self._momentum(g, st, u, lr)
            elif self.name in ("adam", "adamw"):
                self._adam(p, g, st, u, lr, k)
            else:  # gd, sign
                neg_lr = self._col(-lr, p.ndim)
                if self.name == "sign":
                    self.ws.map(lambda g, u, c=neg_lr: (nat.sign(g, out=u), nat.multiply(u, c, out=u)), g, u)
                else:
                    self.ws.map(lambda g, u, c=neg_lr: nat.multiply(g, c, out=u), g, u)
            out.append(u)
        return out

    def _momentum(self, g: Any, st: dict, u: Any, lr: np.ndarray) -> None:
        """Heavy-ball or Nesterov momentum (torch SGD): the buffer and the update, in place."""
        xp, nat, nd = self.xp, self.backend.native, g.ndim
        mu, neg_lr = self._col(self.host["momentum"], nd), self._col(-lr, nd)
        first = "momentum_buffer" not in st
        if first:
            st["momentum_buffer"] = xp.zeros_like(g)
        nesterov = self.name == "nesterov"

        def part(g, buf, u, mu=mu, neg_lr=neg_lr, first=first, nesterov=nesterov):
            if first:  # torch: the buffer starts as the first gradient
                buf[...] = g
            else:
                buf *= mu
                buf += g
            if nesterov:
                nat.multiply(buf, mu, out=u)
                u += g
            else:
                u[...] = buf
            u *= neg_lr

        self.ws.map(part, g, st["momentum_buffer"], u)

    def _adam(self, p: Any, g: Any, st: dict, u: Any, lr: np.ndarray, k: int) -> None:
        """Adam or AdamW (torch): the moments and the update, in place, at step count k."""
        xp, nat, nd = self.xp, self.backend.native, p.ndim
        b1, b2, wd = self.host["beta1"], self.host["beta2"], self.host["weight_decay"]
        if "exp_avg" not in st:
            st["exp_avg"] = xp.zeros_like(g)
            st["exp_avg_sq"] = xp.zeros_like(g)
        c1, c2, cb2 = self._col(1.0 - b1, nd), self._col(1.0 - b2, nd), self._col(b2, nd)
        # m / (sqrt(v) / bc2 + eps) = bc2 m / (sqrt(v) + bc2 eps): one pass less over v
        bc2 = np.sqrt(1.0 - b2**k)
        eps = self._col(self.host["eps"] * bc2, nd)
        step = self._col(-lr * bc2 / (1.0 - b1**k), nd)
        decay = self._col(lr * wd, nd) if self.name == "adamw" and self.use_wd else None

        def part(p, g, m, v, u, c1=c1, c2=c2, cb2=cb2, eps=eps, step=step, decay=decay):
            nat.subtract(g, m, out=u)  # torch: exp_avg.lerp_(grad, 1 - beta1)
            u *= c1
            m += u
            nat.multiply(g, g, out=u)  # torch: exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
            u *= c2
            v *= cb2
            v += u
            nat.sqrt(v, out=u)
            u += eps
            nat.divide(m, u, out=u)
            u *= step
            if decay is not None:  # AdamW: decoupled decay of the pre-step weights
                u -= decay * p

        self.ws.map(part, p, g, st["exp_avg"], st["exp_avg_sq"], u)

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

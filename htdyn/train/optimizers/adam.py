"""Adam and AdamW, as torch.optim.

g' = g + wd p (Adam; g' = g for AdamW); m = m + (1 - beta1)(g' - m); v = beta2 v + (1 - beta2) g'^2;
Delta = -(lr / (1 - beta1^k)) m / (sqrt(v) / sqrt(1 - beta2^k) + eps), evaluated as
-(lr c / (1 - beta1^k)) m / (sqrt(v) + c eps), c = sqrt(1 - beta2^k); AdamW adds -lr wd p.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Rule


class Adam(Rule):
    """Adam (coupled decay, added to g by the driver) or AdamW (decoupled decay, applied here)."""

    def __init__(self, opt: Any, name: str):
        super().__init__(opt, name)
        self.decoupled_decay = name == "adamw"

    def update(self, p: Any, g: Any, st: dict[str, Any], u: Any, lr: np.ndarray, k: int) -> None:
        opt = self.opt
        xp, nat, nd = opt.xp, opt.backend.native, p.ndim
        b1, b2, wd = opt.host["beta1"], opt.host["beta2"], opt.host["weight_decay"]
        if "exp_avg" not in st:
            st["exp_avg"] = xp.zeros_like(g)
            st["exp_avg_sq"] = xp.zeros_like(g)
        c1, c2, cb2 = opt.col(1.0 - b1, nd), opt.col(1.0 - b2, nd), opt.col(b2, nd)
        # m / (sqrt(v) / bc2 + eps) = bc2 m / (sqrt(v) + bc2 eps): one pass less over v
        bc2 = np.sqrt(1.0 - b2**k)
        eps = opt.col(opt.host["eps"] * bc2, nd)
        step = opt.col(-lr * bc2 / (1.0 - b1**k), nd)
        decay = opt.col(lr * wd, nd) if self.decoupled_decay and opt.use_wd else None

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

        opt.ws.map(part, p, g, st["exp_avg"], st["exp_avg_sq"], u)


RULES = {"adam": Adam, "adamw": Adam}

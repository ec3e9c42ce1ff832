"""Heavy-ball and Nesterov momentum, as torch SGD.

b = mu b + g' (b = g' at the first step); heavy-ball Delta = -lr b, Nesterov Delta = -lr (g' + mu b).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Rule


class Momentum(Rule):
    """Heavy-ball (``momentum``) or Nesterov (``nesterov``) momentum: the buffer and the update, in place."""

    def update(self, p: Any, g: Any, st: dict[str, Any], u: Any, lr: np.ndarray, k: int) -> None:
        opt = self.opt
        xp, nat, nd = opt.xp, opt.backend.native, g.ndim
        mu, neg_lr = opt.col(opt.host["momentum"], nd), opt.col(-lr, nd)
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

        opt.ws.map(part, g, st["momentum_buffer"], u)


RULES = {"momentum": Momentum, "nesterov": Momentum}

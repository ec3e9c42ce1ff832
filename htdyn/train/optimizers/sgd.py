"""Gradient descent and sign descent: Delta = -lr (g + wd p), Delta = -lr sign(g + wd p)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Rule


class GD(Rule):
    """Plain gradient descent (torch SGD without momentum): Delta = -lr g'."""

    def update(self, p: Any, g: Any, st: dict[str, Any], u: Any, lr: np.ndarray, k: int) -> None:
        nat = self.opt.backend.native
        neg_lr = self.opt.col(-lr, p.ndim)
        self.opt.ws.map(lambda g, u, c=neg_lr: nat.multiply(g, c, out=u), g, u)


class Sign(Rule):
    """Sign descent: Delta = -lr sign(g')."""

    def update(self, p: Any, g: Any, st: dict[str, Any], u: Any, lr: np.ndarray, k: int) -> None:
        nat = self.opt.backend.native
        neg_lr = self.opt.col(-lr, p.ndim)
        self.opt.ws.map(lambda g, u, c=neg_lr: (nat.sign(g, out=u), nat.multiply(u, c, out=u)), g, u)


RULES = {"gd": GD, "sign": Sign}

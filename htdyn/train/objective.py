"""The training objective: loss and gradient of every run of a batch group.

The objective is the mean-squared error of the student on its batch,
L(W, a) = (1/n) sum_i (f(x_i) - y_i)^2 (no 1/2, as torch's ``MSELoss``), with
the closed-form gradients of :func:`htdyn.model.loss_and_grad`, plus optional
spectral penalties (Xiao et al. 2023; :mod:`htdyn.train.penalties`)

    L~_t(W, a) = L(W, a) + sum_p mu_{p,t} R_p(W),

whose gradients are added to dL/dW in closed form.  ``loss`` stays the data
loss L (the trajectory's ``loss``); the penalty's value, gradient norm and
share ``sum_p mu R_p / (L + sum_p mu R_p)`` are returned beside it, so the
training loop never changes when the objective does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation
from ..xp import to_numpy
from .backend import Workspace
from .model import loss_and_grad
from .penalty_terms import PenaltyEval, PenaltyTerm, evaluate_terms


@dataclass
class Gradient:
    """The objective's value and gradients at one point (batched over runs).

    ``loss`` (B,) the data loss, ``W`` (B, h, d) and ``a`` (B, h) or None the gradients
    of the whole objective (penalties included). ``W`` may live in a workspace buffer: it
    is valid until the next evaluation.  With penalties, ``penalty`` (host, B,) is
    ``sum_p mu_p R_p``, ``penalty_grad_norm`` (B,) the Frobenius norm of its W-gradient,
    ``penalty_share`` (B,) ``penalty / (loss + penalty)`` and ``penalty_terms`` the
    per-term :class:`~htdyn.train.penalty_terms.PenaltyEval`; all None without penalties.
    """

    loss: Any
    W: Any
    a: Any | None
    penalty: np.ndarray | None = None
    penalty_grad_norm: np.ndarray | None = None
    penalty_share: np.ndarray | None = None
    penalty_terms: PenaltyEval | None = None


class Objective:
    """Loss and gradient of a batch group's runs.

    Parameters
    ----------
    xp : array namespace
    act : Activation
        The student's activation.
    grad_a : bool
        Also differentiate with respect to the read-out a.
    workspace : Workspace
        Buffers reused from step to step (a step allocates no memory).
    penalties : sequence of PenaltyTerm
        Spectral penalty terms (:func:`htdyn.train.penalty_terms.build_terms`); empty: the
        plain MSE.
    """

    def __init__(self, xp: Any, act: Activation, *, grad_a: bool, workspace: Workspace,
                 penalties: Sequence[PenaltyTerm] = ()):
        self.xp, self.act, self.grad_a, self.ws = xp, act, grad_a, workspace
        self.penalties = list(penalties)

    def __call__(self, W: Any, a: Any, X: Any, y: Any, step: int = 0) -> Gradient:
        """The value and gradient at (W, a) on inputs X (pre-scaled by 1/sqrt(d)) and targets y.

        ``step``: the 0-based optimizer step, for the penalties' coefficient schedules.
        """
        loss, gW, ga = loss_and_grad(self.xp, W, a, X, y, self.act, grad_a=self.grad_a, ws=self.ws)
        if not self.penalties:
            return Gradient(loss, gW, ga)
        pe = evaluate_terms(self.xp, W, self.penalties, step)
        if pe.grad is not None:
            gp = self.xp.astype(pe.grad, gW.dtype)
            nat = self.ws.native
            self.ws.map(lambda g, p: nat.add(g, p, out=g), gW, gp)
        lh = to_numpy(loss).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(pe.total != 0, pe.total / (lh + pe.total), 0.0)
        return Gradient(loss, gW, ga, pe.total, pe.grad_norm, share, pe)

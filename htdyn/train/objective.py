"""The training objective: loss and gradient of every run of a batch group.

Today the objective is the mean-squared error of the student on its batch,
L(W, a) = (1/n) sum_i (f(x_i) - y_i)^2 (no 1/2, as torch's ``MSELoss``), with
the closed-form gradients of :func:`htdyn.model.loss_and_grad`.  Further terms
(spectral penalties) are added here, each returning its value and gradient, so
the training loop never changes when the objective does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..activations import Activation
from .backend import Workspace
from .model import loss_and_grad


@dataclass
class Gradient:
    """The objective's value and gradients at one point (batched over runs).

    ``loss`` (B,), ``W`` (B, h, d) and ``a`` (B, h) or None. ``W`` may live in a
    workspace buffer: it is valid until the next evaluation.
    """

    loss: Any
    W: Any
    a: Any | None


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
    """

    def __init__(self, xp: Any, act: Activation, *, grad_a: bool, workspace: Workspace):
        self.xp, self.act, self.grad_a, self.ws = xp, act, grad_a, workspace

    def __call__(self, W: Any, a: Any, X: Any, y: Any) -> Gradient:
        """The value and gradient at (W, a) on inputs X (pre-scaled by 1/sqrt(d)) and targets y."""
        loss, gW, ga = loss_and_grad(self.xp, W, a, X, y, self.act, grad_a=self.grad_a, ws=self.ws)
        return Gradient(loss, gW, ga)

r"""Coefficient schedules of the spectral penalties: the decay guard against over-regularization.

Xiao et al. (2023) guard against over-regularization in two ways; this module holds the
first, a penalty coefficient that decays and is then switched off (the second, a lower
threshold on the penalty's value, is :attr:`htdyn.train.penalty_terms.PenaltyTerm.floor`).
With the 1-based step count ``e = t + 1`` (the paper counts epochs; in full-batch training
a step is an epoch, with minibatches set ``period`` to the batches per epoch), coefficient
``mu``, period ``m``, rate ``k`` and threshold ``tau``:

- ``none``:         ``mu_e = mu``
- ``power``:        ``mu_e = mu * max(floor(e / m), 1) ** (-k)``  (``floor(e/m) = 0`` counts as 1)
- ``exponential``:  ``mu_e = mu * exp(-k * floor(e / m))``

and ``mu_e = 0`` wherever ``mu_e < tau`` (the decays are non-increasing, so once off the
penalty stays off).  ``tau = 0`` never switches it off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config.names import PENALTY_DECAYS as DECAY_FORMS

__all__ = ["DECAY_FORMS", "CoefficientSchedule"]


@dataclass(frozen=True)
class CoefficientSchedule:
    """The coefficient ``mu_e`` of a penalty at the 1-based step ``e`` (see the module docstring).

    Parameters
    ----------
    coefficient : float
        ``mu >= 0``.
    decay : {"none", "power", "exponential"}
    period : int
        ``m >= 1``: the coefficient changes every m steps.
    rate : float
        ``k >= 0``: the decay's exponent (power) or rate (exponential).
    threshold : float
        ``tau >= 0``: below it the coefficient is 0.
    """

    coefficient: float
    decay: str = "none"
    period: int = 1
    rate: float = 1.0
    threshold: float = 0.0

    def __call__(self, e: int) -> float:
        """``mu_e`` for the 1-based step ``e``."""
        q = e // self.period
        if self.decay == "power":
            mu = self.coefficient * max(q, 1) ** (-self.rate)
        elif self.decay == "exponential":
            mu = self.coefficient * math.exp(-self.rate * q)
        elif self.decay == "none":
            mu = self.coefficient
        else:
            raise ValueError(f"decay {self.decay!r} is not one of {', '.join(DECAY_FORMS)}")
        return 0.0 if mu < self.threshold else mu

    def at_step(self, t: int) -> float:
        """``mu`` for the 0-based optimizer step ``t`` (``e = t + 1``)."""
        return self(t + 1)

"""Learning-rate schedules, evaluated on the host per optimizer step.

Step t = 0, 1, ... is the t-th optimizer step (the first step is t = 0), so
``step`` with ``step_size=1`` uses lr * gamma**t at step t, which is torch's
StepLR stepped after every optimizer step, as the paper's code does.
"""

from __future__ import annotations

import math

from ..config import ScheduleConfig


def learning_rate(schedule: ScheduleConfig, lr: float, t: int, steps: int) -> float:
    """The learning rate of optimizer step ``t`` (0-based) of a ``steps``-step run.

    - constant: lr
    - step: lr * gamma ** floor(t / step_size)
    - exponential: lr * gamma ** t
    - cosine: eta_min + (lr - eta_min) * (1 + cos(pi * min(t, t_max) / t_max)) / 2
    - times min(1, (t + 1) / warmup_steps) when warmup_steps > 0 (linear warm-up)
    """
    name = schedule.name
    if name == "constant":
        out = lr
    elif name == "step":
        out = lr * schedule.gamma ** (t // schedule.step_size)
    elif name == "exponential":
        out = lr * schedule.gamma**t
    elif name == "cosine":
        t_max = schedule.t_max or max(steps, 1)
        out = schedule.eta_min + (lr - schedule.eta_min) * (1 + math.cos(math.pi * min(t, t_max) / t_max)) / 2
    else:  # validated in config
        raise ValueError(f"unknown schedule {name!r}")
    if schedule.warmup_steps > 0:
        out *= min(1.0, (t + 1) / schedule.warmup_steps)
    return out

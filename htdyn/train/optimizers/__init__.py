"""The update rules of the optimizers, one module per family, found through the one declaration.

:data:`htdyn.config.optimizers.OPTIMIZER_SPECS` names, for every optimizer, the
module here that implements it; that module's ``RULES`` maps the name to a
:class:`~htdyn.train.optimizers.base.Rule` subclass.  :func:`rule_class` loads
it; :class:`htdyn.train.optim.BatchedOptimizer` drives it.  No if/elif chain
picks an optimizer anywhere.

To add an optimizer: its :class:`~htdyn.config.optimizers.OptimizerSpec`, its
module here (a ``Rule`` subclass and ``RULES``), and its test.
"""

from __future__ import annotations

import importlib

from ...config.optimizers import OPTIMIZER_SPECS, optimizer_spec
from .base import Rule

__all__ = ["Rule", "rule_class", "rules"]


def rule_class(name: str) -> type[Rule]:
    """The rule class implementing optimizer ``name``, from the module its declaration names."""
    spec = optimizer_spec(name)
    module = importlib.import_module(f".{spec.module}", __name__)
    return module.RULES[name]


def rules() -> dict[str, type[Rule]]:
    """Every declared optimizer's rule class, by name (loads every module)."""
    return {s.name: rule_class(s.name) for s in OPTIMIZER_SPECS}

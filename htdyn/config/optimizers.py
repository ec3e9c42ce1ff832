"""The one declaration of every optimizer: name, state buffers, hyper-parameters, implementing module.

Everything that names optimizers reads this table: the valid values of
``optimizer.name`` (:data:`htdyn.config.names.OPTIMIZERS`, hence the config's
validation, its "did you mean" hints, the CLI's ``--set`` checks and the key
table of ``docs/config.md``), the docs of the hyper-parameter fields ("used by
..."), the state buffers the recorder stores and the checkpoint holds, and the
update rule :mod:`htdyn.train.optimizers` loads (``module``: a module under
``htdyn/train/optimizers/`` whose ``RULES`` maps the name to its rule class).
Config never imports train: the implementation is named here by its module,
and ``tests/test_optim_registry.py`` holds the two sides equal.

To add an optimizer: one :class:`OptimizerSpec` here, one module under
``htdyn/train/optimizers/`` and its test (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer.

    Attributes
    ----------
    name : the value of ``optimizer.name``
    module : the module under ``htdyn.train.optimizers`` implementing it (its ``RULES[name]``)
    state : the names of its per-parameter state buffers (torch.optim's names where torch has it)
    hyper : the ``optimizer.*`` fields it reads besides ``lr``
    doc : one line for the docs
    """

    name: str
    module: str
    state: tuple[str, ...]
    hyper: tuple[str, ...]
    doc: str


#: every optimizer, in the order the docs list them
OPTIMIZER_SPECS: tuple[OptimizerSpec, ...] = (
    OptimizerSpec("gd", "sgd", (), ("weight_decay",), "gradient descent (torch SGD)"),
    OptimizerSpec("momentum", "momentum", ("momentum_buffer",), ("momentum", "weight_decay"),
                  "heavy-ball momentum (torch SGD)"),
    OptimizerSpec("nesterov", "momentum", ("momentum_buffer",), ("momentum", "weight_decay"),
                  "Nesterov momentum (torch SGD)"),
    OptimizerSpec("adam", "adam", ("exp_avg", "exp_avg_sq"), ("beta1", "beta2", "eps", "weight_decay"),
                  "Adam (torch), coupled weight decay"),
    OptimizerSpec("adamw", "adam", ("exp_avg", "exp_avg_sq"), ("beta1", "beta2", "eps", "weight_decay"),
                  "AdamW (torch), decoupled weight decay"),
    OptimizerSpec("sign", "sgd", (), ("weight_decay",), "sign descent"),
    OptimizerSpec("muon", "muon", ("momentum_buffer",), ("momentum", "weight_decay"),
                  "Muon: Nesterov momentum orthogonalised by 5 Newton-Schulz steps (docs/muon.md)"),
)

OPTIMIZERS_BY_NAME = {s.name: s for s in OPTIMIZER_SPECS}


def optimizer_spec(name: str) -> OptimizerSpec:
    """The declaration of optimizer ``name`` (KeyError naming the valid ones otherwise)."""
    try:
        return OPTIMIZERS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS_BY_NAME)}") from None


def used_by(field: str) -> str:
    """The optimizers reading hyper-parameter ``field``, as docs text: ```momentum`, `nesterov```."""
    return ", ".join(f"`{s.name}`" for s in OPTIMIZER_SPECS if field in s.hyper)

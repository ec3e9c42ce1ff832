"""The declarative table of every config field: type, range, allowed values, default, one-line doc.

One :class:`Field` per key.  From this table come the dataclass defaults
(:mod:`htdyn.config.schema`), the coercion of loaded values and the validation
with its error messages and "did you mean" hints (:mod:`htdyn.config.validate`),
and the key table of ``docs/config.md`` (:mod:`htdyn.config.docs`).

Sections: ``"sim"`` (top level, shared by every run), ``"snapshots"``,
``"eval"``, ``"run"`` (top level, per run), ``"model"``, ``"optimizer"``,
``"schedule"``, ``"penalty"``.  A field's dotted key is ``section.name`` for the nested
sections and ``name`` for ``sim`` and ``run``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .names import (
    ACTIVATIONS,
    BACKENDS,
    COMPRESSIONS,
    DEVICES,
    DTYPES,
    EVAL_FEATURES,
    OPTIMIZERS,
    OUTPUT_PLACEHOLDERS,
    PENALTIES,
    PENALTY_DECAYS,
    SCHEDULES,
    STORE_DTYPES,
    TEACHERS,
)
from .optimizers import used_by

#: the kinds of value a field holds
KINDS = ("int", "float", "bool", "str", "choice", "steps", "names")
#: sections whose keys sit at the top level of a config
TOP_SECTIONS = ("sim", "run")
#: sections in the order the docs list them
SECTIONS = ("sim", "snapshots", "eval", "run", "model", "optimizer", "schedule", "penalty")


@dataclass(frozen=True)
class Field:
    """One config field.

    Attributes
    ----------
    section, name : where it lives (see the module docstring); ``key`` is the dotted key.
    kind : one of :data:`KINDS`.  ``int`` excludes bools and floats; ``float`` takes
        ints and floats (not bools), finite only, and numeric strings when loaded;
        ``steps`` is a step spec (:func:`htdyn.config.steps.check_step_spec`);
        ``names`` a list of strings.
    default : the dataclass default (copied for lists).
    doc : one line for the docs table.
    lo, hi : inclusive bounds unless ``lo_open`` / ``hi_open``; None for unbounded.
    choices : the valid values of a ``choice`` field.
    optional : None is valid too.
    callable_ok : a Python callable is valid too (``choice`` fields).
    extra : further valid strings (``steps``: ``eval.at = "snapshots"``).
    nonempty : a ``str`` field must not be empty.
    what : what a ``str`` field must be, for its error message.
    placeholders : the ``{name}`` placeholders a ``str`` field may hold.
    default_doc : how the docs show the default, when not the default itself.
    """

    section: str
    name: str
    kind: str
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    callable_ok: bool = False
    extra: tuple[str, ...] = ()
    nonempty: bool = False
    what: str = ""
    placeholders: tuple[str, ...] | None = None
    default_doc: str = ""

    @property
    def key(self) -> str:
        """The dotted key (``model.n``; ``steps`` at the top level)."""
        return self.name if self.section in TOP_SECTIONS else f"{self.section}.{self.name}"

    def make_default(self) -> Any:
        """A fresh copy of the default (lists are not shared between instances)."""
        return copy.deepcopy(self.default)


def _int(section: str, name: str, default: Any, doc: str, lo: int | None = None, **kw: Any) -> Field:
    return Field(section, name, "int", default, doc, lo=lo, **kw)


def _float(section: str, name: str, default: Any, doc: str, lo: float | None = None, **kw: Any) -> Field:
    return Field(section, name, "float", default, doc, lo=lo, **kw)


def _choice(section: str, name: str, default: Any, doc: str, choices: tuple[str, ...], **kw: Any) -> Field:
    return Field(section, name, "choice", default, doc, choices=choices, **kw)


def _bool(section: str, name: str, default: bool, doc: str) -> Field:
    return Field(section, name, "bool", default, doc)


FIELDS: tuple[Field, ...] = (
    # ---- simulation (top level, shared by every run)
    Field("sim", "name", "str", "sim", "used in `output` and in tables", nonempty=True,
          what="a non-empty string", default_doc="file stem"),
    _int("sim", "steps", 10, "optimizer steps of every run", lo=0),
    _choice("sim", "device", "cpu", "where the runs train", DEVICES),
    _choice("sim", "backend", None, "array backend: numpy (cpu), torch (cpu or cuda), cupy (cuda)", BACKENDS,
            optional=True, default_doc="auto: numpy on cpu; cupy if installed, else torch, on cuda"),
    _choice("sim", "dtype", "float32", "training dtype (the ridge solve is always float64)", DTYPES),
    Field("sim", "output", "str", "outputs/{name}.h5", "the trajectory file; `{name}` is replaced by `name`",
          nonempty=True, what="a file path", placeholders=OUTPUT_PLACEHOLDERS),
    _bool("sim", "store_data", True, "store the data sets; false stores only their seeds (beta always)"),
    # ---- [snapshots]
    Field("snapshots", "at", "steps", 1, "steps that store W_t: int k (every k and the last), a list, "
          "`\"log:N\"`, `\"first_last\"` or `\"none\"`"),
    _choice("snapshots", "dtype", "float32", "storage dtype (float16 with a per-snapshot scale)", STORE_DTYPES),
    _choice("snapshots", "compression", "none", "HDF5 compression of the snapshots", COMPRESSIONS),
    _bool("snapshots", "updates", True, "also store the updates M_t = W_{t+1} - W_t"),
    _bool("snapshots", "optimizer_state", False, "also store Adam's moments or the momentum buffer"),
    # ---- [eval]
    Field("eval", "at", "steps", "snapshots", "evaluation steps: `\"snapshots\"` or a spec like `snapshots.at`",
          extra=("snapshots",)),
    _float("eval", "ridge_lambda", 0.01, "lambda of the ridge read-out (Z^T Z + (lambda / h) n I)^-1 Z^T y",
           lo=0.0, lo_open=True),
    _choice("eval", "features", "model", "read-out features: phi(X W^T / sqrt(d)) / sqrt(h) (`model`) or "
            "phi(X W^T / d) / sqrt(h) (`official`, the paper's code)", EVAL_FEATURES),
    Field("eval", "metrics", "names", [], "metric sets computed online at each evaluation step "
          "(see analysis.md)", what="a list of metric names"),
    # ---- run keys (top level for the base run; sweepable)
    _int("run", "seed", 0, "drives data, init and shuffles", lo=0),
    _int("run", "data_seed", None, "seed of the teacher and data sets", lo=0, optional=True, default_doc="= seed"),
    _int("run", "init_seed", None, "seed of W and a", lo=0, optional=True, default_doc="= seed"),
    _bool("run", "weight_norm", False, "rescale W to ||W||_F = sqrt(h d) before each step (as the paper's official "
          "code does); every recorded training loss, the final one included, is that of the rescaled W "
          "(docs/format.md)"),
    Field("run", "label", "str", "", "free text shown in tables", what="a string"),
    # ---- [model]
    _int("model", "n", 2000, "train (and probe) set size", lo=1),
    _int("model", "d", 1000, "input dimension", lo=1),
    _int("model", "h", 1500, "hidden width", lo=1),
    _int("model", "n_test", 200, "test set size", lo=1),
    _float("model", "noise_std", 0.3, "std of the label noise eps", lo=0.0),
    _choice("model", "teacher", "softplus", "teacher g (or a callable on float64 numpy arrays)", TEACHERS,
            callable_ok=True),
    _choice("model", "activation", "tanh", "student phi (or a callable, or `htdyn.Activation(name, f, df)`)",
            ACTIVATIONS, callable_ok=True),
    _float("model", "init_scale", 1.0, "std of W's entries", lo=0.0, lo_open=True),
    _float("model", "readout_scale", 1.0, "std of a's entries", lo=0.0, lo_open=True),
    _bool("model", "train_readout", False, "train a as well as W"),
    # ---- [optimizer]
    _choice("optimizer", "name", "adam", "optimizer (torch.optim semantics; momentum = heavy-ball; muon: "
            "docs/muon.md)", OPTIMIZERS),
    _float("optimizer", "lr", 1.0, "learning rate", lo=0.0, lo_open=True),
    _float("optimizer", "momentum", 0.9, f"momentum of {used_by('momentum')} (the Muon reference uses 0.95)",
           lo=0.0, hi=1.0, hi_open=True),
    _float("optimizer", "beta1", 0.9, f"beta1 of {used_by('beta1')}", lo=0.0, hi=1.0, hi_open=True),
    _float("optimizer", "beta2", 0.999, f"beta2 of {used_by('beta2')}", lo=0.0, hi=1.0, hi_open=True),
    _float("optimizer", "eps", 1e-8, f"epsilon of {used_by('eps')}", lo=0.0, lo_open=True),
    _float("optimizer", "weight_decay", 0.0, f"weight decay of {used_by('weight_decay')} (coupled; "
           "decoupled for `adamw` and `muon`)", lo=0.0),
    _int("optimizer", "batch_size", None, "minibatch size; unset or 0: full batch (the paper)", lo=0,
         optional=True, default_doc="full batch"),
    # ---- [schedule]
    _choice("schedule", "name", "constant", "learning-rate schedule (formulas below)", SCHEDULES),
    _float("schedule", "gamma", 0.1, "decay factor of `step` and `exponential`", lo=0.0, lo_open=True),
    _int("schedule", "step_size", 1, "steps between decays of `step`", lo=1),
    _float("schedule", "eta_min", 0.0, "floor of `cosine`", lo=0.0),
    _int("schedule", "t_max", None, "period of `cosine`", lo=1, optional=True, default_doc="= steps"),
    _int("schedule", "warmup_steps", 0, "> 0 multiplies the schedule by min(1, (t + 1) / warmup_steps)", lo=0),
    # ---- [penalty] (a spectral penalty mu_t R(W) added to the loss: docs/regularization.md)
    _choice("penalty", "name", "none", "spectral penalty R(W) added to the loss (`none`: the plain MSE)", PENALTIES),
    _float("penalty", "coefficient", 0.01, "mu, the penalty's coefficient", lo=0.0),
    _choice("penalty", "decay", "none", "mu_e = mu max(floor(e/m),1)^-k (`power`) or mu exp(-k floor(e/m)), "
            "e = step + 1", PENALTY_DECAYS),
    _float("penalty", "decay_rate", 1.0, "k of the decay", lo=0.0),
    _int("penalty", "decay_period", 1, "m of the decay (steps)", lo=1),
    _float("penalty", "decay_threshold", 0.0, "mu_e below it is 0 (the penalty switched off)", lo=0.0),
    _float("penalty", "lower_threshold", None, "the penalty acts only while R(W) exceeds it", optional=True,
           default_doc="unset: always"),
    _float("penalty", "alpha0", 3.0, "target tail exponent of `powerlaw_prior`", lo=1.0, lo_open=True),
    _float("penalty", "tail_start", None, "lambda_min of `powerlaw_prior` (inside the initial spectrum)",
           lo=0.0, lo_open=True, optional=True, default_doc="unset: the median eigenvalue"),
    _float("penalty", "frechet_shape", 2.0, "shape a of `frechet_prior`", lo=0.0, lo_open=True),
    _float("penalty", "frechet_scale", 1.0, "scale s of `frechet_prior`", lo=0.0, lo_open=True),
    _float("penalty", "frechet_loc", 0.0, "location m of `frechet_prior` (below the initial lambda_max)"),
)

_BY_KEY = {(f.section, f.name): f for f in FIELDS}


def fields_of(section: str) -> tuple[Field, ...]:
    """The fields of one section, in table order."""
    if section not in SECTIONS:
        raise KeyError(f"unknown config section {section!r}; sections: {', '.join(SECTIONS)}")
    return tuple(f for f in FIELDS if f.section == section)


def get_field(section: str, name: str) -> Field | None:
    """The field ``name`` of ``section``, or None."""
    return _BY_KEY.get((section, name))


def default(section: str, name: str) -> Any:
    """The table's default of a field (for the dataclasses' scalar defaults)."""
    return _BY_KEY[(section, name)].make_default()

"""The config dataclasses: plain data whose defaults and checks come from the field table.

Defaults are read from :data:`htdyn.config.fields.FIELDS` (one source), and each
``validate`` runs the table's checks (:func:`htdyn.config.validate.check_fields`)
plus the few that relate two fields (a minibatch larger than the data set).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .fields import default
from .validate import check_fields


def _from_table(section: str, name: str) -> Any:
    """A dataclass field whose default is the table's (a factory, so lists are never shared)."""
    return field(default_factory=lambda: default(section, name))


@dataclass
class ModelConfig:
    """Teacher, data and student sizes (defaults: the paper's setting).

    Data x ~ N(0, I_d); teacher y = g(beta . x) + eps, ||beta|| = 1,
    eps ~ N(0, noise_std^2); student f(x) = a . phi(W x / sqrt(d)) / sqrt(h).
    The setting of Kothapalli et al., "From Spikes to Heavy Tails", TMLR 2025 (arXiv 2406.04657).

    Parameters
    ----------
    n, n_test : int
        Train (and probe) set size, test set size (2000, 200).
    d, h : int
        Input dimension and hidden width: W is h x d (1000, 1500).
    noise_std : float
        Std of the label noise eps (0.3).
    teacher : str or callable
        The link g: ``softplus`` (default), ``relu``, ``tanh``, ``linear``, or a callable on
        float64 numpy arrays.
    activation : str, callable or Activation
        The student's phi: ``tanh`` (default), ``relu``, ``softplus``, ``gelu``, ``linear``,
        a callable ``f(x)`` or an :class:`htdyn.Activation`.
    init_scale, readout_scale : float
        Std of the entries of W_0 and of a (1.0, 1.0).
    train_readout : bool
        Train a as well as W (False: only W, as the paper).

    Examples
    --------
    >>> from htdyn import ModelConfig
    >>> m = ModelConfig(n=64, d=16, h=24)
    >>> m.validate()                      # raises ConfigError for a bad value
    >>> m.teacher, m.activation, m.n_test
    ('softplus', 'tanh', 200)
    """

    n: int = default("model", "n")
    d: int = default("model", "d")
    h: int = default("model", "h")
    n_test: int = default("model", "n_test")
    noise_std: float = default("model", "noise_std")
    teacher: Any = default("model", "teacher")
    activation: Any = default("model", "activation")
    init_scale: float = default("model", "init_scale")
    readout_scale: float = default("model", "readout_scale")
    train_readout: bool = default("model", "train_readout")

    def validate(self, prefix: str = "model") -> None:
        check_fields(self, "model", prefix)


@dataclass
class OptimizerConfig:
    """Optimizer and its hyper-parameters (torch.optim semantics).

    ``name``: ``gd`` (plain gradient descent, torch SGD), ``momentum``
    (heavy-ball), ``nesterov``, ``adam``, ``adamw`` (decoupled weight decay),
    ``sign`` (sign descent), ``muon`` (Nesterov momentum orthogonalised by
    Newton-Schulz, docs/muon.md); declared in :mod:`htdyn.config.optimizers`.
    ``weight_decay`` is coupled (added to the gradient, as torch SGD/Adam)
    except for ``adamw`` and ``muon``.  ``batch_size``: None
    or 0 for full batch (the paper), else minibatches of that size drawn by
    a seeded shuffle each epoch.

    Parameters
    ----------
    name : str
        ``adam`` (default), ``gd``, ``momentum``, ``nesterov``, ``adamw``, ``sign``, ``muon``.
    lr : float
        Learning rate (> 0; 1.0).
    momentum : float
        Momentum of ``momentum``, ``nesterov`` and ``muon``, in [0, 1) (0.9).
    beta1, beta2, eps : float
        Adam's moment decays and epsilon (0.9, 0.999, 1e-8).
    weight_decay : float
        Weight decay (>= 0; 0.0).
    batch_size : int or None
        Minibatch size; None or 0: full batch.

    Examples
    --------
    >>> from htdyn import OptimizerConfig
    >>> opt = OptimizerConfig("gd", lr=0.5)
    >>> opt.validate()
    >>> opt.name, opt.lr, opt.batch_size
    ('gd', 0.5, None)
    """

    name: str = default("optimizer", "name")
    lr: float = default("optimizer", "lr")
    momentum: float = default("optimizer", "momentum")
    beta1: float = default("optimizer", "beta1")
    beta2: float = default("optimizer", "beta2")
    eps: float = default("optimizer", "eps")
    weight_decay: float = default("optimizer", "weight_decay")
    batch_size: int | None = default("optimizer", "batch_size")

    def validate(self, prefix: str = "optimizer") -> None:
        check_fields(self, "optimizer", prefix)


@dataclass
class ScheduleConfig:
    """Learning-rate schedule, evaluated per optimizer step t = 0, 1, ...

    - ``constant``: lr
    - ``step``: lr * gamma ** floor(t / step_size) (torch StepLR stepped per step)
    - ``exponential``: lr * gamma ** t
    - ``cosine``: eta_min + (lr - eta_min) (1 + cos(pi t / t_max)) / 2, t_max = steps by default
    - ``warmup_steps`` > 0 multiplies any of them by min(1, (t + 1) / warmup_steps).

    Parameters
    ----------
    name : str
        ``constant`` (default), ``step``, ``exponential`` or ``cosine``.
    gamma : float
        Decay factor of ``step`` and ``exponential`` (0.1).
    step_size : int
        Steps between decays of ``step`` (1).
    eta_min : float
        Floor of ``cosine`` (0.0).
    t_max : int or None
        Period of ``cosine``; None: the simulation's steps.
    warmup_steps : int
        Linear warm-up steps (0: none).

    Examples
    --------
    >>> from htdyn import ScheduleConfig
    >>> sched = ScheduleConfig("cosine", eta_min=0.01, warmup_steps=5)
    >>> sched.validate()
    >>> sched.name, sched.t_max
    ('cosine', None)
    """

    name: str = default("schedule", "name")
    gamma: float = default("schedule", "gamma")
    step_size: int = default("schedule", "step_size")
    eta_min: float = default("schedule", "eta_min")
    t_max: int | None = default("schedule", "t_max")
    warmup_steps: int = default("schedule", "warmup_steps")

    def validate(self, prefix: str = "schedule") -> None:
        check_fields(self, "schedule", prefix)


@dataclass
class PenaltyConfig:
    """A spectral penalty mu_t R(W) added to the training loss (Xiao et al. 2023; docs/regularization.md).

    ``name``: ``none`` (default), ``weighted_alpha`` (alpha_Hill ln lambda_max),
    ``stable_rank`` (||W||_F^2 / ||W||_2^2), ``powerlaw_prior`` and ``frechet_prior``
    (negative log priors on the ESD tail and on lambda_max; reconstructions).  The
    coefficient decays by ``decay`` (``power`` or ``exponential``, rate, period) and is 0
    below ``decay_threshold``; ``lower_threshold`` switches the penalty off while
    R(W) <= it.  ``tail_start`` (unset: the median) and ``frechet_loc`` must lie inside
    the initial spectrum, whose Marchenko-Pastur edges are
    ``init_scale^2 (sqrt(max(h, d)) -+ sqrt(min(h, d)))^2``.

    Parameters
    ----------
    name : str
        ``none`` (default), ``weighted_alpha``, ``stable_rank``, ``powerlaw_prior``, ``frechet_prior``.
    coefficient : float
        mu, the penalty's coefficient (0.01).
    decay, decay_rate, decay_period, decay_threshold
        The decay of mu: ``none``, ``power`` or ``exponential``, its rate k, period m and the
        floor below which mu is 0.
    lower_threshold : float or None
        The penalty acts only while R(W) exceeds it (None: always).
    alpha0, tail_start : float
        Target tail exponent and lambda_min of ``powerlaw_prior`` (None: the median).
    frechet_shape, frechet_scale, frechet_loc : float
        Shape, scale and location of ``frechet_prior``.

    Examples
    --------
    >>> from htdyn.config import ModelConfig, PenaltyConfig
    >>> pen = PenaltyConfig("stable_rank", coefficient=0.1)
    >>> pen.validate(model=ModelConfig(n=64, d=16, h=24))
    >>> pen.decay
    'none'
    """

    name: str = default("penalty", "name")
    coefficient: float = default("penalty", "coefficient")
    decay: str = default("penalty", "decay")
    decay_rate: float = default("penalty", "decay_rate")
    decay_period: int = default("penalty", "decay_period")
    decay_threshold: float = default("penalty", "decay_threshold")
    lower_threshold: float | None = default("penalty", "lower_threshold")
    alpha0: float = default("penalty", "alpha0")
    tail_start: float | None = default("penalty", "tail_start")
    frechet_shape: float = default("penalty", "frechet_shape")
    frechet_scale: float = default("penalty", "frechet_scale")
    frechet_loc: float = default("penalty", "frechet_loc")

    def validate(self, prefix: str = "penalty", model: ModelConfig | None = None) -> None:
        check_fields(self, "penalty", prefix)
        if model is not None:
            self.check_spectrum(model, prefix)

    def check_spectrum(self, model: ModelConfig, prefix: str = "penalty") -> None:
        """Refuse ``tail_start`` / ``frechet_loc`` outside the initial spectrum (its MP edges)."""
        big, small = max(model.h, model.d), min(model.h, model.d)
        lo = model.init_scale**2 * (big**0.5 - small**0.5) ** 2
        hi = model.init_scale**2 * (big**0.5 + small**0.5) ** 2
        if self.name == "powerlaw_prior" and self.tail_start is not None and not lo <= self.tail_start <= hi:
            raise ConfigError(f"{prefix}.tail_start = {self.tail_start:g} is outside the initial spectrum "
                              f"[{lo:.4g}, {hi:.4g}] (MP edges of W_0); give a value inside it, or leave it unset "
                              "for the median")
        if self.name == "frechet_prior" and self.frechet_loc >= hi:
            raise ConfigError(f"{prefix}.frechet_loc = {self.frechet_loc:g} is not below the initial lambda_max "
                              f"(about {hi:.4g}, the MP edge of W_0); the Frechet prior would be 0 there")


@dataclass
class RunConfig:
    """One training run: model, optimizer, schedule and seeds.

    ``seed`` drives everything; ``data_seed`` (teacher and data sets) and
    ``init_seed`` (W and a) default to it.  Runs with the same data seed and
    model see the same data; runs with the same init seed start from the same W.
    ``weight_norm``: rescale W to ||W||_F = sqrt(h d) before each step.
    ``penalty``: a spectral penalty added to the loss (:class:`PenaltyConfig`).

    Parameters
    ----------
    model : ModelConfig
    optimizer : OptimizerConfig
    schedule : ScheduleConfig
    penalty : PenaltyConfig
    seed : int
        The run's seed (0).
    data_seed, init_seed : int or None
        Seeds of the data and of the initial weights; None: ``seed``.
    weight_norm : bool
        Rescale W to ||W||_F = sqrt(h d) before each step (the paper's weight-normalised runs; False).
    label : str
        Free text shown in tables.

    Examples
    --------
    >>> from htdyn import ModelConfig, OptimizerConfig, RunConfig
    >>> run = RunConfig(model=ModelConfig(n=64, d=16, h=24), optimizer=OptimizerConfig("gd", lr=0.1), seed=3)
    >>> run.validate()
    >>> run.data_seed_, run.init_seed_                 # both default to the seed
    (3, 3)
    >>> run.to_dict()["optimizer"]["name"]
    'gd'
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    penalty: PenaltyConfig = field(default_factory=PenaltyConfig)
    seed: int = default("run", "seed")
    data_seed: int | None = default("run", "data_seed")
    init_seed: int | None = default("run", "init_seed")
    weight_norm: bool = default("run", "weight_norm")
    label: str = default("run", "label")

    @property
    def data_seed_(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def init_seed_(self) -> int:
        return self.seed if self.init_seed is None else self.init_seed

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable; callables become their names), as a trajectory stores it.

        A run without a penalty (``penalty.name = "none"``) leaves the ``penalty`` table out,
        so its stored config and its run id are those of the versions before penalties.
        """
        out = to_plain(dataclasses.asdict(self))
        if self.penalty.name == "none":
            del out["penalty"]
        return out

    def validate(self) -> None:
        self.model.validate()
        self.optimizer.validate()
        self.schedule.validate()
        self.penalty.validate(model=self.model)
        check_fields(self, "run", "")
        bs = self.optimizer.batch_size
        if bs and bs > self.model.n:
            raise ConfigError(f"optimizer.batch_size = {bs} exceeds model.n = {self.model.n}")


@dataclass
class SnapshotConfig:
    """Which steps store W_t (and the update M_t = W_{t+1} - W_t) and how.

    ``at``: an int k (every k steps, plus the last), a list of steps,
    ``"log:N"`` (about N log-spaced steps, 0 and the last included),
    ``"first_last"``, or ``"none"``.

    Parameters
    ----------
    at : int, list of int or str
        The snapshot steps (1: every step).
    dtype : str
        Storage dtype: ``float32`` (default) or ``float16`` (with a per-snapshot scale).
    compression : str
        HDF5 compression of the snapshots (``none``).
    updates : bool
        Also store the updates M_t (True).
    optimizer_state : bool
        Also store Adam's moments or the momentum buffer (False).

    Examples
    --------
    >>> from htdyn import SnapshotConfig
    >>> snaps = SnapshotConfig(at="log:20", updates=False)
    >>> snaps.validate()
    >>> SnapshotConfig(at="every 5").validate()
    Traceback (most recent call last):
    ...
    htdyn.errors.ConfigError: snapshots.at = 'every 5' is not valid; use an int k (every k steps), a list ...
    """

    at: Any = default("snapshots", "at")
    dtype: str = default("snapshots", "dtype")
    compression: str = default("snapshots", "compression")
    updates: bool = default("snapshots", "updates")
    optimizer_state: bool = default("snapshots", "optimizer_state")

    def validate(self, prefix: str = "snapshots") -> None:
        check_fields(self, "snapshots", prefix)


@dataclass
class EvalConfig:
    """Evaluation: ridge read-out on the probe set, test loss, online metrics.

    ``at``: as :attr:`SnapshotConfig.at`, or ``"snapshots"`` (the default) for the
    snapshot steps.  ``ridge_lambda``: the lambda of
    a_hat = (Z^T Z + (lambda / h) n I)^{-1} Z^T y.  ``features``: ``"model"``
    fits the read-out on the student's features phi(X W^T / sqrt(d)) / sqrt(h);
    ``"official"`` on phi(X W^T / d) / sqrt(h), what the paper's official code
    computes (its forward hook scales the stored pre-activations in place, so
    they are divided by sqrt(d) twice) and what its loss numbers come from.
    ``metrics``: names of spectral metric sets computed at each evaluation step.

    Parameters
    ----------
    at : int, list of int or str
        The evaluation steps (``"snapshots"``: the snapshot steps).
    ridge_lambda : float
        lambda of the ridge read-out (> 0; 0.01).
    features : str
        ``model`` (default) or ``official``.
    metrics : list of str
        The metric sets computed online (docs/analysis.md; none by default).

    Examples
    --------
    >>> from htdyn import EvalConfig
    >>> ev = EvalConfig(at=[0, 5, 10], ridge_lambda=0.1)
    >>> ev.validate()
    >>> ev.features, ev.metrics
    ('model', [])
    """

    at: Any = default("eval", "at")
    ridge_lambda: float = default("eval", "ridge_lambda")
    features: str = default("eval", "features")
    metrics: list = _from_table("eval", "metrics")

    def validate(self, prefix: str = "eval") -> None:
        check_fields(self, "eval", prefix)


@dataclass
class SimConfig:
    """A simulation: runs that share steps, device, dtype and schedules.

    ``output``: where the trajectory file goes (``{name}`` is replaced by the
    name).  ``store_data``: store the data sets in the file (True) or only the
    seeds that regenerate them (False; beta is always stored).

    Parameters
    ----------
    name : str
        The simulation's name (``sim``; a config file's stem when loaded).
    steps : int
        Optimizer steps of every run (10).
    device : str
        ``cpu`` (default) or ``cuda``.
    backend : str or None
        ``numpy``, ``torch`` or ``cupy``; None picks one for the device.
    dtype : str
        Training dtype, ``float32`` (default) or ``float64``.
    output : str
        The trajectory file (``outputs/{name}.h5``).
    store_data : bool
        Store the data sets (True) or only their seeds.
    snapshots : SnapshotConfig
    eval : EvalConfig
    runs : list of RunConfig
        The runs (one default run).

    Examples
    --------
    Usually built by :func:`htdyn.simulation` or :func:`htdyn.load_config`; directly:

    >>> from htdyn import ModelConfig, RunConfig, SimConfig
    >>> sim = SimConfig(name="tiny", steps=3, runs=[RunConfig(model=ModelConfig(n=64, d=16, h=24))])
    >>> sim.validate() is sim
    True
    >>> str(sim.output_path())
    'outputs/tiny.h5'
    """

    name: str = default("sim", "name")
    steps: int = default("sim", "steps")
    device: str = default("sim", "device")
    backend: str | None = default("sim", "backend")
    dtype: str = default("sim", "dtype")
    output: str = default("sim", "output")
    store_data: bool = default("sim", "store_data")
    snapshots: SnapshotConfig = field(default_factory=SnapshotConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    runs: list[RunConfig] = field(default_factory=lambda: [RunConfig()])

    def validate(self) -> SimConfig:
        check_fields(self, "sim", "")
        self.snapshots.validate()
        self.eval.validate()
        if not self.runs:
            raise ConfigError("the config defines no runs")
        for i, run in enumerate(self.runs):
            try:
                run.validate()
            except ConfigError as exc:
                raise ConfigError(f"run {i}: {exc}") if len(self.runs) > 1 else exc from None
        return self

    def output_path(self) -> Path:
        return Path(self.output.replace("{name}", self.name))

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable; callables become their names)."""
        return to_plain(dataclasses.asdict(self))


#: the dataclass of each table section nested in another (what ``from_dict`` recurses into)
NESTED: dict[tuple[type, str], type] = {
    (RunConfig, "model"): ModelConfig,
    (RunConfig, "optimizer"): OptimizerConfig,
    (RunConfig, "schedule"): ScheduleConfig,
    (RunConfig, "penalty"): PenaltyConfig,
    (SimConfig, "snapshots"): SnapshotConfig,
    (SimConfig, "eval"): EvalConfig,
}
#: the table section of each dataclass
SECTION_OF: dict[type, str] = {SimConfig: "sim", SnapshotConfig: "snapshots", EvalConfig: "eval",
                               RunConfig: "run", ModelConfig: "model", OptimizerConfig: "optimizer",
                               ScheduleConfig: "schedule", PenaltyConfig: "penalty"}
#: top-level keys of a config that belong to the simulation, and those of the base run
SIM_KEYS = frozenset(f.name for f in dataclasses.fields(SimConfig)) - {"runs"}
RUN_KEYS = frozenset(f.name for f in dataclasses.fields(RunConfig))


def to_plain(obj: Any) -> Any:
    """Nested dicts and lists as JSON-serialisable data; a callable becomes ``"callable:<name>"``."""
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if callable(obj):
        return f"callable:{getattr(obj, 'name', getattr(obj, '__name__', repr(obj)))}"
    return obj

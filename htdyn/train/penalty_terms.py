r"""The penalty terms of a batch group: plain settings, per-run coefficients, evaluation per step.

A run's penalties are a list of :class:`PenaltySpec` (plain parameters whose defaults and
ranges are the config's field table's, validated by :func:`check_spec` with one-line
:class:`~htdyn.errors.ConfigError` messages).  A batch group
turns the lists of its runs into :class:`PenaltyTerm` s (:func:`build_terms`): one term per
penalty slot (name and occurrence), with per-run parameters, coefficient schedules (``None``
for a run without that penalty) and lower thresholds.  Each step, :func:`evaluate_terms`
computes one :func:`~htdyn.train.penalties.spectrum` of every W and, per term p and run b,

.. math::
    \mu_{p,b,t} = \mathrm{schedule}_{p,b}(t + 1)\cdot [R_p(W_b) > \mathrm{floor}_{p,b}],\qquad
    \nabla = \sum_p \mu_{p,b,t} \nabla_W R_p(W_b),

the total penalty ``sum_p mu R_p`` and the norms ``||mu_p grad R_p||_F``.  The floor is the
second guard of Xiao et al. (2023): the penalty acts only while its value exceeds it
(e.g. while ``alpha_H ln lambda_max > t``), so its gradient is exactly 0 below.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config.fields import default
from ..config.validate import check_fields
from ..errors import ConfigError
from ..xp import to_numpy
from .penalties import PENALTIES, FrechetPrior, PowerLawPrior, spectral_grad_norm, spectral_gradient, spectrum
from .penalty_schedule import CoefficientSchedule

__all__ = ["PenaltySpec", "PenaltyTerm", "PenaltyEval", "check_spec", "build_terms", "evaluate_terms"]


@dataclass(frozen=True)
class PenaltySpec:
    """One penalty of a run, as plain parameters (the run keys of ``[[penalty]]``).

    ``name`` is one of :data:`~htdyn.train.penalties.PENALTIES`; ``coefficient`` mu and the
    decay (``decay``, ``decay_rate``, ``decay_period``, ``decay_threshold``) make its
    :class:`~htdyn.train.penalty_schedule.CoefficientSchedule`; ``lower_threshold`` (None:
    off) the value under which it is inactive; ``alpha0`` and ``tail_start`` ("median" or a
    number) parametrise ``powerlaw_prior``, ``frechet_shape/scale/loc`` ``frechet_prior``.
    """

    name: str
    coefficient: float = default("penalty", "coefficient")
    decay: str = default("penalty", "decay")
    decay_rate: float = default("penalty", "decay_rate")
    decay_period: int = default("penalty", "decay_period")
    decay_threshold: float = default("penalty", "decay_threshold")
    lower_threshold: float | None = default("penalty", "lower_threshold")
    alpha0: float = default("penalty", "alpha0")
    tail_start: float | str = "median"  # the table's unset (None) spelled as what it means
    frechet_shape: float = default("penalty", "frechet_shape")
    frechet_scale: float = default("penalty", "frechet_scale")
    frechet_loc: float = default("penalty", "frechet_loc")

    def schedule(self) -> CoefficientSchedule:
        return CoefficientSchedule(self.coefficient, self.decay, self.decay_period, self.decay_rate,
                                   self.decay_threshold)


def check_spec(spec: PenaltySpec, where: str = "penalty") -> None:
    """Raise :class:`ConfigError` (one line: key, value, what is valid) for a bad setting.

    The ranges and choices are the field table's (:mod:`htdyn.config.fields`, the ``penalty``
    section: the one declaration of the penalty settings, shared with ``PenaltyConfig``);
    ``tail_start`` may also be ``"median"``.  The thresholds against the initial spectrum are
    :meth:`htdyn.config.PenaltyConfig.check_spectrum`'s.
    """
    if spec.name not in PENALTIES:
        raise ConfigError(f"{where}.name {spec.name!r} is not a penalty; choose one of {', '.join(PENALTIES)}")
    ts = spec.tail_start
    if isinstance(ts, str) and ts != "median" or not isinstance(ts, str) and (
            isinstance(ts, bool) or not isinstance(ts, (int, float, np.integer, np.floating))
            or not math.isfinite(ts) or ts <= 0):
        raise ConfigError(f"{where}.tail_start = {ts!r} is not valid; give 'median' or an eigenvalue > 0")
    p = spec.decay_period
    if isinstance(p, np.integer):
        spec = dataclasses.replace(spec, decay_period=int(p))
    check_fields(dataclasses.replace(spec, tail_start=None if isinstance(ts, str) else float(ts)), "penalty", where)


@dataclass
class PenaltyTerm:
    """One penalty slot of a batch group: the penalty (per-run parameters), schedules and floors.

    ``schedules[b]`` is None for a run without this penalty; ``floors`` (B,) the lower
    thresholds (``-inf``: none).
    """

    name: str
    penalty: Any
    schedules: list[CoefficientSchedule | None]
    floors: np.ndarray

    def coefficients(self, t: int) -> np.ndarray:
        """``mu`` of every run at the 0-based step ``t`` (0 for runs without the penalty)."""
        return np.array([0.0 if s is None else s.at_step(t) for s in self.schedules])

    @property
    def used(self) -> np.ndarray:
        """(B,) bool: which runs have this penalty."""
        return np.array([s is not None for s in self.schedules])


@dataclass
class PenaltyEval:
    """The penalties of one step (host arrays; P terms, B runs).

    ``values`` (B, P) R_p(W) (NaN where a run lacks the term or it was not evaluated),
    ``coefficients`` (B, P) the mu that acted (0 below the floor or switched off),
    ``grad_norms`` (B, P) ``||mu_p grad R_p||_F``, ``total`` (B,) ``sum_p mu_p R_p``,
    ``grad_norm`` (B,) the norm of the summed gradient; ``grad`` (B, h, d) float64 on the
    device (None when no term acted).
    """

    names: list[str]
    values: np.ndarray
    coefficients: np.ndarray
    grad_norms: np.ndarray
    total: np.ndarray
    grad_norm: np.ndarray
    grad: Any = field(default=None, repr=False)


def build_terms(specs: Sequence[Sequence[PenaltySpec]]) -> list[PenaltyTerm]:
    """The terms of a group from each run's penalty list (one term per name and occurrence)."""
    B = len(specs)
    slots: dict[tuple[str, int], list[PenaltySpec | None]] = {}
    for b, run_specs in enumerate(specs):
        seen: dict[str, int] = {}
        for s in run_specs:
            key = (s.name, seen.get(s.name, 0))
            seen[s.name] = key[1] + 1
            slots.setdefault(key, [None] * B)[b] = s
    terms = []
    for (name, occ), per_run in slots.items():
        dflt = next(s for s in per_run if s is not None)
        full = [s if s is not None else dflt for s in per_run]  # valid parameters where unused
        if name == "powerlaw_prior":
            pen: Any = PowerLawPrior(np.array([s.alpha0 for s in full]),
                                     np.array([np.nan if isinstance(s.tail_start, str) else s.tail_start
                                               for s in full]))
        elif name == "frechet_prior":
            pen = FrechetPrior(*(np.array([getattr(s, k) for s in full])
                                 for k in ("frechet_shape", "frechet_scale", "frechet_loc")))
        else:
            pen = PENALTIES[name]()
        floors = np.array([-math.inf if s is None or s.lower_threshold is None else s.lower_threshold
                           for s in per_run])
        label = name if occ == 0 else f"{name}_{occ}"
        terms.append(PenaltyTerm(label, pen, [None if s is None else s.schedule() for s in per_run], floors))
    return terms


def evaluate_terms(xp: Any, W: Any, terms: Sequence[PenaltyTerm], t: int) -> PenaltyEval:
    """Values, acting coefficients and the summed gradient of every term at step ``t``.

    One eigensolve serves every term.  Runs with non-finite weights get NaN values and no
    gradient; when no coefficient of any run is positive at ``t`` nothing is computed.
    """
    B, P = W.shape[0], len(terms)
    mus = np.stack([tm.coefficients(t) for tm in terms], axis=1) if P else np.zeros((B, 0))
    values = np.full((B, P), np.nan)
    out = PenaltyEval([tm.name for tm in terms], values, np.zeros((B, P)), np.zeros((B, P)),
                      np.zeros(B), np.zeros(B))
    if not (mus > 0).any():
        return out
    finite = to_numpy(xp.all(xp.isfinite(W), axis=(1, 2)))
    if not finite.all():  # a stand-in for the eigensolve; the run's results are discarded below
        W = xp.where(xp.asarray(finite, device=_device(W))[:, None, None], W, xp.ones_like(W))
    spec = spectrum(xp, W)
    g_total = None
    for p, tm in enumerate(terms):
        R, g = tm.penalty(xp, spec.lam)
        Rh = to_numpy(R).astype(np.float64)
        act = mus[:, p] * ((Rh > tm.floors) & np.isfinite(Rh) & finite & tm.used)
        values[:, p] = np.where(tm.used & finite, Rh, np.nan)
        out.coefficients[:, p] = act
        mu = xp.asarray(act, dtype=xp.float64, device=_device(spec.lam))[:, None]
        gw = xp.where(mu > 0, mu * g, 0.0)  # 0, not 0 * (a run's non-finite g)
        out.grad_norms[:, p] = to_numpy(spectral_grad_norm(xp, spec.lam, gw))
        g_total = gw if g_total is None else g_total + gw
    with np.errstate(invalid="ignore"):
        out.total[:] = np.nansum(np.where(out.coefficients > 0, out.coefficients * values, 0.0), axis=1)
    out.grad_norm[:] = to_numpy(spectral_grad_norm(xp, spec.lam, g_total))
    if (out.coefficients > 0).any():
        out.grad = spectral_gradient(xp, spec, g_total)
    return out


def _device(a: Any) -> Any:
    import array_api_compat

    return array_api_compat.device(a)


def run_specs(run: Any) -> list[PenaltySpec]:
    """A run config's penalties as :class:`PenaltySpec` s.

    ``run.penalty`` is a :class:`~htdyn.config.PenaltyConfig` (``name = "none"``: no
    penalty; ``tail_start`` unset: the median), a :class:`PenaltySpec`, a dict of its
    fields, or a list of those (several penalties: the engine sums them).
    """
    raw = getattr(run, "penalty", None)
    items = raw if isinstance(raw, (list, tuple)) else [] if raw is None else [raw]
    out = []
    for s in items:
        if isinstance(s, dict):
            s = PenaltySpec(**s)
            check_spec(s)
        elif isinstance(s, PenaltySpec):
            check_spec(s)
        else:  # a PenaltyConfig (or any object with its fields)
            if s.name == "none":
                continue
            kw = {f: getattr(s, f) for f in PenaltySpec.__dataclass_fields__}
            kw["tail_start"] = "median" if kw["tail_start"] is None else kw["tail_start"]
            s = PenaltySpec(**kw)
        out.append(s)
    return out


#: per-step penalty records: name -> whether it has one column per term
LOG_FIELDS = {"value": True, "coefficient": True, "grad_norm": True, "total": False, "share": False}


class PenaltyLog:
    """The per-step penalty records of a group's runs, on the host (NaN where not reached).

    ``arrays[name]`` is (B, steps, P) for the per-term fields of :data:`LOG_FIELDS` and
    (B, steps) for ``total`` and ``share``; row t describes W_t, the point step t
    differentiates.
    """

    def __init__(self, names: list[str], B: int, steps: int):
        self.names = names
        P = len(names)
        self.arrays = {k: np.full((B, steps, P) if per else (B, steps), np.nan) for k, per in LOG_FIELDS.items()}

    def record(self, t: int, runs: np.ndarray, g: Any) -> None:
        """Store step t's :class:`~htdyn.train.objective.Gradient` penalty numbers for ``runs`` (bool mask)."""
        pe = g.penalty_terms
        if pe is None:
            return
        a = self.arrays
        for k, src in (("value", pe.values), ("coefficient", pe.coefficients), ("grad_norm", pe.grad_norms)):
            a[k][runs, t] = src[runs]
        a["total"][runs, t] = g.penalty[runs]
        a["share"][runs, t] = g.penalty_share[runs]

    def get_state(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.arrays.items()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        for k, v in state.items():
            self.arrays[k][...] = v

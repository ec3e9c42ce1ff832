"""What the report says beside its figures: a caption per figure kind, and the paper's numbers.

``CAPTIONS`` tells a reader what to look for in each kind of figure (one to three
sentences).  ``PAPER_EXPECTED`` is the one table of the paper's expected numbers the report
puts beside the measured ones, for runs at the paper's setting (Kothapalli et al. 2025:
n = 2000, d = 1000, h = 1500, softplus teacher, tanh student, full batch, 10 steps; the
configs ``sims/paper_adam_lr1.toml``, ``sims/paper_gd_lr2000.toml`` and the sweeps in
``sims/paper/``).  Source of every number: ``paper_spec.md`` section 8, the [MEAS] targets
measured with the official code, as listed in ``docs/reproduction.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CAPTIONS", "PAPER_SOURCE", "PAPER_SETTING", "Expected", "PAPER_EXPECTED", "is_paper_setting",
           "paper_rows"]

#: figure kind -> what to look for in it
CAPTIONS = {
    "esd": "The eigenvalues of W<sup>T</sup>W at the first and the last stored step "
           "(log-log). Look for the spike: an isolated eigenvalue far right of the Marchenko-Pastur (MP) edge; "
           "then for the bulk spreading right into a straight power-law tail, heavy-tailed in the paper's "
           "sense once PL_Alpha_Hill is below 2.",
    "esd_evolution": "The ESD at every stored step (one row per step), with the phase of each step beside it. "
                     "Look for the step where one eigenvalue leaves the bulk (the spike) and the steps where the "
                     "bulk's right edge moves right (the bulk spreading).",
    "metrics": "The metrics against step. Look for PL_Alpha_Hill leaving its MP value (about 2.45) and "
               "crossing 2, the paper's heavy-tail line; for sigma_1 jumping at the first large step; and for the "
               "test loss turning up while the train loss falls.",
    "overlaps": "Squared overlaps |&lt;u_i(W), u_j(M)&gt;|<sup>2</sup> between the top singular vectors of W_t "
                "and of the update M_t = W_(t+1) - W_t. A bright top-left cell means the update rides the spike "
                "(the paper: at least 0.8 for Adam at lr 1 after the first step).",
    "updates": "The singular values of each update M_t. Adam's first update is a sign-GD step, nearly rank one "
               "(one large singular value); later updates spread over more directions, their stable rank "
               "growing, and feed the bulk.",
    "animation": "The ESD step by step on fixed axes, the initial ESD in grey behind it. Watch the spike leave "
                 "the bulk at the first large step and the bulk spread to the right.",
    "sweep": "The final losses, KTA, sim(W, beta), PL_Alpha_Hill and PL_Alpha_KS against log10 of the "
             "learning rate, mean and spread over repeats. Look for the lr at which alpha_Hill leaves 2.45 and "
             "crosses 2: GD needs a learning rate 10<sup>3</sup>-10<sup>4</sup> times Adam's.",
    "phase_diagram": "The phase of W at each stored step and learning rate. Look for random-like, then "
                     "bulk+spikes, then bulk-decay or heavy-tailed as lr and step grow; a cell that goes back "
                     "against that order is usually a small-N flicker of the label.",
}

PAPER_SOURCE = ("paper_spec.md section 8 ([MEAS]: measured with the official code of Kothapalli et al. 2025); "
                "the same targets as docs/reproduction.md")

#: the settings a run must have for the paper's numbers to apply (dotted config keys; a tuple: any of its
#: values, None where a stored config leaves the key out at its default)
PAPER_SETTING = {"model.n": 2000, "model.d": 1000, "model.h": 1500, "model.n_test": 200, "model.noise_std": 0.3,
                 "model.teacher": "softplus", "model.activation": "tanh", "model.init_scale": 1.0,
                 "model.train_readout": False, "optimizer.batch_size": None, "schedule.name": "constant",
                 "weight_norm": False, "penalty.name": ("none", None)}


@dataclass(frozen=True)
class Expected:
    """One of the paper's numbers: for ``optimizer`` at lr in [``lr_lo``, ``lr_hi``], ``column`` at ``step``.

    ``lo``/``hi`` is the range the measured value must fall in to be called matched (the
    official code's spread over its seeds, or the tolerance written in
    ``sims/paper/reproduce.py``); ``paper`` is the text shown.  ``step = -1`` is the last step.
    """

    optimizer: str
    lr_lo: float
    lr_hi: float
    quantity: str
    column: str
    step: int
    paper: str
    lo: float
    hi: float


def _e(opt: str, lrs: tuple[float, float], quantity: str, column: str, step: int, paper: str,
       lo: float, hi: float) -> Expected:
    return Expected(opt, lrs[0], lrs[1], quantity, column, step, paper, lo, hi)


_ANY = (0.0, math.inf)
#: losses depend on the read-out's features: compared only for eval.features = "official"
LOSS_COLUMNS = ("probe_loss", "test_loss")
#: the paper's numbers (source: PAPER_SOURCE)
PAPER_EXPECTED: tuple[Expected, ...] = (
    _e("adam", _ANY, "sigma_1(W_0)", "spectral_norm", 0, "70.4 (MP edge 70.35)", 69.5, 71.5),
    _e("gd", _ANY, "sigma_1(W_0)", "spectral_norm", 0, "70.4 (MP edge 70.35)", 69.5, 71.5),
    _e("adam", _ANY, "PL_Alpha_Hill(W_0)", "alpha_hill", 0, "2.445-2.449", 2.43, 2.46),
    _e("gd", _ANY, "PL_Alpha_Hill(W_0)", "alpha_hill", 0, "2.445-2.449", 2.43, 2.46),
    _e("adam", (0.01, 0.01), "sigma_1(W_1)", "spectral_norm", 1, "70.4 (no outlier)", 69.5, 72.0),
    _e("adam", (0.1, 0.1), "sigma_1(W_1)", "spectral_norm", 1, "101.6", 95.0, 108.0),
    _e("adam", (1.0, 1.0), "sigma_1(W_1)", "spectral_norm", 1, "993.7", 970.0, 1020.0),
    _e("adam", (1.0, 1.0), "sim(W_1, beta)", "sim_beta", 1, "0.37-0.45", 0.35, 0.47),
    _e("adam", (1.0, 1.0), "PL_Alpha_Hill(W_1)", "alpha_hill", 1, "2.326", 2.30, 2.35),
    _e("adam", (1.0, 1.0), "PL_Alpha_Hill(W_10)", "alpha_hill", 10, "1.822-1.827", 1.80, 1.85),
    _e("adam", (1.0, 1.0), "update stable rank, M_0", "update_stable_rank", 0, "1.47", 1.35, 1.6),
    _e("adam", (1.0, 1.0), "update stable rank, M_9", "update_stable_rank", 9, "27.9", 24.0, 31.0),
    _e("adam", (1.0, 1.0), "probe (train) loss, t=10", "probe_loss", 10, "0.59 (0.85 at t=0)", 0.55, 0.65),
    _e("adam", (1.0, 1.0), "test loss, t=0", "test_loss", 0, "0.92-1.10 over seeds (n_test=200: +-0.05)", 0.85, 1.10),
    _e("adam", (1.0, 1.0), "test loss, t=10", "test_loss", 10, "0.99", 0.90, 1.10),
    _e("adam", (0.0, 0.1), "PL_Alpha_Hill(W_10)", "alpha_hill", 10, "2.44-2.45", 2.43, 2.46),
    _e("adam", (10.0, 3000.0), "PL_Alpha_Hill(W_10)", "alpha_hill", 10, "1.69-1.87", 1.67, 1.89),
    _e("adam", (10.0, 3000.0), "probe (train) loss, t=10", "probe_loss", 10, "0.20-0.26", 0.18, 0.30),
    _e("adam", (10.0, 3000.0), "test loss, t=10", "test_loss", 10, "1.6-3.2", 1.3, 3.3),
    _e("gd", (0.0, 1000.0), "PL_Alpha_Hill(W_10)", "alpha_hill", 10, "2.44-2.45", 2.43, 2.46),
    _e("gd", (2000.0, 2000.0), "sigma_1(W_1)", "spectral_norm", 1, "91.2", 85.0, 97.0),
    _e("gd", (2000.0, 2000.0), "sim(W_1, beta)", "sim_beta", 1, "0.50", 0.45, 0.55),
    _e("gd", (2000.0, 2000.0), "PL_Alpha_Hill(W_10)", "alpha_hill", 10, "2.167-2.198", 2.15, 2.21),
    _e("gd", (2000.0, 2000.0), "sigma_1(W_10)", "spectral_norm", 10, "148", 135.0, 160.0),
    _e("gd", (3000.0, 3000.0), "PL_Alpha_Hill(W_10)", "alpha_hill", 10, "1.931-1.969", 1.91, 1.99),
)


def _get(config: Mapping[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def is_paper_setting(config: Mapping[str, Any]) -> bool:
    """Whether a run's config (the nested dict a trajectory stores) is at the paper's setting."""
    return all(_get(config, k) in (v if isinstance(v, tuple) else (v,)) for k, v in PAPER_SETTING.items())


def paper_rows(config: Mapping[str, Any], table: Any, features: str = "model") -> list[dict]:
    """The paper's numbers that apply to one run, beside the measured ones.

    Parameters
    ----------
    config : the run's nested config
    table : that run's analysis rows (pandas, columns ``step`` and the metric columns)
    features : the file's ``eval.features``; the paper's losses apply only to ``"official"``

    Returns
    -------
    One dict per applicable :data:`PAPER_EXPECTED` entry whose step the table holds:
    ``quantity``, ``paper``, ``measured`` (float), ``verdict`` ("matched" or "differs").
    Empty when the run is not at the paper's setting.
    """
    if not is_paper_setting(config) or table is None or len(table) == 0:
        return []
    name, lr = _get(config, "optimizer.name"), float(_get(config, "optimizer.lr"))
    last = int(table["step"].max())
    out = []
    for ex in PAPER_EXPECTED:
        step = last if ex.step == -1 else ex.step
        if ex.optimizer != name or not ex.lr_lo <= lr <= ex.lr_hi or ex.column not in table.columns:
            continue
        if ex.column in LOSS_COLUMNS and features != "official":
            continue
        rows = table[table["step"] == step]
        if rows.empty:
            continue
        v = float(rows[ex.column].iloc[0])
        out.append({"quantity": ex.quantity, "paper": ex.paper, "measured": v,
                    "verdict": "matched" if ex.lo <= v <= ex.hi else "differs"})
    return out

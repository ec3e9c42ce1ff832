"""Confusion table of the phase classifier on generators of known phase (docs/analysis_mp_phases.md).

Each generator draws a matrix whose Martin-Mahoney phase is known by construction
(thr = the BGN threshold ``(N M)^(1/4)`` of N(0, 1) noise):

==============  ==========================================================================  =============
generator       construction                                                                phase
==============  ==========================================================================  =============
gaussian        i.i.d. N(0, 1)                                                              random-like
weak            + 5 rank-one spikes at 1.30-1.45 thr (outliers crowd the edge)              bleeding-out
strong          + 5 rank-one spikes at 4-8 thr                                              bulk+spikes
clump           + 0.05 M rank-one spikes at 1.2-2.0 thr (eigenmass past the edge, no tail)  bulk-decay
twobulk         half the columns at 3x the scale (a deformed MP, no power law)              bulk-decay
plspikes        + 0.3 M spikes, theta_k = thr sqrt(0.15 M / k) (a power law of spikes)      heavy-tailed
pareto1         symmetric Pareto entries, P(|w| > x) = x^-1                                 heavy-tailed
pareto1.5       ... x^-1.5                                                                  heavy-tailed
pareto2.5       ... x^-2.5 (moderately heavy-tailed, finite variance)                       heavy-tailed
pareto3         ... x^-3                                                                    heavy-tailed
pareto3.5       ... x^-3.5                                                                  heavy-tailed
student3        Student-t entries with 3 degrees of freedom (tail index 3)                  heavy-tailed
lowrank         A B, inner dimension M / 5 (80% exact zeros)                                rank-collapse
==============  ==========================================================================  =============

``plspikes`` is spectrally what an i.i.d. mu = 2 matrix shows (a Pareto(2) law of spike
strengths from the edge up), so it is heavy-tailed by the spectrum; see the docs.

Usage::

    python benchmarks/phase_confusion.py                 # print the full table (minutes)
    python benchmarks/phase_confusion.py --write         # ... and replace it in docs/analysis_mp_phases.md
    python benchmarks/phase_confusion.py --shapes 400x200 --kinds gaussian,weak --seeds 5
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from htdyn.analysis import mp, phases

EXPECTED = {
    "gaussian": "random-like", "weak": "bleeding-out", "strong": "bulk+spikes", "clump": "bulk-decay",
    "twobulk": "bulk-decay", "plspikes": "heavy-tailed", "pareto1": "heavy-tailed", "pareto1.5": "heavy-tailed",
    "pareto2.5": "heavy-tailed", "pareto3": "heavy-tailed", "pareto3.5": "heavy-tailed", "student3": "heavy-tailed",
    "lowrank": "rank-collapse",
}
SHAPES = ((400, 200), (240, 480), (1000, 500), (2000, 1000))
SEEDS = 20
ABBREV = {"random-like": "R", "bleeding-out": "BO", "bulk+spikes": "BS", "bulk-decay": "BD", "heavy-tailed": "HT",
          "rank-collapse": "RC", "non-finite": "NF"}
BEGIN, END = "<!-- phase-confusion:begin -->", "<!-- phase-confusion:end -->"
DOC = Path(__file__).resolve().parents[1] / "docs" / "analysis_mp_phases.md"


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal(n)
    return x / np.linalg.norm(x)


def _spikes(X: np.ndarray, thetas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for th in thetas:
        X = X + th * np.outer(_unit(rng, X.shape[0]), _unit(rng, X.shape[1]))
    return X


def _pareto(mu: float) -> Callable[[np.random.Generator, tuple[int, int]], np.ndarray]:
    return lambda rng, shape: rng.choice([-1.0, 1.0], size=shape) * rng.uniform(size=shape) ** (-1.0 / mu)


def generate(kind: str, shape: tuple[int, int], seed: int) -> np.ndarray:
    """One draw of generator ``kind`` (see the module docstring) of ``shape``, seeded."""
    rng = np.random.default_rng([seed, sum(map(ord, kind))])
    M, thr = min(shape), mp.bgn_threshold(shape)
    if kind.startswith("pareto"):
        return _pareto(float(kind[6:]))(rng, shape)
    if kind == "student3":
        return rng.standard_t(3, size=shape)
    if kind == "lowrank":
        r = M // 5
        return rng.standard_normal((shape[0], r)) @ rng.standard_normal((r, shape[1]))
    X = rng.standard_normal(shape)
    if kind == "gaussian":
        return X
    if kind == "weak":
        return _spikes(X, rng.uniform(1.3, 1.45, 5) * thr, rng)
    if kind == "strong":
        return _spikes(X, rng.uniform(4.0, 8.0, 5) * thr, rng)
    if kind == "clump":
        return _spikes(X, rng.uniform(1.2, 2.0, max(int(0.05 * M), 8)) * thr, rng)
    if kind == "plspikes":
        k = np.arange(1, int(0.3 * M) + 1)
        return _spikes(X, thr * np.sqrt(0.15 * M / k), rng)
    if kind == "twobulk":
        X[:, : shape[1] // 2] *= 3.0
        return X
    raise ValueError(f"unknown generator {kind!r}: choose from {', '.join(EXPECTED)}")


def evals(W: np.ndarray) -> np.ndarray:
    """The min(h, d) eigenvalues of the smaller Gram matrix, float64."""
    return np.linalg.eigvalsh(W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T)


def confusion(kinds: list[str], shapes: list[tuple[int, int]], seeds: int) -> dict[tuple, Counter]:
    """Counter of the labels over ``seeds`` draws, per (generator, shape)."""
    out = {}
    for shape in shapes:
        for kind in kinds:
            out[(kind, shape)] = Counter(phases.classify_phase(evals(generate(kind, shape, s)), shape).phase
                                         for s in range(seeds))
    return out


def cell(c: Counter, want: str, seeds: int) -> str:
    """``17/20`` right, then the wrong labels by abbreviation, e.g. ``17/20 (BS 3)``."""
    wrong = ", ".join(f"{ABBREV[p]} {n}" for p, n in c.most_common() if p != want)
    return f"{c[want]}/{seeds}" + (f" ({wrong})" if wrong else "")


def table(res: dict, kinds: list[str], shapes: list[tuple[int, int]], seeds: int) -> str:
    head = "| generator | expected | " + " | ".join(f"{h}x{d}" for h, d in shapes) + " |"
    lines = [head, "|---|---|" + "---|" * len(shapes)]
    for k in kinds:
        lines.append(f"| {k} | {EXPECTED[k]} | " + " | ".join(cell(res[(k, s)], EXPECTED[k], seeds) for s in shapes)
                     + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default=",".join(f"{h}x{d}" for h, d in SHAPES))
    ap.add_argument("--kinds", default=",".join(EXPECTED))
    ap.add_argument("--seeds", type=int, default=SEEDS)
    ap.add_argument("--write", action="store_true", help=f"replace the table between the markers in {DOC.name}")
    a = ap.parse_args(argv)
    kinds = a.kinds.split(",")
    bad = [k for k in kinds if k not in EXPECTED]
    if bad:
        print(f"--kinds: unknown generator {bad[0]!r}; valid: {', '.join(EXPECTED)}", file=sys.stderr)
        return 2
    shapes = [tuple(int(x) for x in s.split("x")) for s in a.shapes.split(",")]
    res = {}
    for k in kinds:  # row by row, so that a long run shows its progress on stderr
        res.update(confusion([k], shapes, a.seeds))
        print(table(res, [k], shapes, a.seeds).splitlines()[-1], file=sys.stderr, flush=True)
    text = (f"{a.seeds} draws per cell (seeds 0-{a.seeds - 1}); each cell: right/draws, then the wrong labels "
            f"({', '.join(f'{v} {k}' for k, v in ABBREV.items())}).\n\n" + table(res, kinds, shapes, a.seeds))
    print(text)
    if a.write:
        doc = DOC.read_text()
        i, j = doc.index(BEGIN) + len(BEGIN), doc.index(END)
        DOC.write_text(doc[:i] + "\n" + text + "\n" + doc[j:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

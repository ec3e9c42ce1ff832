"""Regenerate docs/reproduction.md and its figures: every checklist item of paper_spec section 8, side by side.

    python sims/paper/reproduce.py                 # runs what is missing, then writes the page
    python sims/paper/reproduce.py --reanalyze     # keeps the simulations, recomputes every analysis
    python sims/paper/reproduce.py --rerun         # re-simulates everything

Runs the configs of sims/paper/ (and the lr sweep, built here at the grid of the official
bulk_lr.yml, seeds 0 and 1 as the official numbers; REPRO_SEEDS=5 for its 5 repeats) into
outputs/paper/, analyses them (htdyn.analysis.offline.analyze), and writes docs/reproduction.md with the official code's numbers (paper_spec.md section 5.2, the
targets), htdyn's, a verdict and its criterion per row (sims/paper/repro_checks.py) and the
figures (docs/figures/reproduction/).  Nothing on the page is typed by hand.

The long Adam runs (lr 0.1 and 0.01, the paper's size, 10^4 steps) take hours on 2 CPU cores;
they are made apart and resumably:

    htdyn run sims/paper/long_adam.toml --set steps=10000 -o outputs/paper/long_adam_paper.h5
    htdyn run --resume outputs/paper/long_adam_paper.partial.h5      # after a stop

and read from outputs/paper/long_adam_paper.h5 (or its .partial.h5, as far as it got).

Each file is analysed with the metric sets the page reads, no more (``SINGLE_SETS``, ``NO_UPDATES``,
``LIGHT``); the single runs' update set, for ``UPDATE_RUNS`` only, and the long runs' alpha_Hill (their
file may still be being written) are kept beside the files as ``single_runs.update.csv`` and
``long_adam_paper[.partial].alpha.csv``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if "--small" in sys.argv:
    os.environ["REPRO_SMALL"] = "1"
SIMS = ROOT / "sims" / "paper"
sys.path.insert(0, str(SIMS))

from repro_checks import (  # noqa: E402
    DIFFERS,
    MATCHED,
    NOT_TESTED,
    REPORTED,
    SWEEP_LRS,
    SWEEP_SEEDS,
    Check,
    Results,
    best_steps,
    checks_families,
    checks_first_step,
    checks_generalization,
    checks_init,
    checks_mechanism,
    checks_regularizers,
    checks_spikes,
    checks_sweep_alpha,
    long_alpha_csv,
)

import htdyn  # noqa: E402
from htdyn.analysis import phases  # noqa: E402
from htdyn.analysis.offline import analyze, read_analysis  # noqa: E402
from htdyn.config import EvalConfig, OptimizerConfig, RunConfig, SimConfig, SnapshotConfig  # noqa: E402

OUT = ROOT / "outputs" / "paper"
FIGS = ROOT / "docs" / "figures" / "reproduction"
PAGE = ROOT / "docs" / "reproduction.md"
#: the single runs' sets, W_t only: the page reads no drift, top or features (KTA) number of them, and these
#: three cost more than half of the analysis at the paper's size (profiled at load ~10 on 2 cores, one snapshot
#: 1500 x 1000: esd 10 s, phase 11 s, teacher 10 s, update 29 s, features 30 s, drift 4 s, top 5 s, each with the
#: ~4 s of reading W); 'all' on the 55 snapshots took over an hour
SINGLE_SETS = ["esd", "norms", "powerlaw", "mp", "phase", "teacher"]
#: the update set (W-M overlaps, the update's stable rank) is read for Adam lr 1 and GD lr 2000, 3000 only
UPDATE_RUNS = [2, 3, 4]
NO_UPDATES = ["esd", "norms", "powerlaw", "mp", "phase", "teacher", "features"]
#: the regularizer runs and the loss families: the page reads alpha_Hill and sigma_1 of them (the losses are the
#: simulation's own), so only these two sets
LIGHT = ["norms", "powerlaw"]
LONG = OUT / "long_adam_paper.h5"
#: --small: every run at n=200, d=100, h=150 into outputs/paper_small/ (a smoke test of the script, no page)
SMALL_OVER = ["model.d=100", "model.h=150"]


# --------------------------------------------------------------------------- running


def _run_config(sim: SimConfig, path: Path, args: argparse.Namespace, metrics: list[str]) -> Path | None:
    if args.page_only:  # use what is simulated and analysed, make nothing
        try:
            read_analysis(path)
            return path
        except htdyn.StoreError:
            print(f"  {path.name}: not simulated or not analysed (--page-only): left out", flush=True)
            return None
    if args.rerun or not path.exists():
        t0 = time.time()
        htdyn.simulate(sim, path=str(path), overwrite=True)
        print(f"  simulated {path.name}: {len(sim.runs)} runs x {sim.steps} steps in {time.time() - t0:.0f} s",
              flush=True)
    try:
        if args.reanalyze and str(path) not in args.reanalyzed:
            raise htdyn.StoreError("asked to")
        read_analysis(path)
    except htdyn.StoreError:
        t0 = time.time()
        analyze(path, metrics=metrics)
        args.reanalyzed.add(str(path))
        print(f"  analysed {path.name} in {time.time() - t0:.0f} s", flush=True)
    return path


def _single_updates(path: Path, args: argparse.Namespace) -> None:
    """The update set of the single runs ``UPDATE_RUNS``, kept beside the file as ``<stem>.update.csv`` (the
    file's own analysis holds ``SINGLE_SETS`` of every run; ``Results`` merges the two)."""
    csv = path.with_suffix(".update.csv")
    if args.page_only or (csv.is_file() and not args.rerun and not args.reanalyze
                          and csv.stat().st_mtime >= path.stat().st_mtime):
        return
    t0 = time.time()
    analyze(path, metrics=["update"], runs=UPDATE_RUNS, write=False, csv_path=csv)
    print(f"  analysed the updates of {path.name} (runs {UPDATE_RUNS}) in {time.time() - t0:.0f} s", flush=True)


def sweep_config(seed: int, small: bool = False) -> SimConfig:
    """The official bulk_lr.yml grid (GD and Adam at 9 lrs), 10 steps, one seed, W_0 and W_10 stored."""
    from htdyn.config import ModelConfig

    model = ModelConfig(n=200, d=100, h=150) if small else ModelConfig()
    runs = [RunConfig(optimizer=OptimizerConfig(o, lr=float(lr)), seed=seed, model=model) for o in ("adam", "gd")
            for lr in SWEEP_LRS]
    return SimConfig(name=f"lr_sweep_s{seed}", steps=10, runs=runs, eval=EvalConfig(features="official"),
                     snapshots=SnapshotConfig(at="first_last", updates=False)).validate()


def run_all(args: argparse.Namespace) -> dict[str, Path]:
    """Simulate and analyse every experiment (only what is missing unless ``--rerun`` / ``--reanalyze``)."""
    OUT.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def cfg(name: str, *over: str) -> SimConfig:
        return htdyn.load_config(SIMS / f"{name}.toml", list(over) + SMALL_OVER * args.small)

    files["single"] = _run_config(cfg("single_runs"), OUT / "single_runs.h5", args, SINGLE_SETS)
    if files["single"] is not None:
        _single_updates(files["single"], args)
    for seed in SWEEP_SEEDS:
        files[f"sweep{seed}"] = _run_config(sweep_config(seed, args.small), OUT / f"lr_sweep_s{seed}.h5", args,
                                            NO_UPDATES)
    for name in ("weight_norm", "steplr_single"):
        if (args.only_existing or args.page_only) and not (OUT / f"{name}.h5").exists():
            print(f"  {name}.h5 not made (--only-existing): its rows are 'not tested'", flush=True)
            continue
        files[name] = _run_config(cfg(name), OUT / f"{name}.h5", args, LIGHT)
    for key, name in (("lambda", "losses_lambda"), ("losses_n", "losses_n"), ("losses_noise", "losses_noise"),
                      ("losses_steplr", "losses_steplr")):
        if (args.only_existing or args.page_only) and not (OUT / f"{name}.h5").exists():
            print(f"  {name}.h5 not made (--only-existing): its rows are 'not tested'", flush=True)
            continue
        files[key] = _run_config(cfg(name), OUT / f"{name}.h5", args, LIGHT)
    files = {k: v for k, v in files.items() if v is not None}
    long = args.long_file or (LONG if LONG.exists() else LONG.with_suffix(".partial.h5"))
    if Path(long).exists():
        try:
            if args.page_only and not long_alpha_csv(Path(long)).is_file():
                read_analysis(long)
            files["long"] = Path(long)
        except htdyn.StoreError:
            print(f"  {Path(long).name}: not analysed (--page-only): left out", flush=True)
    return files


# --------------------------------------------------------------------------- phases

#: the paper's words for each experiment (paper_spec 5.1-5.2), by (optimizer, lr) after 10 steps
PAPER_LABELS = {("adam", 0.001): "random-like (MP unchanged)", ("adam", 0.01): "bulk+spike", ("adam", 0.1): "bulk+spike",
                ("gd", 100): "random-like (unchanged)", ("gd", 1000): "random-like (marginal)",
                ("gd", 2000): "heavy-tailed bulk (spike collapsed)", ("gd", 3000): "heavy-tailed bulk (spike collapsed)"}


def phase_rows(R: Results) -> list[tuple[str, ...]]:
    """(experiment, paper's label, htdyn Martin-Mahoney label per seed, paper-convention label per seed, why)."""
    rows = []
    for i, (opt, lr) in enumerate([("adam", lr) for lr in SWEEP_LRS] + [("gd", lr) for lr in SWEEP_LRS]):
        if opt == "gd" and lr < 100:
            continue
        labels = []
        for s in SWEEP_SEEDS:
            mm = phases.classify_phase(R.esd(f"sweep{s}", i, 10), (1500, 1000))
            labels.append((mm, phases.paper_phase(mm)))
        paper = PAPER_LABELS.get((opt, lr), "heavy-tailed")
        mm, pc = labels[0]
        paper_word = paper.split(" ")[0].rstrip("s")
        alpha = mm.features.get("alpha_hill", float("nan"))
        if mm.phase == pc.phase and mm.phase.rstrip("s") == paper_word:
            why = "agree"
        elif pc.phase.rstrip("s") == paper_word:
            why = f"alpha_Hill {alpha:.2f}: the paper's test agrees; Martin-Mahoney (seed 0): {mm.reason}"
        elif paper_word == "heavy-tailed" and alpha >= 2:
            why = (f"alpha_Hill {alpha:.2f} >= 2: not heavy-tailed by the paper's own test either (its words "
                   f"describe the spike collapsing into the bulk); Martin-Mahoney (seed 0): {mm.reason}")
        else:
            why = f"seed 0: {mm.reason}"

        def tally(which: int, labels: list = labels) -> str:
            names = [lab[which].phase for lab in labels]
            return ", ".join(f"{n} {names.count(n)}/{len(names)}" for n in dict.fromkeys(names))

        rows.append((f"{'Adam' if opt == 'adam' else 'GD'} lr {lr:g}, 10 steps", paper, tally(0), tally(1), why))
    return rows


# --------------------------------------------------------------------------- figures and page


def sweep_phases_now(R: Results, df):
    """The sweep table with its phase column recomputed from the stored ESDs by today's classifier
    (the stored one is the classifier's of the day the file was analysed)."""
    keys = {str(Path(R.files[f"sweep{s}"]).resolve()): f"sweep{s}" for s in SWEEP_SEEDS}
    df = df.copy()
    df["phase"] = [phases.classify_phase(R.esd(keys[str(Path(f).resolve())], int(r), int(t)), (1500, 1000)).phase
                   for f, r, t in zip(df["file"], df["run"], df["step"])]
    return df


def make_figures(R: Results, S: dict, long_label: str) -> list[tuple[str, str, str]]:
    from repro_figures import fig5_figure, long_figure, loss_family_figure, regularizer_figure

    from htdyn.plot import (
        plot_esd,
        plot_esd_evolution,
        plot_metrics,
        plot_overlaps,
        plot_sweep_panel,
        save,
        sweep_table,
    )

    FIGS.mkdir(parents=True, exist_ok=True)
    single = R.files.get("single")
    sweep_files = [R.files.get(f"sweep{s}") for s in SWEEP_SEEDS]
    have = {"single": single is not None, "sweep": bool(S)}
    needs = {"lr_sweep": "sweep", "fig5_alpha_vs_test_kta": "sweep", "loss_families": None, "regularizers": None,
             "long_adam": None}
    made = [
        ("ESD of W_0, W_1 and W_10, Adam lr 1", lambda: plot_esd(single, 2, [0, 1, 10]), "esd_adam_lr1", ""),
        ("ESD of W_0 and W_10, GD lr 2000", lambda: plot_esd(single, 3, [0, 10]), "esd_gd_lr2000", ""),
        ("ESD evolution, Adam lr 1", lambda: plot_esd_evolution(single, 2), "evolution_adam_lr1", ""),
        ("Per-step metrics, Adam lr 1", lambda: plot_metrics(single, 2), "metrics_adam_lr1", ""),
        ("W-M overlaps at the paper's t = 2, Adam lr 1", lambda: plot_overlaps(single, 2, 1), "overlaps_adam_lr1_t2", ""),
        ("W-M overlaps at the paper's t = 2, GD lr 2000", lambda: plot_overlaps(single, 3, 1), "overlaps_gd_lr2000_t2",
         ""),
        (f"lr sweep after 10 steps ({len(SWEEP_SEEDS)} seeds)", lambda: plot_sweep_panel(
            sweep_phases_now(R, sweep_table(sweep_files)), caption=f"official bulk_lr.yml grid, 10 steps, n=2000 d=1000 h=1500, mean and "
            f"std over seeds {SWEEP_SEEDS[0]}-{SWEEP_SEEDS[-1]}; KTA with the official features tanh(X W^T / d)"),
         "lr_sweep", ""),
        ("The paper's Fig. 5: alpha_Hill against test loss and KTA", lambda: fig5_figure(S), "fig5_alpha_vs_test_kta",
         "Every run of the sweep; the official code's two seeds as open markers. Read with the Spearman row: a "
         "correlation over a sweep whose large-lr runs both blow up the test loss and lower alpha_Hill."),
        ("Loss curves against step, the four families", lambda: loss_family_figure(R), "loss_families",
         "Per-step train (dashed) and test (solid) losses, mean +- std over the repeats (2; StepLR 5); the lambda panel "
         "against lambda at t = 0, 1 and 10."),
        ("Weight normalisation and StepLR against step", lambda: regularizer_figure(R), "regularizers", ""),
    ]
    if "long" in R.files:
        long = R.long_alpha()
        made.append(("alpha_Hill against step, the long Adam runs", lambda: long_figure(long, long_label), "long_adam",
                     ""))
    out = []
    for title, make, stem, text in made:
        need = needs.get(stem, "single")
        if need is not None and not have[need]:
            print(f"  figure {stem} left out: no analysed {need} file", flush=True)
            (FIGS / f"{stem}.png").unlink(missing_ok=True)
            continue
        try:
            fig = make()
        except (KeyError, htdyn.HtdynError) as exc:  # a file not made or not analysed in the time
            print(f"  figure {stem} left out: {exc!r}", flush=True)
            (FIGS / f"{stem}.png").unlink(missing_ok=True)
            continue
        save(fig, FIGS / stem, formats=("png",))
        out.append((title, f"figures/reproduction/{stem}.png", text))
    return out


def verdict_cell(c: Check) -> str:
    if c.verdict == MATCHED:
        return "matched (trend)" if c.trend else "matched"
    return {DIFFERS: "**differs**", NOT_TESTED: "not tested", REPORTED: "reported"}[c.verdict]


def headline(checks: list[Check]) -> str:
    testable = [c for c in checks if c.verdict in (MATCHED, DIFFERS)]
    ok = [c for c in testable if c.verdict == MATCHED]
    n_trend = sum(c.trend for c in ok)
    nt = sum(c.verdict == NOT_TESTED for c in checks)
    rep = sum(c.verdict == REPORTED for c in checks)
    return (f"**Verdict: {len(ok)} of {len(testable)} testable rows matched** ({n_trend} of them on a sign or a "
            f"trend only), {len(testable) - len(ok)} differ; {nt} not tested, {rep} reported without a target.")


def write_page(checks: list[Check], prow: list, figs: list, meta: dict) -> None:
    lines = [
        "# Reproduction of Kothapalli et al. (2025), side by side with the official code",
        "",
        "<!-- generated by sims/paper/reproduce.py; do not edit by hand -->",
        "",
        f"Generated by `python sims/paper/reproduce.py` on {meta['date']} ({meta['machine']}).",
        "",
        meta["cost"],
        "",
        "The official numbers are the [MEAS] targets of `paper_spec.md` (section 5.2, measured with the official "
        "code: its lr sweep's seeds 0 and 1, its single runs' seed 0, its loss families' one seed each). htdyn's "
        f"come from the configs in `sims/paper/` and the lr sweep the script builds (official `bulk_lr.yml` grid, "
        f"{len(SWEEP_SEEDS)} seeds). The official code sets no seed, so a draw of htdyn is never the official "
        "draw: where both sides have several draws a row is judged by a two-sample t-test at 5% against the "
        "spread over the draws (pooled sd shown). The draw is the seed: every lr of one sweep seed shares W_0 and "
        "the data, on both sides, so a row over several lrs (marked 'seed means') is tested on each seed's mean "
        "over those lrs, not on the lr x seed values as if independent. In the loss families (one official seed, "
        "htdyn's repeats) htdyn's mean at each value is t-tested against the official single draw, Bonferroni over "
        "the values so that the row is at 5%, with a seed-to-seed sd from independent draws (the row says which): "
        "a family's repeats share their seed at every value, so 2 repeats give one degree of freedom, no usable "
        "spread. Where "
        "both sides have one draw (the per-step single runs, seed 0) a row is judged by a window written in the "
        "row with its reason (a bound, a Tracy-Widom scale, a spread computed from the sweep, or a stated "
        "tolerance, said to be one); rows marked (trend) check only a sign or an ordering. At 5% about one of "
        "twenty t-tested rows differs by chance. The criteria are in `sims/paper/repro_checks.py`.",
        "",
        "**Sizes.** " + meta["sizes"],
        "",
        headline(checks),
        "",
        "| item | quantity | official code | htdyn | verdict | criterion | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        cells = [c.item, c.quantity, c.official, c.ours, verdict_cell(c), c.criterion, c.note]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    lines += ["", "## Phases: the paper's label, htdyn's, and why they differ", "",
              "htdyn's default labels follow Martin & Mahoney's definitions (docs/analysis_mp_phases.md); "
              "`convention=\"paper\"` relabels heavy-tailed when PL_Alpha_Hill < 2. Labels are counted over the "
              f"{len(SWEEP_SEEDS)} seeds of the sweep (W_10); \"why\" is about seed 0.", "",
              "| experiment | paper | htdyn (Martin-Mahoney) | htdyn (paper convention) | why |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in prow]
    lines += ["", "## KTA", "",
              "The `features` metric set computes the KTA on the features the run's read-out used "
              "(`eval.features`, docs/analysis.md): every run here is made with `eval.features = \"official\"`, "
              "so the KTA on this page is the official code's, the uncentred alignment of the probe-set features "
              "tanh(X W^T / d) (its hook divides the stored pre-activations by sqrt(d) a second time). "
              f"The script checks it against its own computation from W ({meta['kta_check']}). The uncentred "
              "KTA's level moves with the draw of the data and of W_0 (0.0170/0.0171 on the official seeds, "
              f"{meta['kta0']} on htdyn's), so the rows above also test its rise over 10 steps.", "",
              "## Figures", ""]
    for title, rel, text in figs:
        lines += [f"### {title}", "", f"![{title}]({rel})", ""] + ([text, ""] if text else [])
    tmp = PAGE.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(PAGE)


#: the check groups, and the files each needs (a group whose files are not analysed is one 'not tested' row)
GROUPS = [
    ("Init sanity", ("sweep", "single"), lambda R, S, L: checks_init(R.sweep_init(), R.esd("single", 0, 0))),
    ("Adam's first step is sign-GD", ("single",), lambda R, S, L: checks_first_step(R.row("single", 2, 0))),
    ("One-step spike; GD needs larger eta", ("single", "sweep"), lambda R, S, L: checks_spikes(R, S)),
    ("Heavy tail after 10 steps", ("sweep",), lambda R, S, L: checks_sweep_alpha(S)),
    ("Mechanism; long runs", ("single", "sweep"), lambda R, S, L: checks_mechanism(R, S, L[0], L[1])),
    ("Alignment and generalization", ("single", "sweep"),
     lambda R, S, L: checks_generalization(R, S, best_steps(R))),
    ("Regularizers", (), lambda R, S, L: checks_regularizers(R)),
    ("Loss families", ("sweep",), lambda R, S, L: checks_families(R, S)),
]


def all_checks(R: Results, long_label: str) -> tuple[list[Check], dict]:
    have_sweep = all(f"sweep{s}" in R.files for s in SWEEP_SEEDS)
    S = R.sweep() if have_sweep else {}
    long = (R.long_alpha() if "long" in R.files else None, long_label)
    checks: list[Check] = []
    for name, needs, make in GROUPS:
        missing = [k for k in needs if not (have_sweep if k == "sweep" else k in R.files)]
        if missing:
            checks.append(Check(name, "every row of the group", "see paper_spec 5.2", "not run", NOT_TESTED,
                                f"needs {', '.join(missing)}: not simulated and analysed in the time of this run"))
        else:
            checks += make(R, S, long)
    return checks, S


def cost_text(files: dict[str, Path], seconds: float, page_only: bool = False) -> str:
    sim_s, first = 0.0, time.time()
    for k, p in files.items():
        with htdyn.open(p) as traj:
            sim_s += float(traj.attrs.get("timing_total_s", 0.0)) if k != "long" else 0.0
            if k != "long":
                first = min(first, datetime.datetime.fromisoformat(str(traj.attrs["created"])).timestamp())
    size = sum(f.stat().st_size for f in OUT.glob("*.h5"))
    load = os.getloadavg()
    rate = ""
    if "long" in files:
        with htdyn.open(files["long"]) as traj:
            done = min(r.steps_done for r in traj.runs)
            took = float(traj.attrs.get("timing_total_s", 0.0))
            since = int(traj.attrs.get("timing_group0_resumed_from", 0))
        sitting = f"the last sitting (from step {since}, after a resume) " if since else "they "
        rate = (f" The long pair reached {done} steps; {sitting}took {took / 60:.0f} min "
                f"({(done - since) / max(took, 1e-9):.2f} steps/s for the pair, by the file's own timings).")
    return (f"**Cost.** outputs/paper/ holds {size / 1e9:.1f} GB of trajectory files. The 10-step simulations "
            f"took {sim_s / 60:.0f} min (the timings stored in the files, summed; several ran side by side), this run of the script ("
            f"{'checks and figures, from analyses made beforehand' if page_only else 'analyses, checks, figures'}) "
            f"{seconds / 60:.0f} min; from the first simulation to this page "
            f"{(time.time() - first) / 60:.0f} min of wall time, on 2 CPU cores shared with other sessions "
            f"(load average {load[1]:.1f} over the last 5 min at the end). The long runs are made apart (module "
            "docstring)." + rate)


def main(argv: list[str] | None = None) -> int:
    global OUT, FIGS, PAGE, LONG
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rerun", action="store_true", help="re-simulate every experiment")
    ap.add_argument("--reanalyze", action="store_true", help="keep the simulations, recompute every analysis")
    ap.add_argument("--long-file", type=Path, help=f"the long Adam runs (default {LONG.relative_to(ROOT)}, "
                    "or its .partial.h5)")
    ap.add_argument("--sims-only", action="store_true", help="simulate and analyse, write no page")
    ap.add_argument("--only-existing", action="store_true",
                    help="make no loss-family simulation that is missing: its rows are 'not tested'")
    ap.add_argument("--page-only", action="store_true",
                    help="simulate and analyse nothing: the page from the analysed files (missing ones 'not tested')")
    ap.add_argument("--small", action="store_true", help="a smoke test at n=200 d=100 h=150 into outputs/paper_small")
    args = ap.parse_args(argv)
    if args.small:
        OUT = ROOT / "outputs" / "paper_small"
        FIGS, PAGE, LONG = OUT / "figures", OUT / "reproduction.md", OUT / "long_adam_paper.h5"
    args.reanalyzed = set()
    t0 = time.time()
    files = run_all(args)
    if args.sims_only:
        return 0
    R = Results(files)
    long_label = "not run"
    if "long" in files:
        with htdyn.open(files["long"]) as traj:
            done = min(r.steps_done for r in traj.runs)
            planned = int(traj.attrs.get("steps", 0))
        long_label = f"paper size, {done} of {planned} steps" + (" (stopped, resumable)" if done < planned else "")
    checks, S = all_checks(R, long_label)
    init = R.sweep_init() if S else [{"kta": float("nan")}]
    direct = R.kta_direct("sweep0", 0, 0) if S else float("nan")
    kta0 = " / ".join(f"{r['kta']:.4f}" for r in init)
    assert not S or abs(direct - init[0]["kta"]) < 1e-6 * abs(direct) + 1e-9, (direct, init[0]["kta"])
    figs = make_figures(R, S, long_label)
    meta = {"date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU threads, numpy backend",
            "kta_check": f"seed 0, W_0: {direct:.6f} against the metric set's {init[0]['kta']:.6f}", "kta0": kta0,
            "sizes": "every run at the paper's size (n=2000 or as varied, d=1000, h=1500, 10 steps) on the CPU; "
                     f"the long Adam runs: {long_label}. Analysed: the single runs with the sets "
                     f"{', '.join(SINGLE_SETS)} at every step and the update set for runs {UPDATE_RUNS} (Adam lr 1, "
                     f"GD lr 2000, 3000: the W-M overlaps), the sweep with {', '.join(NO_UPDATES)}, the regularizer "
                     f"runs and the loss families with {', '.join(LIGHT)}, the long runs with powerlaw; what the "
                     "page reads, no more (the script's module constants say why)."}
    meta["cost"] = cost_text(files, time.time() - t0, args.page_only)
    write_page(checks, phase_rows(R) if S else [], figs, meta)
    print(headline(checks))
    for c in checks:
        if c.verdict != MATCHED:
            print(f"  {c.verdict}: {c.item}: {c.quantity}: official {c.official}, htdyn {c.ours}; {c.criterion}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

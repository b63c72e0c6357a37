"""Training curves as extrapolation problems: a source of long learning curves (issue 13).

    .venv/bin/python benchmarks/training_curves.py build [--set fresh7]
    .venv/bin/python benchmarks/training_curves.py fit [--set fresh7] [--workers 2]
    .venv/bin/python benchmarks/training_curves.py score [--set fresh7]

Every completed trial of a study stores the curve its task recorded while it trained: validation
loss against examples seen, one point per evaluation (`TrainResult.curve`). `build` reads them
from the exports of the five corpus studies of a fresh set (runs/corpus/corpus-<task>-<SET>.csv,
written by benchmarks/corpus_studies/make_curves.py) into
benchmarks/data/training_curves_<SET>.csv. Each curve ends at its lowest validation loss: past
it come the early-stopping patience's evaluations, where the model overfits, which none of the
laws describes. The problems (`problems`) treat a curve as the corpus treats datablations' LLM
training curves (`scalinglab.selection.corpus.datablations_problems`): kept from 1/100 of its
last x on, thinned to 20 points per decade, cut at 0.3, 0.6 and 1.0 decades. Unlike the corpus's
`studies` source (6–8 shards a curve), most of these curves have 11 or more points before the
cut, and they are asked at short and long horizons alike.

`fit` caches the as-run fits (as `tune_auto.py --as-run` fits the corpus; resumable) in
benchmarks/data/tune_cache_as_run_training_<SET>.json.gz. `score` prints, from the cache, the
seven laws, the rule shipped then (`tune_auto.SIGMA_RULE`, scores in units of σ) and candidate C
of the registration of 2026-12-07 07:02 (docs/auto-tuning-log.md): that rule, except that a curve
with `LONG` or more distinct training x values reads its Akaike weights off the whole-grid fits,
with its interval at scale `LONG_SCALE`.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import tune_auto
from tune_candidates import rules_outcomes

from scalinglab.selection import corpus, protocol

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "data"
RUNS = REPO / "runs" / "corpus"
TASKS = ("synthetic", "image", "speech", "lm", "translation")
SOURCE = "training"
# The sets whose training curves are a tuning source (fresh_cache.seven_sources): set 7's since
# 2026-12-07 07:02, set 9's since the registration of 09:47 failed (docs/auto-tuning-log.md)
TUNING_SETS = ("fresh7", "fresh9")
LONG = 11  # distinct training x values from which candidate C reads the whole-grid criteria
LONG_SCALE = 2.2288  # candidate C's interval scale on those curves (in-sample choice, registered)
COLUMNS = ["study", "task", "seed", "shard_size", "model_size", "trial", "x", "y"]
CURVE_KEY = ["study", "seed", "shard_size", "trial"]  # trials are numbered per (seed, shard)


def table_path(name: str) -> Path:
    return DATA / f"training_curves_{name}.csv"


def cache_path(name: str) -> Path:
    return DATA / f"tune_cache_as_run_training_{name}.json.gz"


def until_lowest(curve: list[list[float]]) -> np.ndarray:
    """A stored curve [(examples seen, validation loss), ...] up to its lowest finite loss
    (the first, if tied), as an (n, 2) array; empty if it has no finite loss."""
    a = np.asarray(curve, dtype=float).reshape(-1, 2)
    a = a[np.isfinite(a).all(axis=1) & (a[:, 0] > 0) & (a[:, 1] > 0)]
    if a.size == 0:
        return a
    return a[: int(np.argmin(a[:, 1])) + 1]


def build(name: str) -> pd.DataFrame:
    """Every completed trial's training curve from the set's exports, one row per point."""
    rows = []
    for task in TASKS:
        export = RUNS / f"corpus-{task}-{name}.csv"
        if not export.exists():
            raise SystemExit(f"{export} is missing: run make_curves.py --suffix {name} first")
        df = pd.read_csv(export)
        for r in df[df["state"] == "COMPLETE"].itertuples(index=False):
            for x, y in until_lowest(json.loads(r.curve) if isinstance(r.curve, str) else []):
                rows.append(
                    (r.study, task, int(r.seed), int(r.shard_size), int(r.model_size),
                     int(r.trial), float(x), float(y))
                )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def problems(name: str) -> list[corpus.Problem]:
    """The set's training curves cut as the corpus cuts datablations' (module docstring)."""
    df = pd.read_csv(table_path(name))
    out: list[corpus.Problem] = []
    for (study, seed, shard, trial), g in df.groupby(CURVE_KEY, sort=True):
        g = g.sort_values("x", kind="stable").drop_duplicates("x", keep="last")
        x, y = g["x"].to_numpy(float), g["y"].to_numpy(float)
        keep = x >= corpus.DATABLATIONS_START * x[-1]
        x, y = x[keep], y[keep]
        if x.size < 2:
            continue
        idx = corpus.thin_log(x, corpus.PER_DECADE)
        first = g.iloc[0]
        meta = {k: str(first[k]) for k in ("task", "seed", "shard_size", "model_size")}
        curve = f"{study}|seed{seed}|shard{shard}|trial{trial}"
        out += corpus.cut_curve(SOURCE, curve, x[idx], y[idx], corpus.DATABLATIONS_HORIZONS, meta)
    return out


def candidate_outcomes(ps: list[corpus.Problem], fits: dict) -> list[protocol.Outcome]:
    """The seven laws, the rule shipped at the registration ("auto", `tune_auto.SIGMA_RULE`) and
    candidate C ("C": that rule with `long_curves` LONG at `long_scale` LONG_SCALE) on every
    problem."""
    base = tune_auto.SIGMA_RULE
    candidate_c = base.with_(long_curves=LONG, long_scale=LONG_SCALE)
    return rules_outcomes(ps, fits, {"auto": base, "C": candidate_c})


def cut_of(outcome: protocol.Outcome) -> str:
    """The decades its problem's curve was cut at ("...@h0.3" -> "0.3")."""
    return outcome.problem.rsplit("@h", 1)[1]


def score(name: str) -> None:
    ps = problems(name)
    fits = tune_auto.read_cache(cache_path(name))
    missing = [p.id for p in ps if p.id not in fits]
    if missing:
        raise SystemExit(f"{len(missing)} problems have no cached fits: run `fit` first")
    outcomes = candidate_outcomes(ps, fits)
    long = sum(len(set(p.x_train)) >= LONG for p in ps)
    curves = len({p.curve for p in ps})
    print(f"{len(ps)} problems from {curves} curves; {long} with {LONG}+ training x values")
    print(protocol.format_table(protocol.summarise(outcomes, reference=tune_auto.LABELS)))
    rmse = tune_auto.rmse_by_rule(outcomes)
    laws = {k: float(np.median(list(v.values()))) for k, v in rmse.items()}
    best = min(tune_auto.LABELS, key=lambda k: laws[k] if math.isfinite(laws[k]) else math.inf)
    for rule in ("auto", "C"):
        mine = [o for o in outcomes if o.rule == rule]
        print(f"- {rule}: {tune_auto.coverage_text(mine)}")
    for a, b in (("C", "auto"), ("C", best), ("auto", best)):
        r, lo, hi = tune_auto.paired_ratio(rmse, a, b)
        print(f"- median RMSE {a} / {b}: {r:.3f} (paired bootstrap 90% interval {lo:.2f}-{hi:.2f})")
    print("\n90% coverage by cut (decades held out):")
    print(tune_auto.coverage_by(outcomes, ("auto", "C"), cut_of, "cut"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("build", "fit", "score"))
    parser.add_argument("--set", default="fresh7", help="the fresh set whose runs to read")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.step == "build":
        df = build(args.set)
        df.to_csv(table_path(args.set), index=False)
        print(f"{table_path(args.set)}: {df.groupby(CURVE_KEY).ngroups} curves")
    elif args.step == "fit":
        tune_auto.load_or_compute(problems(args.set), cache_path(args.set), args.workers, True)
    else:
        score(args.set)


if __name__ == "__main__":
    main()

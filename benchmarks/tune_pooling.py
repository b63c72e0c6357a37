"""Leave one source out on seven sources: the information criteria pooled over a curve's group
(issue 13; docs/auto-tuning-log.md, 2026-12-07, "pooling the criteria over a curve's group").

    .venv/bin/python benchmarks/tune_pooling.py [--table]   (repo root, ~2 min on the cached fits)

A learning curve rarely comes alone: a study has one per model size beside its best-per-shard
curve, a table of training runs one per model. Partial pooling (Gelman & Hill 2007, ch. 12)
lets each curve's choice of law borrow from the others: each candidate's criterion is the
curve's own AIC plus λ times its mean ΔAIC over the group's other curves (each capped at c;
`RuleConfig.pooling`, `pooling_cap`, `rule.group_evidence`). The group's ΔAIC are read off each
curve's whole-grid fits (the fits that predict); λ = 0 is the shipped rule.

Groups (`group_of`), fixed before any figure: a study's curves of one seed (its best-per-shard
curve and its curves per model size) in `studies` and `fresh`; one study's training runs of one
seed in `training`; the runs on one data set (c4, oscar) in `datablations`; one domain in
`lang`; every curve of the source in `synthetic` (unrelated law families: the case where the
group misleads) and `chinchilla`. Only curves cut at the same horizon are grouped, so no curve's
held-out points reach another's fit. Each split chooses (λ, c, scale of `FINE_SCALES`) by
`protocol.default_choice` on the six other sources and is scored on the one left out; printed:
the left-out median over the best single law's, coverage and each split's choice; `--table`
prints the full table of the choice.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import tune_auto
from fresh_cache import seven_sources
from tune_auto import LABELS, Precomputed, backtests_of
from tune_candidates import configs_outcomes, print_loso_of
from tune_units import FINE_SCALES

from scalinglab.selection import corpus, protocol
from scalinglab.selection.rule import DEFAULT_RULE, ic_deltas

LAMBDAS = (0.25, 0.5, 1.0)
CAPS = tuple(float(c) for c in os.environ.get("POOL_CAPS", "10,20,40").split(","))


def group_of(problem: corpus.Problem) -> tuple[object, ...]:
    """The group a problem's curve belongs to, and the cut (see the module doc)."""
    m, source = problem.meta, problem.source
    within: object = ""
    if source in ("studies", "fresh"):
        within = (m["study"], m["seed"])
    elif source == "training":
        within = (m["task"], m["seed"])
    elif source == "datablations":
        within = m["data"]
    elif source == "lang":
        within = m["domain"]
    return source, within, m.get("cut_horizon", 0.0)


def whole_deltas(problem: corpus.Problem, rec: dict) -> dict[str, float]:
    """The candidates' ΔAIC from their whole-grid fits on the problem's training points."""
    bt = backtests_of(problem, {**rec, "full_noise": None}, DEFAULT_RULE.n_cuts)
    return ic_deltas(bt, LABELS, DEFAULT_RULE)


def attach_groups(problems: Sequence[corpus.Problem], fits: dict) -> None:
    """Store the ΔAIC of each problem's group's other curves in its cached record, where
    `backtests_of` hands them to the rule."""
    deltas = {p.id: whole_deltas(p, fits[p.id]) for p in problems}
    groups: dict[tuple[object, ...], list[corpus.Problem]] = collections.defaultdict(list)
    for p in problems:
        groups[group_of(p)].append(p)
    for p in problems:
        others = [deltas[q.id] for q in groups[group_of(p)] if q.curve != p.curve]
        fits[p.id]["group"] = others


def short(key: str) -> str:
    """A rule key without the parts every variant shares: pooling and scale."""
    gp = next((part for part in key.split("-") if part.startswith("gp")), "gp0")
    scale = next(part for part in key.split("-") if part.startswith("s") and part[1:2].isdigit())
    return f"{gp} {scale}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="the full table of the choice")
    args = parser.parse_args()
    problems, fits = seven_sources(",".join(tune_auto.FRESH_SETS))
    attach_groups(problems, fits)
    rules = [DEFAULT_RULE] + [
        DEFAULT_RULE.with_(pooling=lam, pooling_cap=cap)
        for lam, cap in itertools.product(LAMBDAS, CAPS)
    ]
    outcomes = configs_outcomes(problems, fits, rules, FINE_SCALES)
    summary = protocol.summarise(outcomes, reference=LABELS)
    grid = [r.with_(scale=s).key for r in rules for s in FINE_SCALES]
    loso = protocol.leave_one_source_out(
        problems, grid, reference=LABELS, scorer=Precomputed(outcomes)
    )
    rows = []
    for r in loso.to_dict("records"):
        mine = summary[summary["source"] == r["left_out"]]
        best = float(mine[mine["rule"].isin(LABELS)]["median_rmse"].min())
        row = mine[mine["rule"] == r["chosen"]].iloc[0]
        shipped = mine[mine["rule"] == DEFAULT_RULE.key].iloc[0]
        rows.append({
            "left out": r["left_out"], "chosen": short(r["chosen"]),
            "median / best law": round(float(row["median_rmse"]) / best, 3),
            "coverage": round(100 * float(row["coverage90"]), 1),
            "shipped: median / best": round(float(shipped["median_rmse"]) / best, 3),
            "shipped: coverage": round(100 * float(shipped["coverage90"]), 1),
        })  # fmt: skip
    print(pd.DataFrame(rows).to_string(index=False))
    everything = summary[summary["rule"].isin([*LABELS, *grid])]
    print("chosen on all seven (in-sample):", short(protocol.default_choice(everything)))
    if args.table:
        print_loso_of(problems, outcomes, grid, "pooling", chosen_label="all seven (in-sample)")
    ratios = np.array([r["median / best law"] for r in rows])
    print(f"worst left-out ratio {ratios.max():.3f}")


if __name__ == "__main__":
    main()

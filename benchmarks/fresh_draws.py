"""A variant of the auto rule on the fresh study draws, beside the shipped rule and the single
laws: issue 13's out-of-sample check on our own studies.

    .venv/bin/python benchmarks/fresh_draws.py --name whole-backtests --backtest-starts 4096 \\
        --scale 2.8 [--workers 2]

The problems are those of benchmarks/data/study_curves_fresh.csv: the five corpus studies rerun
with new seeds (new shards, initialisations and batch orders), cut as the `studies` source's;
the file is kept out of every tuning run. The variant is `DEFAULT_RULE` with the knobs given,
run through `auto_fit` (`protocol.AutoRule`); its outcomes are appended to
benchmarks/data/study_fresh_<name>_outcomes.jsonl as they are computed (a rerun resumes). The
shipped rule's outcomes (study_fresh_auto_outcomes.jsonl) and the single laws'
(study_fresh_singles_outcomes.jsonl, each law on its whole start grid) were computed the same way
before. Printed: per study and pooled, median RMSE and 90% coverage, and the paired bootstrap
ratio of the variant's median RMSE to the shipped rule's and to the best single law's, and the
pooled coverages with their curve bootstrap intervals (`protocol.coverage_interval`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import tune_auto
from extrapolation_corpus import read_outcomes
from rule_variant import add_rule_options, rule_from

from scalinglab.selection import corpus, protocol

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
# The fit options every committed outcome here was computed with (the benchmark's options until
# 2026-12-05, evening; since then the laws' defaults, max_iter 1000): a variant is run with them
# so that it is compared with the shipped rule's and the single laws' records like for like.
RECORD_OPTIONS = {"max_iter": 500, "tol": 1e-10}
STUDIES = ("synthetic", "image", "speech", "lm", "translation")


def ratio(outcomes: list[protocol.Outcome], a: str, b: str) -> str:
    """a's median RMSE over b's on the problems both scored, with its paired bootstrap 90%."""
    rmse = tune_auto.rmse_by_rule(outcomes)
    r, lo, hi = tune_auto.paired_ratio(rmse, a, b)
    return f"{a} / {b}: {r:.2f} ({lo:.2f}-{hi:.2f}, {len(rmse[a].keys() & rmse[b])} problems)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the variant's name in the tables")
    add_rule_options(parser)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = rule_from(args)
    print(f"{args.name} = {config.key}", flush=True)
    problems = corpus.study_problems(DATA / "study_curves_fresh.csv")
    path = DATA / f"study_fresh_{args.name}_outcomes.jsonl"
    done = {o.problem for o in read_outcomes(path)}
    todo = [p for p in problems if p.id not in done]
    print(f"{len(done)} problems done, {len(todo)} to run", flush=True)
    rules = {args.name: protocol.AutoRule(config=config, options=RECORD_OPTIONS)}
    with path.open("a") as fh:

        def save(_: corpus.Problem, result: list[protocol.Outcome]) -> None:
            for o in result:
                fh.write(json.dumps(o.to_dict()) + "\n")
            fh.flush()

        protocol.Scorer(rules, workers=args.workers, progress=save)(todo, [args.name])
    outcomes = [
        *read_outcomes(path),
        *read_outcomes(DATA / "study_fresh_auto_outcomes.jsonl"),
        *read_outcomes(DATA / "study_fresh_singles_outcomes.jsonl"),
    ]
    shown = [args.name, "auto", "bnsl1", "m4", "power_const"]
    for study in (*STUDIES, "pooled"):
        part = [o for o in outcomes if study == "pooled" or f"corpus-{study}-fresh" in o.problem]
        table = protocol.summarise(part, rules=shown)
        print(f"\n{study}:")
        print(table[["rule", "problems", "median_rmse", "coverage90"]].to_string(index=False))
    summary = protocol.summarise(outcomes)
    singles = summary[summary["rule"].isin(protocol.STANDARD)]
    best = str(singles.sort_values("median_rmse")["rule"].iloc[0])
    print(f"\n{ratio(outcomes, args.name, 'auto')}\n{ratio(outcomes, args.name, best)}")
    print(f"the shipped rule: {ratio(outcomes, 'auto', best)}")
    for rule in dict.fromkeys([args.name, "auto"]):
        print(f"{rule}: pooled {tune_auto.coverage_text([o for o in outcomes if o.rule == rule])}")


if __name__ == "__main__":
    main()

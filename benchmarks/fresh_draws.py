"""A variant of the auto rule on the fresh study draws, beside the shipped rule and the single
laws: issue 13's out-of-sample check on our own studies.

    .venv/bin/python benchmarks/fresh_draws.py --name whole-backtests --backtest-starts 4096 \\
        --scale 2.8 [--set fresh] [--workers 2]
    .venv/bin/python benchmarks/fresh_draws.py --set fresh2 --reference [--workers 2]

The problems are those of benchmarks/data/study_curves_<SET>.csv (default: fresh): the five
corpus studies rerun with new seeds (new shards, initialisations and batch orders; made by
benchmarks/corpus_studies/make_curves.py --suffix SET), cut as the `studies` source's; the files
are kept out of every tuning run. `--reference` scores the set's reference records: each single
law on its whole start grid and the shipped rule, with the fit options the tool uses today (the
first set's were made with RECORD_OPTIONS, and a variant is run on that set with them). The
variant is `DEFAULT_RULE` with the knobs given, run through `auto_fit` (`protocol.AutoRule`);
its outcomes are appended to benchmarks/data/study_<SET>_<name>_outcomes.jsonl as they are
computed (a rerun resumes). The shipped rule's outcomes (study_<SET>_auto_outcomes.jsonl) and
the single laws' (study_<SET>_singles_outcomes.jsonl, each law on its whole start grid) were
computed the same way before. `auto` is always the rule shipped today: when `DEFAULT_RULE`
changes, the records of the rule it replaces are renamed (on 2026-12-07, to
study_<SET>_rule-2026-12-05_outcomes.jsonl, and on the first set the records from before
`rule.MIN_WEIGHT` to ..._rule-2026-12-05-early_...; later that day, when the scores went to log
units, the σ-unit rule's to study_<SET>_rule-2026-12-07-sigma_outcomes.jsonl), and the new
rule's are written as `auto` (`rescale_outcomes.py` when only the scale and growth changed, else
`--reference` or `--name auto` with no knobs). Today's `auto` records exist for set 8 (its
registered check, through `auto_fit`); sets 1-7 have none until they are rerun. Printed: per
study and pooled, median RMSE and 90% coverage, and the paired bootstrap ratio of the variant's
median RMSE to the shipped rule's and to the best single law's, and the pooled coverages with
their curve bootstrap intervals (`protocol.coverage_interval`).
"""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack
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


def run_rules(
    problems: list[corpus.Problem],
    rules: dict[str, protocol.Rule],
    path_of: dict[str, Path],
    workers: int,
) -> None:
    """Score `rules` on the problems some of them have not scored yet, by their outcome files
    (`path_of`: rule -> its JSONL), appending each new outcome as it is computed (a rerun
    resumes)."""
    paths = set(path_of.values())
    seen = {(o.rule, o.problem) for path in paths for o in read_outcomes(path)}
    todo = [p for p in problems if any((name, p.id) not in seen for name in rules)]
    print(f"{len(problems) - len(todo)} problems done, {len(todo)} to run", flush=True)
    with ExitStack() as stack:
        handles = {path: stack.enter_context(path.open("a")) for path in paths}

        def save(_: corpus.Problem, result: list[protocol.Outcome]) -> None:
            for o in result:
                if (o.rule, o.problem) not in seen:
                    fh = handles[path_of[o.rule]]
                    fh.write(json.dumps(o.to_dict()) + "\n")
                    fh.flush()

        protocol.Scorer(rules, workers=workers, progress=save)(todo, list(rules))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", help="the variant's name in the tables")
    parser.add_argument(
        "--set", default="fresh", help="the draws: benchmarks/data/study_curves_<SET>.csv"
    )
    parser.add_argument(
        "--reference", action="store_true",
        help="score the shipped rule and the single laws on the set (its reference records)",
    )  # fmt: skip
    add_rule_options(parser)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if (args.name is not None) == args.reference:
        parser.error("give --name (a variant) or --reference, not both")
    problems = corpus.study_problems(DATA / f"study_curves_{args.set}.csv")
    records = {
        kind: DATA / f"study_{args.set}_{kind}_outcomes.jsonl" for kind in ("auto", "singles")
    }
    if args.reference:
        # the tool as it runs today: each single law on its whole start grid, then auto
        rules = protocol.standard_rules()
        path_of = {n: records["auto" if n == "auto" else "singles"] for n in rules}
        run_rules(problems, rules, path_of, args.workers)
        shown_name = "auto"
        outcomes = [*read_outcomes(records["auto"]), *read_outcomes(records["singles"])]
    else:
        config = rule_from(args)
        print(f"{args.name} = {config.key}", flush=True)
        path = DATA / f"study_{args.set}_{args.name}_outcomes.jsonl"
        # like for like with the set's reference records (the first set's: RECORD_OPTIONS)
        options = RECORD_OPTIONS if args.set == "fresh" else None
        rule = protocol.AutoRule(config=config, options=options)
        run_rules(problems, {args.name: rule}, {args.name: path}, args.workers)
        shown_name = args.name
        outcomes = [*read_outcomes(path), *(o for f in records.values() for o in read_outcomes(f))]
    shown = list(dict.fromkeys([shown_name, "auto", "bnsl1", "m4", "power_const"]))
    for study in (*STUDIES, "pooled"):
        tag = f"corpus-{study}-{args.set}|"
        part = [o for o in outcomes if study == "pooled" or tag in o.problem]
        table = protocol.summarise(part, rules=shown)
        print(f"\n{study}:")
        print(table[["rule", "problems", "median_rmse", "coverage90"]].to_string(index=False))
    scored = {o.rule for o in outcomes}
    if not {"auto", *protocol.STANDARD} <= scored:
        print(f"\n(no reference records for {args.set}: run --reference for the ratios)")
    else:
        summary = protocol.summarise(outcomes)
        singles = summary[summary["rule"].isin(protocol.STANDARD)]
        best = str(singles.sort_values("median_rmse")["rule"].iloc[0])
        if shown_name != "auto":
            print(f"\n{ratio(outcomes, shown_name, 'auto')}\n{ratio(outcomes, shown_name, best)}")
        print(f"the shipped rule: {ratio(outcomes, 'auto', best)}")
    for rule in (r for r in dict.fromkeys([shown_name, "auto"]) if r in scored):
        print(f"{rule}: pooled {tune_auto.coverage_text([o for o in outcomes if o.rule == rule])}")


if __name__ == "__main__":
    main()

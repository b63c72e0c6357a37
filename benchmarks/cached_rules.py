"""The shipped auto rule beside a variant on a set of problems whose as-run fits are cached: a
registered check's table (issue 13; docs/auto-tuning-log.md).

    .venv/bin/python benchmarks/cached_rules.py --shards fresh8 --knobs '{"units": "log"}'
    .venv/bin/python benchmarks/cached_rules.py --training fresh8 --knobs '{"units": "log"}'

`--shards SET`: the per-shard problems of benchmarks/data/study_curves_<SET>.csv (cut as the
corpus's `studies` source), their fits in benchmarks/data/tune_cache_as_run_<SET>.json.gz
(`fresh_cache.py --sets SET --cache ...`); `--training SET`: the training curves of that set's
runs (`training_curves.py build/fit --set SET`). The seven laws, `DEFAULT_RULE` ("auto") and
`DEFAULT_RULE` with `--knobs` ("variant") are scored from the fits — the route of the
leave-one-source-out tables — and printed: the table, each rule's 90% coverage with its curve
bootstrap interval, the variant's median over auto's, and the coverage per task.
"""

from __future__ import annotations

import argparse
import json

import training_curves
import tune_auto
from fresh_cache import DATA, fresh_problems
from tune_candidates import rules_outcomes

from scalinglab.selection import corpus, protocol
from scalinglab.selection.rule import DEFAULT_RULE


def task_of(problem: corpus.Problem) -> str:
    return str(problem.meta.get("task") or problem.meta.get("domain") or problem.source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--shards", metavar="SET", help="a fresh set's per-shard problems")
    which.add_argument("--training", metavar="SET", help="a fresh set's training curves")
    parser.add_argument("--knobs", type=json.loads, default={}, metavar="JSON")
    args = parser.parse_args()
    if args.shards:
        problems = fresh_problems([args.shards])
        cache = DATA / f"tune_cache_as_run_{args.shards}.json.gz"
    else:
        problems = training_curves.problems(args.training)
        cache = training_curves.cache_path(args.training)
    fits = tune_auto.read_cache(cache)
    if missing := [p.id for p in problems if p.id not in fits]:
        raise SystemExit(f"{len(missing)} of {len(problems)} problems have no fits in {cache}")
    variant = DEFAULT_RULE.with_(**args.knobs)
    print(f"variant: {variant.key}")
    outcomes = rules_outcomes(problems, fits, {"auto": DEFAULT_RULE, "variant": variant})
    curves = len({p.curve for p in problems})
    print(f"{len(problems)} problems from {curves} curves")
    print(protocol.format_table(protocol.summarise(outcomes, reference=tune_auto.LABELS)))
    for rule in ("auto", "variant"):
        mine = [o for o in outcomes if o.rule == rule]
        print(f"- {rule}: {tune_auto.coverage_text(mine)}")
    r, lo, hi = tune_auto.paired_ratio(tune_auto.rmse_by_rule(outcomes), "variant", "auto")
    print(f"- median RMSE variant / auto: {r:.3f} (paired bootstrap 90%: {lo:.2f}-{hi:.2f})")
    task = {p.id: task_of(p) for p in problems}
    print("\n90% coverage by task:")
    print(tune_auto.coverage_by(outcomes, ("auto", "variant"), lambda o: task[o.problem], "task"))


if __name__ == "__main__":
    main()

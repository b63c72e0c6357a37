"""Leave one source out: an interval scale of its own for error-rate curves (issue 13;
docs/auto-tuning-log.md, 2026-12-07, "error-rate curves").

    .venv/bin/python benchmarks/tune_error_scale.py   (repo root, ~1 min on the cached fits)

On the tuning sources the shipped rule's 90% intervals cover loss curves well and error-rate
curves (top-1 error, word error rate, BIG-bench's error) too little: the rule is calibrated on
both at one scale. Conformal prediction conditional on a known category of problem (Mondrian
conformal prediction; Vovk et al. 2005, ch. 4) calibrates each category at its own scale. The
category is what the curve measures, which `study fit` knows (its y column) and `fit --law
auto` is told (`--error-rate`); auto stays blind to the task.

Error-rate curves here (`tune_auto.is_error_rate`): the per-shard curves of the image and speech
studies (`studies`, `fresh`: metric top1_error, word_error_rate) and lang's BIG-bench tasks
(domain BB). Loss
curves keep the shipped scale. Each split chooses the error scale as the smallest of
`FINE_SCALES` at which the error-rate curves of the other sources cover at least 90% of their
held-out points (pooled), and is scored on the one left out. Printed per source: the coverage
of its error-rate curves and of all its curves, shipped and with the split's error scale; then
the error scale chosen on every source. With `--check SET,...`, the per-shard problems of
those fresh sets (their cached as-run fits), scored at the shipped scale and with the error
scale chosen on every source: the registered check reads a set kept unread this way.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterable

import pandas as pd
import tune_auto
from fresh_cache import CACHE, DATA, fresh_problems, seven_sources
from tune_candidates import configs_outcomes
from tune_units import FINE_SCALES

from scalinglab.selection import corpus
from scalinglab.selection.rule import DEFAULT_RULE

# the rule at one scale for every curve: the error scale is what is chosen here
ONE_SCALE = DEFAULT_RULE.with_(error_scale=0.0)

LEVEL = 0.9


def coverage(hits: Iterable[tuple[int, int]]) -> float:
    covered, total = map(sum, zip(*hits, strict=True))
    return covered / total


Hits = dict[tuple[float, str, bool], list[tuple[int, int]]]


def tally(problems: list[corpus.Problem], fits: dict, scales: Iterable[float], by: str) -> Hits:
    """(scale, group, error-rate?) -> each problem's (points covered, points with an interval),
    the group a problem's source (`by` "source") or task ("task")."""
    error = {p.id: tune_auto.is_error_rate(p) for p in problems}
    group = {p.id: p.source if by == "source" else str(p.meta.get("domain")) for p in problems}
    keys = {ONE_SCALE.with_(scale=s).key: s for s in scales}
    hits: Hits = defaultdict(list)
    for o in configs_outcomes(problems, fits, [ONE_SCALE], list(keys.values())):
        if o.rule in keys:
            inside = [h for h in o.hits if h is not None]
            hits[keys[o.rule], group[o.problem], error[o.problem]].append(
                (sum(inside), len(inside))
            )
    return hits


def check(sets: list[str], s_err: float) -> None:
    """The fresh sets' per-shard problems: coverage by task, shipped and at the error scale."""
    shipped = DEFAULT_RULE.scale
    for name in sets:
        problems = fresh_problems([name])
        cache = DATA / f"tune_cache_as_run_{name}.json.gz"
        fits = tune_auto.read_cache(cache if cache.exists() else CACHE)
        hits = tally(problems, fits, (shipped, s_err), by="task")
        tasks = sorted({k[1] for k in hits})
        cells = []
        for label, err in (("error-rate curves", True), ("loss curves", False)):
            mine = [t for t in tasks if hits.get((shipped, t, err))]
            old = coverage(h for t in mine for h in hits[shipped, t, err])
            new = coverage(h for t in mine for h in hits[s_err if err else shipped, t, err])
            per_task = ", ".join(
                f"{t} {100 * coverage(hits[shipped, t, err]):.1f} -> "
                f"{100 * coverage(hits[s_err if err else shipped, t, err]):.1f}"
                for t in mine
            )
            cells.append(f"{label} {100 * old:.1f}% -> {100 * new:.1f}% ({per_task})")
        print(f"{name} ({len(problems)} problems): " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", default="", metavar="SET,...", help="fresh sets to score")
    args = parser.parse_args()
    problems, fits = seven_sources(",".join(tune_auto.FRESH_SETS))
    hits = tally(problems, fits, FINE_SCALES, by="source")
    shipped = DEFAULT_RULE.scale
    sources = sorted({p.source for p in problems if tune_auto.is_error_rate(p)})

    def error_scale(tuning: list[str]) -> float:
        return next(
            s
            for s in FINE_SCALES
            if coverage(h for src in tuning for h in hits[s, src, True]) >= LEVEL
        )

    rows = []
    for left in sources:
        s_err = error_scale([s for s in sources if s != left])
        both_shipped = hits[shipped, left, False] + hits[shipped, left, True]
        both_new = hits[shipped, left, False] + hits[s_err, left, True]
        rows.append({
            "left out": left, "error scale": s_err,
            "error curves: shipped": round(100 * coverage(hits[shipped, left, True]), 1),
            "error curves: own scale": round(100 * coverage(hits[s_err, left, True]), 1),
            "all curves: shipped": round(100 * coverage(both_shipped), 1),
            "all curves: own scale": round(100 * coverage(both_new), 1),
        })  # fmt: skip
    print(pd.DataFrame(rows).to_string(index=False))
    chosen = error_scale(sources)
    print(f"error scale chosen on {', '.join(sources)}: {chosen}")
    if args.check:
        check([s for s in args.check.split(",") if s], chosen)


if __name__ == "__main__":
    main()

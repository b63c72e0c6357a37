"""Extrapolation benchmark on the whole development corpus, per source (issue 13).

Scores rules on every problem of scalinglab.selection.corpus (lang, datablations, studies,
synthetic, chinchilla) the way Alabdulmohsin, Neyshabur & Zhai (2022, Sec. 4) score learning-curve
estimators: RMSE of log prediction on the held-out end of each curve; then per source and rule
the median RMSE, the win rate and the coverage of the 90% intervals. The default rules are the
estimators of `scalinglab benchmark extrapolation`: m1-m4, bnsl1, bnsl2, power_const and auto
(scalinglab.selection.protocol.standard_rules).

    .venv/bin/python benchmarks/extrapolation_corpus.py [--sources lang,studies] [--rules m1,auto]
        [--workers N] [--limit N] [--outcomes FILE.jsonl] [--json OUT.json] [--by-horizon]

Outcomes (predictions, intervals, scores per problem and rule) are appended to --outcomes as
they are computed (default runs/corpus/outcomes.jsonl); a rerun skips what the file already
has, so a long run can be stopped and resumed, and other rules can be compared on the same
file without refitting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from scalinglab.selection import corpus, protocol

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTCOMES = REPO / "runs" / "corpus" / "outcomes.jsonl"


def read_outcomes(path: Path) -> list[protocol.Outcome]:
    """Outcomes saved by an earlier run (one JSON object per line)."""
    out: list[protocol.Outcome] = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        d = json.loads(line)

        def num(v: float | None) -> float:
            return float("nan") if v is None else float(v)

        out.append(
            protocol.Outcome(
                source=d["source"],
                problem=d["problem"],
                rule=d["rule"],
                horizon=d["horizon"],
                rmse=float("inf") if d["rmse"] is None else d["rmse"],
                hits=tuple(d["hits"]),
                prediction=tuple(num(v) for v in d["prediction"]),
                lower=tuple(num(v) for v in d["lower"]),
                upper=tuple(num(v) for v in d["upper"]),
                seconds=d["seconds"],
                error=d["error"],
                extra=d.get("extra", {}),
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default=",".join(corpus.SOURCES))
    parser.add_argument("--rules", default=",".join([*protocol.STANDARD, "auto"]))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="at most N problems per source")
    parser.add_argument("--outcomes", type=Path, default=DEFAULT_OUTCOMES)
    parser.add_argument("--json", type=Path, default=None, help="write summaries as JSON here")
    parser.add_argument("--by-horizon", action="store_true", help="also per horizon bin")
    args = parser.parse_args(argv)

    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    problems = corpus.load_corpus(sources)
    if args.limit:
        kept: Counter[str] = Counter()
        limited = []
        for p in problems:
            if kept[p.source] < args.limit:
                limited.append(p)
                kept[p.source] += 1
        problems = limited
    print(corpus.describe(problems).to_string(float_format=lambda v: f"{v:.2f}"), flush=True)

    standard = protocol.standard_rules()
    names = [s.strip() for s in args.rules.split(",") if s.strip()]
    unknown = [n for n in names if n not in standard]
    if unknown:
        parser.error(f"unknown rule(s) {unknown}; known: {', '.join(standard)}")
    rules = {n: standard[n] for n in names}

    args.outcomes.parent.mkdir(parents=True, exist_ok=True)
    wanted = {p.id for p in problems}
    done = {(o.rule, o.problem): o for o in read_outcomes(args.outcomes) if o.problem in wanted}
    todo = [p for p in problems if any((n, p.id) not in done for n in names)]
    print(f"{len(problems)} problems, {len(todo)} to run; outcomes in {args.outcomes}", flush=True)

    t0 = time.perf_counter()
    count = 0
    with args.outcomes.open("a") as fh:

        def progress(p: corpus.Problem, result: list[protocol.Outcome]) -> None:
            nonlocal count
            count += 1
            for o in result:
                fh.write(json.dumps(o.to_dict()) + "\n")
                done[(o.rule, o.problem)] = o
            fh.flush()
            auto = next((o for o in result if o.rule == "auto"), None)
            chose = f", auto chose {auto.extra.get('chosen')}" if auto is not None else ""
            seconds = sum(o.seconds for o in result)
            print(f"[{count}/{len(todo)}] {p.id} ({seconds:.0f} s{chose})", flush=True)

        # Rules not yet run on a problem run together, so auto reuses the single laws' fits.
        groups: dict[tuple[str, ...], list[corpus.Problem]] = {}
        for p in todo:
            missing = tuple(n for n in names if (n, p.id) not in done)
            groups.setdefault(missing, []).append(p)
        for missing, ps in groups.items():
            protocol.score(
                ps, {n: rules[n] for n in missing}, workers=args.workers, progress=progress
            )
    wall = time.perf_counter() - t0

    outcomes = [done[(n, p.id)] for p in problems for n in names]
    table = protocol.summarise(outcomes, by=("source",), rules=names)
    print()
    print(protocol.format_table(table))
    if args.by_horizon:
        print()
        print(protocol.format_table(protocol.summarise(outcomes, ("source", "horizon_bin"), names)))
    choices = pd.DataFrame(
        [
            {"source": o.source, "chosen": o.extra.get("chosen")}
            for o in outcomes
            if o.rule == "auto"
        ]
    )
    if not choices.empty:
        print()
        print("auto's choices per source:")
        print(choices.value_counts().unstack(fill_value=0).to_string())
    cpu = sum(o.seconds for o in outcomes)
    print(
        f"\nwall time this run {wall / 60:.1f} min ({len(todo)} problems run); "
        f"fit time of all {len(problems)} problems {cpu / 60:.1f} min"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "per_source": table.to_dict("records"),
                    "fit_seconds": cpu,
                    "problems": len(problems),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

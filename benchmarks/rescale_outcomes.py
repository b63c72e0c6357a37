"""A rule's outcomes on a fresh study set from another's, when the two differ only in their
interval's scale and growth past the backtests' reach (issue 13: shipping `beyond` 1).

    .venv/bin/python benchmarks/rescale_outcomes.py --set fresh2 --from rule-2026-12-05 \\
        --from-knobs '{"units": "sigma", "beyond": 0, "scale": 3.2}' \\
        --knobs '{"units": "sigma", "beyond": 1, "scale": 2.9868}' --name rule-2026-12-07-sigma

Such rules weigh the laws alike, so their predictions are the same, and their calibrated 90%
intervals ŷ·exp(±scale·q·σ·g(d)) differ by the factor (scale₁/scale₀)·max(d/reach, 1)^(b₁ − b₀) on
the half-width (`calibration.growth_factor`), where d is the held-out point's ln-distance past the
last training point and the reach is how far the backtests extrapolated (`backtest.cut_points`,
`CurveBacktests.reach`; both follow from the training x and the horizon). A problem too short to
backtest keeps its parameter band under both. Outcomes of the `--name` rule already stored (computed
through `auto_fit` by `fresh_draws.py`, or rescaled before) are checked against the rescaled ones
(the largest log difference of their bounds is printed) and kept; the rest are appended to
benchmarks/data/study_<SET>_<name>_outcomes.jsonl. The example wrote the records of the rule shipped
on the morning of 2026-12-07 (then `auto`, now rule-2026-12-07-sigma: the log-unit rule shipped
later differs in its units, which this script cannot rescale) on fresh sets 2–6 from those of the
rule shipped until then; on set 7 and 85 problems of set 1, scored through `auto_fit`, they agree to
4e-15. `fresh_draws.py`'s tables then read them as its own. Computing them afresh takes about 20 min
per set on two cores; this, seconds.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import fields, replace

import numpy as np
from extrapolation_corpus import read_outcomes
from fresh_draws import DATA

from scalinglab.selection import corpus, protocol
from scalinglab.selection.backtest import CurveBacktests, cut_points
from scalinglab.selection.rule import DEFAULT_RULE, RuleConfig


def rule_of(knobs: str) -> RuleConfig:
    return DEFAULT_RULE.with_(**json.loads(knobs))


def half_width_factor(
    problem: corpus.Problem, old: RuleConfig, new: RuleConfig
) -> np.ndarray | None:
    """New over old log half-width at each held-out point; None when the problem is too short
    to backtest (its interval is the parameter band under both rules)."""
    x = np.asarray(problem.x_train, dtype=float)
    x_test = np.asarray(problem.x_test, dtype=float)
    horizon = math.log(x_test.max() / x.max())  # auto's, aimed at the largest test x (AutoRule)
    cuts = cut_points(x, horizon, new.n_cuts)
    if not cuts:
        return None
    # the cuts alone fix how far the backtests reached: no candidate needs fitting
    bt = CurveBacktests(
        x=x, y=np.asarray(problem.y_train, dtype=float), horizon=horizon, cuts=cuts, candidates={}
    )
    past = np.maximum(np.log(x_test / x.max()) / bt.reach, 1.0) ** (new.beyond - old.beyond)
    return np.asarray((new.scale / old.scale) * past, dtype=float)


def rescaled(
    o: protocol.Outcome, problem: corpus.Problem, old: RuleConfig, new: RuleConfig, name: str
) -> protocol.Outcome:
    """`o` (the old rule's outcome) with the new rule's interval."""
    factor = half_width_factor(problem, old, new)
    if factor is None or not o.prediction:
        return replace(o, rule=name)
    pred = np.asarray(o.prediction, dtype=float)
    half = np.log(np.asarray(o.upper, dtype=float) / pred) * factor
    lower, upper = pred * np.exp(-half), pred * np.exp(half)
    y = np.asarray(problem.y_test, dtype=float)
    hits = tuple(
        None if h is None else bool(lo <= v <= hi)
        for h, v, lo, hi in zip(o.hits, y, lower, upper, strict=True)
    )
    return replace(
        o, rule=name, lower=tuple(map(float, lower)), upper=tuple(map(float, upper)), hits=hits
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", required=True, help="benchmarks/data/study_curves_<SET>.csv")
    parser.add_argument("--from", dest="source", required=True, help="the rule's outcomes read")
    parser.add_argument("--from-knobs", required=True, help="that rule: DEFAULT_RULE with these")
    parser.add_argument("--name", required=True, help="the rule's outcomes written")
    parser.add_argument("--knobs", default="{}", help="that rule: DEFAULT_RULE with these")
    args = parser.parse_args()
    old, new = rule_of(args.from_knobs), rule_of(args.knobs)
    differ = [
        f.name
        for f in fields(RuleConfig)
        if f.name not in ("scale", "beyond") and getattr(old, f.name) != getattr(new, f.name)
    ]
    if differ:
        parser.error(f"the rules differ in {', '.join(differ)}, not only in scale and beyond")
    problems = {p.id: p for p in corpus.study_problems(DATA / f"study_curves_{args.set}.csv")}
    target = DATA / f"study_{args.set}_{args.name}_outcomes.jsonl"
    computed = {o.problem: o for o in read_outcomes(target)}
    worst, added = 0.0, []
    for o in read_outcomes(DATA / f"study_{args.set}_{args.source}_outcomes.jsonl"):
        r = rescaled(o, problems[o.problem], old, new, args.name)
        if o.problem not in computed:
            added.append(r)
        elif r.lower:
            c = computed[o.problem]
            worst = max(
                worst,
                float(np.max(np.abs(np.log(np.asarray(r.lower) / np.asarray(c.lower))))),
                float(np.max(np.abs(np.log(np.asarray(r.upper) / np.asarray(c.upper))))),
            )
    with target.open("a") as fh:
        for r in added:
            fh.write(json.dumps(r.to_dict()) + "\n")
    print(
        f"{args.set}: {len(computed)} outcomes already stored, the rescaled ones within a log "
        f"difference of {worst:.1e} of them; {len(added)} rescaled and written"
    )


if __name__ == "__main__":
    main()

"""Leave one source out: the laws' disagreement as a power that scales the interval (issue 13;
docs/auto-tuning-log.md, 2026-12-07, "the laws' spread as a power").

    .venv/bin/python benchmarks/tune_spread_level.py [--spent] [--fresh-sets fresh,...]

`tune_auto.SIGMA_RULE`'s point knobs stay as they are, so its predictions and medians do not
change (it was `DEFAULT_RULE` when this ran; the log-unit rule shipped later that day); its
interval's log half-width at a held-out x becomes scale·q·σ·g·(s(x)/s₀)^c
(`RuleConfig.spread_power` c; `calibration.spread_factor`), s(x) the standard deviation of the
log predictions at x of the seven candidates fitted on all the training points (the caches'
single-law fits, each on its whole start grid), s₀ = `SPREAD_LEVEL`. c in POWERS ×
`FINE_SCALES`, leave one source out on six sources (the corpus's five and fresh study sets 1–3
as `fresh`, the sources of tune_pool.py; `--fresh-sets` names others), each split choosing
(c, scale) by `protocol.default_choice` on the other five. Printed: the table, each split's
choice and the choice on all six (in-sample).

`--spent` adds what can be read without refitting on the spent fresh sets 4–6 (tuned on by no
split, but read before: neither in-sample nor a test): each set's stored outcomes of that rule
(study_<SET>_rule-2026-12-07-sigma_outcomes.jsonl: its prediction and interval) and of the
single laws (their predictions give s(x), from the reference fits rather than auto's own), the
interval rescaled to each power at the all-six choice's scale; pooled coverage per set.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import fresh_cache
import numpy as np
import pandas as pd
import tune_auto
from extrapolation_corpus import read_outcomes
from tune_auto import LABELS, SIGMA_RECORDS, SIGMA_RULE
from tune_candidates import config_outcomes, print_loso_of
from tune_units import FINE_SCALES

from scalinglab.fitting.calibration import spread_factor
from scalinglab.selection import protocol
from scalinglab.selection.corpus import Problem
from scalinglab.selection.rule import RuleConfig

POWERS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)  # c, fixed before the table was computed
DATA = Path(__file__).resolve().parent / "data"


def power_outcomes(problem: Problem, rec: dict, config: RuleConfig) -> list[protocol.Outcome]:
    """`config` (its `spread_power` c) at every scale of FINE_SCALES on one problem."""

    def scaled_by_spread(half: np.ndarray, rec: dict) -> np.ndarray:
        spread = tune_auto.laws_spread(rec, config.candidates)
        return half * spread_factor(spread, config.spread_power) if len(spread) else half

    widen = scaled_by_spread if config.spread_power else None
    return config_outcomes(problem, rec, config, FINE_SCALES, widen)


def spent_coverage(choice: dict[float, float]) -> None:
    """Pooled 90% coverage on each spent fresh set at each (c: scale) of `choice`, from the
    stored outcomes of the shipped rule and the single laws (module doc)."""
    for name in tune_auto.SPENT_FRESH_SETS:
        actual = {
            p.id: np.asarray(p.y_test, dtype=float) for p in fresh_cache.fresh_problems([name])
        }
        singles: dict[str, list[np.ndarray]] = defaultdict(list)
        for o in read_outcomes(DATA / f"study_{name}_singles_outcomes.jsonl"):
            if o.rule in SIGMA_RULE.candidates and not o.error:
                singles[o.problem].append(np.log(np.asarray(o.prediction, dtype=float)))
        hits: dict[float, list[bool]] = defaultdict(list)
        for o in read_outcomes(DATA / f"study_{name}_{SIGMA_RECORDS}_outcomes.jsonl"):
            lower = np.asarray(o.lower, dtype=float)
            if o.error or not lower.size or np.isnan(lower).any():
                continue  # no interval: not counted, as protocol.summarise
            log_pred = np.log(np.asarray(o.prediction, dtype=float))
            half_at_1 = (log_pred - np.log(lower)) / SIGMA_RULE.scale
            preds = singles[o.problem]
            spread = np.std(preds, axis=0) if len(preds) >= 2 else np.zeros_like(log_pred)
            log_error = np.abs(np.log(actual[o.problem]) - log_pred)
            for c, scale in choice.items():
                hits[c] += list(log_error <= scale * half_at_1 * spread_factor(spread, c))
        print(
            f"{name} ({len(hits[next(iter(choice))])} points):",
            "  ".join(f"c={c:g} s{choice[c]:g}: {100 * np.mean(h):.1f}%" for c, h in hits.items()),
        )


def summary_choice(everything: pd.DataFrame, grid: dict[str, RuleConfig]) -> dict[float, float]:
    """Per power c, the scale `protocol.default_choice` picks for it on all six sources."""
    chosen = {}
    for c in POWERS:
        keys = [k for k, config in grid.items() if config.spread_power == c]
        pick = protocol.default_choice(everything[everything["rule"].isin([*LABELS, *keys])])
        chosen[c] = grid[pick].scale
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spent", action="store_true", help="also the spent fresh sets 4–6")
    fresh_cache.add_fresh_sets_option(parser)
    args = parser.parse_args()
    problems, fits = fresh_cache.six_sources(args.fresh_sets)
    t0 = time.perf_counter()
    configs = [SIGMA_RULE.with_(spread_power=c) for c in POWERS]
    outcomes = tune_auto.single_outcomes(problems, fits)
    for p in problems:
        for config in configs:
            outcomes += power_outcomes(p, fits[p.id], config)
    grid = {g.key: g for g in (c.with_(scale=s) for c in configs for s in FINE_SCALES)}
    everything = print_loso_of(
        problems, outcomes, list(grid),
        "the σ-unit rule with the laws' spread as a power c, c and scale chosen",
    )  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s after the fits)")
    if args.spent:
        chosen = summary_choice(everything, grid)
        print("\nthe spent fresh sets (not tuned on; read before), at the all-six scale of each c:")
        spent_coverage(chosen)


if __name__ == "__main__":
    main()

"""Leave one source out: the laws' disagreement in the interval (a registered run).

    .venv/bin/python benchmarks/tune_spread.py [--cache FITS]   (repo root)

Registered in docs/auto-tuning-log.md (2026-12-06, "the laws' disagreement in the interval").
`DEFAULT_RULE`'s point knobs stay as shipped, so its predictions and medians do not change; its
interval's log half-width at a held-out x becomes √((scale·q·σ·g)² + (k·s(x))²), s(x) the
standard deviation of the log predictions at x of every candidate fitted on all the training
points (the cache's single-law fits, each on its whole start grid), unweighted
(`RuleConfig.model_spread` k; k = 0 is the shipped rule). σ units, growth 1, no floor, k in
SPREADS × `FINE_SCALES`; each split chooses (k, scale) by `protocol.default_choice` on its four
tuning sources (the seven single laws are the reference) and is scored on the one left out.
The as-run fits (the default cache) decide; `--cache
benchmarks/data/tune_cache_as_run_whole_backtests.json.gz` gives the whole-grid table.
Printed: the table, each split's choice, and the choice on all five sources (in-sample).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tune_auto
from tune_auto import LABELS, Precomputed
from tune_candidates import print_loso
from tune_units import FINE_SCALES

from scalinglab.fitting.calibration import column_spread
from scalinglab.selection import protocol
from scalinglab.selection.corpus import Problem, load_corpus
from scalinglab.selection.rule import DEFAULT_RULE, RuleConfig

SPREADS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)  # k, as registered


def laws_spread(rec: dict, candidates: Sequence[str]) -> np.ndarray:
    """s(x) at the held-out x: the standard deviation of the candidates' log predictions (those
    fitted, with a finite prediction there); 0 where fewer than two are."""
    preds = [
        np.asarray(rec["singles"][k]["log_pred"], dtype=float)
        for k in candidates
        if "error" not in rec["singles"][k]
    ]
    return column_spread(np.vstack(preds)) if preds else np.zeros(0)


def spread_outcomes(
    problem: Problem, rec: dict, config: RuleConfig, scales: Sequence[float]
) -> list[protocol.Outcome]:
    """`config` (its `model_spread` k) at every scale on one problem, from its cached fits."""
    band = tune_auto.calibrated(problem, rec, config)
    if band is None:  # too short to backtest: the default law with its parameter band, as shipped
        s = tune_auto.fallback_fit(rec)
        return [
            tune_auto.outcome(
                problem, config.with_(scale=k).key, np.exp(s["log_pred"]), s["lo"], s["hi"]
            )
            for k in scales
        ]
    log_pred, half = band
    y_test = np.asarray(problem.y_test, dtype=float)
    rmse = protocol.rmse_log(np.exp(log_pred), y_test)
    log_error = np.abs(np.log(y_test) - log_pred)
    spread = config.model_spread * laws_spread(rec, config.candidates)
    finite = np.isfinite(half)
    out = []
    for scale in scales:
        width = np.sqrt((scale * half) ** 2 + spread**2)
        out.append(
            protocol.Outcome(
                source=problem.source,
                problem=problem.id,
                rule=config.with_(scale=scale).key,
                horizon=problem.horizon,
                rmse=rmse,
                hits=tuple(
                    bool(e <= w) if f else None
                    for e, w, f in zip(log_error, width, finite, strict=True)
                ),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache", type=Path, default=tune_auto.AS_RUN_CACHE, help="the cached fits to read"
    )
    args = parser.parse_args()
    problems = load_corpus()
    fits = tune_auto.load_or_compute(problems, args.cache, 1, as_run=True)
    t0 = time.perf_counter()
    bases = [DEFAULT_RULE.with_(model_spread=k, growth=1.0) for k in SPREADS]
    outcomes = tune_auto.single_outcomes(problems, fits)
    for p in problems:
        for base in bases:
            outcomes += spread_outcomes(p, fits[p.id], base, FINE_SCALES)
    scorer = Precomputed(outcomes)
    everything = protocol.summarise(outcomes, reference=LABELS)
    grid = [base.with_(scale=s).key for base in bases for s in FINE_SCALES]
    heading = "DEFAULT_RULE with the laws' spread k, k and scale chosen"
    print_loso(problems, outcomes, grid, heading, scorer=scorer, everything=everything)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

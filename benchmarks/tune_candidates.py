"""Leave one source out: does `DEFAULT_RULE` hold with more candidate laws? (a registered run)

    .venv/bin/python benchmarks/tune_candidates.py --add hestness [--workers 2]

Registered in docs/auto-tuning-log.md (2026-12-05, "Hestness's own law as an eighth candidate").
1. The added laws' fits, made as `tune_auto.py --as-run` makes every candidate's (backtests at
   the problem's horizon, the batched full fits the criteria read, the law on its whole start
   grid), cached in benchmarks/data/tune_cache_as_run_<laws>.json.gz and added to the as-run
   records (each law is solved in a batch of its own, so no other law's fits change).
2. `DEFAULT_RULE` with its own candidates and with the added laws too, every other knob as
   shipped, at every scale of `tune_auto.SCALES`, on every corpus problem.
3. Leave one source out: each split chooses the candidate set and the scale by
   `protocol.default_choice` on its tuning sources (the seven single laws are the reference);
   the same with the shipped candidates only, beside it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import tune_auto
from tune_auto import LABELS, SCALES, Precomputed

from scalinglab.selection import protocol
from scalinglab.selection.corpus import Problem, load_corpus
from scalinglab.selection.rule import DEFAULT_RULE, RuleConfig

REPO = Path(__file__).resolve().parents[1]


def merged(base: dict[str, dict], extra: dict[str, dict]) -> dict[str, dict]:
    """The as-run records with the added laws' backtests, full-fit residual scales and single
    fits put in (the cuts depend only on x and the horizon, so they must agree)."""
    out = {}
    for pid, rec in base.items():
        add = extra[pid]
        assert add["cuts"] == rec["cuts"], pid
        out[pid] = {
            **rec,
            "backtests": {**rec["backtests"], **add["backtests"]},
            "singles": {**rec["singles"], **add["singles"]},
            "full_noise": {**rec["full_noise"], **add["full_noise"]},
        }
    return out


def config_outcomes(
    problem: Problem,
    rec: dict,
    config: RuleConfig,
    scales: Sequence[float] = SCALES,
    widen: Callable[[np.ndarray, dict], np.ndarray] | None = None,
) -> list[protocol.Outcome]:
    """`config` at every scale of `scales` on one problem, from its cached fits; `widen` (the
    half-width at scale 1 and the cached record -> a new half-width) tries an interval the
    rule does not have."""
    y_test = np.asarray(problem.y_test, dtype=float)
    band = tune_auto.calibrated(problem, rec, config)
    if band is None:  # too short to backtest: the default law with its parameter band
        s = tune_auto.fallback_fit(rec)
        return [
            tune_auto.outcome(
                problem, config.with_(scale=k).key, np.exp(s["log_pred"]), s["lo"], s["hi"]
            )
            for k in scales
        ]
    log_pred, half = band
    if widen is not None:
        half = widen(half, rec)
    rmse = protocol.rmse_log(np.exp(log_pred), y_test)
    log_error = np.abs(np.log(y_test) - log_pred)
    spread = (
        config.model_spread * tune_auto.laws_spread(rec, config.candidates)
        if config.model_spread
        else None
    )
    return tune_auto.scaled(problem, config, rmse, log_error, half, scales, spread)


def rules_outcomes(
    problems: Sequence[Problem], fits: dict, rules: dict[str, RuleConfig]
) -> list[protocol.Outcome]:
    """The seven laws and each of `rules` (named by its key in the dict) on every problem."""
    outcomes = tune_auto.single_outcomes(problems, fits)
    for name, rule in rules.items():
        outcomes += [
            replace(o, rule=name)
            for p in problems
            for o in config_outcomes(p, fits[p.id], rule, [rule.scale])
        ]
    return outcomes


def configs_outcomes(
    problems: Sequence[Problem],
    fits: dict,
    configs: Sequence[RuleConfig],
    scales: Sequence[float] = SCALES,
) -> list[protocol.Outcome]:
    """The single laws' outcomes, then each of `configs` at every scale of `scales`, on every
    problem, from the cached fits."""
    outcomes = tune_auto.single_outcomes(problems, fits)
    for p in problems:
        for config in configs:
            outcomes += config_outcomes(p, fits[p.id], config, scales)
    return outcomes


def print_loso(
    problems: Sequence[Problem],
    outcomes: Sequence[protocol.Outcome],
    grid: Sequence[str],
    heading: str,
    *,
    scorer: Precomputed,
    everything: pd.DataFrame,
    choose: protocol.Chooser = protocol.default_choice,
    chosen_label: str = "chosen on all five sources (in-sample)",
) -> None:
    """Leave one source out over `grid` (each split choosing with `choose` on its tuning sources,
    the seven single laws the reference), its table, and `choose` applied to `everything` (the
    summary of all sources) restricted to the grid and the single laws."""
    loso = protocol.leave_one_source_out(
        problems, list(grid), choose=choose, reference=LABELS, scorer=scorer
    )
    print(f"\nleave one source out, {heading}:")
    print(tune_auto.loso_table(list(outcomes), loso))
    print(f"{chosen_label}: {choose(everything[everything['rule'].isin([*LABELS, *grid])])}")


def print_loso_of(
    problems: Sequence[Problem],
    outcomes: Sequence[protocol.Outcome],
    grid: Sequence[str],
    heading: str,
    chosen_label: str = "chosen on all six sources (in-sample)",
) -> pd.DataFrame:
    """`print_loso` over outcomes computed in full beforehand (a `Precomputed` scorer), with the
    choice on every source; returns the summary of all sources."""
    everything = protocol.summarise(list(outcomes), reference=LABELS)
    print_loso(
        problems, outcomes, grid, heading,
        scorer=Precomputed(list(outcomes)), everything=everything, chosen_label=chosen_label,
    )  # fmt: skip
    return everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", required=True, help="candidate laws to add, comma-separated")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    added = tuple(a.strip() for a in args.add.split(",") if a.strip())
    problems = load_corpus()
    base = tune_auto.load_or_compute(problems, tune_auto.AS_RUN_CACHE, args.workers, True)
    cache = REPO / "benchmarks" / "data" / f"tune_cache_as_run_{'+'.join(added)}.json.gz"
    extra = tune_auto.load_or_compute(problems, cache, args.workers, True, labels=added)
    fits = merged(base, extra)
    t0 = time.perf_counter()
    shipped = DEFAULT_RULE
    more = DEFAULT_RULE.with_(candidates=(*DEFAULT_RULE.candidates, *added))
    outcomes = configs_outcomes(problems, fits, (shipped, more))
    scorer = Precomputed(outcomes)
    own = [shipped.with_(scale=k).key for k in SCALES]
    both = [*own, *(more.with_(scale=k).key for k in SCALES)]
    for name, grid in (("shipped candidates only", own), (f"with {'+'.join(added)}", both)):
        loso = protocol.leave_one_source_out(problems, grid, reference=LABELS, scorer=scorer)
        print(f"\nleave one source out, {name}:")
        print(tune_auto.loso_table(outcomes, loso))
    print(f"\n({time.perf_counter() - t0:.0f} s after the fits)")


if __name__ == "__main__":
    main()

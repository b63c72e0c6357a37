"""Leave one source out: the laws' spread as a multiplier of the interval (a registered run).

    .venv/bin/python benchmarks/tune_spread_power.py [--cache FITS]   (repo root)

Registered in docs/auto-tuning-log.md (2026-12-06, 15:12, "the laws' spread as a multiplier").
`DEFAULT_RULE`'s point knobs stay as shipped, so its predictions and medians do not change; its
interval's log half-width at a held-out x becomes scale·h·m, h = q·σ·g the shipped half-width
at scale 1 and m = clip(s(x)/h, 1/CLIP, CLIP)^a, s(x) the standard deviation of the log
predictions at x of every candidate fitted on all the training points (the cache's single-law
fits), unweighted; m = 1 where s is not finite; a = 0 is the shipped rule (a spread-normalised
conformal score: Papadopoulos et al. 2008, Lei et al. 2018). σ units, growth 1, no floor, a in
POWERS × `FINE_SCALES`; each split chooses (a, scale) by `protocol.default_choice` on its four
tuning sources (the seven single laws are the reference) and is scored on the one left out.
The as-run fits (the default cache) decide; `--cache
benchmarks/data/tune_cache_as_run_whole_backtests.json.gz` gives the whole-grid table.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import tune_auto
from tune_candidates import config_outcomes
from tune_spread import loso_on_cache
from tune_units import FINE_SCALES

from scalinglab.selection import protocol
from scalinglab.selection.corpus import Problem
from scalinglab.selection.rule import DEFAULT_RULE, RuleConfig

POWERS = (0.0, 0.25, 0.5, 0.75, 1.0)  # a, as registered
CLIP = 4.0  # m stays within [1/CLIP, CLIP], as registered


def spread_multiplier(spread: np.ndarray, half: np.ndarray, power: float) -> np.ndarray:
    """m = clip(s/h, 1/CLIP, CLIP)^a at each point; 1 where s/h is not finite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.asarray(spread, dtype=float) / np.asarray(half, dtype=float)
    m = np.clip(ratio, 1 / CLIP, CLIP) ** power
    return np.where(np.isfinite(m), m, 1.0)


def power_outcomes(
    problem: Problem, rec: dict, config: RuleConfig, power: float
) -> list[protocol.Outcome]:
    """`config` with the spread multiplier's power a, at every scale of FINE_SCALES, on one
    problem; rule names end in -spA."""

    def multiplied(half: np.ndarray, rec: dict) -> np.ndarray:
        spread = tune_auto.laws_spread(rec, config.candidates)
        return half * spread_multiplier(spread, half, power) if len(spread) else half

    widen = multiplied if power else None  # a = 0: the shipped interval
    outs = config_outcomes(problem, rec, config, FINE_SCALES, widen)
    return [replace(o, rule=f"{o.rule}-sp{power:g}") for o in outs]


def power_grid(
    problems: list[Problem], fits: dict
) -> tuple[list[protocol.Outcome], list[str], str]:
    base = DEFAULT_RULE.with_(growth=1.0)
    outcomes = tune_auto.single_outcomes(problems, fits)
    for p in problems:
        for a in POWERS:
            outcomes += power_outcomes(p, fits[p.id], base, a)
    grid = [f"{base.with_(scale=s).key}-sp{a:g}" for a in POWERS for s in FINE_SCALES]
    return outcomes, grid, "DEFAULT_RULE with the laws' spread as a multiplier, a and scale chosen"


if __name__ == "__main__":
    loso_on_cache(__doc__.splitlines()[0], power_grid)

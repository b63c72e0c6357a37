"""Widen the intervals of curves that still steepen at their end: one knob, leave one source out.

    .venv/bin/python benchmarks/tune_steepening.py [--fresh FILE.jsonl]

The run registered in docs/auto-tuning-log.md (2026-12-05). The base rule is `DEFAULT_RULE`,
its bands read off the as-run fits of the corpus (tune_auto.log_band, the cache of
`tune_auto.py --as-run`). Where the training curve's `end_steepening` is below
`STEEPENING_THRESHOLD` the interval's log half-width is multiplied by k (`WIDENINGS`; the bands
are symmetric in log around the prediction, so the widened bands are exact). Each split chooses
k on its tuning sources (flagged points' coverage closest to 90%, ties to the smaller k) and is
scored on the left-out source. `--fresh` scores the same widening on `auto_fit`'s outcomes on
the fresh study draws (the registered head-to-head's were
benchmarks/data/study_fresh_rule-2026-12-05-early_outcomes.jsonl, on
benchmarks/data/study_curves_fresh.csv; study_fresh_rule-2026-12-07-sigma_outcomes.jsonl are
the σ-unit rule's, shipped until the log-unit rule on 2026-12-07).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tune_auto
from extrapolation_corpus import read_outcomes

from scalinglab.selection import corpus
from scalinglab.selection.auto import STEEPENING_THRESHOLD, end_steepening
from scalinglab.selection.rule import DEFAULT_RULE

REPO = Path(__file__).resolve().parents[1]
FRESH_CURVES = REPO / "benchmarks" / "data" / "study_curves_fresh.csv"
WIDENINGS = (1.0, 1.5, 2.0, 3.0, 4.0)
TARGET = 0.9


@dataclass(frozen=True)
class Band:
    """One problem's calibrated 90% band in log units, and whether its curve steepens."""

    source: str
    problem: str
    miss: np.ndarray  # |ln y − ln ŷ| / half-width at each held-out point with an interval
    flagged: bool

    def covered(self, k: float) -> int:
        """Held-out points inside the band with its half-width multiplied by k if flagged."""
        return int(np.sum(self.miss <= (k if self.flagged else 1.0)))


def band(problem: corpus.Problem, log_pred: np.ndarray, half: np.ndarray) -> Band:
    log_y = np.log(np.asarray(problem.y_test, dtype=float))
    finite = np.isfinite(half) & (half > 0)
    d = end_steepening(np.asarray(problem.x_train, float), np.asarray(problem.y_train, float))
    return Band(
        problem.source,
        problem.id,
        np.abs(log_y - log_pred)[finite] / half[finite],
        bool(d < STEEPENING_THRESHOLD),
    )


def corpus_bands() -> list[Band]:
    """DEFAULT_RULE's calibrated bands on every corpus problem the as-run cache holds (the
    problems too short to backtest keep their parameter band, which auto does not widen)."""
    cache = tune_auto.read_cache(tune_auto.AS_RUN_CACHE)
    out = []
    for problem in corpus.load_corpus():
        calibrated = tune_auto.calibrated(problem, cache[problem.id], DEFAULT_RULE)
        if calibrated is not None:
            log_pred, half = calibrated
            out.append(band(problem, log_pred, half * DEFAULT_RULE.scale))
    return out


def fresh_bands(path: Path) -> list[Band]:
    """The shipped rule's bands from `auto_fit` outcomes on the fresh study draws."""
    problems = {p.id: p for p in corpus.study_problems(FRESH_CURVES)}
    out = []
    for o in read_outcomes(path):
        log_pred = np.log(np.asarray(o.prediction, dtype=float))
        out.append(band(problems[o.problem], log_pred, np.log(o.upper) - log_pred))
    return out


def coverage(bands: list[Band], k: float, flagged_only: bool = False) -> tuple[float, int]:
    """(coverage, points) over the bands' held-out points."""
    chosen = [b for b in bands if b.flagged or not flagged_only]
    n = sum(b.miss.size for b in chosen)
    return (sum(b.covered(k) for b in chosen) / n if n else float("nan")), n


def choose(bands: list[Band]) -> float:
    """The k whose flagged points' coverage is closest to 90% (ties to the smaller k)."""
    return min(WIDENINGS, key=lambda k: (abs(coverage(bands, k, True)[0] - TARGET), k))


def rows(bands: list[Band], k: float, name: str) -> dict[str, object]:
    flagged, n_flagged = coverage(bands, 1.0, True)
    widened, _ = coverage(bands, k, True)
    before, n = coverage(bands, 1.0)
    after, _ = coverage(bands, k)
    return {
        "scored on": name,
        "k": k,
        "flagged problems": sum(b.flagged for b in bands),
        "flagged points": n_flagged,
        "flagged: shipped": flagged,
        "flagged: widened": widened,
        "points": n,
        "all: shipped": before,
        "all: widened": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", type=Path, help="auto_fit outcomes on the fresh study draws")
    args = parser.parse_args()
    bands = corpus_bands()
    table = []
    for source in corpus.SOURCES:
        tuning = [b for b in bands if b.source != source]
        table.append(rows([b for b in bands if b.source == source], choose(tuning), source))
    k_all = choose(bands)
    table.append(rows(bands, k_all, "all five (in-sample)"))
    if args.fresh:
        fresh = fresh_bands(args.fresh)
        table.append(rows(fresh, k_all, "fresh draws"))
        no_speech = [b for b in fresh if "speech" not in b.problem]
        table.append(rows(no_speech, k_all, "fresh, no speech"))
    pd.set_option("display.width", 200)
    print(pd.DataFrame(table).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()

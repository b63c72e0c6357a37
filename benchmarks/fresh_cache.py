"""The as-run fits of fresh study draws, cached for tuning the auto rule with them (issue 13).

    .venv/bin/python benchmarks/fresh_cache.py [--sets fresh,fresh2,fresh3] [--workers 1]

The problems of benchmarks/data/study_curves_<SET>.csv for each set (cut as the corpus's
`studies` source), fitted as `tune_auto.py --as-run` fits the development corpus (each candidate
on its whole start grid, its backtests at the problem's horizon, the batched full fits the
criteria read), into benchmarks/data/tune_cache_as_run_fresh.json.gz. The cache is saved every
10 problems, so a rerun resumes. Once the three sets scored so far are in it, they can join the
corpus as a source of their own, and a set kept unseen (fresh4) tests what is chosen.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import training_curves
import tune_auto

from scalinglab.selection import corpus

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
CACHE = DATA / "tune_cache_as_run_fresh.json.gz"


def fresh_problems(sets: list[str]) -> list[corpus.Problem]:
    """Every problem of the given fresh sets (their ids name the set: corpus-<task>-<set>|...)."""
    return [p for s in sets for p in corpus.study_problems(DATA / f"study_curves_{s}.csv")]


def fresh_source(source: str = "fresh", sets: list[str] | None = None) -> list[corpus.Problem]:
    """The problems of fresh sets in this cache (`sets`, by default tune_auto.FRESH_SETS) as a
    corpus source: their own ("fresh") or the one they redraw ("studies")."""
    return [replace(p, source=source) for p in fresh_problems(sets or tune_auto.FRESH_SETS)]


def add_fresh_sets_option(parser: argparse.ArgumentParser) -> None:
    """`--fresh-sets`: the fresh sets that form the source 'fresh' of `six_sources`."""
    parser.add_argument(
        "--fresh-sets", default=",".join(tune_auto.FRESH_SETS),
        help="the fresh sets that form the source 'fresh', comma-separated",
    )  # fmt: skip


def six_sources(fresh_sets: str, workers: int = 1) -> tuple[list[corpus.Problem], dict]:
    """The development corpus's five sources and the fresh sets of `--fresh-sets` as a sixth,
    'fresh', with their cached as-run fits (tune_auto's and this module's caches): the sources of
    the leave-one-source-out tables logged since 2026-12-06 17:49."""
    problems = corpus.load_corpus()
    fits = tune_auto.load_or_compute(problems, tune_auto.AS_RUN_CACHE, workers, True)
    fresh = fresh_source("fresh", tune_auto.split_sets(fresh_sets))
    fits.update(tune_auto.load_or_compute(fresh, CACHE, workers, True))
    return problems + fresh, fits


def seven_sources(fresh_sets: str, workers: int = 1) -> tuple[list[corpus.Problem], dict]:
    """`six_sources` and the training curves of `training_curves.TUNING_SETS` as a seventh
    source, 'training' (benchmarks/training_curves.py, with their cached as-run fits): the tuning
    sources since the registration of 2026-12-07 07:02 (fresh set 7's training curves; set 9's
    joined at 10:22, docs/auto-tuning-log.md)."""
    problems, fits = six_sources(fresh_sets, workers)
    training = []
    for name in training_curves.TUNING_SETS:
        mine = training_curves.problems(name)
        cache = training_curves.cache_path(name)
        fits.update(tune_auto.load_or_compute(mine, cache, workers, True))
        training += mine
    return problems + training, fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(tune_auto.FRESH_SETS))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--cache", type=Path, default=CACHE,
        help="where to cache the fits (a set kept for a registered check: a cache of its own)",
    )  # fmt: skip
    args = parser.parse_args()
    problems = fresh_problems([s.strip() for s in args.sets.split(",") if s.strip()])
    tune_auto.load_or_compute(problems, args.cache, args.workers, as_run=True)


if __name__ == "__main__":
    main()

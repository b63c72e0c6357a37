"""Issue 13's image check on the committed study tables: `study fit image-fashion-mnist-60k
--fit-up-to 7500` (examples/image-60k.toml, fitted on the shards up to 1/8 of the data) puts the
error measured on all 60,000 images inside its 90% interval.

The tables are the studies' trials as `study export` writes them (benchmarks/data/image_draws/;
benchmarks/image_check.py checks every draw), so the check runs without the studies' databases.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from scalinglab.study import fit_study

DRAWS = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "image_draws"


@pytest.mark.slow
def test_the_first_image_study_at_60000_lies_inside_its_interval() -> None:
    trials = pd.read_csv(DRAWS / "image-fashion-mnist-60k.csv.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_study(trials, fit_up_to=7500)
    assert [h.shard_size for h in result.holdout] == [8192, 16384, 32768, 60000]
    last = result.holdout[-1]
    assert last.measured == pytest.approx(0.0958, abs=5e-5)  # the mean of the two seeds
    assert last.lo <= last.measured <= last.hi
    # the prediction is 22% high (saturating laws carry the weight); the interval is what holds
    assert last.predicted == pytest.approx(0.1169, rel=0.02)
    assert all(h.lo <= h.measured <= h.hi for h in result.holdout)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("table", "measured", "predicted"),
    [
        # seeds 2 and 3: 24% high; the rule of 2026-12-05 missed it (0.0977, 0.1430), growth
        # past the backtests' reach holds it: (0.0837, 0.1667) in units of σ, (0.0945, 0.1477)
        # in log units (the shipped rule since 2026-12-07, by 0.5%)
        ("image-fashion-mnist-60k-s23.csv.gz", 0.0950, 0.1181),
        # kept unseen until the registered check of 2026-12-06 (seeds 8 and 9): 22% high
        ("image-fashion-mnist-60k-s89.csv.gz", 0.0932, 0.1137),
        # kept unseen until step 3 of the registration of 2026-12-06 17:49 (seeds 10 and 11):
        # 34% high, where the six-source re-choice's interval (0.1068, 0.1244) misses it
        ("image-fashion-mnist-60k-s1011.csv.gz", 0.0970, 0.1297),
        # kept unseen until the registration of 2026-12-06 23:00 (seeds 12 and 13): 35% high
        ("image-fashion-mnist-60k-s1213.csv.gz", 0.0933, 0.1259),
        # kept unseen until the registration of 2026-12-06 23:59 (seeds 14 and 15): 35% high
        ("image-fashion-mnist-60k-s1415.csv.gz", 0.0945, 0.1276),
        # kept unseen until the registration of 2026-12-07 03:27 (seeds 16 and 17): 18% high
        ("image-fashion-mnist-60k-s1617.csv.gz", 0.0950, 0.1118),
        # kept unseen until the registration of 2026-12-07 07:27 (seeds 18 and 19): 22% high
        ("image-fashion-mnist-60k-s1819.csv.gz", 0.0975, 0.1194),
        # kept unseen until the registration of 2026-12-07 09:47 (seeds 20 and 21): 2% low, in
        # an interval 9x wide end to end (it rests on a single backtest cut, at 1,024 images)
        ("image-fashion-mnist-60k-s2021.csv.gz", 0.0934, 0.0912),
        # kept unseen until the registered measurement of 2026-12-07 15:13 (seeds 22 and 23):
        # 29% high, in an interval 7.8x wide (again a single backtest cut, at 1,024 images)
        ("image-fashion-mnist-60k-s2223.csv.gz", 0.0936, 0.1207),
        # kept unseen until the registration of 2026-12-07 21:24 (seeds 24 and 25): 25% high;
        # the interval at one scale, (0.0991, 0.1515), misses it, the error-rate scale's
        # (0.0896, 0.1676) holds it
        ("image-fashion-mnist-60k-s2425.csv.gz", 0.0982, 0.1226),
    ],
)
def test_a_later_image_draw_at_60000_lies_inside_its_interval(
    table: str, measured: float, predicted: float
) -> None:
    """The draws kept unseen until a registered check: the shipped rule holds them too
    (docs/auto-tuning-log.md)."""
    trials = pd.read_csv(DRAWS / table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        last = fit_study(trials, fit_up_to=7500).holdout[-1]
    assert last.shard_size == 60000
    assert last.measured == pytest.approx(measured, abs=5e-5)  # the mean of the two seeds
    assert last.lo <= last.measured <= last.hi
    assert last.predicted == pytest.approx(predicted, rel=0.02)

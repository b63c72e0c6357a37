"""The extrapolation corpus (scalinglab.selection.corpus): every problem is a clean split of one
curve, with its test points beyond the training range, and the sources have the promised sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.selection import corpus


def check_split(p: corpus.Problem) -> None:
    assert np.all(np.diff(p.x_train) >= 0) and np.all(np.diff(p.x_test) >= 0)
    assert p.x_test.min() > p.x_train.max()
    assert p.x_train.size >= 1 and p.x_test.size >= 1
    assert p.horizon > 0
    for a in (p.x_train, p.y_train, p.x_test, p.y_test):
        assert np.all(np.isfinite(a)) and np.all(a > 0)
        assert not a.flags.writeable


def test_cut_curve_holds_out_the_end_at_each_horizon() -> None:
    x = 2.0 ** np.arange(6, 15)  # 9 shards, 2.4 decades
    y = x**-0.3
    problems = corpus.cut_curve("s", "c", x, y, (0.3, 0.6, 0.9))
    assert [p.x_test.size for p in problems] == [1, 2, 3]
    assert [p.x_train.size for p in problems] == [8, 7, 6]
    assert [round(p.horizon, 2) for p in problems] == [0.3, 0.6, 0.9]
    for p in problems:
        check_split(p)
        assert p.x_test[-1] == x[-1]
        assert np.array_equal(np.concatenate([p.x_train, p.x_test]), x)
    # too few training points: skipped; a horizon giving the same split: one problem
    assert len(corpus.cut_curve("s", "c", x, y, (2.0,))) == 0
    assert len(corpus.cut_curve("s", "c", x, y, (0.3, 0.29))) == 1


def test_a_problem_rejects_test_points_inside_the_training_range() -> None:
    with pytest.raises(ScalingLabError, match="beyond"):
        corpus.Problem("s", "p", np.array([1.0, 4.0]), np.ones(2), np.array([3.0]), np.ones(1))
    with pytest.raises(ScalingLabError, match="> 0"):
        corpus.Problem("s", "p", np.array([1.0, 2.0]), np.zeros(2), np.array([3.0]), np.ones(1))


def test_synthetic_problems_are_deterministic_and_cover_every_family() -> None:
    a = corpus.synthetic_problems()
    b = corpus.synthetic_problems()
    assert len(a) == len(corpus.SYNTHETIC_FAMILIES) * corpus.SYNTHETIC_PER_FAMILY
    assert [p.id for p in a] == [p.id for p in b]
    assert all(np.array_equal(p.y_test, q.y_test) for p, q in zip(a, b, strict=True))
    assert {p.meta["family"] for p in a} == set(corpus.SYNTHETIC_FAMILIES)
    assert all(0.005 <= float(p.meta["noise"]) <= 0.03 for p in a)
    horizons = [p.horizon for p in a]
    assert min(horizons) < 0.4 and max(horizons) > 0.95
    for p in a:
        check_split(p)
        assert p.x_train.size >= corpus.MIN_TRAIN
    other = corpus.synthetic_problems(seed=1)
    assert not np.array_equal(a[0].y_train, other[0].y_train)


@pytest.mark.parametrize("family", corpus.SYNTHETIC_FAMILIES)
def test_synthetic_families_decrease_without_noise(family: str) -> None:
    for i in range(20):
        x, y, _ = corpus.synthetic_curve(family, np.random.default_rng([7, i]))
        assert np.all(np.diff(x) > 0) and np.all(y > 0)
        assert np.all(np.diff(y) <= 1e-12 * y[:-1]), family


def test_m4_solution_satisfies_its_equation() -> None:
    x = np.logspace(1, 5, 9)
    eps = corpus._m4_solve(x, beta=30.0, c=-0.5, alpha=1.5, e_inf=0.2, e0=2.0)
    lhs = (eps - 0.2) / (2.0 - eps) ** 1.5
    assert np.allclose(lhs, 30.0 * x**-0.5, rtol=1e-9)


def test_thin_log_keeps_ends_and_caps_density() -> None:
    x = np.linspace(1e8, 5.5e10, 525)
    idx = corpus.thin_log(x, 20)
    assert idx[0] == 0 and idx[-1] == x.size - 1
    decades = np.log10(x[-1] / x[0])
    assert idx.size <= 20 * decades + 2
    counts = np.histogram(np.log10(x[idx]), bins=np.arange(8, 11.01, 0.5))[0]
    assert counts.max() <= 11


def test_lang_source_is_the_published_split(shared_data: Path) -> None:
    problems = corpus.lang_problems(shared_data / "alabdulmohsin2022_lang.csv")
    assert len(problems) == 20
    for p in problems:
        check_split(p)
        assert 0.29 < p.horizon < 0.34


def test_datablations_source_cuts_each_curve_at_its_end(shared_data: Path) -> None:
    problems = corpus.datablations_problems(shared_data / "datablations_curves.csv")
    assert len({p.curve for p in problems}) == 48
    assert len(problems) >= 140
    for p in problems:
        check_split(p)
        assert p.x_train[0] >= corpus.DATABLATIONS_START * p.x_test[-1] * (1 - 1e-9)
        assert p.x_train.size >= corpus.MIN_TRAIN
    by_curve: dict[str, list[corpus.Problem]] = {}
    for p in problems:
        by_curve.setdefault(p.curve, []).append(p)
    for cuts in by_curve.values():  # every cut of a curve ends where the curve ends
        assert len({c.x_test[-1] for c in cuts}) == 1


def test_size_groups_join_counts_within_the_tolerance_only() -> None:
    """Sorted counts within 1% of their neighbour are one size (a chain may span more)."""
    params = np.array([1.000e9, 1.006e9, 1.5e9, 1.012e9, 1.505e9, 1.53e9, 3e9])
    labels = corpus.size_groups(params, rtol=0.01).tolist()
    assert labels[0] == labels[1] == labels[3]
    assert labels[2] == labels[4]
    assert len({labels[0], labels[2], labels[5], labels[6]}) == 4


def test_chinchilla_source_is_one_curve_per_model_size(shared_data: Path) -> None:
    """Each curve is the runs of one model size, final loss against tokens, cut at its end;
    the 5 runs the replication drops are not in it."""
    import pandas as pd

    path = shared_data / "chinchilla_besiroglu2024.csv"
    problems = corpus.chinchilla_problems(path)
    table = pd.read_csv(path)
    runs = {(r.params, r.tokens, r.loss): r.epoch_outlier for r in table.itertuples()}
    assert len({p.curve for p in problems}) >= 15 and len(problems) >= 20
    for p in problems:
        check_split(p)
        assert p.x_train.size >= corpus.MIN_TRAIN
        xs = np.concatenate([p.x_train, p.x_test])
        ys = np.concatenate([p.y_train, p.y_test])
        for x, y in zip(xs, ys, strict=True):
            match = [k for k in runs if k[1] == x and k[2] == y]
            assert len(match) >= 1 and all(runs[k] == 0 for k in match)
            assert all(abs(k[0] / float(p.meta["params"]) - 1) < 0.05 for k in match)
    by_curve: dict[str, set[float]] = {}
    for p in problems:
        by_curve.setdefault(p.curve, set()).add(float(p.x_test[-1]))
    assert all(len(ends) == 1 for ends in by_curve.values())  # every cut ends where it ends


@pytest.mark.skipif(not corpus.STUDY_CURVES_CSV.exists(), reason="study curves not built")
def test_study_source_spans_every_domain() -> None:
    problems = corpus.study_problems()
    domains = {p.meta["domain"] for p in problems}
    assert domains == {"image", "lm", "translation", "speech", "synthetic"}
    assert {p.meta["kind"] for p in problems} == {"best", "size"}
    for p in problems:
        check_split(p)


@pytest.mark.skipif(not corpus.STUDY_CURVES_CSV.exists(), reason="study curves not built")
def test_the_corpus_has_300_problems_from_5_sources(shared_data: Path) -> None:
    problems = corpus.load_corpus()
    assert len(problems) >= 300
    assert {p.source for p in problems} == set(corpus.SOURCES)
    assert len({p.id for p in problems}) == len(problems)
    table = corpus.describe(problems)
    assert set(table.index) == set(corpus.SOURCES)

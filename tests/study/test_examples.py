"""The example study files load, span what the README says, and fit their tasks' data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from scalinglab.study import check_task
from scalinglab.study.config import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOMAINS = ("image", "lm", "translation", "speech")


def test_every_example_loads() -> None:
    paths = sorted(EXAMPLES.glob("*.toml"))
    assert {p.stem for p in paths} >= {*DOMAINS, "demo", "synthetic"}
    for path in paths:
        load_config(path)  # raises a one-line ScalingLabError on any problem


def test_every_benchmark_study_file_loads() -> None:
    """The study files the benchmarks run (adaptive and corpus studies) load as they are; an
    adaptive one's grid twin has the same grid."""
    bench = EXAMPLES.parent / "benchmarks"
    paths = sorted([*bench.glob("adaptive/*.toml"), *bench.glob("corpus_studies/*.toml")])
    assert len(paths) >= 11
    for path in paths:
        load_config(path)
    for adaptive in bench.glob("adaptive/*-adaptive.toml"):
        grid = load_config(adaptive.with_name(adaptive.name.replace("-adaptive", "-grid")))
        config = load_config(adaptive)
        assert config.search.design == "adaptive" and grid.search.design != "adaptive"
        assert config.shard_sizes() == grid.shard_sizes()
        assert config.search.model_sizes == grid.search.model_sizes


@pytest.mark.parametrize("domain", DOMAINS)
def test_domain_examples_span_the_issue_minimum(domain: str) -> None:
    config = load_config(EXAMPLES / f"{domain}.toml")
    sizes = config.shard_sizes()
    assert math.log10(max(sizes) / min(sizes)) >= 2.5  # >= 2.5 orders of magnitude of data
    assert len(config.search.model_sizes) >= 3  # >= 3 model sizes per shard
    assert config.task.name == domain


@pytest.mark.parametrize("domain", ("image", "lm"))
def test_image_and_lm_widths_reach_the_sizes_that_overfit(domain: str) -> None:
    """Issue 18: widths over >= 1.5 orders of magnitude, so the smallest shards' best model can
    be small and the largest shards' large (the model-size curve's β_p is measurable)."""
    widths = load_config(EXAMPLES / f"{domain}.toml").search.model_sizes
    assert math.log10(max(widths) / min(widths)) >= 1.5


@pytest.mark.slow
@pytest.mark.parametrize("domain", DOMAINS)
def test_domain_examples_fit_their_data(domain: str, need) -> None:  # type: ignore[no-untyped-def]
    need(domain)
    check_task(load_config(EXAMPLES / f"{domain}.toml"))  # largest shard <= the training pool

"""The study file: validation gives one clear line; shard series are geometric and nested."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalinglab.errors import ScalingLabError
from scalinglab.study import check_task, load_config
from scalinglab.study.config import ResourceSpec, ShardSpec
from scalinglab.study.executors import LocalExecutor, cpu_count
from scalinglab.tasks import get_task


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "examples" / "synthetic.toml")
    assert config.shard_sizes() == [128 * 2**k for k in range(8)]
    check_task(config)  # the example's shards fit the synthetic task's data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model_sizes": "[]"}, "model-size grid is empty"),
        ({"smallest": 512, "largest": 256}, "larger than largest"),
        ({"trials_per_shard": 0}, "search.trials_per_shard"),
        ({"sampler": '"bayes"'}, "search.sampler"),
        ({"seeds": "[]"}, "seeds is empty"),
        ({"seeds": "[3, -1]"}, "seeds must be integers >= 0, got -1"),
        # 2**64 crashed the results table; 2**63 was wrapped to a negative seed, no slot finished
        ({"seeds": "[18446744073709551616]"}, r"below 2\*\*63, got 18446744073709551616"),
        ({"seeds": "[0, 9223372036854775808]"}, r"below 2\*\*63, got 9223372036854775808"),
        ({"model_sizes": "[4, 99999999999999999999]"}, r"model sizes must be below 2\*\*63"),
        # every slot is queued before training: 10**8 of them hung `study run`
        ({"trials_per_shard": 100000000}, "500,000,000 trials, more than 100,000"),
    ],
)
def test_bad_fields_name_the_field(
    write_study: Callable[..., Path], overrides: dict[str, Any], message: str
) -> None:
    path = write_study("bad", **overrides)
    with pytest.raises(ScalingLabError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_malformed_toml_and_unknown_key(tmp_path: Path, make_toml: Callable[..., str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[task\nname = "synthetic"\n')
    with pytest.raises(ScalingLabError, match="malformed TOML"):
        load_config(path)
    path.write_text(make_toml("x") + "\nbogus = 1\n")
    with pytest.raises(ScalingLabError, match="bogus: unknown key"):
        load_config(path)
    with pytest.raises(ScalingLabError, match="no such study file"):
        load_config(tmp_path / "missing.toml")


def test_unknown_task_and_too_large_shard_fail_before_training(
    tmp_path: Path, make_toml: Callable[..., str]
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(make_toml("t").replace('name = "synthetic"', 'name = "nosuchtask"'))
    with pytest.raises(ScalingLabError, match="unknown task 'nosuchtask'"):
        check_task(load_config(path))
    path.write_text(make_toml("t", largest=8192))  # the pool holds 4096 examples
    with pytest.raises(ScalingLabError, match="larger than the task's training data"):
        check_task(load_config(path))


def test_grid_sampler_needs_choices_and_counts_combinations() -> None:
    lr = {"choices": [0.01, 0.02, 0.03]}
    data: dict[str, Any] = {
        "name": "g",
        "task": {"name": "synthetic"},
        "shards": {"sizes": [64, 128]},
        "search": {"model_sizes": [4, 8], "sampler": "grid", "hparams": {"lr": lr}},
    }
    config = load_config(data)
    assert config.search.n_trials() == 6
    assert {"model_size": 8, "lr": 0.03} in config.search.grid()
    data["search"]["hparams"] = {"lr": {"low": 0.01, "high": 0.1}}
    with pytest.raises(ScalingLabError, match="needs choices"):
        load_config(data)
    data["search"]["hparams"] = {"lr": lr, "steps": {"choices": [1, 2]}}
    with pytest.raises(ScalingLabError, match="clash with results-table columns"):
        load_config(data)


def test_the_largest_valid_seed_and_model_size_still_load(write_study: Callable[..., Path]) -> None:
    config = load_config(write_study(seeds="[0, 9223372036854775807]", model_sizes="[4, 64]"))
    assert config.train.seeds == [0, 2**63 - 1] and config.search.model_sizes == [4, 64]


def _study(shards: dict[str, Any] | None = None, **search: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model_sizes": [4], "trials_per_shard": 2}
    base.update(search)
    return {"name": "s", "task": {"name": "synthetic"}, "shards": shards or {"sizes": [64, 128]},
            "search": base}  # fmt: skip


def test_too_many_explicit_shards_or_grid_combinations_are_one_line() -> None:
    with pytest.raises(ScalingLabError, match="sizes lists 101 shards, more than 100") as info:
        load_config(_study({"sizes": list(range(1, 102))}))
    assert "\n" not in str(info.value)
    assert len(load_config(_study({"sizes": list(range(1, 101))})).shard_sizes()) == 100
    # 100**10 combinations: counted and refused, never listed
    many = {"lr": {"choices": [0.01] * 100}} | {f"h{i}": {"choices": list(range(100))}
                                                for i in range(9)}  # fmt: skip
    with pytest.raises(ScalingLabError, match="more than 100,000; lower") as info:
        load_config(_study(sampler="grid", trials_per_shard=None, hparams=many))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("lr", {"choices": [0.0]}, "hparams.lr: 0.0 is not valid; a learning rate must be a "
         "positive number of at most 1000"),
        ("lr", {"low": -1, "high": 3e-2}, "hparams.lr: -1.0 is not valid"),
        ("lr", {"choices": [1e-3, 1e300]}, "hparams.lr: 1e\\+300 is not valid"),
        ("lr", {"choices": [float("nan")]}, "hparams.lr: nan is not valid"),
        ("lr", {"choices": ["fast"]}, "hparams.lr: 'fast' is not valid"),
        ("lr", {"choices": [True]}, "lr: true/false is not a number; a learning rate must"),
        ("lr", {"low": True, "high": 3}, "lr: true/false is not a number"),
        ("batch_size", {"choices": [0]}, "hparams.batch_size: 0 is not valid; a batch size "
         "must be a whole number >= 1"),
        ("batch_size", {"choices": ["abc"]}, "hparams.batch_size: 'abc' is not valid"),
        ("batch_size", {"choices": [64.5]}, "hparams.batch_size: 64.5 is not valid"),
        ("batch_size", {"low": 0.5, "high": 64}, "hparams.batch_size: 0.5 is not valid"),
        ("batch_size", {"choices": [32, True]}, "batch_size: true/false is not a number"),
    ],
)  # fmt: skip
def test_lr_and_batch_size_are_checked_at_load(
    name: str, spec: dict[str, Any], message: str
) -> None:
    hparams = {"lr": {"choices": [0.01]}, name: spec}
    with pytest.raises(ScalingLabError, match=message) as info:
        load_config(_study(hparams=hparams))
    assert "\n" not in str(info.value)


def test_valid_lr_and_batch_size_still_load() -> None:
    hparams = {
        "lr": {"low": 1e-4, "high": 1e3, "log": True},
        "batch_size": {"choices": [16, 64.0, 10**30]},
    }
    assert load_config(_study(hparams=hparams)).search.hparams["batch_size"].choices
    ranged = {"lr": {"choices": [3e-3]}, "batch_size": {"low": 1, "high": 256, "log": True}}
    assert load_config(_study(hparams=ranged)).search.hparams["batch_size"].low == 1


def test_fingerprint_ignores_executor_side_sections() -> None:
    base = load_config(
        {
            "name": "f",
            "task": {"name": "synthetic"},
            "shards": {"sizes": [64]},
            "search": {"model_sizes": [4], "trials_per_shard": 2},
        }
    )
    other = base.model_copy(
        update={"resources": base.resources.model_copy(update={"cpus_per_trial": 2})}
    )
    assert base.fingerprint() == other.fingerprint()
    changed = base.model_copy(
        update={"search": base.search.model_copy(update={"trials_per_shard": 3})}
    )
    assert base.fingerprint() != changed.fingerprint()


@given(
    smallest=st.integers(1, 5000),
    ratio=st.floats(1.0, 1000.0),
    factor=st.sampled_from([1.5, 2.0, 3.0, 4.0]),
)
def test_geometric_shards(smallest: int, ratio: float, factor: float) -> None:
    largest = max(smallest, int(smallest * ratio))
    sizes = ShardSpec(smallest=smallest, largest=largest, factor=factor).resolve()
    assert sizes[0] == smallest and sizes[-1] == largest
    assert sizes == sorted(set(sizes))
    series = {round(smallest * factor**k) for k in range(64)}
    assert set(sizes[:-1]) <= series  # smallest * factor**k, rounded; then the largest itself


def test_reserved_names_are_the_results_columns() -> None:
    from scalinglab.study.config import RESERVED_COLUMNS
    from scalinglab.study.results import BASE_COLUMNS, MEASURE_COLUMNS

    assert set(BASE_COLUMNS + MEASURE_COLUMNS) == RESERVED_COLUMNS


def _adaptive(**search: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model_sizes": [4, 8],
        "sampler": "grid",
        "hparams": {"lr": {"choices": [0.01]}},
        "design": "adaptive",
        "target": {"examples": 4096},
        "target_rel_width": 0.1,
    }
    base.update(search)
    base = {k: v for k, v in base.items() if v is not None}
    return {
        "name": "a", "task": {"name": "synthetic"},
        "shards": {"smallest": 128, "largest": 1024}, "search": base,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({"target": None}, "needs target = { examples = N }"),
        ({"target_rel_width": None}, "needs target_rel_width"),
        ({"target_rel_width": 0}, "search.target_rel_width"),
        ({"target": {"examples": 0}}, "search.target.examples"),
        ({"target": {"examples": 10, "model_size": 8, "compute": 1e12}}, "not both"),
        ({"target": {"examples": 10, "tokens": 5}}, "search.target.tokens: unknown key"),
        ({"design": "bandit"}, "search.design"),
        ({"seed_shards": 1}, "search.seed_shards"),
        ({"runs_per_round": 0}, "search.runs_per_round"),
        ({"trials_per_cell": 2}, "remove trials_per_cell"),
        ({"law": "a*m**-b + e"}, "variable 'p' does not appear"),
        ({"law": "a*m**-b + c*p**-d + import_x("}, "search"),
        ({"design": "grid"}, "target is for design = 'adaptive' only"),
        ({"target_rel_width": float("inf")}, "search.target_rel_width: Input should be a finite"),
        # 4 shards (128 .. 1024): the seed grid cannot take the 5 smallest
        ({"seed_shards": 5}, "seed_shards = 5 is more than the 4 shards of \\[shards\\]; lower"),
    ],
)
def test_adaptive_bad_values_are_one_line(search: dict[str, Any], message: str) -> None:
    from scalinglab.study.config import parse_config

    with pytest.raises(ScalingLabError, match=message) as info:
        parse_config(_adaptive(**search), "study.toml")
    assert "\n" not in str(info.value)


def test_adaptive_config_and_grid_fingerprint_unchanged() -> None:
    from scalinglab.study.config import ADAPTIVE_ONLY, parse_config

    config = parse_config(_adaptive(sampler="random", hparams=None, trials_per_cell=2))
    assert config.search.cell_trials() == [{}, {}]
    assert config.search.n_trials() == 4  # 2 model sizes x 2 trials per cell, at most
    grid = load_config(Path(__file__).parents[2] / "examples" / "synthetic.toml")
    assert not set(ADAPTIVE_ONLY) & set(grid.identity()["search"])  # old studies still resume


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # a factor this close to 1 once listed shards for hours before the study started
        ("[shards]\nfactor = 1.0000001", "factor=1.0000001 from 256 to 4096 gives 27725889 shards"),
        ("[shards]\nfactor = inf", "shards.factor: Input should be a finite"),
        ("[budget]\nflops_per_trial = inf", "budget.flops_per_trial: Input should be a finite"),
        ("[budget]\ntotal_flops = nan", "budget.total_flops: Input should be a finite"),
        ("[resources]\ncpus_per_trial = inf", "resources.cpus_per_trial: Input should be a finite"),
    ],
)
def test_values_that_would_hang_or_fail_every_trial_are_one_line(
    tmp_path: Path, make_toml: Callable[..., str], extra: str, message: str
) -> None:
    text = make_toml("t")
    section, line = extra.split("\n")
    text = text.replace(section, f"{section}\n{line}") if section in text else f"{text}\n{extra}\n"
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(ScalingLabError, match=message.replace("(", r"\(")) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_more_cpus_per_trial_than_the_machine_has_fails_before_any_worker_starts() -> None:
    def no_worker(*_: object) -> object:
        raise AssertionError("a worker was started")

    too_many = ResourceSpec(cpus_per_trial=cpu_count() + 1)
    with pytest.raises(ScalingLabError, match=f"more than this machine's {cpu_count()} CPUs"):
        LocalExecutor(workers=1).run(no_worker, too_many)  # type: ignore[arg-type]


def test_worker_counts_above_the_cap_fail_before_any_worker_starts() -> None:
    from scalinglab.study.executors import MAX_WORKERS, RayExecutor

    assert LocalExecutor(workers=MAX_WORKERS).workers == MAX_WORKERS
    for workers in (MAX_WORKERS + 1, 2_000_000_000, 99999999999999999999):
        with pytest.raises(ScalingLabError, match=f"--workers {workers} is more than 1024"):
            LocalExecutor(workers=workers)
        with pytest.raises(ScalingLabError, match=f"--workers {workers} is more than 1024"):
            RayExecutor(workers=workers)


def test_a_synthetic_pool_too_large_to_generate_fails_when_the_task_is_built(
    tmp_path: Path, make_toml: Callable[..., str]
) -> None:
    with pytest.raises(ScalingLabError, match="more than 1e\\+09 numbers"):
        get_task("synthetic", pool_size=10**8)
    path = tmp_path / "t.toml"
    path.write_text(make_toml("t", pool_size="1e308"))  # every trial died of it, one by one
    with pytest.raises(ScalingLabError, match="lower pool_size, dim or classes"):
        check_task(load_config(path))

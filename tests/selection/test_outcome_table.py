"""OutcomeTable (scalinglab.selection.outcome_table): the column-wise store of a tuning grid's
outcomes must summarise exactly as protocol.summarise does, and give the outcomes back."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import ScalingLabError
from scalinglab.selection import protocol
from scalinglab.selection.outcome_table import OutcomeTable, TableScorer
from tests.selection.test_protocol import Exact, power_problems

RMSES = st.one_of(
    st.sampled_from([0.01, 0.02, 0.02 * (1 + 1e-12), math.inf]),
    st.floats(1e-4, 1.0),
)


@st.composite
def outcome_lists(draw: st.DrawFn) -> list[protocol.Outcome]:
    """Outcomes of up to 5 rules on up to 6 problems of 2-3 sources; some (rule, problem) pairs
    missing, ties and failures included."""
    n_problems = draw(st.integers(1, 6))
    sources = draw(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=n_problems, max_size=n_problems)
    )
    rules = [f"r{i}" for i in range(draw(st.integers(1, 5)))]
    out = []
    for p, source in enumerate(sources):
        points = draw(st.integers(1, 64))
        horizon = draw(st.sampled_from([0.3, 0.61]))
        for rule in rules:
            if draw(st.booleans()) and draw(st.booleans()):
                continue  # a quarter of the pairs are missing
            hits = tuple(
                draw(
                    st.lists(st.sampled_from([True, False, None]), min_size=points, max_size=points)
                )
            )
            out.append(
                protocol.Outcome(
                    source=source,
                    problem=f"{source}:c{p}@h0.3",
                    rule=rule,
                    horizon=horizon,
                    rmse=draw(RMSES),
                    hits=hits,
                    error=draw(st.sampled_from(["", "", "ValueError: no fit"])),
                )
            )
    return out


@settings(max_examples=150, deadline=None)
@given(outcome_lists(), st.integers(0, 3), st.booleans())
def test_summary_is_protocol_summarise(
    outcomes: list[protocol.Outcome], batches: int, subset: bool
) -> None:
    table = OutcomeTable()
    step = max(1, len(outcomes) // (batches + 1))
    for batch, i in enumerate(range(0, len(outcomes), step)):
        if batch % 2:  # half the batches filled apart and merged, as a worker process's are
            part = OutcomeTable()
            part.add(outcomes[i : i + step])
            table.merge(part)
        else:
            table.add(outcomes[i : i + step])
    names = sorted({o.rule for o in outcomes})
    rules = names[: max(1, len(names) - 1)] + ["never-scored"] * (not subset) if subset else None
    reference = names[:1]
    expected = protocol.summarise(outcomes, rules=rules, reference=reference)
    got = table.summary(rules, reference)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    back = table.outcomes()
    assert back == [
        protocol.Outcome(o.source, o.problem, o.rule, o.horizon, o.rmse, o.hits, error=o.error)
        for o in outcomes
    ]


def test_summary_of_some_problems_leaves_the_others_out() -> None:
    problems = power_problems("a", 1.0) + power_problems("b", 100.0)
    outcomes = protocol.score(problems, {"exact": Exact(width=1.5), "biased": Exact(bias=1.3)})
    table = OutcomeTable()
    table.add(outcomes)
    some = [p.id for p in problems[::2]]
    expected = protocol.summarise([o for o in outcomes if o.problem in some], reference=["exact"])
    pd.testing.assert_frame_equal(table.summary(None, ["exact"], some), expected, check_dtype=False)


def test_leave_one_source_out_reads_the_table_as_it_reads_a_scorer() -> None:
    problems = power_problems("a", 1.0) + power_problems("b", 100.0) + power_problems("c", 1e4)
    rules = {
        "tight": Exact(bias=1.05, width=1.01),
        "good": Exact(bias=1.05, width=1.5),
        "only-a": Exact(bias=1.05, width=1.5, min_x=1e4),
        "law": Exact(bias=1.2, width=2.0),
    }
    scorer = protocol.Scorer(rules)
    configs = ["tight", "good", "only-a"]
    direct = protocol.leave_one_source_out(problems, configs, reference=["law"], scorer=scorer)
    table = OutcomeTable()
    table.add(scorer.outcomes)
    via_table = protocol.leave_one_source_out(
        problems, configs, reference=["law"], scorer=TableScorer(table)
    )
    pd.testing.assert_frame_equal(via_table, direct)
    assert set(direct["chosen"]) == {"good"}  # the toy is not degenerate: a choice was made


def test_the_table_refuses_what_it_cannot_hold() -> None:
    table = OutcomeTable()
    with pytest.raises(ScalingLabError, match="more than 64"):
        table.add([protocol.Outcome("a", "a:c@h0.3", "r", 0.3, 0.1, (True,) * 65)])
    (problem,) = power_problems("a", 1.0, n_curves=1)[:1]
    with pytest.raises(ScalingLabError, match="no outcome"):
        TableScorer(table)([problem], ["r"])

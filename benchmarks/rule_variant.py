"""The interval knobs a registered check may replace in `DEFAULT_RULE`, as command-line options:
shared by benchmarks/image_check.py and benchmarks/fresh_draws.py, so that the same flags give
the same rule in both (docs/auto-tuning-log.md runs each variant through both)."""

from __future__ import annotations

import argparse
import json

from scalinglab.selection.rule import DEFAULT_RULE, UNITS, RuleConfig


def add_rule_options(parser: argparse.ArgumentParser) -> None:
    """--growth, --scale, --units, --noise-floor-ratio, --backtest-starts and --model-spread, each
    defaulting to `DEFAULT_RULE`'s, and --knobs for any other field."""
    parser.add_argument("--growth", type=float, default=DEFAULT_RULE.growth)
    parser.add_argument("--scale", type=float, default=DEFAULT_RULE.scale)
    parser.add_argument("--units", choices=UNITS, default=DEFAULT_RULE.units)
    parser.add_argument(
        "--noise-floor-ratio", type=float, default=DEFAULT_RULE.noise_floor_ratio, metavar="L"
    )
    parser.add_argument("--backtest-starts", type=int, default=DEFAULT_RULE.backtest_starts)
    parser.add_argument(
        "--model-spread", type=float, default=DEFAULT_RULE.model_spread, metavar="K"
    )
    parser.add_argument(
        "--knobs", type=json.loads, default={}, metavar="JSON",
        help="any other RuleConfig fields, as tune_auto.py prints a choice's (applied last)",
    )  # fmt: skip


def rule_from(args: argparse.Namespace) -> RuleConfig:
    """`DEFAULT_RULE` with the knobs `add_rule_options` parsed."""
    return DEFAULT_RULE.with_(
        growth=args.growth,
        scale=args.scale,
        units=args.units,
        noise_floor_ratio=args.noise_floor_ratio,
        backtest_starts=args.backtest_starts,
        model_spread=args.model_spread,
    ).with_(**{k: _field(k, v) for k, v in args.knobs.items()})


def _field(name: str, value: object) -> object:
    """A --knobs value as RuleConfig holds it: JSON lists back to tuples (the prior's pairs
    too)."""
    if not isinstance(value, list):
        return value
    return tuple(tuple(pair) for pair in value) if name == "prior" else tuple(value)

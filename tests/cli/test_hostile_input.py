"""Bad and hostile input on every command (issue 12): exit 2, one line on stderr naming the
problem, no traceback, and nothing written or executed that should not be.

Each case runs in-process through `run_app` from a directory of prepared files (broken tables,
broken fit files, broken study files); the directory's contents are compared before and after,
so a case that leaves a file behind (a --json or --out written on failure, a `--where` that ran
code) fails. A few cases run the real entry point in a subprocess, and two send signals.
"""

from __future__ import annotations

import gzip
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from filelock import FileLock

from scalinglab.cli import run_app
from tests.report.tiny_study import TinyStudy, make_tiny_study
from tests.selection.test_extrapolation import bench_table
from tests.signals import as_in_a_terminal

SCALINGLAB = [sys.executable, "-m", "scalinglab.cli"]
NO_CUDA = not torch.cuda.is_available()  # `device = "cuda"` is bad input only without a GPU


@dataclass(frozen=True)
class Case:
    """argv (shell syntax; {S} is the tiny study's storage URL) and a substring of the error."""

    args: str
    needle: str
    xfail: str | None = None
    env: tuple[tuple[str, str], ...] = ()  # environment variables (entry-point cases)

    @property
    def id(self) -> str:
        return " ".join([*(f"{k}={v}" for k, v in self.env), self.args])


def _fit_file_cases() -> list[Case]:
    at = "--at x=1"
    return [
        Case(f"predict badjson.json {at}", "not a valid JSON fit file"),
        Case(f"predict list.json {at}", "must hold a JSON object"),
        Case(f"predict unknownlaw.json {at}", "unknown law 'nope'"),
        Case(f"predict lawlist.json {at}", "unknown law"),
        Case(f"predict nolaw.json {at}", "needs a 'law' field"),
        Case(f"predict noparams.json {at}", "has no 'params'"),
        Case(f"predict missingparam.json {at}", "missing ['b', 'c']"),
        Case(f"predict extraparam.json {at}", "unknown ['zz']"),
        Case(f"predict strparam.json {at}", "must be a number"),
        Case(f"predict nanparam.json {at}", "must be finite"),
        Case(f"predict paramslist.json {at}", "must map parameter names"),
        Case(f"predict badopts.json {at}", "bad options"),
        Case(f"predict xmismatch.json {at}", "lists 2 x column(s)"),
        Case(f"predict badboot.json {at}", "field 'bootstrap_params' is malformed"),
        Case(f"predict bootshape.json {at}", "field 'bootstrap_params' is malformed"),
        Case(f"predict badcov.json {at}", "field 'covariance' is malformed"),
        Case(f"predict badci.json {at}", "field 'ci' is malformed"),
        Case(f"predict badse.json {at}", "field 'stderr' is malformed"),
        Case(f"predict badnpoints.json {at}", "field 'n_points' is malformed"),
        Case(f"predict badwiden.json {at}", "a calibration in a fit file needs"),
        Case(f"predict badspread.json {at}", "spread_laws in a fit file must be a list"),
        Case(f"predict spreadcode.json {at}", "must be a number"),
        Case(f"predict badpower.json {at}", "spread_power must be >= 0"),
        Case(f"predict strpower.json {at}", "must hold numbers"),
        Case(f"predict adir {at}", "is a directory"),
        Case(f"predict nosuch.json {at}", "no such fit file"),
        Case(f"predict curve.csv {at}", "is not a fit file"),
        Case(f"predict empty.json {at}", "is not a fit file"),
        Case("plan badjson.json --compute 1e22", "not a valid JSON fit file"),
        Case("plan badiso.json --compute 1e22", "needs 'exponent' and 'coef'"),
        Case("plan runs.csv --compute 1e22", "is not a fit file"),
        Case("report fit.json badjson.json --out rep", "not a valid JSON fit file"),
        Case("report nosuch.json --out rep", "no such fit file"),
        Case("report fit.json --where 'x > 1' --out rep", "--where filters the rows of a results"),
    ]


def _table_cases() -> list[Case]:
    xy = "--x x --y y"
    return [
        Case(f"fit empty.csv {xy}", "is empty"),
        Case(f"fit header.csv {xy}", "has no data rows"),
        Case(f"fit bin.csv {xy}", "cannot read bin.csv as a table"),
        Case(f"fit nan.csv {xy}", "column 'y' has 1 missing"),
        Case(f"fit inf.csv {xy}", "column 'y' has 1 missing"),
        Case(f"fit str.csv {xy}", "column 'x' has 1 missing"),
        Case(f"fit neg.csv {xy}", "must be > 0"),
        Case(f"fit zeroy.csv {xy}", "y must be > 0"),
        Case(f"fit few.csv {xy}", "free parameters"),
        Case(f"fit samex.csv {xy}", "has a single value"),
        Case(f"fit dup.csv {xy}", "more than one column named 'x'"),
        Case(f"fit fit.json {xy}", "is a JSON file"),
        Case(f"fit disguised.csv {xy}", "is a JSON file"),
        Case(f"fit bad.parquet {xy}", "cannot read bad.parquet as a table"),
        Case(f"fit adir {xy}", "is a directory"),
        Case(f"fit nosuch.csv {xy}", "no such file: nosuch.csv"),
        Case(f"fit '[/x].csv' {xy}", "no such file: [/x].csv"),
        Case("fit '[bold]runs.csv' --x nope --y loss", "[bold]runs.csv has no column 'nope'"),
        Case("fit curve.csv --x nope --y y", "has no column 'nope'"),
        Case("fit curve.csv --x x --y nope", "has no column 'nope'"),
        Case("fit curve.csv --x '[shards]' --y y", "has no column '[shards]'"),
        Case("isoflop empty.csv", "is empty"),
        Case("isoflop dup.csv --params x --loss y --flops x", "more than one column named 'x'"),
        Case("isoflop fit.json", "is a JSON file"),
        Case("isoflop curve.csv", "needs a FLOPs column"),
        Case("isoflop iso.csv --params nope", "has no column 'nope'"),
        Case("isoflop iso.csv --loss nope", "has no column 'nope'"),
        Case("isoflop iso.csv --tokens nope", "has no column 'nope'"),
        Case("isoflop iso.csv --flops nope", "has no column 'nope'"),
        Case("isoflop iso.csv --method envelope --run nope", "has no column 'nope'"),
        Case("isoflop samex.csv --params x --loss y --flops x", "needs a minimum at 2 or more"),
        Case("report curve.csv --out rep", "not a study's results table"),
        Case("report dup.csv --out rep", "more than one column named 'x'"),
        Case("report text.txt --out rep", "unknown source type"),
        Case("report nosuch.csv --out rep", "no such file"),
        Case("report curve.csv iso.csv --out rep", "give one study or one table"),
        Case("benchmark extrapolation nosuch.csv", "no such file"),
        Case("benchmark extrapolation curve.csv", "lacks column(s)"),
        Case("benchmark extrapolation fit.json", "is a JSON file"),
        Case("benchmark extrapolation empty.csv", "is empty"),
        # a curve the benchmark cannot score exited 0 with RMSE ∞ for every law
        Case("benchmark extrapolation bench_onetrain.csv --laws m1", "has 1 distinct 'Seen Ex"),
        Case("benchmark extrapolation bench_constx.csv --laws m1", "needs at least 5"),
        Case("benchmark extrapolation bench_notest.csv", "no rows with Training == 0 (held-out"),
        Case("benchmark extrapolation bench_infx.csv", "'Seen Examples' of bench_infx.csv holds"),
        Case("fit zerox.csv --x x --y y --law auto --bootstrap 0", "every value of ['x'] must be"),
    ]


def _where_cases() -> list[Case]:
    """A --where is a filter, never code: each of these must fail and leave no `pwned` file."""
    touch = "touch pwned"
    return [
        Case(f"fit curve.csv --x x --y y --where \"@pd.io.common.os.system('{touch}')\"", "'@'"),
        Case(
            f"fit curve.csv --x x --y y --where \"x > 1 and @pd.io.common.os.system('{touch}')\"",
            "'@'",
        ),
        Case(f"fit curve.csv --x x --y y --where \"__import__('os').system('{touch}')\"", "call"),
        Case("fit curve.csv --x x --y y --where \"open('pwned', 'w')\"", "call"),
        Case("fit curve.csv --x x --y y --where 'x.__class__'", "attribute"),
        Case("fit curve.csv --x x --y y --where 'x.values > 1'", "attribute"),
        Case("fit curve.csv --x x --y y --where 'x[0] > 1'", "subscript"),
        Case("fit curve.csv --x x --y y --where '__builtins__'", "dunder"),
        Case("fit curve.csv --x x --y y --where 'lambda: 1'", "lambda"),
        Case("fit curve.csv --x x --y y --where '[c for c in x]'", "comprehension"),
        Case("fit curve.csv --x x --y y --where \"f'{x}'\"", "f-string"),
        Case("fit curve.csv --x x --y y --where 'x > 1; import os'", "not a valid condition"),
        Case("fit curve.csv --x x --y y --where 'x := 1'", "not a valid condition"),
        Case("fit curve.csv --x x --y y --where 1", "is not a condition"),
        Case("fit curve.csv --x x --y y --where x", "is not a condition"),
        Case("fit curve.csv --x x --y y --where 'x >'", "not a valid condition"),
        Case("fit curve.csv --x x --y y --where 'nope > 1'", "'nope', which is not a column"),
        Case("fit curve.csv --x x --y y --where 'y > 100'", "no rows of curve.csv match"),
        Case(f"isoflop iso.csv --where \"@pd.io.common.os.system('{touch}')\"", "'@'"),
        Case(f"report iso.csv --out rep --where \"__import__('os').system('{touch}')\"", "call"),
        Case("report iso.csv --out rep --where 'params.__class__'", "attribute"),
    ]


def _flag_cases() -> list[Case]:
    xy = "fit curve.csv --x x --y y"
    return [
        # The command line itself (typer's own click): one line, exit 2.
        Case("nosuchcommand", "No such command 'nosuchcommand'"),
        Case("--nope", "No such option: --nope"),
        Case("fit", "Missing argument 'data'"),
        Case("fit curve.csv --nope", "No such option: --nope"),
        Case("fit curve.csv --bootstrap", "requires an argument"),
        Case(f"{xy} --bootstrap many", "Invalid value for '--bootstrap'"),
        Case(f"{xy} --seed x", "Invalid value for '--seed'"),
        Case(f"{xy} --delta abc", "Invalid value for '--delta'"),
        Case("predict fit.json", "give --at (points) or --table"),
        Case("plan fit.json --compute abc", "Invalid value for '--compute'"),
        Case("plan fit.json --level high", "Invalid value for '--level'"),
        Case("laws extra", "unexpected extra argument"),
        Case("laws --json adir", "--json adir is a directory; give a file name, e.g. adir/result"),
        Case("study nope", "No such command 'nope'"),
        Case("study run", "Missing argument 'config'"),
        Case("study run ex.toml --workers 0", "Invalid value for '--workers'"),
        Case("study run ex.toml --workers abc", "Invalid value for '--workers'"),
        Case("study export x", "Missing option '--out'"),
        Case("study fit x --bootstrap -1", "Invalid value for '--bootstrap'"),
        Case("study fit x --fit-up-to abc", "Invalid value for '--fit-up-to'"),
        Case("data nope", "No such command 'nope'"),
        Case("data prepare", "Missing argument 'domain'"),
        Case("demo --workers 0", "Invalid value for '--workers'"),
        Case("demo --bootstrap -1", "Invalid value for '--bootstrap'"),
        Case("benchmark nope", "No such command 'nope'"),
        Case("benchmark extrapolation iso.csv --workers x", "Invalid value for '--workers'"),
        Case("report", "Missing argument 'sources'"),
        Case("report fit.json --bootstrap -1", "Invalid value for '--bootstrap'"),
        Case("report curve.csv --x x", "No such option: --x"),
        # fit
        Case("fit curve.csv --x x --y y --law nope", "unknown law 'nope'"),
        Case("fit curve.csv --x x --x y --y y", "takes 1 x column(s)"),
        Case("fit runs.csv --law chinchilla --x params --y loss", "takes 2 x column(s)"),
        Case(f"{xy} --bootstrap -1", "Invalid value for '--bootstrap'"),
        Case(f"{xy} --bootstrap 100000000", "bootstrap resamples must be an integer from 0"),
        Case(f"{xy} --bootstrap 20001", "from 0 to 20,000"),
        Case(f"{xy} --bootstrap 10 --seed -1", "Invalid value for '--seed'"),
        Case(f"{xy} --level 1", "Invalid value for '--level'"),
        Case(f"{xy} --objective nope", "unknown objective 'nope'"),
        Case(f"{xy} --delta -1", "Huber delta must be a number > 0"),
        Case(f"{xy} --delta nan", "Huber delta must be a number > 0"),
        Case(f"{xy} --fix a", "--fix takes NAME=VALUE"),
        Case(f"{xy} --fix a=q", "'q' is not a number"),
        Case(f"{xy} --fix zz=1", "has no parameter 'zz'"),
        Case(f"{xy} --law bnsl --n-breaks -3", "n_breaks must be an integer"),
        Case(f"{xy} --law auto --candidates ''", "--candidates takes comma-separated"),
        Case(f"{xy} --law auto --candidates nope", "--candidates: unknown law 'nope'"),
        Case(f"{xy} --law auto --candidates chinchilla", "not a law of one variable"),
        Case(f"{xy} --law auto --fix a=1", "--fix cannot be used with --law auto"),
        # once silently ignored, or silently the default law
        Case(f"{xy} --candidates m1", "--candidates applies to --law auto"),
        Case(f"{xy} --error-rate", "--error-rate applies to --law auto"),
        Case("fit curve.csv --formula 'a*x**b' --y y --error-rate", "--error-rate applies to"),
        Case(f"{xy} --law ''", "unknown law ''"),
        Case(f"{xy} --fix c=-1", "fixed c = -1 lies outside its bounds [0, inf]"),
        Case(f"{xy} --json adir", "--json adir is a directory"),
        Case(f"{xy} --json curve.csv/out.json", "curve.csv is a file, not a directory"),
        # predict
        Case("predict fit.json --at x=", "x has no value"),
        Case("predict fit.json --at =5", "--at takes NAME=VALUE"),
        Case("predict fit.json --at x", "--at takes NAME=VALUE"),
        Case("predict fit.json --at x=abc", "'abc' is not a number"),
        Case("predict fit.json --at x=1,x=2", "x is given twice"),
        Case("predict fit.json --at 'x=1;;2'", "x has an empty entry"),
        Case("fit flags.csv --x flag --y y", "'flag' holds True/False values"),
        Case("predict fit.json --at y=1", "unknown ['y']"),
        Case("predict chin.json --at params=1e9 --at 'tokens=1;2'", "params: 1, tokens: 2"),
        Case("predict fit.json --at x=-1", "must be > 0"),
        Case("predict fit.json --at x=0", "must be > 0"),
        Case("predict fit.json --at x=nan", "NaN or inf"),
        Case("predict fit.json --at x=inf", "NaN or inf"),
        Case("predict fit.json --at x=1 --level 2", "Invalid value for '--level'"),
        Case("predict fit.json --at x=1 --level nan", "must be between 0 and 1"),
        # plan
        Case("plan chin.json", "say what to plan"),
        Case("plan chin.json --compute 1e22 --target-loss 2", "give one query at a time"),
        Case("plan chin.json --compute 0", "compute budget must be a positive number"),
        Case("plan chin.json --compute -1e22", "compute budget must be a positive number"),
        Case("plan chin.json --compute nan", "compute budget must be a positive number"),
        Case("plan chin.json --compute 1e400", "compute budget must be a positive number"),
        Case("plan chin.json --target-loss 0", "target loss must be a positive number"),
        Case("plan chin.json --target-loss 1.0", "at or below the fitted irreducible loss"),
        Case("plan chin.json --target-error 0.1", "--target-error needs a one-variable"),
        Case("plan fit.json --compute 1e22", "needs a law of model size and tokens"),
        Case("plan chin.json --model-sizes ''", "needs at least one model size"),
        Case("plan chin.json --model-sizes a,b", "takes comma-separated numbers"),
        Case("plan chin.json --model-sizes -1,2", "a model has at least one parameter, got -1"),
        Case("plan chin.json --compute 1e22 --unique-tokens 0", "unique tokens must be > 0"),
        Case("plan chin.json --compute 1e22 --unique-tokens nan", "unique tokens must be > 0"),
        Case("plan chin.json --unique-tokens 1e9", "say what to plan"),
        Case("plan chin.json --target-loss 2 --unique-tokens 1e9", "goes with --compute"),
        Case("plan chin.json --compute 1e22 --inference-tokens -1", "inference tokens must be"),
        Case(
            "plan chin.json --compute 1e22 --unique-tokens 1e9 --inference-tokens 1",
            "cannot be combined",
        ),
        Case("plan chin.json --compute 1e22 --r-d-star 5", "only apply with --unique-tokens"),
        Case(
            "plan chin.json --compute 1e22 --unique-tokens 1e9 --r-d-star -5",
            "R*_D must be a positive number",
        ),
        Case("plan chin.json --compute 1e22 --level 1", "Invalid value for '--level'"),
        Case("plan chin.json --compute 1e22 --flops-per-param-token 0", "must be > 0"),
        # the FLOP model is arithmetic in N and D: no module is imported, no function called
        # (module:function once imported `this`, and called os.system)
        Case("plan chin.json --compute 1e22 --flops-function nope", "N (parameters) and D"),
        Case("plan chin.json --compute 1e22 --flops-function ''", "give an expression such"),
        Case("plan chin.json --compute 1e22 --flops-function os:system", "not a valid expression"),
        Case("plan chin.json --compute 1e22 --flops-function this:x", "not a valid expression"),
        Case(
            "plan chin.json --compute 1e22 --flops-function \"__import__('os').system('id')\"",
            "may not use function calls",
        ),
        Case("plan chin.json --compute 1e22 --flops-function 'N > D'", "must give a number"),
        Case("plan chin.json --compute 1e22 --flops-function D-N", "must grow with N and with D"),
        Case("plan iso.json --target-loss 2", "answers --compute and --model-sizes only"),
        Case("plan iso.json --compute -1", "compute budget must be a positive number"),
        Case("plan iso.json --model-sizes x", "takes comma-separated numbers"),
        # isoflop
        Case("isoflop iso.csv --method nope", "--method must be isoflop or envelope"),
        Case("isoflop iso.csv --bootstrap -1", "Invalid value for '--bootstrap'"),
        Case("isoflop iso.csv --bootstrap 99999999999", "bootstrap resamples must be"),
        Case("isoflop iso.csv --method envelope --bootstrap 99999999999", "resamples must be"),
        Case("isoflop iso.csv --seed -5 --bootstrap 10", "Invalid value for '--seed'"),
        Case("isoflop iso.csv --level 0", "Invalid value for '--level'"),
        Case("isoflop iso.csv --flops-per-param-token -1", "must be > 0"),
        Case("isoflop iso.csv --run run", "--run only applies with --method envelope"),
        Case("isoflop iso.csv --budget-tolerance -1", "budget tolerance must be >= 0"),
        Case("isoflop iso.csv --budget-tolerance nan", "budget tolerance must be >= 0"),
        Case("isoflop iso.csv --where 'params < 0'", "no rows of iso.csv match"),
        # report
        Case("report fit.json --out rep --level 2", "Invalid value for '--level'"),
        Case("report fit.json --out curve.csv", "--out curve.csv is a file"),
        Case("report fit.json --out curve.csv/sub", "curve.csv is a file, not a directory"),
        Case("report fit.json --target 1e5 --out rep", "--target applies to a study or its"),
        Case("report runs.csv --target 1e5 --out rep", "--target applies to a study or its"),
        # data, demo, benchmark
        Case("data prepare nope", "unknown domain 'nope'"),
        Case("data prepare image --cache-dir curve.csv", "curve.csv is a file"),
        Case("data prepare image --cache-dir curve.csv/sub", "curve.csv is a file"),
        Case("demo --config nosuch.toml", "no such study file"),
        Case("demo --config badtoml.toml", "malformed TOML"),
        Case("demo --out curve.csv", "--out curve.csv is a file"),
        Case("benchmark extrapolation curve.csv --laws ''", "--laws takes comma-separated"),
        Case("benchmark extrapolation curve.csv --laws auto", "--laws takes one or more"),
        Case("benchmark extrapolation curve.csv --laws nope", "unknown law 'nope'"),
        Case(
            "benchmark extrapolation curve.csv --laws m1,chinchilla",
            "--laws: chinchilla is not a law of one variable",
        ),
        Case("benchmark extrapolation curve.csv --workers 0", "--workers must be >= 1"),
    ]


def _study_cases() -> list[Case]:
    return [
        # study files
        Case("study run nosuch.toml", "no such study file"),
        Case("study run adir", "cannot read"),
        Case("study run badtoml.toml", "malformed TOML"),
        Case("study run binary.toml", "not UTF-8"),
        Case("study run notask.toml", "task: missing"),
        Case("study run badtask.toml --storage never.db", "unknown task 'nope'"),
        Case("study run negshard.toml", "shards.smallest"),
        Case("study run factor1.toml", "shards.factor"),
        Case("study run markupname.toml", "name: String should match pattern"),
        Case("study run strtrials.toml", "search.trials_per_shard"),
        Case("study run noseeds.toml", "seeds is empty"),
        Case("study run badsampler.toml", "search.sampler"),
        Case("study run nosizes.toml", "model-size grid is empty"),
        Case("study run badlr.toml", "a log-scale range needs low > 0"),
        Case("study run unknownkey.toml", "budget.bogus: unknown key"),
        # [resources] device and precision (issue 18): a device this machine lacks is one line
        Case("study run cuda99.toml", 'resources: device "cuda:99"'),
        *([Case("study run cuda.toml", 'device "cuda" needs a CUDA GPU')] if NO_CUDA else []),
        Case("study run gpu.toml", "resources.device: device 'gpu' is not one of"),
        Case("study run fp16cpu.toml", 'precision "fp16" (float16 autocast with loss scaling)'),
        Case("study run fp8.toml", "resources.precision: Input should be 'fp32'"),
        Case("study run ex.toml --executor nope", "unknown executor 'nope'"),
        # storage URLs
        Case("study run ex.toml --storage mysql://u@h/db", "sqlite, postgresql"),
        Case("study status x --storage mysql://u@h/db", "sqlite, postgresql"),
        Case("study run ex.toml --storage ftp://x", "unsupported URL scheme 'ftp'"),
        Case("study run ex.toml --storage sqlite:///curve.csv/x.db", "cannot open SQLite"),
        Case("study run ex.toml --storage curve.csv", "file is not a database"),
        # once a SQLite file literally named "sqlite:ex.db" in the current directory
        Case("study run ex.toml --storage sqlite:ex.db", "write sqlite:///ex.db (or a bare"),
        Case("study status ex --storage postgresql:me@h/db", "write postgresql://me@h/db"),
        Case(
            "study run ex.toml --storage postgresql://nobody@127.0.0.1:1/x",
            "cannot open storage postgresql",
        ),
        Case("study status nosuch", "no study database"),
        Case("study status nosuch --storage '[shards]'", "no study database at"),
        Case("study status nosuch --storage 'sqlite:///[/x].db'", "[/x].db"),
        Case("study status ghost --storage {S}", "no study named 'ghost'"),
        Case("study export ghost --storage {S} --out x.csv", "no study named 'ghost'"),
        Case("study export tiny-report --storage {S} --out x.txt", "unknown table format"),
        Case("study export tiny-report --storage {S} --out adir", "unknown table format"),
        Case("study fit ghost --storage {S}", "no study named 'ghost'"),
        Case("study fit tiny-report --storage {S} --y nope", "--y must be best_val_loss"),
        Case("study fit tiny-report --storage {S} --law nope", "unknown learning-curve law"),
        Case("study fit tiny-report --storage {S} --fit-up-to 0", "must be a positive shard"),
        Case("study fit tiny-report --storage {S} --fit-up-to nan", "must be a positive shard"),
        Case("study fit tiny-report --storage {S} --fit-up-to 1", "needs at least 3"),
        Case("study fit tiny-report --storage {S} --bootstrap 10000000", "resamples must be"),
        Case("study status tiny-report --storage {S} --json adir", "--json adir is a directory"),
        Case("study fit tiny-report --storage {S} --json adir", "--json adir is a directory"),
        Case("study fit tiny-report --storage {S} --target -5", "--target must be a shard size"),
        Case("study fit tiny-report --storage {S} --target inf", "--target must be a shard size"),
        Case("study fit tiny-report --storage {S} --save-fit adir", "--save-fit adir is a direc"),
        Case("study fit tiny-report --storage {S} --save-fit -", "- is not a file name"),
        Case("study fit tiny-report --storage {S} --save-fit s.json --json s.json", "both s.json"),
        Case("predict fit.json --at 'x=;1'", "x has an empty entry"),
        Case("study fit tiny-report --storage {S} --save-fit /proc/x.json", "cannot write"),
        Case("report ghost --storage {S} --out rep", "no study named 'ghost'"),
        Case("report tiny-report --storage {S} --y nope --out rep", "--y must be"),
        Case("report tiny-report --storage {S} --level 0 --out rep", "Invalid value for '--level'"),
        Case("study fit tiny-report --storage {S} --level 1", "Invalid value for '--level'"),
        Case("report tiny-report --storage {S} --out curve.csv", "--out curve.csv is a file"),
        Case("report tiny-report --storage {S} --target -5 --out rep", "--target must be a shard"),
        Case("report tiny-report --storage {S} --target 0 --out rep", "--target must be a shard"),
        Case("report tiny-report --storage {S} --target nan --out rep", "--target must be a shard"),
        Case("report tiny-report --storage {S} --target inf --out rep", "--target must be a shard"),
        Case("report tiny-report --storage {S} --target abc --out rep", "Invalid value for '--t"),
        Case("report nosuch --out rep", "no study database"),
        Case("report nosuch --storage ftp://x --out rep", "unsupported URL scheme 'ftp'"),
    ]


def _output_path_cases() -> list[Case]:
    """An output path that cannot be written fails before the work, not after it: once the
    study trained (or was fitted, exported) first, then `cannot write adir: Is a directory`,
    or `File exists` for a path through a file. The snapshot shows never.db was not made."""
    run = "study run ex.toml --storage sqlite:///never.db"
    file_in_the_way = "curve.csv is a file, not a directory"
    return [
        Case(f"{run} --json adir", "--json adir is a directory; give a file name"),
        Case(f"{run} --json curve.csv/x.json", f"--json curve.csv/x.json: {file_in_the_way}"),
        Case(f"{run} --json curve.csv/sub/x.json", file_in_the_way),
        Case("study status tiny-report --storage {S} --json curve.csv/s.json", file_in_the_way),
        Case("study fit tiny-report --storage {S} --json curve.csv/f.json", file_in_the_way),
        Case(
            "study fit tiny-report --storage {S} --save-fit curve.csv/c.json",
            f"--save-fit curve.csv/c.json: {file_in_the_way}",
        ),
        Case(
            "study export tiny-report --storage {S} --out curve.csv/x.csv",
            f"--out curve.csv/x.csv: {file_in_the_way}",
        ),
        Case("study export tiny-report --storage {S} --out dir.csv", "--out dir.csv is a direc"),
        Case(
            "study export tiny-report --storage {S} --out table.csv",
            "table.best.csv, where its per-shard table goes, is a directory",
        ),
        Case("study export tiny-report --storage {S} --out x.csv --json adir", "--json adir is"),
        Case("report tiny-report --storage {S} --out rep --json adir", "--json adir is a dir"),
    ]


def _results_table_cases() -> list[Case]:
    """A study's results table (`study export`) with a bad shard size or metric: once a
    ValueError traceback, or 'only 0 shard(s) ... (run the study further)'."""
    fix = "fix or drop that row"
    return [
        Case(
            "report sr_text.csv --out rep",
            "column 'shard_size' holds 'abc' at data row 2: a shard size is a finite number "
            f"of examples > 0; {fix}",
        ),
        Case("report sr_neg.csv --out rep", "column 'shard_size' holds -5 at data row 1: a sh"),
        Case("report sr_huge.csv --out rep", "column 'shard_size' holds inf at data row 1: a s"),
        Case(
            "report sr_negloss.csv --out rep",
            "column 'best_val_loss' holds -1 at data row 1 (3 more row(s) hold values <= 0); "
            "the learning curve is fitted to ln best_val_loss, and only 0 shard(s) have a best "
            "value > 0 (a fit needs at least 3): fix those values, or fit the other column, "
            "y = best_val_error",
        ),
        Case(
            "report sr_emptyloss.csv --out rep",
            "column 'best_val_loss' is empty at data row 3, a finished trial: its best value "
            f"must be a finite number; {fix}",
        ),
        Case("report sr_params.csv --out rep", "column 'n_params' holds 'many' at data row 4, a"),
        # a study that is truly unfinished keeps its message
        Case("report sr_two.csv --out rep", "only 2 shard(s) to fit have a finished best trial"),
    ]


def _formula_cases() -> list[Case]:
    """A --formula is a formula, never code: each of these must fail, run nothing and leave no
    `pwned` file (issue 15); and the options of formula fits and of predict --table."""
    touch = "touch pwned"
    f = "fit curve.csv --y y --formula"
    nested = "-" * 70 + "a*x"
    return [
        Case(f"{f} \"__import__('os').system('{touch}')\"", "dunder"),
        Case(f'{f} "a*x + __builtins__"', "dunder"),
        Case(f'{f} "x.__class__"', "attribute"),
        Case(f'{f} "a*x.real"', "attribute"),
        Case(f"{f} \"open('pwned', 'w')\"", "may not call 'open'"),
        Case(f"{f} \"eval('1')*x\"", "may not call 'eval'"),
        Case(f"{f} \"getattr(x, 'y')\"", "may not call 'getattr'"),
        Case(f'{f} "(lambda: x)()"', "by name"),
        Case(f"{f} 'lambda: x'", "lambda"),
        Case(f"{f} '[a for a in x]'", "comprehension"),
        Case(f"{f} 'x[0]*a'", "subscript"),
        Case(f"{f} 'a @ x'", "'@'"),
        Case(f"{f} 'a*x; import os'", "not a valid formula"),
        Case(f"{f} 'a := x'", "not a valid formula"),
        Case(f"{f} \"'a' * x\"", "may not use the constant 'a'"),
        Case(f"{f} 'a < x'", "belong in where"),
        Case(f"{f} 'where(x, a, 1)'", "the first argument of where() is a condition"),
        Case(f"{f} 'exp(x, a)'", "exp() takes 1 argument"),
        Case(f"{f} 'min(x=a)'", "no keywords"),
        Case(f"{f} '{nested}'", "nested more than"),
        Case(f"{f} ''", "--formula is empty"),
        Case(f"{f} '   '", "--formula is empty"),
        Case(f"{f} 'exp*x'", "'exp' as a name, but it is a function"),
        Case(f"{f} 'a*nope'", "names no column"),
        Case(f"{f} 'a*x + y'", "uses the --y column 'y'"),
        Case(f"{f} 'x + 1'", "has no parameter"),
        Case(f"{f} a*x --law chinchilla", "give --law or --formula, not both"),
        Case(f"{f} a*x --x x", "--x does not apply to --formula"),
        Case(f"{f} a*x**-b --bounds b=2:1", "needs LOW < HIGH"),
        Case(f"{f} a*x**-b --bounds b", "--bounds takes NAME=LOW:HIGH"),
        Case(f"{f} a*x**-b --bounds b=q:1", "is not LOW:HIGH numbers"),
        Case(f"{f} a*x**-b --bounds z=0:1", "--bounds names 'z', which is not a parameter"),
        Case(f"{f} a*x**-b --bounds a=-1:1 --log a", "lower bound must be >= 0"),
        Case(f"{f} a*x**-b --log 'a b'", "--log takes parameter names"),
        Case(f"{f} a*x**-b --log z", "--log names 'z'"),
        Case(f"{f} a*x**-b --fix z=1", "no parameter 'z'"),
        Case(f"{f} a*x**-b --bounds b=0:1 --fix b=5", "fixed b = 5 lies outside its bounds"),
        Case(f"{f} a*x**-b --shared b", "--shared needs --group"),
        Case(f"{f} a*x**-b --group nope", "has no column 'nope' (--group)"),
        Case(f"{f} a*x**-b --group x", "uses the --group column 'x'"),
        Case(f"{f} a*x**-b --starts 0", "Invalid value for '--starts'"),
        # 10^8 random starts ran past any timeout before the first fit step
        Case(f"{f} a*x**-b --starts 100000000", "less than or equal to 100000"),
        Case(f"{f} a*x**-b --objective nope", "unknown objective 'nope'"),
        Case("fit curve.csv --x x --y y --bounds b=0:1", "--bounds applies to --formula"),
        Case("fit curve.csv --x x --y y --shared b", "--shared applies to --formula"),
        Case("predict fit.json --at x=1 --table curve.csv", "one of them"),
        Case("predict fit.json --at x=1 --y y", "apply to --table"),
        Case("predict fit.json --table curve.csv --out out.txt", "write a .csv or .parquet"),
        Case("predict fit.json --table curve.csv --out adir", "write a .csv or .parquet"),
        Case("predict fit.json --table curve.csv --y nope", "has no column 'nope'"),
        Case("predict fit.json --table nosuch.csv", "no such file"),
        Case("predict fit.json --table fit.json", "is a JSON file"),
        Case("predict fit.json --table curve.csv --where 'x > 1e99'", "no rows of curve.csv"),
        Case("predict chin.json --table curve.csv", "has no column 'params'"),
        Case("predict groupfit.json --table curve.csv", "has no group column 'g'"),
        Case("predict groupfit.json --table groups.csv", "group 'v' was not in the fit"),
        Case("predict hostileformula.json --at x=1", "dunder"),
        Case("predict noformula.json --at x=1", "bad options for formula"),
        *_joint_cases(),
    ]


def _joint_cases() -> list[Case]:
    """Several outputs (--formula F1 --y a --formula F2 --y b), and predicting a joint fit."""
    two = "fit outputs.csv --formula a*x**-b --y y --formula"
    return [
        Case("fit outputs.csv --formula a*x**-b --y y --y z", "1 --formula and 2 --y"),
        Case("fit outputs.csv --formula a*x**-b --formula c*x**-b --y y", "2 --formula and 1 --y"),
        Case("fit outputs.csv --formula a*x**-b --formula c*x**-b", "2 --formula and 1 --y"),
        Case("fit outputs.csv --x x --y y --y z", "several outputs take one --formula each"),
        Case(f"{two} c*x**-b --y nope", "has no column 'nope' (--y)"),
        Case(f"{two} c*x**-b --y y", "--y y is given twice"),
        Case(f"{two} c*y --y z", "uses the --y column 'y'"),
        Case(f"{two} c*nope --y z", "names no column"),
        Case(f"{two} 'x.real' --y z", "attribute"),
        Case(f"{two} c*x**-b --y z --group x", "uses the --group column 'x'"),
        Case(f"{two} c*x**-b --y z --group nope", "has no column 'nope' (--group)"),
        Case(f"{two} c*x**-b --y z --group y", "--group y is also a --y column"),
        Case(f"{two} c*x**-b --y z --group z", "--group z is also a --y column"),
        Case(f"{two} c*x**-b --y z --group gap", "column 'gap' (--group) has 1 missing value"),
        Case(f"{two} c*x**-b --y z --group label --shared q", "shared parameter 'q' is not a"),
        Case(f"{two} c*x**-b --y z --group label", "group label=s: law 'joint_formula' has 3"),
        Case(f"{two} c*x**-b --y z --shared b", "--shared is for --group"),
        Case(f"{two} c*x**-b --y z --bounds q=0:1", "--bounds names 'q'"),
        Case(f"{two} 'x + 1' --y z", "output z: the formula 'x + 1' has no parameter"),
        Case(f"{two} c*x**-b --y gap", "column 'gap' has 1 missing"),
        Case("predict jointfit.json --at x=1 --table outputs.csv", "one of them"),
        Case("predict jointfit.json --table outputs.csv --y nope", "not an output of this fit"),
        Case("predict jointfit.json --table outputs.csv --y y --y q", "not an output of this fit"),
        Case("predict jointfit.json --table samex.csv --y z", "has no column 'z'"),
        Case("predict jointfit.json --table runs.csv", "has no column 'x'"),
        Case("predict jointfit.json --at q=1", "must give exactly the fit's variables ['x']"),
        Case("predict fit.json --table outputs.csv --y y --y z", "give one --y, not 2"),
        Case("predict badjoint.json --at x=1", "one formula per output"),
        Case("predict groupjoint.json --at x=1", "parameters per g: predict it with --table"),
        Case("predict groupjoint.json --table outputs.csv", "has no group column 'g'"),
        Case("predict groupjoint.json --table groups.csv", "group 'v' was not in the fit"),
    ]


def _sweep_cases() -> list[Case]:
    """Found by a sweep of 300 hostile calls (2026-12-06): each was a traceback, a hang or a
    silent wrong answer before."""
    deep_where = "+".join(["x"] * 990) + " > 1"
    deep_cost = "-" * 1990 + "N"
    suggest = (
        "suggest --formula 'E + A/N**alpha + B/D**beta' --runs designruns.csv --y loss "
        "--target designtarget.csv --candidates designpool.csv"
    )
    return [
        Case("fit curve.csv --x x --y y --fix c=1e300", "fixed c = 1e+300: give a finite"),
        Case("fit curve.csv --x x --y y --fix c=inf", "fixed c = inf: give a finite"),
        Case("fit curve.csv --x x --y y --fix c=nan", "fixed c = nan: give a finite"),
        Case("predict optslist.json --at x=1", "'options' in a fit file must map"),
        Case("predict deepfit.json --at x=1", "nested too deeply to be a JSON fit file"),
        Case("report deepfit.json --out rep", "nested too deeply to be a JSON fit file"),
        Case("predict bigint.json --at x=1", "Exceeds the limit (4300 digits)"),
        Case("predict negscale.json --at x=1", "a = -3e+06 lies outside the law's bounds"),
        Case("predict boolscale.json --at x=1", "'params' gives a as true/false"),
        Case(f"fit curve.csv --x x --y y --where '{deep_where}'", "nested more than 60 levels"),
        Case(f"{suggest} --cost '{deep_cost}'", "--cost is nested more than 60 levels"),
        Case(f"{suggest} --cost ''", "--cost is empty"),
        Case(f"{suggest.replace(' --candidates designpool.csv', '')} --cost N", "needs --candid"),
        # a log of a loss < 0 (a raw RuntimeWarning), and rows counted from 0 (2026-12-07)
        Case(
            f"{suggest.replace('designruns.csv', 'designneg.csv')} --cost N",
            "'loss' of designneg.csv (--runs) must be > 0: objective 'huber' fits log(y)",
        ),
        Case(
            f"{suggest.replace('designtarget.csv', 'designtarget0.csv')} --cost N",
            "not finite at data row 1 of designtarget0.csv (--target)",
        ),
        Case(
            "benchmark design designruns.csv designruns.csv --formula 'E + A/N**alpha + "
            "B/D**beta' --y loss --cost N --budgets 1e-12",
            "--budgets: 1e-12 of the total cost of designruns.csv is less than its cheapest run",
        ),
        Case("plan fit.json --compute 1e22 --flops-function .x:f", "not a valid expression"),
        Case("plan fit.json --compute 1e22 --flops-function ../evil:f", "not a valid expression"),
        Case("tradeoff tt_allone.csv --bootstrap 0", "every coverage is 1"),
        Case("tradeoff tt_over.csv --bootstrap 0", "is a share in [0, 1]; 2 row(s)"),
        Case("tradeoff tt_over.csv --bootstrap 0 --save-fit adir", "--save-fit adir is a dir"),
        Case("study run deep.toml --storage sqlite:///deep.db", "nested too deeply"),
        Case("study run poolstr.toml --storage sqlite:///p.db", "bad [task.options]"),
        Case(
            "benchmark design designruns.csv designtarget.csv --formula 'E + A/N**alpha' "
            "--y loss --cost N --repeats 100000000",
            "less than or equal to 1000",
        ),
        Case("fit fifo.csv --x x --y y", "fifo.csv is not a regular file"),
        Case("predict fit.json --table curve.csv --out curve.csv", "is the input file curve.csv"),
        Case("fit curve.csv --x x --y y --fix c=0.1 --fix c=0.2", "--fix gives c twice"),
        Case("fit curve.csv --y y --formula 'a*x**-b' --bounds b=0:1,b=2:3", "gives b twice"),
        Case(
            "benchmark design designruns.csv designruns.csv --formula 'E + A/N**alpha + "
            "B/D**beta + C*N + F*D + G*N*D + H/N' --y loss --cost N",
            "has 9 runs for a law with 9 free parameters",
        ),
        # a terminal escape and a right-to-left override in a column name are shown escaped
        Case("fit ctrl.csv --x nope --y y", "its columns are: x\\u202e, y\\x1b[31m"),
        Case("predict fifo.json --at x=1", "fifo.json is not a regular file"),
    ]


def _target_sweep_cases() -> list[Case]:
    """Found by a sweep of `report --target`, plans from hand-edited isoflop files and adaptive
    study files (2026-12-06): each was a traceback or an absurd answer before."""
    adaptive = "study run {} --storage sqlite:///ad.db"
    return [
        Case("study fit tiny-report --storage {S} --target 5e-324", "at least 1 example"),
        Case("study fit tiny-report --storage {S} --target 0.5", "at least 1 example"),
        Case("report tiny-report --storage {S} --target 5e-324 --out rep", "at least 1 example"),
        Case("plan isohuge.json --compute 1e22", "inf parameters and"),
        Case("plan isohuge.json --model-sizes 4e8", "4e+08 parameters gives 1 FLOPs"),
        Case(adaptive.format("adinf.toml"), "search.target.compute: Input should be a finite"),
        Case(adaptive.format("adsize.toml"), "model_size 1000 is not in model_sizes [8, 16]"),
    ]


def _overflow_cases() -> list[Case]:
    """Finite input that overflows: a hand-edited fit file whose prediction is inf once printed
    as ∞ with exit 0, and a loss of 1e308 once read as a budget without a minimum."""
    pred = "the parameters in this fit file are probably wrong: check them, or refit with"
    return [
        Case("predict hugefit.json --at 'x=1;10'", f"overflows at x=10 (point 2 of --at); {pred}"),
        Case(
            "predict hugefit.json --at x=10",
            "hugefit.json: the law's prediction overflows at x=10;",
        ),
        Case(
            "predict hugefit.json --table curve.csv --out pred.csv",
            "hugefit.json: the law's prediction overflows at data row 1 of curve.csv and 11 more;",
        ),
        # the file's own data row, also when --where leaves rows out
        Case(
            "predict hugefit.json --table curve.csv --where 'x > 1e5'",
            "overflows at data row 10 of curve.csv and 2 more",
        ),
        Case(
            "predict hugejoint.json --at x=1e5", "the law's prediction of z overflows at x=100000"
        ),
        Case("predict hugejoint.json --table outputs.csv", "prediction of z overflows at data row"),
        Case(
            "isoflop isohugeloss.csv",
            "loss is out of range: run 6 has 1e+308, too large to fit a parabola to its budget "
            "(6e+18 FLOPs: the fit overflows)",
        ),
        # was: "needs a minimum at 2 or more budgets; ... (1 with no minimum (parabola opens
        # downward))"
        Case("isoflop isohugeloss2.csv --bootstrap 0", "loss is out of range: run 6 has 1e+308"),
    ]


def _fuzz_cases() -> list[Case]:
    """Found by fuzzing: compressed files that are not what their suffix says (once a
    BadZipFile, LZMAError or tarfile traceback, or a truncated .gz shown as exit 130), a path
    too long for the system (once OSError [Errno 36]), an output that is an input (once
    silently overwritten) and a fit file naming one column twice."""
    xy = "--x x --y y"
    long = "a" * 5000
    return [
        Case(f"fit notzip.csv.zip {xy}", "cannot read notzip.csv.zip as a compressed CSV"),
        Case(f"fit notxz.csv.xz {xy}", "cannot read notxz.csv.xz as a compressed CSV"),
        Case(f"fit nottar.csv.tar {xy}", "cannot read nottar.csv.tar as a compressed CSV"),
        Case(f"fit cut.csv.gz {xy}", "cannot read cut.csv.gz as a compressed CSV"),
        Case(f"fit {long}.csv {xy}", "…: file name too long"),
        Case(f"predict {long}.json --at x=1", "…: file name too long"),
        Case(f"fit curve.csv {xy} --json {long}.json", "--json aaaa"),
        Case(f"fit curve.csv {xy} --json {long}/x.json", "file name too long"),
        Case(f"fit curve.csv {xy} --json ./curve.csv", "is the input file curve.csv"),
        Case("predict fit.json --at x=1 --json fit.json", "is the input file fit.json"),
        Case("predict fit.json --table curve.csv --json curve.csv", "is the input file curve.csv"),
        Case("predict dupx.json --at p=1", "names a column more than once"),
        Case("plan chin.json --compute 1e22 --json chin.json", "is the input file chin.json"),
        Case(
            "suggest --formula 'E + A/N**alpha + B/D**beta' --runs designruns.csv --y loss "
            "--target designtarget.csv --candidates designpool.csv --cost 6*N*D "
            "--out designpool.csv",
            "--out designpool.csv is the input file designpool.csv",
        ),
        Case("tradeoff tt_over.csv --save-fit tt_over.csv", "--save-fit tt_over.csv is the input"),
    ]


CASES = [
    *_fuzz_cases(),
    *_overflow_cases(),
    *_sweep_cases(),
    *_target_sweep_cases(),
    *_fit_file_cases(),
    *_table_cases(),
    *_where_cases(),
    *_flag_cases(),
    *_study_cases(),
    *_output_path_cases(),
    *_results_table_cases(),
    *_formula_cases(),
]


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(reason=case.xfail, strict=False)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def _write_files(d: Path) -> None:
    """The directory every case runs in: good files to aim flags at, and broken ones."""
    m = np.geomspace(1e2, 1e6, 12)
    pd.DataFrame({"x": m, "y": 4 * m**-0.35 + 0.05}).to_csv(d / "curve.csv", index=False)
    gap = np.where(np.arange(m.size) == 3, np.nan, 1.0)
    label = np.where(np.arange(m.size) == 5, "s", "r")  # group s: one run
    outputs = {"x": m, "y": 4 * m**-0.35, "z": 2 * m**-0.35, "gap": gap, "label": label}
    pd.DataFrame(outputs).to_csv(d / "outputs.csv", index=False)
    pd.DataFrame({"x": [5.0] * 8, "y": np.linspace(1, 2, 8)}).to_csv(d / "samex.csv", index=False)
    big = np.geomspace(1e2, 1e6, 400)  # --law auto takes half a minute on it
    noise = np.exp(0.01 * np.random.default_rng(0).standard_normal(big.size))
    pd.DataFrame({"x": big, "y": (4 * big**-0.35 + 0.05) * noise}).to_csv(
        d / "big.csv", index=False
    )
    n, t = np.repeat([1e7, 3e7, 1e8, 3e8], 5), np.tile(np.geomspace(1e8, 1e10, 5), 4)
    loss = 1.8 + 400 / n**0.34 + 2000 / t**0.37
    pd.DataFrame({"params": n, "tokens": t, "loss": loss}).to_csv(d / "runs.csv", index=False)
    pd.DataFrame({"params": n, "loss": loss}).to_csv(d / "[bold]runs.csv", index=False)
    rows = []  # IsoFLOP runs: 9 budgets x 11 model sizes around the optimum
    for c in np.geomspace(6e18, 3e21, 9):
        n_opt = 0.6 * (c / 6) ** 0.5
        for k, size in enumerate(n_opt * np.geomspace(0.15, 6, 11)):
            tok = c / (6 * size)
            rows.append((size, tok, c, 1.69 + 406 * size**-0.34 + 411 * tok**-0.28, k))
    iso = pd.DataFrame(rows, columns=["params", "tokens", "flops", "loss", "run"])
    iso.to_csv(d / "iso.csv", index=False)
    huge = iso.assign(loss=np.where(iso.index == 5, 1e308, iso["loss"]))
    huge.to_csv(d / "isohugeloss.csv", index=False)  # data row 6: the first budget's valley
    huge.iloc[:22].to_csv(d / "isohugeloss2.csv", index=False)  # two budgets
    pd.DataFrame({"x": m, "g": "v", "y": 1.0}).to_csv(d / "groups.csv", index=False)
    flags = pd.DataFrame({"x": m, "flag": np.arange(len(m)) % 2 == 0, "y": 4 * m**-0.35})
    flags.to_csv(d / "flags.csv", index=False)
    texts = {
        "dup.csv": "x,y,x\n" + "".join(f"{v},{2 * v**-0.3},{v}\n" for v in m),
        "empty.csv": "",
        "header.csv": "x,y\n",
        "nan.csv": "x,y\n1,2\n2,nan\n3,1\n4,0.9\n",
        "inf.csv": "x,y\n1,2\n2,inf\n3,1\n4,0.9\n",
        "str.csv": "x,y\n1,2\nabc,1.5\n3,1\n4,0.9\n",
        "neg.csv": "x,y\n1,2\n-2,1.5\n3,1\n4,0.9\n",
        "zeroy.csv": "x,y\n1,2\n2,0\n3,1\n4,0.9\n",
        "few.csv": "x,y\n1,2\n2,1.5\n",
        "disguised.csv": '{"law": "power", "params": {"a": 1, "b": -1}}',
        "bad.parquet": "not parquet",
        "text.txt": "hello\n",
        "badjson.json": "{not json",
        "empty.json": "",
        "list.json": "[1, 2, 3]",
        "nanparam.json": '{"law": "power_const", "params": {"a": NaN, "b": -0.3, "c": 0.1}}',
        "badtoml.toml": 'name = "t"\n[task\n',
        "notask.toml": 'name = "t"\n',
    }
    for name, text in texts.items():
        (d / name).write_text(text)
    for name in ("notzip.csv.zip", "notxz.csv.xz", "nottar.csv.tar"):
        (d / name).write_text("x,y\n1,2\n")  # plain text behind a compression suffix
    whole = gzip.compress((d / "curve.csv").read_bytes())
    (d / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])  # a download cut short
    chinchilla = {"A": 1, "B": 1, "E": 1, "alpha": 0.3, "beta": 0.3}
    dupx = {"law": "chinchilla", "x": ["p", "p"], "params": chinchilla}
    (d / "dupx.json").write_text(json.dumps(dupx))
    (d / "bin.csv").write_bytes(bytes(range(256)) * 4)
    (d / "binary.toml").write_bytes(b"\xff\xfe\x00name")
    good = {"a": 4.0, "b": -0.35, "c": 0.05}
    fits = {
        "fit.json": {"law": "power_const", "x": ["x"], "y": "y", "params": good},
        "chin.json": {
            "law": "chinchilla",
            "x": ["params", "tokens"],
            "params": {"E": 1.8, "A": 400, "B": 2000, "alpha": 0.34, "beta": 0.37},
        },
        "unknownlaw.json": {"law": "nope", "params": {"a": 1}},
        "lawlist.json": {"law": ["a"], "params": {}},
        "nolaw.json": {"params": good},
        "noparams.json": {"law": "power_const"},
        "missingparam.json": {"law": "power_const", "params": {"a": 1}},
        "extraparam.json": {"law": "power_const", "params": {**good, "zz": 1}},
        "strparam.json": {"law": "power_const", "params": {**good, "a": "x"}},
        "paramslist.json": {"law": "power_const", "params": [1, 2, 3]},
        "badopts.json": {"law": "power_const", "params": good, "options": {"bogus": 1}},
        "xmismatch.json": {"law": "power_const", "params": good, "x": ["x", "z"]},
        "badboot.json": {"law": "power_const", "params": good, "bootstrap_params": "zz"},
        "bootshape.json": {"law": "power_const", "params": good, "bootstrap_params": [[1, 2]]},
        "badcov.json": {"law": "power_const", "params": good, "covariance": [[1, 2], [3]]},
        "badci.json": {"law": "power_const", "params": good, "ci": {"a": 5}},
        "badse.json": {"law": "power_const", "params": good, "stderr": {"a": "q"}},
        "badnpoints.json": {"law": "power_const", "params": good, "n_points": "many"},
        "badwiden.json": {"law": "power_const", "params": good, "interval_widening": {"x": 1}},
        "badspread.json": {
            "law": "power_const",
            "params": good,
            "calibration": {"noise": 0.01, "scores": [[1]], "x_max": 10, "spread_laws": "m1"},
        },
        "spreadcode.json": {
            "law": "power_const",
            "params": good,
            "calibration": {
                "noise": 0.01,
                "scores": [[1]],
                "x_max": 10,
                "spread": 1,
                "spread_laws": [{"law": "m1", "params": {"beta": "__import__('os')", "c": -1}}],
            },
        },
        "badpower.json": {
            "law": "power_const",
            "params": good,
            "calibration": {"noise": 0.01, "scores": [[1]], "x_max": 10, "spread_power": -1},
        },
        "strpower.json": {
            "law": "power_const",
            "params": good,
            "calibration": {"noise": 0.01, "scores": [[1]], "x_max": 10, "spread_power": "os"},
        },
        "badiso.json": {"n_line": {}, "d_line": {}},
        "groupfit.json": {
            "law": "formula",
            "x": ["x", "g"],
            "options": {
                "formula": "a*x**-b",
                "variables": ["x"],
                "groups": ["u"],
                "group_column": "g",
            },
            "params": {"a[u]": 1.0, "b[u]": 0.5},
        },
        "hostileformula.json": {
            "law": "formula",
            "options": {"formula": "__import__('os').system('touch pwned')", "variables": ["x"]},
            "params": {"a": 1.0},
        },
        "noformula.json": {"law": "formula", "params": {"a": 1.0}},
        "jointfit.json": {
            "law": "joint_formula",
            "x": ["x", "output"],
            "y": ["y", "z"],
            "options": {
                "formulas": ["a*x**-b", "c*x**-b"],
                "outputs": ["y", "z"],
                "variables": ["x"],
            },
            "params": {"a": 4.0, "b": 0.35, "c": 2.0},
        },
        "groupjoint.json": {
            "law": "joint_formula",
            "x": ["x", "g", "output"],
            "y": ["y", "z"],
            "options": {
                "formulas": ["a*x**-b", "c*x**-b"],
                "outputs": ["y", "z"],
                "variables": ["x"],
                "groups": ["u"],
                "shared": ["b"],
                "group_column": "g",
            },
            "params": {"a[u]": 4.0, "b": 0.35, "c[u]": 2.0},
        },
        "badjoint.json": {
            "law": "joint_formula",
            "options": {"formulas": ["a*x**-b"], "outputs": ["y", "z"], "variables": ["x"]},
            "params": {"a": 4.0, "b": 0.35},
        },
        # finite, in the law's bounds, and inf from x = 10 on (1e300 · 10^20)
        "hugefit.json": {
            "law": "power_const",
            "x": ["x"],
            "y": "y",
            "params": {"a": 1e300, "b": 20, "c": 0.05},
        },
        "hugejoint.json": {
            "law": "joint_formula",
            "x": ["x", "output"],
            "y": ["y", "z"],
            "options": {
                "formulas": ["a*x**-b", "c*x**b"],
                "outputs": ["y", "z"],
                "variables": ["x"],
            },
            "params": {"a": 4.0, "b": 3.0, "c": 1e300},
        },
        "iso.json": {
            "n_line": {"exponent": 0.5, "coef": 0.1},
            "d_line": {"exponent": 0.5, "coef": 1.6},
        },
        "isohuge.json": {  # a hand-edited exponent: N_opt = inf, and one FLOP for any size
            "n_line": {"exponent": 1e308, "coef": 1e308},
            "d_line": {"exponent": 0.5, "coef": 1.6},
        },
    }
    for name, doc in fits.items():
        (d / name).write_text(json.dumps(doc))
    (d / "adir").mkdir()
    negative = '{"law": "power_const", "params": {"a": -3e6, "b": 0.3, "c": 0.1}}'
    (d / "negscale.json").write_text(negative)
    flag = '{"law": "power_const", "params": {"a": true, "b": -0.3, "c": 0.1}}'
    (d / "boolscale.json").write_text(flag)  # true once read as a = 1
    (d / "optslist.json").write_text('{"law": "power_const", "options": [1], "params": {}}')
    (d / "deepfit.json").write_text("[" * 100_000)
    params = '{"a": 1' + "0" * 5000 + ', "b": 0.3, "c": 0.1}'
    (d / "bigint.json").write_text('{"law": "power_const", "params": ' + params + "}")
    pd.DataFrame({"x\u202e": [1.0, 2.0], "y\x1b[31m": [1.0, 2.0]}).to_csv(
        d / "ctrl.csv", index=False
    )
    os.mkfifo(d / "fifo.csv")  # no writer ever comes: reading it would wait for ever
    os.mkfifo(d / "fifo.json")
    n, tokens = np.meshgrid([1e8, 3e8, 1e9], [2e9, 6e9, 2e10])
    runs = pd.DataFrame({"N": n.ravel(), "D": tokens.ravel()})
    runs["loss"] = 1.8 + 400 / runs["N"] ** 0.34 + 2000 / runs["D"] ** 0.37
    runs.to_csv(d / "designruns.csv", index=False)
    runs.assign(N=runs["N"] * 2).to_csv(d / "designpool.csv", index=False)
    runs.assign(N=runs["N"] * 100).drop(columns="loss").to_csv(d / "designtarget.csv", index=False)
    runs.assign(loss=np.where(runs.index == 3, -1.0, runs["loss"])).to_csv(
        d / "designneg.csv", index=False
    )  # a loss < 0 in data row 4
    runs.assign(N=np.where(runs.index == 0, 0.0, runs["N"] * 100)).drop(columns="loss").to_csv(
        d / "designtarget0.csv", index=False
    )  # N = 0 in data row 1: the law is infinite there
    train, test = np.meshgrid([1e9, 1e10, 1e11], [1e3, 1e4])
    tradeoff = pd.DataFrame({"train_compute": train.ravel(), "test_compute": test.ravel()})
    tradeoff.assign(coverage=1.0).to_csv(d / "tt_allone.csv", index=False)
    tradeoff.assign(coverage=np.linspace(0.2, 1.5, 6)).to_csv(d / "tt_over.csv", index=False)
    _write_study_files(d)
    _write_results_tables(d)
    _write_bench_files(d)


def _write_results_tables(d: Path) -> None:
    """`study export` best-per-shard tables of 4 shards, each broken one way; and an output
    directory named like a table, and one where `--out table.csv` puts its per-shard table."""
    m = np.array([64, 128, 256, 512])
    good = pd.DataFrame(
        {"study": "sr", "task": "synthetic", "seed": 0, "shard_size": m, "state": "COMPLETE",
         "model_size": 8, "n_params": 244, "best_val_loss": 2 * m**-0.3 + 0.5,
         "best_val_error": m**-0.3 + 0.1, "is_best": True}
    )  # fmt: skip
    text = good.astype({"shard_size": object, "n_params": object})
    text.loc[1, "shard_size"] = "abc"
    text.to_csv(d / "sr_text.csv", index=False)
    good.assign(shard_size=-5).to_csv(d / "sr_neg.csv", index=False)
    good.assign(best_val_loss=-1.0).to_csv(d / "sr_negloss.csv", index=False)
    good.iloc[:2].to_csv(d / "sr_two.csv", index=False)
    empty = good.copy()
    empty.loc[2, "best_val_loss"] = np.nan
    empty.to_csv(d / "sr_emptyloss.csv", index=False)
    params = good.astype({"n_params": object})
    params.loc[3, "n_params"] = "many"
    params.to_csv(d / "sr_params.csv", index=False)
    # 1e400 in the file: read as inf
    (d / "sr_huge.csv").write_text(
        good.to_csv(index=False).replace(",64,", ",1e400,").replace(",128,", ",1e400,")
    )
    (d / "dir.csv").mkdir()
    (d / "table.best.csv").mkdir()


def _write_bench_files(d: Path) -> None:
    """Benchmark tables of two evaluations (8 training points, 4 held out) broken one way each,
    and a learning curve with an x of 0 long enough for auto to backtest."""
    good = bench_table(n_train=8, n_test=4)
    good.iloc[[0, 8]].to_csv(d / "bench_onetrain.csv", index=False)  # one point to fit
    good.assign(**{"Seen Examples": 1e3}).to_csv(d / "bench_constx.csv", index=False)
    good.assign(Training=1).to_csv(d / "bench_notest.csv", index=False)
    infx = good.copy()
    infx.loc[3, "Seen Examples"] = np.inf
    infx.to_csv(d / "bench_infx.csv", index=False)
    m = np.array([0.0, 256, 512, 1024, 2048, 4096])
    pd.DataFrame({"x": m, "y": [0.5, 0.4, 0.3, 0.25, 0.2, 0.18]}).to_csv(
        d / "zerox.csv", index=False
    )


def _write_study_files(d: Path) -> None:
    ex = (
        'name = "ex"\n[task]\nname = "synthetic"\noptions = { pool_size = 2048 }\n'
        "[shards]\nsmallest = 256\nlargest = 1024\nfactor = 2\n"
        '[search]\nmodel_sizes = [8, 16]\ntrials_per_shard = 2\nsampler = "random"\n'
        'pruner = "none"\nhparams.lr = { low = 1e-3, high = 3e-2, log = true }\n'
        "[train]\nseeds = [0]\nmax_epochs = 4\n[budget]\nflops_per_trial = 1e12\n"
    )
    (d / "ex.toml").write_text(ex)
    variants = {
        "badtask.toml": ('name = "synthetic"', 'name = "nope"'),
        "negshard.toml": ("smallest = 256", "smallest = -5"),
        "factor1.toml": ("factor = 2", "factor = 1"),
        "markupname.toml": ('name = "ex"', 'name = "[bold]x[/]"'),
        "strtrials.toml": ("trials_per_shard = 2", 'trials_per_shard = "many"'),
        "noseeds.toml": ("seeds = [0]", "seeds = []"),
        "badsampler.toml": ('sampler = "random"', 'sampler = "nope"'),
        "nosizes.toml": ("model_sizes = [8, 16]", "model_sizes = []"),
        "badlr.toml": ("low = 1e-3", "low = -1"),
        "unknownkey.toml": ("[budget]", "[budget]\nbogus = 1"),
        "cuda99.toml": ("[budget]", '[resources]\ndevice = "cuda:99"\n[budget]'),
        "cuda.toml": ("[budget]", '[resources]\ndevice = "cuda"\n[budget]'),
        "gpu.toml": ("[budget]", '[resources]\ndevice = "gpu"\n[budget]'),
        "fp16cpu.toml": ("[budget]", '[resources]\ndevice = "cpu"\nprecision = "fp16"\n[budget]'),
        "fp8.toml": ("[budget]", '[resources]\nprecision = "fp8"\n[budget]'),
    }
    for name, (old, new) in variants.items():
        assert old in ex, name
        (d / name).write_text(ex.replace(old, new))
    adaptive = 'design = "adaptive"\ntarget_rel_width = 0.1\ntarget = { examples = 1024, '
    (d / "adinf.toml").write_text(ex.replace("[train]", adaptive + "compute = inf }\n[train]"))
    (d / "adsize.toml").write_text(ex.replace("[train]", adaptive + "model_size = 1000 }\n[train]"))
    (d / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    (d / "poolstr.toml").write_text(
        ex.replace("pool_size = 2048", "pool_size = \"__import__('os')\"")
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    _write_files(d)
    return d


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> TinyStudy:
    """The report tests' tiny finished study (one per session, shared across xdist workers)."""
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent
    with FileLock(str(root / "tiny-study.lock")):
        return make_tiny_study(root / "tiny-study")


def _snapshot(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_mtime_ns for p in d.rglob("*")}


def _one_line_error(code: int, err: str, needle: str) -> None:
    assert "Traceback" not in err, err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and needle in lines[0], err


def test_at_least_120_cases() -> None:
    assert len(CASES) >= 120
    assert len({c.args for c in CASES}) == len(CASES)  # ids are unique


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: Case,
    files: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = shlex.split(case.args)
    if "{S}" in case.args:
        storage = request.getfixturevalue("tiny").storage
        argv = [a.replace("{S}", storage) for a in argv]
    monkeypatch.chdir(files)
    monkeypatch.setenv("SCALINGLAB_CACHE", str(files / "cache"))  # never the user's cache
    before = _snapshot(files)
    code = run_app(argv)
    _, err = capsys.readouterr()
    _one_line_error(code, err, case.needle)
    assert not (files / "pwned").exists()
    assert _snapshot(files) == before, "a failed command wrote or changed files"


# The real entry point, in a fresh interpreter: the same errors on the same single line.
ENTRY_POINT_CASES = [
    Case("fit curve.csv --nope", "No such option: --nope"),
    Case("fit '[/x].csv'", "no such file: [/x].csv"),
    Case("plan fit.json --compute abc", "Invalid value for '--compute'"),
    Case("study run ex.toml --workers 0", "Invalid value for '--workers'"),
    Case("study run cuda99.toml", 'resources: device "cuda:99"'),
    Case(
        "fit curve.csv --x x --y y --where \"x > 1 and @pd.io.common.os.system('touch pwned')\"",
        "'@'",
    ),
    Case("laws", "SCALINGLAB_THREADS must be", env=(("SCALINGLAB_THREADS", "abc"),)),
    Case("laws", "SCALINGLAB_THREADS must be", env=(("SCALINGLAB_THREADS", "0"),)),
    Case("data prepare image", "curve.csv is a file", env=(("SCALINGLAB_CACHE", "curve.csv"),)),
]


@pytest.mark.parametrize("case", ENTRY_POINT_CASES, ids=[c.id for c in ENTRY_POINT_CASES])
def test_the_entry_point_gives_the_same_one_line(case: Case, files: Path) -> None:
    before = _snapshot(files)
    proc = subprocess.run(
        [*SCALINGLAB, *shlex.split(case.args)],
        cwd=files,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **dict(case.env)},
    )
    _one_line_error(proc.returncode, proc.stderr, case.needle)
    assert _snapshot(files) == before and not (files / "pwned").exists()


def test_help_and_no_arguments_exit_0(files: Path) -> None:
    for args in ([], ["--help"], ["study"], ["fit", "--help"]):
        proc = subprocess.run(
            [*SCALINGLAB, *args], cwd=files, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0 and "Usage" in proc.stdout, (args, proc.stderr)
        assert proc.stderr == "", (args, proc.stderr)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, -15)])
def test_a_signal_mid_fit_leaves_no_traceback_and_no_json(
    files: Path, tmp_path: Path, sig: int, code: int
) -> None:
    """Ctrl-C: exit 130 and 'interrupted'; SIGTERM: killed as usual. No traceback, no --json."""
    out = tmp_path / "fit.json"
    argv = ["fit", "big.csv", "--x", "x", "--y", "y", "--law", "auto", "--json", str(out)]
    proc = subprocess.Popen(
        [*SCALINGLAB, *argv],
        cwd=files,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_in_a_terminal,
    )
    time.sleep(5)  # past the imports, inside the fit (auto's backtests take half a minute)
    assert proc.poll() is None, "the fit ended before the signal"
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err and not out.exists()
    if sig == signal.SIGINT:
        assert err.strip() == "interrupted"

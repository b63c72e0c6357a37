"""Tasks a study can train, by built-in name or by import path.

A study config names its task (`[task] name = "image"`) or points at a user's own one
(`name = "mypackage.mytasks:MyTask"`, or `"mypackage.mytasks.MyTask"`); either resolves to a class
that has the Task protocol's methods (scalinglab.tasks.base), checked before it is called with the
config's `[task.options]`. A study file is data, not a program: an import path into Python's
standard library is refused unimported, and nothing but a task class is ever called (a path to
os:system or subprocess:Popen would otherwise run a command). Built-in modules are imported
lazily, so naming the fast `synthetic` task never loads the data code of the real ones.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from scalinglab.errors import ScalingLabError
from scalinglab.tasks.base import (
    CURVE_Y_COLUMNS,
    DEFAULT_CURVE_Y,
    ERROR_RATE_METRICS,
    ReportFn,
    Task,
    TrainConfig,
    TrainResult,
    nested_shard,
)

# What a task class must define before it is built (its `name` may be set in __init__)
TASK_METHODS = ("train_pool_size", "n_params", "flops_per_example", "train")
# Built-in name -> "module:attribute" (one readable file per domain, Hestness 2017 Sec. 4).
BUILTIN_TASKS: dict[str, str] = {
    "synthetic": "scalinglab.tasks.synthetic:SyntheticTask",
    "image": "scalinglab.tasks.image:ImageTask",
    "lm": "scalinglab.tasks.lm:LMTask",
    "translation": "scalinglab.tasks.translation:TranslationTask",
    "speech": "scalinglab.tasks.speech:SpeechTask",
    "test_time": "scalinglab.tasks.test_time:AdditionSamplingTask",
}


def _resolve(spec: str) -> Any:
    """Import "pkg.mod:attr" or "pkg.mod.attr" and return the attribute."""
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
    else:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise ScalingLabError(
            f"unknown task {spec!r}; built-in tasks: {', '.join(BUILTIN_TASKS)}, "
            "or give an import path like 'mypackage.tasks:MyTask'"
        )
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names:  # importing some of them acts (`this`, `antigravity`)
        raise ScalingLabError(
            f"task {spec!r}: {top!r} is a module of Python's standard library, not a task; give "
            "a built-in task or an import path to your own, like 'mypackage.tasks:MyTask'"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ScalingLabError(
            f"task {spec!r}: cannot import module {module_name!r} ({exc.msg})"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ScalingLabError(f"task {spec!r}: module {module_name!r} has no {attr!r}") from None


def task_factory(name: str) -> Any:
    """The class or factory a built-in name or import path names, imported but not called (so no
    data is loaded): what `get_task` builds a task with, and where its class attributes live."""
    if not isinstance(name, str) or not name.strip():
        raise ScalingLabError('task name is empty; use e.g. name = "synthetic"')
    name = name.strip()
    spec = BUILTIN_TASKS.get(name)
    if spec is None and ":" not in name and "." not in name:
        raise ScalingLabError(
            f"unknown task {name!r}; built-in tasks: {', '.join(BUILTIN_TASKS)}, "
            "or give an import path like 'mypackage.tasks:MyTask'"
        )
    return _resolve(spec or name)


def task_curve_y(name: str) -> str:
    """The column task `name`'s learning curve is read in (its `curve_y`, see Task), without
    building the task; DEFAULT_CURVE_Y when the task names none or cannot be imported here (a
    table exported elsewhere)."""
    try:
        return str(getattr(task_factory(name), "curve_y", DEFAULT_CURVE_Y))
    except ScalingLabError:
        return DEFAULT_CURVE_Y


def get_task(name: str, **options: Any) -> Task:
    """Build a task from a built-in name or an import path, passing `options` to its constructor."""
    factory = task_factory(name)
    name = name.strip()
    # Checked on the class, before anything is called with the study file's options.
    unmet = [m for m in TASK_METHODS if not callable(getattr(factory, m, None))]
    if not isinstance(factory, type) or unmet:
        what = f"missing {', '.join(unmet)}" if unmet else "it is not a class"
        raise ScalingLabError(
            f"task {name!r} does not follow the Task protocol: {what} (scalinglab.tasks.base)"
        )
    try:
        task = factory(**options)
    except ScalingLabError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. pool_size = "abc"
        raise ScalingLabError(f"task {name!r}: bad [task.options]: {exc}") from None
    if not hasattr(task, "name"):
        raise ScalingLabError(f"task {name!r} does not follow the Task protocol: missing name")
    return task


__all__ = [
    "BUILTIN_TASKS",
    "CURVE_Y_COLUMNS",
    "DEFAULT_CURVE_Y",
    "ERROR_RATE_METRICS",
    "ReportFn",
    "Task",
    "TrainConfig",
    "TrainResult",
    "get_task",
    "nested_shard",
    "task_curve_y",
    "task_factory",
]

"""Where a trial trains and in which precision: `[resources] device` and `precision`.

    device = "auto" | "cpu" | "cuda" | "cuda:N" | "mps"     (auto: CUDA, then MPS, then CPU)
    precision = "fp32" | "bf16" | "fp16"                     (bf16/fp16: torch.autocast)

`resolve_device` turns a name into the device a trial runs on, and fails with one clear line
when the machine has no such device; `check_precision` says whether the device can autocast to
that precision (bf16: CPU, CUDA with bf16 support, MPS; fp16: CUDA only, with loss scaling).
`Placement` is what a task's training loop uses: the torch device, the autocast context, the
fp16 gradient scaler and the host-to-device copies (pinned memory on CUDA).

torch is imported inside the functions: the study file is validated (and the command line
answers --help) without loading it.
"""

from __future__ import annotations

import contextlib
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scalinglab.errors import ScalingLabError

if TYPE_CHECKING:
    import torch

DEVICE_NAMES = ("auto", "cpu", "cuda", "cuda:N", "mps")
PRECISIONS = ("fp32", "bf16", "fp16")
_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")
_NO_AUTOCAST: AbstractContextManager[None] = contextlib.nullcontext()  # fp32: nothing to enter


def check_device_name(name: str) -> str:
    """`name` when it is a device a study file may ask for, else a ScalingLabError."""
    if not isinstance(name, str) or not _DEVICE.match(name.strip()):
        raise ScalingLabError(
            f"device {name!r} is not one of {', '.join(repr(d) for d in DEVICE_NAMES)}"
        )
    return name.strip()


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> str:
    """The device a trial asked for as `name` runs on: "cpu", "cuda:N" or "mps".

    "auto" picks the first CUDA GPU this process sees, else Apple's MPS, else the CPU. A device
    the machine does not have is a ScalingLabError, one line saying what torch sees.
    """
    name = check_device_name(name)
    if name == "auto":
        if cuda_available():
            return "cuda:0"
        return "mps" if mps_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "mps":
        if not mps_available():
            raise ScalingLabError(
                'device "mps" needs an Apple GPU, but torch sees none '
                '(torch.backends.mps.is_available() is False); use device = "auto" or "cpu"'
            )
        return "mps"
    import torch

    index = int(name.partition(":")[2] or 0)
    if not torch.cuda.is_available():
        raise ScalingLabError(
            f'device "{name}" needs a CUDA GPU, but torch sees none (torch.cuda.is_available() '
            'is False: no GPU, no driver, or a CPU-only torch build); use device = "auto" or "cpu"'
        )
    count = torch.cuda.device_count()
    if index >= count:
        raise ScalingLabError(
            f'device "{name}" does not exist: torch sees {count} CUDA GPU(s) (cuda:0 .. '
            f"cuda:{count - 1}; CUDA_VISIBLE_DEVICES limits them)"
        )
    return f"cuda:{index}"


def check_precision(device: str, precision: str) -> None:
    """Fail (one line) unless a trial on `device` (resolved, or as written) can train in
    `precision`: fp16 autocast needs CUDA; bf16 needs a GPU that has it (CPU and MPS do)."""
    if precision not in PRECISIONS:
        raise ScalingLabError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    kind = device.partition(":")[0]
    if precision == "fp16" and kind in ("cpu", "mps"):
        raise ScalingLabError(
            f'precision "fp16" (float16 autocast with loss scaling) needs a CUDA device, not '
            f'"{device}"; use precision = "bf16" (autocast on CPU) or "fp32"'
        )
    if precision == "bf16" and kind == "cuda" and cuda_available():
        import torch

        if not torch.cuda.is_bf16_supported():
            raise ScalingLabError(
                f'precision "bf16" needs a GPU with bfloat16 (Ampere or newer); {device} has '
                'none: use precision = "fp16" or "fp32"'
            )


@dataclass(frozen=True)
class Placement:
    """A trial's device and precision, as its training loop uses them.

    On the CPU in fp32 every method is a no-op (the loop runs as it always did): `autocast()`
    is a shared null context, `put` returns the tensor itself and `sync` does nothing.
    """

    device: torch.device
    precision: str = "fp32"

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def name(self) -> str:
        """The device as results record it: "cpu", "cuda:0", "mps"."""
        return str(self.device)

    def autocast(self) -> AbstractContextManager[Any]:
        """Mixed precision for forward passes (and the loss): torch.autocast in bf16 or fp16."""
        if self.precision == "fp32":
            return _NO_AUTOCAST
        import torch

        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def grad_scaler(self) -> Any:
        """A torch.amp.GradScaler for fp16 (its small range underflows gradients), else None."""
        if self.precision != "fp16":
            return None
        import torch

        return torch.amp.GradScaler(self.device.type)

    def put(self, tensor: torch.Tensor) -> torch.Tensor:
        """`tensor` on the device. On CUDA a host tensor goes through pinned (page-locked)
        memory and is copied asynchronously, so the copy overlaps the GPU's work."""
        if tensor.device == self.device:
            return tensor
        if self.cuda and tensor.device.type == "cpu":
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device)

    def sync(self) -> None:
        """Wait for the device's queued work (CUDA runs asynchronously): call before reading a
        clock, so timings and throughput count the work, not just its launch."""
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)


def placement(device: str = "auto", precision: str = "fp32") -> Placement:
    """The Placement of a trial asked to run on `device` in `precision` (both checked)."""
    import torch

    resolved = resolve_device(device)
    check_precision(resolved, precision)
    return Placement(torch.device(resolved), precision)


__all__ = [
    "DEVICE_NAMES",
    "PRECISIONS",
    "Placement",
    "check_device_name",
    "check_precision",
    "cuda_available",
    "mps_available",
    "placement",
    "resolve_device",
]

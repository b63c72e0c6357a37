"""`torch_threads(n)`: run a block on n intra-op torch threads and give the caller's count back.

The batched fits are many small elementwise kernels: one thread avoids the thread hand-offs that
cost more than they save there (and collapse when another process is busy). Setting the count
without restoring it would change every later torch call of the user's program.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Inside the block torch uses `n` intra-op threads; after it, as many as before."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

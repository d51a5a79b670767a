"""What `dask.sizeof` reports for our handles: a partition the bytes it reads, a dataset
its file's size, not the ~100 bytes of the Python object. dask calls `register` through
the "dask.sizeof" entry point while it is being imported, so this module imports nothing
of dask (nor anything heavy)."""

from __future__ import annotations

from typing import Any


def register(sizeof: Any) -> None:
    """Registers our types with `sizeof` (dask's dispatch); harmless to call again."""
    from ._dataset import Dataset
    from ._partition import Partition

    sizeof.register(Partition)(lambda p: p.nbytes)
    sizeof.register(Dataset)(lambda d: d.identity.size)

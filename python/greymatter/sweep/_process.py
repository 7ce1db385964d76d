"""Process settings for sweep configurations: thread limits (torch's intra-op threads and the BLAS
library's own thread pool, through threadpoolctl) and glibc's malloc thresholds in Dask workers.

Debian's torch does its matrix products in OpenBLAS (pthread build), whose thread pool ignores
torch.set_num_threads and is shared by the whole process. Two configurations training at once in
threads then both drive that pool and thrash it (an MNISTNet sweep ran 6-8x slower than one at a
time, docs/sweep.md); and the pool's size changes the floating-point results. So a sweep runs every
configuration, wherever it runs, with one OpenBLAS thread and one torch thread: one configuration
per core, the same numbers local, in threads, in processes or on Dask. (Configurations are not run
side by side in threads of one process: model init, the Trainer's reseeding and dropout all use
torch's one global generator, so they would take each other's random draws.)

Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 so that they hand freed memory back to
the OS quickly. That fixed setting also switches off glibc's adaptive mmap threshold, so every
batch-sized tensor (a few hundred KB) is mmapped, page-faulted and unmapped again: an MNISTNet(300)
configuration trained 2.4x slower in such a process (13.6 s vs 5.7 s, docs/sweep.md). Training
reuses the same buffers every batch, so keep_freed_memory_for_training raises those thresholds
again, once per process, when that variable is set.

This file only sets and restores limits; it runs nothing.
"""
import contextlib
import ctypes
import os
import threading
from typing import Optional

import torch
from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded", "blas_threads", "keep_freed_memory_for_training"]

_LOCK = threading.Lock()
_users = 0
_blas_limit = None  # threadpoolctl's limiter while any configuration runs; restores on release
_controller: Optional[ThreadpoolController] = None


def _blas() -> ThreadpoolController:
    """The BLAS libraries this process has loaded (OpenBLAS through Debian's torch), found once."""
    global _controller
    if _controller is None:
        torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # loads BLAS so that it can be found
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


def blas_threads() -> Optional[int]:
    """The BLAS thread count now, or None when torch uses no BLAS library threadpoolctl knows."""
    pools = _blas().info()
    return pools[0]["num_threads"] if pools else None


@contextlib.contextmanager
def single_threaded():
    """One torch intra-op thread in the calling thread and one BLAS thread in the process while
    any configuration runs; BLAS's count is restored when the last one ends."""
    global _users, _blas_limit
    saved_torch = torch.get_num_threads()  # per thread with OpenMP: other threads keep theirs
    with _LOCK:
        if _users == 0:
            _blas_limit = _blas().limit(limits=1)
        _users += 1
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved_torch)
        with _LOCK:
            _users -= 1
            if _users == 0:
                _blas_limit.restore_original_limits()
                _blas_limit = None


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_malloc_done = False


def keep_freed_memory_for_training() -> bool:
    """Raises glibc's trim and mmap thresholds when MALLOC_TRIM_THRESHOLD_ pinned them; True if it
    did."""
    global _malloc_done
    if _malloc_done or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    _malloc_done = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20) and libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        )
    except (OSError, AttributeError):  # not glibc
        return False

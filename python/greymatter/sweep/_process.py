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

A worker process must also end with the sweep that started it: killed with SIGKILL, a sweep runs
no clean-up, and a worker busy training (a few hundred MB) would notice only when its configuration
ends. die_with_parent asks Linux to SIGKILL the worker when its parent goes.

This file only sets and restores limits; it runs nothing.
"""
import contextlib
import ctypes
import os
import signal
import threading
from typing import Optional

import torch
from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded", "blas_threads", "keep_freed_memory_for_training", "die_with_parent"]

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


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> bool:
    """Has Linux SIGKILL this process when its parent ends (prctl PR_SET_PDEATHSIG); exits at once
    if the parent `parent_pid` has already gone. False where prctl is not available (not Linux).

    Linux sends the signal when the parent *thread* that started this process ends: call it only
    in processes started by a thread that outlives them (the pool's owner)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent_pid:  # the parent died before prctl: no signal will come
        os._exit(1)
    return True

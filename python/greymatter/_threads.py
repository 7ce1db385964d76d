"""Thread settings: Debian's torch starts with one intra-op thread; greymatter uses every core it
may."""
import os

import torch


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_threads() -> None:
    """Give torch one intra-op thread per available core, unless the user chose
    (OMP_NUM_THREADS)."""
    if "OMP_NUM_THREADS" in os.environ:
        return
    if torch.get_num_threads() < available_cores():
        torch.set_num_threads(available_cores())

"""DataLoader with torch's name and arguments; the batching runs on C++ threads.

Iterating yields ``(images float32 [B, C, H, W], labels int64 [B])``. Every ``iter(loader)`` is a new
epoch with a new shuffle drawn from (seed, epoch): the same batches for any ``num_workers``.
"""
from typing import Optional

import torch

from . import _core
from ._core import ConfigError
from .datasets import Dataset

__all__ = ["DataLoader"]


class DataLoader:
    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, num_workers: int = 1,
                 seed: Optional[int] = None, drop_last: bool = False, cache=None, pin_memory: bool = False,
                 prefetch: int = 2) -> None:
        if not isinstance(dataset, Dataset):
            raise ConfigError(f"DataLoader needs a greymatter dataset, got {type(dataset).__name__}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if seed is None:  # follow torch.manual_seed, as torch's DataLoader does
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.num_workers = int(num_workers)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.cache = cache
        self.pin_memory = bool(pin_memory)
        self.prefetch = int(prefetch)
        indices = dataset.indices if dataset.indices is not None else list(range(len(dataset)))
        self._loader = _core.Loader(dataset.source, indices, batch_size=batch_size, shuffle=self.shuffle,
                                    drop_last=self.drop_last, seed=self.seed, num_workers=self.num_workers,
                                    prefetch=self.prefetch)
        self._epoch = 0

    def __len__(self) -> int:
        return len(self._loader)

    def __iter__(self):
        it = self._loader.epoch(self._epoch)
        self._epoch += 1
        return it

    def epoch(self, epoch: int):
        """Iterator over one given epoch (its shuffle and augmentations depend on the number only)."""
        return self._loader.epoch(epoch)

    @property
    def core(self) -> "_core.Loader":
        """The C++ loader, for the engine (no Python per batch)."""
        return self._loader

    def __repr__(self) -> str:
        return (f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, num_workers={self.num_workers}, "
                f"seed={self.seed}, drop_last={self.drop_last}, batches={len(self)})")

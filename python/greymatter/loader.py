"""DataLoader with torch's name and arguments; the batching runs on C++ threads.

Iterating yields ``(images float32 [B, C, H, W], labels int64 [B])``. Every ``iter(loader)`` is a
new epoch with a new shuffle drawn from (seed, epoch): the same batches for any ``num_workers``.

``cache``: keep each image's decoded, deterministic part of the transform chain (everything before
the first random transform, e.g. decode + Resize) in memory, so later epochs skip decoding. ``True``
caches or refuses with ``ConfigError`` when it would not fit in the available memory; ``None``
(default) caches when that takes at most a quarter of the available memory and 2 GiB; ``False``
never caches. The cache belongs to the dataset, so loaders over subsets of one ImageFolder share it.
``cache_info()`` reports it.

``pin_memory``: page-locked batch buffers for faster copies to a GPU; only with a CUDA build of
torch, otherwise accepted and ignored.

``sampler``: draw each epoch's samples by weight instead of visiting each once (imbalanced
classes): ``"balanced"`` (every class equally often: weight 1 / its class count), one weight per
sample (a list, tensor or array), or a ``torch.utils.data.WeightedRandomSampler`` (its weights,
num_samples and replacement). ``num_samples`` draws per epoch (default: the dataset's size),
``replacement=True`` by default (without it each sample comes at most once). The draws are made in
C++ from (seed, epoch), so they are the same for any ``num_workers``; a sample drawn twice in an
epoch gets two different augmentations. A sampler excludes ``shuffle=True``, as in torch. """
import warnings
from typing import Optional

import torch

from . import _core
from ._core import ConfigError
from .datasets import Dataset, labels_of

__all__ = ["DataLoader"]

_AUTO_CACHE_LIMIT = 2 << 30  # bytes
_AUTO_CACHE_FRACTION = 0.25  # of the available memory
_CACHE_FIT_FRACTION = 0.8  # cache=True refuses above this share of the available memory


class DataLoader:
    """torch's DataLoader for greymatter datasets: batches built by C++ threads.

    Args:
        dataset: a greymatter dataset (``ImageFolder``, ``MNIST``, a ``Subset``, ...).
        batch_size: samples per batch.
        shuffle: a new order every epoch, drawn from (seed, epoch).
        num_workers: threads building batches (the batches do not depend on it).
        seed: seeds the shuffle and the random transforms; None draws one from torch's generator,
            as torch's DataLoader does.
        drop_last: leave out a last batch smaller than ``batch_size``.
        cache: keep decoded images in memory: None decides by size, True insists, False never
            (see the module's docstring).
        pin_memory: page-locked batches for faster copies to a GPU (CUDA builds of torch only).
        prefetch: batches each worker builds ahead.
        sampler: draw each epoch's samples by weight instead of visiting each once:
            ``"balanced"`` (every class equally often), one weight per sample (a list, tensor or
            array), or a ``torch.utils.data.WeightedRandomSampler`` (its weights, num_samples and
            replacement); drawn in C++ from (seed, epoch). Excludes ``shuffle=True``.
        replacement: with a sampler: draw with replacement (a sample may come several times an
            epoch, each time with its own augmentation) or without (each at most once).
        num_samples: with a sampler: draws per epoch; None: the dataset's size.

    Raises:
        ConfigError: not a greymatter dataset, a bad ``batch_size`` or ``cache``, or
            ``cache=True`` when the images would not fit in memory; a bad sampler (weights of the
            wrong length, negative or all zero; with shuffle=True; num_samples without
            replacement beyond the samples with a weight).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        num_workers: int = 1,
        seed: Optional[int] = None,
        drop_last: bool = False,
        cache=None,
        pin_memory: bool = False,
        prefetch: int = 2,
        sampler=None,
        replacement: bool = True,
        num_samples: Optional[int] = None,
    ) -> None:
        if not isinstance(dataset, Dataset):
            raise ConfigError(
                f"DataLoader needs a greymatter dataset, got {type(dataset).__name__}"
            )
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if cache not in (None, True, False):
            raise ConfigError(f"cache must be True, False or None (automatic), got {cache!r}")
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
        self._indices = (
            dataset.indices if dataset.indices is not None else list(range(len(dataset)))
        )
        self.sampler = sampler
        self._sampler = _weighted_sampler(dataset, sampler, replacement, num_samples, self.shuffle)
        self._loader = _core.Loader(
            dataset.source,
            self._indices,
            batch_size=batch_size,
            shuffle=self.shuffle,
            drop_last=self.drop_last,
            seed=self.seed,
            num_workers=self.num_workers,
            prefetch=self.prefetch,
            pin_memory=self.pin_memory,
            sampler=self._sampler,
        )
        self._cache_estimate = 0
        self._cache_enabled = self._setup_cache(cache)
        self._epoch = 0

    def _setup_cache(self, cache) -> bool:
        source = self.dataset.source
        if cache is False or not hasattr(source, "estimate_cache"):
            return False  # in-memory sources (MNIST) have nothing to cache
        estimate, exact = source.estimate_cache(self._indices)
        self._cache_estimate = estimate
        available = _core.available_memory_bytes()
        if cache is None:
            if available <= 0 or estimate > min(
                _AUTO_CACHE_LIMIT, _AUTO_CACHE_FRACTION * available
            ):
                return False
        elif available > 0 and estimate > _CACHE_FIT_FRACTION * available:
            raise ConfigError(
                f"cache=True needs {'' if exact else 'about '}{_gib(estimate)} for "
                f"{len(self._indices)} decoded "
                f"images but only {_gib(available)} of memory is available: use cache=False, or "
                "a smaller Resize "
                f"before the first random transform"
            )
        # An extrapolated estimate gets headroom; the budget only stops the cache from growing.
        budget = estimate + (16 << 20) if exact else int(estimate * 1.5) + (16 << 20)
        if available > 0:
            budget = min(budget, int(_CACHE_FIT_FRACTION * available))
        source.enable_cache(budget)
        return True

    def cache_info(self) -> dict:
        """Whether this loader caches, the estimate for its samples, and what the dataset's cache
        holds now."""
        source = self.dataset.source
        return {
            "enabled": self._cache_enabled,
            "estimated_bytes": self._cache_estimate,
            "bytes": getattr(source, "cache_bytes", 0),
            "samples": getattr(source, "cached_samples", 0),
        }

    def __len__(self) -> int:
        return len(self._loader)

    def __iter__(self):
        it = _Epoch(self._loader.epoch(self._epoch), self.dataset)
        self._epoch += 1
        return it

    def epoch(self, epoch: int):
        """Iterator over one given epoch (its shuffle and augmentations depend on the number
        only)."""
        return _Epoch(self._loader.epoch(epoch), self.dataset)

    @property
    def weighted_sampler(self) -> Optional["_core.WeightedSampler"]:
        """The C++ sampler this loader draws with (weights, num_samples, replacement), or None."""
        return self._sampler

    @property
    def core(self) -> "_core.Loader":
        """The C++ loader, for the engine (no Python per batch)."""
        return self._loader

    def __repr__(self) -> str:
        return (
            f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"num_workers={self.num_workers}, "
            f"seed={self.seed}, drop_last={self.drop_last}, cache={self._cache_enabled}, "
            f"{_describe_sampler(self.sampler, self._sampler)}batches={len(self)})"
        )


class _Epoch:
    """One pass: the C++ iterator, plus a warning at the end about images skipped
    (on_error="skip")."""

    def __init__(self, it, dataset) -> None:
        self._it = it
        self._dataset = dataset
        self._skipped_before = _skipped_count(dataset)

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._it)

    def __next__(self):
        try:
            return next(self._it)
        except StopIteration:
            new = _skipped_count(self._dataset) - self._skipped_before
            if new > 0:
                self._skipped_before += new
                warnings.warn(
                    f"{new} image(s) could not be decoded and were left out of their batches "
                    f"(on_error='skip'); see dataset.skipped",
                    stacklevel=2,
                )
            raise


def _weighted_sampler(dataset, sampler, replacement, num_samples, shuffle):
    """The C++ WeightedSampler a DataLoader's sampler argument describes, or None."""
    if sampler is None:
        if num_samples is not None or replacement is not True:
            raise ConfigError(
                "num_samples and replacement are settings of a sampler: pass sampler="
            )
        return None
    if shuffle:
        raise ConfigError(
            "sampler and shuffle=True exclude each other (the sampler draws the order); "
            "drop shuffle=True"
        )
    if isinstance(sampler, torch.utils.data.WeightedRandomSampler):
        weights = sampler.weights.tolist()
        num_samples, replacement = sampler.num_samples, sampler.replacement
    elif isinstance(sampler, str):
        if sampler != "balanced":
            raise ConfigError(
                f"sampler={sampler!r}: use 'balanced', one weight per sample, or a "
                "torch.utils.data.WeightedRandomSampler"
            )
        weights = _core.balanced_weights(labels_of(dataset, "sampler='balanced'"))
    elif isinstance(sampler, torch.utils.data.Sampler):
        raise ConfigError(
            f"sampler={type(sampler).__name__}: greymatter draws in C++ and takes 'balanced', "
            "one weight per sample, or a WeightedRandomSampler; for a subset use gm.Subset"
        )
    else:
        try:
            weights = [float(w) for w in torch.as_tensor(sampler, dtype=torch.float64).flatten()]
        except (TypeError, ValueError, RuntimeError):
            raise ConfigError(
                f"sampler must be 'balanced', one weight per sample or a WeightedRandomSampler, "
                f"got {type(sampler).__name__}"
            ) from None
    if len(weights) != len(dataset):
        raise ConfigError(
            f"sampler has {len(weights)} weights for a dataset of {len(dataset)} samples: give one "
            "weight per sample"
        )
    if num_samples is None:
        num_samples = len(weights)
    if not isinstance(num_samples, int) or isinstance(num_samples, bool):
        raise ConfigError(f"num_samples must be a positive integer, got {num_samples!r}")
    return _core.WeightedSampler(weights, num_samples, bool(replacement))


def _describe_sampler(given, sampler) -> str:
    if sampler is None:
        return ""
    what = repr(given) if isinstance(given, str) else "weights"
    return f"sampler={what}, num_samples={sampler.num_samples}, replacement={sampler.replacement}, "


def _skipped_count(dataset) -> int:
    source = dataset.source
    return len(source.skipped()) if hasattr(source, "skipped") else 0


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"

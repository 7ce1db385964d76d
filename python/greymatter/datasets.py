"""Datasets with torchvision's names. Each holds a C++ Source that the loader reads from threads.

Unlike torchvision, samples come out already as tensors: ``ds[i]`` is ``(float tensor CxHxW, int)``
(with ``transform=None`` that is ToTensor's output, values in [0, 1]).
"""
import math
import os
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from . import _core
from . import transforms as T
from ._core import ConfigError, DataError

__all__ = ["Dataset", "MNIST", "FashionMNIST", "Subset", "random_split", "DEFAULT_FASHION_MNIST_ROOT"]

DEFAULT_FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"


class Dataset:
    """A sized collection of (image tensor, label) backed by a C++ Source."""

    classes: List[str] = []
    source: "_core.Source"
    transform = None

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        index = _check_index(index, len(self))
        return self.source.get(index)

    @property
    def indices(self) -> Optional[List[int]]:
        """Dataset indices this object exposes (None: all of ``source``)."""
        return None

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}


class _IdxDataset(Dataset):
    """MNIST-format data: four IDX files (raw or .gz), read once into memory as uint8."""

    classes: List[str] = []
    folder = ""  # torchvision keeps the files in root/<folder>/raw

    def __init__(self, root: Optional[str] = None, train: bool = True, transform=None, download: bool = False) -> None:
        self.root = str(root) if root is not None else self._default_root()
        self.train = train
        self.transform = transform
        mean, std = _normalization(transform, type(self).__name__)
        prefix = "train" if train else "t10k"
        images = _core.read_idx(self._find(f"{prefix}-images-idx3-ubyte", download))
        labels = _core.read_idx(self._find(f"{prefix}-labels-idx1-ubyte", download))
        if images.dim() != 3 or labels.dim() != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(f"{self.root}: images {tuple(images.shape)} and labels {tuple(labels.shape)} do not match")
        self.data = images  # uint8 (N, 28, 28), as torchvision's .data
        self.targets = labels.long()
        if int(self.targets.max()) >= len(self.classes):
            raise DataError(f"{self.root}: label {int(self.targets.max())} is out of range for {len(self.classes)} classes")
        self.source = _core.TensorSource(images, self.targets, list(mean), list(std))

    def _default_root(self) -> str:
        raise ConfigError(f"{type(self).__name__} needs root= (the folder holding the IDX files)")

    def _find(self, stem: str, download: bool) -> str:
        tried = []
        for folder in (Path(self.root), Path(self.root) / self.folder / "raw"):
            for name in (stem, stem + ".gz"):
                path = folder / name
                if path.is_file():
                    return str(path)
                tried.append(str(path))
        hint = " (download=True cannot help: greymatter never downloads)" if download else ""
        raise DataError(f"{type(self).__name__}: no '{stem}' file found; looked for {', '.join(tried)}{hint}")

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: {self.root}\n"
                f"    Split: {split}\n    Transform: {self.transform!r}")


class MNIST(_IdxDataset):
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    folder = "MNIST"


class FashionMNIST(_IdxDataset):
    """Fashion-MNIST; ``root=None`` reads Debian's copy in /usr/share/datasets/fashion-mnist."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    folder = "FashionMNIST"

    def _default_root(self) -> str:
        return os.environ.get("GREYMATTER_FASHION_MNIST", DEFAULT_FASHION_MNIST_ROOT)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``; shares its source (no copy)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        base = dataset.indices
        n = len(dataset)
        self.indices_ = [base[_check_index(i, n)] if base is not None else _check_index(i, n) for i in indices]
        self.dataset = dataset
        self.source = dataset.source
        self.classes = dataset.classes
        self.transform = dataset.transform

    @property
    def indices(self) -> List[int]:
        return self.indices_

    def __len__(self) -> int:
        return len(self.indices_)

    def __getitem__(self, index: int):
        return self.source.get(self.indices_[_check_index(index, len(self))])


def random_split(dataset: Dataset, lengths: Sequence[float], seed: int = 42) -> List[Subset]:
    """Split like torch.utils.data.random_split: lengths are counts, or fractions summing to 1."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # torch's rule: remainders go round-robin from the first
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if any(c < 0 for c in counts) or sum(counts) != n:
        raise ConfigError(f"random_split lengths {list(lengths)} do not add up to the dataset size {n} (or to 1.0)")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start:start + c]))
        start += c
    return out


def _normalization(transform, owner: str):
    """(mean, std) that the chain amounts to; the IDX datasets support ToTensor + Normalize only."""
    mean, std = (), ()
    for t in T.flatten(transform):
        if isinstance(t, T.ToTensor):
            continue
        if isinstance(t, T.Normalize):
            mean, std = t.mean, t.std
            continue
        raise ConfigError(f"{owner} supports ToTensor and Normalize transforms, got {t!r}")
    return mean, std


def _check_index(index, n: int) -> int:
    if isinstance(index, torch.Tensor):
        index = int(index)
    if not isinstance(index, int):
        raise TypeError(f"dataset indices must be integers, got {type(index).__name__}")
    if index < -n or index >= n:
        raise IndexError(f"index {index} is out of range for a dataset of {n} samples")
    return index % n

"""Datasets with torchvision's names. Each holds a C++ Source that the loader reads from threads.

Unlike torchvision, samples come out already as tensors: ``ds[i]`` is ``(float tensor CxHxW, int)``
(with ``transform=None`` that is ToTensor's output, values in [0, 1]). Random transforms in
``ds[i]`` draw from (seed 0, epoch 0, index i), so the same index gives the same augmentation; a
DataLoader draws new ones every epoch. """
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import torch

from . import _core
from . import transforms as T
from ._core import ConfigError, DataError
from ._enums import enum_member

__all__ = [
    "Dataset",
    "ImageFolder",
    "MNIST",
    "FashionMNIST",
    "Subset",
    "random_split",
    "IMG_EXTENSIONS",
    "DEFAULT_FASHION_MNIST_ROOT",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "set_max_image_pixels",
    "get_max_image_pixels",
]

IMG_EXTENSIONS = tuple(_core.default_image_extensions())  # torchvision's list

DEFAULT_FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"

DEFAULT_MAX_IMAGE_PIXELS = _core.default_max_image_pixels()  # PIL's Image.MAX_IMAGE_PIXELS


def set_max_image_pixels(pixels: Optional[int]) -> None:
    """Sets the largest image, in pixels (width x height), that greymatter decodes or makes.

    Every image file's size is read from its header and checked against this limit before
    anything is decoded, through every path (ImageFolder, DataLoader workers,
    ``transforms.Compose(...)(path)``, ``greymatter predict``); a larger one is a ``DataError``
    naming the file and its size. Transforms whose output would be larger
    (``Resize((100000, 100000))``) are a ``ConfigError`` when built. The default,
    ``DEFAULT_MAX_IMAGE_PIXELS`` (89,478,485), is PIL's ``Image.MAX_IMAGE_PIXELS``: a small file
    from the internet can claim 65500x65500 pixels, and decoding it would take gigabytes.
    The setting is for the whole process; sweep worker processes started afterwards inherit it.

    Args:
        pixels: the limit, a positive number of pixels; ``None`` removes it (as
            ``Image.MAX_IMAGE_PIXELS = None`` does in PIL).

    Raises:
        ConfigError: not a positive integer or None.
    """
    if pixels is None:
        _core.set_max_image_pixels(0)
        return
    if isinstance(pixels, bool) or not isinstance(pixels, numbers.Integral) or pixels < 1:
        raise ConfigError(
            f"set_max_image_pixels takes a positive number of pixels or None (no limit), "
            f"got {pixels!r}"
        )
    _core.set_max_image_pixels(int(pixels))


def get_max_image_pixels() -> Optional[int]:
    """The current pixel limit (``set_max_image_pixels``).

    Returns:
        The limit in pixels, or None when there is none.
    """
    return _core.max_image_pixels() or None


class Dataset:
    """The base class: a sized collection of (image tensor, label) backed by a C++ Source.

    ``ds[i]`` is ``(float tensor C x H x W, int label)``; ``len(ds)``, ``ds.classes`` and
    ``ds.class_to_idx`` as in torchvision. Subclasses set ``.source`` (what the DataLoader reads
    from its threads).
    """

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

    # Pickling (Dask workers, process pools) rebuilds a dataset from its constructor arguments: the
    # C++ source is not copied but made again where the object lands (which re-reads the files).
    _init_args: tuple = ((), {})

    def _remember(self, *args, **kwargs) -> None:
        self._init_args = (args, kwargs)

    def __reduce__(self):
        args, kwargs = self._init_args
        return _rebuild, (type(self), args, kwargs)

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}


def _rebuild(cls, args, kwargs):
    return cls(*args, **kwargs)


class _IdxDataset(Dataset):
    """MNIST-format data: four IDX files (raw or .gz), read once into memory as uint8.

    Any transform chain works, on the images torchvision would make (PIL mode "L": one channel
    unless ``Grayscale(3)`` asks for three); ToTensor + Normalize alone take a faster path."""

    classes: List[str] = []
    folder = ""  # torchvision keeps the files in root/<folder>/raw

    def __init__(
        self, root: Optional[str] = None, train: bool = True, transform=None, download: bool = False
    ) -> None:
        self._remember(root, train, transform, download)
        self.root = str(root) if root is not None else self._default_root()
        self.train = train
        self.transform = transform
        plain = _normalization(transform)
        prefix = "train" if train else "t10k"
        images = _core.read_idx(self._find(f"{prefix}-images-idx3-ubyte", download))
        labels = _core.read_idx(self._find(f"{prefix}-labels-idx1-ubyte", download))
        if images.dim() != 3 or labels.dim() != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{self.root}: images {tuple(images.shape)} and labels {tuple(labels.shape)} do "
                "not match"
            )
        self.data = images  # uint8 (N, 28, 28), as torchvision's .data
        self.targets = labels.long()
        if int(self.targets.max()) >= len(self.classes):
            raise DataError(
                f"{self.root}: label {int(self.targets.max())} is out of range for "
                f"{len(self.classes)} classes"
            )
        if plain is not None:  # ToTensor (+ Normalize) only: one table lookup per pixel
            self.source = _core.TensorSource(images, self.targets, list(plain[0]), list(plain[1]))
        else:  # any other chain runs like an ImageFolder's, on torchvision's mode "L" images
            self.source = _core.ImageTensorSource(
                images, self.targets, T.to_specs(transform), f"{type(self).__name__} image"
            )

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
        raise DataError(
            f"{type(self).__name__}: no '{stem}' file found; looked for {', '.join(tried)}{hint}"
        )

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (
            f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root "
            f"location: {self.root}\n"
            f"    Split: {split}\n    Transform: {self.transform!r}"
        )


class MNIST(_IdxDataset):
    """MNIST from its four IDX files (raw or ``.gz``), as torchvision's ``MNIST``.

    Args:
        root: the folder holding the files, or its ``MNIST/raw`` subfolder (torchvision's layout).
        train: the 60,000 training images (``train-*``), else the 10,000 test images (``t10k-*``).
        transform: a ``greymatter.transforms`` chain; None gives ToTensor's output. ToTensor +
            Normalize alone take a faster path than other chains.
        download: accepted for torchvision's signature; greymatter never downloads, so a missing
            file is a DataError either way (which says so when this is True).

    Raises:
        DataError: a file is missing, truncated or inconsistent (named in the message).
        ConfigError: ``root`` is None or the transform chain is not supported.
    """

    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]
    folder = "MNIST"


class FashionMNIST(_IdxDataset):
    """Fashion-MNIST from its four IDX files, as torchvision's ``FashionMNIST``.

    Args:
        root: the folder holding the files (or its ``FashionMNIST/raw`` subfolder); None reads
            Debian's copy in ``DEFAULT_FASHION_MNIST_ROOT`` (``$GREYMATTER_FASHION_MNIST`` if set).
        train: the 60,000 training images, else the 10,000 test images.
        transform: a ``greymatter.transforms`` chain; None gives ToTensor's output.
        download: accepted for torchvision's signature; greymatter never downloads.

    Raises:
        DataError: a file is missing, truncated or inconsistent (named in the message).
        ConfigError: the transform chain is not supported.
    """

    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    folder = "FashionMNIST"

    def _default_root(self) -> str:
        return os.environ.get("GREYMATTER_FASHION_MNIST", DEFAULT_FASHION_MNIST_ROOT)


class ImageFolder(Dataset):
    """torchvision's ImageFolder: ``root/<class>/**/<image>``, classes sorted, labels their index.

    Same ``classes``, ``class_to_idx``, ``samples`` (path, label), ``targets`` and ``imgs`` as
    torchvision for the same folder, with two differences in what is found: hidden files and folders
    (names starting with '.', e.g. ``.ipynb_checkpoints``) are ignored instead of becoming a class,
    and ``extensions`` match case-insensitively on both sides.

    Images are read the way torchvision's loader reads them (PIL ``convert("RGB")``): grey, RGBA
    (alpha dropped), palette and 16-bit PNGs all load; EXIF orientation is *not* applied, as PIL
    does not apply it without ``ImageOps.exif_transpose``, so a phone photo stored sideways stays
    sideways. 16-bit grey PNGs saturate at 255 exactly as PIL's conversion does (values are not
    rescaled).

    JPEGs are decoded at reduced size (libjpeg's DCT scaling, 1/2 to 1/8) when the chain starts with
    a Resize to at most a third of the file's size; measured against torchvision this stays within a
    few levels (max 4/255 on the test photos). ``draft=True`` allows it from half the size on, as
    PIL's ``Image.draft`` would: about twice as fast again on 512 -> 128, but sharp edges can then
    differ by up to ~11/255 (mean still ~0.7/255), outside the exact-match tolerance.

    ``on_error="raise"`` (default): an unreadable image raises ``DataError`` naming the file when it
    is loaded. ``on_error="skip"``: every file's header and structure are checked now (truncated
    JPEG/PNG, empty, not an image, unreadable) and bad ones are left out with a warning; a file that
    still fails to decode later is left out of its batch. Either way ``.skipped`` lists (path,
    reason).

    Args:
        root: the folder with one subfolder per class.
        transform: a ``greymatter.transforms`` chain, checked now; None gives ToTensor's output.
        extensions: the file extensions taken as images (case-insensitive).
        on_error: ``"raise"`` or ``"skip"`` (see above).
        draft: allow the reduced JPEG decode from half the target size on (see above).

    Raises:
        DataError: the folder is missing or has no class folder or no readable image.
        ConfigError: a bad ``on_error`` or an unsupported transform chain.
    """

    def __init__(
        self,
        root,
        transform=None,
        extensions: Sequence[str] = IMG_EXTENSIONS,
        on_error: str = "raise",
        draft: bool = False,
    ) -> None:
        on_error_policy = enum_member(
            _core.OnError, on_error, "on_error must be 'raise' or 'skip', got {value!r}"
        )
        self._remember(root, transform, extensions, on_error, draft)
        self.root = os.fspath(root)
        self.transform = transform
        self.on_error = on_error
        self.extensions = (extensions,) if isinstance(extensions, str) else tuple(extensions)
        specs = T.to_specs(transform)
        _core.check_transforms(specs, 3)  # unsupported chains fail here, before any file is read
        skip = on_error == "skip"
        classes, paths, labels, empty = _core.scan_image_folder(
            self.root, list(self.extensions), skip
        )
        self._skipped_at_scan: List[Tuple[str, str]] = [
            (folder, f"class folder '{folder}' holds no file with an accepted extension")
            for folder in empty
        ]
        if skip:
            bad = _core.check_image_files(paths)
            drop = {i for i, _ in bad}
            self._skipped_at_scan += [(paths[i], reason) for i, reason in bad]
            paths = [p for i, p in enumerate(paths) if i not in drop]
            labels = [y for i, y in enumerate(labels) if i not in drop]
            if self._skipped_at_scan:
                warnings.warn(
                    f"ImageFolder('{self.root}'): skipped {len(self._skipped_at_scan)} "
                    "unreadable file(s) "
                    f"or empty class folder(s), e.g. {self._skipped_at_scan[0][1]}; see .skipped "
                    "for all",
                    stacklevel=2,
                )
            if not paths:
                raise DataError(f"image folder '{self.root}' has no readable image")
        self.classes = list(classes)
        self.samples = list(zip(paths, labels))
        self.imgs = self.samples
        self.targets = list(labels)
        self.draft = bool(draft)
        options = _core.ImageFileOptions(on_error=on_error_policy)
        if draft:  # PIL's Image.draft goes down to half the target size; the default keeps 3x
            options.reduce_margin = 2.0
        self.source = _core.ImageFileSource(paths, labels, specs, options)

    @property
    def skipped(self) -> List[Tuple[str, str]]:
        """(path, reason) of every image left out under on_error="skip"."""
        return self._skipped_at_scan + list(self.source.skipped())

    def __repr__(self) -> str:
        count = len(self) if hasattr(self, "source") else "?"
        return (
            f"Dataset ImageFolder\n    Number of datapoints: {count}\n    Root location: "
            f"{self.root}\n"
            f"    Transform: {self.transform!r}"
        )


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``; shares its source (no copy).

    Args:
        dataset: any greymatter dataset (a Subset too).
        indices: positions in ``dataset`` (negative ones count from the end).

    Raises:
        IndexError: an index out of range.
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self._remember(dataset, list(indices))
        base = dataset.indices
        n = len(dataset)
        self.indices_ = [
            base[_check_index(i, n)] if base is not None else _check_index(i, n) for i in indices
        ]
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


def random_split(
    dataset: Dataset, lengths: Sequence[float], seed: int = 42, stratify: bool = False
) -> List[Subset]:
    """Split like torch.utils.data.random_split: lengths are counts, or fractions summing to 1.

    ``stratify=False`` gives exactly torch's split for the same seed. ``stratify=True`` splits each
    class separately with the same fractions (counts are turned into fractions of the whole), so
    every part keeps the class proportions; each part's order is then shuffled.

    Args:
        dataset: the dataset to split.
        lengths: sample counts adding up to ``len(dataset)``, or fractions adding up to 1.
        seed: seeds the permutation (torch.Generator), so the same seed gives the same split.
        stratify: keep every class's proportion in every part (needs the dataset's ``targets``).

    Returns:
        One ``Subset`` per entry of ``lengths``.

    Raises:
        ConfigError: lengths that add up to neither, or ``stratify=True`` without targets.
    """
    n = len(dataset)
    fractions = _fractions(lengths, n)
    generator = torch.Generator().manual_seed(seed)
    if not stratify:
        counts = _counts(fractions, n) if fractions is not None else [int(x) for x in lengths]
        perm = torch.randperm(n, generator=generator).tolist()
        out, start = [], 0
        for c in counts:
            out.append(Subset(dataset, perm[start : start + c]))
            start += c
        return out
    if fractions is None:
        fractions = [x / n for x in lengths]
    by_class: dict = {}
    for position, label in enumerate(labels_of(dataset, "stratify=True")):
        by_class.setdefault(int(label), []).append(position)
    parts: List[List[int]] = [[] for _ in fractions]
    for label in sorted(by_class):
        members = by_class[label]
        order = torch.randperm(len(members), generator=generator).tolist()
        start = 0
        for part, c in zip(parts, _counts(fractions, len(members))):
            part.extend(members[i] for i in order[start : start + c])
            start += c
    return [
        Subset(dataset, [part[i] for i in torch.randperm(len(part), generator=generator).tolist()])
        for part in parts
    ]


def _fractions(lengths: Sequence[float], n: int):
    """The lengths as fractions when they are fractions summing to 1; None when they are counts."""
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        if any(x < 0 for x in lengths):
            raise ConfigError(f"random_split fractions must be non-negative, got {list(lengths)}")
        return list(lengths)
    counts = [int(x) for x in lengths]
    if any(c < 0 for c in counts) or sum(counts) != n:
        raise ConfigError(
            f"random_split lengths {list(lengths)} do not add up to the dataset size {n} (or to "
            "1.0)"
        )
    return None


def _counts(fractions: Sequence[float], n: int) -> List[int]:
    counts = [int(math.floor(n * f)) for f in fractions]
    for i in range(n - sum(counts)):  # torch's rule: remainders go round-robin from the first
        counts[i % len(counts)] += 1
    return counts


def labels_of(dataset: Dataset, needed_by: str) -> List[int]:
    """Labels of a dataset's samples in order, without loading images; `needed_by` names what asks
    (for the error on a dataset without targets)."""
    if isinstance(dataset, Subset):
        root = dataset.dataset
        while isinstance(root, Subset):
            root = root.dataset
        labels = labels_of(root, needed_by)
        return [labels[i] for i in dataset.indices_]  # a Subset's indices are its root's
    targets = getattr(dataset, "targets", None)
    if targets is None:
        raise ConfigError(
            f"{needed_by} needs a dataset with targets, {type(dataset).__name__} has none"
        )
    return [int(t) for t in targets]


def _normalization(transform):
    """(mean, std) when the chain is ToTensor [+ one Normalize]; None when it has other steps."""
    steps = T.flatten(transform)
    if [type(t) for t in steps] not in ([], [T.ToTensor], [T.ToTensor, T.Normalize]):
        return None
    norm = steps[-1] if steps and isinstance(steps[-1], T.Normalize) else None
    return (norm.mean, norm.std) if norm else ((), ())


def _check_index(index, n: int) -> int:
    if isinstance(index, torch.Tensor):
        index = int(index)
    if not isinstance(index, int):
        raise TypeError(f"dataset indices must be integers, got {type(index).__name__}")
    if index < -n or index >= n:
        raise IndexError(f"index {index} is out of range for a dataset of {n} samples")
    return index % n

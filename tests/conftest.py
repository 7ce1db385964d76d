import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import greymatter as gm

FASHION = Path(gm.datasets.DEFAULT_FASHION_MNIST_ROOT)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape
    )
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.fixture
def tiny_mnist(tmp_path):
    """An MNIST-format folder of 200 train / 50 test random images; returns (root, train images,
    labels)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(200, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=200, dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:50])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:50])
    return tmp_path, images, labels


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ---- image folders --------------------------------------------------------------------------

MIXED_SIZES = [(64, 80), (100, 60), (37, 37), (90, 120)]


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory):
    """3 classes x 8 real-photo images in every (format, mode) variant and several sizes
    (read-only)."""
    from greymatter.sample_data import ALL_VARIANTS, make_image_folder

    return make_image_folder(
        tmp_path_factory.mktemp("photos"),
        classes=3,
        per_class=8,
        size=MIXED_SIZES,
        variants=ALL_VARIANTS,
        seed=0,
    )


@pytest.fixture(scope="session")
def large_jpeg_folder(tmp_path_factory):
    """2 classes x 4 JPEGs of 384x384 / 400x520 (colour and grey): big enough for reduced
    decoding."""
    from greymatter.sample_data import make_image_folder

    return make_image_folder(
        tmp_path_factory.mktemp("large"),
        classes=2,
        per_class=4,
        size=[384, (400, 520)],
        variants=[("jpg", "RGB"), ("jpg", "L")],
        seed=1,
    )


def max_and_mean_levels(ours, ref, std=None):
    """(max, mean) absolute difference in 1/255 levels, after un-normalizing with ``std``."""
    diff = (ours - ref).abs()
    if std is not None:
        diff = diff * torch.tensor(std, dtype=diff.dtype).view(-1, 1, 1)
    diff = diff * 255
    return float(diff.max()), float(diff.mean())

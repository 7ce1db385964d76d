import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import greymatter as gm

FASHION = Path(gm.datasets.DEFAULT_FASHION_MNIST_ROOT)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.fixture
def tiny_mnist(tmp_path):
    """An MNIST-format folder of 200 train / 50 test random images; returns (root, train images, labels)."""
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

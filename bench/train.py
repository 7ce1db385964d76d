"""Fashion-MNIST MNISTNet (784-128-64-10), batch 64, Adam 1e-3, one training epoch:
the MNIST tutorial's Python loop (torchvision dataset + ToTensor + DataLoader) vs greymatter's Trainer.fit,
same data, same torch threads, in one run. Prints seconds, images/s and the ratio.

    .venv/bin/python bench/train.py [--epochs 1] [--workers 0]
"""
import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch import nn

import greymatter as gm


def torchvision_root(tmp: Path) -> Path:
    """torchvision wants the uncompressed files in root/FashionMNIST/raw."""
    raw = tmp / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in Path(gm.datasets.DEFAULT_FASHION_MNIST_ROOT).glob("*.gz"):
        with gzip.open(f) as src, open(raw / f.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return tmp


class TutorialMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def tutorial_epochs(root: Path, epochs: int, workers: int) -> float:
    ds = torchvision.datasets.FashionMNIST(root, train=True, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers)
    model = TutorialMLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for images, labels in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def greymatter_epochs(epochs: int) -> float:
    ds = gm.datasets.FashionMNIST(train=True)
    loader = gm.DataLoader(ds, batch_size=64, shuffle=True, seed=0)
    trainer = gm.Trainer(gm.models.MNISTNet(), lr=1e-3, progress=False)
    start = time.perf_counter()
    trainer.fit(loader, epochs=epochs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0, help="tutorial DataLoader num_workers (tutorial: 0)")
    args = parser.parse_args()
    n = 60000 * args.epochs
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.epochs} epoch(s) of {n // args.epochs}")
    with tempfile.TemporaryDirectory() as tmp:
        ref = tutorial_epochs(torchvision_root(Path(tmp)), args.epochs, args.workers)
    ours = greymatter_epochs(args.epochs)
    print(f"tutorial loop (torchvision + DataLoader(num_workers={args.workers})): {ref:7.2f} s  {n / ref:9.0f} img/s")
    print(f"greymatter Trainer.fit:                                    {ours:7.2f} s  {n / ours:9.0f} img/s")
    print(f"speed-up: {ref / ours:.1f}x")


if __name__ == "__main__":
    main()

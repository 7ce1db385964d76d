"""Fashion-MNIST MNISTNet (784-128-64-10), batch 64, Adam 1e-3, one training epoch:
the MNIST tutorial's Python loop (torchvision dataset + ToTensor + DataLoader) vs greymatter's Trainer.fit,
same data, in one run. The tutorial loop runs twice: at torch's thread count (what a learner gets) and at
one thread (what greymatter's engine picks for a model this small), so the ratio is not a threading artefact.

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
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, {args.epochs} epoch(s) of {n // args.epochs}, batch 64")
    with tempfile.TemporaryDirectory() as tmp:
        root = torchvision_root(Path(tmp))
        ref = tutorial_epochs(root, args.epochs, args.workers)
        torch.set_num_threads(1)
        ref_one = tutorial_epochs(root, args.epochs, args.workers)
        torch.set_num_threads(threads)
    ours = greymatter_epochs(args.epochs)
    rows = [(f"tutorial loop, {threads} threads", ref), ("tutorial loop, 1 thread", ref_one),
            ("greymatter Trainer.fit", ours)]
    for name, sec in rows:
        print(f"{name:32s} {sec:7.2f} s {n / sec:9.0f} img/s")
    print(f"speed-up: {ref / ours:.1f}x vs the tutorial as run, {ref_one / ours:.1f}x vs its best thread setting")


if __name__ == "__main__":
    main()

"""Two training benchmarks, each against a reference measured in the same run.

1. Fashion-MNIST MNISTNet (784-128-64-10), batch 64, Adam 1e-3, one training epoch: the MNIST
   tutorial's Python loop (torchvision dataset + ToTensor + DataLoader) vs greymatter's Trainer.fit.
   The tutorial loop runs twice: at torch's thread count (what a learner gets) and at one thread
   (what greymatter's engine picks for a model this small), so the ratio is not a threading
   artefact.
2. BrainTumorCNN at 128x128, batch 32, on a 4-class folder of JPEGs: an epoch of Trainer.fit reading
   the files (2 loader workers) vs the model's pure compute (the same steps on batches already in
   memory). A ratio near 1 means decoding and resizing are hidden behind the model.

    .venv/bin/python bench/train.py [--epochs 1] [--workers 0] [--images-per-class 48] \\
                                    [--device cpu]

With --device cuda (a GPU machine) both sides train on the GPU: the tutorial loop moves each batch
there as the tutorial does, and --no-folder skips part 2 where the build has no image decoder (no
OpenCV). """
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


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def tutorial_epochs(root: Path, epochs: int, workers: int, device: str = "cpu") -> float:
    ds = torchvision.datasets.FashionMNIST(
        root, train=True, transform=torchvision.transforms.ToTensor()
    )
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers)
    model = TutorialMLP().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            opt.step()
    synchronize(device)
    return time.perf_counter() - start


def greymatter_epochs(epochs: int, device: str = "cpu") -> float:
    ds = gm.datasets.FashionMNIST(train=True)
    loader = gm.DataLoader(ds, batch_size=64, shuffle=True, seed=0)
    trainer = gm.Trainer(gm.models.MNISTNet(), lr=1e-3, progress=False, device=device)
    synchronize(device)
    start = time.perf_counter()
    trainer.fit(loader, epochs=epochs)
    synchronize(device)
    return time.perf_counter() - start


def brain_tumor_folder(root: Path, per_class: int) -> Path:
    from greymatter.sample_data import make_image_folder

    classes = ["glioma", "meningioma", "notumor", "pituitary"]
    return make_image_folder(
        root / "Training", classes=classes, per_class=per_class, size=256, seed=0
    )


def brain_tumor_compute_vs_epoch(folder: Path):
    """(seconds of pure compute, seconds of a Trainer.fit epoch) for the same batches."""
    from greymatter import transforms as T

    tf = T.Compose([T.Resize((128, 128)), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    ds = gm.datasets.ImageFolder(folder, transform=tf)
    loader = gm.DataLoader(ds, batch_size=32, shuffle=True, num_workers=2, seed=0)
    batches = [
        (x.clone(), y.clone()) for x, y in loader.epoch(0)
    ]  # decoded before the clock starts
    torch.manual_seed(0)
    model = gm.models.BrainTumorCNN(num_classes=4, image_size=128)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    for x, y in batches:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    compute = time.perf_counter() - start
    torch.manual_seed(0)
    trainer = gm.Trainer(
        gm.models.BrainTumorCNN(num_classes=4, image_size=128), lr=1e-3, progress=False
    )
    start = time.perf_counter()
    trainer.fit(loader, epochs=1)
    return compute, time.perf_counter() - start, len(ds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=0, help="tutorial DataLoader num_workers (tutorial: 0)"
    )
    parser.add_argument(
        "--images-per-class", type=int, default=48, help="brain-tumour-style folder size"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where both sides train")
    parser.add_argument(
        "--no-folder", action="store_true", help="skip the BrainTumorCNN image-folder part"
    )
    args = parser.parse_args()
    n = 60000 * args.epochs
    threads = torch.get_num_threads()
    print(
        f"torch {torch.__version__}, {args.device}, {threads} threads, {args.epochs} epoch(s) of "
        f"{n // args.epochs}, batch 64"
    )
    if args.device.startswith("cuda"):  # warm-up: CUDA context and kernels load outside the clock
        greymatter_epochs(1, args.device)
    with tempfile.TemporaryDirectory() as tmp:
        root = torchvision_root(Path(tmp))
        ref = tutorial_epochs(root, args.epochs, args.workers, args.device)
        torch.set_num_threads(1)
        ref_one = tutorial_epochs(root, args.epochs, args.workers, args.device)
        torch.set_num_threads(threads)
    ours = greymatter_epochs(args.epochs, args.device)
    rows = [
        (f"tutorial loop, {threads} threads", ref),
        ("tutorial loop, 1 thread", ref_one),
        ("greymatter Trainer.fit", ours),
    ]
    for name, sec in rows:
        print(f"{name:32s} {sec:7.2f} s {n / sec:9.0f} img/s")
    print(
        f"speed-up: {ref / ours:.1f}x vs the tutorial as run, {ref_one / ours:.1f}x vs its best "
        "thread setting"
    )
    if args.no_folder:
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = brain_tumor_folder(Path(tmp), args.images_per_class)
        compute, epoch, n = brain_tumor_compute_vs_epoch(folder)
    print(
        f"\nBrainTumorCNN 128x128, batch 32, {n} JPEGs (256x256), {torch.get_num_threads()} threads"
    )
    print(f"{'pure compute (batches in memory)':32s} {compute:7.2f} s {n / compute:9.1f} img/s")
    print(f"{'Trainer.fit epoch from files':32s} {epoch:7.2f} s {n / epoch:9.1f} img/s")
    print(
        f"epoch / compute: {epoch / compute:.3f} (1.0 = data loading fully hidden; target <= 1.10)"
    )


if __name__ == "__main__":
    main()

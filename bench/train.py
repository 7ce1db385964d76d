"""Training benchmarks, each against a reference measured in the same run.

1. Fashion-MNIST MNISTNet (784-128-64-10), batch 64, Adam 1e-3, one training epoch: the MNIST
   tutorial's Python loop (torchvision dataset + ToTensor + DataLoader) vs greymatter's Trainer.fit.
   The tutorial loop runs twice: at torch's thread count (what a learner gets) and at one thread
   (what greymatter's engine picks for a model this small), so the ratio is not a threading
   artefact.
2. A learner's own classes (the tutorials' MNISTNet and two-conv CNN written as nn.Modules, with
   nn.CrossEntropyLoss and optim.Adam objects) against greymatter's MNISTNet and MNISTCNN with the
   same layers, same threads, same batches (targets: 1.2x and 1.1x), with the floor: the same steps
   eagerly on batches already in memory. Then the greymatter epochs again with one busy process
   (`python3 -c 'while 1: pass'`) competing for the cores (target: within 2x of idle).
3. BrainTumorCNN at 128x128, batch 32, on a 4-class folder of JPEGs: an epoch of Trainer.fit reading
   the files (2 loader workers) vs the model's pure compute (the same steps on batches already in
   memory). A ratio near 1 means decoding and resizing are hidden behind the model.

    .venv/bin/python bench/train.py [--epochs 1] [--workers 0] [--images-per-class 48] \\
                                    [--cnn-images 12000] [--device cpu] [--no-own] [--no-folder]

With --device cuda (a GPU machine) both sides train on the GPU: the tutorial loop moves each batch
there as the tutorial does, and --no-folder skips part 2 where the build has no image decoder (no
OpenCV). """
import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch import nn, optim
from torch.nn import functional as F
from threadpoolctl import threadpool_limits

import greymatter as gm
from greymatter import _core


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


class TutorialCNN(nn.Module):
    """The MNIST challenge's CNN as a learner writes it: gm.models.MNISTCNN's layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


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


def timed_fit(model, loader, epochs: int, device: str, objects: bool):
    """(wall, CPU) seconds of Trainer.fit; `objects`: the tutorial's loss and optimizer objects,
    else names. CPU time (this process's threads) is the steadier measure on a shared machine."""
    if objects:
        kwargs = {"loss": nn.CrossEntropyLoss(), "optimizer": optim.Adam(model.parameters(), 1e-3)}
    else:
        kwargs = {"lr": 1e-3}
    trainer = gm.Trainer(model, progress=False, device=device, **kwargs)
    assert trainer.fused
    synchronize(device)
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit(loader, epochs=epochs)
    synchronize(device)
    return time.perf_counter() - start, time.process_time() - cpu


def in_memory_floor(model, batches, threads: int) -> float:
    """The same steps on batches already in memory: eager forward, loss, backward, foreach Adam,
    on the engine's thread count (torch's and BLAS's pools alike)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    opt = optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    model.train()
    with threadpool_limits(threads, user_api="blas"):
        start, cpu = time.perf_counter(), time.process_time()
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        seconds = time.perf_counter() - start, time.process_time() - cpu
    torch.set_num_threads(saved)
    return seconds


def with_busy_process(run):
    """run() while one other process spins on a core (`python3 -c 'while 1: pass'`)."""
    busy = subprocess.Popen([sys.executable, "-c", "while 1: pass"])
    try:
        time.sleep(0.5)  # let it take its core
        return run()
    finally:
        busy.kill()
        busy.wait()


def own_classes(epochs: int, cnn_images: int, device: str):
    """Rows (name, (wall, cpu) seconds, images): the learner's classes, greymatter's, the floor,
    and both with a busy process."""
    full = gm.datasets.FashionMNIST(train=True, transform=gm.transforms.ToTensor())
    pairs = [
        ("MNISTNet", TutorialMLP, lambda: gm.models.MNISTNet(), full),
        ("MNISTCNN", TutorialCNN, lambda: gm.models.MNISTCNN(), gm.Subset(full, range(cnn_images))),
    ]
    rows, ratios = [], {}
    for name, own_class, builtin, ds in pairs:
        loader = gm.DataLoader(ds, batch_size=64, shuffle=True, seed=0)
        n = len(ds) * epochs
        torch.manual_seed(0)
        own, ours = own_class(), builtin()
        ours.load_state_dict(own.state_dict())
        # Alternating, best of two each, so load from elsewhere on the machine hits all alike.
        times = {"own": [], "gm": [], "gm busy": [], "own busy": []}
        for _ in range(2):
            times["own"].append(timed_fit(own, loader, epochs, device, True))
            times["gm"].append(timed_fit(ours, loader, epochs, device, False))
            times["gm busy"].append(
                with_busy_process(lambda: timed_fit(ours, loader, epochs, device, False))
            )
            times["own busy"].append(
                with_busy_process(lambda: timed_fit(own, loader, epochs, device, True))
            )
        best = {k: min(v) for k, v in times.items()}  # (wall, cpu) pairs: the fastest wall time
        batches = [(x.clone(), y.clone()) for x, y in loader.epoch(0)] * epochs
        small = 3 * ours.macs_per_sample() * 64 < 1e8  # the engine's one-thread rule
        threads = 1 if small else min(torch.get_num_threads(), _core._free_cores())
        floor = in_memory_floor(builtin(), batches, threads)
        rows += [
            (f"{name}: learner's class", best["own"], n),
            (f"{name}: gm.models.{name}", best["gm"], n),
            (f"{name}: floor, {threads} thread(s)", floor, n),
            (f"{name}: gm, 1 busy process", best["gm busy"], n),
            (f"{name}: learner's, 1 busy", best["own busy"], n),
        ]
        ratios[name] = best["own"][0] / best["gm"][0]
        ratios[f"{name} cpu"] = best["own"][1] / best["gm"][1]
        ratios[f"{name} busy/idle"] = best["gm busy"][0] / best["gm"][0]
    return rows, ratios


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
    parser.add_argument("--no-own", action="store_true", help="skip the learner's-classes part")
    parser.add_argument(
        "--cnn-images", type=int, default=12000, help="Fashion-MNIST images for the CNN rows"
    )
    args = parser.parse_args()
    n = 60000 * args.epochs
    threads = torch.get_num_threads()
    print(
        f"torch {torch.__version__}, {args.device}, {threads} threads, {args.epochs} epoch(s) of "
        f"{n // args.epochs}, batch 64; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
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
    if not args.no_own:
        rows, ratios = own_classes(args.epochs, args.cnn_images, args.device)
        print(f"\nlearner's own classes vs greymatter's, batch 64, {threads} threads")
        for name, (sec, cpu), images in rows:
            print(f"{name:32s} {sec:7.2f} s {cpu:7.2f} cpu-s {images / sec:9.0f} img/s")
        print(
            f"learner's / greymatter, wall (cpu): MNISTNet {ratios['MNISTNet']:.2f} "
            f"({ratios['MNISTNet cpu']:.2f}) (target <= 1.2), MNISTCNN {ratios['MNISTCNN']:.2f} "
            f"({ratios['MNISTCNN cpu']:.2f}) (target <= 1.1); with a busy process / idle: MNISTNet "
            f"{ratios['MNISTNet busy/idle']:.2f}, MNISTCNN {ratios['MNISTCNN busy/idle']:.2f} "
            "(target <= 2)"
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

"""The sweep benchmark: the transfer-learning tutorial's 4 x 3 grid (lr 1e-4, 1e-3, 1e-2, 1e-1
x size_inner 10, 100, 1000) of a MobileNetV2 head on a 224x224 image folder, greymatter against the
tutorial's way, in one run.

  tutorial    per configuration: torchvision ImageFolder + DataLoader (Resize((224, 224)),
              ToTensor, Normalize; batch 32, shuffle, num_workers 0), torchvision mobilenet_v2 with
              frozen parameters and its classifier replaced by Identity, inner nn.Linear + ReLU +
              output nn.Linear, torch.optim.Adam, the tutorial's loop (model.train(), zero_grad,
              forward, loss, backward, step; then model.eval() and validation under no_grad) for
              --epochs epochs, on --threads torch threads
  greymatter  gm.sweep("transfer", grid, train=ImageFolder, val=ImageFolder, epochs): the frozen
              backbone runs once per image (the feature cache) and each configuration trains its
              head on those features

Both load the same backbone weights: torchvision's init with BatchNorm statistics measured on the
training photos, written to a file, standing in for IMAGENET1K_V1 (not on this machine; with
BatchNorm at its init statistics a frozen backbone gives every image the same features). Both see
the same photos and epochs. greymatter runs twice, before and after the tutorial, each time with an
empty feature cache; the speed-up uses the slower of the two. Threads: greymatter trains each
configuration, backbone pass included, on one thread (docs/sweep.md); the tutorial way gets one too
by default, so the ratio is the work saved. A notebook's torch would use one thread per core:
--threads N measures that (on a busy shared machine two threads can be far slower than one).
--tutorial-configs K < 12 times K configurations spread over the grid and extrapolates to 12 (every
configuration costs the same there: the backbone dominates); the output says so.

The accuracy tables are printed for inspection, not compared: the tutorial's model.train() also puts
the frozen backbone's BatchNorm in training mode (batch statistics), while greymatter keeps a frozen
backbone in eval mode.

    .venv/bin/python bench/sweep.py [--classes 5] [--per-class 30] [--val-per-class 10] [--epochs 3]
                                    [--tutorial-configs 12] [--threads N]
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision import transforms as tvT

import greymatter as gm
from greymatter.train import feature_cache
from greymatter import transforms as T
from greymatter._threads import available_cores
from greymatter.sample_data import make_image_folder

GRID = {"lr": [1e-4, 1e-3, 1e-2, 1e-1], "size_inner": [10, 100, 1000]}
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
BATCH = 32


class ClothingClassifierMobileNet(nn.Module):
    """The tutorial's model: frozen MobileNetV2 features -> inner layer -> ReLU -> output layer."""

    def __init__(self, weights_path: str, size_inner: int, num_classes: int) -> None:
        super().__init__()
        self.base_model = torchvision.models.mobilenet_v2(weights=None)
        # the tutorial: weights="IMAGENET1K_V1"
        self.base_model.load_state_dict(torch.load(weights_path, weights_only=True))
        for param in self.base_model.parameters():
            param.requires_grad = False
        self.base_model.classifier = nn.Identity()
        self.inner = nn.Linear(1280, size_inner)
        self.relu = nn.ReLU()
        self.output_layer = nn.Linear(size_inner, num_classes)

    def forward(self, x):
        return self.output_layer(self.relu(self.inner(self.base_model(x))))


def train_and_evaluate(
    model, optimizer, train_loader, val_loader, criterion, num_epochs: int
) -> float:
    """The tutorial's loop; returns the best validation accuracy."""
    best_val_accuracy = 0.0
    for _ in range(num_epochs):
        model.train()
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for inputs, labels in val_loader:
                _, predicted = torch.max(model(inputs), 1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
        best_val_accuracy = max(best_val_accuracy, correct / total)
    return best_val_accuracy


def tutorial_sweep(roots, weights_path: str, configs, epochs: int):
    """(seconds of each configuration, best val accuracy of each)."""
    transform = tvT.Compose([tvT.Resize((224, 224)), tvT.ToTensor(), tvT.Normalize(MEAN, STD)])
    seconds, accuracies = [], []
    for lr, size_inner in configs:
        start = time.perf_counter()
        train_ds = torchvision.datasets.ImageFolder(roots["train"], transform=transform)
        val_ds = torchvision.datasets.ImageFolder(roots["val"], transform=transform)
        train_loader = torch.utils.data.DataLoader(train_ds, batch_size=BATCH, shuffle=True)
        val_loader = torch.utils.data.DataLoader(val_ds, batch_size=BATCH, shuffle=False)
        model = ClothingClassifierMobileNet(weights_path, size_inner, len(train_ds.classes))
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        accuracies.append(
            train_and_evaluate(
                model, optimizer, train_loader, val_loader, nn.CrossEntropyLoss(), epochs
            )
        )
        seconds.append(time.perf_counter() - start)
        print(
            f"  tutorial lr={lr:g} size_inner={size_inner}: {seconds[-1]:.1f} s, best val_acc "
            f"{accuracies[-1]:.3f}",
            flush=True,
        )
    return seconds, accuracies


def greymatter_sweep(roots, weights_path: str, num_classes: int, epochs: int):
    feature_cache.clear()  # every run pays for its backbone pass
    start = time.perf_counter()
    transform = T.Compose([T.Resize((224, 224)), T.ToTensor(), T.Normalize(MEAN, STD)])
    df = gm.sweep(
        "transfer",
        grid=GRID,
        train=gm.datasets.ImageFolder(roots["train"], transform=transform),
        val=gm.datasets.ImageFolder(roots["val"], transform=transform),
        epochs=epochs,
        model_kwargs={"num_classes": num_classes, "weights": weights_path},
        loader_kwargs={"batch_size": BATCH},
        progress=False,
    )
    return time.perf_counter() - start, df


def calibrated_backbone(train_root: Path, path: Path) -> str:
    """torchvision's MobileNetV2 init with BatchNorm statistics averaged over the training
    photos."""
    torch.manual_seed(0)
    net = torchvision.models.mobilenet_v2()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
            m.reset_running_stats()
    transform = tvT.Compose([tvT.ToTensor(), tvT.Normalize(MEAN, STD)])
    ds = torchvision.datasets.ImageFolder(train_root, transform=transform)
    with torch.no_grad():
        for x, _ in torch.utils.data.DataLoader(ds, batch_size=64):
            net.train().features(x)
    torch.save(net.state_dict(), path)
    return str(path)


def spread(configs, k: int):
    """k configurations spread evenly over the grid's order (all of them when k >= len)."""
    if k >= len(configs):
        return list(configs)
    return (
        [configs[round(i * (len(configs) - 1) / (k - 1))] for i in range(k)]
        if k > 1
        else [configs[0]]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--classes", type=int, default=5)
    p.add_argument("--per-class", type=int, default=30, help="training images per class")
    p.add_argument("--val-per-class", type=int, default=10)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument(
        "--tutorial-configs", type=int, default=12, help="configurations the tutorial way trains"
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads for the tutorial way")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    configs = [(lr, s) for lr in GRID["lr"] for s in GRID["size_inner"]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        roots = {
            "train": make_image_folder(
                tmp / "train", classes=args.classes, per_class=args.per_class, size=224, seed=1
            ),
            "val": make_image_folder(
                tmp / "val", classes=args.classes, per_class=args.val_per_class, size=224, seed=2
            ),
        }
        weights = calibrated_backbone(roots["train"], tmp / "backbone.pth")
        n_train, n_val = args.classes * args.per_class, args.classes * args.val_per_class
        print(
            f"{len(configs)} configurations, {n_train} training + {n_val} validation images of "
            "224x224, "
            f"{args.classes} classes, {args.epochs} epochs, batch {BATCH}; torch threads "
            f"{args.threads}, "
            f"{available_cores()} cores",
            flush=True,
        )

        gm_seconds = []
        gm_time, df = greymatter_sweep(roots, weights, args.classes, args.epochs)
        gm_seconds.append(gm_time)
        print(
            f"greymatter: {gm_time:.1f} s (first configuration, with the backbone pass: "
            f"{df.seconds.iloc[0]:.1f} s;"
            f" the other {len(df) - 1}: {df.seconds.iloc[1:].sum():.2f} s)",
            flush=True,
        )
        subset = spread(configs, args.tutorial_configs)
        tut_seconds, tut_acc = tutorial_sweep(roots, weights, subset, args.epochs)
        gm_time, df2 = greymatter_sweep(roots, weights, args.classes, args.epochs)
        gm_seconds.append(gm_time)
        print(f"greymatter again: {gm_time:.1f} s", flush=True)
        assert df2.drop(columns="seconds").equals(
            df.drop(columns="seconds")
        ), "greymatter's two runs differ"

    tutorial_total = sum(tut_seconds) / len(subset) * len(configs)
    how = (
        "measured"
        if len(subset) == len(configs)
        else f"EXTRAPOLATED from {len(subset)} of {len(configs)} configurations "
        f"({sum(tut_seconds):.1f} s measured)"
    )
    print("\nbest val_acc, greymatter (rows lr, columns size_inner):")
    print(df.pivot(index="lr", columns="size_inner", values="val_acc").to_string())
    print("best val_acc, tutorial:")
    for (lr, s), acc in zip(subset, tut_acc):
        print(f"  lr={lr:g} size_inner={s}: {acc:.3f}")
    print(
        f"\ntutorial way: {tutorial_total:.1f} s for {len(configs)} configurations ({how}), "
        f"{tutorial_total / len(configs):.1f} s per configuration"
    )
    print(
        f"greymatter:   {max(gm_seconds):.1f} s (slower of "
        f"{', '.join(f'{s:.1f}' for s in gm_seconds)})"
    )
    print(f"speed-up:     {tutorial_total / max(gm_seconds):.1f}x")


if __name__ == "__main__":
    main()

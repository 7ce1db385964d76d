"""Forward + backward time per batch: greymatter's C++ models against the PyTorch reference models,
in one run.

    BrainTumorCNN, batch 32, 3x128x128, vs the tutorial's nn.Module (same layers, same weights)
    MobileNetV2,   batch 32, 3x224x224, vs torchvision.models.mobilenet_v2 (same weights)

Each step is what a learner's loop does per batch: zero_grad, forward, cross-entropy, backward, both
models called from Python with the same input. Steps alternate between the two models (order flipped
every round) so machine noise hits both alike. Per model: wall-clock seconds per step (median and
min over rounds) and the ratios greymatter / reference of the median, the min and the median process
CPU time (below 1: greymatter is faster). On a shared machine the min and CPU-time ratios are the
steadier ones.

    .venv/bin/python bench/models.py [--rounds 7] [--device cpu|cuda] \\
                                     [--only braintumorcnn|mobilenet_v2]
                                     [--threads N] [--verbose]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import greymatter as gm

VERBOSE = False


class TutorialBrainTumorCNN(nn.Module):
    def __init__(self, num_classes=4, image_size=128):
        super().__init__()
        widths = [3, 32, 64, 128, 256, 512]
        for i in range(1, 6):
            setattr(self, f"conv{i}", nn.Conv2d(widths[i - 1], widths[i], kernel_size=3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(widths[i]))
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(512 * (image_size // 32) ** 2, 256)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x):
        for i in range(1, 6):
            x = self.pool(F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x))))
        x = self.dropout(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step_seconds(model, x, y, device: str):
    """(wall seconds, process CPU seconds) of one step."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(name: str, ours, ref, shape, classes: int, rounds: int, device: str) -> dict:
    ours.load_state_dict(ref.state_dict())
    ours.to(device).train(), ref.to(device).train()
    x = torch.randn(*shape, device=device)
    y = torch.randint(0, classes, (shape[0],), device=device)
    for _ in range(2):  # warm-up: allocator, oneDNN/cuDNN algorithm choice
        step_seconds(ours, x, y, device), step_seconds(ref, x, y, device)
    times = {"ours": [], "ref": []}
    for r in range(rounds):
        order = [("ours", ours), ("ref", ref)] if r % 2 == 0 else [("ref", ref), ("ours", ours)]
        for key, model in order:
            times[key].append(step_seconds(model, x, y, device))
    if VERBOSE:
        print(name, {k: [round(wall, 3) for wall, _ in v] for k, v in times.items()})
    wall = {k: [w for w, _ in v] for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    row = {"model": name, "batch": "x".join(map(str, shape))}
    for k in ("ref", "ours"):
        row[k], row[k + "_min"] = statistics.median(wall[k]), min(wall[k])
    row["ratio"], row["ratio_min"] = row["ours"] / row["ref"], row["ours_min"] / row["ref_min"]
    row["ratio_cpu"] = cpu["ours"] / cpu["ref"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", choices=["braintumorcnn", "mobilenet_v2"])
    parser.add_argument("--verbose", action="store_true", help="print every step time")
    parser.add_argument(
        "--threads", type=int, help="torch.set_num_threads (default: greymatter's, all cores)"
    )
    args = parser.parse_args()
    device = args.device
    if args.threads:
        torch.set_num_threads(args.threads)
    global VERBOSE
    VERBOSE = args.verbose
    what = device if device == "cpu" else torch.cuda.get_device_name(0)
    print(
        f"torch {torch.__version__}, {what}, {torch.get_num_threads()} threads, {args.rounds} "
        "rounds, "
        "step = zero_grad + forward + cross-entropy + backward"
    )
    torch.manual_seed(0)
    rows = []
    if args.only in (None, "braintumorcnn"):
        rows.append(
            compare(
                "BrainTumorCNN",
                gm.models.BrainTumorCNN(),
                TutorialBrainTumorCNN(),
                (32, 3, 128, 128),
                4,
                args.rounds,
                device,
            )
        )
    if args.only in (None, "mobilenet_v2"):
        rows.append(
            compare(
                "MobileNetV2",
                gm.models.mobilenet_v2(),
                torchvision.models.mobilenet_v2(),
                (32, 3, 224, 224),
                1000,
                args.rounds,
                device,
            )
        )
    print(
        f"{'model':<14} {'input':<14} {'reference s (min)':>18} {'greymatter s (min)':>19} "
        f"{'ratio':>6} "
        f"{'min':>6} {'cpu':>6}"
    )
    for r in rows:
        print(
            f"{r['model']:<14} {r['batch']:<14} {r['ref']:>9.3f} ({r['ref_min']:.3f}) "
            f"{r['ours']:>10.3f} "
            f"({r['ours_min']:.3f}) {r['ratio']:>6.3f} {r['ratio_min']:>6.3f} "
            f"{r['ratio_cpu']:>6.3f}"
        )


if __name__ == "__main__":
    main()

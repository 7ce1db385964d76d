"""Image-folder loading: torchvision's ImageFolder + DataLoader(num_workers=2) vs greymatter's
ImageFolder + DataLoader(num_workers=2), same 512x512 JPEG folder, same batch size, in one run.

Chains: the tutorials' Resize(128) + ToTensor + Normalize (exact, and with ImageFolder(draft=True));
an augmentation chain (RandomResizedCrop(224) + flip + rotation + ColorJitter + Normalize); and the
first chain's second epoch with cache=True. Also the decode-only floor: reading + decoding the same
files on one thread, greymatter's decoder and PIL's. Each figure is a full epoch (torchvision's
includes starting its worker processes, as in the tutorials), the best of --repeat. Besides images/s
(wall clock), CPU time per image is reported (this process and its children): on a shared machine it
is the steadier measure.

    .venv/bin/python bench/loader.py [--images 384] [--batch 32] [--workers 2] [--repeat 3]
"""
import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch
import torchvision
import torchvision.transforms as TV

import greymatter as gm
from greymatter import _core
from greymatter import transforms as T
from greymatter.sample_data import make_image_folder

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
RESIZE = (
    [T.Resize(128), T.ToTensor(), T.Normalize(MEAN, STD)],
    [TV.Resize(128), TV.ToTensor(), TV.Normalize(MEAN, STD)],
)
AUGMENT = (
    [
        T.RandomResizedCrop(224),
        T.RandomHorizontalFlip(),
        T.RandomRotation(15),
        T.ColorJitter(0.2, 0.2, 0.2, 0.05),
        T.ToTensor(),
        T.Normalize(MEAN, STD),
    ],
    [
        TV.RandomResizedCrop(224),
        TV.RandomHorizontalFlip(),
        TV.RandomRotation(15),
        TV.ColorJitter(0.2, 0.2, 0.2, 0.05),
        TV.ToTensor(),
        TV.Normalize(MEAN, STD),
    ],
)


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(loader, repeat: int):
    """(best wall seconds, CPU seconds of that epoch) over `repeat` epochs."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        cpu, start = cpu_seconds(), time.perf_counter()
        count = sum(len(labels) for _, labels in loader)
        wall = time.perf_counter() - start
        best = min(best, (wall, cpu_seconds() - cpu))
    assert count > 0
    return best


def torchvision_loader(root: Path, chain, batch: int, workers: int):
    ds = torchvision.datasets.ImageFolder(str(root), transform=TV.Compose(chain))
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers)


def greymatter_loader(
    root: Path, chain, batch: int, workers: int, cache: bool, draft: bool = False
):
    ds = gm.datasets.ImageFolder(root, transform=T.Compose(chain), draft=draft)
    return gm.DataLoader(
        ds, batch_size=batch, shuffle=True, num_workers=workers, seed=0, cache=cache
    )


def decode_floor(root: Path):
    """CPU seconds per image to read and decode every file on one thread: greymatter's decoder,
    PIL's."""
    from PIL import Image

    paths = sorted(str(p) for p in root.rglob("*.jpg"))
    cpu = time.thread_time()
    for p in paths:
        _core.read_image(p)
    ours = (time.thread_time() - cpu) / len(paths)
    cpu = time.thread_time()
    for p in paths:
        with Image.open(p) as im:
            im.convert("RGB")
    return ours, (time.thread_time() - cpu) / len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=384, help="JPEGs in the folder (4 classes)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--repeat", type=int, default=3, help="epochs per measurement; the fastest is kept"
    )
    args = parser.parse_args()
    per_class = max(1, args.images // 4)
    n = per_class * 4
    print(
        f"torch {torch.__version__} / torchvision {torchvision.__version__}; {n} JPEGs of "
        "512x512 (quality 90), "
        f"batch {args.batch}, num_workers={args.workers} on both sides, best of {args.repeat} "
        "epochs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = make_image_folder(
            Path(tmp) / "photos", classes=4, per_class=per_class, size=512, seed=0, quality=90
        )
        runs = []  # (name, torchvision (wall, cpu), greymatter (wall, cpu))
        ref = measure(torchvision_loader(root, RESIZE[1], args.batch, args.workers), args.repeat)
        runs.append(
            (
                "Resize(128)+ToTensor+Normalize",
                ref,
                measure(
                    greymatter_loader(root, RESIZE[0], args.batch, args.workers, cache=False),
                    args.repeat,
                ),
            )
        )
        runs.append(
            (
                "  same, ImageFolder(draft=True)",
                ref,
                measure(
                    greymatter_loader(
                        root, RESIZE[0], args.batch, args.workers, cache=False, draft=True
                    ),
                    args.repeat,
                ),
            )
        )
        cached = greymatter_loader(root, RESIZE[0], args.batch, args.workers, cache=True)
        measure(cached, 1)  # the first epoch fills the cache
        runs.append(("  same, 2nd epoch with cache=True", ref, measure(cached, args.repeat)))
        ref = measure(torchvision_loader(root, AUGMENT[1], args.batch, args.workers), args.repeat)
        runs.append(
            (
                "RandomResizedCrop(224)+flip+rotation+ColorJitter+Normalize",
                ref,
                measure(
                    greymatter_loader(root, AUGMENT[0], args.batch, args.workers, cache=False),
                    args.repeat,
                ),
            )
        )
        ours_floor, pil_floor = decode_floor(root)

    print(
        f"\n{'chain':60s} {'torchvision':>12s} {'greymatter':>11s} {'ratio':>6s}   "
        f"{'CPU ms/img tv / gm':>19s} {'ratio':>6s}"
    )
    for name, (ref_wall, ref_cpu), (our_wall, our_cpu) in runs:
        print(
            f"{name:60s} {n / ref_wall:8,.0f} i/s {n / our_wall:7,.0f} i/s "
            f"{ref_wall / our_wall:5.1f}x   "
            f"{ref_cpu / n * 1e3:8.2f} / {our_cpu / n * 1e3:5.2f}      "
            f"{ref_cpu / max(our_cpu, 1e-9):5.1f}x"
        )
    print(
        f"\ndecode-only floor, 1 thread: greymatter (read + libjpeg-turbo, the codec OpenCV wraps) "
        f"{ours_floor * 1e3:.2f} ms CPU per image; PIL (open + convert('RGB')) "
        f"{pil_floor * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()

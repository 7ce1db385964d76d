"""Random transforms: the parameters greymatter draws have torchvision's distributions (two-sample
Kolmogorov-Smirnov distance against torchvision's own get_params), applying the drawn parameters
with torchvision's functional ops gives our pixels (mean <= 1/255, max <= 8/255 after
un-normalizing, as for the deterministic transforms), and the draws depend only on (seed, epoch,
index): the same augmented batches for any num_workers."""
import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch
import torchvision
import torchvision.transforms as TV
import torchvision.transforms.functional as F
from PIL import Image

import greymatter as gm
from greymatter import _core
from greymatter import transforms as T
from conftest import max_and_mean_levels

N = 3000  # draws per distribution; both samplers are seeded, so the test is deterministic
KS_LIMIT = 0.06  # about the 0.1% critical value of the two-sample KS statistic at N = 3000 (0.050)


def ks(a, b) -> float:
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a, b])
    return float(
        np.max(
            np.abs(
                np.searchsorted(a, grid, "right") / len(a)
                - np.searchsorted(b, grid, "right") / len(b)
            )
        )
    )


def our_params(transform, height, width, channels=3, seed=11):
    return [
        t[0][1]
        for t in _core.trace_transforms(T.to_specs(transform), height, width, channels, seed, 0, N)
    ]


def test_random_resized_crop_draws_torchvisions_crops():
    height, width = 150, 260  # wide: the fallback and the size limits both matter
    ours = np.array(our_params(T.RandomResizedCrop(8), height, width))  # rows: top, left, h, w
    torch.manual_seed(0)
    image = torch.zeros(1, height, width)
    ref = np.array(
        [TV.RandomResizedCrop.get_params(image, [0.08, 1.0], [3 / 4, 4 / 3]) for _ in range(N)],
        float,
    )
    for name, column in (
        ("area", lambda p: p[:, 2] * p[:, 3] / (height * width)),
        ("log aspect", lambda p: np.log(p[:, 3] / p[:, 2])),
        ("top", lambda p: p[:, 0] / np.maximum(height - p[:, 2], 1)),
        ("left", lambda p: p[:, 1] / np.maximum(width - p[:, 3], 1)),
    ):
        assert ks(column(ours), column(ref)) < KS_LIMIT, name
    assert (ours[:, 0] + ours[:, 2] <= height).all() and (ours[:, 1] + ours[:, 3] <= width).all()


def test_rotation_flip_and_jitter_draw_torchvisions_distributions():
    torch.manual_seed(0)
    angles = our_params(T.RandomRotation((-20, 35)), 10, 10)
    ref = [TV.RandomRotation.get_params([-20.0, 35.0]) for _ in range(N)]
    assert ks([a[0] for a in angles], ref) < KS_LIMIT

    for flip in (T.RandomHorizontalFlip(0.3), T.RandomVerticalFlip(0.3)):
        flips = sum(p[0] for p in our_params(flip, 10, 10))
        ref_flips = sum(float(torch.rand(1) < 0.3) for _ in range(N))
        assert abs(flips - ref_flips) < 4 * math.sqrt(N * 0.3 * 0.7), flip

    jitter = T.ColorJitter(brightness=0.4, contrast=(0.5, 1.2), saturation=0.3, hue=0.1)
    ours = np.array(our_params(jitter, 10, 10))  # rows: order[4], factors[4]
    ref = [
        TV.ColorJitter.get_params(jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue)
        for _ in range(N)
    ]
    for k in range(4):
        assert ks(ours[:, 4 + k], [r[1 + k] for r in ref]) < KS_LIMIT, k
    orders = Counter(tuple(int(v) for v in row[:4]) for row in ours)
    assert set(orders) == set(
        itertools.permutations(range(4))
    )  # every order occurs, about equally often
    assert max(orders.values()) < 2 * N / 24 and min(orders.values()) > N / 24 / 2


def replay(image, trace, size):
    """torchvision's functional ops with the parameters our chain drew."""
    for name, p in trace:
        if name.startswith("RandomResizedCrop"):
            image = F.resized_crop(image, int(p[0]), int(p[1]), int(p[2]), int(p[3]), size)
        elif name.startswith("RandomHorizontalFlip"):
            image = F.hflip(image) if p[0] else image
        elif name.startswith("RandomVerticalFlip"):
            image = F.vflip(image) if p[0] else image
        elif name.startswith("RandomRotation"):
            image = F.rotate(image, p[0])
        elif name.startswith("ColorJitter"):
            ops = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
            for k in p[:4]:
                if not math.isnan(p[4 + int(k)]):
                    image = ops[int(k)](image, p[4 + int(k)])
    return image


@pytest.mark.parametrize("grey", [False, True])
def test_drawn_parameters_applied_by_torchvision_give_our_pixels(photo_folder, grey):
    mean, std = ((0.5,), (0.25,)) if grey else ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    steps = [T.Grayscale()] if grey else []
    steps += [
        T.RandomResizedCrop(40),
        T.RandomHorizontalFlip(),
        T.RandomVerticalFlip(),
        T.RandomRotation(25),
        T.ColorJitter(0.4, 0.4, 0.4, 0.1),
        T.ToTensor(),
        T.Normalize(mean, std),
    ]
    ds = gm.datasets.ImageFolder(photo_folder, transform=T.Compose(steps))
    ref = torchvision.datasets.ImageFolder(str(photo_folder))
    finish = TV.Compose([TV.ToTensor(), TV.Normalize(mean, std)])
    random_steps = 0
    for i in range(len(ds)):
        for epoch in (0, 3):
            ours, _ = ds.source.get(i, epoch, 5)
            trace = ds.source.trace(i, epoch, 5)
            random_steps += len(trace)
            image = ref[i][0].convert("L") if grey else ref[i][0]
            expected = finish(replay(image, trace, [40, 40]))
            worst, mean_diff = max_and_mean_levels(ours, expected, std)
            assert mean_diff <= 1.0 and worst <= 8.0, (
                ds.samples[i][0],
                epoch,
                trace,
                worst,
                mean_diff,
            )
    assert random_steps == len(ds) * 2 * 5


def test_fixed_parameter_ops_match_torchvision_functional(photo_folder):
    image = Image.open(sorted(photo_folder.rglob("*.png"))[0]).convert("RGB")
    cases = [
        (
            T.RandomRotation((33.3, 33.3), fill=(10, 200, 30)),
            lambda im: F.rotate(im, 33.3, fill=[10, 200, 30]),
        ),
        (T.RandomRotation((-90, -90)), lambda im: F.rotate(im, -90)),
        (T.RandomRotation((12, 12), center=(3, 40)), lambda im: F.rotate(im, 12, center=[3, 40])),
        (T.RandomHorizontalFlip(1.0), F.hflip),
        (T.RandomVerticalFlip(1.0), F.vflip),
        (T.ColorJitter(brightness=(1.7, 1.7)), lambda im: F.adjust_brightness(im, 1.7)),
        (T.ColorJitter(contrast=(0.3, 0.3)), lambda im: F.adjust_contrast(im, 0.3)),
        (T.ColorJitter(saturation=(1.9, 1.9)), lambda im: F.adjust_saturation(im, 1.9)),
        (T.ColorJitter(hue=(-0.27, -0.27)), lambda im: F.adjust_hue(im, -0.27)),
    ]
    for ours, ref in cases:
        expected = F.to_tensor(ref(image))
        got = T.Compose([ours, T.ToTensor()])(image)
        worst, mean_diff = max_and_mean_levels(got, expected)
        assert mean_diff <= 1.0 and worst <= 8.0, (ours, worst, mean_diff)


def test_augmented_batches_are_the_same_for_any_num_workers(photo_folder):
    tf = T.Compose(
        [
            T.RandomResizedCrop(24),
            T.RandomHorizontalFlip(),
            T.RandomRotation(15),
            T.ColorJitter(0.3, 0.3),
            T.ToTensor(),
        ]
    )
    ds = gm.datasets.ImageFolder(photo_folder, transform=tf)
    reference = [x for x, _ in gm.DataLoader(ds, batch_size=5, shuffle=True, seed=3, num_workers=0)]
    for workers in (1, 2, 3):
        loader = gm.DataLoader(ds, batch_size=5, shuffle=True, seed=3, num_workers=workers)
        got = [x for x, _ in loader]
        assert len(got) == len(reference) and all(torch.equal(a, b) for a, b in zip(got, reference))
        second = [x for x, _ in loader]  # next epoch: new augmentations
        assert not all(torch.equal(a, b) for a, b in zip(second, reference))
    torch.testing.assert_close(
        ds[3][0], ds[3][0], rtol=0, atol=0
    )  # ds[i] is (seed 0, epoch 0, index i)

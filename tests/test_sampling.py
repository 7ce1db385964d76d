"""Imbalanced classes: DataLoader(sampler=...) draws in C++ from (seed, epoch), so per-epoch class
counts of sampler="balanced" are equal within sampling noise and identical for any worker count; a
repeated sample gets its own augmentation."""
import math

import pytest
import torch

import greymatter as gm
from greymatter import transforms as T
from greymatter.sample_data import make_image_folder

COUNTS = (40, 4)  # 10:1


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_image_folder(
        tmp_path_factory.mktemp("imbalanced"),
        classes=["common", "rare"],
        per_class=list(COUNTS),
        size=32,
        variants=[("png", "L")],
    )


def plain(folder):
    return gm.datasets.ImageFolder(
        folder, transform=T.Compose([T.Grayscale(), T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    )


def class_counts(loader, epoch):
    counts = torch.zeros(2, dtype=torch.int64)
    for _, labels in loader.epoch(epoch):
        counts += torch.bincount(labels, minlength=2)
    return counts


def test_balanced_sampler_draws_each_class_equally_often(folder):
    ds = plain(folder)
    assert class_counts(gm.DataLoader(ds, batch_size=16), 0).tolist() == list(COUNTS)
    n = 2000
    loader = gm.DataLoader(ds, batch_size=64, sampler="balanced", num_samples=n, seed=3)
    assert len(loader) == math.ceil(n / 64)
    per_epoch = [class_counts(loader, e) for e in range(4)]
    for counts in per_epoch:
        assert counts.sum() == n
        # Binomial(2000, 1/2): sd 22.4; 4 sd. Unweighted draws would give ~182 rare images.
        assert abs(int(counts[1]) - n / 2) < 4 * math.sqrt(n / 4)
    assert len({tuple(c.tolist()) for c in per_epoch}) > 1  # each epoch draws anew


def test_sampler_batches_are_identical_for_any_worker_count(folder):
    ds = gm.datasets.ImageFolder(
        folder,
        transform=T.Compose(
            [T.Grayscale(), T.RandomResizedCrop(24, scale=(0.3, 1.0)), T.ToTensor()]
        ),
    )

    def epoch(workers):
        loader = gm.DataLoader(
            ds, batch_size=16, sampler="balanced", num_samples=120, num_workers=workers, seed=9
        )
        return [(x.clone(), y.clone()) for x, y in loader.epoch(1)]

    one, two, none = epoch(1), epoch(2), epoch(0)
    for (x1, y1), (x2, y2), (x0, y0) in zip(one, two, none):
        assert torch.equal(y1, y2) and torch.equal(y1, y0)
        assert torch.equal(x1, x2) and torch.equal(x1, x0)
    # The rare class's 4 images come ~15 times each: every repeat is cropped anew.
    rare = torch.cat([x[y == 1] for x, y in one])
    assert len(rare) > 20 and len(torch.unique(rare.flatten(1), dim=0)) == len(rare)


def test_weights_tensors_and_torch_weighted_random_sampler_agree(folder):
    ds = plain(folder)
    weights = [0.0] * 40 + [1.0] * 4  # only the rare class
    from_list = gm.DataLoader(ds, batch_size=8, sampler=weights, num_samples=12, seed=1)
    assert class_counts(from_list, 0).tolist() == [0, 12]
    torch_sampler = torch.utils.data.WeightedRandomSampler(torch.tensor(weights), 12)
    from_torch = gm.DataLoader(ds, batch_size=8, sampler=torch_sampler, seed=1)
    for (x1, y1), (x2, y2) in zip(from_list.epoch(0), from_torch.epoch(0)):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    # Without replacement: each sample at most once, so the 4 rare images and nothing else.
    once = gm.DataLoader(ds, batch_size=8, sampler=weights, num_samples=4, replacement=False)
    labels = torch.cat([y for _, y in once.epoch(0)])
    assert labels.tolist() == [1, 1, 1, 1]
    assert "sampler=weights" in repr(once)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sampler": "balanced", "shuffle": True}, "exclude each other"),
        ({"sampler": [1.0, 2.0]}, "2 weights for a dataset of 44"),
        ({"sampler": [-1.0] + [1.0] * 43}, "finite and >= 0"),
        ({"sampler": "rare-first"}, "use 'balanced'"),
        ({"sampler": torch.utils.data.SequentialSampler(range(44))}, "SequentialSampler"),
        ({"num_samples": 10}, "settings of a sampler"),
        ({"sampler": [1.0] * 44, "num_samples": 50, "replacement": False}, "without replacement"),
    ],
)
def test_bad_sampler_arguments_are_config_errors(folder, kwargs, message):
    with pytest.raises(gm.ConfigError, match=message):
        gm.DataLoader(plain(folder), batch_size=8, **kwargs)

"""DataLoader: coverage, reproducibility, worker-count independence, errors, early exit."""
import os

import pytest
import torch

import greymatter as gm


@pytest.fixture
def ds(tiny_mnist):
    return gm.datasets.MNIST(root=tiny_mnist[0])


def labels_of(loader):
    return torch.cat([y for _, y in loader]).tolist()


def test_batches_cover_every_sample_once_and_match_dataset(ds):
    loader = gm.DataLoader(ds, batch_size=32, shuffle=True, seed=1)
    assert len(loader) == 7
    seen = []
    for x, y in loader:
        assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape[1:] == (1, 28, 28)
        seen.append((x, y))
    x, y = seen[2]
    # Each image in a batch is the dataset's own sample: find it by label+content.
    assert sorted(torch.cat([b[1] for b in seen]).tolist()) == sorted(ds.targets.tolist())
    all_images = torch.stack([ds[i][0] for i in range(len(ds))])
    for img in x[:3]:
        assert (all_images - img).abs().flatten(1).amax(1).min() == 0


def test_shuffle_is_seeded_and_differs_per_epoch(ds):
    a = gm.DataLoader(ds, batch_size=16, shuffle=True, seed=3)
    b = gm.DataLoader(ds, batch_size=16, shuffle=True, seed=3)
    first = labels_of(a)
    assert first == labels_of(b)
    assert labels_of(a) != first  # second epoch reshuffles
    torch.manual_seed(5)
    c = gm.DataLoader(ds, batch_size=16, shuffle=True)
    torch.manual_seed(5)
    d = gm.DataLoader(ds, batch_size=16, shuffle=True)
    assert labels_of(c) == labels_of(d)


def test_same_batches_for_any_num_workers(ds):
    ref = [x for x, _ in gm.DataLoader(ds, batch_size=10, shuffle=True, seed=9, num_workers=0)]
    for workers in (1, 2, 4):
        got = [
            x
            for x, _ in gm.DataLoader(ds, batch_size=10, shuffle=True, seed=9, num_workers=workers)
        ]
        assert len(got) == len(ref) and all(torch.equal(g, r) for g, r in zip(got, ref))


def test_held_batches_are_not_overwritten(ds):
    batches = [x for x, _ in gm.DataLoader(ds, batch_size=8, num_workers=2)]
    expected = torch.stack([ds[i][0] for i in range(len(ds))])
    torch.testing.assert_close(torch.cat(batches), expected, rtol=0, atol=0)


def test_subset_loader_and_drop_last(ds):
    train, val = gm.random_split(ds, [150, 50], seed=0)
    loader = gm.DataLoader(val, batch_size=16, drop_last=True)
    assert len(loader) == 3
    assert set(labels_of(loader)) <= set(ds.targets[val.indices].tolist())


def os_threads() -> int:
    return len(
        os.listdir("/proc/self/task")
    )  # C++ workers included, unlike threading.active_count()


def test_breaking_out_joins_threads(ds):
    before = os_threads()
    loader = gm.DataLoader(ds, batch_size=4, num_workers=3)
    for _ in range(5):
        it = iter(loader)
        next(it)
        assert os_threads() == before + 3
        del it
        assert os_threads() == before
    assert len(labels_of(loader)) == 200  # and a fresh iterator still works


def test_bad_arguments(ds):
    with pytest.raises(gm.ConfigError, match="batch_size"):
        gm.DataLoader(ds, batch_size=0)
    with pytest.raises(gm.ConfigError, match="greymatter dataset"):
        gm.DataLoader([1, 2, 3], batch_size=2)

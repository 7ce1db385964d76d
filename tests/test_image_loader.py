"""DataLoader over image folders: the cache (later epochs read no file, same batches, refusal when
it would not fit), per-image sizes, thread cleanup, and the C++ engine training straight from the
loader."""
import os
import shutil

import pytest
import torch

import greymatter as gm
from greymatter import loader as loader_module
from greymatter import transforms as T

AUGMENT = T.Compose(
    [
        T.Resize((40, 40)),
        T.RandomHorizontalFlip(),
        T.RandomRotation(20),
        T.ColorJitter(0.3, 0.3),
        T.ToTensor(),
        T.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    ]
)


@pytest.fixture
def photos(photo_folder, tmp_path):
    """A private copy of the sample folder, so a test may delete files."""
    return shutil.copytree(photo_folder, tmp_path / "photos")


def batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


def test_cache_serves_later_epochs_without_the_files(photos):
    cached = gm.DataLoader(
        gm.datasets.ImageFolder(photos, transform=AUGMENT),
        batch_size=5,
        shuffle=True,
        seed=2,
        num_workers=2,
        cache=True,
    )
    plain = gm.DataLoader(
        gm.datasets.ImageFolder(photos, transform=AUGMENT),
        batch_size=5,
        shuffle=True,
        seed=2,
        num_workers=2,
        cache=False,
    )
    info = cached.cache_info()
    # exact for a fixed-size prefix: 24 images of 40x40x3 plus a small per-entry overhead
    assert (
        info["enabled"]
        and info["samples"] == 0
        and 0 <= info["estimated_bytes"] // 24 - 40 * 40 * 3 <= 128
    )
    first = batches(cached)
    assert [torch.equal(a[0], b[0]) for a, b in zip(first, batches(plain))] == [True] * 5
    plain_second = batches(plain)  # epoch 1, read from the files
    info = cached.cache_info()
    assert info["samples"] == 24 and 0 < info["bytes"] <= info["estimated_bytes"]
    for path in photos.rglob("*.*"):
        path.unlink()  # from now on only the cache can provide images
    second = batches(cached)
    assert sum(len(y) for _, y in second) == 24
    assert not all(
        torch.equal(a[0], b[0]) for a, b in zip(first, second)
    )  # new shuffle and augmentations
    # the cache keeps only the deterministic part: epoch 1's random steps are the same as without it
    assert all(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(second, plain_second)
    )
    with pytest.raises(gm.DataError, match="does not exist"):
        batches(plain)


def test_cache_refuses_when_it_would_not_fit(photo_folder, monkeypatch):
    ds = gm.datasets.ImageFolder(photo_folder, transform=AUGMENT)
    monkeypatch.setattr(loader_module._core, "available_memory_bytes", lambda: 100_000)
    with pytest.raises(gm.ConfigError, match=r"cache=True needs .* but only .* available"):
        gm.DataLoader(ds, batch_size=4, cache=True)
    assert not gm.DataLoader(ds, batch_size=4, cache=None).cache_info()[
        "enabled"
    ]  # automatic: too big, no cache
    monkeypatch.undo()
    assert gm.DataLoader(ds, batch_size=4).cache_info()[
        "enabled"
    ]  # small enough: cached automatically


def test_split_loaders_share_the_datasets_cache(photo_folder):
    ds = gm.datasets.ImageFolder(photo_folder, transform=AUGMENT)
    train, val = gm.random_split(ds, [0.75, 0.25], seed=0)
    for part in (train, val):
        batches(gm.DataLoader(part, batch_size=4, cache=True))
    assert ds.source.cached_samples == 24


def test_sizes_by_the_shorter_side_need_a_crop_to_batch(photo_folder):
    ds = gm.datasets.ImageFolder(photo_folder, transform=T.Compose([T.Resize(30), T.ToTensor()]))
    shapes = {tuple(ds[i][0].shape) for i in range(len(ds))}
    assert len(shapes) > 1 and all(min(s[1:]) == 30 for s in shapes)  # ds[i] has its own size
    with pytest.raises(gm.DataError, match="add CenterCrop or Resize"):
        batches(gm.DataLoader(ds, batch_size=24, num_workers=2))
    cropped = gm.datasets.ImageFolder(
        photo_folder, transform=T.Compose([T.Resize(30), T.CenterCrop(30), T.ToTensor()])
    )
    assert [tuple(x.shape) for x, _ in gm.DataLoader(cropped, batch_size=24)] == [(24, 3, 30, 30)]


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_early_exit_joins_workers_and_pin_memory_is_accepted(photo_folder):
    ds = gm.datasets.ImageFolder(photo_folder, transform=AUGMENT)
    loader = gm.DataLoader(ds, batch_size=2, num_workers=3, pin_memory=True, cache=False)
    before = os_threads()
    for _ in range(3):
        it = iter(loader)
        x, y = next(it)
        assert x.shape == (2, 3, 40, 40) and y.dtype == torch.int64
        del it
        assert os_threads() == before
    both = [iter(loader), iter(loader)]  # two live iterators over one loader
    assert sum(len(y) for _, y in both[0]) == sum(len(y) for _, y in both[1]) == 24


def test_engine_trains_from_an_image_folder_loader(photo_folder):
    tf = T.Compose(
        [
            T.Grayscale(),
            T.Resize((28, 28)),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize((0.5,), (0.25,)),
        ]
    )
    ds = gm.datasets.ImageFolder(photo_folder, transform=tf)
    loader = gm.DataLoader(ds, batch_size=8, shuffle=True, seed=0, num_workers=2)
    torch.manual_seed(0)
    model = gm.models.MNISTNet(hidden=(32,), num_classes=3)
    trainer = gm.Trainer(model, lr=3e-3, progress=False)
    trainer.fit(loader, epochs=30)  # the C++ engine pulls every batch itself
    assert trainer.evaluate(gm.DataLoader(ds, batch_size=24))["accuracy"] >= 0.9

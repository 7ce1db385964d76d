"""A frozen backbone's features, computed once and cached, train the head to exactly the results of
running the backbone every batch; random transforms or an unfrozen backbone turn the cache off."""
import pytest
import torch

import greymatter as gm
from greymatter.train import feature_cache
from greymatter import transforms as T
from greymatter.sample_data import make_image_folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    train = make_image_folder(root / "train", classes=3, per_class=8, size=(72, 80), seed=1)
    val = make_image_folder(root / "val", classes=3, per_class=4, size=(72, 80), seed=2)
    return train, val


def loaders(folders, transform):
    train = gm.datasets.ImageFolder(folders[0], transform=transform)
    val = gm.datasets.ImageFolder(folders[1], transform=transform)
    return gm.DataLoader(train, batch_size=6, shuffle=True, seed=3), gm.DataLoader(
        val, batch_size=6
    )


def run(folders, cache, transform=None, size_inner=16, data=None):
    transform = transform or T.Compose(
        [T.Resize((64, 64)), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)]
    )
    torch.manual_seed(0)
    with pytest.warns(
        UserWarning, match="random initial weights"
    ):  # frozen and random: fine for equal results
        model = gm.models.TransferClassifier(num_classes=3, size_inner=size_inner, dropout=0.2)
    tr = gm.Trainer(model, lr=1e-2, progress=False, cache_features=cache, seed=1)
    hist = tr.fit(*(data or loaders(folders, transform)), epochs=3)
    return tr, hist.df.drop(columns="seconds")


def test_cached_features_give_the_same_training(folders):
    feature_cache.clear()
    plain_tr, plain = run(folders, cache=False)
    assert feature_cache.memory_bytes() == 0
    cached_tr, cached = run(folders, cache=True)
    assert feature_cache.memory_bytes() == (24 + 12) * 1280 * 4  # train + val features, once each
    assert cached[["epoch", "train_acc", "val_acc", "lr"]].equals(
        plain[["epoch", "train_acc", "val_acc", "lr"]]
    )
    torch.testing.assert_close(
        torch.tensor(cached.values), torch.tensor(plain.values), rtol=1e-4, atol=1e-5
    )
    for name, value in plain_tr.model.state_dict().items():
        torch.testing.assert_close(
            cached_tr.model.state_dict()[name], value, rtol=1e-4, atol=1e-5, msg=name
        )


def test_second_configuration_reuses_the_features(folders, monkeypatch):
    feature_cache.clear()
    data = loaders(
        folders, T.Compose([T.Resize((64, 64)), T.ToTensor()])
    )  # a sweep reuses its datasets
    run(folders, cache="auto", size_inner=8, data=data)
    assert feature_cache.memory_bytes() == (24 + 12) * 1280 * 4  # "auto" did cache
    calls = []
    real = feature_cache._core.Engine.features
    monkeypatch.setattr(
        feature_cache._core.Engine, "features", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    run(
        folders, cache="auto", size_inner=32, data=data
    )  # same backbone weights (seeded), same data: no backbone pass
    assert calls == []


def test_random_transforms_or_trainable_backbone_turn_the_cache_off(folders):
    augment = T.Compose([T.RandomResizedCrop(64), T.ToTensor()])
    assert not feature_cache.deterministic(augment)
    assert feature_cache.deterministic(T.Compose([T.Resize(64), T.CenterCrop(64), T.ToTensor()]))
    with pytest.raises(gm.ConfigError, match="frozen backbone"):
        run(folders, cache=True, transform=augment)
    model = gm.models.TransferClassifier(num_classes=3, freeze=False)
    assert not feature_cache.applies(model, None)


def test_train_and_val_of_the_same_size_keep_their_own_features(folders, monkeypatch):
    feature_cache.clear()
    tf = T.Compose([T.Resize((64, 64)), T.ToTensor()])
    train = gm.datasets.ImageFolder(folders[0], transform=tf)
    val = gm.datasets.ImageFolder(
        folders[0], transform=tf
    )  # same size, indices and transform; own source
    data = gm.DataLoader(train, batch_size=6, shuffle=True, seed=3), gm.DataLoader(
        val, batch_size=6
    )
    run(folders, cache=True, data=data)
    assert feature_cache.memory_bytes() == (24 + 24) * 1280 * 4  # neither evicted the other
    calls = []
    real = feature_cache._core.Engine.features
    monkeypatch.setattr(
        feature_cache._core.Engine, "features", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    run(folders, cache=True, data=data)
    assert calls == []

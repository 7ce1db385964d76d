"""Imbalanced classes: DataLoader(sampler=...) draws in C++ from (seed, epoch), so per-epoch class
counts of sampler="balanced" are equal within sampling noise and identical for any worker count; a
repeated sample gets its own augmentation; Trainer(class_weights="balanced") trains and evaluates
with torch's CrossEntropyLoss(weight=n / (k * count)), and records the weights in best.json."""
import json
import math

import pytest
import torch
from torch import nn

import greymatter as gm
from greymatter import cli
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


def test_balanced_class_weights_are_torch_cross_entropy_weights(folder, tmp_path):
    ds = plain(folder)
    expected = [44 / (2 * 40), 44 / (2 * 4)]  # n / (k * count), scikit-learn's "balanced"
    torch.manual_seed(0)
    model = gm.models.MNISTNet(in_features=32 * 32, hidden=(16,), num_classes=2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    train = gm.DataLoader(ds, batch_size=8, shuffle=True, seed=5)
    trainer = gm.Trainer(
        model, class_weights="balanced", checkpoint=str(tmp_path / "best.pth"), progress=False
    )
    trainer.fit(train, epochs=1)
    assert trainer.class_weights == pytest.approx(expected)
    meta = json.loads((tmp_path / "best.json").read_text())
    assert meta["trainer"]["class_weights"] == pytest.approx(expected)
    assert meta["trainer"]["class_weights_rule"] == "balanced"

    # The same epoch in PyTorch: same start, same batches, torch's weighted loss and Adam.
    reference = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 16), nn.ReLU(), nn.Linear(16, 2))
    reference.load_state_dict(
        {f"{1 if k.startswith('fc1') else 3}.{k.split('.')[-1]}": v for k, v in start.items()}
    )
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(expected, dtype=torch.float32))
    opt = torch.optim.Adam(reference.parameters(), lr=1e-3)
    for x, y in train.epoch(0):
        opt.zero_grad()
        loss_fn(reference(x), y).backward()
        opt.step()
    trained = {
        f"{1 if k.startswith('fc1') else 3}.{k.split('.')[-1]}": v
        for k, v in model.state_dict().items()
    }
    for k, v in reference.state_dict().items():
        torch.testing.assert_close(trained[k], v, atol=1e-5, rtol=1e-4)

    everything = gm.DataLoader(ds, batch_size=len(ds))  # one batch: torch's weighted mean
    x, y = next(iter(everything))
    with torch.no_grad():
        want = loss_fn(reference(x), y).item()
    assert trainer.evaluate(everything)["loss"] == pytest.approx(want, rel=1e-4)


def test_class_weights_of_the_wrong_length_or_sign_are_config_errors(folder):
    train = gm.DataLoader(plain(folder), batch_size=8)
    model = gm.models.MNISTNet(in_features=32 * 32, hidden=(8,), num_classes=2)
    with pytest.raises(gm.ConfigError, match="3 entries but the training set has 2 classes"):
        gm.Trainer(model, class_weights=[1.0, 2.0, 3.0], progress=False).fit(train, epochs=1)
    with pytest.raises(gm.ConfigError, match="finite and >= 0"):
        gm.Trainer(model, class_weights=[1.0, -2.0], progress=False)
    with pytest.raises(gm.ConfigError, match="'balanced'"):
        gm.Trainer(model, class_weights="inverse", progress=False)
    with pytest.raises(gm.ConfigError, match="cross_entropy"):
        gm.Trainer(gm.models.ExamModel(), loss="bce", class_weights="balanced", progress=False)


@pytest.mark.parametrize("balance", ["weights", "sampler"])
def test_cli_train_balance(folder, tmp_path, balance, monkeypatch):
    from greymatter.cli import train as cli_train

    made = []  # the loaders train builds, the training one first

    def loader(*a, **kw):
        made.append(gm.DataLoader(*a, **kw))
        return made[-1]

    monkeypatch.setattr(cli_train, "DataLoader", loader)
    out = tmp_path / balance
    args = ["train", "--data", str(folder), "--model", "mnistcnn", "--image-size", "32"]
    args += ["--epochs", "1", "--batch-size", "8", "--val-fraction", "0.25", "--balance", balance]
    assert cli.main(args + ["--grayscale", "--num-workers", "1", "--out", str(out)]) == 0
    trainer = json.loads((out / "best.json").read_text())["trainer"]
    if balance == "weights":  # 30 + 3 training images after a stratified 3:1 split
        counts = [30, 3]
        assert trainer["class_weights"] == pytest.approx([33 / (2 * c) for c in counts])
        assert trainer["class_weights_rule"] == "balanced"
        assert made[0].sampler is None and made[0].shuffle
    else:
        assert trainer["class_weights"] == []
        assert made[0].sampler == "balanced" and not made[0].shuffle
        assert made[0].weighted_sampler.num_samples == 33
    assert "--balance" in json.loads((out / "run.json").read_text())["command"]

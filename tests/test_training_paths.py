"""One contract, three ways to train: a greymatter model in the C++ engine, a learner's own
nn.Module in the same engine (its forward called from C++), and the Python loop (here forced by a
loss function of the learner's own). Each edge case must come out the same on all three, checked
against the tutorial's eager loop where one can be written."""
import os
import signal
import threading

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import greymatter as gm

from conftest import write_idx
from test_engine_math import TutorialMLP

PATHS = ["cpp-model", "module-on-engine", "python-loop"]


def cross_entropy(output, labels):
    """A loss of the learner's own: the engine cannot run it, so the Python loop does."""
    return F.cross_entropy(output, labels)


def make(path, hidden=(32,), classes=10, **kwargs):
    """(model, trainer) for `path`, the model's weights drawn from seed 0 in PyTorch's order."""
    torch.manual_seed(0)
    ref = TutorialMLP(hidden=hidden)
    if classes != 10:
        last = f"fc{len(hidden) + 1}"
        setattr(ref, last, nn.Linear(hidden[-1], classes))
    if path == "cpp-model":
        model = gm.models.MNISTNet(hidden=hidden, num_classes=classes)
        model.load_state_dict(ref.state_dict())
    else:
        model = ref
    if path == "python-loop":
        kwargs.setdefault("loss", cross_entropy)
        with pytest.warns(UserWarning, match="not fused"):
            trainer = gm.Trainer(model, progress=False, **kwargs)
        assert not trainer.fused
    else:
        trainer = gm.Trainer(model, progress=False, **kwargs)
        assert trainer.fused
    return model, trainer


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same(a, b, tol=1e-5):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=tol, atol=tol, msg=name)


@pytest.fixture
def data(tiny_mnist):
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    return gm.DataLoader(ds, batch_size=20, shuffle=True, seed=1)


def eager_epochs(loader, epochs, make_opt, accumulate=1, unfreeze_after=None):
    """The tutorial's loop on the same batches: the reference for the cases below."""
    torch.manual_seed(0)
    model = TutorialMLP(hidden=(32,))
    if unfreeze_after is not None:
        model.fc1.weight.requires_grad_(False)
    opt = make_opt(model.parameters())
    for epoch in range(epochs):
        if epoch == unfreeze_after:
            model.fc1.weight.requires_grad_(True)
        batches = list(loader.epoch(epoch))
        for i, (x, y) in enumerate(batches, 1):
            (F.cross_entropy(model(x), y) / accumulate).backward()
            if i % accumulate == 0 or i == len(batches):
                opt.step()
                opt.zero_grad()
    return weights(model)


@pytest.mark.parametrize("path", PATHS)
def test_gradient_accumulation(data, path):
    model, trainer = make(path, optimizer="sgd", lr=0.1, accumulate=3)
    trainer.fit(data, epochs=2)  # 10 batches an epoch: steps after 3, 6, 9 and the last
    assert trainer.engine.optimizer_steps == 8
    expected = eager_epochs(data, 2, lambda p: torch.optim.SGD(p, lr=0.1), accumulate=3)
    assert_same(weights(model), expected)


@pytest.mark.parametrize("path", PATHS)
def test_non_finite_batches_are_skipped(data, path):
    model, trainer = make(path, non_finite="skip", accumulate=2)
    with torch.no_grad():
        model.fc1.bias.fill_(float("inf"))
    before = weights(model)
    stats = trainer.engine.train_epoch(data.core, 0)
    assert (stats.batches, stats.skipped, stats.samples) == (10, 10, 0)
    assert trainer.engine.optimizer_steps == 0
    assert_same(weights(model), before)
    _, strict = make(path)
    with torch.no_grad():
        strict.model.fc1.bias.fill_(float("nan"))
    with pytest.raises(gm.TrainingError, match="loss became nan at epoch 1, batch 1"):
        strict.fit(data, epochs=1)


@pytest.mark.parametrize("path", PATHS)
def test_layer_unfrozen_after_the_first_epoch(data, path):
    model, trainer = make(path)
    model.fc1.weight.requires_grad_(False)

    def unfreeze(row):
        model.fc1.weight.requires_grad_(True)

    trainer.fit(data, epochs=3, on_epoch=unfreeze)
    trainer.model.load_state_dict(trainer._latest_state)  # the last epoch's, not the best one's
    expected = eager_epochs(data, 3, lambda p: torch.optim.Adam(p, lr=1e-3), unfreeze_after=1)
    assert_same(weights(model), expected)


@pytest.fixture
def bad_label_data(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, size=100, dtype=np.uint8)
    labels[67] = 9  # in the fourth batch of 20; the models below have 8 outputs
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (100, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    ds = gm.datasets.MNIST(root=tmp_path, transform=gm.transforms.ToTensor())
    return gm.DataLoader(ds, batch_size=20)


@pytest.mark.parametrize("path", PATHS)
def test_a_bad_label_in_a_later_batch_is_named(bad_label_data, path):
    model, trainer = make(path, classes=8)
    seen = []
    with pytest.raises(gm.ConfigError, match="label 9 is out of range for a model with 8 outputs"):
        trainer.engine.train_epoch(
            bad_label_data.core, 0, progress=lambda d, t: seen.append(d), every=1
        )
    assert seen == [1, 2, 3]  # raised in the fourth batch, before its step
    with pytest.raises(gm.ConfigError, match="label 9 is out of range"):
        trainer.evaluate(bad_label_data)


@pytest.mark.parametrize("path", PATHS)
def test_evaluate_with_amp(data, path):
    # amp=True is the default: bf16 autocast on CUDA, nothing on the CPU; both paths the same.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, trainer = make(path, amp=True, device=device)
    result = trainer.evaluate(data)
    _, reference = make("cpp-model", amp=True, device=device)
    assert result == pytest.approx(reference.evaluate(data), rel=1e-3 if device == "cuda" else 1e-6)
    x = torch.stack([data.dataset[i][0] for i in range(len(data.dataset))])
    model.eval()
    with torch.no_grad():
        logits = model(x.to(device))
    assert result["loss"] == pytest.approx(
        F.cross_entropy(logits, data.dataset.targets.to(device)).item(),
        rel=1e-2 if device == "cuda" else 1e-5,
    )


@pytest.mark.parametrize("path", PATHS)
def test_ctrl_c_mid_epoch_stops_after_the_batch(data, path):
    model, trainer = make(path, optimizer="sgd", lr=0.1)

    def interrupt(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer.engine.train_epoch(data.core, 0, progress=interrupt, every=1)
    assert trainer.engine.optimizer_steps == 3
    torch.manual_seed(0)
    ref = TutorialMLP(hidden=(32,))
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for i, (x, y) in enumerate(data.epoch(0), 1):
        F.cross_entropy(ref(x), y).backward()
        opt.step()
        opt.zero_grad()
        if i == 3:
            break
    assert_same(weights(model), weights(ref))
    assert len(trainer.fit(data, epochs=1)) == 1  # usable afterwards


@pytest.mark.parametrize("path", PATHS)
def test_a_real_sigint_stops_fit_and_joins_the_loader_threads(path):
    full = gm.datasets.FashionMNIST(train=True, transform=gm.transforms.ToTensor())
    train = gm.DataLoader(gm.Subset(full, range(6000)), batch_size=16, shuffle=True, num_workers=2)
    model, trainer = make(path, hidden=(256, 256), progress_every=1)
    threads_before = len(os.listdir("/proc/self/task"))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(train, epochs=50)
    timer.join()
    assert trainer.history.interrupted and len(trainer.history) < 50
    assert len(os.listdir("/proc/self/task")) == threads_before


def test_a_module_returning_a_tuple_is_named():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)

        def forward(self, x):
            out = self.fc(x.flatten(1))
            return out, out

    trainer = gm.Trainer(TwoHeads(), progress=False)
    ds = gm.datasets.FashionMNIST(train=False, transform=gm.transforms.ToTensor())
    with pytest.raises(
        gm.ConfigError, match="TwoHeads.forward returned tuple; the Trainer needs one"
    ):
        trainer.fit(gm.DataLoader(gm.Subset(ds, range(64)), batch_size=32), epochs=1)


def test_a_module_gets_the_thread_budget_of_its_layers(data):
    # MNISTNet-sized layers at batch 20 are far below the threading threshold: one thread, as for
    # the built-in model; the count comes from the module's own Linear layers.
    from greymatter.train.module_cost import macs_per_sample

    model = TutorialMLP(hidden=(32,))
    assert macs_per_sample(model, (1, 28, 28)) == 784 * 32 + 32 * 10
    seen = []
    before = torch.get_num_threads()
    gm.Trainer(model, progress=False).engine.train_epoch(
        data.core, 0, progress=lambda d, t: seen.append(torch.get_num_threads()), every=5
    )
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
    conv = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 28 * 28, 10))
    assert macs_per_sample(conv, (1, 28, 28)) == 28 * 28 * 8 * 9 + 8 * 28 * 28 * 10
    # The same layers as a greymatter model: the same count, so the same thread budget.
    cnn = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    assert macs_per_sample(cnn, (1, 28, 28)) == gm.models.MNISTCNN().macs_per_sample()


def test_free_cores_leave_out_a_busy_process():
    # The engine caps its threads to the cores no other process is running on, measured when each
    # pass starts; a spinning process takes one.
    import subprocess
    import sys
    import time

    from greymatter import _core
    from greymatter._threads import available_cores

    cores = available_cores()
    busy = subprocess.Popen([sys.executable, "-c", "while 1: pass"])
    try:
        time.sleep(0.3)
        assert 1 <= _core._free_cores() <= max(1, cores - 1)
    finally:
        busy.kill()
        busy.wait()


def test_channels_last_batches_only_for_a_module_that_takes_them():
    # On CUDA with amp the engine gives conv models channels_last batches; the tutorials' CNNs that
    # flatten with x.view(-1, C * H * W) would fail on them, so the engine asks first.
    from greymatter.train.module_cost import takes_channels_last

    class ViewCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 28 * 28, 10)

        def forward(self, x):
            return self.fc(self.conv(x).view(-1, 4 * 28 * 28))

    class FlattenCNN(ViewCNN):
        def forward(self, x):
            return self.fc(self.conv(x).flatten(1))

    model = ViewCNN().train()
    assert not takes_channels_last(model, (3, 28, 28))
    assert model.training  # the probe runs in eval mode and puts the mode back
    assert takes_channels_last(FlattenCNN(), (3, 28, 28))
    assert not takes_channels_last(TutorialMLP(), (784,))  # not an image batch

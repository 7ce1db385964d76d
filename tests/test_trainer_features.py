"""Trainer features proven on crafted validation curves and on small real runs: plateau LR,
early stopping, best-weight restore, resume == uninterrupted, the plain nn.Module fallback,
predict / predict_topk, non-finite batches."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import greymatter as gm
from greymatter.train.trainer import resume_path

from test_engine_math import TutorialMLP


class CraftedValidation:
    """Wraps a Trainer's engine so validation returns the accuracies given, in order."""

    def __init__(self, engine, accuracies):
        self._engine, self._acc = engine, iter(accuracies)

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def evaluate(self, loader, progress=None, every=50):
        acc = next(self._acc)
        return SimpleNamespace(
            loss=1.0 - acc, accuracy=acc, samples=1, batches=1, skipped=0, interrupted=False
        )


@pytest.fixture
def data(tiny_mnist):
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    train, val = gm.random_split(ds, [150, 50], seed=0)
    return gm.DataLoader(train, batch_size=25, shuffle=True, seed=1), gm.DataLoader(
        val, batch_size=50
    )


def test_plateau_reduces_lr_like_torch(data):
    accs = [0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7]
    tr = gm.Trainer(
        gm.models.MNISTNet(hidden=(16,)),
        lr=0.01,
        progress=False,
        scheduler=gm.schedulers.ReduceLROnPlateau(mode="max", factor=0.5, patience=2),
    )
    tr.engine = CraftedValidation(tr.engine, accs)
    hist = tr.fit(*data, epochs=len(accs))
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=2)
    expected = []
    for a in accs:
        expected.append(opt.param_groups[0]["lr"])
        ref.step(a)
    assert hist.column("lr") == pytest.approx(expected)
    assert hist.column("lr")[-1] < 0.01


def test_early_stopping_and_best_weights_on_a_crafted_curve(data, tmp_path):
    accs = [0.5, 0.8, 0.7, 0.75, 0.79, 0.9, 0.95]
    snapshots = []
    tr = gm.Trainer(
        gm.models.MNISTNet(hidden=(16,)),
        early_stopping=3,
        checkpoint=str(tmp_path / "best.pth"),
        progress=False,
    )
    tr.engine = CraftedValidation(tr.engine, accs)
    hist = tr.fit(
        *data,
        epochs=7,
        on_epoch=lambda row: snapshots.append(
            {k: v.clone() for k, v in tr.model.state_dict().items()}
        ),
    )
    assert len(hist) == 5 and hist.best_epoch == 2  # three epochs without beating 0.8
    for name, value in tr.model.state_dict().items():  # the model holds epoch 2's weights again
        assert torch.equal(value, snapshots[1][name]), name
        assert torch.equal(torch.load(tmp_path / "best.pth")[name], snapshots[1][name]), name
    assert not torch.equal(snapshots[1]["fc1.weight"], snapshots[4]["fc1.weight"])


def test_best_weights_restored_without_early_stopping(data):
    accs = [0.6, 0.9, 0.7]
    snapshots = []
    tr = gm.Trainer(gm.models.MNISTNet(hidden=(16,)), progress=False)
    tr.engine = CraftedValidation(tr.engine, accs)
    tr.fit(
        *data,
        epochs=3,
        on_epoch=lambda row: snapshots.append(tr.model.state_dict()["fc1.weight"].clone()),
    )
    assert torch.equal(tr.model.state_dict()["fc1.weight"], snapshots[1])


@pytest.mark.parametrize(
    "scheduler", [gm.schedulers.ReduceLROnPlateau(mode="max", factor=0.5, patience=0), "onecycle"]
)
def test_resumed_run_equals_uninterrupted_run(data, tmp_path, scheduler):
    def trainer(path):
        torch.manual_seed(123)  # same initial weights
        model = gm.models.MNISTNet(hidden=(32,), dropout=0.2)
        return gm.Trainer(
            model, lr=3e-3, scheduler=scheduler, checkpoint=str(path), progress=False, seed=5
        )

    full = trainer(tmp_path / "a" / "best.pth")
    full_hist = full.fit(*data, epochs=4).df.drop(columns="seconds")

    first = trainer(tmp_path / "b" / "best.pth")

    def crash(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        first.fit(*data, epochs=4, on_epoch=crash)
    torch.manual_seed(999)  # a different init: resume must overwrite it
    second = gm.Trainer(
        gm.models.MNISTNet(hidden=(32,), dropout=0.2),
        lr=3e-3,
        scheduler=scheduler,
        checkpoint=str(tmp_path / "b" / "best.pth"),
        progress=False,
        seed=5,
    )
    second.resume(resume_path(tmp_path / "b" / "best.pth"))
    resumed_hist = second.fit(*data).df.drop(columns="seconds")  # finishes the planned 4 epochs
    assert resumed_hist.equals(full_hist)
    for name, value in full.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[name], value), name


def test_resume_refuses_other_settings(data, tmp_path):
    tr = gm.Trainer(
        gm.models.MNISTNet(hidden=(16,)), checkpoint=str(tmp_path / "best.pth"), progress=False
    )
    tr.fit(*data, epochs=1)
    other = gm.Trainer(gm.models.MNISTNet(hidden=(16,)), optimizer="sgd", progress=False)
    with pytest.raises(gm.ConfigError, match="optimizer='adam'"):
        other.resume(tmp_path / "best.resume.pth")
    with pytest.raises(gm.ConfigError, match="no training state"):
        other.resume(tmp_path / "missing.resume.pth")


def test_plain_torch_module_trains_like_the_engine(data):
    torch.manual_seed(0)
    ref = TutorialMLP(hidden=(32,))
    cpp = gm.models.MNISTNet(hidden=(32,))
    cpp.load_state_dict(ref.state_dict())
    h_ref = gm.Trainer(ref, progress=False).fit(*data, epochs=2).df.drop(columns="seconds")
    h_cpp = gm.Trainer(cpp, progress=False).fit(*data, epochs=2).df.drop(columns="seconds")
    assert h_ref.columns.equals(h_cpp.columns)
    torch.testing.assert_close(
        torch.tensor(h_ref.values, dtype=torch.float64),
        torch.tensor(h_cpp.values, dtype=torch.float64),
        rtol=1e-4,
        atol=1e-5,
    )
    for name, value in cpp.state_dict().items():
        torch.testing.assert_close(ref.state_dict()[name], value, rtol=1e-4, atol=1e-5)


def test_predict_and_topk_match_eager_softmax(data):
    train, val = data
    tr = gm.Trainer(gm.models.MNISTNet(hidden=(16,)), progress=False)
    tr.fit(train, epochs=1)
    probs, labels = tr.predict(val)
    x = torch.stack([val.dataset[i][0] for i in range(len(val.dataset))])
    with torch.no_grad():
        expected = tr.model(x).softmax(1)
    torch.testing.assert_close(probs, expected)
    assert torch.equal(labels, torch.tensor([val.dataset[i][1] for i in range(len(val.dataset))]))
    top = tr.predict_topk(x[0], k=3)
    assert [c for c, _ in top] == [tr.classes[i] for i in expected[0].topk(3).indices]
    assert [p for _, p in top] == pytest.approx(expected[0].topk(3).values.tolist())
    with pytest.raises(gm.ConfigError, match=r"\(C, H, W\)"):
        tr.predict_topk(torch.zeros(784))


def test_non_finite_batches_can_be_skipped(data):
    model = gm.models.MNISTNet(hidden=(16,))
    with torch.no_grad():
        model.state_dict(keep_vars=True)["fc1.bias"].fill_(float("inf"))
    stats = gm.Trainer(model, non_finite="skip", progress=False).engine.train_epoch(data[0].core, 0)
    assert stats.skipped == stats.batches == 6 and stats.samples == 0


def test_frozen_model_is_refused(data):
    model = gm.models.MNISTNet(hidden=(16,))
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(gm.ConfigError, match="no trainable parameters"):
        gm.Trainer(model, progress=False).fit(data[0], epochs=1)


def test_ctrl_c_during_fit_stops_within_a_batch_and_joins_threads(fashion_small):
    """A real SIGINT (what Jupyter's interrupt button sends) arrives while the C++ epoch runs."""
    import os
    import signal
    import threading

    train = gm.DataLoader(fashion_small, batch_size=16, shuffle=True, num_workers=2, seed=0)
    tr = gm.Trainer(gm.models.MNISTNet(hidden=(256, 256)), progress=False, progress_every=1)
    threads_before = len(os.listdir("/proc/self/task"))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        tr.fit(train, epochs=50)
    timer.join()
    assert tr.history.interrupted and len(tr.history) < 50  # taken mid-run, not after 50 epochs
    assert len(os.listdir("/proc/self/task")) == threads_before  # loader workers joined
    tr.history.interrupted = False
    assert len(tr.fit(gm.DataLoader(fashion_small, batch_size=64), epochs=1)) >= 1  # still usable


@pytest.fixture(scope="module")
def fashion_small():
    full = gm.datasets.FashionMNIST(train=True, transform=gm.transforms.ToTensor())
    return gm.Subset(full, list(range(6000)))


def test_fit_in_steps_equals_one_fit(data):
    """fit(epochs=1) three times trains like fit(epochs=3): each call goes on from the last epoch's
    weights even though the model holds the best ones in between."""

    def trainer():
        torch.manual_seed(7)
        return gm.Trainer(gm.models.MNISTNet(hidden=(32,)), lr=1e-2, progress=False)

    one, steps = trainer(), trainer()
    one.fit(*data, epochs=3)
    for _ in range(3):
        steps.fit(*data, epochs=1)
    assert steps.history.df.drop(columns="seconds").equals(one.history.df.drop(columns="seconds"))
    for k, v in one.model.state_dict().items():
        assert torch.equal(steps.model.state_dict()[k], v), k

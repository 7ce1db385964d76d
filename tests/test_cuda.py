"""The engine on a CUDA device, against the same engine on the CPU (skipped where torch sees no
GPU).

Run on a GPU machine after building there (no OpenCV needed):
    GREYMATTER_WITH_OPENCV=OFF pip install . && pytest tests/test_cuda.py
"""
import pytest
import torch

import greymatter as gm
from greymatter import _core
from greymatter.train.core_options import engine_options, scheduler_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _mnist_loader(root, **kwargs):
    ds = gm.datasets.MNIST(root=root, transform=gm.transforms.ToTensor())
    return gm.DataLoader(ds, batch_size=20, seed=0, **kwargs)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_cuda_epoch_matches_cpu_epoch(tiny_mnist, optimizer):
    # fp32 on both sides (amp=False): the device-side step counts and lr must give the CPU's update.
    loader = _mnist_loader(tiny_mnist[0], shuffle=True)
    cpu_model = gm.models.MNISTNet(hidden=(32,))
    cuda_model = gm.models.MNISTNet(hidden=(32,))
    cuda_model.load_state_dict(cpu_model.state_dict())
    kwargs = {
        "optimizer": optimizer,
        "lr": 1e-2 if optimizer == "sgd" else 1e-3,
        "weight_decay": 0.01,
        "amp": False,
    }
    cpu = _core.Engine(cpu_model, engine_options(**kwargs), "cpu")
    cuda = _core.Engine(cuda_model, engine_options(**kwargs), "cuda")
    assert cuda.capturable and not cpu.capturable
    for epoch in range(2):
        a, b = cpu.train_epoch(loader.core, epoch), cuda.train_epoch(loader.core, epoch)
        assert a.loss == pytest.approx(b.loss, rel=1e-4)
        assert a.samples == b.samples == 200
    for name, p in cpu_model.state_dict().items():
        torch.testing.assert_close(
            cuda_model.state_dict()[name].cpu(), p, rtol=1e-4, atol=1e-5, msg=name
        )


def test_cuda_lr_changes_reach_the_device_step(tiny_mnist):
    # The lr lives in a device tensor on CUDA: a schedule's change must reach it (onecycle, per
    # step).
    loader = _mnist_loader(tiny_mnist[0])
    models = [gm.models.MNISTNet(hidden=(16,)) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    engines = [
        _core.Engine(m, engine_options(amp=False), d) for m, d in zip(models, ["cpu", "cuda"])
    ]
    for e in engines:
        e.set_scheduler(scheduler_config("onecycle", {"max_lr": 0.01, "total_steps": 10}))
        e.train_epoch(loader.core, 0)
    assert engines[0].lr == pytest.approx(engines[1].lr)
    for name, p in models[0].state_dict().items():
        torch.testing.assert_close(
            models[1].state_dict()[name].cpu(), p, rtol=1e-4, atol=1e-5, msg=name
        )


def test_trainer_on_cuda_with_bf16_autocast_learns(tmp_path):
    # amp=True: bf16 autocast and channels_last inputs. Not bit-comparable with fp32, so judged by
    # accuracy.
    full = gm.datasets.FashionMNIST(train=True, transform=gm.transforms.ToTensor())
    train, val, _ = gm.random_split(full, [0.1, 0.02, 0.88], seed=0)
    tr = gm.Trainer(
        gm.models.MNISTCNN(),
        device="cuda",
        amp=True,
        progress=False,
        checkpoint=tmp_path / "best.pth",
    )
    hist = tr.fit(
        gm.DataLoader(train, batch_size=64, shuffle=True, seed=0),
        gm.DataLoader(val, batch_size=256),
        epochs=2,
    )
    assert hist.df["val_acc"].max() >= 0.75
    assert next(tr.model.parameters()).is_cuda
    state = torch.load(
        tmp_path / "best.pth", map_location="cpu"
    )  # a CUDA checkpoint loads on a CPU machine
    assert all(not t.is_cuda for t in state.values())

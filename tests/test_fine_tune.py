"""Trainer.fine_tune on the MobileNetV2 transfer classifier: the head alone with the backbone
frozen, then everything with the backbone at base_lr * lr_mult (two parameter groups of the C++
optimizer), the same weights as torch.optim.Adam with those two groups on the same batches; a
killed fine-tuning run resumed in its phase; bad arguments; greymatter train --fine-tune."""
import copy
import warnings

import pytest
import torch
from torch import nn

import greymatter as gm
from greymatter import cli
from greymatter import transforms as T
from greymatter.sample_data import make_image_folder

BASE_LR, LR_MULT = 2e-3, 0.1


@pytest.fixture(autouse=True)
def one_thread():
    """Float sums split over a different number of threads differ in their last bits, and Adam
    turns the sign of a near-zero gradient into a whole step: the engine takes fewer threads when
    the machine is busy, so both sides run on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("leaves"), classes=3, per_class=8, size=40)


def loader(folder, seed=4):
    ds = gm.datasets.ImageFolder(
        folder,
        transform=T.Compose(
            [T.Resize((32, 32)), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
        ),
    )
    return gm.DataLoader(ds, batch_size=8, shuffle=True, seed=seed)


def transfer(seed=0):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a random frozen backbone: fine for arithmetic
        return gm.models.TransferClassifier(num_classes=3, size_inner=16, freeze=True)


def last_weights(model, into):
    """A callback keeping the weights after each epoch (fit restores the best ones at the end)."""
    return lambda row: into.update({k: v.clone() for k, v in model.state_dict().items()})


def test_fine_tune_is_torch_adam_with_two_parameter_groups(folder):
    model = transfer()
    reference = copy.deepcopy(model)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    train = loader(folder)
    # base_lr, not the Trainer's lr, is used. No feature cache: the backbone runs on every batch as
    # in the tutorial's loop (cached features, computed in other batches, differ in the last bits).
    trainer = gm.Trainer(model, lr=1.0, progress=False, cache_features=False)
    last = {}
    hist = trainer.fine_tune(
        train,
        frozen_epochs=1,
        epochs=2,
        base_lr=BASE_LR,
        lr_mult=LR_MULT,
        callbacks=[last_weights(model, last)],
    )
    assert len(hist) == 3 and not model.frozen
    groups = trainer.engine.param_groups
    assert [g.options.lr for g in groups] == [BASE_LR, BASE_LR * LR_MULT]
    names = [n for n, _ in model.named_parameters()]
    assert {names[i].split(".")[0] for i in groups[1].slots} == {"base_model"}
    assert "base_model" not in {names[i].split(".")[0] for i in groups[0].slots}

    # The tutorial's loop: one Adam, the head's group and the backbone's; the frozen backbone has
    # no gradients in the first epoch, so Adam leaves it (and its state) alone until it unfreezes.
    backbone = [p for n, p in reference.named_parameters() if n.startswith("base_model.")]
    head = [p for n, p in reference.named_parameters() if not n.startswith("base_model.")]
    opt = torch.optim.Adam(
        [{"params": head, "lr": BASE_LR}, {"params": backbone, "lr": BASE_LR * LR_MULT}]
    )
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(3):
        if epoch == 1:
            reference.unfreeze()
        reference.train()
        for x, y in train.epoch(epoch):
            opt.zero_grad(set_to_none=True)
            loss_fn(reference(x), y).backward()
            opt.step()
    moved = [k for k in start if k.startswith("base_model.") and not torch.equal(start[k], last[k])]
    assert moved, "the backbone trained in the second phase"
    for k, v in reference.state_dict().items():
        torch.testing.assert_close(last[k], v, rtol=1e-5, atol=1e-6, msg=k)


def test_a_killed_fine_tune_resumes_in_its_phase(folder, tmp_path):
    def run(checkpoint, stop_after=None):
        trainer = gm.Trainer(transfer(), checkpoint=str(checkpoint), progress=False)
        last = {}
        callbacks = [last_weights(trainer.model, last)]
        if stop_after is not None:  # a run that dies after this epoch
            callbacks.append(lambda row: row["epoch"] < stop_after)
        kwargs = dict(frozen_epochs=2, epochs=2, base_lr=BASE_LR, lr_mult=LR_MULT)
        trainer.fine_tune(loader(folder), callbacks=callbacks, **kwargs)
        return trainer, last, kwargs

    whole, whole_last, kwargs = run(tmp_path / "whole" / "best.pth")
    for stop_after in (1, 3):  # inside the frozen phase, and inside the unfrozen one
        checkpoint = tmp_path / f"stop{stop_after}" / "best.pth"
        run(checkpoint, stop_after)
        resumed = gm.Trainer(transfer(seed=99), checkpoint=str(checkpoint), progress=False)
        resumed.resume(str(checkpoint).replace(".pth", ".resume.pth"))
        assert resumed.epoch == stop_after
        last = {}
        resumed.fine_tune(loader(folder), callbacks=[last_weights(resumed.model, last)], **kwargs)
        strip = [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history.rows]
        assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in whole.history.rows]
        assert [g.options.lr for g in resumed.engine.param_groups] == [BASE_LR, BASE_LR * LR_MULT]
        for k, v in whole_last.items():
            assert torch.equal(last[k], v), k


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (lambda: gm.models.MNISTNet(), {}, "backbone to freeze"),
        (transfer, {"lr_mult": 0.0}, "lr_mult must be a positive number"),
        (transfer, {"base_lr": -1.0}, "base_lr must be a positive number"),
        (transfer, {"frozen_epochs": -1}, "frozen_epochs must be an integer"),
    ],
)
def test_bad_fine_tune_arguments_are_config_errors(folder, make, kwargs, message):
    with pytest.raises(gm.ConfigError, match=message):
        gm.Trainer(make(), progress=False).fine_tune(loader(folder), **kwargs)


def test_fine_tune_refuses_a_torch_optimizer_object(folder):
    model = transfer()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with pytest.raises(gm.ConfigError, match="parameter groups itself"):
        gm.Trainer(model, optimizer=opt, progress=False).fine_tune(loader(folder))


def test_cli_train_fine_tune(folder, tmp_path, capsys):
    weights = tmp_path / "backbone.pth"
    torch.save(transfer().base_model.state_dict(), weights)
    out = tmp_path / "run"
    args = ["train", "--data", str(folder), "--model", "transfer", "--weights", str(weights)]
    args += ["--image-size", "32", "--batch-size", "8", "--val-fraction", "0.25"]
    args += ["--fine-tune", "--frozen-epochs", "1", "--epochs", "1", "--lr-mult", "0.2"]
    assert cli.main(args + ["--num-workers", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/2" in printed and "epoch 2/2" in printed
    assert (out / "best.log.csv").read_text().count("\n") == 3  # header + 2 epochs
    assert cli.main(args + ["--unfreeze", "--out", str(tmp_path / "x")]) == 2
    assert "--fine-tune" in capsys.readouterr().err

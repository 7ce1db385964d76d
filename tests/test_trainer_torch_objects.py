"""A learner's own nn.Module with the tutorial's own loss, optimizer and scheduler objects, trained
by gm.Trainer in the C++ engine: the same history and weights as the built-in model with names,
and as the tutorial's plain eager loop written here, fed the same batches; afterwards the objects
hold the state that loop would have left, so a plain loop can carry on with them."""
import copy
import warnings

import pytest
import torch
from torch import nn, optim
from torch.nn import functional as F

import greymatter as gm

EPOCHS = 8


class MNISTNet(nn.Module):
    """The tutorial notebook's class, as a learner writes it."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


@pytest.fixture
def loaders(tiny_mnist):
    # Random labels: validation accuracy wanders, so ReduceLROnPlateau does reduce.
    tf = gm.transforms.Compose([gm.transforms.ToTensor(), gm.transforms.Normalize((0.5,), (0.5,))])
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=tf)
    train, val = gm.random_split(ds, [150, 50], seed=0)
    return (
        gm.DataLoader(train, batch_size=16, shuffle=True, seed=3),
        gm.DataLoader(val, batch_size=25),
    )


def tutorial_fit(model, criterion, optimizer, scheduler, train, val, epochs, per_step=False):
    """The tutorial's loop, eager PyTorch, on the batches the Trainer sees (loader.epoch(e)); keeps
    the best validation accuracy's weights and loads them at the end, as the tutorial's checkpoint
    cell does."""
    history, best, best_state = [], None, None
    for epoch in range(epochs):
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        loss_sum, correct, n = 0.0, 0, 0
        for images, labels in train.epoch(epoch):
            optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            if per_step:
                scheduler.step()
            loss_sum += loss.item() * len(labels)
            correct += (outputs.argmax(1) == labels).sum().item()
            n += len(labels)
        model.eval()
        val_loss, val_correct, val_n = 0.0, 0, 0
        with torch.no_grad():
            for images, labels in val.epoch(0):
                outputs = model(images)
                val_loss += criterion(outputs, labels).item() * len(labels)
                val_correct += (outputs.argmax(1) == labels).sum().item()
                val_n += len(labels)
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / n,
            "train_acc": correct / n,
            "lr": lr,
            "val_loss": val_loss / val_n,
            "val_acc": val_correct / val_n,
        }
        history.append(row)
        if isinstance(scheduler, optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(row["val_acc"])
        elif scheduler is not None and not per_step:
            scheduler.step()
        if best is None or row["val_acc"] > best:
            best, best_state = row["val_acc"], copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return history


def fit(model, train, val, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fused path says nothing
        trainer = gm.Trainer(model, progress=False, **kwargs)
    hist = trainer.fit(train, val, epochs=EPOCHS)
    assert trainer.fused
    return trainer, [
        {k: r[k] for k in ("epoch", "train_loss", "train_acc", "lr", "val_loss", "val_acc")}
        for r in hist.rows
    ]


def same_history(a, b, tol=1e-5):
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert ra[k] == pytest.approx(rb[k], rel=tol, abs=tol), (ra["epoch"], k)


def same_weights(a: nn.Module, b: nn.Module, tol=1e-5):
    sb = b.state_dict()
    for name, value in a.state_dict().items():
        torch.testing.assert_close(value, sb[name], rtol=tol, atol=tol, msg=name)


def twins():
    """The learner's class and greymatter's built-in MNISTNet, with the same initial weights, and
    a third copy for the eager loop."""
    torch.manual_seed(0)
    own = MNISTNet()
    builtin = gm.models.MNISTNet()
    builtin.load_state_dict(own.state_dict())
    return own, builtin, copy.deepcopy(own)


def test_tutorial_cell_adam_plateau(loaders):
    train, val = loaders
    own, builtin, eager = twins()

    # The notebook cell, unchanged but for the last line.
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(own.parameters(), lr=0.001)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max", factor=0.5, patience=3)
    trainer, hist = fit(own, train, val, loss=criterion, optimizer=optimizer, scheduler=scheduler)

    _, hist_names = fit(
        builtin, train, val, loss="cross_entropy", optimizer="adam", lr=0.001, scheduler="plateau"
    )
    ref_opt = optim.Adam(eager.parameters(), lr=0.001)
    ref_sched = optim.lr_scheduler.ReduceLROnPlateau(ref_opt, "max", factor=0.5, patience=3)
    hist_eager = tutorial_fit(eager, nn.CrossEntropyLoss(), ref_opt, ref_sched, train, val, EPOCHS)

    assert min(r["lr"] for r in hist_eager) < 0.001  # the plateau did reduce
    same_history(hist, hist_names)
    same_history(hist, hist_eager)
    same_weights(own, builtin)
    same_weights(own, eager)

    # The objects read as after the tutorial's loop ...
    assert optimizer.param_groups[0]["lr"] == pytest.approx(ref_opt.param_groups[0]["lr"])
    for key in ("last_epoch", "best", "num_bad_epochs", "cooldown_counter"):
        assert getattr(scheduler, key) == pytest.approx(getattr(ref_sched, key)), key
    assert scheduler._last_lr == pytest.approx(ref_sched._last_lr)
    for p, q in zip(own.parameters(), eager.parameters()):
        ours, theirs = optimizer.state[p], ref_opt.state[q]
        assert float(ours["step"]) == float(theirs["step"])
        for k in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(ours[k], theirs[k], rtol=1e-4, atol=1e-6)
    # ... so a plain loop carries on with them as if it had done the training.
    for model, opt in ((own, optimizer), (eager, ref_opt)):
        model.train()
        for images, labels in train.epoch(EPOCHS):
            opt.zero_grad()
            F.cross_entropy(model(images), labels).backward()
            opt.step()
    same_weights(own, eager, tol=1e-4)


def two_groups(model):
    return [
        {"params": model.fc1.parameters(), "lr": 0.01},
        {"params": [*model.fc2.parameters(), *model.fc3.parameters()], "weight_decay": 1e-3},
    ]


@pytest.mark.parametrize("schedule", ["step", "onecycle"])
def test_sgd_two_groups_with_step_and_onecycle(loaders, schedule):
    train, val = loaders
    own, builtin, eager = twins()
    steps = EPOCHS * len(train)

    def objects(model):
        opt = optim.SGD(two_groups(model), lr=0.05, momentum=0.9)
        if schedule == "step":
            return opt, optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        # torch's defaults: cycle_momentum=True, so SGD's momentum cycles too.
        return opt, optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.02, 0.1], total_steps=steps)

    results = []
    for model in (own, builtin):
        opt, sched = objects(model)
        trainer, hist = fit(
            model, train, val, loss=nn.CrossEntropyLoss(), optimizer=opt, scheduler=sched
        )
        results.append((hist, opt, sched))
    ref_opt, ref_sched = objects(eager)
    hist_eager = tutorial_fit(
        eager,
        nn.CrossEntropyLoss(),
        ref_opt,
        ref_sched,
        train,
        val,
        EPOCHS,
        per_step=schedule == "onecycle",
    )
    same_history(results[0][0], results[1][0])
    same_history(results[0][0], hist_eager)
    same_weights(own, builtin)
    same_weights(own, eager)
    for _, opt, sched in results:
        assert sched.last_epoch == ref_sched.last_epoch
        assert sched._last_lr == pytest.approx(ref_sched._last_lr)
        for ours, theirs in zip(opt.param_groups, ref_opt.param_groups):
            assert ours["lr"] == pytest.approx(theirs["lr"])
            assert ours["momentum"] == pytest.approx(theirs["momentum"])
    assert len({r["lr"] for r in hist_eager}) > 1  # the schedule moved the lr


def test_a_scheduler_stepped_before_fit_continues_from_where_it_is(loaders):
    train, val = loaders
    own, _, eager = twins()

    def objects(model):
        opt = optim.Adam(model.parameters(), lr=0.01)
        sched = optim.lr_scheduler.MultiStepLR(opt, milestones=[4, 6, 6], gamma=0.5)
        for _ in range(3):  # the learner ran three epochs by hand first
            opt.step()
            sched.step()
        return opt, sched

    opt, sched = objects(own)
    _, hist = fit(own, train, val, optimizer=opt, scheduler=sched)
    ref_opt, ref_sched = objects(eager)
    hist_eager = tutorial_fit(eager, nn.CrossEntropyLoss(), ref_opt, ref_sched, train, val, EPOCHS)
    same_history(hist, hist_eager)
    same_weights(own, eager)
    assert sched.last_epoch == ref_sched.last_epoch == 3 + EPOCHS


def test_exponential_lr_and_adamw_on_the_builtin_model(loaders):
    train, val = loaders
    _, builtin, eager = twins()

    def objects(model):
        opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05, betas=(0.8, 0.99))
        return opt, optim.lr_scheduler.ExponentialLR(opt, gamma=0.7)

    opt, sched = objects(builtin)
    _, hist = fit(builtin, train, val, optimizer=opt, scheduler=sched)
    ref_opt, ref_sched = objects(eager)
    hist_eager = tutorial_fit(eager, nn.CrossEntropyLoss(), ref_opt, ref_sched, train, val, EPOCHS)
    same_history(hist, hist_eager)
    same_weights(builtin, eager)


@pytest.mark.parametrize(
    "make_loss",
    [
        lambda: nn.CrossEntropyLoss(weight=torch.linspace(0.5, 1.5, 10), label_smoothing=0.1),
        lambda: nn.CrossEntropyLoss(ignore_index=3),
    ],
    ids=["weight-smoothing", "ignore-index"],
)
def test_loss_objects_train_as_torch_computes_them(loaders, make_loss):
    train, val = loaders
    own, _, eager = twins()
    _, hist = fit(own, train, val, loss=make_loss(), optimizer=optim.SGD(own.parameters(), lr=0.1))
    hist_eager = tutorial_fit(
        eager, make_loss(), optim.SGD(eager.parameters(), lr=0.1), None, train, val, EPOCHS
    )
    same_history(hist, hist_eager)
    same_weights(own, eager)


def test_plateau_reads_the_metric_its_mode_asks_for(loaders):
    # mode='min' with the default monitor reads val_loss (falling here: no reduction); reading
    # val_acc (rising) in 'min' mode would count every epoch as bad and halve the lr.
    train, val = loaders
    model = MNISTNet()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, "min", factor=0.5, patience=1)
    trainer = gm.Trainer(model, optimizer=opt, scheduler=sched, progress=False)
    accs = iter([0.1 * i for i in range(1, 7)])

    class Rising:
        def __getattr__(self, name):
            return getattr(trainer.recipe.engine, name)

        def evaluate(self, loader, progress=None, every=50):
            acc = next(accs)
            return type("S", (), {"loss": 1.0 - acc, "accuracy": acc})()

    trainer.engine = Rising()
    hist = trainer.fit(train, val, epochs=6)
    assert set(hist.column("lr")) == {0.1}
    assert sched.best == pytest.approx(1.0 - 0.6)


def test_foreign_parameters_and_name_settings_next_to_objects_are_refused():
    model, other = MNISTNet(), MNISTNet()
    with pytest.raises(
        gm.ConfigError,
        match=r"optimizer holds 6 parameter\(s\) that are not this "
        r"model's.*built over another model",
    ):
        gm.Trainer(model, optimizer=optim.Adam(other.parameters()))
    opt = optim.Adam(model.parameters())
    with pytest.raises(gm.ConfigError, match=r"lr=0.01 set\(s\) the optimizer by name"):
        gm.Trainer(model, optimizer=opt, lr=0.01)
    with pytest.raises(gm.ConfigError, match="label_smoothing=0.1"):
        gm.Trainer(model, loss=nn.CrossEntropyLoss(), label_smoothing=0.1)
    with pytest.raises(gm.ConfigError, match="built over another optimizer"):
        gm.Trainer(
            model,
            optimizer=opt,
            scheduler=optim.lr_scheduler.StepLR(optim.SGD(model.parameters(), 0.1), 2),
        )
    with pytest.raises(gm.ConfigError, match="pass that optimizer as optimizer="):
        gm.Trainer(model, scheduler=optim.lr_scheduler.StepLR(opt, 2))


@pytest.mark.parametrize(
    "kwargs,what",
    [
        ({"optimizer": "rmsprop"}, "RMSprop is not one of the engine's optimizers"),
        ({"scheduler": "lambda"}, "LambdaLR is not one of the engine's schedules"),
        ({"loss": "function"}, "the loss smooth_l1 is not one the engine computes"),
    ],
)
def test_what_the_engine_does_not_run_trains_in_python_with_a_note(loaders, kwargs, what):
    train, val = loaders
    model = MNISTNet()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    args = {"optimizer": opt}
    if kwargs.get("optimizer") == "rmsprop":
        args["optimizer"] = opt = optim.RMSprop(model.parameters(), lr=1e-3)
    if kwargs.get("scheduler") == "lambda":
        args["scheduler"] = optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)
    if kwargs.get("loss") == "function":

        def smooth_l1(out, y):
            return F.smooth_l1_loss(out, F.one_hot(y, 10).float())

        args["loss"] = smooth_l1
    with pytest.warns(UserWarning, match=f"{what}.*Python loop per batch"):
        trainer = gm.Trainer(model, progress=False, **args)
    assert not trainer.fused
    hist = trainer.fit(train, val, epochs=2)
    assert len(hist) == 2
    if "scheduler" in args:
        assert args["scheduler"].last_epoch == 2 and opt.param_groups[0]["lr"] == 1e-3 * 0.25
    assert any(opt.state[p] for p in model.parameters())  # the user's optimizer did the steps


def test_resume_with_the_objects_equals_the_uninterrupted_run(loaders, tmp_path):
    train, val = loaders

    def trainer(path):
        torch.manual_seed(5)
        model = MNISTNet()
        opt = optim.SGD(two_groups(model), lr=0.05, momentum=0.9)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        tr = gm.Trainer(model, optimizer=opt, scheduler=sched, checkpoint=str(path), progress=False)
        return tr, opt, sched

    full, full_opt, full_sched = trainer(tmp_path / "a" / "best.pth")
    expected = full.fit(train, val, epochs=4).df.drop(columns="seconds")

    first, _, _ = trainer(tmp_path / "b" / "best.pth")

    def crash(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        first.fit(train, val, epochs=4, on_epoch=crash)
    second, opt, sched = trainer(tmp_path / "b" / "best.pth")
    second.resume(tmp_path / "b" / "best.resume.pth")
    assert second.fit(train, val).df.drop(columns="seconds").equals(expected)
    same_weights(second.model, full.model, tol=0)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in full_opt.param_groups]
    assert sched.last_epoch == full_sched.last_epoch == 4


def test_an_lr_set_on_the_optimizer_between_fits_is_used(loaders):
    train, val = loaders
    model = MNISTNet()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    trainer = gm.Trainer(model, optimizer=opt, progress=False)
    trainer.fit(train, val, epochs=1)
    opt.param_groups[0]["lr"] = 1e-4  # as a learner does before training on
    hist = trainer.fit(train, val, epochs=1)
    assert hist.column("lr") == [1e-3, 1e-4] and trainer.lr == 1e-4

"""The C++ engine's optimizers, losses and schedules against torch.optim / torch.nn.functional /
torch.optim.lr_scheduler, run in the test as the reference."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import greymatter as gm
from greymatter import _core
from greymatter.train.core_options import (
    engine_options,
    loss_config,
    param_groups,
    scheduler_config,
)


def make_engine(model, **kwargs):
    """A C++ Engine with the Trainer's keyword arguments, on the CPU."""
    return _core.Engine(model, engine_options(**kwargs), "cpu")


class TutorialMLP(nn.Module):
    """The MNIST tutorial's model, written in plain PyTorch (same key names as MNISTNet)."""

    def __init__(self, hidden=(32,)):
        super().__init__()
        sizes = [784, *hidden, 10]
        for i in range(len(sizes) - 1):
            setattr(self, f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1]))
        self.n = len(sizes) - 1

    def forward(self, x):
        x = x.flatten(1)
        for i in range(1, self.n):
            x = F.relu(getattr(self, f"fc{i}")(x))
        return getattr(self, f"fc{self.n}")(x)


def reference_epoch(model, loader, make_opt, loss_fn=F.cross_entropy, accumulate=1):
    opt = make_opt(model.parameters())
    batches = list(loader.epoch(0))
    for i, (x, y) in enumerate(batches, 1):
        loss = loss_fn(model(x), y)
        (loss / accumulate).backward()
        if i % accumulate == 0 or i == len(batches):
            opt.step()
            opt.zero_grad()
    return model


OPTIMIZERS = [
    ({"optimizer": "adam"}, lambda p: torch.optim.Adam(p, lr=1e-3)),
    (
        {"optimizer": "adam", "weight_decay": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
        lambda p: torch.optim.Adam(p, lr=1e-3, weight_decay=0.05, betas=(0.8, 0.99), eps=1e-6),
    ),
    (
        {"optimizer": "adamw", "weight_decay": 0.1},
        lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.1),
    ),
    ({"optimizer": "sgd", "lr": 0.05}, lambda p: torch.optim.SGD(p, lr=0.05)),
    (
        {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    ),
]


@pytest.mark.parametrize("capturable", [False, True], ids=["host-step", "device-step"])
@pytest.mark.parametrize(
    "kwargs,make_opt", OPTIMIZERS, ids=["adam", "adam-wd", "adamw", "sgd", "sgd-nesterov"]
)
def test_engine_epoch_matches_torch_optim(tiny_mnist, kwargs, make_opt, capturable):
    # capturable=True keeps the step counts and the lr as tensors on the model's device (the CUDA
    # default, so a step can be graph-captured); the update must be the same either way.
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    loader = gm.DataLoader(ds, batch_size=20, seed=0)
    ref = TutorialMLP()
    model = gm.models.MNISTNet(hidden=(32,))
    model.load_state_dict(ref.state_dict())
    assert make_engine(gm.models.MNISTNet(hidden=(32,))).capturable is False  # the default on CPU
    engine = make_engine(model, **{"lr": 1e-3, **kwargs}, capturable=capturable)
    engine.train_epoch(loader.core, 0)
    reference_epoch(ref, loader, make_opt)
    for name, p in ref.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], p, rtol=1e-4, atol=1e-6, msg=name)
    assert engine.optimizer_steps == 10


@pytest.mark.parametrize("capturable", [False, True], ids=["host-step", "device-step"])
@pytest.mark.parametrize("kwargs,make_opt", OPTIMIZERS[:3], ids=["adam", "adam-wd", "adamw"])
def test_unfrozen_layer_starts_its_own_step_count_like_torch_optim(
    tiny_mnist, kwargs, make_opt, capturable
):
    # torch.optim counts steps per parameter: a layer that gets gradients only from epoch 2 on
    # starts Adam's bias correction at step 1 then (a shared count would make its first updates ~3x
    # too big).
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    loader = gm.DataLoader(ds, batch_size=20, shuffle=True, seed=1)
    ref = TutorialMLP()
    model = gm.models.MNISTNet(hidden=(32,))
    model.load_state_dict(ref.state_dict())
    engine = make_engine(model, **{"lr": 1e-3, **kwargs}, capturable=capturable)
    opt = make_opt(ref.parameters())
    for layer in (ref.fc1, model.fc1):
        layer.weight.requires_grad_(False)
    for epoch in range(3):
        if epoch == 1:
            for layer in (ref.fc1, model.fc1):
                layer.weight.requires_grad_(True)
        engine.train_epoch(loader.core, epoch)
        for x, y in loader.epoch(epoch):
            F.cross_entropy(ref(x), y).backward()
            opt.step()
            opt.zero_grad()
    for name, p in ref.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], p, rtol=1e-4, atol=1e-6, msg=name)
    state = engine.optimizer_state()
    assert state["step"].item() == 30
    assert (
        state["step.0"].item() == 20 and state["step.1"].item() == 30
    )  # fc1.weight joined at epoch 2


def test_gradient_accumulation_matches_manual_accumulation(tiny_mnist):
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    loader = gm.DataLoader(ds, batch_size=30, seed=0)  # 7 batches: steps after 3, 6 and the last
    ref = TutorialMLP()
    model = gm.models.MNISTNet(hidden=(32,))
    model.load_state_dict(ref.state_dict())
    engine = make_engine(model, optimizer="sgd", lr=0.1, accumulate=3)
    engine.train_epoch(loader.core, 0)
    reference_epoch(ref, loader, lambda p: torch.optim.SGD(p, lr=0.1), accumulate=3)
    assert engine.optimizer_steps == 3
    for name, p in ref.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], p, rtol=1e-4, atol=1e-6, msg=name)


def test_optimizer_state_round_trip_continues_identically(tiny_mnist):
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    loader = gm.DataLoader(ds, batch_size=20, shuffle=True, seed=3)
    a, b = gm.models.MNISTNet(hidden=(16,)), gm.models.MNISTNet(hidden=(16,))
    b.load_state_dict(a.state_dict())
    ea, eb = make_engine(a, optimizer="adam"), make_engine(b, optimizer="adam")
    ea.train_epoch(loader.core, 0)
    eb.train_epoch(loader.core, 0)
    state = eb.optimizer_state()
    assert state["step"].item() == 10 and state["step.0"].item() == 10 and "exp_avg.0" in state
    c = gm.models.MNISTNet(hidden=(16,))
    c.load_state_dict(b.state_dict())
    ec = make_engine(c, optimizer="adam")
    ec.load_optimizer_state(state)
    ea.train_epoch(loader.core, 1)
    ec.train_epoch(loader.core, 1)
    for name, p in a.state_dict().items():
        assert torch.equal(c.state_dict()[name], p), name
    with pytest.raises(gm.ConfigError, match="unknown entry"):
        ec.load_optimizer_state({"velocity.0": torch.zeros(1)})
    with pytest.raises(gm.ConfigError, match="does not fit"):
        ec.load_optimizer_state({"step.99": torch.tensor(1)})


@pytest.mark.parametrize(
    "saved_capturable", [False, True], ids=["from-host-step", "from-device-step"]
)
@pytest.mark.parametrize("old_format", [False, True], ids=["per-slot-steps", "one-step-count"])
def test_optimizer_state_moves_between_step_modes(tiny_mnist, saved_capturable, old_format):
    # A state saved with step counts on the host loads into an engine keeping them on the device and
    # the other way round; a state from before per-slot counts ("step" only) gives every slot that
    # count.
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    loader = gm.DataLoader(ds, batch_size=20, shuffle=True, seed=3)
    a, b = gm.models.MNISTNet(hidden=(16,)), gm.models.MNISTNet(hidden=(16,))
    b.load_state_dict(a.state_dict())
    ea = make_engine(a, optimizer="adamw", weight_decay=0.1, capturable=saved_capturable)
    eb = make_engine(b, optimizer="adamw", weight_decay=0.1, capturable=not saved_capturable)
    ea.train_epoch(loader.core, 0)
    state = ea.optimizer_state()
    if old_format:
        state = {k: v for k, v in state.items() if not k.startswith("step.")}
    b.load_state_dict(a.state_dict())
    eb.load_optimizer_state(state)
    assert eb.optimizer_state()["step.3"].item() == 10
    ea.train_epoch(loader.core, 1)
    eb.train_epoch(loader.core, 1)
    for name, p in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[name], p, rtol=1e-5, atol=1e-7, msg=name)


# -- losses --------------------------------------------------------------------------------------
def test_losses_match_torch_functional():
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 4), torch.randint(0, 4, (8,))
    w = [1.0, 2.0, 0.5, 1.5]
    pairs = [
        (_core.Loss(loss_config("cross_entropy")), F.cross_entropy(logits, labels)),
        (
            _core.Loss(loss_config("cross_entropy", w, 0.1)),
            F.cross_entropy(logits, labels, weight=torch.tensor(w), label_smoothing=0.1),
        ),
        (_core.Loss(loss_config("mse")), F.mse_loss(logits, F.one_hot(labels, 4).float())),
    ]
    for loss, expected in pairs:
        torch.testing.assert_close(loss(logits, labels), expected)
    z, y = torch.randn(8, 1), torch.randint(0, 2, (8,))
    torch.testing.assert_close(
        _core.Loss(loss_config("bce"))(z.sigmoid(), y),
        F.binary_cross_entropy(z.sigmoid(), y.float()[:, None]),
    )
    torch.testing.assert_close(
        _core.Loss(loss_config("bce_with_logits"))(z, y),
        F.binary_cross_entropy_with_logits(z, y.float()[:, None]),
    )
    assert (
        _core.Loss(loss_config("bce")).correct(z.sigmoid(), y).item()
        == ((z.sigmoid()[:, 0] > 0.5).long() == y).sum().item()
    )
    assert (
        _core.Loss(loss_config("bce_with_logits")).correct(z, y).item()
        == ((z[:, 0] > 0).long() == y).sum().item()
    )


@pytest.mark.parametrize(
    "name,output,labels,message",
    [
        ("cross_entropy", torch.rand(4, 1), torch.zeros(4, dtype=torch.long), "use loss='bce'"),
        (
            "cross_entropy",
            torch.randn(4, 3),
            torch.tensor([0, 1, 2, 5]),
            "label 5 is out of range .* 3 outputs",
        ),
        ("bce", torch.randn(4, 1) * 5, torch.zeros(4, dtype=torch.long), "bce_with_logits"),
        ("bce", torch.rand(4, 3), torch.zeros(4, dtype=torch.long), "use loss='cross_entropy'"),
        ("bce_with_logits", torch.randn(4, 1), torch.tensor([0, 1, 2, 0]), "labels 0 or 1"),
    ],
)
def test_loss_pitfalls_are_explained(name, output, labels, message):
    with pytest.raises(gm.ConfigError, match=message):
        _core.Loss(loss_config(name)).check(output, labels)


def test_more_losses_match_torch_nn():
    # The options the tutorials' loss objects carry: ignore_index, NLLLoss on log-probabilities,
    # BCEWithLogitsLoss's pos_weight.
    torch.manual_seed(1)
    logits, labels = torch.randn(8, 4), torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
    w = [1.0, 2.0, 0.5, 1.5]
    pairs = [
        (
            _core.Loss(loss_config("cross_entropy", ignore_index=2)),
            nn.CrossEntropyLoss(ignore_index=2),
        ),
        (_core.Loss(loss_config("nll", w)), nn.NLLLoss(weight=torch.tensor(w))),
        (_core.Loss(loss_config("nll", ignore_index=0)), nn.NLLLoss(ignore_index=0)),
    ]
    log_probs = logits.log_softmax(1)
    for ours, theirs in pairs:
        x = log_probs if isinstance(theirs, nn.NLLLoss) else logits
        torch.testing.assert_close(ours(x, labels), theirs(x, labels))
    torch.testing.assert_close(
        _core.Loss(loss_config("nll")).probabilities(log_probs), logits.softmax(1)
    )
    z, y = torch.randn(8, 1), torch.randint(0, 2, (8,))
    torch.testing.assert_close(
        _core.Loss(loss_config("bce_with_logits", pos_weight=[3.0]))(z, y),
        nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))(z, y.float()[:, None]),
    )
    # ignore_index is a label the range check lets through; others still fail.
    _core.Loss(loss_config("cross_entropy", ignore_index=-1)).check_labels(
        torch.tensor([0, -1, 3]), 4
    )
    with pytest.raises(gm.ConfigError, match="label -2 is out of range"):
        _core.Loss(loss_config("cross_entropy", ignore_index=-1)).check_labels(
            torch.tensor([0, -2]), 4
        )


def test_bad_loss_options():
    with pytest.raises(gm.ConfigError, match="apply to loss='cross_entropy' or 'nll' only"):
        _core.Loss(loss_config("bce", [1.0, 2.0]))
    with pytest.raises(gm.ConfigError, match="pos_weight applies to loss='bce_with_logits'"):
        _core.Loss(loss_config("bce", pos_weight=[2.0]))
    with pytest.raises(
        gm.ConfigError,
        match="unknown loss 'hinge'; choose one of: cross_entropy, nll, bce, bce_with_logits, mse",
    ):
        loss_config("hinge")


def test_engine_options_name_their_bad_values():
    with pytest.raises(gm.ConfigError, match="unknown optimizer 'rmsprop'; choose one of: adam, "):
        engine_options(optimizer="rmsprop")
    with pytest.raises(gm.ConfigError, match="non_finite must be 'raise' or 'skip', got 'ignore'"):
        engine_options(non_finite="ignore")
    with pytest.raises(gm.ConfigError, match=r"betas must be two numbers .* got \(0.9,\)"):
        engine_options(betas=(0.9,))
    options = engine_options(optimizer="sgd", lr=0.5, betas=(0.8, 0.9), non_finite="skip")
    assert options.optimizer.kind == _core.OptimizerKind.SGD and options.optimizer.lr == 0.5
    assert (options.optimizer.beta1, options.optimizer.beta2) == (0.8, 0.9)
    assert options.non_finite == _core.NonFinite.SKIP and options.capturable is None
    with pytest.raises(gm.ConfigError, match="lr must be a positive number"):  # the core's check
        _core.Engine(gm.models.MNISTNet(hidden=(8,)), engine_options(lr=-1.0), "cpu")


# -- schedules -----------------------------------------------------------------------------------
def torch_lrs(make_sched, steps, metric=None, per_step=False):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = make_sched(opt)
    out = []
    for i in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(metric[i]) if metric is not None else sched.step()
    return out


def gm_lrs(name, options, steps, metric=None):
    s = _core.Scheduler(scheduler_config(name, options), [0.1])
    [lr], out = s.initial_lrs(), []
    for i in range(steps):
        out.append(lr)
        new = s.after_step() if s.per_step else s.after_epoch(metric[i] if metric else None, [lr])
        lr = new[0] if new is not None else lr
    return out


def test_schedules_match_torch_lr_scheduler():
    sch = torch.optim.lr_scheduler
    cases = [
        (("step", {"step_size": 3, "gamma": 0.5}), lambda o: sch.StepLR(o, 3, 0.5), 10, None),
        (
            ("multistep", {"milestones": [5, 2, 5], "gamma": 0.3}),
            lambda o: sch.MultiStepLR(o, [5, 2, 5], 0.3),
            8,
            None,
        ),
        (("exponential", {"gamma": 0.8}), lambda o: sch.ExponentialLR(o, 0.8), 6, None),
        (
            ("cosine", {"T_max": 7, "eta_min": 1e-3}),
            lambda o: sch.CosineAnnealingLR(o, 7, 1e-3),
            7,
            None,
        ),
        (
            ("onecycle", {"max_lr": 0.3, "total_steps": 50}),
            lambda o: sch.OneCycleLR(o, 0.3, total_steps=50, cycle_momentum=False),
            50,
            None,
        ),
        (
            (
                "onecycle",
                {
                    "max_lr": 0.3,
                    "total_steps": 40,
                    "three_phase": True,
                    "anneal_strategy": "linear",
                },
            ),
            lambda o: sch.OneCycleLR(
                o,
                0.3,
                total_steps=40,
                three_phase=True,
                anneal_strategy="linear",
                cycle_momentum=False,
            ),
            40,
            None,
        ),
    ]
    metrics = [0.5, 0.6, 0.6, 0.6, 0.61, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7]
    cases.append(
        (
            ("plateau", {"mode": "max", "factor": 0.5, "patience": 2, "cooldown": 1}),
            lambda o: sch.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=2, cooldown=1),
            len(metrics),
            metrics,
        )
    )
    for (name, options), make, steps, metric in cases:
        expected = torch_lrs(make, steps, metric)
        assert gm_lrs(name, options, steps, metric) == pytest.approx(
            expected, rel=1e-9, abs=1e-12
        ), name
    assert min(gm_lrs("plateau", cases[-1][0][1], len(metrics), metrics)) < 0.1  # it did reduce


def test_schedules_scale_each_parameter_group_like_torch():
    # Two groups at different lrs (a backbone below its head): each keeps its own base lr; plateau
    # floors each at its own min_lr; OneCycleLR takes a max_lr per group and cycles the momentum.
    sch = torch.optim.lr_scheduler
    metrics = [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    cases = [
        ("step", {"step_size": 2, "gamma": 0.5}, lambda o: sch.StepLR(o, 2, 0.5), None),
        ("cosine", {"T_max": 5}, lambda o: sch.CosineAnnealingLR(o, 5), None),
        (
            "plateau",
            {"mode": "max", "factor": 0.5, "patience": 1, "min_lr": [0.0, 0.03]},
            lambda o: sch.ReduceLROnPlateau(o, "max", factor=0.5, patience=1, min_lr=[0.0, 0.03]),
            metrics,
        ),
        (
            "onecycle",
            {
                "max_lr": [0.5, 0.05],
                "total_steps": 9,
                "cycle_momentum": True,
                "base_momentum": 0.8,
                "max_momentum": 0.9,
            },
            lambda o: sch.OneCycleLR(
                o, [0.5, 0.05], total_steps=9, base_momentum=0.8, max_momentum=0.9
            ),
            None,
        ),
    ]
    for name, options, make, metric in cases:
        opt = torch.optim.SGD(
            [
                {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.1},
                {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.2},
            ],
            lr=0.1,
            momentum=0.9,
        )
        ours = _core.Scheduler(scheduler_config(name, options), [0.1, 0.2])
        lrs = ours.initial_lrs()
        ref = make(opt)
        for i in range(9):
            expected = [g["lr"] for g in opt.param_groups]
            assert lrs == pytest.approx(expected, rel=1e-9), (name, i)
            if name == "onecycle":
                assert ours.momentum() == pytest.approx(opt.param_groups[0]["momentum"]), i
            opt.step()
            ref.step(metric[i]) if metric else ref.step()
            new = (
                ours.after_step()
                if ours.per_step
                else ours.after_epoch(metric[i] if metric else None, lrs)
            )
            lrs = new if new is not None else lrs


def test_optimizer_param_groups_match_torch_optim(tiny_mnist):
    # Each group its own lr, weight decay and momentum/betas; a parameter in no group is left alone.
    ds = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    loader = gm.DataLoader(ds, batch_size=20, shuffle=True, seed=4)
    for name, groups, make in [
        (
            "adam",
            [
                {"params": [0, 1], "lr": 1e-2, "betas": (0.8, 0.99)},
                {"params": [2], "weight_decay": 0.1},
            ],
            lambda g: torch.optim.Adam(g, lr=1e-3),
        ),
        (
            "sgd",
            [
                {"params": [0, 1], "lr": 0.05, "momentum": 0.5, "dampening": 0.1},
                {"params": [2, 3], "nesterov": True, "weight_decay": 1e-3},
            ],
            lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9),
        ),
    ]:
        ref = TutorialMLP()
        model = gm.models.MNISTNet(hidden=(32,))
        model.load_state_dict(ref.state_dict())
        options = engine_options(
            optimizer=name,
            lr=0.1 if name == "sgd" else 1e-3,
            momentum=0.9 if name == "sgd" else 0.0,
        )
        engine = _core.Engine(model, options)
        engine.param_groups = param_groups(groups, options.optimizer)
        params = list(ref.parameters())
        opt = make([{**g, "params": [params[i] for i in g["params"]]} for g in groups])
        for epoch in range(2):
            engine.train_epoch(loader.core, epoch)
            for x, y in loader.epoch(epoch):
                F.cross_entropy(ref(x), y).backward()
                opt.step()
                opt.zero_grad()
        for k, p in ref.state_dict().items():
            torch.testing.assert_close(model.state_dict()[k], p, rtol=1e-4, atol=1e-6, msg=k)
        assert [g.options.lr for g in engine.param_groups] == [g["lr"] for g in opt.param_groups]
        assert engine.lrs == [g["lr"] for g in opt.param_groups]
    base = options.optimizer
    with pytest.raises(gm.ConfigError, match="more than one parameter group"):
        engine.param_groups = param_groups([{"params": [0]}, {"params": [0, 1]}], base)
    with pytest.raises(gm.ConfigError, match="names parameter 9"):
        engine.param_groups = param_groups([{"params": [9]}], base)
    with pytest.raises(gm.ConfigError, match="parameter groups have no setting 'amsgrad'"):
        param_groups([{"params": [0], "amsgrad": True}], base)


def test_bad_schedule_options():
    with pytest.raises(gm.ConfigError, match="no option 'patiense'"):
        scheduler_config("plateau", {"patiense": 3})
    with pytest.raises(gm.ConfigError, match="unknown scheduler 'warmup'; choose one of: plateau"):
        scheduler_config("warmup", {})
    with pytest.raises(gm.ConfigError, match="mode must be 'min' or 'max', got 'maximum'"):
        scheduler_config("plateau", {"mode": "maximum"})
    with pytest.raises(gm.ConfigError, match="threshold_mode must be 'rel' or 'abs', got 'REL'"):
        scheduler_config("plateau", {"threshold_mode": "REL"})
    with pytest.raises(gm.ConfigError, match="anneal_strategy must be 'cos' or 'linear'"):
        scheduler_config("onecycle", {"anneal_strategy": "cosine"})
    with pytest.raises(gm.ConfigError, match="patience must be an integer, got 'three'"):
        scheduler_config("plateau", {"patience": "three"})
    with pytest.raises(gm.ConfigError, match="factor must be in"):  # ranges: the C++ core's check
        _core.Scheduler(scheduler_config("plateau", {"factor": 2.0}), [0.1])
    config = scheduler_config("plateau", {"mode": "max", "threshold_mode": "abs", "patience": 3})
    assert config.kind == _core.SchedulerKind.PLATEAU and config.mode == _core.PlateauMode.MAX
    assert config.threshold_mode == _core.ThresholdMode.ABS and config.patience == 3
    assert scheduler_config("cosine", {"T_max": 4}).t_max == 4
    with pytest.raises(gm.ConfigError, match="max_lr has 1 values for 2 parameter groups"):
        _core.Scheduler(
            scheduler_config("onecycle", {"max_lr": [0.1], "total_steps": 5}), [0.1, 0.2]
        )
    assert scheduler_config("plateau", {"min_lr": [0.0, 0.1]}).min_lrs == [0.0, 0.1]
    assert scheduler_config("multistep", {"milestones": [2, 4]}).milestones == [2, 4]
    s = _core.Scheduler(scheduler_config("onecycle", {"max_lr": 0.1, "total_steps": 3}), [0.1])
    for _ in range(3):
        s.after_step()
    with pytest.raises(gm.ConfigError, match="run out"):
        s.after_step()

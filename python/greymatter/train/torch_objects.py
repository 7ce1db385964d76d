"""The tutorial's own torch objects as C++ engine settings, and the engine's state written back into
them.

``gm.Trainer(model, loss=nn.CrossEntropyLoss(), optimizer=optim.Adam(model.parameters(), lr=1e-3),
scheduler=lr_scheduler.ReduceLROnPlateau(optimizer, "max", factor=0.5, patience=3))`` trains in the
C++ engine with torch's arithmetic: this module reads the objects' settings and whatever state they
already hold (a scheduler the user stepped, an optimizer that took steps), and after ``fit`` writes
the engine's state back, so that ``optimizer.param_groups[0]["lr"]``, ``scheduler.last_epoch``, the
optimizer's ``state`` and a plain loop continuing with them read as after the tutorial's own loop.

What the engine does not run (another loss or optimizer class, options it lacks) comes back as a
reason; the Trainer then trains through the Python loop and says why.
"""
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn
from torch.optim import lr_scheduler as sched

from .._core import ConfigError
from . import schedulers

__all__ = ["Translation", "translate_loss", "translate_optimizer", "translate_scheduler"]

_LOSSES = {
    nn.CrossEntropyLoss: "cross_entropy",
    nn.NLLLoss: "nll",
    nn.BCELoss: "bce",
    nn.BCEWithLogitsLoss: "bce_with_logits",
    nn.MSELoss: "mse",
}
_OPTIMIZERS = {torch.optim.Adam: "adam", torch.optim.AdamW: "adamw", torch.optim.SGD: "sgd"}


class Translation:
    """Engine settings for an object, or the reason there are none (``settings is None``)."""

    def __init__(self, settings: Optional[Dict] = None, reason: str = "") -> None:
        self.settings, self.reason = settings, reason

    @property
    def fused(self) -> bool:
        return self.settings is not None


def _floats(t: Optional[torch.Tensor]) -> List[float]:
    return [] if t is None else [float(v) for v in t.detach().flatten().cpu()]


def translate_loss(loss) -> Translation:
    """nn.CrossEntropyLoss (weight, label_smoothing, ignore_index), nn.NLLLoss (weight,
    ignore_index), nn.BCELoss, nn.BCEWithLogitsLoss (pos_weight), nn.MSELoss, all with
    reduction='mean': the engine's loss settings."""
    name = _LOSSES.get(type(loss))  # exactly these classes: a subclass may compute anything
    if name is None:
        what = getattr(loss, "__name__", type(loss).__name__)
        return Translation(
            reason=f"the loss {what} is not one the engine computes (CrossEntropyLoss, NLLLoss, "
            "BCELoss, BCEWithLogitsLoss, MSELoss)"
        )
    if loss.reduction != "mean":
        return Translation(reason=f"{type(loss).__name__}(reduction={loss.reduction!r})")
    settings = {"loss": name}
    if name in ("cross_entropy", "nll"):
        settings.update(class_weights=_floats(loss.weight), ignore_index=int(loss.ignore_index))
    if name == "cross_entropy":
        settings["label_smoothing"] = float(loss.label_smoothing)
    if name in ("bce", "bce_with_logits") and loss.weight is not None:
        return Translation(reason=f"{type(loss).__name__}(weight=...)")
    if name == "bce_with_logits":
        if loss.pos_weight is not None and loss.pos_weight.numel() != 1:
            return Translation(reason="BCEWithLogitsLoss with one pos_weight per output")
        settings["pos_weight"] = _floats(loss.pos_weight)
    return Translation(settings)


def check_parameters(optimizer: torch.optim.Optimizer, model: nn.Module):
    """(the model's parameters, {id(parameter): its slot}); ConfigError when the optimizer holds
    tensors that are not the model's (an optimizer built over an earlier instance of the model).
    Keep the list while using the ids: they are only unique among live objects."""
    params = list(model.parameters())
    slots = {id(p): i for i, p in enumerate(params)}
    foreign = [p for g in optimizer.param_groups for p in g["params"] if id(p) not in slots]
    if foreign:
        shapes = ", ".join(str(tuple(p.shape)) for p in foreign[:3])
        raise ConfigError(
            f"the optimizer holds {len(foreign)} parameter(s) that are not this model's (shapes "
            f"{shapes}{', ...' if len(foreign) > 3 else ''}): it was built over another model, "
            f"e.g. before the model was created again; build it from this one: "
            f"optim.{type(optimizer).__name__}(model.parameters(), ...)"
        )
    return params, slots


def translate_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module) -> Translation:
    """torch.optim.Adam / AdamW / SGD over the model's parameters, any number of parameter groups
    each with its own lr, weight decay, momentum and betas: the engine's optimizer settings
    ({"kwargs": core_options.engine_options arguments, "groups": torch-style param_groups with
    slot numbers (core_options.param_groups makes them the engine's), "state": per-slot state})."""
    params, slots = check_parameters(optimizer, model)
    kind = _OPTIMIZERS.get(type(optimizer))
    if kind is None:
        return Translation(
            reason=f"{type(optimizer).__name__} is not one of the engine's optimizers "
            "(Adam, AdamW, SGD)"
        )
    groups = []
    for g in optimizer.param_groups:
        for option in ("maximize", "amsgrad", "differentiable"):
            if g.get(option):
                return Translation(reason=f"{type(optimizer).__name__}({option}=True)")
        group = {
            "params": [slots[id(p)] for p in g["params"]],
            "lr": float(g["lr"]),
            "weight_decay": float(g["weight_decay"]),
        }
        if kind == "sgd":
            group.update(
                momentum=float(g["momentum"]),
                dampening=float(g["dampening"]),
                nesterov=bool(g["nesterov"]),
            )
        else:
            group.update(betas=tuple(float(b) for b in g["betas"]), eps=float(g["eps"]))
        groups.append(group)
    first = {k: v for k, v in groups[0].items() if k != "params"}
    state = _engine_state(optimizer, slots)
    del params
    return Translation({"kwargs": {"optimizer": kind, **first}, "groups": groups, "state": state})


def _engine_state(optimizer, slots) -> Dict[str, torch.Tensor]:
    """The optimizer's per-parameter state (steps already taken) in the engine's names."""
    out: Dict[str, torch.Tensor] = {}
    steps = 0
    for p, state in optimizer.state.items():
        slot = slots.get(id(p))
        if slot is None:
            continue
        for name in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
            if state.get(name) is not None:
                out[f"{name}.{slot}"] = state[name].detach()
        if "step" in state:
            count = int(state["step"])
            out[f"step.{slot}"] = torch.tensor(count)
            steps = max(steps, count)
    if out:
        out["step"] = torch.tensor(steps)
    return out


def write_back_optimizer(engine, optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    """The engine's lrs (and cycled momentum) into optimizer.param_groups, and its per-parameter
    state (copies) into optimizer.state, as torch.optim keeps them."""
    for group, ours in zip(optimizer.param_groups, engine.param_groups):
        group["lr"] = ours.options.lr
        if "betas" in group:
            group["betas"] = (ours.options.beta1, *group["betas"][1:])
        elif "momentum" in group:
            group["momentum"] = ours.options.momentum
    state = engine.optimizer_state()
    owned = {id(p) for g in optimizer.param_groups for p in g["params"]}
    adam = "betas" in optimizer.defaults
    for slot, p in enumerate(model.parameters()):
        if id(p) not in owned or f"step.{slot}" not in state:
            continue
        if adam:
            optimizer.state[p] = {
                "step": torch.tensor(float(state[f"step.{slot}"])),
                "exp_avg": state[f"exp_avg.{slot}"].clone(),
                "exp_avg_sq": state[f"exp_avg_sq.{slot}"].clone(),
            }
        else:
            buffer = state.get(f"momentum_buffer.{slot}")
            optimizer.state[p] = {"momentum_buffer": None if buffer is None else buffer.clone()}


def _base_lrs(scheduler) -> Dict[str, float]:
    return {f"base_lr.{g}": float(lr) for g, lr in enumerate(scheduler.base_lrs)}


def translate_scheduler(scheduler, optimizer) -> Translation:
    """ReduceLROnPlateau, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR built
    over `optimizer`: {"schedule": a greymatter.schedulers description, "state": the engine's
    scheduler state continuing from the object's (last_epoch, best, ...)}."""
    if getattr(scheduler, "optimizer", None) is not optimizer:
        raise ConfigError(
            f"the scheduler {type(scheduler).__name__} was built over another optimizer than the "
            "one given as optimizer=; pass the optimizer you built it with"
        )
    kind = type(scheduler)
    if kind is sched.ReduceLROnPlateau:
        schedule = schedulers.ReduceLROnPlateau(
            mode=scheduler.mode,
            factor=scheduler.factor,
            patience=scheduler.patience,
            threshold=scheduler.threshold,
            threshold_mode=scheduler.threshold_mode,
            cooldown=scheduler.cooldown,
            min_lr=list(scheduler.min_lrs),
            eps=scheduler.eps,
        )
        state = {
            "epochs": scheduler.last_epoch,
            "steps": 0,
            "bad_epochs": scheduler.num_bad_epochs,
            "cooldown_left": scheduler.cooldown_counter,
            **{f"base_lr.{g}": float(p["lr"]) for g, p in enumerate(optimizer.param_groups)},
        }
        if abs(scheduler.best) != float("inf"):
            state["best"] = float(scheduler.best)
        return Translation({"schedule": schedule, "state": state})
    if kind is sched.OneCycleLR:
        return _translate_onecycle(scheduler, optimizer)
    if kind is sched.StepLR:
        schedule = schedulers.StepLR(scheduler.step_size, scheduler.gamma)
    elif kind is sched.MultiStepLR:
        schedule = schedulers.MultiStepLR(sorted(scheduler.milestones.elements()), scheduler.gamma)
    elif kind is sched.ExponentialLR:
        schedule = schedulers.ExponentialLR(scheduler.gamma)
    elif kind is sched.CosineAnnealingLR:
        schedule = schedulers.CosineAnnealingLR(scheduler.T_max, scheduler.eta_min)
    else:
        return Translation(
            reason=f"{kind.__name__} is not one of the engine's schedules (ReduceLROnPlateau, "
            "StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR)"
        )
    state = {"epochs": scheduler.last_epoch, "steps": 0, "bad_epochs": 0, "cooldown_left": 0}
    return Translation({"schedule": schedule, "state": {**state, **_base_lrs(scheduler)}})


def _translate_onecycle(scheduler, optimizer) -> Translation:
    groups = optimizer.param_groups
    phases = scheduler._schedule_phases
    cycle = bool(scheduler.cycle_momentum)
    if cycle and len({(g["base_momentum"], g["max_momentum"]) for g in groups}) > 1:
        return Translation(reason="OneCycleLR with a different momentum range per group")
    total = scheduler.total_steps
    first = groups[0]
    schedule = schedulers.OneCycleLR(
        max_lr=[float(g["max_lr"]) for g in groups],
        total_steps=total,
        pct_start=(phases[0]["end_step"] + 1) / total,
        anneal_strategy="linear" if "linear" in scheduler.anneal_func.__name__ else "cos",
        div_factor=first["max_lr"] / first["initial_lr"],
        final_div_factor=first["initial_lr"] / first["min_lr"],
        three_phase=len(phases) == 3,
        cycle_momentum=cycle,
        base_momentum=first.get("base_momentum", 0.85),
        max_momentum=first.get("max_momentum", 0.95),
    )
    state = {"epochs": 0, "steps": scheduler.last_epoch, "bad_epochs": 0, "cooldown_left": 0}
    return Translation({"schedule": schedule, "state": {**state, **_base_lrs(scheduler)}})


def write_back_scheduler(engine, scheduler) -> None:
    """The engine's schedule counters into the torch scheduler object."""
    state = engine.scheduler_state()
    scheduler._last_lr = list(engine.lrs)
    if isinstance(scheduler, sched.ReduceLROnPlateau):
        scheduler.last_epoch = int(state["epochs"])
        scheduler.num_bad_epochs = int(state["bad_epochs"])
        scheduler.cooldown_counter = int(state["cooldown_left"])
        scheduler.best = state.get("best", scheduler.mode_worse)
        return
    counter = "steps" if isinstance(scheduler, sched.OneCycleLR) else "epochs"
    scheduler.last_epoch = int(state[counter])
    scheduler._step_count = scheduler.last_epoch + 1  # the constructor's step counts too


def read_lrs(optimizer) -> Tuple[float, ...]:
    return tuple(float(g["lr"]) for g in optimizer.param_groups)

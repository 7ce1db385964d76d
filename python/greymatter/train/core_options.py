"""The C++ training core's typed options, built from the values users write.

``Trainer(loss="bce", optimizer="sgd", non_finite="skip", ...)``, the schedules' keyword
arguments and torch.optim's parameter groups become ``_core.EngineOptions``, ``_core.LossConfig``,
``_core.OptimizerConfig``, ``_core.ParamGroup`` and ``_core.SchedulerConfig``: structs with enums
where the user wrote a name. A name the bound enum lacks, an option a schedule
does not have, or a value of the wrong type is a ConfigError naming it, raised here before anything
trains; the ranges of the numbers are the core's to check (Engine, Loss, Scheduler constructors).
"""
from typing import Dict, List, Optional, Sequence

from .. import _core
from .._core import ConfigError
from .._enums import enum_member, enum_names

__all__ = [
    "engine_options",
    "loss_config",
    "loss_kind",
    "non_finite_policy",
    "optimizer_config",
    "optimizer_kind",
    "param_groups",
    "group_settings",
    "scheduler_config",
]


def loss_kind(loss: str):
    """The ``_core.LossKind`` a loss name (``"cross_entropy"``, ``"nll"``, ``"bce"``,
    ``"bce_with_logits"``, ``"mse"``) stands for; ConfigError listing the names otherwise."""
    return enum_member(_core.LossKind, loss, "unknown loss {value!r}; choose one of: {choices}")


def optimizer_kind(optimizer: str):
    """The ``_core.OptimizerKind`` an optimizer name (``"adam"``, ``"adamw"``, ``"sgd"``) stands
    for; ConfigError listing the names otherwise."""
    return enum_member(
        _core.OptimizerKind, optimizer, "unknown optimizer {value!r}; choose one of: {choices}"
    )


def non_finite_policy(non_finite: str):
    """The ``_core.NonFinite`` of ``"raise"`` or ``"skip"``; ConfigError otherwise."""
    return enum_member(
        _core.NonFinite, non_finite, "non_finite must be 'raise' or 'skip', got {value!r}"
    )


def loss_config(
    loss: str = "cross_entropy",
    class_weights: Optional[Sequence[float]] = (),
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    pos_weight: Optional[Sequence[float]] = (),
):
    """A ``_core.LossConfig``.

    Args:
        loss: ``"cross_entropy"``, ``"nll"``, ``"bce"``, ``"bce_with_logits"`` or ``"mse"``.
        class_weights: one weight per class (cross-entropy, NLL); empty or None: unweighted.
        label_smoothing: cross-entropy's label smoothing in [0, 1].
        ignore_index: cross-entropy's and NLL's label that adds no loss.
        pos_weight: BCE-with-logits' weight of the positive class (one number); empty: 1.

    Returns:
        The config the C++ ``Loss`` takes.

    Raises:
        ConfigError: an unknown loss name.
    """
    return _core.LossConfig(
        kind=loss_kind(loss),
        class_weights=[float(w) for w in class_weights or ()],
        label_smoothing=float(label_smoothing),
        ignore_index=int(ignore_index),
        pos_weight=[float(w) for w in pos_weight or ()],
    )


def optimizer_config(
    optimizer: str = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    nesterov: bool = False,
    betas: Sequence[float] = (0.9, 0.999),
    eps: float = 1e-8,
    dampening: float = 0.0,
):
    """A ``_core.OptimizerConfig``.

    Args:
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: the learning rate.
        weight_decay: L2 penalty (decoupled for AdamW).
        momentum: SGD's momentum.
        nesterov: SGD's Nesterov momentum.
        betas: Adam(W)'s (beta1, beta2).
        eps: Adam(W)'s epsilon.
        dampening: SGD's dampening.

    Returns:
        The config the C++ ``Optimizer`` takes.

    Raises:
        ConfigError: an unknown optimizer name, or betas not a pair.
    """
    kind = optimizer_kind(optimizer)
    if len(betas) != 2:
        raise ConfigError(f"betas must be two numbers (beta1, beta2), got {tuple(betas)!r}")
    beta1, beta2 = (float(b) for b in betas)
    return _core.OptimizerConfig(
        kind=kind,
        lr=float(lr),
        weight_decay=float(weight_decay),
        momentum=float(momentum),
        dampening=float(dampening),
        nesterov=bool(nesterov),
        beta1=beta1,
        beta2=beta2,
        eps=float(eps),
    )


# torch.optim's per-group settings -> OptimizerConfig fields ("betas" is two of them).
_GROUP_FIELDS = ("lr", "weight_decay", "momentum", "dampening", "nesterov", "eps")


def param_groups(groups: Sequence[Dict], base) -> List:
    """``_core.ParamGroup`` values from torch.optim-style groups.

    Args:
        groups: dicts with ``"params"`` (slot numbers: positions in the model's parameters()) and
            any of lr, weight_decay, momentum, dampening, nesterov, betas, eps.
        base: the ``_core.OptimizerConfig`` a setting a group lacks comes from.

    Returns:
        One ``_core.ParamGroup`` per group, in order.

    Raises:
        ConfigError: a setting the engine's optimizers do not have.
    """
    out = []
    for group in groups:
        options = _core.OptimizerConfig(
            **{field: getattr(base, field) for field in _GROUP_FIELDS + ("kind", "beta1", "beta2")}
        )
        for key, value in group.items():
            if key == "params":
                continue
            if key == "betas":
                options.beta1, options.beta2 = (float(b) for b in value)
            elif key in _GROUP_FIELDS:
                setattr(options, key, value)
            else:
                raise ConfigError(f"parameter groups have no setting '{key}'")
        out.append(_core.ParamGroup(slots=[int(i) for i in group["params"]], options=options))
    return out


def group_settings(groups) -> List[Dict]:
    """The inverse of ``param_groups``: torch.optim-style dicts of plain values (slot numbers as
    ``"params"``), for a resume file.

    Args:
        groups: ``_core.ParamGroup`` values (``Engine.param_groups``).

    Returns:
        One dict per group with params, lr, weight_decay, momentum, dampening, nesterov, betas
        and eps.
    """
    out = []
    for group in groups:
        o = group.options
        settings = {field: getattr(o, field) for field in _GROUP_FIELDS}
        out.append({"params": list(group.slots), **settings, "betas": (o.beta1, o.beta2)})
    return out


def engine_options(
    optimizer: str = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    nesterov: bool = False,
    betas: Sequence[float] = (0.9, 0.999),
    eps: float = 1e-8,
    dampening: float = 0.0,
    loss: str = "cross_entropy",
    class_weights: Optional[Sequence[float]] = (),
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    pos_weight: Optional[Sequence[float]] = (),
    accumulate: int = 1,
    non_finite: str = "raise",
    amp: bool = True,
    capturable: Optional[bool] = None,
):
    """A ``_core.EngineOptions`` (what the Trainer gives ``_core.Engine``).

    Args:
        optimizer: see ``optimizer_config``.
        lr: see ``optimizer_config``.
        weight_decay: see ``optimizer_config``.
        momentum: see ``optimizer_config``.
        nesterov: see ``optimizer_config``.
        betas: see ``optimizer_config``.
        eps: see ``optimizer_config``.
        dampening: see ``optimizer_config``.
        loss: see ``loss_config``.
        class_weights: see ``loss_config``.
        label_smoothing: see ``loss_config``.
        ignore_index: see ``loss_config``.
        pos_weight: see ``loss_config``.
        accumulate: optimizer step every this many batches.
        non_finite: ``"raise"`` a TrainingError on a NaN/inf loss, or ``"skip"`` the batch.
        amp: on CUDA, bf16 autocast and channels_last inputs.
        capturable: optimizer state as device tensors; None: on CUDA only.

    Returns:
        The options struct.

    Raises:
        ConfigError: an unknown optimizer, loss or non_finite name, or betas not a pair.
    """
    return _core.EngineOptions(
        optimizer=optimizer_config(
            optimizer, lr, weight_decay, momentum, nesterov, betas, eps, dampening
        ),
        loss=loss_config(loss, class_weights, label_smoothing, ignore_index, pos_weight),
        accumulate=int(accumulate),
        non_finite=non_finite_policy(non_finite),
        amp=bool(amp),
        capturable=capturable,
    )


# The schedules' option values that are names, with their messages.
_NAMED_OPTIONS = {
    "mode": (_core.PlateauMode, "ReduceLROnPlateau mode must be 'min' or 'max', got {value!r}"),
    "threshold_mode": (
        _core.ThresholdMode,
        "ReduceLROnPlateau threshold_mode must be 'rel' or 'abs', got {value!r}",
    ),
    "anneal_strategy": (
        _core.AnnealStrategy,
        "OneCycleLR anneal_strategy must be 'cos' or 'linear', got {value!r}",
    ),
}
_FIELD_OF = {"T_max": "t_max"}  # torch's argument name -> the struct's field
# Options that take one value per parameter group as a list -> the struct's field for the list.
_PER_GROUP_FIELD = {"min_lr": "min_lrs", "max_lr": "max_lrs"}
_KIND_OF_VALUE = {bool: "True or False", int: "an integer", float: "a number"}


def scheduler_config(name: str, options: Dict):
    """A ``_core.SchedulerConfig`` from a schedule's name and torch's keyword arguments.

    Args:
        name: ``"plateau"``, ``"step"``, ``"multistep"``, ``"exponential"``, ``"cosine"`` or
            ``"onecycle"`` (``_Schedule.name``).
        options: torch.optim.lr_scheduler's arguments, e.g. ``{"mode": "max", "patience": 3}``
            (``T_max`` or ``t_max``; ``min_lr`` and ``max_lr`` one number or one per group).

    Returns:
        The config the C++ ``Scheduler`` and ``Engine.set_scheduler`` take.

    Raises:
        ConfigError: an unknown schedule, an option it does not have, or a bad value's type.
    """
    kinds = {n: k for n, k in enum_names(_core.SchedulerKind).items() if n != "none"}
    if name not in kinds:
        raise ConfigError(f"unknown scheduler {name!r}; choose one of: {', '.join(kinds)}")
    config = _core.SchedulerConfig(kind=kinds[name])
    for key, value in options.items():
        field = _FIELD_OF.get(key, key)
        if key in _PER_GROUP_FIELD and isinstance(value, (list, tuple)):
            field = _PER_GROUP_FIELD[key]
        if field == "kind" or not hasattr(config, field):
            raise ConfigError(f"scheduler '{name}' has no option '{key}'")
        if field in _NAMED_OPTIONS:
            enum_type, message = _NAMED_OPTIONS[field]
            value = enum_member(enum_type, value, message)
        try:
            setattr(config, field, value)
        except TypeError:
            wanted = _KIND_OF_VALUE.get(type(getattr(config, field)), "another type")
            raise ConfigError(
                f"scheduler '{name}': {key} must be {wanted}, got {value!r}"
            ) from None
    return config

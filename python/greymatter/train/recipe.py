"""The Trainer's recipe: its loss, optimizer and schedule, given as names (``loss="cross_entropy"``,
``optimizer="adam", lr=1e-3``) or as the tutorial's own torch objects, and the loop that runs them.

Everything the C++ engine runs — greymatter models and any other ``nn.Module``, with the losses,
optimizers and schedules torch_objects.py translates — trains there, with no Python per batch
except a plain module's forward. Anything else trains in the Python loop (torch_loop.py), with a
one-line warning saying what is not fused. After each ``fit`` the objects the user passed get the
engine's state back.
"""
import warnings
from typing import Dict, List, Optional

import torch

from .. import _core
from .._core import ConfigError
from .._enums import enum_names
from . import module_cost, schedulers, torch_objects
from .core_options import (
    engine_options,
    loss_config,
    loss_kind,
    non_finite_policy,
    optimizer_config,
    optimizer_kind,
    param_groups,
)
from .torch_loop import TorchLoop, TorchSchedule, make_optimizer

__all__ = ["Recipe", "LOSS_DEFAULTS"]
# The Trainer's defaults for the settings that only names use.
NAME_DEFAULTS = {
    "lr": 1e-3,
    "weight_decay": 0.0,
    "momentum": 0.0,
    "nesterov": False,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
}
LOSS_DEFAULTS = {
    "class_weights": [],
    "label_smoothing": 0.0,
    "ignore_index": -100,
    "pos_weight": [],
}


class Recipe:
    """Builds ``.engine`` (the C++ Engine or the Python loop; ``.fused`` says which), ``.schedule``
    (a greymatter.schedulers description or None) and ``.config`` (plain values for checkpoints)."""

    def __init__(
        self,
        model: torch.nn.Module,
        loss,
        optimizer,
        scheduler,
        names: Dict,
        loop: Dict,
        device: str,
        monitor: str,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self._torch_schedule_state: Optional[Dict] = None
        self._written_lrs: Optional[tuple] = None
        self._loss_fn = None  # a loss only the Python loop can call
        unfused: List[str] = []
        loss_settings = self._loss_settings(loss, names, unfused)
        optimizer_settings = self._optimizer_settings(optimizer, names, unfused)
        self.schedule = self._schedule(scheduler, monitor, unfused)
        self.config = {**optimizer_settings["kwargs"], **loss_settings, **loop}
        self.fused = not unfused
        if self.fused:
            self.options = engine_options(**self.config)
            self.engine = _core.Engine(model, self.options, device, probes=module_cost)
            if optimizer_settings["groups"] is not None:
                self.engine.param_groups = param_groups(
                    optimizer_settings["groups"], self.options.optimizer
                )
            if optimizer_settings["state"]:
                self.engine.load_optimizer_state(optimizer_settings["state"])
            return
        warnings.warn(
            f"greymatter: {'; '.join(unfused)}: not fused into the C++ engine, so this Trainer "
            "runs a Python loop per batch (slower)",
            stacklevel=3,
        )
        loop = {**loop, "non_finite": non_finite_policy(loop["non_finite"])}
        if isinstance(optimizer, torch.optim.Optimizer):
            torch_optimizer = optimizer
        else:
            torch_optimizer = make_optimizer(
                model.parameters(), optimizer_config(optimizer, **names)
            )
        if hasattr(scheduler, "optimizer"):  # the Python loop steps the user's object itself
            self.schedule, self._torch_schedule_state = TorchSchedule(scheduler), None
        loss_fn = self._loss_fn
        if loss_fn is None:
            loss_fn = _core.Loss(loss_config(**loss_settings))
        self.engine = TorchLoop(
            model,
            torch_optimizer,
            loss_fn,
            scheduler=scheduler if isinstance(self.schedule, TorchSchedule) else None,
            device=device,
            **loop,
        )

    # -- translation -------------------------------------------------------------------------------
    def _loss_settings(self, loss, names: Dict, unfused: List[str]) -> Dict:
        if isinstance(loss, str):
            loss_kind(loss)  # an unknown name is refused now, with the choices
            return {
                **LOSS_DEFAULTS,
                "loss": loss,
                "class_weights": names.pop("class_weights"),
                "label_smoothing": names.pop("label_smoothing"),
            }
        given = {k: names.pop(k) for k in ("class_weights", "label_smoothing")}
        _refuse_names(given, {"class_weights": [], "label_smoothing": 0.0}, "loss")
        if not callable(loss):
            raise ConfigError(
                f"loss must be a name ({', '.join(enum_names(_core.LossKind))}), a torch.nn loss "
                f"such as nn.CrossEntropyLoss(), or a function (output, labels) -> loss; got "
                f"{type(loss).__name__}"
            )
        translated = torch_objects.translate_loss(loss)
        if translated.fused:
            return {**LOSS_DEFAULTS, **translated.settings}
        unfused.append(translated.reason)
        self._loss_fn = loss  # the Python loop calls it; the config records what it was
        return {**LOSS_DEFAULTS, "loss": getattr(loss, "__name__", type(loss).__name__)}

    def _optimizer_settings(self, optimizer, names: Dict, unfused: List[str]) -> Dict:
        if isinstance(optimizer, str):
            optimizer_kind(optimizer)  # an unknown name is refused now, with the choices
            kwargs = {"optimizer": optimizer, "dampening": 0.0, **names}
            return {"kwargs": kwargs, "groups": None, "state": {}}
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ConfigError(
                f"optimizer must be a name ({', '.join(enum_names(_core.OptimizerKind))}) or a "
                f"torch.optim optimizer built over the model's parameters; got "
                f"{type(optimizer).__name__}"
            )
        _refuse_names(names, NAME_DEFAULTS, "optimizer")
        translated = torch_objects.translate_optimizer(optimizer, self.model)
        if translated.fused:
            kwargs = {**NAME_DEFAULTS, "dampening": 0.0, **translated.settings["kwargs"]}
            kwargs["betas"] = tuple(kwargs["betas"])
            return {**translated.settings, "kwargs": kwargs}
        unfused.append(translated.reason)
        first = optimizer.param_groups[0]
        kwargs = {**NAME_DEFAULTS, "dampening": 0.0, "lr": float(first["lr"])}
        return {"kwargs": {"optimizer": type(optimizer).__name__, **kwargs}, "groups": None}

    def _schedule(self, scheduler, monitor: str, unfused: List[str]):
        if scheduler is None or isinstance(scheduler, (str, schedulers._Schedule)):
            return schedulers.resolve(scheduler, monitor)
        if not hasattr(scheduler, "optimizer"):
            raise ConfigError(
                f"scheduler must be None, a name ('plateau', 'cosine', 'onecycle'), a "
                f"greymatter.schedulers object or a torch.optim.lr_scheduler one; got "
                f"{type(scheduler).__name__}"
            )
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise ConfigError(
                f"the scheduler {type(scheduler).__name__} steps a torch optimizer: pass that "
                f"optimizer as optimizer= too"
            )
        translated = torch_objects.translate_scheduler(scheduler, self.optimizer)
        if not translated.fused:
            unfused.append(translated.reason)
            return TorchSchedule(scheduler)
        self._torch_schedule_state = translated.settings["state"]
        return translated.settings["schedule"]

    # -- state between the engine and the user's objects -----------------------------------------
    def schedule_started(self) -> None:
        """After the engine's schedule is set: the torch scheduler's counters, and the lrs (and
        cycled momentum) its optimizer holds now."""
        if self._torch_schedule_state is None or not self.fused:
            return
        self.engine.load_scheduler_state(self._torch_schedule_state)
        self._torch_schedule_state = None
        groups = torch_objects.translate_optimizer(self.optimizer, self.model).settings["groups"]
        self.engine.param_groups = param_groups(groups, self.options.optimizer)

    def fit_starts(self) -> None:
        """lrs the user set on the optimizer object since the last fit (as a tutorial loop would
        pick them up)."""
        if not (self.fused and isinstance(self.optimizer, torch.optim.Optimizer)):
            return
        lrs = torch_objects.read_lrs(self.optimizer)
        if self._written_lrs is not None and lrs != self._written_lrs:
            self.engine.lrs = list(lrs)

    def fit_ended(self) -> None:
        """The engine's state into the optimizer and scheduler objects the user passed."""
        if not (self.fused and isinstance(self.optimizer, torch.optim.Optimizer)):
            return
        torch_objects.write_back_optimizer(self.engine, self.optimizer, self.model)
        self._written_lrs = torch_objects.read_lrs(self.optimizer)
        if self.scheduler is not None and hasattr(self.scheduler, "optimizer"):
            if self.engine.has_scheduler:
                torch_objects.write_back_scheduler(self.engine, self.scheduler)


def _refuse_names(given: Dict, defaults: Dict, what: str) -> None:
    """The name-only settings (lr=..., class_weights=...) are an error next to an object, which
    has its own."""
    changed = [k for k, v in given.items() if _normal(v) != _normal(defaults[k])]
    if changed:
        raise ConfigError(
            f"{', '.join(f'{k}={given[k]!r}' for k in changed)} set(s) the {what} by name; the "
            f"{what} object passed has its own settings (set them there)"
        )


def _normal(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [float(v) for v in value]
    return value

"""Learning-rate schedules with torch.optim.lr_scheduler's names, arguments and formulas.

They are descriptions: the Trainer hands them to the C++ engine, which applies OneCycleLR after
every optimizer step (no Python per batch) and the others at the end of each epoch. The Trainer
also takes torch.optim.lr_scheduler's own objects of these classes (translated to these
descriptions, continuing from the object's state)::

    gm.Trainer(model, scheduler=gm.schedulers.ReduceLROnPlateau(mode="max", factor=0.5, patience=3))
    gm.Trainer(model, scheduler="plateau")   # the same: the leaf-disease script's settings
    gm.Trainer(model, scheduler="cosine")    # CosineAnnealingLR over the epochs of fit()
    gm.Trainer(model, scheduler="onecycle")  # OneCycleLR(max_lr=lr) over the batches of fit()

Differences from torch: greymatter's OneCycleLR cycles the learning rate only unless asked
(``cycle_momentum=False`` by default; torch's own OneCycleLR object keeps torch's default, True).
ReduceLROnPlateau reads the metric its mode asks for — ``val_acc`` for ``mode="max"``, ``val_loss``
for ``"min"`` (``train_*`` without validation) — unless the Trainer was given ``monitor=``.
"""
from typing import Dict, Optional, Sequence

from .._core import ConfigError

__all__ = [
    "ReduceLROnPlateau",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "OneCycleLR",
    "resolve",
]


class _Schedule:
    name = ""

    def __init__(self, **options) -> None:
        self.options = options

    def engine_options(self, epochs: int, steps_per_epoch: int, lr: float) -> Dict:
        """The options the engine gets, with what depends on the fit() call filled in."""
        return dict(self.options)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({args})"


class ReduceLROnPlateau(_Schedule):
    """torch's ReduceLROnPlateau on the Trainer's ``monitor`` (read at every epoch's end).

    Args:
        mode: ``"min"`` (the metric should fall, e.g. a loss) or ``"max"`` (e.g. an accuracy).
        factor: the lr is multiplied by this on a plateau, in (0, 1).
        patience: epochs without improvement before the lr drops.
        threshold: how much better counts as an improvement.
        threshold_mode: ``"rel"`` (relative to the best) or ``"abs"``.
        cooldown: epochs to wait after a drop before counting again.
        min_lr: the lr never drops below this; a list: one floor per parameter group.
        eps: a drop smaller than this is skipped.
    """

    name = "plateau"

    def __init__(
        self,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(
            mode=mode,
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
            min_lr=min_lr,
            eps=eps,
        )


class StepLR(_Schedule):
    """torch's StepLR: the lr times ``gamma`` every ``step_size`` epochs.

    Args:
        step_size: epochs between drops.
        gamma: the factor of each drop.
    """

    name = "step"

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(step_size=step_size, gamma=gamma)


class MultiStepLR(_Schedule):
    """torch's MultiStepLR: the lr times ``gamma`` at each milestone epoch.

    Args:
        milestones: the epochs of the drops (a repeated one drops twice).
        gamma: the factor of each drop.
    """

    name = "multistep"

    def __init__(self, milestones: Sequence[int], gamma: float = 0.1) -> None:
        super().__init__(milestones=[int(m) for m in milestones], gamma=gamma)


class ExponentialLR(_Schedule):
    """torch's ExponentialLR: the lr times ``gamma`` every epoch.

    Args:
        gamma: the factor per epoch.
    """

    name = "exponential"

    def __init__(self, gamma: float) -> None:
        super().__init__(gamma=gamma)


class CosineAnnealingLR(_Schedule):
    """torch's CosineAnnealingLR, per epoch.

    Args:
        T_max: epochs of the half cosine; None anneals over the epochs of the ``fit`` call.
        eta_min: the lr at the end.
    """

    name = "cosine"

    def __init__(
        self, T_max: Optional[int] = None, eta_min: float = 0.0
    ) -> None:  # noqa: N803 (torch's name)
        super().__init__(T_max=T_max, eta_min=eta_min)

    def engine_options(self, epochs, steps_per_epoch, lr):
        out = dict(self.options)
        out["T_max"] = out["T_max"] or epochs
        return out


class OneCycleLR(_Schedule):
    """torch's OneCycleLR, applied by the engine after every optimizer step.

    Args:
        max_lr: the peak lr (a list: one per parameter group); None uses the Trainer's lr.
        total_steps: optimizer steps of the cycle; None covers the optimizer steps of ``fit``.
        pct_start: the fraction of the cycle spent rising.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: the starting lr is ``max_lr / div_factor``.
        final_div_factor: the final lr is the starting lr divided by this.
        three_phase: torch's three-phase variant.
        cycle_momentum: also cycle SGD's momentum / Adam's first beta, from ``max_momentum``
            down to ``base_momentum`` and back (False by default, unlike torch's).
        base_momentum: the momentum at the lr's peak.
        max_momentum: the momentum at the lr's ends.
    """

    name = "onecycle"

    def __init__(
        self,
        max_lr: Optional[float] = None,
        total_steps: Optional[int] = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        cycle_momentum: bool = False,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
    ) -> None:
        momentum = (
            {"base_momentum": base_momentum, "max_momentum": max_momentum} if cycle_momentum else {}
        )
        super().__init__(
            max_lr=max_lr,
            total_steps=total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
            cycle_momentum=cycle_momentum,
            **momentum,
        )

    def engine_options(self, epochs, steps_per_epoch, lr):
        out = dict(self.options)
        out["max_lr"] = out["max_lr"] or lr
        out["total_steps"] = out["total_steps"] or epochs * steps_per_epoch
        return out


_BY_NAME = {
    "plateau": lambda monitor: ReduceLROnPlateau(
        mode="max" if monitor.endswith("acc") else "min", factor=0.5, patience=3
    ),
    "cosine": lambda monitor: CosineAnnealingLR(),
    "onecycle": lambda monitor: OneCycleLR(),
}


def resolve(scheduler, monitor: str = "val_acc") -> Optional[_Schedule]:
    """The schedule object the Trainer uses for its ``scheduler`` argument.

    Args:
        scheduler: None, a schedule object, or one of the names ``"plateau"`` (the leaf-disease
            script's ``mode`` for the monitor, ``factor=0.5, patience=3``), ``"cosine"``,
            ``"onecycle"``.
        monitor: the Trainer's monitored metric (decides ``"plateau"``'s mode).

    Returns:
        The schedule object, or None.

    Raises:
        ConfigError: anything else.
    """
    if scheduler is None or isinstance(scheduler, _Schedule):
        return scheduler
    if isinstance(scheduler, str) and scheduler in _BY_NAME:
        return _BY_NAME[scheduler](monitor)
    raise ConfigError(
        f"unknown scheduler {scheduler!r}; use None, 'plateau', 'cosine', 'onecycle', a "
        f"greymatter.schedulers object or a torch.optim.lr_scheduler one"
    )

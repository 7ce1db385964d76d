"""The learning-rate range test behind ``Trainer.lr_find`` (Smith, "Cyclical Learning Rates", 2015;
fastai's lr_find): train one batch per step while the learning rate grows exponentially from
`start` to `end`, record the loss of each step, and suggest a learning rate from the curve.

The test trains a copy of nothing: it steps the Trainer's own model with the Trainer's loss and a
fresh torch.optim optimizer of the Trainer's kind, parameter groups and settings (the groups' lrs
keep their ratios; the engine's optimizer, its state and its schedule are never touched), then
puts back the weights, buffers, gradients, train/eval mode
and torch's random state it found, so a ``fit`` afterwards trains exactly as without the test.

Suggestion rule (``suggest``): smooth the losses with an exponential moving average (beta 0.98,
bias-corrected); stop reading the curve at the first NaN/inf loss or at the second of two steps in a
row whose loss and smoothed loss both exceed 4x the lowest smoothed loss so far (the divergent
tail); the suggestion is one tenth of the learning rate at the lowest smoothed loss. An early spike
(one bad batch) is a single step above the bound, so it neither ends the curve nor, since it raises
the curve, becomes its minimum. This file does not plot (``greymatter.plots.lr_finder`` does). """
import copy
import math
from dataclasses import dataclass, field
from typing import List, Optional

import torch

from .._core import ConfigError

__all__ = ["LRFinder", "range_test", "suggest", "SMOOTHING", "DIVERGENCE"]

SMOOTHING = 0.98  # weight of the past in the moving average
DIVERGENCE = 4.0  # the curve ends where losses stay above this multiple of the minimum


@dataclass
class LRFinder:
    """The result of Trainer.lr_find: per step, the learning rate and its batch's loss.

    lrs, losses: every step taken (a NaN/inf loss ends the test and is its last entry).
    smoothed: the moving average of the losses up to where the curve is read (see ``suggest``).
    suggestion: one tenth of the lr at the lowest smoothed loss (None without a finite loss).
    min_lr: the lr at the lowest smoothed loss. stopped: why the test ended before `end`
    ("diverged", "non-finite loss") or None."""

    lrs: List[float] = field(default_factory=list)
    losses: List[float] = field(default_factory=list)
    smoothed: List[float] = field(default_factory=list)
    suggestion: Optional[float] = None
    min_lr: Optional[float] = None
    stopped: Optional[str] = None

    @property
    def df(self):
        import pandas as pd

        smoothed = self.smoothed + [None] * (len(self.lrs) - len(self.smoothed))
        return pd.DataFrame({"lr": self.lrs, "loss": self.losses, "smoothed": smoothed})

    def plot(self, save: Optional[str] = None):
        """Loss against learning rate (log scale), the suggestion marked:
        ``greymatter.plots.lr_finder(self)``."""
        from ..plots.lr_finder import lr_finder

        return lr_finder(self, save=save)

    def __repr__(self) -> str:
        lr = f"{self.suggestion:.3g}" if self.suggestion is not None else None
        return f"LRFinder(steps={len(self.lrs)}, suggestion={lr}, stopped={self.stopped!r})"


def suggest(lrs, losses, beta: float = SMOOTHING, divergence: float = DIVERGENCE):
    """(smoothed losses of the part of the curve read, lr at their minimum, suggestion = that lr /
    10) for per-step learning rates and losses; see the module docstring for the rule."""
    smoothed: List[float] = []
    average, best, best_at = 0.0, math.inf, None
    above = False  # whether the previous step was above the bound
    for i, (lr, loss) in enumerate(zip(lrs, losses)):
        if not math.isfinite(loss):
            break
        average = beta * average + (1 - beta) * loss
        value = average / (1 - beta ** (i + 1))
        over = loss > divergence * best and value > divergence * best
        if over and above:
            break
        above = over
        smoothed.append(value)
        if value < best:
            best, best_at = value, lr
    return smoothed, best_at, (best_at / 10 if best_at is not None else None)


def range_test(trainer, loader, loss_fn, start: float, end: float, steps: int) -> LRFinder:
    """Runs the test on `trainer`'s model over batches of `loader` (a DataLoader); restores the
    model afterwards whatever happens (Ctrl-C included)."""
    _check(start, end, steps)
    model = trainer.model
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("lr_find: the model has no trainable parameters (is everything frozen?)")
    saved = _Snapshot(model)
    result = LRFinder()
    try:
        optimizer, ratios = _optimizer(trainer)
        device = next(iter(params)).device
        amp = trainer.config.get("amp", False) and device.type == "cuda"
        factor = (end / start) ** (1.0 / (steps - 1))
        model.train()
        for step, (x, y) in zip(range(steps), _batches(loader)):
            lr = start * factor**step
            for group, ratio in zip(optimizer.param_groups, ratios):
                group["lr"] = lr * ratio
            x, y = x.to(device), y.to(device)
            with torch.autocast("cuda", dtype=torch.bfloat16) if amp else _nothing():
                out = model(x)
                if step == 0:
                    loss_fn.check(out, y)
                loss = loss_fn(out, y)
            value = float(loss)
            result.lrs.append(lr)
            result.losses.append(value)
            if not math.isfinite(value):
                result.stopped = "non-finite loss"
                break
            if len(suggest(result.lrs, result.losses)[0]) < len(result.losses):
                result.stopped = "diverged"
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    finally:
        saved.restore()
    result.smoothed, result.min_lr, result.suggestion = suggest(result.lrs, result.losses)
    return result


def _check(start, end, steps) -> None:
    if not (isinstance(start, (int, float)) and isinstance(end, (int, float))):
        raise ConfigError(f"lr_find: start and end are learning rates, got {start!r}, {end!r}")
    if not (0 < start < end) or not math.isfinite(end):
        raise ConfigError(f"lr_find needs 0 < start < end (finite), got start={start}, end={end}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 2:
        raise ConfigError(f"lr_find: steps must be an integer >= 2, got {steps!r}")


def _batches(loader):
    """Batches of the loader's epochs 0, 1, ... for as long as the test asks for them."""
    epoch = 0
    while True:
        empty = True
        for batch in loader.epoch(epoch):
            empty = False
            yield batch
        if empty:
            return
        epoch += 1


def _optimizer(trainer):
    """(a fresh torch optimizer of the kind and parameter groups the Trainer trains with, each
    group's lr as a multiple of the first group's). Never the Trainer's own optimizer or its state;
    only parameters that train now. The test sets the first group's lr and keeps the multiples,
    so discriminative learning rates keep their ratios."""
    params = list(trainer.model.parameters())
    groups = []
    if trainer.fused:  # the engine's groups: slot numbers and each group's settings
        kind = _KINDS[trainer.config["optimizer"]]
        for g in trainer.engine.param_groups:
            o = g.options
            options = {"lr": o.lr, "weight_decay": o.weight_decay}
            if kind is torch.optim.SGD:
                options.update(momentum=o.momentum, dampening=o.dampening, nesterov=o.nesterov)
            else:
                options.update(betas=(o.beta1, o.beta2), eps=o.eps)
            groups.append({"params": [params[i] for i in g.slots], **options})
    else:  # the Python loop's torch optimizer (a name's, or the user's object)
        kind = type(trainer.engine.opt)
        for g in trainer.engine.opt.param_groups:
            groups.append({**{k: v for k, v in g.items() if k != "initial_lr"}})
    groups = [
        {**g, "params": [p for p in g["params"] if p.requires_grad]}
        for g in groups
        if any(p.requires_grad for p in g["params"])
    ]
    first = groups[0]["lr"]
    ratios = [g["lr"] / first if first > 0 else 1.0 for g in groups]
    return kind(groups), ratios


_KINDS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class _Snapshot:
    """What the test changes, as it was: weights and buffers, gradients, train/eval mode of every
    module, torch's random state."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.state = copy.deepcopy(model.state_dict())
        self.grads = [(p, None if p.grad is None else p.grad.clone()) for p in model.parameters()]
        # A C++ model's train(mode) sets its C++ children (a frozen backbone stays in eval mode);
        # a Python module's children are put back one by one.
        self.modes = [(model, model.training)] if hasattr(model, "cpp_module") else None
        if self.modes is None:
            self.modes = [(m, m.training) for m in model.modules()]
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None

    def restore(self) -> None:
        with torch.no_grad():
            self.model.load_state_dict(self.state)
        for p, g in self.grads:
            p.grad = g
        if hasattr(self.model, "cpp_module"):
            self.model.train(self.modes[0][1])
        else:
            for m, training in self.modes:
                m.training = training
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)

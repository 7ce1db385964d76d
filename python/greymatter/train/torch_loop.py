"""The Trainer's Python loop, for what the C++ engine does not run: a custom loss (a function or
module), an optimizer other than Adam/AdamW/SGD (RMSprop, ...), a scheduler other than the six it
knows (LambdaLR, ...). One Python iteration per batch, so slower; otherwise the engine's loop: the
checks and messages come from the same C++ functions (``_core._check_*``, ``Loss.check_labels`` on
every batch), the named schedules are the same C++ ``Scheduler``, metrics stay on the device until
the epoch ends, evaluation runs under the same autocast and channels_last on CUDA. It has the
Engine's methods, so the Trainer drives either without knowing which.
"""
import contextlib
from types import SimpleNamespace
from typing import Callable, Optional

import torch
from torch.optim import lr_scheduler

from .. import _core
from .._core import ConfigError
from .core_options import loss_config

__all__ = ["TorchLoop", "TorchSchedule", "make_optimizer"]

_OPTIMIZERS = {
    _core.OptimizerKind.ADAM: torch.optim.Adam,
    _core.OptimizerKind.ADAMW: torch.optim.AdamW,
    _core.OptimizerKind.SGD: torch.optim.SGD,
}
# Torch schedulers meant to be stepped after every optimizer step rather than every epoch.
_PER_STEP = (lr_scheduler.OneCycleLR, lr_scheduler.CyclicLR)


def make_optimizer(params, config) -> torch.optim.Optimizer:
    """The torch.optim optimizer a ``_core.OptimizerConfig`` (``core_options.optimizer_config``)
    describes."""
    try:
        if config.kind == _core.OptimizerKind.SGD:
            return torch.optim.SGD(
                params,
                lr=config.lr,
                momentum=config.momentum,
                dampening=config.dampening,
                nesterov=config.nesterov,
                weight_decay=config.weight_decay,
            )
        return _OPTIMIZERS[config.kind](
            params,
            lr=config.lr,
            betas=(config.beta1, config.beta2),
            eps=config.eps,
            weight_decay=config.weight_decay,
        )
    except ValueError as e:
        raise ConfigError(str(e)) from None


class TorchSchedule:
    """A torch.optim.lr_scheduler object the Python loop steps itself."""

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
        self.name = type(scheduler).__name__
        self.options = {"mode": scheduler.mode} if hasattr(scheduler, "mode") else {}

    def __repr__(self) -> str:
        return f"torch.optim.lr_scheduler.{self.name}"


class _Rule:
    """Accuracy, label checks and probabilities for a custom loss, chosen from the first batch's
    output: (B, C >= 2) -> argmax; one output per sample -> 0.5 threshold when it lies in [0, 1]
    (a sigmoid), else 0 (a logit); anything else has no accuracy."""

    def __init__(self, loss: Callable) -> None:
        self.loss, self.rule = loss, None

    def check(self, out, y) -> None:
        if out.dim() == 2 and out.size(1) >= 2:
            self.rule = _core.Loss(loss_config("cross_entropy"))
        elif out.numel() == y.numel():
            in_unit = bool(((out >= 0) & (out <= 1)).all())
            self.rule = _core.Loss(loss_config("bce" if in_unit else "bce_with_logits"))
        if self.rule is not None:
            self.rule.check_labels(y, out.size(1) if out.dim() == 2 else 1)

    def check_labels(self, y, outputs) -> None:
        if self.rule is not None:
            self.rule.check_labels(y, outputs)

    def __call__(self, out, y):
        return self.loss(out, y)

    def correct(self, out, y):
        if self.rule is None:
            return torch.zeros((), dtype=torch.int64, device=out.device)
        return self.rule.correct(out, y)

    def probabilities(self, out):
        if self.rule is None:
            return out
        return self.rule.probabilities(out)


class TorchLoop:
    """``loss``: a ``_core.Loss`` or any callable (output, labels) -> 0-dim tensor; ``optimizer``: a
    torch.optim optimizer over the model's parameters; ``scheduler``: None or a torch scheduler
    object (named schedules come through ``set_scheduler``); ``non_finite``: a
    ``_core.NonFinite``."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        loss,
        scheduler=None,
        accumulate: int = 1,
        non_finite=_core.NonFinite.RAISE,
        amp: bool = True,
        device: str = "cpu",
    ) -> None:
        _core._check_accumulate(accumulate)
        self.model = model.to(device)
        self.device = torch.device(device)
        self.loss = loss if isinstance(loss, _core.Loss) else _Rule(loss)
        self.opt = optimizer
        self.accumulate = int(accumulate)
        self.amp = bool(amp) and self.device.type == "cuda"  # bf16 autocast, as the C++ engine does
        self.raise_non_finite = non_finite == _core.NonFinite.RAISE
        self.scheduler = None  # a C++ Scheduler (named schedules)
        self.torch_scheduler = scheduler
        self.optimizer_steps = 0
        self.tta = _core.TestTimeAugmentation()  # the engine's test-time augmentation, same views

    def set_class_weights(self, weights) -> None:
        """The engine's: the same named loss with these class weights."""
        if not isinstance(self.loss, _core.Loss):
            raise ConfigError("class_weights apply to greymatter's named losses only")
        self.loss = self.loss.with_class_weights(list(weights))

    # -- learning rate and schedule ------------------------------------------------------------
    @property
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self._set_lrs([value] * len(self.opt.param_groups))

    @property
    def lrs(self):
        """One lr per parameter group."""
        return [g["lr"] for g in self.opt.param_groups]

    @lrs.setter
    def lrs(self, values) -> None:
        self._set_lrs(values)

    def _set_lrs(self, lrs) -> None:
        for group, lr in zip(self.opt.param_groups, lrs):
            group["lr"] = lr

    @property
    def has_scheduler(self) -> bool:
        return self.scheduler is not None or self.torch_scheduler is not None

    def set_scheduler(self, config) -> None:
        self.scheduler = _core.Scheduler(config, self.lrs)
        self._set_lrs(self.scheduler.initial_lrs())

    def scheduler_epoch_end(self, metric=None) -> float:
        if self.scheduler is not None:
            new = self.scheduler.after_epoch(metric, self.lrs)
            if new is not None:
                self._set_lrs(new)
        elif isinstance(self.torch_scheduler, lr_scheduler.ReduceLROnPlateau):
            self.torch_scheduler.step(metric)
        elif self.torch_scheduler is not None and not isinstance(self.torch_scheduler, _PER_STEP):
            self.torch_scheduler.step()
        return self.lr

    def scheduler_state(self):
        if self.torch_scheduler is not None:
            return self.torch_scheduler.state_dict()
        return self.scheduler.state() if self.scheduler else {}

    def load_scheduler_state(self, state) -> None:
        if self.torch_scheduler is not None:
            self.torch_scheduler.load_state_dict(state)
        elif self.scheduler is None:
            raise ConfigError("this Trainer has no scheduler to load a state into")
        else:
            self.scheduler.load_state(state)

    def optimizer_state(self):
        return self.opt.state_dict()

    def load_optimizer_state(self, state) -> None:
        self.opt.load_state_dict(state)

    # -- loops -----------------------------------------------------------------------------------
    def _autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16)

    def _input(self, x):
        x = x.to(self.device, non_blocking=True)
        if self.amp and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _forward_checked(self, x, y, y_cpu, first: bool, forward=None):
        out = (forward or self.model)(self._input(x))
        if first:
            self.loss.check(out, y)
        else:
            self.loss.check_labels(y_cpu, out.size(1) if out.dim() == 2 else 1)
        return out

    def _step(self) -> None:
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.optimizer_steps += 1
        if self.scheduler is not None:
            new = self.scheduler.after_step()
            if new is not None:
                self._set_lrs(new)
        elif isinstance(self.torch_scheduler, _PER_STEP):
            self.torch_scheduler.step()

    def train_epoch(self, loader, epoch, progress=None, every=50):
        _core._check_trainable(list(self.model.parameters()))
        self.model.train()
        m = _Meter(self.device)
        total, pending, stopped = len(loader), 0, False
        self.opt.zero_grad(set_to_none=True)
        for x, y_cpu in loader.epoch(epoch):
            m.batches += 1
            y = y_cpu.to(self.device, non_blocking=True)
            with self._autocast():
                out = self._forward_checked(x, y, y_cpu, m.batches == 1)
                loss = self.loss(out, y)
            if not torch.isfinite(loss):
                if self.raise_non_finite:
                    _core._non_finite_loss(loss.item(), epoch, m.batches)
                m.skipped += 1  # drop this batch and whatever it would have been accumulated with
                self.opt.zero_grad(set_to_none=True)
                pending = 0
            else:
                (loss / self.accumulate if self.accumulate > 1 else loss).backward()
                m.add(self.loss, loss, out, y)
                pending += 1
                if pending == self.accumulate:
                    self._step()
                    pending = 0
            if not _report(progress, m.batches, total, every):
                stopped = True
                break
        if pending and not stopped:
            self._step()  # the epoch's last, shorter accumulation
        self.opt.zero_grad(set_to_none=True)
        return m.read(stopped)

    @torch.no_grad()
    def evaluate(self, loader, progress=None, every=50):
        self.model.eval()
        m, total, stopped = _Meter(self.device), len(loader), False
        for x, y_cpu in loader.epoch(0):
            m.batches += 1
            y = y_cpu.to(self.device, non_blocking=True)
            with self._autocast():
                out = self._forward_checked(x, y, y_cpu, m.batches == 1, self._output)
                m.add(self.loss, self.loss(out, y), out, y)
            if not _report(progress, m.batches, total, every):
                stopped = True
                break
        return m.read(stopped)

    @torch.no_grad()
    def predict(self, loader, progress=None, every=50):
        self.model.eval()
        probs, labels, total = [], [], len(loader)
        for i, (x, y) in enumerate(loader.epoch(0), 1):
            with self._autocast():
                out = self._output(self._input(x))
            if i == 1:
                self.loss.check(out, y.to(self.device))
            probs.append(self.loss.probabilities(out).float().cpu())
            labels.append(y.clone())  # the batch buffer is reused by the loader
            if not _report(progress, i, total, every):
                break
        if not probs:
            return torch.empty(0, 0), torch.empty(0, dtype=torch.int64)
        return torch.cat(probs), torch.cat(labels)

    def _output(self, x):
        """Evaluation's output: with test-time augmentation, the output whose probabilities are
        the mean over the views, as the engine computes it."""
        if self.tta.num_views == 0:
            return self.model(x)
        if not isinstance(self.loss, _core.Loss):
            raise ConfigError(
                "test-time augmentation needs one of greymatter's losses (it averages their "
                "probabilities), not a loss function of your own"
            )
        return self.loss.output_for(self.tta.probabilities(self.model, self.loss, x))


class _Meter:
    """Loss sum and correct count kept on the device; one host read per epoch."""

    def __init__(self, device) -> None:
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.samples, self.batches, self.skipped = 0, 0, 0

    def add(self, loss_fn, loss, out, y) -> None:
        self.loss_sum += loss.detach().double() * len(y)
        self.correct += loss_fn.correct(out.detach(), y)
        self.samples += len(y)

    def read(self, interrupted: bool) -> SimpleNamespace:
        n = self.samples
        return SimpleNamespace(
            loss=float(self.loss_sum) / n if n else 0.0,
            accuracy=int(self.correct) / n if n else 0.0,
            samples=n,
            batches=self.batches,
            skipped=self.skipped,
            interrupted=interrupted,
        )


def _report(progress: Optional[Callable], done: int, total: int, every: int) -> bool:
    if progress is None or (done % every and done != total):
        return True
    keep_going = progress(done, total)
    return keep_going is None or bool(keep_going)

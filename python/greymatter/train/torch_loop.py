"""The Trainer's fallback for a plain ``torch.nn.Module``: the same epoch loop as the C++ engine, in
Python (one Python iteration per batch, so slower), with the same losses and schedules (the C++
``Loss`` and ``Scheduler`` are shared) and torch.optim's optimizers. It has the Engine's methods, so
the Trainer drives either without knowing which."""
import contextlib
from types import SimpleNamespace

import torch

from .. import _core
from .._core import ConfigError, TrainingError

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


class TorchLoop:
    def __init__(
        self,
        model: torch.nn.Module,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        momentum=0.0,
        nesterov=False,
        betas=(0.9, 0.999),
        eps=1e-8,
        loss="cross_entropy",
        class_weights=(),
        label_smoothing=0.0,
        accumulate=1,
        non_finite="raise",
        amp=True,
        device="cpu",
    ) -> None:
        if optimizer not in _OPTIMIZERS:
            raise ConfigError(f"unknown optimizer '{optimizer}'; choose one of: adam, adamw, sgd")
        if not lr > 0:
            raise ConfigError(f"lr must be a positive number, got {lr}")
        if accumulate < 1:
            raise ConfigError(f"accumulate must be >= 1, got {accumulate}")
        if non_finite not in ("raise", "skip"):
            raise ConfigError(f"non_finite must be 'raise' or 'skip', got '{non_finite}'")
        self.model = model.to(device)
        self.device = torch.device(device)
        self.loss = _core.Loss(loss, list(class_weights), label_smoothing)
        self._loss_settings = (loss, label_smoothing)
        params = list(model.parameters())
        try:
            if optimizer == "sgd":
                self.opt = torch.optim.SGD(
                    params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
                )
            else:
                self.opt = _OPTIMIZERS[optimizer](
                    params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay
                )
        except ValueError as e:
            raise ConfigError(str(e)) from None
        self.accumulate = int(accumulate)
        self.amp = bool(amp) and self.device.type == "cuda"  # bf16 autocast, as the C++ engine does
        self.non_finite = non_finite
        self.scheduler = None
        self.optimizer_steps = 0
        self.tta = _core.TestTimeAugmentation()  # the engine's test-time augmentation, same views

    def set_class_weights(self, weights) -> None:
        name, label_smoothing = self._loss_settings
        self.loss = _core.Loss(name, list(weights), label_smoothing)

    # -- learning rate and schedule ------------------------------------------------------------
    @property
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = value

    @property
    def has_scheduler(self) -> bool:
        return self.scheduler is not None

    def set_scheduler(self, name, options=None) -> None:
        self.scheduler = _core.Scheduler(name, dict(options or {}), self.lr)
        self.lr = self.scheduler.initial_lr()

    def scheduler_epoch_end(self, metric=None) -> float:
        if self.scheduler is not None:
            new = self.scheduler.after_epoch(metric, self.lr)
            if new is not None:
                self.lr = new
        return self.lr

    def scheduler_state(self):
        return self.scheduler.state() if self.scheduler else {}

    def load_scheduler_state(self, state) -> None:
        if self.scheduler is None:
            raise ConfigError("this Trainer has no scheduler to load a state into")
        self.scheduler.load_state(state)

    def optimizer_state(self):
        return self.opt.state_dict()

    def load_optimizer_state(self, state) -> None:
        self.opt.load_state_dict(state)

    # -- loops -----------------------------------------------------------------------------------
    def _step(self) -> None:
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.optimizer_steps += 1
        if self.scheduler is not None:
            new = self.scheduler.after_step()
            if new is not None:
                self.lr = new

    def train_epoch(self, loader, epoch, progress=None, every=50):
        if not any(p.requires_grad for p in self.model.parameters()):
            raise ConfigError("the model has no trainable parameters (is everything frozen?)")
        self.model.train()
        m = _Meter()
        total, pending, stopped = len(loader), 0, False
        self.opt.zero_grad(set_to_none=True)
        for x, y in loader.epoch(epoch):
            m.batches += 1
            x, y = x.to(self.device), y.to(self.device)
            with torch.autocast(
                "cuda", dtype=torch.bfloat16
            ) if self.amp else contextlib.nullcontext():
                out = self.model(x)
                if m.batches == 1:
                    self.loss.check(out, y)
                loss = self.loss(out, y)
            value = loss.item()
            if not torch.isfinite(loss):
                if self.non_finite == "raise":
                    raise TrainingError(
                        f"loss became {value} at epoch {epoch + 1}, batch {m.batches}; lower the "
                        f"learning rate or check the inputs for NaN"
                    )
                m.skipped += 1
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
            self._step()
        self.opt.zero_grad(set_to_none=True)
        return m.read(stopped)

    @torch.no_grad()
    def evaluate(self, loader, progress=None, every=50):
        self.model.eval()
        m, total, stopped = _Meter(), len(loader), False
        for x, y in loader.epoch(0):
            m.batches += 1
            x, y = x.to(self.device), y.to(self.device)
            out = self._output(x)
            if m.batches == 1:
                self.loss.check(out, y)
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
            probs.append(self.loss.probabilities(self._output(x.to(self.device))).float().cpu())
            labels.append(y.clone())
            if not _report(progress, i, total, every):
                break
        if not probs:
            return torch.empty(0, 0), torch.empty(0, dtype=torch.int64)
        return torch.cat(probs), torch.cat(labels)

    def _output(self, x):
        if self.tta.num_views == 0:
            return self.model(x)
        return self.loss.output_for(self.tta.probabilities(self.model, self.loss, x))


class _Meter:
    def __init__(self) -> None:
        self.loss_sum, self.correct, self.samples, self.batches, self.skipped = 0.0, 0, 0, 0, 0

    def add(self, loss_fn, loss, out, y) -> None:
        self.loss_sum += loss.item() * len(y)
        self.correct += int(loss_fn.correct(out.detach(), y))
        self.samples += len(y)

    def read(self, interrupted: bool):
        n = max(self.samples, 1)
        return SimpleNamespace(
            loss=self.loss_sum / n,
            accuracy=self.correct / n,
            samples=self.samples,
            batches=self.batches,
            skipped=self.skipped,
            interrupted=interrupted,
        )


def _report(progress, done, total, every) -> bool:
    if progress is None or (done % every and done != total):
        return True
    keep_going = progress(done, total)
    return keep_going is None or bool(keep_going)

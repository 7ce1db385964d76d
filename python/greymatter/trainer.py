"""Trainer: the tutorials' training loop in one call. Each epoch runs in the C++ engine with the GIL
released; Python only decides between epochs (best weights, early stopping, checkpoints, history)."""
import copy
import time
from typing import Dict, Optional

import torch

from . import _core
from ._core import ConfigError
from .checkpoint import save_checkpoint
from .history import History
from .loader import DataLoader

__all__ = ["Trainer"]

LOSSES = ("cross_entropy",)
OPTIMIZERS = ("adam", "sgd")


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return str(torch.device(device))
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from None


class Trainer:
    def __init__(self, model: torch.nn.Module, loss: str = "cross_entropy", optimizer: str = "adam", lr: float = 1e-3,
                 weight_decay: float = 0.0, momentum: float = 0.0, device: str = "auto", scheduler=None,
                 early_stopping: Optional[int] = None, checkpoint: Optional[str] = None, seed: int = 42,
                 progress: bool = True, progress_every: int = 50) -> None:
        if loss not in LOSSES:
            raise ConfigError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
        if optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        if scheduler is not None:
            raise ConfigError(f"unknown scheduler {scheduler!r}; this version supports scheduler=None")
        if early_stopping is not None and (not isinstance(early_stopping, int) or early_stopping < 1):
            raise ConfigError(f"early_stopping is a patience in epochs (an integer >= 1), got {early_stopping!r}")
        if not hasattr(model, "cpp_module"):
            raise ConfigError(f"Trainer trains greymatter.models, got {type(model).__name__}")
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.device = resolve_device(device)
        self.early_stopping = early_stopping
        self.checkpoint = checkpoint
        self.seed = int(seed)
        self.progress = progress
        self.progress_every = int(progress_every)
        self.engine = _core.Engine(model, optimizer=optimizer, lr=self.lr, weight_decay=self.weight_decay,
                                   momentum=float(momentum), device=self.device)
        self.history = History()
        self.epoch = 0  # epochs trained so far; the next one is numbered self.epoch
        # Best-so-far bookkeeping lives on the Trainer so that fit() called again continues it.
        self.best_value: Optional[float] = None
        self.best_state = None
        self.epochs_without_improvement = 0

    def fit(self, train: DataLoader, val: Optional[DataLoader] = None, epochs: int = 10) -> History:
        """Trains for `epochs` more epochs; keeps the weights of the best validation accuracy (or the
        lowest training loss without `val`) and restores them at the end, even after early stopping."""
        if not isinstance(train, DataLoader) or (val is not None and not isinstance(val, DataLoader)):
            raise ConfigError("fit takes greymatter DataLoaders for train and val")
        hist = self.history
        monitor = "val_acc" if val is not None else "train_loss"
        torch.manual_seed(self.seed + self.epoch)  # dropout draws; reproducible for a seed
        try:
            for _ in range(int(epochs)):
                start = time.perf_counter()
                tr = self._run(train, self.engine.train_epoch, f"epoch {self.epoch + 1}", self.epoch)
                row = {"epoch": self.epoch + 1, "train_loss": tr.loss, "train_acc": tr.accuracy, "lr": self.engine.lr}
                if val is not None:
                    va = self._run(val, self.engine.evaluate, "validate")
                    row.update(val_loss=va.loss, val_acc=va.accuracy, gap=tr.accuracy - va.accuracy)
                row["seconds"] = time.perf_counter() - start
                hist.append(row)
                self.epoch += 1
                if self._improved(row[monitor], monitor):
                    self.best_value, self.epochs_without_improvement = row[monitor], 0
                    self.best_state = copy.deepcopy(self.model.state_dict())
                    hist.best_epoch = row["epoch"]
                    if self.checkpoint:
                        self._save(self.best_state, row, train)
                else:
                    self.epochs_without_improvement += 1
                if self.early_stopping and self.epochs_without_improvement >= self.early_stopping:
                    break
        except KeyboardInterrupt:
            hist.interrupted = True
            raise
        finally:
            if self.best_state is not None:
                self.model.load_state_dict(self.best_state)
        return hist

    def _improved(self, value: float, monitor: str) -> bool:
        if self.best_value is None:
            return True
        return value > self.best_value if monitor == "val_acc" else value < self.best_value

    def evaluate(self, loader: DataLoader) -> Dict[str, float]:
        stats = self._run(loader, self.engine.evaluate, "evaluate")
        return {"loss": stats.loss, "accuracy": stats.accuracy}

    def _run(self, loader: DataLoader, step, desc: str, *args):
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(loader), desc=desc, leave=False, unit="batch")

        def callback(done, total):
            if bar is not None:
                bar.update(done - bar.n)

        try:
            return step(loader.core, *args, progress=callback, every=self.progress_every)
        finally:
            if bar is not None:
                bar.close()

    def _save(self, state_dict, row: Dict, train: DataLoader) -> None:
        meta = {
            "epoch": row["epoch"],
            "metrics": row,
            "model": getattr(self.model, "config", {"name": type(self.model).__name__}),
            "classes": list(getattr(train.dataset, "classes", [])),
            "transforms": repr(getattr(train.dataset, "transform", None)),
            "trainer": {"loss": self.loss, "optimizer": self.optimizer, "lr": self.lr,
                        "weight_decay": self.weight_decay, "seed": self.seed},
        }
        save_checkpoint(self.checkpoint, state_dict, meta)

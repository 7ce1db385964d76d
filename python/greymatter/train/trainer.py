"""Trainer: the tutorials' training loop in one call.

Each epoch runs in the C++ engine with the GIL released — for a greymatter model and for a plain
``torch.nn.Module`` alike (the engine takes the GIL only to call the module's forward) — given the
loss, optimizer and schedule as names or as the tutorial's torch objects (recipe.py); what the
engine cannot run trains in a Python loop with the same features, more slowly. Between epochs Python
decides: history, learning-rate schedule, best weights, early stopping, checkpoints. With
``checkpoint="runs/best.pth"`` the Trainer writes the best weights (a plain state_dict) and
``best.json`` metadata when the monitored metric improves, and the whole training state to
``runs/best.resume.pth`` after every epoch, so ``Trainer.resume`` continues an interrupted run with
the same results it would have had, and appends each epoch's row to ``runs/best.log.csv`` as the
epoch ends (epoch_log.py). """
import contextlib
import copy
import math
import numbers
import time
from typing import Callable, Dict, Optional, Sequence

import torch

from .. import _core
from .. import transforms as T
from .._core import ConfigError, DataError
from .._enums import enum_member
from ..datasets import labels_of
from ..loader import DataLoader
from ..metrics import classification_report
from . import feature_cache, lr_finder
from .checkpoint import check_checkpoint_path, prepare_checkpoint_folder, save_checkpoint
from .core_options import group_settings, param_groups, scheduler_config
from .epoch_log import EpochLog, log_path
from .history import History
from .live_curves import live_curves
from .progress import progress_bar
from .recipe import LOSS_DEFAULTS, Recipe
from .resume_state import read_state, write_state

__all__ = ["Trainer"]

MONITORS = ("val_acc", "val_loss", "train_acc", "train_loss")
# Settings states written before they existed were trained with.
_OLDER_DEFAULTS = {"dampening": 0.0}


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from None
    if resolved.type == "cuda":
        # Said here, before the model moves: torch's own message ("not linked with support for cuda
        # devices", or an AssertionError for a plain nn.Module) names neither the argument nor the
        # way out.
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device={device!r}, but torch sees no CUDA device (torch.cuda.is_available() is "
                f"False: no GPU, or a CPU-only torch build); use device='auto' or 'cpu'"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device={device!r}, but torch sees {torch.cuda.device_count()} CUDA device(s)"
            )
    elif resolved.type != "cpu":
        raise ConfigError(f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda'")
    return str(resolved)


def resume_path(checkpoint) -> str:
    """Where the training state beside `checkpoint` goes: runs/best.pth -> runs/best.resume.pth."""
    path = str(checkpoint)
    return (path[:-4] if path.endswith(".pth") else path) + ".resume.pth"


def _check_not_empty(loader: DataLoader, role: str, hint: str) -> None:
    # An empty loader runs an epoch of nothing and reports accuracy 0.0 as if it had measured it.
    images = len(loader.dataset)
    if images == 0:
        raise ConfigError(
            f"the {role} is empty: its DataLoader has 0 images{_origin(loader.dataset)}; check the "
            f"split (random_split fractions, Subset indices) or the folder{hint}"
        )
    if len(loader) == 0:
        raise ConfigError(
            f"the {role} gives no batch: {images} images with batch_size={loader.batch_size} and "
            f"drop_last=True; use a smaller batch_size or drop_last=False{hint}"
        )


def _check_class_weights(class_weights, loss: str) -> bool:
    """True for "balanced"; a list is checked here (its length against the classes in fit)."""
    if class_weights is None:
        return False
    if isinstance(class_weights, str):
        if class_weights != "balanced":
            raise ConfigError(
                f"class_weights takes one weight per class or 'balanced', got {class_weights!r}"
            )
        if loss not in ("cross_entropy", "nll"):
            raise ConfigError(
                f"class_weights='balanced' applies to loss='cross_entropy' or 'nll' (by name), "
                f"not {loss!r}"
            )
        return True
    try:
        weights = [float(w) for w in class_weights]
    except (TypeError, ValueError):
        raise ConfigError(
            f"class_weights takes one weight per class or 'balanced', got {class_weights!r}"
        ) from None
    bad = [w for w in weights if not (w >= 0 and math.isfinite(w))]
    if bad:
        raise ConfigError(f"class_weights must be finite and >= 0, got {bad[0]} in {weights}")
    return False


def _first_set(*choices: Optional[bool]) -> bool:
    return bool(next((c for c in choices if c is not None), False))


def _origin(dataset) -> str:
    """' (from <root>)' for a dataset, or a Subset of one, read from files; '' otherwise."""
    while getattr(dataset, "dataset", None) is not None:  # Subset of a Subset of ...
        dataset = dataset.dataset
    root = getattr(dataset, "root", None)
    return f" (from {root})" if root else ""


def _test_time_augmentation(tta) -> "_core.TestTimeAugmentation":
    """The engine's TestTimeAugmentation from a Trainer's ``tta`` argument: None/False/[] (off), a
    name ("hflip", "vflip", "crops") or a list of them."""
    if tta is None or tta is False:
        return _core.TestTimeAugmentation()
    names = [tta] if isinstance(tta, str) else tta
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"tta takes 'hflip', 'vflip', 'crops' or a list of them, got {tta!r}")
    message = "unknown TTA augmentation {value!r}; choose from {choices}"
    return _core.TestTimeAugmentation(
        [enum_member(_core.TtaAugmentation, name, message) for name in names]
    )


class Trainer:
    """The tutorials' training loop in one call: ``Trainer(model, ...)``, then ``fit(train, val,
    epochs)`` -> History; also ``evaluate``, ``predict``, ``predict_topk``, ``resume``.

    Every model, a greymatter one or any other ``torch.nn.Module``, trains in the C++ engine with
    the losses, optimizers and schedules it runs; anything else (a loss function of your own,
    another torch optimizer or scheduler) trains in an equivalent Python loop, with a warning
    saying what is not fused.

    Args:
        model: a greymatter model or any ``torch.nn.Module``.
        loss: ``"cross_entropy"``, ``"nll"`` (log-probabilities), ``"bce"`` (sigmoid outputs),
            ``"bce_with_logits"`` or ``"mse"``; or an nn.CrossEntropyLoss / NLLLoss / BCELoss /
            BCEWithLogitsLoss / MSELoss object (its weight, label_smoothing, ignore_index,
            pos_weight); any other callable (output, labels) -> loss trains in the Python loop.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``, with torch.optim's update rules; or a
            torch.optim.Adam / AdamW / SGD built over the model's parameters, with any parameter
            groups (other torch optimizers train in the Python loop). After fit the object holds
            the state the tutorial's loop would have left (lr per group, per-parameter state).
        lr: the learning rate (a schedule's starting point); positive and finite.
        weight_decay: L2 penalty (decoupled for AdamW).
        momentum: SGD's momentum.
        nesterov: SGD's Nesterov momentum (needs ``momentum > 0``).
        betas: Adam(W)'s (beta1, beta2).
        eps: Adam(W)'s epsilon.
        class_weights: cross-entropy's (or NLL's) per-class weights, one per class of the
            training set; or "balanced": n_samples / (n_classes * class count) from the training
            labels, computed when fit starts and recorded in best.json; None: unweighted.
        label_smoothing: cross-entropy's label smoothing in [0, 1].
        device: ``"auto"`` (CUDA when torch sees one), ``"cpu"`` or ``"cuda"``.
        scheduler: None, ``"plateau"``, ``"cosine"``, ``"onecycle"``, a ``greymatter.schedulers``
            object, or a torch.optim.lr_scheduler ReduceLROnPlateau / StepLR / MultiStepLR /
            ExponentialLR / CosineAnnealingLR / OneCycleLR over that optimizer, continuing from
            its state (others train in the Python loop).
        early_stopping: stop after this many epochs without improvement of ``monitor``; None never.
        min_delta: the least change of ``monitor`` that counts as an improvement for early
            stopping (Keras' rule; the kept best weights follow every improvement).
        monitor: ``"val_acc"``, ``"val_loss"``, ``"train_acc"`` or ``"train_loss"``: what "best"
            means for the kept weights, the checkpoint, early stopping and ReduceLROnPlateau.
            By default ``"val_acc"`` (``"train_loss"`` for ``fit`` without ``val``), and
            ReduceLROnPlateau reads ``val_acc`` for mode ``"max"``, ``val_loss`` for ``"min"``.
        checkpoint: a path such as ``"runs/best.pth"``: the best weights and ``best.json`` metadata
            when ``monitor`` improves, the whole state to ``best.resume.pth`` every epoch, and each
            epoch's row appended to ``best.log.csv`` as the epoch ends.
        seed: seeds torch's generator at every epoch (dropout), so a resumed run draws the same.
        progress: show a progress bar per epoch.
        progress_every: batches between progress updates.
        accumulate: one optimizer step every this many batches (gradient accumulation).
        non_finite: ``"raise"`` a TrainingError on a NaN/inf loss, or ``"skip"`` the batch.
        cache_features: ``"auto"`` computes a frozen backbone's features once and trains only the
            head on them when the transforms are deterministic (same results, far faster); True
            insists, False never.
        amp: on CUDA, bf16 autocast and channels_last inputs (ignored on CPU).
        live: in a Jupyter notebook, fit shows the loss and accuracy curves in its cell, redrawn
            after every epoch; None follows ``progress``, False never. Outside a notebook it
            changes nothing.

    Raises:
        ConfigError: an unknown name (loss, optimizer, monitor, non_finite, device, scheduler), a
            value out of range, or a checkpoint path that cannot be written, before anything
            trains.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss="cross_entropy",
        optimizer="adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        nesterov: bool = False,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        class_weights=None,
        label_smoothing: float = 0.0,
        device: str = "auto",
        scheduler=None,
        early_stopping: Optional[int] = None,
        min_delta: float = 0.0,
        monitor: Optional[str] = None,
        checkpoint: Optional[str] = None,
        seed: int = 42,
        progress: bool = True,
        progress_every: int = 50,
        accumulate: int = 1,
        non_finite: str = "raise",
        cache_features="auto",
        amp: bool = True,
        live: Optional[bool] = None,
    ) -> None:
        self._monitor_given = monitor is not None
        monitor = "val_acc" if monitor is None else monitor
        if monitor not in MONITORS:
            raise ConfigError(f"unknown monitor {monitor!r}; choose one of: {', '.join(MONITORS)}")
        if early_stopping is not None and (
            not isinstance(early_stopping, int) or early_stopping < 1
        ):
            raise ConfigError(
                f"early_stopping is a patience in epochs (an integer >= 1), got {early_stopping!r}"
            )
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ConfigError(f"min_delta must be a number >= 0, got {min_delta!r}")
        balanced = _check_class_weights(class_weights, loss)
        if cache_features not in ("auto", True, False):
            raise ConfigError(
                f"cache_features must be 'auto', True or False, got {cache_features!r}"
            )
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
            raise ConfigError(f"lr must be a positive finite number, got {lr!r}")
        if (
            isinstance(progress_every, bool)
            or not isinstance(progress_every, int)
            or progress_every < 1
        ):
            raise ConfigError(f"progress_every must be an integer >= 1, got {progress_every!r}")
        if checkpoint is not None:
            check_checkpoint_path(checkpoint)
        if not isinstance(model, torch.nn.Module):
            raise ConfigError(
                "Trainer trains a greymatter model or a torch.nn.Module, got "
                f"{type(model).__name__}"
            )
        self.model = model
        self.monitor = monitor
        self.device = resolve_device(device)
        self.early_stopping = early_stopping
        self.min_delta = float(min_delta)
        self.checkpoint = checkpoint
        self.seed = int(seed)
        self.progress = progress
        self.progress_every = int(progress_every)
        self.live = live
        self.cache_features = cache_features
        names = {
            "lr": float(lr),
            "weight_decay": float(weight_decay),
            "momentum": float(momentum),
            "nesterov": bool(nesterov),
            "betas": tuple(map(float, betas)),
            "eps": float(eps),
            "class_weights": [] if balanced else [float(w) for w in class_weights or ()],
            "label_smoothing": float(label_smoothing),
        }
        loop = {"accumulate": int(accumulate), "non_finite": non_finite, "amp": bool(amp)}
        # Names or the tutorial's torch objects; the C++ engine when it runs them all, else the
        # Python loop (with a warning saying why).
        self.recipe = Recipe(model, loss, optimizer, scheduler, names, loop, self.device, monitor)
        self.engine = self.recipe.engine
        self.fused = self.recipe.fused
        self.schedule = self.recipe.schedule
        self.config = self.recipe.config
        if balanced:  # the engine gets the weights when fit() has the training labels
            self.config["class_weights"] = "balanced"
        self.class_weights: Optional[list] = None  # the weights "balanced" came to
        self.history = History(monitor=monitor)
        self.classes: Sequence[str] = ()
        self.transforms = (
            "None"  # repr of the training set's transform, for the checkpoint's metadata
        )
        # The transform to read new images with (T.to_config): the validation set's, which is the
        # deterministic one, else the training set's; load_run rebuilds the input from it.
        self.transform_config: list = []
        self.transform_source = "train"
        self.epoch = 0  # epochs trained so far; the next one is numbered self.epoch (0-based)
        self.planned_epochs = (
            0  # where the current fit() call ends; a resumed fit() continues to it
        )
        self.schedule_options: Optional[Dict] = None
        # Best-so-far bookkeeping lives on the Trainer so that fit() called again continues it.
        self.best_value: Optional[float] = None
        self.best_state = None
        self._latest_state = None  # the last epoch's weights while the model holds the best ones
        self.epochs_without_improvement = 0
        self.stopping_best: Optional[float] = None  # early stopping's reference (min_delta)

    # -- properties users read ---------------------------------------------------------------
    @property
    def loss(self) -> str:
        return self.config["loss"]

    @property
    def optimizer(self) -> str:
        return self.config["optimizer"]

    @property
    def lr(self) -> float:
        """The learning rate the next optimizer step uses."""
        return self.engine.lr

    # -- training --------------------------------------------------------------------------------
    def fit(
        self,
        train: DataLoader,
        val: Optional[DataLoader] = None,
        epochs: Optional[int] = None,
        on_epoch: Optional[Callable[[Dict], Optional[bool]]] = None,
        live: Optional[bool] = None,
        callbacks: Sequence[Callable[[Dict], Optional[bool]]] = (),
    ) -> History:
        """Trains `epochs` more epochs (after ``resume``: the rest of the interrupted run; else 10).
        Keeps the weights of the best `monitor` value and restores them at the end, also after early
        stopping. ``live`` overrides the Trainer's setting for this call.

        on_epoch, callbacks: functions called after each epoch (``on_epoch`` first, then each of
        ``callbacks`` in order) with a copy of its History row: a dict with epoch (1-based),
        train_loss, train_acc, lr and seconds, plus val_loss, val_acc and gap with validation data
        (absent without). They run after the epoch's checkpoint and log row are written; any
        returning False stops training after this epoch. For a logger of one's own, e.g.
        ``callbacks=[lambda row: print(row)]``.

        Ctrl-C (KeyboardInterrupt) stops the loop after the current batch, whatever
        ``progress_every`` is; fit then restores the best weights, sets ``history.interrupted``,
        leaves the resume state of the finished epochs (``<checkpoint>.resume.pth``) in place and
        re-raises KeyboardInterrupt. The interrupted epoch adds no history row."""
        if not isinstance(train, DataLoader) or (
            val is not None and not isinstance(val, DataLoader)
        ):
            raise ConfigError("fit takes greymatter DataLoaders for train and val")
        _check_not_empty(train, "training set (train)", "")
        if val is not None:
            _check_not_empty(
                val, "validation set (val)", ", or pass val=None to train without validation"
            )
        if epochs is None:
            epochs = self.planned_epochs - self.epoch if self.planned_epochs > self.epoch else 10
        if not isinstance(epochs, int) or epochs < 0:
            raise ConfigError(f"epochs must be a non-negative integer, got {epochs!r}")
        if self.checkpoint:  # an unwritable folder fails now, not after the first epoch
            prepare_checkpoint_folder(self.checkpoint)
        monitor = (
            self.monitor if val is not None or self.monitor.startswith("train") else "train_loss"
        )
        callbacks = ([on_epoch] if on_epoch is not None else []) + list(callbacks or ())
        if not all(callable(c) for c in callbacks):
            raise ConfigError("on_epoch and callbacks take functions of one argument (the row)")
        self.classes = list(getattr(train.dataset, "classes", []) or self.classes)
        self._set_class_weights(train)
        self.transforms = repr(getattr(train.dataset, "transform", None))
        read_as = val if val is not None else train
        self.transform_source = "val" if val is not None else "train"
        self.transform_config = T.to_config(getattr(read_as.dataset, "transform", None))
        self.planned_epochs = self.epoch + epochs
        if self.schedule is not None and not self.engine.has_scheduler:
            steps_per_epoch = math.ceil(len(train) / self.config["accumulate"])
            self.schedule_options = self.schedule.engine_options(
                epochs, steps_per_epoch, self.config["lr"]
            )
            self.engine.set_scheduler(scheduler_config(self.schedule.name, self.schedule_options))
            self.recipe.schedule_started()
        self.recipe.fit_starts()
        schedule_metric = self._schedule_metric(monitor, val is not None)
        hist = self.history
        self._continue_from_latest()
        train_core, val_core = self._epoch_loaders(train, val)
        log = EpochLog(log_path(self.checkpoint)) if self.checkpoint else None
        if log is not None:
            log.restart(hist.rows)
        view = live_curves(epochs > 0 and _first_set(live, self.live, self.progress))
        try:
            for _ in range(epochs):
                start = time.perf_counter()
                torch.manual_seed(
                    self.seed * 1_000_003 + self.epoch
                )  # dropout draws: same on resume
                lr = self.engine.lr
                tr = self._run(
                    train_core,
                    self.engine.train_epoch,
                    f"epoch {self.epoch + 1}/{self.planned_epochs}",
                    self.epoch,
                )
                row = {
                    "epoch": self.epoch + 1,
                    "train_loss": tr.loss,
                    "train_acc": tr.accuracy,
                    "lr": lr,
                }
                if val is not None:
                    va = self._run(val_core, self.engine.evaluate, "validate")
                    row.update(val_loss=va.loss, val_acc=va.accuracy, gap=tr.accuracy - va.accuracy)
                row["seconds"] = time.perf_counter() - start
                hist.append(row)
                if log is not None:
                    log.append(row)
                self.epoch += 1
                self.engine.scheduler_epoch_end(
                    row[schedule_metric] if self.schedule is not None else None
                )
                if self._improved(self.best_value, row[monitor], monitor, 0.0):
                    self.best_value = row[monitor]
                    self.best_state = copy.deepcopy(self.model.state_dict())
                    hist.best_epoch = row["epoch"]
                    if self.checkpoint:
                        self._save_best(row)
                if self._improved(self.stopping_best, row[monitor], monitor, self.min_delta):
                    self.stopping_best, self.epochs_without_improvement = row[monitor], 0
                else:
                    self.epochs_without_improvement += 1
                if view is not None:
                    view.update(hist)
                stop = bool(
                    self.early_stopping and self.epochs_without_improvement >= self.early_stopping
                )
                if self.checkpoint:
                    self.save_state(resume_path(self.checkpoint))
                for callback in callbacks:
                    if callback(dict(row)) is False:
                        stop = True
                if stop:
                    break
        except KeyboardInterrupt:
            hist.interrupted = True
            raise
        finally:
            if view is not None:
                view.finish()
            if self.fused:
                self.engine.head_only = False
            self.recipe.fit_ended()
            if self.best_state is not None:
                self._latest_state = copy.deepcopy(self.model.state_dict())
                self.model.load_state_dict(self.best_state)
        return hist

    def _schedule_metric(self, monitor: str, has_val: bool) -> str:
        """What the schedule reads at the end of an epoch: `monitor` when the user chose it; for
        ReduceLROnPlateau otherwise the metric its mode asks for (max: accuracy, min: loss)."""
        mode = (self.schedule.options.get("mode") if self.schedule is not None else None) or ""
        if self._monitor_given or mode not in ("min", "max"):
            return monitor
        return f"{'val' if has_val else 'train'}_{'acc' if mode == 'max' else 'loss'}"

    def _epoch_loaders(self, train: DataLoader, val: Optional[DataLoader]):
        """The C++ loaders the epochs run on: the DataLoaders' own, or cached backbone features."""
        wanted = self.cache_features is True or (self.cache_features == "auto" and self.fused)
        if not wanted or not feature_cache.applies(self.model, train, val):
            if self.cache_features is True:
                raise ConfigError(
                    "cache_features=True needs a greymatter model with a frozen backbone "
                    "(TransferClassifier, freeze=True) and transforms without Random*/ColorJitter"
                )
            return train.core, (val.core if val is not None else None)

        def cached(loader, desc):
            bar = progress_bar(len(loader), desc, leave=False) if self.progress else None
            try:
                return feature_cache.feature_loader(
                    self.engine,
                    loader,
                    self.model,
                    self.device,
                    progress=(lambda done, total: bar.update(done - bar.n))
                    if bar is not None
                    else None,
                )
            finally:
                if bar is not None:
                    bar.close()

        train_core = cached(train, "backbone features (train)")
        val_core = cached(val, "backbone features (val)") if val is not None else None
        self.engine.head_only = True
        return train_core, val_core

    def _continue_from_latest(self) -> None:
        # Between fit() calls the model holds the best weights; the next fit() goes on from the last
        # epoch's, so fit(epochs=1) five times trains like fit(epochs=5) — unless the user has
        # loaded other weights meanwhile.
        latest, self._latest_state = self._latest_state, None
        if latest is None or self.best_state is None:
            return
        current = self.model.state_dict()
        if all(torch.equal(current[k], v) for k, v in self.best_state.items() if k in current):
            self.model.load_state_dict(latest)

    @staticmethod
    def _improved(best: Optional[float], value: float, monitor: str, min_delta: float) -> bool:
        """Whether `value` beats `best` by more than `min_delta` (Keras' rule)."""
        if best is None:
            return True
        return value - best > min_delta if monitor.endswith("acc") else best - value > min_delta

    def _set_class_weights(self, train: DataLoader) -> None:
        """class_weights="balanced": n / (k * count) per class, from the training labels; a list:
        its length checked against the training set's classes."""
        given = self.config["class_weights"]
        classes = list(getattr(train.dataset, "classes", None) or [])
        if given != "balanced":
            if given and classes and len(given) != len(classes):
                raise ConfigError(
                    f"class_weights has {len(given)} entries but the training set has "
                    f"{len(classes)} classes ({', '.join(map(str, classes))})"
                )
            return
        labels = torch.tensor(labels_of(train.dataset, 'class_weights="balanced"'))
        k = max(len(classes), int(labels.max()) + 1)
        counts = torch.bincount(labels, minlength=k)
        missing = [classes[c] if c < len(classes) else str(c) for c in range(k) if counts[c] == 0]
        if missing:
            raise ConfigError(
                f'class_weights="balanced": the training set has no images of class(es) '
                f"{', '.join(map(str, missing))}, whose weight would be infinite; pass a list"
            )
        weights = (len(labels) / (k * counts.double())).tolist()
        self.engine.set_class_weights(weights)
        self.class_weights = weights

    def lr_find(
        self, train: DataLoader, start: float = 1e-7, end: float = 10.0, steps: int = 100
    ) -> "lr_finder.LRFinder":
        """The learning-rate range test: `steps` training steps, one batch each, with the lr growing
        exponentially from `start` to `end`; returns the loss per lr (``.lrs``, ``.losses``,
        ``.df``), ``.suggestion`` and ``.plot()``.

        Suggestion rule: one tenth of the lr at the lowest point of the loss curve smoothed by an
        exponential moving average (beta 0.98), reading the curve only up to the first NaN/inf
        loss or to two steps in a row whose loss and smoothed loss exceed 4x the lowest smoothed
        loss (the divergent tail, where the test also stops; a single spike does not end it). The
        test uses a fresh optimizer of this Trainer's kind and settings and puts the model's
        weights, buffers, gradients, mode and torch's random state back afterwards; the Trainer's
        optimizer and schedule are never touched, so ``fit`` afterwards trains exactly as it would
        have without the test."""
        if not isinstance(train, DataLoader):
            raise ConfigError(f"lr_find takes a greymatter DataLoader, got {type(train).__name__}")
        _check_not_empty(train, "training set (train)", "")
        self._set_class_weights(train)
        return lr_finder.range_test(self, train, self.engine.loss, start, end, steps)

    def fine_tune(
        self,
        train: DataLoader,
        val: Optional[DataLoader] = None,
        frozen_epochs: int = 1,
        epochs: int = 5,
        base_lr: Optional[float] = None,
        lr_mult: float = 0.1,
        on_epoch: Optional[Callable[[Dict], Optional[bool]]] = None,
        callbacks: Sequence[Callable[[Dict], Optional[bool]]] = (),
    ) -> History:
        """Transfer learning in two phases (fastai's fine_tune): `frozen_epochs` epochs of the head
        alone, the backbone frozen, at `base_lr`; then the whole network unfrozen for `epochs`
        more, with discriminative learning rates: two parameter groups of the engine's optimizer,
        the head at `base_lr` and the backbone at ``base_lr * lr_mult``. The model is one with
        ``freeze()`` / ``unfreeze()`` (``TransferClassifier``); what freeze() stops training is
        the backbone. base_lr: the Trainer's lr by default. A schedule runs once per phase (a
        OneCycle's max_lr scaled per group). A stop in the frozen phase (early stopping, a
        callback returning False) ends fine_tune there; early stopping counts afresh when the
        backbone unfreezes. The best weights are those of the best epoch of either phase. Returns
        the History of both.

        The phases are counted from the Trainer's first epoch, so a Trainer ``resume``d from a
        fine-tuning run continues in the phase it stopped in."""
        self._check_fine_tune(frozen_epochs, epochs, base_lr, lr_mult)
        base_lr = float(self.config["lr"] if base_lr is None else base_lr)
        done = self.epoch
        frozen_left = max(frozen_epochs - done, 0)
        unfrozen_left = epochs - max(done - frozen_epochs, 0)
        slots = range(len(list(self.model.parameters())))
        if frozen_left:
            self.model.freeze()
            if done == 0:  # else resume restored the groups and lrs (a schedule may move them)
                self._set_groups([{"params": list(slots), "lr": base_lr}])
                if self.schedule is not None:
                    self._start_schedule(train, frozen_left, [base_lr])
            self.fit(train, val, epochs=frozen_left, on_epoch=on_epoch, callbacks=callbacks)
            if self.epoch < frozen_epochs:  # stopped early
                return self.history
        if unfrozen_left <= 0:
            return self.history
        self._continue_from_latest()  # phase 2 goes on from the last epoch, not the best
        self.model.freeze()  # what it freezes is the backbone
        backbone = [i for i, p in enumerate(self.model.parameters()) if not p.requires_grad]
        self.model.unfreeze()
        head = sorted(set(slots) - set(backbone))
        if not backbone or not head:
            raise ConfigError(
                f"fine_tune: {type(self.model).__name__}.freeze() froze "
                f"{'nothing' if not backbone else 'everything'}: no backbone and head to tell apart"
            )
        lrs = [base_lr, base_lr * lr_mult]
        if len(self.engine.param_groups) != 2 or done <= frozen_epochs:
            self._set_groups([{"params": head, "lr": lrs[0]}, {"params": backbone, "lr": lrs[1]}])
            self.epochs_without_improvement, self.stopping_best = 0, None
            if self.schedule is not None:
                self._start_schedule(train, unfrozen_left, lrs)
        return self.fit(train, val, epochs=unfrozen_left, on_epoch=on_epoch, callbacks=callbacks)

    def _check_fine_tune(self, frozen_epochs, epochs, base_lr, lr_mult) -> None:
        model = self.model
        if not (
            callable(getattr(model, "freeze", None)) and callable(getattr(model, "unfreeze", None))
        ):
            raise ConfigError(
                f"fine_tune trains a model with a backbone to freeze and unfreeze "
                f"(gm.models.TransferClassifier), not {type(model).__name__}"
            )
        if not self.fused or isinstance(self.recipe.optimizer, torch.optim.Optimizer):
            raise ConfigError(
                "fine_tune sets the optimizer's parameter groups itself: give the optimizer, loss "
                "and scheduler by name (the C++ engine's), not as torch objects"
            )
        for name, value in (("frozen_epochs", frozen_epochs), ("epochs", epochs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"fine_tune: {name} must be an integer >= 0, got {value!r}")
        for name, value in (("base_lr", base_lr), ("lr_mult", lr_mult)):
            if value is None and name == "base_lr":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (0 < value < math.inf)
            ):
                raise ConfigError(f"fine_tune: {name} must be a positive number, got {value!r}")

    def _start_schedule(self, train: DataLoader, epochs: int, lrs: Sequence[float]) -> None:
        """The schedule again for `epochs` epochs from the optimizer's groups' lrs `lrs`."""
        steps_per_epoch = math.ceil(len(train) / self.config["accumulate"])
        options = self.schedule.engine_options(epochs, steps_per_epoch, lrs[0])
        if isinstance(options.get("max_lr"), (int, float)):  # one per group, in the lrs' ratios
            options["max_lr"] = [options["max_lr"] * lr / lrs[0] for lr in lrs]
        self.schedule_options = options
        self.engine.set_scheduler(scheduler_config(self.schedule.name, options))

    def _set_groups(self, groups: Sequence[Dict]) -> None:
        """The engine optimizer's parameter groups from torch.optim-style dicts (slot numbers)."""
        self.engine.param_groups = param_groups(groups, self.recipe.options.optimizer)

    def evaluate(self, loader: DataLoader, report: bool = False, tta=None) -> Dict:
        """{"loss", "accuracy"} of the current weights over the loader; an empty one is a
        ConfigError (no accuracy to report, rather than 0.0). ``report=True`` adds "report": the
        per-class precision, recall and F1 (greymatter.metrics.classification_report; a second
        pass over the loader). ``tta``: test-time augmentation, see predict."""
        if not isinstance(loader, DataLoader):
            raise ConfigError(
                f"evaluate takes a greymatter DataLoader, got {type(loader).__name__}"
            )
        _check_not_empty(loader, "evaluation set", "")
        with self._tta(tta):
            stats = self._run(loader.core, self.engine.evaluate, "evaluate")
            result = {"loss": stats.loss, "accuracy": stats.accuracy}
            if report:
                probs, labels = self._run(loader.core, self.engine.predict, "predict")
                classes = list(getattr(loader.dataset, "classes", None) or self.classes)
                if len(classes) != max(probs.size(1), 2):  # names of another task: numbers
                    classes = None
                result["report"] = classification_report(labels, probs, classes)
        return result

    def predict(self, loader: DataLoader, tta=None):
        """(probabilities (N, C), labels (N)) over the loader, in its order (use shuffle=False).
        ``tta``: test-time augmentation, the probabilities averaged over the image and fixed
        views of it: "hflip", "vflip", "crops" (four corners and the centre at 7/8 of the side,
        resized back) or a list of them; None: off."""
        if not isinstance(loader, DataLoader):
            raise ConfigError(f"predict takes a greymatter DataLoader, got {type(loader).__name__}")
        with self._tta(tta):
            return self._run(loader.core, self.engine.predict, "predict")

    @contextlib.contextmanager
    def _tta(self, tta):
        """The engine evaluates with `tta`'s views inside the block, and without after."""
        views = _test_time_augmentation(tta)
        if not views.num_views:
            yield
            return
        self.engine.tta = views
        try:
            yield
        finally:
            self.engine.tta = _core.TestTimeAugmentation()

    @torch.no_grad()
    def predict_topk(
        self,
        x: torch.Tensor,
        k: int = 5,
        classes: Optional[Sequence[str]] = None,
        tta=None,
    ):
        """Top-k (class, probability) pairs for one transformed image (C, H, W) or a list per image
        of a batch (B, C, H, W); classes default to those of the training set. ``tta`` as in
        predict."""
        if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
            raise ConfigError(
                f"predict_topk takes a (C, H, W) or (B, C, H, W) tensor, got "
                f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
            )
        single = x.dim() == 3
        loss = self.engine.loss  # the loss the training ran with: its rule for probabilities
        views = _test_time_augmentation(tta)
        if views.num_views and not isinstance(loss, _core.Loss):
            raise ConfigError(
                "test-time augmentation needs one of greymatter's losses (it averages their "
                "probabilities), not a loss function of your own"
            )
        was_training = self.model.training
        self.model.eval()
        try:
            device = next(iter(self.model.parameters())).device
            batch = (x.unsqueeze(0) if single else x).to(device)
            if views.num_views:
                probs = views.probabilities(self.model, loss, batch)
            else:
                probs = loss.probabilities(self.model(batch))
        finally:
            self.model.train(was_training)
        probs = probs.float().cpu()
        if probs.size(1) == 1:  # binary: the probability of class 1 and its complement
            probs = torch.cat([1 - probs, probs], dim=1)
        names = list(classes if classes is not None else self.classes) or [
            str(i) for i in range(probs.size(1))
        ]
        if len(names) != probs.size(1):
            raise ConfigError(f"{len(names)} class names for a model with {probs.size(1)} outputs")
        top = probs.topk(min(k, probs.size(1)), dim=1)
        result = [
            [(names[i], float(p)) for p, i in zip(vals, idx)]
            for vals, idx in zip(top.values, top.indices)
        ]
        return result[0] if single else result

    def _run(self, loader, step, desc: str, *args):
        """Runs an engine loop over a C++ loader (a DataLoader's .core), with a progress bar."""
        # One line per epoch that stays; evaluation bars vanish when done.
        bar = (
            progress_bar(len(loader), desc, leave=desc.startswith("epoch"))
            if self.progress
            else None
        )

        def callback(done, total):
            if bar is not None:
                bar.update(done - bar.n)

        try:
            result = step(loader, *args, progress=callback, every=self.progress_every)
            if bar is not None and hasattr(result, "accuracy"):
                bar.set_postfix(
                    loss=f"{result.loss:.4f}", acc=f"{result.accuracy:.4f}", refresh=True
                )
            return result
        finally:
            if bar is not None:
                bar.close()

    # -- checkpoints -------------------------------------------------------------------------------
    def _metadata(self, row: Dict) -> Dict:
        return {
            "epoch": row["epoch"],
            "metrics": row,
            "monitor": self.monitor,
            "model": getattr(self.model, "config", None) or {"name": type(self.model).__name__},
            "classes": list(self.classes),
            "transforms": self.transforms,
            "transform_config": self.transform_config,
            "transform_source": self.transform_source,
            "trainer": {
                **self.config,
                **self._class_weights_metadata(),
                "scheduler": repr(self.schedule),
                "seed": self.seed,
            },
        }

    def _class_weights_metadata(self) -> Dict:
        if self.config["class_weights"] != "balanced":
            return {}
        return {"class_weights": self.class_weights, "class_weights_rule": "balanced"}

    def _save_best(self, row: Dict) -> None:
        save_checkpoint(self.checkpoint, self.best_state, self._metadata(row))

    def state(self) -> Dict:
        """Everything a resumed run needs: tensors and plain values (save_state stores it so that
        weights-only loading reads it)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.engine.optimizer_state(),
            "lr": self.engine.lr,
            "lrs": list(self.engine.lrs),
            "param_groups": group_settings(self.engine.param_groups) if self.fused else None,
            "scheduler": {
                "name": self.schedule.name if self.schedule else None,
                "options": self.schedule_options,
                "state": self.engine.scheduler_state(),
            },
            "trainer": dict(self.config, seed=self.seed, monitor=self.monitor),
            "epoch": self.epoch,
            "planned_epochs": self.planned_epochs,
            "best_value": self.best_value,
            "best_state": self.best_state,
            "epochs_without_improvement": self.epochs_without_improvement,
            "stopping_best": self.stopping_best,
            "history": {"rows": list(self.history.rows), "best_epoch": self.history.best_epoch},
            "classes": list(self.classes),
        }

    def save_state(self, path) -> None:
        write_state(self.state(), path)

    def resume(self, path) -> "Trainer":
        """Loads a state written by a Trainer built with the same arguments
        (``runs/best.resume.pth`` next to ``checkpoint="runs/best.pth"``); then ``fit(train, val)``
        finishes the interrupted run. The file is read with weights-only loading (nothing in it
        runs); one that is not a whole greymatter training state is a DataError naming it."""
        state = read_state(path)
        saved = state["trainer"]
        differs = [
            k
            for k in self.config
            if saved.get(k, LOSS_DEFAULTS.get(k, _OLDER_DEFAULTS.get(k))) != self.config[k]
            and k != "lr"
        ]
        if differs:
            raise ConfigError(
                f"{path} was written by a Trainer with other settings: "
                + ", ".join(f"{k}={saved.get(k)!r} (this one: {self.config[k]!r})" for k in differs)
            )
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, KeyError, TypeError) as e:
            raise DataError(f"{path} does not fit this model: {str(e).splitlines()[0]}") from None
        if self.fused and state.get("param_groups"):  # fine_tune's, or a torch optimizer's
            self._set_groups(state["param_groups"])
        self.engine.load_optimizer_state(state["optimizer"])
        sched = state["scheduler"]
        if sched["name"] is not None:
            if self.schedule is None or self.schedule.name != sched["name"]:
                raise ConfigError(
                    f"{path} was trained with scheduler '{sched['name']}'; pass the same scheduler"
                )
            self.schedule_options = sched["options"]
            if not self.engine.has_scheduler:  # a torch scheduler the Python loop steps has one
                self.engine.set_scheduler(scheduler_config(sched["name"], sched["options"]))
            self.engine.load_scheduler_state(sched["state"])
        self.engine.lrs = state.get("lrs", [state["lr"]] * len(self.engine.lrs))
        self.epoch = state["epoch"]
        self.planned_epochs = state["planned_epochs"]
        self.best_value = state["best_value"]
        self.best_state = state["best_state"]
        self.epochs_without_improvement = state["epochs_without_improvement"]
        self.stopping_best = state.get("stopping_best", self.best_value)
        self.history = History(monitor=self.monitor)
        for row in state["history"]["rows"]:
            self.history.append(row)
        self.history.best_epoch = state["history"]["best_epoch"]
        self.classes = state["classes"]
        return self

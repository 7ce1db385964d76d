"""One sweep configuration, start to finish: build its loaders, model and Trainer, train, and return
its results row. `run_config` is what every executor calls (in this thread, a pool thread, a spawned
process or a Dask worker), so it and the `Plan` it reads are picklable whenever the user's model
factory and data are.

Everything random in a configuration comes from its own seed (model init under a lock, loader order,
dropout through the Trainer), never from the order configurations run in: local, Dask and resumed
runs agree. An exception inside a configuration becomes a "failed" row; KeyboardInterrupt is not
caught. An Optuna trial's configuration reports every epoch to its trial (study.TrialReporter) and
one its pruner stops becomes a "pruned" row with the epochs it trained. This file does not schedule
configurations or write the store. """
import contextlib
import datetime
import inspect
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from .. import models
from .._core import ConfigError
from ..datasets import Dataset
from ..loader import DataLoader
from ..train import Trainer
from ._process import keep_freed_memory_for_training, single_threaded
from .grid import Config
from .study import TrialReporter

__all__ = ["Plan", "run_config", "failed_row", "resolve_model", "ModelByName"]

# torch.manual_seed + weight init must not interleave between configurations sharing a process (a
# Dask worker with several threads); sweeps on this machine run one configuration per process.
_INIT_LOCK = threading.Lock()
# Data a factory returned, per worker process: configurations of one sweep load it once (key:
# plan.token).
_DATA_CACHE: Dict[Tuple[str, str], Tuple[Dataset, Dict[str, Any]]] = {}
_DATA_LOCK = threading.Lock()

TRAIN_LOADER_DEFAULTS = {"batch_size": 64, "shuffle": True}
VAL_BATCH_SIZE = 256


@dataclass
class Plan:
    """What every configuration of a sweep shares. `train`/`val`: a Dataset, a DataLoader (its
    dataset and settings; the seed is the configuration's) or a zero-argument factory returning
    either."""

    make_model: Callable
    train: Any
    val: Any
    epochs: int
    seed: int
    routes: Dict[str, str]
    model_kwargs: Dict[str, Any] = field(default_factory=dict)
    trainer_kwargs: Dict[str, Any] = field(default_factory=dict)
    loader_kwargs: Dict[str, Any] = field(default_factory=dict)
    token: str = (
        ""  # stable hash of the fixed settings: part of every store key, names the data cache
    )
    single_threaded: bool = True  # one torch + one OpenBLAS thread per configuration (_process.py)


def run_config(plan: Plan, config: Config) -> Dict[str, Any]:
    """Trains one configuration; returns its results row ("ok", or "failed" with the error)."""
    keep_freed_memory_for_training()  # in a Dask worker: see _process.py
    with single_threaded() if plan.single_threaded else contextlib.nullcontext():
        return _train(plan, config)


def _train(plan: Plan, config: Config) -> Dict[str, Any]:
    start = time.perf_counter()
    split = split_params(plan, config.params)
    seed = int(split["run"].get("seed", plan.seed))
    epochs = int(split["run"].get("epochs", plan.epochs))
    trainer = None
    # An Optuna trial's configuration reports each epoch to it, and stops when it is pruned.
    reporter = TrialReporter(config.trial) if config.trial is not None else None
    try:
        train_loader, val_loader = build_loaders(plan, split, seed)
        start = (
            time.perf_counter()
        )  # training time: building a worker's data once is not this configuration's
        model = build_model(plan, split, seed)
        trainer = Trainer(model, **trainer_settings(plan, split, seed))
        hist = trainer.fit(train_loader, val_loader, epochs=epochs, on_epoch=reporter)
    except (
        Exception
    ) as e:  # noqa: BLE001 - one configuration's failure is data for the table, not a crash
        done = len(trainer.history) if trainer is not None else 0
        return failed_row(
            config, f"{type(e).__name__}: {e}", seconds=time.perf_counter() - start, epochs=done
        )
    best = hist.rows[hist.best_epoch - 1]
    return _row(
        config,
        status="pruned" if reporter is not None and reporter.pruned else "ok",
        error=None,
        val_acc=best["val_acc"],
        val_loss=best["val_loss"],
        train_acc=best["train_acc"],
        train_loss=best["train_loss"],
        gap=best["gap"],
        best_epoch=hist.best_epoch,
        epochs=len(hist),
        seconds=time.perf_counter() - start,
    )


def split_params(plan: Plan, params: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """A configuration's grid values by destination: model, trainer, loader, run."""
    split: Dict[str, Dict[str, Any]] = {"model": {}, "trainer": {}, "loader": {}, "run": {}}
    for k, v in params.items():
        split[plan.routes[k]][k] = v
    return split


def build_loaders(plan: Plan, split, seed: int) -> Tuple[DataLoader, Optional[DataLoader]]:
    train_ds, train_settings = _materialize(plan, "train")
    loader_settings = {
        **TRAIN_LOADER_DEFAULTS,
        **train_settings,
        **plan.loader_kwargs,
        **split["loader"],
    }
    train_loader = DataLoader(train_ds, seed=seed, **loader_settings)
    val_loader = None
    if plan.val is not None:
        val_ds, val_settings = _materialize(plan, "val")
        val_loader = DataLoader(
            val_ds, batch_size=val_settings.get("batch_size", VAL_BATCH_SIZE), seed=seed
        )
    return train_loader, val_loader


def build_model(plan: Plan, split, seed: int):
    """The configuration's model, its init drawn from `seed` alone. With the same seed every
    configuration gets the same backbone weights (TransferClassifier builds its backbone before the
    head), so they share the feature cache."""
    with _INIT_LOCK:
        torch.manual_seed(seed)
        return plan.make_model(**plan.model_kwargs, **split["model"])


def trainer_settings(plan: Plan, split, seed: int) -> Dict[str, Any]:
    return {"seed": seed, **plan.trainer_kwargs, **split["trainer"], "progress": False}


def failed_row(
    config: Config, error: str, seconds: Optional[float] = None, epochs: int = 0
) -> Dict[str, Any]:
    return _row(config, status="failed", error=error, epochs=epochs, seconds=seconds)


def _row(config: Config, **values) -> Dict[str, Any]:
    row = {"key": config.key, "index": config.index, "params": config.params, **values}
    row["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"
    return row


def _materialize(plan: Plan, part: str) -> Tuple[Dataset, Dict[str, Any]]:
    """(dataset, loader settings) for plan.train or plan.val; a factory is called once per
    process."""
    given = getattr(plan, part)
    if isinstance(given, (Dataset, DataLoader)):
        return as_dataset(given, part)
    with _DATA_LOCK:
        cache_key = (plan.token, part)
        if cache_key not in _DATA_CACHE:
            if len(_DATA_CACHE) >= 4:  # another sweep's data: let it go
                _DATA_CACHE.clear()
            _DATA_CACHE[cache_key] = as_dataset(given, part)
        return _DATA_CACHE[cache_key]


def as_dataset(given, part: str) -> Tuple[Dataset, Dict[str, Any]]:
    """(dataset, loader settings) from a Dataset, a DataLoader or a factory of either."""
    if callable(given) and not isinstance(given, (Dataset, DataLoader)):
        given = given()
    if isinstance(given, Dataset):
        return given, {}
    if isinstance(given, DataLoader):
        settings = {
            "batch_size": given.batch_size,
            "shuffle": given.shuffle,
            "num_workers": given.num_workers,
            "drop_last": given.drop_last,
            "prefetch": given.prefetch,
        }
        if (
            given.sampler is not None
        ):  # only then, so stores written without samplers keep their keys
            sampler = given.weighted_sampler
            settings.update(
                sampler=given.sampler if isinstance(given.sampler, str) else list(sampler.weights),
                num_samples=sampler.num_samples,
                replacement=sampler.replacement,
            )
        return given.dataset, settings
    raise ConfigError(
        f"sweep {part}= takes a greymatter Dataset, a DataLoader, or a zero-argument function "
        f"returning one; got {type(given).__name__}"
    )


class ModelByName:
    """A model factory named by string: picklable (workers look the name up again), and its
    signature is the registered model's, so grid keys route to it by name and a misspelled key is a
    ConfigError before anything runs. get_model itself takes **kwargs and would accept any key."""

    def __init__(self, name: str) -> None:
        try:
            self.name = models.model_entry(
                name
            ).name  # unknown names fail here, before anything runs
        except ConfigError:
            raise ConfigError(
                f"unknown model name {name!r}; known: {', '.join(models.model_names())} (or pass a "
                f"function that builds the model)"
            ) from None

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(models.model_entry(self.name).build)

    def __call__(self, **kwargs):
        return models.get_model(self.name, **kwargs)  # its errors name the model

    def __repr__(self) -> str:
        return f"ModelByName({self.name!r})"


def resolve_model(model) -> Callable:
    """A model factory from a function/class or a registered model name."""
    if isinstance(model, str):
        return ModelByName(model)
    if callable(model):
        return model
    raise ConfigError(
        f"sweep's first argument is a function that builds a model, or a model name; "
        f"got {type(model).__name__}"
    )

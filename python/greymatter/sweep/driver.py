"""gm.sweep: train one model per configuration of a grid (learning rate x inner layer size, ...) and
return a table of the results, one row per configuration.

    df = gm.sweep(make_model, grid={"lr": [1e-4, 1e-3, 1e-2, 1e-1], "size_inner": [10, 100, 1000]},
                  train=train_ds, val=val_ds, epochs=5, results="runs/sweep.csv")

Everything is checked before the first configuration trains. Each finished configuration is written
to the results store at once; running the same sweep again skips what the store already has. This
module plans the sweep and runs its loop; the other modules of this package each do one part (see
__init__.py). """
import dataclasses
import functools
import inspect
import os
import textwrap
from typing import Any, Callable, Dict, List, Optional, Union

from .. import transforms as T
from .._core import ConfigError
from .._threads import available_cores
from ..datasets import Dataset
from ..loader import DataLoader
from ..models.registry import entry_of
from ..train.progress import progress_bar
from .executors import best_dumps, check_picklable, make_runner
from .features import trains_on_cached_features
from .grid import (
    LOADER_KEYS,
    TRAINER_KEYS,
    Config,
    check_kwargs,
    check_values,
    expand,
    factory_parameters,
    first_point,
    route_keys,
    stable_hash,
)
from .run import ModelByName, Plan, as_dataset, resolve_model
from .search import GridSearch, OptunaSearch, make_pruner
from .store import check_results_path, open_store
from .study import default_storage

__all__ = ["sweep", "RESULT_COLUMNS"]

# Metrics are those of each configuration's best epoch (the weights the Trainer restores).
RESULT_COLUMNS = [
    "val_acc",
    "val_loss",
    "train_acc",
    "train_loss",
    "gap",
    "best_epoch",
    "epochs",
    "seconds",
    "status",
    "error",
]
STRATEGIES = ("grid", "optuna")
# Trainer settings left out of the store key: they change speed, not results
# (tests/test_sweep_transfer.py).
RESULT_NEUTRAL_TRAINER_KEYS = ("cache_features",)


def sweep(
    model: Union[Callable, str],
    grid: Dict[str, List[Any]],
    train,
    val=None,
    epochs: int = 5,
    trainer_kwargs: Optional[Dict[str, Any]] = None,
    loader_kwargs: Optional[Dict[str, Any]] = None,
    model_kwargs: Optional[Dict[str, Any]] = None,
    executor=None,
    n_jobs: Optional[int] = None,
    results=None,
    seed: int = 42,
    strategy: str = "grid",
    n_trials: Optional[int] = None,
    storage: Optional[str] = None,
    prune=False,
    retry_failed: bool = False,
    progress: bool = True,
):
    """Trains `model` once per configuration of `grid` and returns a table of the results.

    Args:
        model: a function (or class) building the model, whose parameters that are grid keys it
            gets; or a name from gm.models' registry ("transfer": TransferClassifier, "mnistnet",
            ...; "mnistnet" takes `size_inner`, the width of its one hidden layer). Each
            configuration's model is built right after torch.manual_seed(seed), so all get the same
            TransferClassifier backbone (unless `seed` is a grid key), and a frozen one runs once
            per image for the whole sweep (the Trainer's feature cache), not every epoch of every
            configuration.
        grid: key -> list of values, or (strategy="optuna") a range Optuna samples: ("log", lo,
            hi), ("float", lo, hi) or ("int", lo, hi), e.g. {"lr": ("log", 1e-5, 1e-1),
            "size_inner": [10, 100, 1000]}. Keys that are not the model's go to the Trainer (lr,
            weight_decay, optimizer, momentum, ...), the training DataLoader (batch_size, ...) or
            the run (seed, epochs).
        train: a Dataset, a DataLoader (its dataset and settings; the shuffle seed is the
            configuration's), or a zero-argument function returning one (needed to send the data
            to Dask or process workers).
        val: the validation data, in the same forms; None trains without validation.
        epochs: epochs per configuration (a grid key may vary it).
        trainer_kwargs: fixed Trainer settings for every configuration.
        loader_kwargs: fixed training DataLoader settings for every configuration.
        model_kwargs: fixed model arguments for every configuration.
        executor: None (this machine), a dask.distributed.Client, or a
            concurrent.futures.Executor.
        n_jobs: worker processes on this machine. None: one per free core (at most one per
            configuration) when the data can be sent to processes (given as factories) and the
            configurations do not share a frozen backbone's features (each process would repeat
            that pass), else 1, in this process. Each configuration runs on one thread (torch and
            OpenBLAS) wherever it runs, so results do not depend on where it ran (docs/sweep.md has
            the measurements behind this).
        results: a .csv path, a .db/.sqlite path, or None (memory only). Finished configurations
            are appended as they finish; a re-run of the same sweep skips them. Rows are keyed by
            the configuration and every fixed setting, so changing epochs, data or model trains
            anew.
        seed: seeds each configuration's model init, shuffle and dropout (a "seed" grid key
            overrides it).
        strategy: "grid" (every configuration) or "optuna" (n_trials configurations picked by
            Optuna's TPE sampler: list values as categories, ranges sampled on their scale).
        n_trials: the configurations strategy="optuna" tries, counted over the whole study (a
            re-run, or several sweeps on one storage, together stop at n_trials).
        storage: strategy="optuna"'s study storage, an RDB URL; default
            "sqlite:///<results>.optuna.db" beside the results file (in memory with results=None).
            Sweeps and Dask workers on several machines work on one study through one URL; a re-run
            continues it (docs/sweep.md).
        prune: strategy="optuna" only. True or "median" (MedianPruner), "halving"
            (SuccessiveHalvingPruner) or an optuna.pruners object: each configuration reports its
            per-epoch val_acc (train_loss without val) to its trial, and a trial the pruner stops
            ends its training there; its row says status "pruned" with the epochs it trained.
        retry_failed: re-run the configurations the results store holds as failed.
        progress: a progress bar over the configurations.

    Returns:
        A pandas DataFrame, one row per configuration: its grid values, then val_acc, val_loss,
        train_acc, train_loss, gap (train_acc - val_acc) of its best epoch, best_epoch, epochs
        trained, seconds, status ("ok", "pruned" or "failed") and error. Optuna sweeps start with a
        "trial" column (the trial's number) and name the study's best trial in
        ``df.attrs["best"]`` ({"trial", "value", "params"}).

    Raises:
        ConfigError: a grid key nothing takes, a bad range, bad data or settings; all checked
            before the first configuration trains.
    """
    make_model = resolve_model(model)
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    if strategy == "grid" and (n_trials is not None or storage is not None or prune):
        raise ConfigError("n_trials, storage and prune are settings of strategy='optuna'")
    points = expand(grid) if strategy == "grid" else [first_point(grid)]
    check_values(grid, trainer_kwargs)
    routes = route_keys(list(grid), make_model)
    if train is None:
        raise ConfigError("sweep needs train= data")
    # Data given as a factory is built here once: to check it and fingerprint it for the store key,
    # and for the configurations that run on this machine (remote workers call the factory
    # themselves).
    built = {"train": _build(train), "val": _build(val)}
    plan = _plan(
        make_model,
        train,
        val,
        built,
        epochs,
        seed,
        routes,
        grid,
        trainer_kwargs,
        loader_kwargs,
        model_kwargs,
    )
    check_results_path(results)
    auto_jobs = n_jobs is None
    here = dataclasses.replace(
        plan, train=built["train"], val=built["val"]
    )  # in this process: data built above
    n_jobs = _n_jobs(
        n_jobs, executor, plan, here, points[0], len(points) if strategy == "grid" else n_trials
    )
    if executor is None and n_jobs == 1:
        plan = here

    def make_config(index: int, params: Dict[str, Any]) -> Config:
        return Config(index, params, stable_hash({"plan": plan.token, "params": params}))

    if strategy == "grid":
        search = GridSearch([make_config(i, p) for i, p in enumerate(points)])
    else:
        storage = storage if storage is not None else default_storage(results)
        pruner = make_pruner(prune)
        if pruner is not None and storage is None and (executor is not None or n_jobs > 1):
            raise ConfigError(
                "prune=True with worker processes or Dask needs a study they can reach: give "
                "results= (the study goes beside it) or storage= (an RDB URL)"
            )
        search = OptunaSearch(
            grid,
            make_config,
            n_trials,
            storage,
            study_name=f"greymatter-sweep-{plan.token}",
            seed=plan.seed,
            maximize=val is not None,
            pruner=pruner,
        )
    store = open_store(results)
    try:
        known = {k: r for k, r in store.load().items() if r["status"] == "ok" or not retry_failed}
        runner = make_runner(executor, n_jobs, plan, fallback=here if auto_jobs else None)
        try:
            total = (
                sum(c.key not in known for c in search.configs) if strategy == "grid" else n_trials
            )
            table = _loop(search, runner, store, known, _progress_bar(progress, total))
        finally:
            runner.close()
    finally:
        store.close()
        search.close()
    df = _dataframe(table, list(grid), trials=strategy == "optuna")
    if strategy == "optuna":
        df.attrs["best"] = search.best()
    return df


def _loop(search, runner, store, known: Dict[str, Dict], bar) -> List:
    """Runs configurations as the search asks for them, keeping runner.capacity in flight; returns
    [(config, row)] in the search's order. A configuration already in `known` is answered from it.
    """
    order: Dict[str, Config] = {}  # key -> first config asking for it, in asking order
    rows: Dict[str, Dict] = {}
    in_flight: Dict[Any, Config] = {}
    try:
        while True:
            while len(in_flight) < runner.capacity:
                config = search.ask()
                if config is None:
                    break
                order.setdefault(config.key, config)
                if config.key in rows or config.key in known:
                    rows.setdefault(config.key, known.get(config.key))
                    search.tell(config, rows[config.key])
                elif config.key not in {c.key for c in in_flight.values()}:  # Optuna may ask twice
                    in_flight[runner.submit(config)] = config
            if not in_flight:
                break
            for handle in runner.wait(list(in_flight)):
                config = in_flight.pop(handle)
                row = runner.row(handle, config)
                store.append(row)  # at once: a kill after this line keeps the configuration
                rows[config.key] = row
                search.tell(config, row)
                if bar is not None:
                    bar.update(1)
                    if row.get("val_acc") is not None:
                        bar.set_postfix(last=_describe(config), val_acc=f"{row['val_acc']:.4f}")
    except (
        BaseException
    ):  # KeyboardInterrupt included: stop what runs, keep what the store has, re-raise
        runner.cancel(list(in_flight))
        search.cancel(list(in_flight.values()))
        raise
    finally:
        if bar is not None:
            bar.close()
    return [(config, rows[key]) for key, config in order.items() if key in rows]


def _dataframe(table, keys: List[str], trials: bool = False):
    import pandas as pd

    records = []
    for config, row in table:
        record = {"trial": config.index} if trials else {}
        record.update(config.params)
        record.update({c: row.get(c) for c in RESULT_COLUMNS})
        records.append(record)
    df = pd.DataFrame(records, columns=(["trial"] if trials else []) + keys + RESULT_COLUMNS)
    for c in ("trial", "best_epoch", "epochs") if trials else ("best_epoch", "epochs"):
        df[c] = df[c].astype("Int64")  # integers that may be missing (failed rows)
    return df


def _plan(
    make_model,
    train,
    val,
    built,
    epochs,
    seed,
    routes,
    grid,
    trainer_kwargs,
    loader_kwargs,
    model_kwargs,
) -> Plan:
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    trainer_kwargs = check_kwargs(
        trainer_kwargs,
        [k for k in TRAINER_KEYS if k != "seed"],
        "trainer_kwargs (the Trainer; the seed is sweep's seed=)",
    )
    loader_kwargs = check_kwargs(
        loader_kwargs, LOADER_KEYS, "loader_kwargs (the training DataLoader)"
    )
    named, var_kw = factory_parameters(make_model)
    model_kwargs = (
        check_kwargs(model_kwargs, sorted(named), f"model_kwargs ({make_model!r})")
        if not var_kw
        else dict(model_kwargs or {})
    )
    for fixed, name in (
        (trainer_kwargs, "trainer_kwargs"),
        (loader_kwargs, "loader_kwargs"),
        (model_kwargs, "model_kwargs"),
    ):
        both = sorted(set(fixed) & set(grid))
        if both:
            raise ConfigError(f"{', '.join(both)}: both a grid key and in {name}; keep one")
    fingerprints = {
        part: _fingerprint(as_dataset(b, part)) if b is not None else None
        for part, b in built.items()
    }
    same_results = {k: v for k, v in trainer_kwargs.items() if k not in RESULT_NEUTRAL_TRAINER_KEYS}
    token = stable_hash(
        {
            "model": _model_id(make_model),
            "model_kwargs": model_kwargs,
            "trainer": same_results,
            "loader": loader_kwargs,
            "epochs": epochs,
            "seed": seed,
            "data": fingerprints,
        }
    )
    return Plan(
        make_model=make_model,
        train=train,
        val=val,
        epochs=epochs,
        seed=seed,
        routes=routes,
        model_kwargs=model_kwargs,
        trainer_kwargs=trainer_kwargs,
        loader_kwargs=loader_kwargs,
        token=token,
    )


def _build(given):
    """`given`, or what it returns when it is a data factory (a zero-argument function)."""
    if given is None or isinstance(given, (Dataset, DataLoader)) or not callable(given):
        return given
    return given()


def _fingerprint(dataset_and_settings) -> Dict[str, Any]:
    """What identifies the data in the store key: its kind, where it comes from, which samples,
    transforms."""
    ds, settings = dataset_and_settings
    base = ds
    while hasattr(base, "dataset") and isinstance(base.dataset, Dataset):
        base = base.dataset
    indices = ds.indices
    return {
        "type": type(base).__name__,
        "root": str(getattr(base, "root", "")),
        "train": getattr(base, "train", None),
        "size": len(ds),
        "indices": stable_hash(list(indices)) if indices is not None else None,
        "transform": T.to_config(getattr(ds, "transform", None)),
        "classes": list(getattr(ds, "classes", [])),
        "loader": settings,
    }


def _model_id(make_model) -> Any:
    """What identifies the model factory in the store key: a registered model's name (the same
    whether given as "transfer" or gm.models.TransferClassifier), else the qualified name and the
    source text of the user's function or class, so editing make_model in a notebook trains anew
    instead of reusing rows of the old one."""
    if isinstance(make_model, ModelByName):
        return f"model:{make_model.name}"
    entry = entry_of(make_model)
    if entry is not None:
        return f"model:{entry.name}"
    if isinstance(make_model, functools.partial):
        return [
            _model_id(make_model.func),
            repr(make_model.args),
            repr(sorted(make_model.keywords.items())),
        ]
    target = make_model if hasattr(make_model, "__qualname__") else type(make_model)
    return [f"{getattr(target, '__module__', '?')}.{target.__qualname__}", _source_hash(target)]


def _source_hash(obj) -> str:
    """A hash of the source text of a function or class. Code whose source Python does not keep
    (exec'd strings, a bare interpreter prompt) is hashed by its compiled form instead, which
    changes with Python's
    version: such rows train again after an upgrade rather than being mistaken for another
    function's."""
    try:
        return stable_hash(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None) or getattr(
            getattr(obj, "__call__", None), "__code__", None
        )
        return _code_hash(code) if code is not None else stable_hash(repr(obj))


def _code_hash(code) -> str:
    parts = [code.co_code.hex(), list(code.co_names)]
    for c in code.co_consts:
        parts.append(_code_hash(c) if hasattr(c, "co_code") else repr(c))
    return stable_hash(["compiled", parts])


def _n_jobs(n_jobs, executor, plan: Plan, here: Plan, first: Dict[str, Any], n_configs) -> int:
    """Worker processes on this machine; 1 means this process. None: one per core that is free now
    (at most one per configuration) when the plan can be sent to processes (data given as factories)
    and the configurations do not share a backbone pass (each process would repeat it), else 1. A
    busy core makes a worker a loss (docs/sweep.md); the choice never changes results, only speed.
    `here`: the plan with this process's data."""
    if executor is not None:
        if n_jobs is not None:
            raise ConfigError(
                "n_jobs is for runs on this machine; with an executor, its workers decide"
            )
        return 1
    if n_jobs is None:
        cores = available_cores()
        busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        n = max(
            1, min(cores, n_configs or 1, int(cores - busy + 1))
        )  # + 1: this process idles meanwhile
        return n if n > 1 and _picklable(plan) and not trains_on_cached_features(here, first) else 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise ConfigError(f"n_jobs must be a positive integer or None, got {n_jobs!r}")
    return n_jobs


def _picklable(plan: Plan) -> bool:
    try:
        check_picklable(plan, best_dumps(), "worker processes")
        return True
    except ConfigError:
        return False


def _progress_bar(progress: bool, total: Optional[int]):
    return progress_bar(total, "sweep", leave=True, unit="config") if progress else None


def _describe(config: Config) -> str:
    return ",".join(f"{k}={v}" for k, v in config.params.items())

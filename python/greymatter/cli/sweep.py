"""`greymatter sweep`: one model per configuration of a grid, on IDX data or an image folder, via
gm.sweep.

    greymatter sweep --lr 1e-4,1e-3,1e-2,1e-1 --size-inner 10,100,1000 --epochs 5
    greymatter sweep --data data/clothing --model transfer --weights mobilenet_v2.pth \\
                     --lr 1e-4,1e-3,1e-2,1e-1 --size-inner 10,100,1000 --epochs 5

An image folder is split and read as `greymatter train` reads it (inputs.load_split: stratified,
Resize to the model's input size, the model's normalization), so a sweep's best configuration trains
again with `greymatter train` on the same images. """
import argparse
import sys
from typing import List

from .._core import ConfigError
from ..datasets import FashionMNIST, MNIST, Subset, random_split
from ..models import model_entry
from ..sweep import sweep as run_sweep
from ..sweep.grid import RANGE_KINDS
from ..sweep.run import ModelByName
from .inputs import check_split_options, data_kind, image_spec, load_split, model_kwargs
from .values import non_negative_float, positive_float, positive_int, probability

__all__ = ["SWEEP_GRID", "SweepData", "sweep"]

# Grid options of `greymatter sweep`: flag -> (grid key, parser of each comma-separated value).
SWEEP_GRID = {
    "lr": ("lr", positive_float),
    "size_inner": ("size_inner", positive_int),
    "weight_decay": ("weight_decay", non_negative_float),
    "momentum": ("momentum", non_negative_float),
    "optimizer": ("optimizer", str),
    "batch_size": ("batch_size", positive_int),
    "dropout": ("dropout", probability),
}


class SweepData:
    """Picklable data factory: the train or validation part of --data, split as `greymatter train`
    does. Worker processes and Dask workers build it themselves."""

    def __init__(
        self, data: str, part: str, val_fraction: float, seed: int, train_size=None, spec=None
    ) -> None:
        self.data, self.part, self.val_fraction, self.seed, self.train_size = (
            data,
            part,
            val_fraction,
            seed,
            train_size,
        )
        self.spec = (
            spec  # an ImageSpec for image folders; None for IDX data (read as ToTensor gives it)
        )

    def __call__(self):
        if self.spec is not None:
            train, val, _ = load_split(self.data, self.spec, self.val_fraction, self.seed)
        else:
            full = (
                FashionMNIST(train=True)
                if self.data == "fashion-mnist"
                else MNIST(root=self.data, train=True)
            )
            train, val = random_split(
                full, [1.0 - self.val_fraction, self.val_fraction], seed=self.seed
            )
        if self.part == "val":
            return val
        return Subset(train, range(min(self.train_size, len(train)))) if self.train_size else train


def parse_values(flag: str, text: str, kind):
    """A comma-separated list, or for --strategy optuna a range "log:LOW:HIGH", "float:LOW:HIGH" or
    "int:LOW:HIGH" (grid.py)."""
    head, _, rest = text.partition(":")
    if head.strip() not in RANGE_KINDS or kind is str:
        return parse_list(flag, text, kind)
    ends = rest.split(":")
    if len(ends) != 2:
        raise ConfigError(f"--{flag.replace('_', '-')}: a range is {head}:LOW:HIGH, got {text!r}")
    number = int if head.strip() == "int" else float
    return (head.strip(), *parse_list(flag, ",".join(ends), number))


def parse_list(flag: str, text: str, kind) -> list:
    values = []
    for item in text.split(","):
        item = item.strip()
        if item == "":
            raise ConfigError(f"--{flag.replace('_', '-')}: empty value in {text!r}")
        try:
            values.append(kind(item))
        except (ValueError, argparse.ArgumentTypeError) as e:
            raise ConfigError(f"--{flag.replace('_', '-')}: {e}") from None
    return values


def sweep(args) -> int:
    grid = {
        key: parse_values(flag, getattr(args, flag), kind)
        for flag, (key, kind) in SWEEP_GRID.items()
        if getattr(args, flag) is not None
    }
    if not grid:
        raise ConfigError(
            "give at least one list to sweep over: "
            + ", ".join("--" + f.replace("_", "-") for f in SWEEP_GRID)
        )
    check_split_options(args)
    entry = model_entry(ModelByName(args.model).name)  # an unknown name: the sweep's own message
    spec, fixed = None, None
    if data_kind(args.data) == "folder":
        if entry.loss != "cross_entropy":
            raise ConfigError(
                f"--model {entry.name} is a binary (sigmoid) classifier; sweep it from Python with "
                f"trainer_kwargs={{'loss': '{entry.loss}'}}"
            )
        spec = image_spec(args, "folder")
        _, _, classes = load_split(
            args.data, spec, args.val_fraction, args.seed
        )  # errors now, not in workers
        fixed = model_kwargs(entry, spec, len(classes), args)
        if (
            entry.weights is not None
        ):  # a missing weights file: one error now, not one failed row per configuration
            entry.build(**fixed)
    elif not entry.idx:
        raise ConfigError(
            f"--model {args.model} does not take 1x28x28 MNIST-format images; give --data an image "
            f"folder"
        )
    data = [
        SweepData(args.data, part, args.val_fraction, args.seed, args.train_size, spec)
        for part in ("train", "val")
    ]
    results = None if args.results.lower() == "none" else args.results
    client = None
    if args.dask:
        from distributed import Client

        client = Client(args.dask)
    try:
        df = run_sweep(
            entry.name,
            grid,
            train=data[0],
            val=data[1],
            epochs=args.epochs,
            seed=args.seed,
            results=results,
            n_jobs=args.n_jobs,
            executor=client,
            strategy=args.strategy,
            n_trials=args.n_trials,
            storage=args.storage,
            prune=args.prune or False,
            retry_failed=args.retry_failed,
            model_kwargs=fixed,
            progress=sys.stderr.isatty(),
        )
    finally:
        if client is not None:
            client.close()
    _print_table(df, list(grid), results)
    return 0


def _print_table(df, keys: List[str], results) -> None:
    """The table, the best configuration (Optuna: the study's best trial) and a count by status."""
    print(
        df.drop(columns=["error"] if df["error"].isna().all() else []).to_string(
            index=False, float_format=lambda v: f"{v:.4g}"
        )
    )
    ok = df[df["status"] == "ok"]
    study_best = df.attrs.get("best")
    if study_best is not None:
        print(
            f"best: trial {study_best['trial']}: "
            + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in study_best["params"].items()
            )
            + f" (val_acc {study_best['value']:.4f})"
        )
    elif len(ok):
        best = ok.loc[ok["val_acc"].idxmax()]
        print(
            "best: "
            + ", ".join(f"{k}={best[k]}" for k in keys)
            + f" (val_acc {best['val_acc']:.4f})"
        )
    pruned = int((df["status"] == "pruned").sum())
    print(
        f"{len(ok)} of {len(df)} configurations ok"
        + (f", {pruned} pruned" if pruned else "")
        + (f"; results in {results}" if results else "")
    )

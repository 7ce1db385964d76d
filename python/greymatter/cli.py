"""The `greymatter` command. `greymatter train --data fashion-mnist --model mnistnet --epochs 2 --out runs/x`,
`greymatter sweep --lr 1e-4,1e-3,1e-2,1e-1 --size-inner 10,100,1000 --epochs 1 --results runs/sweep.csv`."""
import argparse
import sys

MODELS = ("mnistnet",)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="greymatter", description="Train image classifiers fast, from the shell.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model and write checkpoint, metadata and curves")
    t.add_argument("--data", default="fashion-mnist", help="'fashion-mnist' or a folder of MNIST IDX files")
    t.add_argument("--model", default="mnistnet", choices=MODELS)
    t.add_argument("--hidden", default="128,64", help="hidden layer sizes, comma-separated")
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--optimizer", default="adam", choices=("adam", "adamw", "sgd"))
    t.add_argument("--scheduler", default=None, choices=("plateau", "cosine", "onecycle"))
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--out", default="runs/train")
    _sweep_parser(sub)
    return p


# Grid options of `greymatter sweep`: flag -> (grid key, type of each comma-separated value).
SWEEP_GRID = {"lr": ("lr", float), "size_inner": ("size_inner", int), "weight_decay": ("weight_decay", float),
              "momentum": ("momentum", float), "optimizer": ("optimizer", str), "batch_size": ("batch_size", int),
              "dropout": ("dropout", float)}


def _sweep_parser(sub) -> None:
    s = sub.add_parser("sweep", help="train one model per configuration of a grid and print the results table",
                       description="Lists are comma-separated: --lr 1e-4,1e-3 --size-inner 10,100 is a 2x2 grid.")
    s.add_argument("--data", default="fashion-mnist", help="'fashion-mnist' or a folder of MNIST IDX files")
    s.add_argument("--model", default="mnistnet", help="model name (mnistnet: size_inner is its hidden width)")
    for flag in SWEEP_GRID:
        s.add_argument("--" + flag.replace("_", "-"), dest=flag, metavar="LIST", help=f"{flag} values")
    s.add_argument("--epochs", type=int, default=5)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--val-fraction", type=float, default=0.1, help="share of the training set for validation")
    s.add_argument("--train-size", type=int, default=None, help="train on the first N images of the split only")
    s.add_argument("--results", default="runs/sweep.csv", help=".csv, .db/.sqlite, or 'none'; re-runs resume")
    s.add_argument("--retry-failed", action="store_true", help="re-run configurations the results store has failed")
    s.add_argument("--n-jobs", type=int, default=None, help="worker processes (default: one per free core)")
    s.add_argument("--dask", metavar="ADDRESS", default=None, help="run on the Dask scheduler at ADDRESS")
    s.add_argument("--strategy", default="grid", choices=("grid", "optuna"))
    s.add_argument("--n-trials", type=int, default=None, help="optuna: trials in all")
    s.add_argument("--storage", default=None, help="optuna: study storage URL, e.g. sqlite:///study.db")


def _train(args) -> int:
    import greymatter as gm

    if args.data == "fashion-mnist":
        full, test = gm.datasets.FashionMNIST(train=True), gm.datasets.FashionMNIST(train=False)
    else:
        full, test = gm.datasets.MNIST(root=args.data, train=True), gm.datasets.MNIST(root=args.data, train=False)
    train, val = gm.random_split(full, [0.9, 0.1], seed=args.seed)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    model = gm.models.MNISTNet(hidden=hidden, num_classes=len(full.classes))
    tr = gm.Trainer(model, optimizer=args.optimizer, lr=args.lr, scheduler=args.scheduler, seed=args.seed,
                    checkpoint=f"{args.out}/best.pth")
    hist = tr.fit(gm.DataLoader(train, batch_size=args.batch_size, shuffle=True, seed=args.seed),
                  gm.DataLoader(val, batch_size=256), epochs=args.epochs)
    print(hist.df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    result = tr.evaluate(gm.DataLoader(test, batch_size=256))
    gm.plots.curves(hist, save=f"{args.out}/curves.png")
    print(f"test accuracy {result['accuracy']:.4f}; wrote {args.out}/best.pth, best.json, curves.png")
    return 0


class SweepData:
    """Picklable data factory for `greymatter sweep`: the train or validation part of the training set, split as
    `greymatter train` does. Worker processes and Dask workers build it themselves."""

    def __init__(self, data: str, part: str, val_fraction: float, seed: int, train_size=None) -> None:
        self.data, self.part, self.val_fraction, self.seed, self.train_size = data, part, val_fraction, seed, train_size

    def __call__(self):
        import greymatter as gm

        if self.data == "fashion-mnist":
            full = gm.datasets.FashionMNIST(train=True)
        else:
            full = gm.datasets.MNIST(root=self.data, train=True)
        train, val = gm.random_split(full, [1.0 - self.val_fraction, self.val_fraction], seed=self.seed)
        if self.part == "val":
            return val
        return gm.Subset(train, range(min(self.train_size, len(train)))) if self.train_size else train


def _parse_list(flag: str, text: str, kind) -> list:
    from greymatter import ConfigError

    values = []
    for item in text.split(","):
        item = item.strip()
        if item == "":
            raise ConfigError(f"--{flag.replace('_', '-')}: empty value in {text!r}")
        try:
            values.append(kind(item))
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise ConfigError(f"--{flag.replace('_', '-')}: {item!r} is not {what}") from None
    return values


def _sweep(args) -> int:
    import greymatter as gm

    grid = {key: _parse_list(flag, getattr(args, flag), kind) for flag, (key, kind) in SWEEP_GRID.items()
            if getattr(args, flag) is not None}
    if not grid:
        raise gm.ConfigError("give at least one list to sweep over: " +
                             ", ".join("--" + f.replace("_", "-") for f in SWEEP_GRID))
    if not 0.0 < args.val_fraction < 1.0:
        raise gm.ConfigError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    if args.train_size is not None and args.train_size < 1:
        raise gm.ConfigError(f"--train-size must be a positive integer, got {args.train_size}")
    data = [SweepData(args.data, part, args.val_fraction, args.seed, args.train_size) for part in ("train", "val")]
    results = None if args.results.lower() == "none" else args.results
    client = None
    if args.dask:
        from distributed import Client

        client = Client(args.dask)
    try:
        df = gm.sweep(args.model, grid, train=data[0], val=data[1], epochs=args.epochs, seed=args.seed,
                      results=results, n_jobs=args.n_jobs, executor=client, strategy=args.strategy,
                      n_trials=args.n_trials, storage=args.storage, retry_failed=args.retry_failed,
                      progress=sys.stderr.isatty())
    finally:
        if client is not None:
            client.close()
    print(df.drop(columns=["error"] if df["error"].isna().all() else []).to_string(
        index=False, float_format=lambda v: f"{v:.4g}"))
    ok = df[df["status"] == "ok"]
    if len(ok):
        best = ok.loc[ok["val_acc"].idxmax()]
        print("best: " + ", ".join(f"{k}={best[k]}" for k in grid) + f" (val_acc {best['val_acc']:.4f})")
    print(f"{len(ok)} of {len(df)} configurations ok" + (f"; results in {results}" if results else ""))
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"train": _train, "sweep": _sweep}[args.command](args)
    except ValueError as e:  # DataError / ConfigError: one line, no traceback
        print(f"greymatter: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

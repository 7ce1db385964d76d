"""The `greymatter` command. `greymatter train --data fashion-mnist --model mnistnet --epochs 2 --out runs/x`."""
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
    return p


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


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"train": _train}[args.command](args)
    except ValueError as e:  # DataError / ConfigError: one line, no traceback
        print(f"greymatter: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

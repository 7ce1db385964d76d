"""`make demo`: MNISTNet on Fashion-MNIST for 5 epochs, one line per epoch, final test accuracy,
curves and a checkpoint in runs/demo/. Run as: python -m greymatter.demo [--epochs N] [--out DIR]"""
import argparse
import sys
import time

import greymatter as gm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greymatter.demo", description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--root", default=None, help="Fashion-MNIST folder (default: Debian's)")
    args = parser.parse_args(argv)

    full = gm.datasets.FashionMNIST(root=args.root, train=True)
    test = gm.datasets.FashionMNIST(root=args.root, train=False)
    train, val = gm.random_split(full, [0.9, 0.1], seed=42)
    train_loader = gm.DataLoader(train, batch_size=64, shuffle=True, seed=42)
    val_loader = gm.DataLoader(val, batch_size=256)
    test_loader = gm.DataLoader(test, batch_size=256)

    model = gm.models.MNISTNet(hidden=(128, 64))
    trainer = gm.Trainer(
        model, optimizer="adam", lr=1e-3, checkpoint=f"{args.out}/best.pth", progress=False
    )
    print(
        f"greymatter {gm.__version__}: MNISTNet on Fashion-MNIST, {len(train)} train / "
        f"{len(val)} val / "
        f"{len(test)} test images, device {trainer.device}"
    )
    start = time.perf_counter()
    for _ in range(args.epochs):
        trainer.fit(train_loader, val_loader, epochs=1)
        r = trainer.history.rows[-1]
        print(
            f"epoch {r['epoch']}: train loss {r['train_loss']:.4f} acc {r['train_acc']:.4f} | "
            f"val loss {r['val_loss']:.4f} acc {r['val_acc']:.4f} | {r['seconds']:.1f}s",
            flush=True,
        )
    total = time.perf_counter() - start
    result = trainer.evaluate(test_loader)
    gm.plots.curves(trainer.history, save=f"{args.out}/curves.png")
    print(
        f"test accuracy {result['accuracy']:.4f} (loss {result['loss']:.4f}) after {args.epochs} "
        "epochs in "
        f"{total:.1f}s; wrote {args.out}/curves.png and {args.out}/best.pth"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

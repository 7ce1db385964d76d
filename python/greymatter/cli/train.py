"""`greymatter train`: the data, transforms and model a command line describes, trained into a run
folder.

    greymatter train --data fashion-mnist --model mnistnet --epochs 2 --out runs/x
    greymatter train --data data/Training --test data/Testing --model braintumorcnn --flip \\
                     --out runs/mri
    greymatter train --resume runs/mri      # finish a run that was killed, with its own arguments

--data is `fashion-mnist`, a folder of MNIST-format IDX files, or an image folder (one sub-folder
per class, torchvision's ImageFolder layout). What goes into the run folder is listed in
run_folder.py; the arguments become objects in inputs.py. """
import sys
from pathlib import Path
from typing import Dict, Optional

from .. import plots
from .._core import ConfigError, DataError
from ..loader import DataLoader
from ..models import model_entry
from ..train import Trainer
from ..train.trainer import resume_path
from .inputs import (
    build_model,
    check_classes,
    check_split_options,
    data_kind,
    image_spec,
    load_split,
    load_test,
    optimizer_settings,
    predicted_classes,
    train_transform,
)
from .run_folder import ImageSpec, read_run_command, write_run

__all__ = ["train", "prepare"]


def _check(args) -> None:
    if args.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {args.epochs}")
    check_split_options(args)
    if args.fine_tune:
        if not model_entry(args.model).takes("freeze"):
            raise ConfigError(
                f"--fine-tune trains a transfer model (--model transfer), not {args.model}"
            )
        if args.unfreeze:
            raise ConfigError(
                "--fine-tune unfreezes the backbone itself after --frozen-epochs: drop --unfreeze"
            )
    for flag, value in (("--lr", args.lr), ("--batch-size", args.batch_size)):
        if value <= 0:
            raise ConfigError(f"{flag} must be positive, got {value}")


def _epoch_line(planned: int):
    def show(row: Dict) -> None:
        val = (
            f" | val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}"
            if row.get("val_acc") is not None
            else ""
        )
        print(
            f"epoch {row['epoch']}/{planned}: train loss {row['train_loss']:.4f} acc "
            f"{row['train_acc']:.4f}{val} | "
            f"lr {row['lr']:.3g} | {row['seconds']:.1f}s",
            flush=True,
        )

    return show


def prepare(args):
    """(kind, spec, training transform, train set, val set, classes, model) from the arguments
    `train` and `lr-find` share."""
    kind = data_kind(args.data)
    spec = image_spec(args, kind)
    augment = train_transform(args, spec, kind)
    train_ds, val_ds, classes = load_split(
        args.data, spec, args.val_fraction, args.seed, augment, args.train_size
    )
    model = build_model(args, spec, len(classes))
    return kind, spec, augment, train_ds, val_ds, classes, model


def train(args, argv) -> int:
    resuming = args.resume is not None
    if resuming:
        args, argv = _resumed_arguments(args, argv)
    _check(args)
    kind, spec, augment, train_ds, val_ds, classes, model = prepare(args)
    test_ds = _test_set(args, kind, spec, classes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(
        model,
        **optimizer_settings(args),
        scheduler=args.scheduler,
        early_stopping=args.early_stopping,
        min_delta=args.min_delta,
        class_weights="balanced" if args.balance == "weights" else None,
        seed=args.seed,
        checkpoint=str(out / "best.pth"),
        progress=sys.stderr.isatty(),
    )
    loader = dict(num_workers=args.num_workers)
    print(
        f"{args.model} on {args.data}: {len(train_ds)} train / {len(val_ds)} val"
        f"{f' / {len(test_ds)} test' if test_ds is not None else ''} images of {spec}, "
        f"{len(classes)} classes"
    )
    data = {
        "data": args.data,
        "test": _test_source(args, kind),
        "val_fraction": args.val_fraction,
        "seed": args.seed,
        "train_transform": repr(augment) if augment is not None else None,
    }
    command = ["greymatter"] + list(argv)
    planned = args.epochs + (args.frozen_epochs if args.fine_tune else 0)
    epochs = _resume(trainer, out, planned) if resuming else planned
    # Written now too, so that a killed run can be finished with --resume.
    write_run(out, spec, data, command, finished=False)
    # A sampler draws the order itself, so it replaces shuffle.
    order = dict(sampler="balanced") if args.balance == "sampler" else dict(shuffle=True)
    train_loader = DataLoader(
        train_ds, batch_size=args.batch_size, seed=args.seed, **order, **loader
    )
    val_loader = DataLoader(val_ds, batch_size=max(args.batch_size, 256), **loader)
    if args.fine_tune and epochs > 0:  # its phases follow the epochs already trained
        hist = trainer.fine_tune(
            train_loader,
            val_loader,
            frozen_epochs=args.frozen_epochs,
            epochs=args.epochs,
            lr_mult=args.lr_mult,
            on_epoch=_epoch_line(planned),
        )
    else:
        hist = trainer.fit(train_loader, val_loader, epochs=epochs, on_epoch=_epoch_line(planned))
    hist.df.to_csv(out / "history.csv", index=False)
    plots.curves(hist, save=str(out / "curves.png"))
    plots.metrics_2x2(hist, save=str(out / "metrics.png"))
    written = [
        "best.pth",
        "best.json",
        "best.resume.pth",
        "best.log.csv",
        "run.json",
        "history.csv",
        "curves.png",
        "metrics.png",
    ]
    results: Optional[Dict] = None
    if test_ds is not None:
        test_loader = DataLoader(test_ds, batch_size=max(args.batch_size, 256), **loader)
        results = trainer.evaluate(test_loader)
        probs, labels = trainer.predict(test_loader)
        plots.confusion_matrix(
            labels,
            predicted_classes(probs),
            classes=classes,
            save=str(out / "confusion_matrix.png"),
        )
        written.append("confusion_matrix.png")
    write_run(out, spec, data, command, results)
    best = hist.rows[hist.best_epoch - 1] if hist.best_epoch else hist.rows[-1]
    summary = f"best epoch {best['epoch']}: val acc {best['val_acc']:.4f}"
    if results is not None:
        summary += f"; test acc {results['accuracy']:.4f} (loss {results['loss']:.4f})"
    print(f"{summary}\nwrote {out}/: {', '.join(written)}")
    return 0


def _resumed_arguments(args, argv):
    """The arguments of the run in --resume's folder (its run.json), with --out that folder."""
    from .parser import build_parser

    folder = args.resume
    others = [a for a in argv if a not in ("train", "--resume", folder, f"--resume={folder}")]
    if others:
        raise ConfigError(
            f"--resume {folder} continues that run with its own arguments (from its run.json); "
            f"give no others, got {' '.join(others)}"
        )
    payload = read_run_command(folder)
    if payload.get("finished"):
        raise ConfigError(f"--resume {folder}: that run finished; there is nothing to resume")
    command = list(payload["command"][1:])
    try:
        resumed = build_parser().parse_args(command)
    except SystemExit:
        raise DataError(
            f"{Path(folder) / 'run.json'}: its command no longer parses: {' '.join(command)}"
        ) from None
    resumed.out, resumed.resume = folder, None
    return resumed, command


def _resume(trainer: Trainer, out: Path, epochs: int) -> int:
    """Loads the run's training state; returns the epochs left to train."""
    state = Path(resume_path(out / "best.pth"))
    if not state.is_file():
        print(
            f"{out}: no training state yet (stopped before its first epoch ended); from the start"
        )
        return epochs
    trainer.resume(state)
    stopped = bool(
        trainer.early_stopping and trainer.epochs_without_improvement >= trainer.early_stopping
    )
    left = 0 if stopped else max(epochs - trainer.epoch, 0)
    print(f"resuming {out} after epoch {trainer.epoch} of {epochs}: {left} to go")
    return left


def _test_source(args, kind: str) -> Optional[str]:
    if args.test is not None:
        return args.test
    return args.data if kind == "idx" else None  # IDX data brings its own test files


def _test_set(args, kind: str, spec: ImageSpec, classes):
    source = _test_source(args, kind)
    if source is None:
        return None
    test = load_test(source, spec)
    check_classes(test.classes, classes, source)
    return test

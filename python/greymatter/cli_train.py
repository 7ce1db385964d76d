"""`greymatter train`: the data, transforms and model a command line describes, trained into a run folder.

    greymatter train --data fashion-mnist --model mnistnet --epochs 2 --out runs/x
    greymatter train --data data/Training --test data/Testing --model braintumorcnn --flip --out runs/mri

--data is `fashion-mnist`, a folder of MNIST-format IDX files, or an image folder (one sub-folder per
class, torchvision's ImageFolder layout). What goes into the run folder is listed in cli_run.py.
The argument parser lives in cli.py; this module turns parsed arguments into objects and runs them.
"""
import sys
from pathlib import Path
from typing import Dict, Optional

from . import transforms as T
from ._core import ConfigError
from .cli_run import IMAGENET_MEAN, IMAGENET_STD, ImageSpec, eval_transform, write_run

__all__ = ["train", "load_split", "load_test", "data_kind", "check_classes", "predicted_classes",
           "pretrained_weights", "image_spec", "check_split_options", "MODELS"]

# Default input size per model for image folders (IDX data is always 1x28x28).
MODELS = {"mnistnet": 28, "mnistcnn": 28, "simplecnn": 28, "braintumorcnn": 128, "exammodel": 200,
          "transfer": 224, "mobilenet_v2": 224}
IDX_MODELS = ("mnistnet", "mnistcnn", "simplecnn")
PRETRAINED = ("transfer", "mobilenet_v2")


def is_idx_folder(path: Path) -> bool:
    return any((path / f"train-images-idx3-ubyte{gz}").is_file() for gz in ("", ".gz"))


def _idx_dataset(data: str, train: bool, transform):
    import greymatter as gm

    if data == "fashion-mnist":
        return gm.datasets.FashionMNIST(train=train, transform=transform)
    return gm.datasets.MNIST(root=data, train=train, transform=transform)


def data_kind(data: str) -> str:
    """'idx' (fashion-mnist or an IDX folder) or 'folder'; a path that does not exist is an error."""
    if data == "fashion-mnist":
        return "idx"
    path = Path(data)
    if not path.is_dir():
        raise ConfigError(f"--data: '{data}' is neither 'fashion-mnist' nor a folder")
    return "idx" if is_idx_folder(path) else "folder"


def load_split(data: str, spec: ImageSpec, val_fraction: float, seed: int, train_transform=None):
    """(train, val, classes) of --data's training images, split with the same seed in two views so that train
    gets `train_transform` and val the evaluation transform (image folders: stratified). A split that leaves
    either part empty is a ConfigError."""
    import greymatter as gm

    fractions = [1.0 - val_fraction, val_fraction]
    if data_kind(data) == "idx":
        plain = _idx_dataset(data, True, T.Compose([T.ToTensor(), T.Normalize(spec.mean, spec.std)]))
        seen = plain if train_transform is None else _idx_dataset(data, True, train_transform)
        train, _ = gm.random_split(seen, fractions, seed=seed)
        _, val = gm.random_split(plain, fractions, seed=seed)
        classes = plain.classes
    else:
        seen = gm.datasets.ImageFolder(data, transform=train_transform or eval_transform(spec))
        train, _ = gm.random_split(seen, fractions, seed=seed, stratify=True)
        _, val = gm.random_split(gm.datasets.ImageFolder(data, transform=eval_transform(spec)), fractions, seed=seed,
                                 stratify=True)
        classes = seen.classes
    if len(val) == 0 or len(train) == 0:
        raise ConfigError(f"--val-fraction {val_fraction} of {len(train) + len(val)} images in {data} "
                          f"leaves {len(train)} for training and {len(val)} for validation; both need some")
    return train, val, classes


def load_test(data: str, spec: ImageSpec):
    """The test set: IDX test files for IDX data, else the whole image folder `data`."""
    import greymatter as gm

    if data_kind(data) == "idx":
        return _idx_dataset(data, False, T.Compose([T.ToTensor(), T.Normalize(spec.mean, spec.std)]))
    return gm.datasets.ImageFolder(data, transform=eval_transform(spec))


def image_spec(args, kind: str) -> ImageSpec:
    """Input size, channels and normalization from the arguments, the data and the model's defaults."""
    if kind == "idx":
        if args.image_size not in (None, 28):
            raise ConfigError(f"--image-size {args.image_size}: MNIST-format images are 28x28; use an image folder "
                              "to train at another size")
        if args.model not in IDX_MODELS:
            raise ConfigError(f"--model {args.model} does not take 1x28x28 MNIST-format images; use one of "
                              f"{', '.join(IDX_MODELS)}, or an image folder")
        return ImageSpec(28, 1, (0.5,), (0.5,))
    size = args.image_size or MODELS[args.model]
    if size < 1:
        raise ConfigError(f"--image-size must be positive, got {size}")
    channels = 1 if args.grayscale else 3
    if args.model in PRETRAINED:
        if channels != 3:
            raise ConfigError(f"--grayscale: {args.model} takes colour (3-channel) images")
        return ImageSpec(size, 3, IMAGENET_MEAN, IMAGENET_STD)
    return ImageSpec(size, channels, (0.5,) * channels, (0.5,) * channels)


def train_transform(args, spec: ImageSpec, kind: str):
    """The training chain with the augmentation flags; None without any (then train = eval transform).
    IDX images are 28x28 grey already, so they get no Resize or Grayscale."""
    flags = {"--crop-scale": args.crop_scale, "--flip": args.flip or None, "--vflip": args.vflip or None,
             "--rotate": args.rotate, "--color-jitter": args.color_jitter}
    if all(value is None for value in flags.values()):
        return None
    if args.crop_scale is not None and not 0.0 < args.crop_scale <= 1.0:
        raise ConfigError(f"--crop-scale must be in (0, 1], got {args.crop_scale}")
    size = (spec.size, spec.size)
    if args.crop_scale:
        steps = [T.RandomResizedCrop(size, scale=(args.crop_scale, 1.0))]
    else:
        steps = [] if kind == "idx" else [T.Resize(size)]
    if args.flip:
        steps.append(T.RandomHorizontalFlip())
    if args.vflip:
        steps.append(T.RandomVerticalFlip())
    if args.rotate is not None:
        steps.append(T.RandomRotation(args.rotate))
    if args.color_jitter is not None:
        j = args.color_jitter
        steps.append(T.ColorJitter(brightness=j, contrast=j, saturation=j))
    if spec.channels == 1 and kind != "idx":
        steps.append(T.Grayscale())
    return T.Compose(steps + [T.ToTensor(), T.Normalize(spec.mean, spec.std)])


def build_model(args, spec: ImageSpec, num_classes: int):
    import greymatter as gm

    extra: Dict = {} if args.dropout is None else {"dropout": args.dropout}
    name = args.model
    if extra and name in ("simplecnn", "exammodel"):
        raise ConfigError(f"--dropout: {name} has no dropout layer")
    if name == "mnistnet":
        hidden = tuple(_positive_ints(args.hidden, "--hidden"))
        return gm.models.MNISTNet(hidden=hidden, num_classes=num_classes, in_features=spec.channels * spec.size ** 2,
                                  **extra)
    if name == "mnistcnn":
        return gm.models.MNISTCNN(in_channels=spec.channels, num_classes=num_classes, image_size=spec.size, **extra)
    if name == "simplecnn":
        return gm.models.SimpleCNN(in_channels=spec.channels, num_classes=num_classes, image_size=spec.size)
    if name == "braintumorcnn":
        return gm.models.BrainTumorCNN(in_channels=spec.channels, num_classes=num_classes, image_size=spec.size,
                                       **extra)
    if name == "exammodel":
        if num_classes != 2:
            raise ConfigError(f"--model exammodel is a binary classifier; the data has {num_classes} classes")
        return gm.models.ExamModel(in_channels=spec.channels, image_size=spec.size)
    weights = pretrained_weights(args)
    try:
        if name == "transfer":
            return gm.models.TransferClassifier(num_classes=num_classes, size_inner=args.size_inner,
                                                freeze=not args.unfreeze, weights=weights, **extra)
        return gm.models.mobilenet_v2(weights=weights, num_classes=num_classes, **extra)
    except gm.DataError as e:
        raise gm.DataError(f"{e} (--weights none --unfreeze trains the whole network from random weights)") from None


def pretrained_weights(args):
    """--weights as the models take it (None for 'none'); a frozen transfer backbone needs real weights."""
    weights = None if args.weights.lower() == "none" else args.weights
    if weights is None and args.model == "transfer" and not args.unfreeze:
        raise ConfigError("--weights none: a frozen backbone with random weights outputs near-zero features that "
                          "no head learns from; add --unfreeze to train the whole network")
    return weights


def _positive_ints(text: str, flag: str):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag}: '{text}' is not a comma-separated list of integers") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{flag}: give positive integers, got '{text}'")
    return values


def check_split_options(args) -> None:
    """--val-fraction and --train-size, as `train` and `sweep` both take them."""
    if not 0.0 < args.val_fraction < 1.0:
        raise ConfigError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    if args.train_size is not None and args.train_size < 1:
        raise ConfigError(f"--train-size must be a positive integer, got {args.train_size}")


def _check(args) -> None:
    if args.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {args.epochs}")
    check_split_options(args)
    for flag, value in (("--lr", args.lr), ("--batch-size", args.batch_size)):
        if value <= 0:
            raise ConfigError(f"{flag} must be positive, got {value}")


def _epoch_line(planned: int):
    def show(row: Dict) -> None:
        val = f" | val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}" if row.get("val_acc") is not None else ""
        print(f"epoch {row['epoch']}/{planned}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}{val} | "
              f"lr {row['lr']:.3g} | {row['seconds']:.1f}s", flush=True)
    return show


def train(args, argv) -> int:
    import greymatter as gm

    _check(args)
    kind = data_kind(args.data)
    spec = image_spec(args, kind)
    augment = train_transform(args, spec, kind)
    train_ds, val_ds, classes = load_split(args.data, spec, args.val_fraction, args.seed, augment)
    if args.train_size is not None:
        train_ds = gm.Subset(train_ds, range(min(args.train_size, len(train_ds))))
    test_ds = _test_set(args, kind, spec, classes)
    model = build_model(args, spec, len(classes))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = gm.Trainer(model, loss="bce" if args.model == "exammodel" else "cross_entropy",
                         optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay, momentum=args.momentum,
                         scheduler=args.scheduler, early_stopping=args.early_stopping, seed=args.seed,
                         checkpoint=str(out / "best.pth"), progress=sys.stderr.isatty())
    loader = dict(num_workers=args.num_workers)
    print(f"{args.model} on {args.data}: {len(train_ds)} train / {len(val_ds)} val"
          f"{f' / {len(test_ds)} test' if test_ds is not None else ''} images of {spec}, {len(classes)} classes")
    hist = trainer.fit(gm.DataLoader(train_ds, batch_size=args.batch_size, shuffle=True, seed=args.seed, **loader),
                       gm.DataLoader(val_ds, batch_size=max(args.batch_size, 256), **loader), epochs=args.epochs,
                       on_epoch=_epoch_line(args.epochs))
    hist.df.to_csv(out / "history.csv", index=False)
    gm.plots.curves(hist, save=str(out / "curves.png"))
    gm.plots.metrics_2x2(hist, save=str(out / "metrics.png"))
    written = ["best.pth", "best.json", "best.resume.pth", "run.json", "history.csv", "curves.png", "metrics.png"]
    results: Optional[Dict] = None
    if test_ds is not None:
        test_loader = gm.DataLoader(test_ds, batch_size=max(args.batch_size, 256), **loader)
        results = trainer.evaluate(test_loader)
        probs, labels = trainer.predict(test_loader)
        gm.plots.confusion_matrix(labels, predicted_classes(probs), classes=classes,
                                  save=str(out / "confusion_matrix.png"))
        written.append("confusion_matrix.png")
    data = {"data": args.data, "test": _test_source(args, kind), "val_fraction": args.val_fraction, "seed": args.seed,
            "train_transform": repr(augment) if augment is not None else None}
    write_run(out, spec, data, ["greymatter"] + list(argv), results)
    best = hist.rows[hist.best_epoch - 1] if hist.best_epoch else hist.rows[-1]
    summary = f"best epoch {best['epoch']}: val acc {best['val_acc']:.4f}"
    if results is not None:
        summary += f"; test acc {results['accuracy']:.4f} (loss {results['loss']:.4f})"
    print(f"{summary}\nwrote {out}/: {', '.join(written)}")
    return 0


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


def predicted_classes(probs):
    """Class indices from Trainer.predict's probabilities: argmax, or p > 0.5 for a binary (N, 1) output."""
    return probs.argmax(1) if probs.size(1) > 1 else (probs[:, 0] > 0.5).long()


def check_classes(found, expected, source: str) -> None:
    if list(found) != list(expected):
        raise ConfigError(f"{source} has classes {list(found)}, the model was trained on {list(expected)}")

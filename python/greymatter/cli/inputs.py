"""What a command line describes, as objects: the data (Fashion-MNIST, an IDX folder or an image
folder), how its images are read (ImageSpec), the augmentation chain, and the model, built from the
model table (greymatter.models.model_entry) with the arguments its constructor takes. `train`,
`evaluate`, `predict` and `sweep` share these; this module runs nothing. """
from pathlib import Path
from typing import Dict, Optional

import torch

from .. import transforms as T
from .._core import ConfigError
from ..datasets import FashionMNIST, ImageFolder, MNIST, Subset, random_split
from ..models import ModelEntry, model_entry, model_names
from .run_folder import ImageSpec, eval_transform, per_channel

__all__ = [
    "data_kind",
    "load_split",
    "load_test",
    "image_spec",
    "train_transform",
    "model_kwargs",
    "build_model",
    "pretrained_weights",
    "check_split_options",
    "check_classes",
    "predicted_classes",
    "tta_names",
    "positive_ints",
]

IDX_SPEC = ImageSpec(28, 1, (0.5,), (0.5,))  # MNIST-format images, normalized as the tutorials do


def is_idx_folder(path: Path) -> bool:
    return any((path / f"train-images-idx3-ubyte{gz}").is_file() for gz in ("", ".gz"))


def _idx_dataset(data: str, train: bool, transform):
    if data == "fashion-mnist":
        return FashionMNIST(train=train, transform=transform)
    return MNIST(root=data, train=train, transform=transform)


def data_kind(data: str) -> str:
    """'idx' (fashion-mnist or an IDX folder) or 'folder'; a path that does not exist is an
    error."""
    if data == "fashion-mnist":
        return "idx"
    path = Path(data)
    if not path.is_dir():
        raise ConfigError(f"--data: '{data}' is neither 'fashion-mnist' nor a folder")
    return "idx" if is_idx_folder(path) else "folder"


def load_split(
    data: str,
    spec: ImageSpec,
    val_fraction: float,
    seed: int,
    train_transform=None,
    train_size: Optional[int] = None,
):
    """(train, val, classes) of --data's training images, split with the same seed in two views so
    that train gets `train_transform` and val the evaluation transform (image folders: stratified);
    `train_size` keeps the first N training images. A split that leaves either part empty is a
    ConfigError."""
    fractions = [1.0 - val_fraction, val_fraction]
    if data_kind(data) == "idx":
        plain = _idx_dataset(
            data, True, T.Compose([T.ToTensor(), T.Normalize(spec.mean, spec.std)])
        )
        seen = plain if train_transform is None else _idx_dataset(data, True, train_transform)
        train, _ = random_split(seen, fractions, seed=seed)
        _, val = random_split(plain, fractions, seed=seed)
        classes = plain.classes
    else:
        seen = ImageFolder(data, transform=train_transform or eval_transform(spec))
        train, _ = random_split(seen, fractions, seed=seed, stratify=True)
        _, val = random_split(
            ImageFolder(data, transform=eval_transform(spec)), fractions, seed=seed, stratify=True
        )
        classes = seen.classes
    if len(val) == 0 or len(train) == 0:
        raise ConfigError(
            f"--val-fraction {val_fraction} of {len(train) + len(val)} images in {data} "
            f"leaves {len(train)} for training and {len(val)} for validation; both need some"
        )
    if train_size is not None:
        train = Subset(train, range(min(train_size, len(train))))
    return train, val, classes


def load_test(data: str, spec: ImageSpec):
    """The test set: IDX test files for IDX data, else the whole image folder `data`."""
    if data_kind(data) == "idx":
        return _idx_dataset(
            data, False, T.Compose([T.ToTensor(), T.Normalize(spec.mean, spec.std)])
        )
    return ImageFolder(data, transform=eval_transform(spec))


def image_spec(args, kind: str) -> ImageSpec:
    """Input size, channels and normalization from the arguments, the data and the model's table
    entry."""
    entry = model_entry(args.model)
    if args.image_size is not None and args.image_size < 1:
        raise ConfigError(f"--image-size must be a positive integer, got {args.image_size}")
    if kind == "idx":
        if args.image_size not in (None, 28):
            raise ConfigError(
                f"--image-size {args.image_size}: MNIST-format images are 28x28; use an image "
                "folder "
                "to train at another size"
            )
        if not entry.idx:
            idx_models = [n for n in model_names() if model_entry(n).idx]
            raise ConfigError(
                f"--model {args.model} does not take 1x28x28 MNIST-format images; use one of "
                f"{', '.join(idx_models)}, or an image folder"
            )
        return IDX_SPEC
    size = args.image_size or entry.input_size
    channels = 1 if args.grayscale else 3
    if entry.weights is not None:  # pretrained on colour images, with their normalization
        if channels != 3:
            raise ConfigError(f"--grayscale: {args.model} takes colour (3-channel) images")
        return ImageSpec(size, 3, entry.mean, entry.std)
    return ImageSpec(
        size, channels, per_channel(entry.mean, channels), per_channel(entry.std, channels)
    )


def train_transform(args, spec: ImageSpec, kind: str):
    """The training chain with the augmentation flags; None without any (then train = eval
    transform). IDX images are 28x28 grey already, so they get no Resize or Grayscale."""
    flags = {
        "--crop-scale": args.crop_scale,
        "--flip": args.flip or None,
        "--vflip": args.vflip or None,
        "--rotate": args.rotate,
        "--color-jitter": args.color_jitter,
    }
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


def model_kwargs(entry: ModelEntry, spec: ImageSpec, num_classes: int, args, **options) -> Dict:
    """The keyword arguments of `entry`'s constructor for this input and these classes: the input's
    shape, the weights (--weights, --unfreeze) for a pretrained model, and `options` (dropout=,
    hidden=, ...) that are not None. An option the model does not take is a ConfigError naming
    it."""
    kwargs: Dict = {}
    if entry.takes("num_classes"):
        kwargs["num_classes"] = num_classes
    elif num_classes != 2:
        raise ConfigError(
            f"--model {entry.name} is a binary classifier; the data has {num_classes} classes"
        )
    if entry.takes("in_features"):
        kwargs["in_features"] = spec.channels * spec.size * spec.size
    if entry.takes("in_channels"):
        kwargs["in_channels"] = spec.channels
    if entry.takes("image_size"):
        kwargs["image_size"] = spec.size
    if entry.weights is not None:
        kwargs["weights"] = pretrained_weights(args)
        if entry.takes("freeze"):
            kwargs["freeze"] = not args.unfreeze
    for name, value in options.items():
        if value is None:
            continue
        if not entry.takes(name):
            raise ConfigError(
                f"--{name.replace('_', '-')}: {entry.name} has no {name} layer or setting"
            )
        kwargs[name] = value
    return kwargs


def optimizer_settings(args) -> Dict:
    """The Trainer's loss and optimizer keywords from the command line: the model's own loss and
    --optimizer, --lr, --weight-decay, --momentum, shared by every command that trains."""
    return dict(
        loss=model_entry(args.model).loss,
        optimizer=args.optimizer,
        lr=args.lr,
        weight_decay=args.weight_decay,
        momentum=args.momentum,
    )


def build_model(args, spec: ImageSpec, num_classes: int):
    """The model --model names, for this input and these classes, with --dropout, --hidden,
    --size-inner; its initial weights drawn from --seed, so a command builds the same model in any
    process."""
    entry = model_entry(args.model)
    hidden = None
    if args.hidden is not None:
        hidden = positive_ints(args.hidden, "--hidden")
        if not isinstance(entry.default("hidden") if entry.takes("hidden") else (), (list, tuple)):
            if len(hidden) != 1:
                raise ConfigError(
                    f"--hidden: {entry.name} has one hidden layer; give one size, got "
                    f"'{args.hidden}'"
                )
            hidden = hidden[0]
    kwargs = model_kwargs(
        entry,
        spec,
        num_classes,
        args,
        dropout=args.dropout,
        hidden=hidden,
        size_inner=args.size_inner,
    )
    torch.manual_seed(args.seed)
    try:
        return entry.build(**kwargs)
    except ConfigError:
        raise
    except ValueError as e:  # DataError: weights not found or unreadable
        if entry.weights is None:
            raise
        raise type(e)(
            f"{e} (--weights none --unfreeze trains the whole network from random weights)"
        ) from None


def pretrained_weights(args):
    """--weights as the models take it (None for 'none'); a frozen backbone needs real weights."""
    weights = None if args.weights.lower() == "none" else args.weights
    if weights is None and model_entry(args.model).takes("freeze") and not args.unfreeze:
        raise ConfigError(
            "--weights none: a frozen backbone with random weights outputs near-zero features that "
            "no head learns from; add --unfreeze to train the whole network"
        )
    return weights


def positive_ints(text: str, flag: str):
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


def predicted_classes(probs):
    """Class indices from Trainer.predict's probabilities: argmax, or p > 0.5 for a binary (N, 1)
    output."""
    return probs.argmax(1) if probs.size(1) > 1 else (probs[:, 0] > 0.5).long()


def tta_names(text):
    """--tta's comma-separated views ("hflip", "hflip,vflip,crops") as a list; None when off.
    Unknown names are refused by the Trainer, which names the choices."""
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()] or None


def check_classes(found, expected, source: str) -> None:
    if list(found) != list(expected):
        raise ConfigError(
            f"{source} has classes {list(found)}, the model was trained on {list(expected)}"
        )

"""The `greymatter` command: `train`, `lr-find`, `evaluate`, `predict`, `export`, `sweep`;
`greymatter <command> --help` for each.

    greymatter train --data fashion-mnist --model mnistnet --epochs 2 --out runs/x
    greymatter train --resume runs/x
    greymatter lr-find --data fashion-mnist --model mnistnet
    greymatter evaluate --checkpoint runs/x/best.pth
    greymatter predict --checkpoint runs/x/best.pth shoe.png bag.jpg
    greymatter export --checkpoint runs/x/best.pth --out model.onnx
    greymatter sweep --lr 1e-4,1e-3,1e-2,1e-1 --size-inner 10,100,1000 --epochs 1 \\
                     --results runs/sweep.csv

This module builds the argument parser; main.py dispatches to one module per command. A bad argument
prints one line (`greymatter train: error: ...`) and exits with 2. """
import argparse

from ..models import model_entry, model_names
from .sweep import SWEEP_GRID
from .values import non_negative_float, positive_float, positive_int, probability

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="greymatter", description="Train image classifiers fast, from the shell.")
    sub = p.add_subparsers(
        dest="command", required=True, metavar="{train,lr-find,evaluate,predict,export,sweep}"
    )
    _train_parser(sub)
    _lr_find_parser(sub)
    _evaluate_parser(sub)
    _predict_parser(sub)
    _export_parser(sub)
    _sweep_parser(sub)
    for command in sub.choices.values():
        command.add_argument(
            "--max-image-pixels",
            type=positive_int,
            default=None,
            metavar="N",
            help="refuse image files larger than N pixels, read from their header before decoding "
            "(default: PIL's limit, 89478485)",
        )
    return p


def _train_parser(sub) -> None:
    t = sub.add_parser(
        "train",
        help="train a model; write checkpoint, metadata, history and plots to --out",
        description="Train a model on Fashion-MNIST, MNIST-format IDX files or an image folder "
        "(one sub-folder per class) and write the run to --out: best.pth, best.json, "
        "best.resume.pth, best.log.csv (a row per epoch, written as it ends), run.json, "
        "history.csv, curves.png, metrics.png and, with test data, confusion_matrix.png. "
        "--resume DIR finishes an interrupted run with its own arguments.",
    )
    _data_and_model_arguments(t)
    t.add_argument(
        "--test",
        default=None,
        metavar="DIR",
        help="test image folder (IDX data uses its own test files)",
    )
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--scheduler", default=None, choices=("plateau", "cosine", "onecycle"))
    t.add_argument(
        "--early-stopping",
        type=int,
        default=None,
        metavar="PATIENCE",
        help="stop after this many epochs without a better validation accuracy",
    )
    t.add_argument(
        "--min-delta",
        type=non_negative_float,
        default=0.0,
        help="for --early-stopping: the least gain in validation accuracy that counts",
    )
    t.add_argument(
        "--balance",
        default=None,
        choices=("sampler", "weights"),
        help="imbalanced classes: draw every class equally often (sampler) or weight the loss by "
        "n / (classes x class count) (weights)",
    )
    t.add_argument("--out", default="runs/train", help="run folder (default: runs/train)")
    t.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="finish the interrupted run in DIR (its arguments are read from DIR/run.json; give "
        "no others)",
    )


def _lr_find_parser(sub) -> None:
    f = sub.add_parser(
        "lr-find",
        help="learning-rate range test: loss against lr, and a suggested lr",
        description="Trains one batch per step with the learning rate growing from --start to "
        "--end, prints the suggested lr (a tenth of the lr at the lowest smoothed loss) and "
        "writes lr_find.png and lr_find.csv to --out. Data, model and optimizer arguments are "
        "those of greymatter train.",
    )
    _data_and_model_arguments(f)
    f.add_argument("--start", type=positive_float, default=1e-7, help="first lr (default: 1e-7)")
    f.add_argument("--end", type=positive_float, default=10.0, help="last lr (default: 10)")
    f.add_argument("--steps", type=int, default=100, help="steps, one batch each (default: 100)")
    f.add_argument("--out", default="runs/lr-find", help="folder for the plot and the table")


def _data_and_model_arguments(t) -> None:
    """What `train` and `lr-find` share: data, model, optimizer, loader and image options."""
    t.add_argument(
        "--data",
        default="fashion-mnist",
        help="'fashion-mnist', a folder of MNIST IDX files, or an image folder (default: "
        "fashion-mnist)",
    )
    t.add_argument("--model", default="mnistnet", choices=model_names(), help="default: mnistnet")
    t.add_argument("--lr", type=positive_float, default=1e-3)
    t.add_argument("--batch-size", type=positive_int, default=64)
    t.add_argument("--optimizer", default="adam", choices=("adam", "adamw", "sgd"))
    t.add_argument("--weight-decay", type=non_negative_float, default=0.0)
    t.add_argument("--momentum", type=non_negative_float, default=0.0, help="for sgd")
    t.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of the training data for validation"
    )
    t.add_argument(
        "--train-size",
        type=int,
        default=None,
        metavar="N",
        help="train on N images only (quick runs)",
    )
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--num-workers", type=int, default=2, help="loader threads")
    m = t.add_argument_group("model options")
    m.add_argument(
        "--hidden", default=None, help="hidden layer sizes, comma-separated (default: the model's)"
    )
    m.add_argument(
        "--dropout",
        type=probability,
        default=None,
        help="dropout probability (default: the model's)",
    )
    m.add_argument(
        "--size-inner",
        type=positive_int,
        default=None,
        help="transfer: size of the inner layer (default: none)",
    )
    m.add_argument(
        "--weights",
        default="IMAGENET1K_V1",
        help="transfer, mobilenet_v2: IMAGENET1K_V1, IMAGENET1K_V2, a .pth file, or none",
    )
    m.add_argument("--unfreeze", action="store_true", help="transfer: train the backbone too")
    m.add_argument(
        "--fine-tune",
        action="store_true",
        help="transfer: --frozen-epochs with the backbone frozen, then --epochs with everything "
        "training, the backbone at --lr x --lr-mult",
    )
    m.add_argument(
        "--frozen-epochs",
        type=positive_int,
        default=1,
        help="--fine-tune: epochs of the head alone (default: 1)",
    )
    m.add_argument(
        "--lr-mult",
        type=positive_float,
        default=0.1,
        help="--fine-tune: the backbone's lr as a multiple of --lr (default: 0.1)",
    )
    i = t.add_argument_group("image folders")
    i.add_argument(
        "--image-size",
        type=positive_int,
        default=None,
        help=f"side of the square input (default: the model's: {_input_sizes()})",
    )
    i.add_argument("--grayscale", action="store_true", help="read images as one grey channel")
    i.add_argument(
        "--crop-scale",
        type=float,
        default=None,
        metavar="MIN",
        help="augment: RandomResizedCrop with scale (MIN, 1) instead of Resize",
    )
    i.add_argument("--flip", action="store_true", help="augment: RandomHorizontalFlip")
    i.add_argument(
        "--vflip",
        action="store_true",
        help="augment: RandomVerticalFlip (images with no natural up)",
    )
    i.add_argument(
        "--rotate", type=float, default=None, metavar="DEGREES", help="augment: RandomRotation"
    )
    i.add_argument(
        "--color-jitter",
        type=float,
        default=None,
        metavar="F",
        help="augment: ColorJitter(brightness=F, contrast=F, saturation=F)",
    )


def _evaluate_parser(sub) -> None:
    e = sub.add_parser(
        "evaluate",
        help="loss, accuracy and per-class report of a checkpoint on test data",
        description="Loss, accuracy and the classification report (precision, recall, F1 per "
        "class) of a checkpoint written by greymatter train; the report is also written to "
        "report.csv beside the checkpoint. Data: --data, else the run's test data, else its "
        "validation split.",
    )
    e.add_argument("--checkpoint", required=True, help="best.pth of a run folder")
    e.add_argument(
        "--data",
        default=None,
        help="'fashion-mnist', an IDX folder (test files) or an image folder",
    )
    e.add_argument("--batch-size", type=positive_int, default=256)
    e.add_argument("--num-workers", type=int, default=2)
    e.add_argument(
        "--confusion-matrix",
        default=None,
        metavar="PNG",
        help="also draw the confusion matrix there",
    )
    e.add_argument(
        "--report",
        default=None,
        metavar="CSV",
        help="where to write the classification report (default: report.csv beside the "
        "checkpoint; 'none': do not write it)",
    )
    _tta_argument(e)


def _predict_parser(sub) -> None:
    r = sub.add_parser(
        "predict",
        help="top-k classes of image files",
        description="Prints one line per image: its top-k classes with probabilities. Images are "
        "read like the run's validation images (size, channels, normalization).",
    )
    r.add_argument("--checkpoint", required=True, help="best.pth of a run folder")
    r.add_argument("--top-k", type=int, default=3)
    _tta_argument(r)
    r.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, BMP, ...)")


def _tta_argument(parser) -> None:
    parser.add_argument(
        "--tta",
        nargs="?",
        const="hflip",
        default=None,
        metavar="VIEWS",
        help="test-time augmentation: average the probabilities over the image and its views, "
        "comma-separated from hflip, vflip, crops (--tta alone: hflip)",
    )


def _export_parser(sub) -> None:
    x = sub.add_parser(
        "export",
        help="write a checkpoint as an ONNX file (and its metadata JSON)",
        description="Writes the checkpoint's model as ONNX (input 'input' (B, C, H, W), output "
        "'output'), checks it with onnx.checker and by running it in OpenCV's DNN module, and "
        "writes the metadata (classes, input size, normalization) beside it as .json.",
    )
    x.add_argument("--checkpoint", required=True, help="best.pth of a run folder")
    x.add_argument("--out", required=True, help="the .onnx file to write")
    x.add_argument(
        "--no-check",
        action="store_true",
        help="skip onnx.checker and the OpenCV comparison",
    )


def _sweep_parser(sub) -> None:
    s = sub.add_parser(
        "sweep",
        help="train one model per configuration of a grid and print the results table",
        description="Lists are comma-separated: --lr 1e-4,1e-3 --size-inner 10,100 is a 2x2 grid. "
        "With --strategy optuna a value may be a range Optuna samples: --lr log:1e-5:1e-1, "
        "--dropout float:0:0.5, --size-inner int:10:1000.",
    )
    s.add_argument(
        "--data",
        default="fashion-mnist",
        help="'fashion-mnist', a folder of MNIST IDX files, or an image folder (one sub-folder "
        "per class)",
    )
    s.add_argument(
        "--model",
        default="mnistnet",
        help="model name (mnistnet: size_inner is its hidden width; transfer: its inner layer)",
    )
    for flag in SWEEP_GRID:
        s.add_argument(
            "--" + flag.replace("_", "-"), dest=flag, metavar="LIST", help=f"{flag} values"
        )
    s.add_argument("--epochs", type=int, default=5)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of the training set for validation"
    )
    s.add_argument(
        "--train-size", type=int, default=None, help="train on the first N images of the split only"
    )
    s.add_argument(
        "--results", default="runs/sweep.csv", help=".csv, .db/.sqlite, or 'none'; re-runs resume"
    )
    s.add_argument(
        "--retry-failed",
        action="store_true",
        help="re-run configurations the results store has failed",
    )
    s.add_argument(
        "--n-jobs", type=int, default=None, help="worker processes (default: one per free core)"
    )
    s.add_argument(
        "--dask", metavar="ADDRESS", default=None, help="run on the Dask scheduler at ADDRESS"
    )
    s.add_argument("--strategy", default="grid", choices=("grid", "optuna"))
    s.add_argument("--n-trials", type=int, default=None, help="optuna: trials in all")
    s.add_argument(
        "--storage",
        default=None,
        help="optuna: study storage URL, e.g. sqlite:///study.db (default: beside --results)",
    )
    s.add_argument(
        "--prune",
        default=None,
        choices=("median", "halving"),
        help="optuna: stop bad trials early (median or successive halving of the per-epoch "
        "val_acc)",
    )
    i = s.add_argument_group("image folders (read as greymatter train reads them)")
    i.add_argument(
        "--image-size",
        type=positive_int,
        default=None,
        help="side of the square input (default: the model's)",
    )
    i.add_argument("--grayscale", action="store_true", help="read images as one grey channel")
    i.add_argument(
        "--weights",
        default="IMAGENET1K_V1",
        help="transfer, mobilenet_v2: IMAGENET1K_V1, IMAGENET1K_V2, a .pth file, or none",
    )
    i.add_argument("--unfreeze", action="store_true", help="transfer: train the backbone too")


def _input_sizes() -> str:
    return ", ".join(f"{name} {model_entry(name).input_size}" for name in model_names())

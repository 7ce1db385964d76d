"""`greymatter evaluate` and `greymatter predict`: a trained checkpoint applied to a test set or to image files.

    greymatter evaluate --checkpoint runs/x/best.pth                 # the run's own test data
    greymatter predict --checkpoint runs/x/best.pth shoe.png bag.jpg --top-k 3

Images go through the C++ decoder and the same transform chain as the run's validation images (from the
run folder's run.json; see cli_run.py). This module only loads and applies models; it never trains.
"""
from pathlib import Path
from typing import List

import torch

from ._core import ConfigError
from .cli_run import eval_transform, load_run
from .cli_train import check_classes, data_kind, load_split, load_test, predicted_classes

__all__ = ["evaluate", "predict"]

BATCH = 64  # images per forward pass in predict


def _trainer(run):
    import greymatter as gm

    return gm.Trainer(run.model, loss=run.loss, progress=False)


def _notes(run) -> None:
    import sys

    for note in run.notes:
        print(f"greymatter: note: {note}", file=sys.stderr)


def evaluate(args) -> int:
    """Loss and accuracy (overall and per class) on --data's test set, or the run's own test data; when the
    run had none, its validation split (re-made with the same seed)."""
    import greymatter as gm

    run = load_run(args.checkpoint)
    _notes(run)
    data = args.data or run.data.get("test")
    if data is not None:
        dataset, what = load_test(data, run.spec), f"{data} ({'test split' if data_kind(data) == 'idx' else 'folder'})"
    elif run.data.get("data"):
        _, dataset, _ = load_split(run.data["data"], run.spec, run.data["val_fraction"], run.data["seed"])
        what = f"the validation split of {run.data['data']} (the run had no test data)"
    else:
        raise ConfigError("give --data: the checkpoint has no run.json naming its data")
    check_classes(dataset.classes, run.classes, data or run.data["data"])
    trainer = _trainer(run)
    loader = gm.DataLoader(dataset, batch_size=args.batch_size, num_workers=args.num_workers)
    result = trainer.evaluate(loader)
    probs, labels = trainer.predict(loader)
    pred = predicted_classes(probs)
    print(f"{len(dataset)} images from {what}")
    print(f"loss {result['loss']:.4f}  accuracy {result['accuracy']:.4f}")
    _per_class(pred, labels, run.classes)
    if args.confusion_matrix:
        gm.plots.confusion_matrix(labels, pred, classes=run.classes, save=args.confusion_matrix)
        print(f"wrote {args.confusion_matrix}")
    return 0


def _per_class(pred: torch.Tensor, labels: torch.Tensor, classes: List[str]) -> None:
    width = max(len(c) for c in classes)
    for i, name in enumerate(classes):
        mine = labels == i
        n = int(mine.sum())
        acc = f"{float((pred[mine] == i).float().mean()):.4f}" if n else "   -  "
        print(f"  {name:<{width}}  {acc}  (n={n})")


def predict(args) -> int:
    """One line per image: the top-k classes with their probabilities, most likely first."""
    if args.top_k < 1:
        raise ConfigError(f"--top-k must be at least 1, got {args.top_k}")
    run = load_run(args.checkpoint)
    _notes(run)
    if not run.classes:
        raise ConfigError(f"{Path(args.checkpoint).with_suffix('.json')} lists no classes")
    tf = eval_transform(run.spec)
    trainer = _trainer(run)
    for start in range(0, len(args.images), BATCH):
        paths = args.images[start:start + BATCH]
        batch = torch.stack([tf(path) for path in paths])  # C++ decode + transforms; DataError names the file
        for path, top in zip(paths, trainer.predict_topk(batch, k=args.top_k, classes=run.classes)):
            print(f"{path}: " + ", ".join(f"{name} {p:.3f}" for name, p in top), flush=True)
    return 0

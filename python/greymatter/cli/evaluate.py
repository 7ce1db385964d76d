"""`greymatter evaluate`: a trained checkpoint applied to a test set.

    greymatter evaluate --checkpoint runs/x/best.pth                 # the run's own test data
    greymatter evaluate --checkpoint runs/x/best.pth --data data/Testing

Images go through the C++ decoder and the same transform chain as the run's validation images (from
the run folder's run.json; see run_folder.py). This module only loads and applies models; it never
trains. """
from typing import List

import torch

from .. import plots
from .._core import ConfigError
from ..loader import DataLoader
from .inputs import check_classes, data_kind, load_split, load_test, predicted_classes
from .run_folder import load_run

__all__ = ["evaluate"]


def evaluate(args) -> int:
    """Loss and accuracy (overall and per class) on --data's test set, or the run's own test data;
    when the run had none, its validation split (re-made with the same seed)."""
    run = load_run(args.checkpoint)
    run.print_notes()
    data = args.data or run.data.get("test")
    if data is not None:
        dataset, what = (
            load_test(data, run.spec),
            f"{data} ({'test split' if data_kind(data) == 'idx' else 'folder'})",
        )
    elif run.data.get("data"):
        _, dataset, _ = load_split(
            run.data["data"], run.spec, run.data["val_fraction"], run.data["seed"]
        )
        what = f"the validation split of {run.data['data']} (the run had no test data)"
    else:
        raise ConfigError("give --data: the checkpoint has no run.json naming its data")
    check_classes(dataset.classes, run.classes, data or run.data["data"])
    trainer = run.trainer()
    loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=args.num_workers)
    result = trainer.evaluate(loader)
    probs, labels = trainer.predict(loader)
    pred = predicted_classes(probs)
    print(f"{len(dataset)} images from {what}")
    print(f"loss {result['loss']:.4f}  accuracy {result['accuracy']:.4f}")
    _per_class(pred, labels, run.classes)
    if args.confusion_matrix:
        plots.confusion_matrix(labels, pred, classes=run.classes, save=args.confusion_matrix)
        print(f"wrote {args.confusion_matrix}")
    return 0


def _per_class(pred: torch.Tensor, labels: torch.Tensor, classes: List[str]) -> None:
    width = max(len(c) for c in classes)
    for i, name in enumerate(classes):
        mine = labels == i
        n = int(mine.sum())
        acc = f"{float((pred[mine] == i).float().mean()):.4f}" if n else "   -  "
        print(f"  {name:<{width}}  {acc}  (n={n})")

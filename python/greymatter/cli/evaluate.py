"""`greymatter evaluate`: a trained checkpoint applied to a test set.

    greymatter evaluate --checkpoint runs/x/best.pth                 # the run's own test data
    greymatter evaluate --checkpoint runs/x/best.pth --data data/Testing --tta hflip

Prints loss, accuracy and the classification report (precision, recall, F1 per class) and writes
the report beside the checkpoint (runs/x/report.csv) unless --report says elsewhere.

Images go through the C++ decoder and the same transform chain as the run's validation images (from
the run folder's run.json; see run_folder.py). This module only loads and applies models; it never
trains. """
from pathlib import Path

from .. import plots
from .._core import ConfigError
from ..loader import DataLoader
from ..metrics import classification_report
from .inputs import check_classes, data_kind, load_split, load_test, predicted_classes, tta_names
from .run_folder import load_run

__all__ = ["evaluate"]


def evaluate(args) -> int:
    """Loss, accuracy and the classification report on --data's test set, or the run's own test
    data; when the run had none, its validation split (re-made with the same seed)."""
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
    tta = tta_names(args.tta)
    result = trainer.evaluate(loader, tta=tta)
    probs, labels = trainer.predict(loader, tta=tta)
    pred = predicted_classes(probs)
    print(f"{len(dataset)} images from {what}" + (f", TTA {'+'.join(tta)}" if tta else ""))
    print(f"loss {result['loss']:.4f}  accuracy {result['accuracy']:.4f}\n")
    report = classification_report(labels, probs, run.classes)
    print(report.to_text())
    if args.report != "none":
        out = Path(args.report) if args.report else Path(args.checkpoint).parent / "report.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        report.to_csv(out, index_label="class")
        print(f"wrote {out}")
    if args.confusion_matrix:
        plots.confusion_matrix(labels, pred, classes=run.classes, save=args.confusion_matrix)
        print(f"wrote {args.confusion_matrix}")
    return 0

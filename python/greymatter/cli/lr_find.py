"""`greymatter lr-find`: the learning-rate range test (Trainer.lr_find) on the data and model a
command line describes, as `greymatter train` would train them.

    greymatter lr-find --data fashion-mnist --model mnistnet
    greymatter lr-find --data data/Training --model braintumorcnn --steps 200 --out runs/lr

Prints the suggested learning rate (and the rule), writes lr_find.png and lr_find.csv to --out."""
import sys
from pathlib import Path

from ..loader import DataLoader
from ..train import Trainer
from .inputs import optimizer_settings
from .train import prepare

__all__ = ["lr_find"]


def lr_find(args) -> int:
    _, spec, _, train_ds, _, classes, model = prepare(args)
    trainer = Trainer(
        model,
        **optimizer_settings(args),
        seed=args.seed,
        progress=False,
    )
    loader = DataLoader(
        train_ds,
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
        num_workers=args.num_workers,
    )
    print(
        f"{args.model} on {args.data}: {len(train_ds)} images of {spec}, {len(classes)} classes; "
        f"lr from {args.start:g} to {args.end:g} in {args.steps} steps",
        flush=True,
    )
    result = trainer.lr_find(loader, start=args.start, end=args.end, steps=args.steps)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.df.to_csv(out / "lr_find.csv", index=False)
    result.plot(save=str(out / "lr_find.png"))
    ended = f"; stopped after {len(result.lrs)} steps ({result.stopped})" if result.stopped else ""
    if result.suggestion is None:
        print(f"no suggestion: no step had a finite loss{ended}", file=sys.stderr)
    else:
        print(
            f"suggested lr: {result.suggestion:.3g} (a tenth of {result.min_lr:.3g}, where the "
            f"smoothed loss is lowest){ended}"
        )
    print(f"wrote {out}/: lr_find.png, lr_find.csv")
    return 0

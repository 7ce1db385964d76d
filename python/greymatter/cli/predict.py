"""`greymatter predict`: the top-k classes of image files under a trained checkpoint.

    greymatter predict --checkpoint runs/x/best.pth shoe.png bag.jpg --top-k 3
    greymatter predict --checkpoint runs/x/best.pth shoe.png --tta hflip   # flip-averaged

Images go through the C++ decoder and the same transform chain as the run's validation images (from
the run folder's run.json; see run_folder.py). This module only loads and applies models; it never
trains. """
from pathlib import Path

import torch

from .._core import ConfigError
from .inputs import tta_names
from .run_folder import eval_transform, load_run

__all__ = ["predict"]

BATCH = 64  # images per forward pass


def predict(args) -> int:
    """One line per image: the top-k classes with their probabilities, most likely first."""
    if args.top_k < 1:
        raise ConfigError(f"--top-k must be at least 1, got {args.top_k}")
    run = load_run(args.checkpoint)
    run.print_notes()
    if not run.classes:
        raise ConfigError(f"{Path(args.checkpoint).with_suffix('.json')} lists no classes")
    tf = eval_transform(run.spec)
    trainer = run.trainer()
    tta = tta_names(args.tta)
    for start in range(0, len(args.images), BATCH):
        paths = args.images[start : start + BATCH]
        batch = torch.stack(
            [tf(path) for path in paths]
        )  # C++ decode + transforms; DataError names the file
        for path, top in zip(
            paths, trainer.predict_topk(batch, k=args.top_k, classes=run.classes, tta=tta)
        ):
            print(f"{path}: " + ", ".join(f"{name} {p:.3f}" for name, p in top), flush=True)
    return 0

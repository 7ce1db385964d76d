"""A run folder of `greymatter train`, and how `evaluate` / `predict` load it back.

    runs/x/best.pth          best weights (plain state_dict)        } written by the Trainer
    runs/x/best.json         model config, classes, metrics, ...    } (checkpoint="runs/x/best.pth")
    runs/x/best.resume.pth   the whole training state               }
    runs/x/run.json          how images were read: size, channels, mean/std; the data; the command
    runs/x/history.csv, curves.png, metrics.png, confusion_matrix.png (with a test set)

run.json is what lets `predict` read a new image the way the model saw its training images. A checkpoint
saved from Python (Trainer(checkpoint=...)) has no run.json; then the input is inferred from the model's
config and the Normalize in best.json's transform description, and the guess is reported.
This module reads and writes those files; it trains nothing.
"""
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

from . import transforms as T
from ._core import ConfigError, DataError
from .checkpoint import metadata_path

__all__ = ["ImageSpec", "RUN_FILE", "LoadedRun", "eval_transform", "load_run", "write_run"]

RUN_FILE = "run.json"
RUN_FORMAT = 1
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class ImageSpec:
    """What a model takes: square images of `size`, `channels` 1 (grey) or 3, normalized by mean/std."""

    def __init__(self, size: int, channels: int, mean, std) -> None:
        self.size, self.channels = int(size), int(channels)
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)

    def to_json(self) -> Dict:
        return {"size": self.size, "channels": self.channels, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_json(cls, d: Dict) -> "ImageSpec":
        return cls(d["size"], d["channels"], d["mean"], d["std"])

    def __repr__(self) -> str:
        return f"{self.channels}x{self.size}x{self.size}, Normalize(mean={self.mean}, std={self.std})"


def eval_transform(spec: ImageSpec):
    """Resize to size x size (then Grayscale for one channel), ToTensor, Normalize: how validation, test and
    prediction read an image file in a run of greymatter train."""
    steps = [T.Resize((spec.size, spec.size))] + ([T.Grayscale()] if spec.channels == 1 else [])
    return T.Compose(steps + [T.ToTensor(), T.Normalize(spec.mean, spec.std)])


def write_run(out: Path, spec: ImageSpec, data: Dict, command: List[str], results: Optional[Dict] = None) -> None:
    payload = {"format": RUN_FORMAT, "image": spec.to_json(), "data": data, "command": command,
               "test": results}
    (out / RUN_FILE).write_text(json.dumps(payload, indent=2) + "\n")


class LoadedRun:
    """A trained model back from its checkpoint: .model (eval mode), .classes, .spec, .loss, .data, .notes."""

    def __init__(self, model, classes: List[str], spec: ImageSpec, loss: str, data: Dict, notes: List[str]) -> None:
        self.model, self.classes, self.spec, self.loss, self.data, self.notes = model, classes, spec, loss, data, notes


def load_run(checkpoint) -> LoadedRun:
    """Rebuilds the model from best.json's config, loads best.pth, and finds how to read its images."""
    from . import models

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ConfigError(f"no checkpoint at {checkpoint} (greymatter train --out DIR writes DIR/best.pth)")
    meta_file = metadata_path(checkpoint)
    try:
        meta = json.loads(meta_file.read_text())
    except FileNotFoundError:
        raise DataError(f"{meta_file} is missing: the Trainer writes it beside {checkpoint.name}; without it the "
                        "model cannot be rebuilt") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{meta_file} is not valid JSON: {e}") from None
    if not isinstance(meta.get("model"), dict) or "name" not in meta["model"]:
        raise DataError(f"{meta_file} names no model config (a greymatter model's .config); cannot rebuild it")
    model = models.from_config(meta["model"])
    try:
        state = torch.load(checkpoint, map_location="cpu")
    except Exception as e:  # torch.load raises many types for a damaged file
        raise DataError(f"cannot read {checkpoint}: {e}") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as e:
        raise DataError(f"{checkpoint} does not fit the model in {meta_file.name}: {str(e).splitlines()[0]}") from None
    model.eval()
    notes: List[str] = []
    run_file = checkpoint.parent / RUN_FILE
    data: Dict = {}
    if run_file.is_file():
        run = json.loads(run_file.read_text())
        spec, data = ImageSpec.from_json(run["image"]), run.get("data", {})
    else:
        spec = _guess_spec(meta)
        notes.append(f"no {RUN_FILE} beside {checkpoint} (written by greymatter train): reading images as {spec}")
    classes = list(meta.get("classes") or [])
    loss = (meta.get("trainer") or {}).get("loss", "cross_entropy")
    return LoadedRun(model, classes, spec, loss, data, notes)


def _guess_spec(meta: Dict) -> ImageSpec:
    """The input a model config implies; mean/std from the Normalize in best.json's transform repr."""
    config = meta["model"]
    name = config["name"].lower()
    if name in ("transferclassifier", "mobilenet_v2"):
        channels, size = 3, 224
    elif name == "mnistnet":
        channels, size = _mlp_input(config.get("in_features", 784))
    else:
        channels, size = int(config.get("in_channels", 3)), int(config.get("image_size", 28))
    mean, std = _normalize_from_repr(meta.get("transforms") or "")
    if mean is None:
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 and size == 224 else ((0.5,), (0.5,))
    return ImageSpec(size, channels, _per_channel(mean, channels), _per_channel(std, channels))


def _mlp_input(in_features: int) -> Tuple[int, int]:
    for channels in (1, 3):
        side = round((in_features / channels) ** 0.5)
        if channels * side * side == in_features:
            return channels, side
    raise DataError(f"MNISTNet with in_features={in_features} takes no square image; "
                    f"train it with greymatter train to record its input in {RUN_FILE}")


_NUMBERS = r"\(([-0-9.eE, ]*)\)"


def _normalize_from_repr(text: str):
    match = re.search(r"Normalize\(mean=" + _NUMBERS + r", std=" + _NUMBERS, text)
    if not match:
        return None, None
    mean, std = ([float(v) for v in group.split(",") if v.strip()] for group in match.groups())
    return tuple(mean), tuple(std)


def _per_channel(values, channels: int):
    values = tuple(values)
    return values * channels if len(values) == 1 else values

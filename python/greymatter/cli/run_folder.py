"""A run folder of `greymatter train`, and how `evaluate` / `predict` load it back.

    runs/x/best.pth          best weights (plain state_dict)        } written by the Trainer
    runs/x/best.json         model config, classes, metrics, ...    } (checkpoint="runs/x/best.pth")
    runs/x/best.resume.pth   the whole training state               }
    runs/x/run.json          how images were read: size, channels, mean/std; the data; the command
    runs/x/history.csv, curves.png, metrics.png, confusion_matrix.png (with a test set)

run.json is what lets `predict` read a new image the way the model saw its training images. A
checkpoint saved from Python (Trainer(checkpoint=...)) has no run.json; then the input is inferred
from the model's config and best.json's "transform_config" (the Resize/crop size, Grayscale and
Normalize of the validation transform), or for checkpoints older than that field, the Normalize in
its "transforms" repr; the guess is reported. This module reads and writes those files; it trains
nothing. """
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .. import transforms as T
from .._core import ConfigError, DataError
from .._untrusted import load_tensors
from ..models import from_config, model_entry
from ..train import Trainer
from ..train.checkpoint import metadata_path

__all__ = [
    "ImageSpec",
    "RUN_FILE",
    "LoadedRun",
    "eval_transform",
    "load_run",
    "write_run",
    "read_run_command",
    "per_channel",
]

RUN_FILE = "run.json"
RUN_FORMAT = 1


class ImageSpec:
    """What a model takes: square images of `size`, `channels` 1 (grey) or 3, normalized by
    mean/std."""

    def __init__(self, size: int, channels: int, mean, std) -> None:
        self.size, self.channels = int(size), int(channels)
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)

    def to_json(self) -> Dict:
        return {
            "size": self.size,
            "channels": self.channels,
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_json(cls, d: Dict) -> "ImageSpec":
        return cls(d["size"], d["channels"], d["mean"], d["std"])

    def __repr__(self) -> str:
        return (
            f"{self.channels}x{self.size}x{self.size}, Normalize(mean={self.mean}, std={self.std})"
        )


def eval_transform(spec: ImageSpec):
    """Resize to size x size (then Grayscale for one channel), ToTensor, Normalize: how validation,
    test and prediction read an image file in a run of greymatter train."""
    steps = [T.Resize((spec.size, spec.size))] + ([T.Grayscale()] if spec.channels == 1 else [])
    return T.Compose(steps + [T.ToTensor(), T.Normalize(spec.mean, spec.std)])


def write_run(
    out: Path,
    spec: ImageSpec,
    data: Dict,
    command: List[str],
    results: Optional[Dict] = None,
    finished: bool = True,
) -> None:
    """run.json; `train` writes it when it starts (finished=False: what `train --resume` reads
    the run's arguments from) and again when it ends."""
    payload = {
        "format": RUN_FORMAT,
        "image": spec.to_json(),
        "data": data,
        "command": command,
        "test": results,
        "finished": finished,
    }
    (out / RUN_FILE).write_text(json.dumps(payload, indent=2) + "\n")


def read_run_command(folder) -> Dict:
    """run.json of a run folder (for `train --resume`), or a ConfigError saying what is missing."""
    path = Path(folder) / RUN_FILE
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"--resume {folder}: no {RUN_FILE} there; give the --out folder of a greymatter train "
            "run"
        ) from None
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable run file ({e})") from None
    command = payload.get("command") if isinstance(payload, dict) else None
    if not isinstance(command, list) or command[1:2] != ["train"]:
        raise DataError(f"{path}: has no greymatter train command to resume")
    return payload


class LoadedRun:
    """A trained model back from its checkpoint: .model (eval mode), .classes, .spec, .loss, .data,
    .notes."""

    def __init__(
        self, model, classes: List[str], spec: ImageSpec, loss: str, data: Dict, notes: List[str]
    ) -> None:
        self.model, self.classes, self.spec, self.loss, self.data, self.notes = (
            model,
            classes,
            spec,
            loss,
            data,
            notes,
        )

    def trainer(self) -> Trainer:
        """A quiet Trainer over the model, with the run's loss: for evaluate, predict and
        predict_topk."""
        return Trainer(self.model, loss=self.loss, progress=False)

    def print_notes(self) -> None:
        for note in self.notes:
            print(f"greymatter: note: {note}", file=sys.stderr)


def load_run(checkpoint) -> LoadedRun:
    """Rebuilds the model from best.json's config, loads best.pth, and finds how to read its
    images."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ConfigError(
            f"no checkpoint at {checkpoint} (greymatter train --out DIR writes DIR/best.pth)"
        )
    meta_file = metadata_path(checkpoint)
    try:
        meta = json.loads(meta_file.read_text())
    except FileNotFoundError:
        raise DataError(
            f"{meta_file} is missing: the Trainer writes it beside {checkpoint.name}; without it "
            "the "
            "model cannot be rebuilt"
        ) from None
    except json.JSONDecodeError as e:
        raise DataError(f"{meta_file} is not valid JSON: {e}") from None
    if not isinstance(meta.get("model"), dict) or "name" not in meta["model"]:
        raise DataError(
            f"{meta_file} names no model config (a greymatter model's .config); cannot rebuild it"
        )
    model = from_config(meta["model"])
    state = load_tensors(checkpoint, "checkpoint")  # weights only: nothing in the file runs
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as e:
        raise DataError(
            f"{checkpoint} does not fit the model in {meta_file.name}: {str(e).splitlines()[0]}"
        ) from None
    model.eval()
    notes: List[str] = []
    run_file = checkpoint.parent / RUN_FILE
    data: Dict = {}
    if run_file.is_file():
        run = json.loads(run_file.read_text())
        spec, data = ImageSpec.from_json(run["image"]), run.get("data", {})
    else:
        spec = _guess_spec(meta)
        source = (
            "the model config and best.json's transform_config (the "
            f"{'validation' if meta.get('transform_source') == 'val' else 'training'} set's "
            "transform)"
            if isinstance(meta.get("transform_config"), list)
            else "the model config and best.json's transforms"
        )
        notes.append(
            f"no {RUN_FILE} beside {checkpoint} (written by greymatter train): reading images as "
            f"{spec}, "
            f"from {source}"
        )
    classes = list(meta.get("classes") or [])
    loss = (meta.get("trainer") or {}).get("loss", "cross_entropy")
    return LoadedRun(model, classes, spec, loss, data, notes)


def _guess_spec(meta: Dict) -> ImageSpec:
    """The input a model config implies, with size, channels and mean/std from best.json's
    transform_config where it says; older checkpoints: mean/std from the Normalize in its transform
    repr."""
    config = meta["model"]
    steps = meta.get("transform_config")
    if isinstance(steps, list):
        seen_size, grey_channels, mean, std = _read_transform_config(steps)
        if (
            mean is None
        ):  # the chain is known and has no Normalize: ToTensor's [0, 1] values went in as they are
            mean, std = (0.0,), (1.0,)
    else:
        seen_size, grey_channels = None, None
        mean, std = _normalize_from_repr(meta.get("transforms") or "")
    entry = model_entry(config["name"])
    if entry.takes("in_features"):  # an MLP: its width tells the input's size
        channels, size = _mlp_input(
            config.get("in_features", entry.default("in_features")), seen_size, grey_channels
        )
    elif entry.takes("in_channels"):
        channels = int(config.get("in_channels", entry.default("in_channels")))
        size = seen_size or int(config.get("image_size", entry.input_size))
    else:
        channels, size = entry.channels, seen_size or entry.input_size
    if mean is None:
        mean, std = entry.mean, entry.std
    return ImageSpec(size, channels, per_channel(mean, channels), per_channel(std, channels))


def _read_transform_config(steps: List[Dict]):
    """(square output size, Grayscale's output channels, mean, std) of a chain in T.to_config form;
    None for what the chain does not say. A step that does not parse is ignored: this is a guess,
    reported as such."""
    size = grey_channels = mean = std = None
    for step in steps:
        if not isinstance(step, dict):
            continue
        name, out = step.get("name"), step.get("size")
        try:
            if name in ("Resize", "CenterCrop", "RandomResizedCrop") and isinstance(out, list):
                # Resize(int) sets only the shorter side: the output is square only after a crop.
                size = int(out[0]) if len(out) == 2 and out[0] == out[1] else None
            elif name == "Grayscale":
                grey_channels = int(step.get("num_output_channels", 1))
            elif name == "Normalize":
                mean, std = tuple(float(m) for m in step["mean"]), tuple(
                    float(s) for s in step["std"]
                )
        except (KeyError, TypeError, ValueError):
            continue
    return size, grey_channels, mean, std


def _mlp_input(
    in_features: int, size: Optional[int] = None, grey_channels: Optional[int] = None
) -> Tuple[int, int]:
    if size and in_features % (size * size) == 0 and in_features // (size * size) in (1, 3):
        return in_features // (size * size), size
    for channels in (grey_channels,) if grey_channels else (1, 3):
        side = round((in_features / channels) ** 0.5)
        if channels * side * side == in_features:
            return channels, side
    raise DataError(
        f"MNISTNet with in_features={in_features} takes no square image; "
        f"train it with greymatter train to record its input in {RUN_FILE}"
    )


_NUMBERS = r"\(([-0-9.eE, ]*)\)"


def _normalize_from_repr(text: str):
    match = re.search(r"Normalize\(mean=" + _NUMBERS + r", std=" + _NUMBERS, text)
    if not match:
        return None, None
    mean, std = ([float(v) for v in group.split(",") if v.strip()] for group in match.groups())
    return tuple(mean), tuple(std)


def per_channel(values, channels: int):
    values = tuple(values)
    return values * channels if len(values) == 1 else values

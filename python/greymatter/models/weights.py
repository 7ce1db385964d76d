"""Pretrained MobileNetV2 weights: where they are read from and how they are loaded, never
downloaded.

Weights are given as a torchvision weights name ("IMAGENET1K_V1"), a torchvision weights enum or a
.pth path; _read_weights turns them into a state_dict and _load_backbone copies its features.*
tensors into a model. Files are read with weights-only loading (_untrusted.py): a file holding
anything but tensors is refused before it runs. Not here: the models that take weights=
(classifiers.py). """
import os
from pathlib import Path
from typing import Dict, Tuple

import torch
from torch import nn

from .._core import ConfigError, DataError
from .._untrusted import load_tensors

_WEIGHT_FILES = {
    "IMAGENET1K_V1": "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
    "IMAGENET1K_V2": "https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth",
}
_WEIGHT_FILES["DEFAULT"] = _WEIGHT_FILES[
    "IMAGENET1K_V2"
]  # as torchvision's MobileNet_V2_Weights.DEFAULT

# The normalization ImageNet weights were trained with (torchvision's transforms for them).
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def checkpoint_dir() -> Path:
    """Where torch hub keeps downloaded weights; greymatter reads weight files there.

    Returns:
        ``$TORCH_HOME/hub/checkpoints`` (torch.hub.get_dir()'s ``checkpoints``).
    """
    return Path(torch.hub.get_dir()) / "checkpoints"


def _read_weights(weights) -> Tuple[Dict[str, torch.Tensor], str]:
    """A state_dict and a description of where it came from, for weights given as a torchvision
    weights name ("IMAGENET1K_V1"), a torchvision weights enum, or a file path. Never downloads."""
    url = getattr(weights, "url", None)  # torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    if url is None and isinstance(weights, str) and weights.upper() in _WEIGHT_FILES:
        url = _WEIGHT_FILES[weights.upper()]
    if url is not None:
        path = checkpoint_dir() / url.rsplit("/", 1)[-1]
        if not path.is_file():
            raise DataError(
                f"MobileNetV2 weights {getattr(weights, 'name', weights)} not found at {path}. "
                "greymatter never "
                f"downloads: copy {path.name} (from {url}) into {path.parent}/ (set TORCH_HOME "
                "to use another "
                "folder), or pass weights='path/to/file.pth'."
            )
    elif isinstance(weights, (str, os.PathLike)):
        path = Path(weights)
        if not path.is_file():
            raise DataError(
                f"weights file not found: {path} (weights takes None, 'IMAGENET1K_V1', "
                "'IMAGENET1K_V2', "
                "'DEFAULT' or the path of a .pth state_dict)"
            )
    else:
        raise ConfigError(
            f"weights must be None, 'IMAGENET1K_V1', 'IMAGENET1K_V2', 'DEFAULT' or a path, "
            f"got {weights!r}"
        )
    # Tensors only: a whole pickled nn.Module, or any other object, could run code while loading.
    loaded = load_tensors(path, "weights from")
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(
        isinstance(v, torch.Tensor) for v in loaded.values()
    ):
        raise DataError(f"{path} does not hold a state_dict (a dict of tensors)")
    return loaded, str(path)


def _load_backbone(model: nn.Module, state: Dict[str, torch.Tensor], source: str) -> None:
    """Loads the features.* tensors of a MobileNetV2 state_dict (torchvision's, or a
    TransferClassifier's base_model.*) into `model`, a MobileNetV2 or base_model; every features key
    must match."""
    state = {
        k[len("base_model.") :] if k.startswith("base_model.") else k: v for k, v in state.items()
    }
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    own = [k for k in model.state_dict() if k.startswith("features.")]
    missing = [k for k in own if k not in features]
    unexpected = [k for k in features if k not in own]
    if missing or unexpected or not features:
        raise ConfigError(
            f"{source} is not a MobileNetV2 state_dict for this model: missing keys {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''}"
        )
    model.load_state_dict(features, strict=False)

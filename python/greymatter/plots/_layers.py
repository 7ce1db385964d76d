"""What the plots that run a model share: one image as a batch of one, the model's device, and
the convolution layer to show by default, by the names a capture reports. Draws nothing."""
from typing import Iterable

import torch

from .._core import ConfigError


def _one_image(image, what: str) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or not (
        image.dim() == 3 or (image.dim() == 4 and image.size(0) == 1)
    ):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ConfigError(
            f"{what} takes one transformed image, a (C, H, W) or (1, C, H, W) tensor; got {shape}"
        )
    return image.unsqueeze(0) if image.dim() == 3 else image


def _model_device(model) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _is_conv(module) -> bool:
    # torch's Conv2d and the views of greymatter's both have these; Linear and pooling do not.
    return all(getattr(module, a, None) is not None for a in ("out_channels", "kernel_size"))


def _conv_layer(model, captured: Iterable[str], activations, last: bool) -> str:
    """The last (or first) convolution's name, or its nearest enclosing layer among ``captured``
    (a greymatter model reports MobileNetV2's blocks, "features.18", not the convs inside them).
    A model without one is a ConfigError naming the layers with (B, C, H, W) outputs."""
    convs = [name for name, m in model.named_modules() if name and _is_conv(m)]
    available = set(captured)
    for name in reversed(convs) if last else convs:
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in available:
                return candidate
    maps = [n for n, a in activations.items() if a.dim() == 4]
    raise ConfigError(
        f"{type(model).__name__} has no convolution layer to default to; pass layer= "
        + (f"one of {maps}" if maps else "a layer with (B, C, H, W) outputs")
    )

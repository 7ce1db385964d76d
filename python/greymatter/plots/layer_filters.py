"""A layer's weights as pictures (filters): an MLP's first Linear weight as image-shaped tiles, one
per unit, or a conv weight as one image per filter."""
import math
from typing import Optional, Sequence

import numpy as np
import torch

from .._core import ConfigError
from ._arrays import _array, _is_array
from ._figures import _save
from ._images import _tiles


def _first_weight(model, layer: Optional[str]):
    if _is_array(model):
        return "weight", torch.as_tensor(np.asarray(_array(model)))
    if not hasattr(model, "state_dict"):
        raise ConfigError(
            "filters takes a model (with state_dict()) or a weight tensor, got "
            f"{type(model).__name__}"
        )
    state = model.state_dict()
    candidates = [k for k, v in state.items() if getattr(v, "dim", lambda: 0)() in (2, 4)]
    if layer is not None:
        key = layer if layer in state else f"{layer}.weight"
        if key not in candidates:
            raise ConfigError(
                f"filters: no 2-D or 4-D weight named {layer!r}; choose one of {candidates}"
            )
    elif candidates:
        key = candidates[0]
    else:
        raise ConfigError(
            f"filters: the model has no Linear (2-D) or conv (4-D) weight; keys {list(state)}"
        )
    return key, state[key]


def _square(n: int) -> Optional[int]:
    side = math.isqrt(n)
    return side if side * side == n else None


def filters(
    model,
    n: int = 64,
    ncols: Optional[int] = None,
    layer: Optional[str] = None,
    image_shape: Optional[Sequence[int]] = None,
    channel: int = 0,
    cmap: str = "gray",
    save: Optional[str] = None,
):
    """First-layer weights as pictures: an MLP's first Linear weight (out, 784) as 28x28 tiles, one
    per unit, or a conv weight (out, in, k, k) as one image per filter (RGB when in = 3, else input
    channel ``channel``).

    Args:
        model: a greymatter model or torch.nn.Module (the first 2-D/4-D weight in state_dict order,
            or the one named ``layer``) or a weight tensor.
        n: how many units or filters, from the first.
        ncols: tiles per row; None chooses.
        layer: the state_dict name of the weight to show.
        image_shape: (H, W) or (C, H, W) of a Linear weight's inputs when they are not a square.
        channel: the input channel shown for a conv weight with other than 1 or 3 inputs.
        cmap: a matplotlib colour map for one-channel tiles.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.weight_name`` names the weight shown.

    Raises:
        ConfigError: no 2-D or 4-D weight, or an ``image_shape`` / ``channel`` that does not fit.
    """
    name, weight = _first_weight(model, layer)
    w = (
        weight.detach().cpu().double().numpy()
        if isinstance(weight, torch.Tensor)
        else np.asarray(weight, float)
    )
    if w.ndim == 2:
        out, fan_in = w.shape
        if image_shape is not None:
            shape = tuple(int(s) for s in image_shape)
        elif _square(fan_in):
            shape = (_square(fan_in),) * 2
        elif fan_in % 3 == 0 and _square(fan_in // 3):
            shape = (3,) + (_square(fan_in // 3),) * 2
        else:
            raise ConfigError(
                f"filters: {name} has {fan_in} inputs, not a square image; pass image_shape=(H, W)"
            )
        if math.prod(shape) != fan_in:
            raise ConfigError(
                f"filters: image_shape {shape} does not hold the {fan_in} inputs of {name}"
            )
        tiles, kind = w.reshape(out, *shape), "units"
    elif w.ndim == 4:
        out, cin = w.shape[:2]
        if cin in (1, 3):
            tiles = w
        elif 0 <= channel < cin:
            tiles = w[:, channel]
        else:
            raise ConfigError(
                f"filters: channel {channel} is out of range for {name} with {cin} input channels"
            )
        kind = "filters" if cin in (1, 3) else f"filters (input channel {channel})"
    else:
        raise ConfigError(
            f"filters: expected a 2-D (Linear) or 4-D (conv) weight, got shape {tuple(w.shape)}"
        )
    shown = tiles[: max(1, min(n, out))]
    rgb = shown.ndim == 4 and shown.shape[1] == 3
    if rgb:  # one scale for the whole layer, so colours compare across filters
        shown = (shown - shown.min()) / max(shown.max() - shown.min(), 1e-12)
    fig, axes = _tiles(len(shown), ncols, tile=1.2, title_space=0.1, layout="constrained")
    for ax, t in zip(axes, shown):
        if rgb:
            ax.imshow(t.transpose(1, 2, 0), interpolation="nearest")
        else:
            ax.imshow(t.reshape(t.shape[-2:]), cmap=cmap, interpolation="nearest")
    height, width = shown.shape[-2:]
    fig.suptitle(f"{name}: {len(shown)} of {out} {kind}, {height}x{width}")
    fig.weight_name = name
    return _save(fig, save)

"""Feature maps: what one layer's channels respond to in an image, one tile per channel. Runs the
model forward once, without gradients (greymatter.models.capture), for greymatter models and plain
torch.nn.Modules alike."""
from typing import Optional

import torch

from .._core import ConfigError
from ..models.capture import capture
from ._figures import _save
from ._images import _tiles
from ._layers import _conv_layer, _model_device, _one_image


def feature_maps(
    model,
    image: torch.Tensor,
    layer: Optional[str] = None,
    n: int = 16,
    ncols: Optional[int] = None,
    cmap: str = "viridis",
    save: Optional[str] = None,
):
    """The first ``n`` channels of a layer's output for one transformed image, each tile on its own
    colour scale. The model runs in eval mode and is put back in its mode after.

    Args:
        model: a greymatter model or any torch.nn.Module.
        image: one transformed image (C, H, W) or (1, C, H, W).
        layer: a layer name with a 4-D output; None: the first convolution.
        n: how many channels, from the first.
        ncols: tiles per row; None chooses.
        cmap: a matplotlib colour map.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.maps`` holds the whole activation
        (channels, h, w) as numpy, ``fig.layer`` the layer's name.

    Raises:
        ConfigError: not one image, an unknown layer, or a layer without a 4-D output.
    """
    x = _one_image(image, "feature_maps")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            cap = capture(model, x.to(_model_device(model)), [layer] if layer else None)
    finally:
        model.train(was_training)
    layer = layer or _conv_layer(model, cap.layers, cap.activations, last=False)
    activation = cap.activations[layer]
    if activation.dim() != 4:
        raise ConfigError(
            f"feature_maps shows (B, C, H, W) outputs; {layer} gives {tuple(activation.shape)}"
        )
    maps = activation[0].float().cpu().numpy()
    shown = maps[: max(1, min(n, len(maps)))]
    fig, axes = _tiles(len(shown), ncols, tile=1.4, title_space=0.25, layout="constrained")
    for i, (ax, m) in enumerate(zip(axes, shown)):
        ax.imshow(m, cmap=cmap, interpolation="nearest")
        ax.set_title(str(i), fontsize=8)
    height, width = maps.shape[-2:]
    fig.suptitle(f"{layer}: {len(shown)} of {len(maps)} feature maps, {height}x{width}")
    fig.maps, fig.layer = maps, layer
    return _save(fig, save)

"""Images as matplotlib shows them: one image (CxHxW, HxWxC or HxW, float or uint8) to an imshow
array with its Normalize undone, a transform chain's Normalize found, and a grid of image axes to
draw them in."""
import math
from typing import Optional

import numpy as np

from .._core import ConfigError
from ._arrays import _array
from ._figures import _figure


def _normalization(transform):
    """(mean, std) of the last Normalize in a greymatter or torchvision transform chain, else
    None."""
    found = None
    inner = getattr(transform, "transforms", None)
    for t in inner if isinstance(inner, (list, tuple)) else [transform]:
        if isinstance(getattr(t, "transforms", None), (list, tuple)):
            found = _normalization(t) or found
        elif type(t).__name__ == "Normalize" and hasattr(t, "mean") and hasattr(t, "std"):
            found = (t.mean, t.std)
    return found


def _image(img, mean=None, std=None):
    """One image (CxHxW, HxWxC with C = 1 or 3, or HxW; float or uint8) -> (array for imshow, cmap).
    With mean/std the Normalize step is undone; without them, values outside [0, 1] are rescaled
    to it per image so a normalized tensor still shows."""
    raw = _array(img)
    a = raw.astype(np.float64) / (255.0 if raw.dtype == np.uint8 else 1.0)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a.transpose(1, 2, 0)
    elif a.ndim == 2:
        a = a[:, :, None]
    elif not (a.ndim == 3 and a.shape[2] in (1, 3)):
        raise ConfigError(
            f"cannot show an image of shape {tuple(raw.shape)}: expected CxHxW or HxWxC "
            f"with C = 1 or 3, or HxW"
        )
    channels = a.shape[2]
    if mean is not None or std is not None:
        m = np.asarray(mean if mean is not None else 0.0, dtype=np.float64).reshape(-1)
        s = np.asarray(std if std is not None else 1.0, dtype=np.float64).reshape(-1)
        if m.size not in (1, channels) or s.size not in (1, channels):
            raise ConfigError(
                f"mean {tuple(m)} / std {tuple(s)} do not match an image with {channels} channels"
            )
        a = a * s + m
    elif a.size and (a.min() < 0 or a.max() > 1):
        a = (a - a.min()) / max(a.max() - a.min(), 1e-12)
    a = np.clip(a, 0.0, 1.0)
    return (a[:, :, 0], "gray") if channels == 1 else (a, None)


def _tiles(n: int, ncols: Optional[int], tile: float = 1.8, title_space: float = 0.3, **fig_kwargs):
    """A figure with exactly n image axes (no empty ones) in a grid, axes turned off."""
    cols = max(1, min(n, ncols or math.ceil(math.sqrt(n))))
    rows = max(1, math.ceil(n / cols))
    fig = _figure(figsize=(cols * tile, rows * (tile + title_space)), **fig_kwargs)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    for ax in axes:
        ax.set_axis_off()
    return fig, axes


def _show(ax, img, mean, std):
    a, cmap = _image(img, mean, std)
    ax.imshow(a, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")

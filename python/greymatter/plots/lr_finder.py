"""The learning-rate range test's curve (lr_finder): loss per step against the learning rate on a
log scale, the smoothed curve over it and the suggested learning rate marked."""
from typing import Optional

import numpy as np

from .._core import ConfigError
from ._figures import _figure, _save


def lr_finder(result, title: Optional[str] = None, save: Optional[str] = None):
    """Loss against learning rate (log scale) of a range test, the smoothed curve over it and the
    suggested learning rate marked. Non-finite losses are left out.

    Args:
        result: ``Trainer.lr_find``'s result, or anything with ``lrs``, ``losses`` and optionally
            ``smoothed`` and ``suggestion``.
        title: the figure's title.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.suggestion`` is the marked lr (None
        when there is none).

    Raises:
        ConfigError: no steps, or lrs and losses of different lengths.
    """
    lrs, losses = _array(result, "lrs"), _array(result, "losses")
    if lrs.size == 0 or lrs.size != losses.size:
        raise ConfigError(
            "lr_finder plots a Trainer.lr_find result: per-step lrs and losses of equal, non-zero "
            f"length; got {lrs.size} lrs and {losses.size} losses"
        )
    smoothed = _array(result, "smoothed")
    suggestion = getattr(result, "suggestion", None)
    fig = _figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.subplots()
    finite = np.isfinite(losses)
    ax.plot(lrs[finite], losses[finite], color="0.7", linewidth=1, label="loss")
    if smoothed.size:
        ax.plot(lrs[: smoothed.size], smoothed, color="C0", linewidth=2, label="smoothed")
    if suggestion is not None:
        ax.axvline(suggestion, color="C3", linestyle="--", label=f"suggestion {suggestion:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    if smoothed.size:  # the divergent tail would squash the interesting part
        low, high = np.min(smoothed), np.max(smoothed[: max(1, smoothed.size // 10)])
        ax.set_ylim(low - 0.1 * (high - low), high + 0.5 * (high - low) + 1e-12)
    ax.legend()
    ax.set_title(title or "learning rate range test")
    fig.suggestion = suggestion
    return _save(fig, save)


def _array(result, name: str) -> np.ndarray:
    values = getattr(result, name, None)
    return np.asarray([] if values is None else list(values), dtype=np.float64)

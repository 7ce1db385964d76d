"""One image's top-k predictions as horizontal bars, most likely on top (topk)."""
from typing import Optional, Sequence

import numpy as np

from .._core import ConfigError
from ._arrays import _array, _class_name, _log_probabilities
from ._figures import _figure, _save


def topk(
    probs,
    classes: Optional[Sequence[str]] = None,
    k: int = 5,
    title: Optional[str] = None,
    save: Optional[str] = None,
):
    """Horizontal bars of the k most likely classes for one image, most likely on top.

    Args:
        probs: the image's (C,) or (1, C) probabilities or logits, or (class, probability) pairs /
            a dict (``Trainer.predict_topk``'s output).
        classes: the class names; None numbers them.
        k: how many classes.
        title: the figure's title.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.topk`` is the [(class, probability),
        ...] drawn.
    """
    if isinstance(probs, dict) or (
        isinstance(probs, (list, tuple)) and probs and isinstance(probs[0], tuple)
    ):
        pairs = sorted(((str(c), float(p)) for c, p in dict(probs).items()), key=lambda cp: -cp[1])[
            :k
        ]
    else:
        s = _array(probs).astype(np.float64)
        if s.ndim == 2 and s.shape[0] == 1:
            s = s[0]
        if s.ndim != 1 or s.size == 0:
            raise ConfigError(
                f"topk takes one image's scores, shape (C,) or (1, C); got {tuple(s.shape)} "
                f"(pass probs[i] for image i)"
            )
        p = np.exp(_log_probabilities(s[None]))[0]
        order = np.argsort(-p, kind="stable")[:k]
        pairs = [(_class_name(classes, int(i)), float(p[i])) for i in order]
    if not pairs:
        raise ConfigError("topk: nothing to show (k = 0)")
    fig = _figure(figsize=(6, 0.45 * len(pairs) + 1.2), layout="constrained")
    ax = fig.subplots()
    names, values = zip(*reversed(pairs))  # barh draws bottom-up: most likely last
    bars = ax.barh(range(len(pairs)), values, color=["tab:gray"] * (len(pairs) - 1) + ["tab:blue"])
    ax.bar_label(bars, labels=[f"{v:.1%}" for v in values], padding=3)
    ax.set_yticks(range(len(pairs)), names)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("probability")
    ax.set_title(title or f"Top-{len(pairs)} predictions")
    fig.topk = pairs
    return _save(fig, save)

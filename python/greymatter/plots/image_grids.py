"""Grids of images: samples titled with their class, predictions coloured right/wrong, and the
samples with the highest loss (top_losses, as fastai's plot_top_losses)."""
from typing import Optional, Sequence

import numpy as np

from .._core import ConfigError
from ._arrays import (
    _array,
    _batch,
    _check_labels,
    _class_log_probabilities,
    _class_name,
    _is_array,
    _labels,
    _log_probabilities,
)
from ._figures import _save
from ._images import _normalization, _show, _tiles

RIGHT, WRONG = "green", "red"


def samples(
    data,
    classes: Optional[Sequence[str]] = None,
    n: int = 16,
    ncols: Optional[int] = None,
    indices: Optional[Sequence[int]] = None,
    mean=None,
    std=None,
    save: Optional[str] = None,
):
    """A grid of images titled with their class.

    Args:
        data: a dataset (``ds[i] -> (image, label)``; its ``classes`` and its transform's
            Normalize are used when not given), an ``(images, labels)`` pair such as a DataLoader
            batch, or an images tensor alone.
        classes: the class names for the titles.
        n: how many images, from the first (when ``indices`` is None).
        ncols: images per row; None chooses.
        indices: the samples to show.
        mean: the Normalize mean to undo for display (one value or one per channel).
        std: the Normalize std to undo.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter).

    Raises:
        ConfigError: nothing to show, or a mean/std that does not fit the images.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2 and _is_array(data[0]):
        images, labels = data
        get = lambda i: (images[i], None if labels is None else labels[i])  # noqa: E731
        size = _batch(images, labels, "samples")
    elif _is_array(data):
        get, size = (lambda i: (data[i], None)), len(data)
    else:
        get, size = (lambda i: data[i]), len(data)
        classes = classes if classes is not None else getattr(data, "classes", None) or None
        if mean is None and std is None:
            mean, std = _normalization(getattr(data, "transform", None)) or (None, None)
    chosen = list(indices) if indices is not None else list(range(min(n, size)))
    if not chosen:
        raise ConfigError("samples: nothing to show (empty data or indices)")
    fig, axes = _tiles(len(chosen), ncols, layout="constrained")
    for ax, i in zip(axes, chosen):
        img, label = get(int(i))
        _show(ax, img, mean, std)
        if label is not None:
            ax.set_title(_class_name(classes, int(label)), fontsize=9)
    return _save(fig, save)


def predictions(
    images,
    labels,
    preds,
    classes: Optional[Sequence[str]] = None,
    n: int = 16,
    ncols: Optional[int] = None,
    mean=None,
    std=None,
    save: Optional[str] = None,
):
    """Images titled "predicted (true: actual)", green when right and red when wrong.

    Args:
        images: a batch (N, C, H, W) or (N, H, W).
        labels: the true class indices.
        preds: class indices, or (N, C) probabilities/logits (then the title shows the predicted
            class's probability).
        classes: the class names for the titles.
        n: how many images, from the first.
        ncols: images per row; None chooses.
        mean: the Normalize mean to undo for display.
        std: the Normalize std to undo.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter).

    Raises:
        ConfigError: images, labels and predictions of different lengths.
    """
    count = _batch(images, labels, "predictions")
    true = _labels(labels, "labels")
    scores = _array(preds)
    probs = np.exp(_log_probabilities(scores)) if scores.ndim == 2 else None
    pred = scores.argmax(1) if probs is not None else _labels(scores, "preds")
    if len(pred) != count:
        raise ConfigError(f"predictions: {count} images but {len(pred)} predictions")
    shown = min(n, count)
    if shown == 0:
        raise ConfigError("predictions: nothing to show")
    fig, axes = _tiles(shown, ncols, title_space=0.5, layout="constrained")
    for i, ax in enumerate(axes):
        _show(ax, images[i], mean, std)
        confidence = f" {probs[i, pred[i]]:.0%}" if probs is not None else ""
        ax.set_title(
            f"{_class_name(classes, int(pred[i]))}{confidence}\n(true: "
            f"{_class_name(classes, int(true[i]))})",
            color=RIGHT if pred[i] == true[i] else WRONG,
            fontsize=9,
        )
    fig.suptitle(f"{int((pred[:shown] == true[:shown]).sum())}/{shown} correct")
    return _save(fig, save)


def top_losses(
    images,
    labels,
    scores,
    classes: Optional[Sequence[str]] = None,
    k: int = 9,
    ncols: Optional[int] = None,
    mean=None,
    std=None,
    save: Optional[str] = None,
):
    """The k samples with the highest cross-entropy loss, titled like fastai's plot_top_losses:
    "predicted/actual", then "loss / probability of actual".

    Args:
        images: a batch (N, C, H, W) or (N, H, W).
        labels: the true class indices.
        scores: (N, C) probabilities or logits, or binary (N,) sigmoid outputs.
        classes: the class names for the titles.
        k: how many samples.
        ncols: images per row; None chooses.
        mean: the Normalize mean to undo for display.
        std: the Normalize std to undo.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.indices`` / ``fig.losses`` hold the
        chosen samples, worst first.

    Raises:
        ConfigError: images, labels and scores of different lengths.
    """
    count = _batch(images, labels, "top_losses")
    true = _labels(labels, "labels")
    logp = _class_log_probabilities(scores)
    if len(logp) != count:
        raise ConfigError(f"top_losses: {count} images but {len(logp)} rows of scores")
    _check_labels(true, logp.shape[1], "labels")
    losses = -logp[np.arange(count), true]
    order = np.argsort(-losses, kind="stable")[: max(0, min(k, count))]
    if order.size == 0:
        raise ConfigError("top_losses: nothing to show (k = 0 or no samples)")
    pred = logp.argmax(1)
    fig, axes = _tiles(len(order), ncols, tile=2.0, title_space=0.5, layout="constrained")
    for ax, i in zip(axes, order):
        _show(ax, images[int(i)], mean, std)
        ax.set_title(
            f"{_class_name(classes, int(pred[i]))}/{_class_name(classes, int(true[i]))}\n"
            f"{losses[i]:.2f} / {np.exp(logp[i, true[i]]):.2f}",
            color=RIGHT if pred[i] == true[i] else WRONG,
            fontsize=9,
        )
    fig.suptitle("prediction/actual\nloss / probability of actual")
    fig.indices, fig.losses = [int(i) for i in order], losses[order]
    return _save(fig, save)

"""The confusion matrix of true against predicted classes, as counts or normalized, annotated per
cell."""
from typing import Optional, Sequence

import numpy as np

from .._core import ConfigError
from ._arrays import _array, _check_labels, _class_name, _labels
from ._figures import _figure, _save


def confusion_matrix(
    y_true,
    y_pred,
    classes: Optional[Sequence[str]] = None,
    normalize=False,
    title: Optional[str] = None,
    cmap: str = "Blues",
    save: Optional[str] = None,
):
    """The confusion matrix: rows are true classes, columns predicted ones.

    Args:
        y_true: the true class indices.
        y_pred: the predicted class indices, or (N, C) scores (their argmax is the prediction).
        classes: the class names; None numbers them.
        normalize: False (counts), "true"/True (rows sum to 1), "pred" (columns), "all".
        title: the figure's title.
        cmap: a matplotlib colour map.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.counts`` holds the integer counts,
        ``fig.matrix`` the matrix as drawn.

    Raises:
        ConfigError: labels and predictions that do not match, or labels out of range.
    """
    scores = _array(y_pred)
    pred = scores.argmax(1) if scores.ndim == 2 else _labels(scores, "y_pred")
    true = _labels(y_true, "y_true")
    if true.shape != pred.shape:
        raise ConfigError(f"confusion_matrix: {true.size} true labels but {pred.size} predictions")
    if classes is not None:
        n_classes = len(classes)
        if scores.ndim == 2 and scores.shape[1] != n_classes:
            raise ConfigError(
                f"confusion_matrix: scores have {scores.shape[1]} columns for {n_classes} classes"
            )
    elif scores.ndim == 2:
        n_classes = scores.shape[1]
    else:
        n_classes = int(max(true.max(initial=-1), pred.max(initial=-1)) + 1)
    _check_labels(true, n_classes, "y_true")
    _check_labels(pred, n_classes, "y_pred")
    if n_classes == 0 or true.size == 0:
        raise ConfigError("confusion_matrix: no labels to count")
    mode = "true" if normalize is True else (normalize or None)
    if mode not in (None, "true", "pred", "all"):
        raise ConfigError(f"normalize must be False, 'true', 'pred' or 'all', got {normalize!r}")
    counts = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )
    matrix = counts
    if mode is not None:  # a class with no samples gets a row (or column) of zeros, not nan
        total = counts.sum(axis={"true": 1, "pred": 0}.get(mode), keepdims=mode != "all")
        matrix = np.divide(counts, total, out=np.zeros(counts.shape), where=np.asarray(total) > 0)

    size = max(4.0, 0.6 * n_classes + 2.0)
    fig = _figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap=cmap, vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    names = [_class_name(classes, i) for i in range(n_classes)]
    slanted = max(map(len, names)) > 3  # long names would overlap side by side
    ax.set_xticks(
        range(n_classes), names, rotation=45 if slanted else 0, ha="right" if slanted else "center"
    )
    ax.set_yticks(range(n_classes), names)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            f"{v:d}" if mode is None else f"{v:.2f}",
            ha="center",
            va="center",
            color="white" if v > threshold else "black",
            fontsize=9,
        )
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(
        title or f"Confusion matrix{' (normalized)' if mode else ''} - accuracy {accuracy:.3f}"
    )
    fig.counts, fig.matrix = counts, matrix
    return _save(fig, save)

"""Training curves: loss and accuracy per epoch (curves) and the leaf-disease 2x2 panel with the
learning rate and the train-validation gap (metrics_2x2), from a History, a DataFrame, a Keras
History or a dict of lists."""
from typing import Optional

import numpy as np

from .._core import ConfigError
from ._figures import _figure, _save

_ALIASES = {
    "epoch": ("epoch",),
    "train_loss": ("train_loss", "loss"),
    "train_acc": ("train_acc", "accuracy", "acc", "train_accuracy"),
    "val_loss": ("val_loss",),
    "val_acc": ("val_acc", "val_accuracy"),
    "lr": ("lr", "learning_rate"),
    "gap": ("gap",),
}


def _history(hist) -> dict:
    """History, pandas DataFrame, Keras History or dict of lists -> dict of float arrays (None ->
    nan)."""
    import pandas as pd

    if isinstance(hist, dict):
        raw = hist
    elif isinstance(hist, pd.DataFrame):
        raw = {c: hist[c].tolist() for c in hist.columns}
    elif isinstance(getattr(hist, "history", None), dict):  # greymatter and Keras History
        raw = hist.history
    else:
        raise ConfigError(
            f"expected a History, a DataFrame or a dict of lists, got {type(hist).__name__}"
        )
    cols = {}
    for name, aliases in _ALIASES.items():
        key = next((a for a in aliases if a in raw), None)
        if key is not None:
            cols[name] = np.array([np.nan if v is None else v for v in raw[key]], dtype=np.float64)
    if "train_loss" not in cols and "train_acc" not in cols:
        raise ConfigError(f"history has no train_loss / train_acc column; it has {sorted(raw)}")
    n = len(next(iter(cols.values())))
    if n == 0:
        raise ConfigError("history has no epochs to plot")
    if any(len(v) != n for v in cols.values()):
        raise ConfigError(
            f"history columns differ in length: { {k: len(v) for k, v in cols.items()} }"
        )
    cols.setdefault("epoch", np.arange(1, n + 1, dtype=np.float64))
    if "gap" not in cols and "train_acc" in cols and "val_acc" in cols:
        cols["gap"] = cols["train_acc"] - cols["val_acc"]
    cols["best_epoch"] = getattr(hist, "best_epoch", None)
    return cols


def _has(cols: dict, name: str) -> bool:
    return name in cols and not np.all(np.isnan(cols[name]))


def _train_val(ax, cols: dict, key: str, title: str) -> None:
    for split, label in (("train", "train"), ("val", "validation")):
        if _has(cols, f"{split}_{key}"):
            ax.plot(cols["epoch"], cols[f"{split}_{key}"], "o-", label=label)
    _finish(ax, cols, title)


def _finish(ax, cols: dict, title: str) -> None:
    if cols["best_epoch"] is not None:
        ax.axvline(
            cols["best_epoch"], color="gray", linestyle="--", linewidth=1, label="best epoch"
        )
    ax.set_title(title)
    ax.set_xlabel("epoch")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.grid(alpha=0.3)


def curves(history, save: Optional[str] = None):
    """Training/validation loss and accuracy per epoch (training_validation_curves.png): 2 axes.

    Args:
        history: a History, its ``.df``, a Keras History or a dict of lists.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter).
    """
    cols = _history(history)
    fig = _figure(figsize=(11, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    _train_val(ax_loss, cols, "loss", "Loss")
    _train_val(ax_acc, cols, "acc", "Accuracy")
    return _save(fig, save)


def metrics_2x2(history, save: Optional[str] = None):
    """The leaf-disease panel: accuracy, loss, learning rate (log scale when it changes), train-val
    gap.

    Args:
        history: a History, its ``.df``, a Keras History or a dict of lists.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter).
    """
    cols = _history(history)
    fig = _figure(figsize=(11, 8), layout="constrained")
    (ax_acc, ax_loss), (ax_lr, ax_gap) = fig.subplots(2, 2)
    _train_val(ax_acc, cols, "acc", "Accuracy")
    _train_val(ax_loss, cols, "loss", "Loss")
    if _has(cols, "lr"):
        lr = cols["lr"]
        ax_lr.plot(cols["epoch"], lr, "o-", color="tab:purple", label="lr")
        if np.nanmin(lr) > 0 and np.nanmax(lr) > np.nanmin(lr) * (1 + 1e-9):
            ax_lr.set_yscale("log")
    else:
        ax_lr.text(
            0.5,
            0.5,
            "no learning rate recorded",
            ha="center",
            va="center",
            transform=ax_lr.transAxes,
        )
    _finish(ax_lr, cols, "Learning rate")
    if _has(cols, "gap"):
        ax_gap.plot(cols["epoch"], cols["gap"], "o-", color="tab:red", label="train - validation")
        ax_gap.axhline(0, color="black", linewidth=0.8)
    else:
        ax_gap.text(
            0.5,
            0.5,
            "no validation accuracy recorded",
            ha="center",
            va="center",
            transform=ax_gap.transAxes,
        )
    _finish(ax_gap, cols, "Train-validation accuracy gap")
    return _save(fig, save)

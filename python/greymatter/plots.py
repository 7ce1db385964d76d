"""Plots the tutorials draw by hand: curves, confusion matrices, image grids, filters, sweeps, top-k bars.

Every function returns a matplotlib Figure built without pyplot (no GUI backend needed; Jupyter shows it
inline) and, given ``save="path.png"``, writes it there, creating the folder. Inputs are what users already
hold: tensors, numpy arrays or lists for images/labels/scores, a History, DataFrame or Keras-style dict for
curves. The numbers a plot shows are attached to the figure (``fig.matrix``, ``fig.indices``, ...) so they
can be read back. This module draws; it never trains, predicts or reads files.
"""
import io
import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ._core import ConfigError

__all__ = ["curves", "metrics_2x2", "confusion_matrix", "samples", "predictions", "top_losses", "filters",
           "sweep_heatmap", "topk"]

RIGHT, WRONG = "green", "red"


# ---------------------------------------------------------------------------------------------- helpers
class PlotFigure(Figure):
    """A bare matplotlib Figure (not pyplot: no GUI backend, not kept alive by pyplot's registry) that
    Jupyter displays through _repr_png_, with or without `%matplotlib inline`."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


def _figure(*args, **kwargs) -> PlotFigure:
    return PlotFigure(*args, **kwargs)


def _save(fig, save: Optional[str]):
    if save:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def _array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _labels(x, name: str) -> np.ndarray:
    a = _array(x).reshape(-1)
    if a.dtype.kind == "f" and not np.all(a == np.round(a)):
        raise ConfigError(f"{name} must be class indices (integers), got values like {a[a != np.round(a)][0]}")
    if a.dtype.kind not in "iuf" and a.size:
        raise ConfigError(f"{name} must be class indices (integers), got dtype {a.dtype}")
    return a.astype(np.int64)


def _class_name(classes, i: int) -> str:
    return str(classes[i]) if classes is not None and 0 <= i < len(classes) else str(i)


def _log_probabilities(scores: np.ndarray) -> np.ndarray:
    """(N, C) probabilities or logits -> log-probabilities. Rows already on the simplex are taken as
    probabilities; anything else as logits (log-softmax, stable for confident predictions)."""
    s = scores.astype(np.float64)
    if s.min() >= 0 and s.max() <= 1 and np.allclose(s.sum(1), 1.0, atol=1e-3):
        with np.errstate(divide="ignore"):
            return np.log(s)
    s = s - s.max(1, keepdims=True)
    return s - np.log(np.exp(s).sum(1, keepdims=True))


def _class_log_probabilities(scores) -> np.ndarray:
    """(N, C) scores, or binary (N,) / (N, 1) sigmoid probabilities or logits -> (N, C) log-probabilities."""
    s = _array(scores).astype(np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 1:  # binary: the score is for class 1
        if s.min() >= 0 and s.max() <= 1:
            with np.errstate(divide="ignore"):
                return np.stack([np.log1p(-s), np.log(s)], 1)
        return np.stack([-np.logaddexp(0, s), -np.logaddexp(0, -s)], 1)
    if s.ndim != 2:
        raise ConfigError(f"scores must be (N, C) probabilities or logits, got shape {s.shape}")
    return _log_probabilities(s)


def _check_labels(labels: np.ndarray, n_classes: int, name: str) -> None:
    bad = labels[(labels < 0) | (labels >= n_classes)]
    if bad.size:
        raise ConfigError(f"{name} has label {bad[0]}, out of range for {n_classes} classes")


def _normalization(transform):
    """(mean, std) of the last Normalize in a greymatter or torchvision transform chain, else None."""
    found = None
    inner = getattr(transform, "transforms", None)
    for t in (inner if isinstance(inner, (list, tuple)) else [transform]):
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
        raise ConfigError(f"cannot show an image of shape {tuple(raw.shape)}: expected CxHxW or HxWxC "
                          f"with C = 1 or 3, or HxW")
    channels = a.shape[2]
    if mean is not None or std is not None:
        m = np.asarray(mean if mean is not None else 0.0, dtype=np.float64).reshape(-1)
        s = np.asarray(std if std is not None else 1.0, dtype=np.float64).reshape(-1)
        if m.size not in (1, channels) or s.size not in (1, channels):
            raise ConfigError(f"mean {tuple(m)} / std {tuple(s)} do not match an image with {channels} channels")
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


def _batch(images, labels, name: str):
    n = len(images)
    if labels is not None and len(labels) != n:
        raise ConfigError(f"{name}: {n} images but {len(labels)} labels")
    return n


# ----------------------------------------------------------------------------------- training curves
_ALIASES = {"epoch": ("epoch",), "train_loss": ("train_loss", "loss"),
            "train_acc": ("train_acc", "accuracy", "acc", "train_accuracy"), "val_loss": ("val_loss",),
            "val_acc": ("val_acc", "val_accuracy"), "lr": ("lr", "learning_rate"), "gap": ("gap",)}


def _history(hist) -> dict:
    """History, pandas DataFrame, Keras History or dict of lists -> dict of float arrays (None -> nan)."""
    import pandas as pd

    if isinstance(hist, dict):
        raw = hist
    elif isinstance(hist, pd.DataFrame):
        raw = {c: hist[c].tolist() for c in hist.columns}
    elif isinstance(getattr(hist, "history", None), dict):  # greymatter and Keras History
        raw = hist.history
    else:
        raise ConfigError(f"expected a History, a DataFrame or a dict of lists, got {type(hist).__name__}")
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
        raise ConfigError(f"history columns differ in length: { {k: len(v) for k, v in cols.items()} }")
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
        ax.axvline(cols["best_epoch"], color="gray", linestyle="--", linewidth=1, label="best epoch")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.grid(alpha=0.3)


def curves(history, save: Optional[str] = None):
    """Training/validation loss and accuracy per epoch (training_validation_curves.png): 2 axes."""
    cols = _history(history)
    fig = _figure(figsize=(11, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    _train_val(ax_loss, cols, "loss", "Loss")
    _train_val(ax_acc, cols, "acc", "Accuracy")
    return _save(fig, save)


def metrics_2x2(history, save: Optional[str] = None):
    """The leaf-disease panel: accuracy, loss, learning rate (log scale when it changes), train-val gap."""
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
        ax_lr.text(0.5, 0.5, "no learning rate recorded", ha="center", va="center", transform=ax_lr.transAxes)
    _finish(ax_lr, cols, "Learning rate")
    if _has(cols, "gap"):
        ax_gap.plot(cols["epoch"], cols["gap"], "o-", color="tab:red", label="train - validation")
        ax_gap.axhline(0, color="black", linewidth=0.8)
    else:
        ax_gap.text(0.5, 0.5, "no validation accuracy recorded", ha="center", va="center",
                    transform=ax_gap.transAxes)
    _finish(ax_gap, cols, "Train-validation accuracy gap")
    return _save(fig, save)


# ---------------------------------------------------------------------------------- confusion matrix
def confusion_matrix(y_true, y_pred, classes: Optional[Sequence[str]] = None, normalize=False,
                     title: Optional[str] = None, cmap: str = "Blues", save: Optional[str] = None):
    """Rows are true classes, columns predicted ones. ``y_pred`` may be class indices or (N, C) scores.
    ``normalize``: False (counts), "true"/True (rows sum to 1), "pred" (columns), "all".
    ``fig.counts`` holds the integer counts, ``fig.matrix`` the matrix as drawn."""
    scores = _array(y_pred)
    pred = scores.argmax(1) if scores.ndim == 2 else _labels(scores, "y_pred")
    true = _labels(y_true, "y_true")
    if true.shape != pred.shape:
        raise ConfigError(f"confusion_matrix: {true.size} true labels but {pred.size} predictions")
    if classes is not None:
        n_classes = len(classes)
        if scores.ndim == 2 and scores.shape[1] != n_classes:
            raise ConfigError(f"confusion_matrix: scores have {scores.shape[1]} columns for {n_classes} classes")
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
    counts = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
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
    ax.set_xticks(range(n_classes), names, rotation=45 if slanted else 0, ha="right" if slanted else "center")
    ax.set_yticks(range(n_classes), names)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, f"{v:d}" if mode is None else f"{v:.2f}", ha="center", va="center",
                color="white" if v > threshold else "black", fontsize=9)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(title or f"Confusion matrix{' (normalized)' if mode else ''} - accuracy {accuracy:.3f}")
    fig.counts, fig.matrix = counts, matrix
    return _save(fig, save)


# --------------------------------------------------------------------------------------- image grids
def _is_array(x) -> bool:
    return isinstance(x, (torch.Tensor, np.ndarray))


def samples(data, classes: Optional[Sequence[str]] = None, n: int = 16, ncols: Optional[int] = None,
            indices: Optional[Sequence[int]] = None, mean=None, std=None, save: Optional[str] = None):
    """A grid of images titled with their class. ``data``: a dataset (``ds[i] -> (image, label)``; its
    ``classes`` and its transform's Normalize are used when not given), an ``(images, labels)`` pair such
    as a DataLoader batch, or an images tensor alone. Shows ``indices``, else the first ``n``."""
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


def predictions(images, labels, preds, classes: Optional[Sequence[str]] = None, n: int = 16,
                ncols: Optional[int] = None, mean=None, std=None, save: Optional[str] = None):
    """Images titled "predicted (true: actual)", green when right and red when wrong. ``preds``: class
    indices, or (N, C) probabilities/logits (then the title shows the predicted class's probability)."""
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
        ax.set_title(f"{_class_name(classes, int(pred[i]))}{confidence}\n(true: {_class_name(classes, int(true[i]))})",
                     color=RIGHT if pred[i] == true[i] else WRONG, fontsize=9)
    fig.suptitle(f"{int((pred[:shown] == true[:shown]).sum())}/{shown} correct")
    return _save(fig, save)


def top_losses(images, labels, scores, classes: Optional[Sequence[str]] = None, k: int = 9,
               ncols: Optional[int] = None, mean=None, std=None, save: Optional[str] = None):
    """The k samples with the highest cross-entropy loss, titled like fastai's plot_top_losses:
    "predicted/actual", then "loss / probability of actual". ``scores``: (N, C) probabilities or logits, or
    binary (N,) sigmoid outputs. ``fig.indices`` / ``fig.losses`` hold the chosen samples, worst first."""
    count = _batch(images, labels, "top_losses")
    true = _labels(labels, "labels")
    logp = _class_log_probabilities(scores)
    if len(logp) != count:
        raise ConfigError(f"top_losses: {count} images but {len(logp)} rows of scores")
    _check_labels(true, logp.shape[1], "labels")
    losses = -logp[np.arange(count), true]
    order = np.argsort(-losses, kind="stable")[:max(0, min(k, count))]
    if order.size == 0:
        raise ConfigError("top_losses: nothing to show (k = 0 or no samples)")
    pred = logp.argmax(1)
    fig, axes = _tiles(len(order), ncols, tile=2.0, title_space=0.5, layout="constrained")
    for ax, i in zip(axes, order):
        _show(ax, images[int(i)], mean, std)
        ax.set_title(f"{_class_name(classes, int(pred[i]))}/{_class_name(classes, int(true[i]))}\n"
                     f"{losses[i]:.2f} / {np.exp(logp[i, true[i]]):.2f}",
                     color=RIGHT if pred[i] == true[i] else WRONG, fontsize=9)
    fig.suptitle("prediction/actual\nloss / probability of actual")
    fig.indices, fig.losses = [int(i) for i in order], losses[order]
    return _save(fig, save)


# --------------------------------------------------------------------------------------------- filters
def _first_weight(model, layer: Optional[str]):
    if _is_array(model):
        return "weight", torch.as_tensor(np.asarray(_array(model)))
    if not hasattr(model, "state_dict"):
        raise ConfigError(f"filters takes a model (with state_dict()) or a weight tensor, got {type(model).__name__}")
    state = model.state_dict()
    candidates = [k for k, v in state.items() if getattr(v, "dim", lambda: 0)() in (2, 4)]
    if layer is not None:
        key = layer if layer in state else f"{layer}.weight"
        if key not in candidates:
            raise ConfigError(f"filters: no 2-D or 4-D weight named {layer!r}; choose one of {candidates}")
    elif candidates:
        key = candidates[0]
    else:
        raise ConfigError(f"filters: the model has no Linear (2-D) or conv (4-D) weight; keys {list(state)}")
    return key, state[key]


def _square(n: int) -> Optional[int]:
    side = math.isqrt(n)
    return side if side * side == n else None


def filters(model, n: int = 64, ncols: Optional[int] = None, layer: Optional[str] = None,
            image_shape: Optional[Sequence[int]] = None, channel: int = 0, cmap: str = "gray",
            save: Optional[str] = None):
    """First-layer weights as pictures: an MLP's first Linear weight (out, 784) as 28x28 tiles, one per
    unit, or a conv weight (out, in, k, k) as one image per filter (RGB when in = 3, else input channel
    ``channel``). ``model``: a greymatter model or torch.nn.Module (the first 2-D/4-D weight in
    state_dict order, or the one named ``layer``) or a weight tensor. Shows the first ``n``."""
    name, weight = _first_weight(model, layer)
    w = weight.detach().cpu().double().numpy() if isinstance(weight, torch.Tensor) else np.asarray(weight, float)
    if w.ndim == 2:
        out, fan_in = w.shape
        if image_shape is not None:
            shape = tuple(int(s) for s in image_shape)
        elif _square(fan_in):
            shape = (_square(fan_in),) * 2
        elif fan_in % 3 == 0 and _square(fan_in // 3):
            shape = (3,) + (_square(fan_in // 3),) * 2
        else:
            raise ConfigError(f"filters: {name} has {fan_in} inputs, not a square image; pass image_shape=(H, W)")
        if math.prod(shape) != fan_in:
            raise ConfigError(f"filters: image_shape {shape} does not hold the {fan_in} inputs of {name}")
        tiles, kind = w.reshape(out, *shape), "units"
    elif w.ndim == 4:
        out, cin = w.shape[:2]
        if cin in (1, 3):
            tiles = w
        elif 0 <= channel < cin:
            tiles = w[:, channel]
        else:
            raise ConfigError(f"filters: channel {channel} is out of range for {name} with {cin} input channels")
        kind = "filters" if cin in (1, 3) else f"filters (input channel {channel})"
    else:
        raise ConfigError(f"filters: expected a 2-D (Linear) or 4-D (conv) weight, got shape {tuple(w.shape)}")
    shown = tiles[:max(1, min(n, out))]
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


# ----------------------------------------------------------------------------------------------- sweeps
def _sweep_key(v):
    return "none" if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _sweep_order(keys) -> list:
    unique = list(dict.fromkeys(keys))
    numbers = sorted(k for k in unique if isinstance(k, (int, float, np.number)))
    return (["none"] if "none" in unique else []) + numbers + [k for k in unique if k != "none" and k not in numbers]


def _sweep_label(v) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def sweep_heatmap(df, x: str = "size_inner", y: str = "lr", value: Optional[str] = None, agg: str = "mean",
                  best: Optional[str] = None, fmt: str = ".3f", cmap: str = "viridis", title: Optional[str] = None,
                  save: Optional[str] = None):
    """Heatmap of ``value`` over a grid (one DataFrame row per configuration, e.g. gm.sweep's result), cells
    annotated; repeated configurations are combined with ``agg``. ``value`` defaults to best_val_acc or
    val_acc. The best cell (max, or min for a loss) is outlined. ``fig.matrix``: the grid as a DataFrame;
    ``fig.best``: {y, x, value} of the best cell."""
    import pandas as pd
    from matplotlib.patches import Rectangle

    df = df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)
    value = value or next((c for c in ("best_val_acc", "val_acc") if c in df.columns), "val_acc")
    missing = [c for c in (x, y, value) if c not in df.columns]
    if missing:
        raise ConfigError(f"sweep_heatmap: no column {missing} in the table; it has {list(df.columns)}")
    if df.empty:
        raise ConfigError("sweep_heatmap: the table has no rows")
    keyed = pd.DataFrame({"y": df[y].map(_sweep_key), "x": df[x].map(_sweep_key),
                          "v": pd.to_numeric(df[value], errors="coerce")})
    grid = keyed.groupby(["y", "x"], sort=False)["v"].agg(agg).unstack("x")
    grid = grid.reindex(index=_sweep_order(keyed["y"]), columns=_sweep_order(keyed["x"]))
    values = grid.to_numpy(dtype=np.float64)
    best = best or ("min" if "loss" in value else "max")

    fig = _figure(figsize=(max(4.0, 1.1 * values.shape[1] + 2.5), max(3.0, 0.7 * values.shape[0] + 1.5)),
                  layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto")
    fig.colorbar(image, ax=ax, label=value)
    ax.set_xticks(range(values.shape[1]), [_sweep_label(v) for v in grid.columns])
    ax.set_yticks(range(values.shape[0]), [_sweep_label(v) for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    finite = values[np.isfinite(values)]
    middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "-" if np.isnan(v) else format(v, fmt), ha="center", va="center",
                color="white" if np.isfinite(v) and v < middle else "black", fontsize=9)
    fig.best = None
    if finite.size and best in ("max", "min"):
        i, j = np.unravel_index(np.nanargmax(values) if best == "max" else np.nanargmin(values), values.shape)
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
        fig.best = {y: grid.index[i], x: grid.columns[j], value: float(values[i, j])}
    ax.set_title(title or f"{value} by {y} x {x}")
    grid.index.name, grid.columns.name = y, x
    fig.matrix = grid
    return _save(fig, save)


# ------------------------------------------------------------------------------------------------ top-k
def topk(probs, classes: Optional[Sequence[str]] = None, k: int = 5, title: Optional[str] = None,
         save: Optional[str] = None):
    """Horizontal bars of the k most likely classes for one image, most likely on top. ``probs``: the
    image's (C,) or (1, C) probabilities or logits, or (class, probability) pairs / a dict.
    ``fig.topk``: the [(class, probability), ...] drawn."""
    if isinstance(probs, dict) or (isinstance(probs, (list, tuple)) and probs and isinstance(probs[0], tuple)):
        pairs = sorted(((str(c), float(p)) for c, p in dict(probs).items()), key=lambda cp: -cp[1])[:k]
    else:
        s = _array(probs).astype(np.float64)
        if s.ndim == 2 and s.shape[0] == 1:
            s = s[0]
        if s.ndim != 1 or s.size == 0:
            raise ConfigError(f"topk takes one image's scores, shape (C,) or (1, C); got {tuple(s.shape)} "
                              f"(pass probs[i] for image i)")
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

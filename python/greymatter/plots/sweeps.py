"""A sweep's results as a heatmap (sweep_heatmap): one metric over two grid keys, e.g. lr x
size_inner, with the best cell outlined and cells of trials Optuna pruned marked "pruned"."""
import math
from typing import Optional

import numpy as np

from .._core import ConfigError
from ._figures import _figure, _save


def _sweep_key(v):
    return "none" if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _sweep_order(keys) -> list:
    unique = list(dict.fromkeys(keys))
    numbers = sorted(k for k in unique if isinstance(k, (int, float, np.number)))
    return (
        (["none"] if "none" in unique else [])
        + numbers
        + [k for k in unique if k != "none" and k not in numbers]
    )


def _sweep_label(v) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def sweep_heatmap(
    df,
    x: str = "size_inner",
    y: str = "lr",
    value: Optional[str] = None,
    agg: str = "mean",
    best: Optional[str] = None,
    fmt: str = ".3f",
    cmap: str = "viridis",
    title: Optional[str] = None,
    save: Optional[str] = None,
):
    """Heatmap of ``value`` over a grid, cells annotated, the best cell outlined.

    With a ``status`` column, a cell whose configurations were all pruned (status "pruned": Optuna
    stopped them early, so the value is not comparable) is hatched and labelled "pruned" under its
    value, and never chosen as the best.

    Args:
        df: one row per configuration, e.g. gm.sweep's result (a DataFrame or what makes one).
        x: the column along the horizontal axis.
        y: the column along the vertical axis.
        value: the column drawn; None: best_val_acc or val_acc.
        agg: how repeated configurations are combined (a pandas aggregation name).
        best: "max" or "min"; None: min for a loss, else max.
        fmt: the format of the cell annotations.
        cmap: a matplotlib colour map.
        title: the figure's title.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.matrix`` is the grid as a DataFrame,
        ``fig.pruned`` which cells are pruned (a DataFrame of bools), ``fig.best`` {y, x, value} of
        the best cell.

    Raises:
        ConfigError: a missing column or an empty table.
    """
    import pandas as pd
    from matplotlib.patches import Rectangle

    df = df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)
    value = value or next((c for c in ("best_val_acc", "val_acc") if c in df.columns), "val_acc")
    missing = [c for c in (x, y, value) if c not in df.columns]
    if missing:
        raise ConfigError(
            f"sweep_heatmap: no column {missing} in the table; it has {list(df.columns)}"
        )
    if df.empty:
        raise ConfigError("sweep_heatmap: the table has no rows")
    keyed = pd.DataFrame(
        {
            "y": df[y].map(_sweep_key),
            "x": df[x].map(_sweep_key),
            "v": pd.to_numeric(df[value], errors="coerce"),
            "pruned": (df["status"] == "pruned") if "status" in df.columns else False,
        }
    )
    groups = keyed.groupby(["y", "x"], sort=False)
    order = {"index": _sweep_order(keyed["y"]), "columns": _sweep_order(keyed["x"])}
    grid = groups["v"].agg(agg).unstack("x").reindex(**order)
    pruned = groups["pruned"].all().unstack("x").reindex(**order)
    pruned = pruned.fillna(False).astype(bool)
    values = grid.to_numpy(dtype=np.float64)
    is_pruned = pruned.to_numpy()
    best = best or ("min" if "loss" in value else "max")

    fig = _figure(
        figsize=(max(4.0, 1.1 * values.shape[1] + 2.5), max(3.0, 0.7 * values.shape[0] + 1.5)),
        layout="constrained",
    )
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
        text = "-" if np.isnan(v) else format(v, fmt)
        if is_pruned[i, j]:
            text += "\npruned"
            ax.add_patch(
                Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", edgecolor="0.6")
            )
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            color="white" if np.isfinite(v) and v < middle else "black",
            fontsize=9,
        )
    fig.best = None
    candidates = np.where(is_pruned, np.nan, values)
    if np.isfinite(candidates).any() and best in ("max", "min"):
        i, j = np.unravel_index(
            np.nanargmax(candidates) if best == "max" else np.nanargmin(candidates), values.shape
        )
        ax.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)
        )
        fig.best = {y: grid.index[i], x: grid.columns[j], value: float(values[i, j])}
    ax.set_title(title or f"{value} by {y} x {x}")
    grid.index.name, grid.columns.name = y, x
    pruned.index.name, pruned.columns.name = y, x
    fig.matrix, fig.pruned = grid, pruned
    return _save(fig, save)

"""Plots the tutorials draw by hand. Each function returns a matplotlib Figure and saves it to `save`."""
from pathlib import Path
from typing import Optional

__all__ = ["curves"]


def _figure(*args, **kwargs):
    # A bare Figure (not pyplot) needs no GUI backend and is not kept alive by pyplot's registry;
    # Jupyter still displays it inline.
    from matplotlib.figure import Figure

    return Figure(*args, **kwargs)


def _save(fig, save: Optional[str]):
    if save:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def curves(history, save: Optional[str] = None):
    """Training/validation loss and accuracy per epoch (training_validation_curves.png)."""
    fig = _figure(figsize=(11, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = history.column("epoch")
    for ax, key, title in ((ax_loss, "loss", "Loss"), (ax_acc, "acc", "Accuracy")):
        ax.plot(epochs, history.column(f"train_{key}"), "o-", label="train")
        val = history.column(f"val_{key}")
        if any(v is not None for v in val):
            ax.plot(epochs, val, "o-", label="validation")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    return _save(fig, save)

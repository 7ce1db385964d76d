"""Plots the tutorials draw by hand: curves, confusion matrices, image grids, filters, sweeps, top-k
bars.

Every function returns a matplotlib Figure built without pyplot (no GUI backend needed; Jupyter
shows it inline) and, given ``save="path.png"``, writes it there, creating the folder. Inputs are
what users already
hold: tensors, numpy arrays or lists for images/labels/scores, a History, DataFrame or Keras-style
dict for curves. The numbers a plot shows are attached to the figure (``fig.matrix``,
``fig.indices``, ...) so they can be read back. This package draws; it never trains, predicts or
reads files.

This package re-exports; each module draws one kind of plot:
  training_curves.py  curves, metrics_2x2
  image_grids.py      samples, predictions, top_losses
  confusion.py        confusion_matrix
  layer_filters.py    filters
  sweeps.py           sweep_heatmap
  topk_bars.py        topk
with shared helpers: _figures.py (PlotFigure, _save), _arrays.py (inputs as numpy arrays, labels,
log-probabilities) and _images.py (an image for imshow, a grid of image axes). """
from ._figures import PlotFigure  # noqa: F401  (the class of every figure returned)
from .confusion import confusion_matrix
from .image_grids import predictions, samples, top_losses
from .layer_filters import filters
from .sweeps import sweep_heatmap
from .topk_bars import topk
from .training_curves import curves, metrics_2x2

__all__ = [
    "curves",
    "metrics_2x2",
    "confusion_matrix",
    "samples",
    "predictions",
    "top_losses",
    "filters",
    "sweep_heatmap",
    "topk",
]

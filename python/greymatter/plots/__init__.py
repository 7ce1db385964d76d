"""Plots the tutorials draw by hand: curves, confusion matrices, image grids, filters, sweeps, top-k
bars.

Every function returns a matplotlib Figure built without pyplot (no GUI backend needed; Jupyter
shows it inline) and, given ``save="path.png"``, writes it there, creating the folder. Inputs are
what users already hold: tensors, numpy arrays or lists for images/labels/scores, a History,
DataFrame or Keras-style dict for curves. The numbers a plot shows are attached to the figure
(``fig.matrix``, ``fig.indices``, ``fig.heatmap``, ...) so they can be read back. This package
draws; it never trains or reads files, and only gradcam and feature_maps run a model (one image,
forward and for Grad-CAM backward).

This package re-exports; each module draws one kind of plot:
  training_curves.py  curves, metrics_2x2
  image_grids.py      samples, predictions, top_losses
  confusion.py        confusion_matrix
  layer_filters.py    filters
  grad_cam.py         gradcam
  feature_map_grid.py feature_maps
  sweeps.py           sweep_heatmap
  lr_finder.py        lr_finder
  topk_bars.py        topk
with shared helpers: _figures.py (PlotFigure, _save), _arrays.py (inputs as numpy arrays, labels,
log-probabilities), _images.py (an image for imshow, a grid of image axes) and _layers.py (the
layer a model-running plot shows by default). """
from ._figures import PlotFigure  # noqa: F401  (the class of every figure returned)
from .confusion import confusion_matrix
from .feature_map_grid import feature_maps
from .grad_cam import gradcam
from .image_grids import predictions, samples, top_losses
from .layer_filters import filters
from .lr_finder import lr_finder
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
    "gradcam",
    "feature_maps",
    "sweep_heatmap",
    "lr_finder",
    "topk",
]

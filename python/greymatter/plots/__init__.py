"""Plots the tutorials draw by hand: curves, confusion matrices, image grids, filters, sweeps, top-k bars.

Every function returns a matplotlib Figure built without pyplot (no GUI backend needed; Jupyter shows it
inline) and, given ``save="path.png"``, writes it there, creating the folder. Inputs are what users already
hold: tensors, numpy arrays or lists for images/labels/scores, a History, DataFrame or Keras-style dict for
curves. The numbers a plot shows are attached to the figure (``fig.matrix``, ``fig.indices``, ...) so they
can be read back. This package draws; it never trains, predicts or reads files.

This package re-exports; each module draws one kind of plot:
  training_curves.py  curves, metrics_2x2          image_grids.py    samples, predictions, top_losses
  confusion.py        confusion_matrix             layer_filters.py  filters
  sweeps.py           sweep_heatmap                topk_bars.py      topk
with shared helpers: _figures.py (PlotFigure, _save), _arrays.py (inputs as numpy arrays, labels, log-probabilities)
and _images.py (an image for imshow, a grid of image axes).
"""
from .. import _core
from . import _arrays, _figures, _images, image_grids, layer_filters, sweeps, training_curves
from .confusion import confusion_matrix
from .image_grids import predictions, samples, top_losses
from .layer_filters import filters
from .sweeps import sweep_heatmap
from .topk_bars import topk
from .training_curves import curves, metrics_2x2

__all__ = ["curves", "metrics_2x2", "confusion_matrix", "samples", "predictions", "top_losses", "filters",
           "sweep_heatmap", "topk"]

# Every other name plots.py held when it was one module stays readable as greymatter.plots.<name>, the private
# ones too (PlotFigure is the class of every figure returned).
ConfigError = _core.ConfigError
PlotFigure = _figures.PlotFigure
_figure, _save = _figures._figure, _figures._save
_array, _is_array, _labels, _class_name = _arrays._array, _arrays._is_array, _arrays._labels, _arrays._class_name
_log_probabilities, _class_log_probabilities = _arrays._log_probabilities, _arrays._class_log_probabilities
_check_labels, _batch = _arrays._check_labels, _arrays._batch
_normalization, _image, _tiles, _show = _images._normalization, _images._image, _images._tiles, _images._show
_ALIASES, _history, _has = training_curves._ALIASES, training_curves._history, training_curves._has
_train_val, _finish = training_curves._train_val, training_curves._finish
RIGHT, WRONG = image_grids.RIGHT, image_grids.WRONG
_first_weight, _square = layer_filters._first_weight, layer_filters._square
_sweep_key, _sweep_order, _sweep_label = sweeps._sweep_key, sweeps._sweep_order, sweeps._sweep_label

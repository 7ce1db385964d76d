"""Models: torch::nn modules written in C++, usable from Python as ordinary torch.nn.Modules.

``parameters()`` are the C++ tensors themselves, so a plain loop with torch.optim trains them;
``state_dict()`` / ``load_state_dict()`` use PyTorch's key names (``fc1.weight``,
``features.0.1.running_mean``, ...), so ``torch.save(model.state_dict(), "model.pth")`` files and
torchvision weights move between greymatter and PyTorch. ``print(model)`` reads as PyTorch's printout.
Sub-modules (``model.conv1``, ``model.features[0]``) are views of the C++ layers: their weights can be
read, changed in place and saved, and they can be called, but not replaced from Python.

This package re-exports; each module has one job:
  _cpp_modules.py  the torch.nn.Module behaviour of a C++ module (state_dict, iteration, to(), views, pickling)
  classifiers.py   the model classes and mobilenet_v2()
  weights.py       reading pretrained weights files (never downloads)
  registry.py      models by name: get_model, from_config

Not here: the layers themselves (cpp/src/models) or training (trainer.py).
"""
from .. import _core
from . import _cpp_modules, classifiers, registry, weights
from ._cpp_modules import IncompatibleKeys, num_parameters
from .classifiers import (BrainTumorCNN, ExamModel, MNISTCNN, MNISTNet, MobileNetV2, SimpleCNN, TransferClassifier,
                          mobilenet_v2)
from .registry import from_config, get_model

__all__ = [
    "BrainTumorCNN",
    "ExamModel",
    "IncompatibleKeys",
    "MNISTCNN",
    "MNISTNet",
    "MobileNetV2",
    "SimpleCNN",
    "TransferClassifier",
    "from_config",
    "get_model",
    "mobilenet_v2",
    "num_parameters",
]

# Every other name models.py held when it was one module stays readable as greymatter.models.<name>, the
# private ones too: sweep_run.py reads MODEL_NAMES and _REGISTRY, models pickled before the split name _rebuild.
ConfigError = _core.ConfigError
DataError = _core.DataError
_CppModuleMixin = _cpp_modules._CppModuleMixin
_CppChild = _cpp_modules._CppChild
_CppSequential = _cpp_modules._CppSequential
_wrap = _cpp_modules._wrap
_CppModel = _cpp_modules._CppModel
_rebuild = _cpp_modules._rebuild
_RANDOM_FROZEN_BACKBONE = classifiers._RANDOM_FROZEN_BACKBONE
_REBUILDING = classifiers._REBUILDING
_user_stacklevel = classifiers._user_stacklevel
_WEIGHT_FILES = weights._WEIGHT_FILES
checkpoint_dir = weights.checkpoint_dir
_read_weights = weights._read_weights
_load_backbone = weights._load_backbone
_REGISTRY = registry._REGISTRY
MODEL_NAMES = registry.MODEL_NAMES

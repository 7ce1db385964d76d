"""Models: torch::nn modules written in C++, usable from Python as ordinary torch.nn.Modules.

``parameters()`` are the C++ tensors themselves, so a plain loop with torch.optim trains them;
``state_dict()`` / ``load_state_dict()`` use PyTorch's key names (``fc1.weight``,
``features.0.1.running_mean``, ...), so ``torch.save(model.state_dict(), "model.pth")`` files and
torchvision weights move between greymatter and PyTorch. ``print(model)`` reads as PyTorch's
printout. Sub-modules (``model.conv1``, ``model.features[0]``) are views of the C++ layers: their
weights can be read, changed in place and saved, and they can be called, but not replaced from
Python.

This package re-exports; each module has one job:
  registry.py      the model table: register_model, get_model, from_config, model_entry
  _cpp_modules.py  the torch.nn.Module behaviour of a C++ module (state_dict, iteration, to(),
                   views, pickling)
  classifiers.py   the model classes and mobilenet_v2(), each registered where it is defined
  weights.py       reading pretrained weights files (never downloads)
  capture.py       capture(model, x, layers): activations of named layers, for gradients too

Not here: the layers themselves (cpp/src/models) or training (greymatter.train).
"""
from ._cpp_modules import IncompatibleKeys, num_parameters
from .capture import Captured, capture
from .classifiers import (
    BrainTumorCNN,
    ExamModel,
    MNISTCNN,
    MNISTNet,
    MobileNetV2,
    SimpleCNN,
    TransferClassifier,
    mobilenet_v2,
)
from .registry import ModelEntry, from_config, get_model, model_entry, model_names, register_model
from .weights import IMAGENET_MEAN, IMAGENET_STD, checkpoint_dir

__all__ = [
    "BrainTumorCNN",
    "Captured",
    "ExamModel",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IncompatibleKeys",
    "MNISTCNN",
    "MNISTNet",
    "MobileNetV2",
    "ModelEntry",
    "SimpleCNN",
    "TransferClassifier",
    "capture",
    "checkpoint_dir",
    "from_config",
    "get_model",
    "mobilenet_v2",
    "model_entry",
    "model_names",
    "num_parameters",
    "register_model",
]

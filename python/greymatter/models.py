"""Models: torch::nn modules written in C++, usable from Python as ordinary torch.nn.Modules.

``parameters()`` are the C++ tensors themselves, so a plain loop with torch.optim trains them;
``state_dict()`` / ``load_state_dict()`` use PyTorch's key names (``fc1.weight``, ...), so
``torch.save(model.state_dict(), "model.pth")`` files move between greymatter and PyTorch.
"""
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Sequence

import torch

from . import _core
from ._core import ConfigError

__all__ = ["MNISTNet", "num_parameters"]


class IncompatibleKeys(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]


class _CppModel:
    """Mixin over the class torch::python::bind_module makes: the state_dict and printing that
    torch.nn.Module's own versions cannot do over C++ children."""

    config: Dict = {}

    def _tensors(self) -> "OrderedDict[str, torch.Tensor]":
        named = OrderedDict(self.cpp_module.named_parameters(True))
        named.update(self.cpp_module.named_buffers(True))
        return named

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        out = OrderedDict() if destination is None else destination
        for name, t in self._tensors().items():
            out[prefix + name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        own = self._tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ConfigError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys "
                              f"{unexpected}")
        shape_errors = [f"{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(t.shape)}"
                        for k, t in own.items() if k in state_dict and state_dict[k].shape != t.shape]
        if shape_errors:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: shape mismatch for " + "; ".join(shape_errors))
        with torch.no_grad():
            for k, t in own.items():
                if k in state_dict:
                    t.copy_(state_dict[k])
        return IncompatibleKeys(missing, unexpected)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for name, child in self.cpp_module.named_children().items():
            lines.append(f"  ({name}): {_describe_child(child)}")
        return "\n".join(lines) + "\n)"

    def num_parameters(self, trainable_only: bool = False) -> int:
        return num_parameters(self, trainable_only)


def _describe_child(child) -> str:
    params = dict(child.named_parameters(False))
    if "weight" in params and params["weight"].dim() == 2:
        out_f, in_f = params["weight"].shape
        return f"Linear(in_features={in_f}, out_features={out_f}, bias={'bias' in params})"
    return child.__repr__() if hasattr(child, "__repr__") else type(child).__name__


def num_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class MNISTNet(_CppModel, _core.MNISTNet):
    """The tutorials' MLP: flatten -> [Linear -> ReLU (-> Dropout)] per hidden size -> Linear."""

    def __init__(self, hidden: Sequence[int] = (128, 64), num_classes: int = 10, dropout: float = 0.0,
                 in_features: int = 784) -> None:
        super().__init__(hidden=list(hidden), num_classes=num_classes, dropout=dropout, in_features=in_features)
        self.config = {"name": "MNISTNet", "hidden": list(hidden), "num_classes": num_classes, "dropout": dropout,
                       "in_features": in_features}

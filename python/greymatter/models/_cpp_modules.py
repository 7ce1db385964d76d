"""The machinery that makes a C++ torch::nn module an ordinary torch.nn.Module in Python.

_CppModuleMixin gives a bound C++ module PyTorch's state_dict (PyTorch key names), module iteration,
printout, train()/eval() and to(); _CppChild / _CppSequential are views of the layers inside a
model; _CppModel is the base of the model classes and pickles them by rebuilding from their config
(_rebuild).

Not here: the model classes (classifiers.py) or the registry of their names (registry.py).
"""
from collections import OrderedDict
from typing import Dict, Iterator, List, NamedTuple, Tuple

import torch
from torch import nn
from torch.nn.cpp import ModuleWrapper

from .. import _core
from .._core import ConfigError
from .registry import from_config


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` returns, as torch's.

    Args:
        missing_keys: the model's keys the state_dict lacked.
        unexpected_keys: the state_dict's keys the model lacks.
    """

    missing_keys: List[str]
    unexpected_keys: List[str]


class _CppModuleMixin:
    """PyTorch's Module behaviour over a torch.nn.cpp.ModuleWrapper: the state_dict, printout,
    module iteration and to() that ModuleWrapper's copies of the C++ methods do not give."""

    def _finish_init(self) -> None:
        # ModuleWrapper copies every public C++ method onto the instance, where it would shadow the
        # versions below (C++ to() returns None, named_parameters() returns a dict, ...).
        ours = set().union(*(vars(c) for c in type(self).__mro__ if issubclass(c, _CppModuleMixin)))
        for name in [n for n in vars(self) if n in ours]:
            del self.__dict__[name]
        self.__dict__["_cpp_ready"] = True

    @property
    def training(self) -> bool:
        return self.cpp_module.training

    @training.setter
    def training(self, mode: bool) -> None:
        # nn.Module.__init__ sets training = True: on a view of an existing C++ layer
        # (model.base_model) that would switch it and everything under it to train mode, so wait
        # until init is done.
        if self.__dict__.get("_cpp_ready"):
            self.cpp_module.train(bool(mode))

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        out = OrderedDict() if destination is None else destination
        for name, t in _core._state_tensors(self.cpp_module):
            out[prefix + name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copies tensors into this model by PyTorch key name. strict=False loads the keys both
        sides have and reports the rest; a shape mismatch is always an error."""
        own = OrderedDict(_core._state_tensors(self.cpp_module))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            hint = ""
            if unexpected and all(k.startswith("module.") for k in unexpected):
                hint = (
                    " (the file was saved from nn.DataParallel: strip the 'module.' prefix "
                    "from its keys)"
                )
            raise ConfigError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys "
                f"{unexpected}{hint}"
            )
        shape_errors = [
            f"{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(t.shape)}"
            for k, t in own.items()
            if k in state_dict and state_dict[k].shape != t.shape
        ]
        if shape_errors:
            raise ConfigError(
                f"{type(self).__name__}.load_state_dict: shape mismatch for "
                + "; ".join(shape_errors)
            )
        with torch.no_grad():
            for k, t in own.items():
                if k in state_dict:
                    t.copy_(state_dict[k])
        return IncompatibleKeys(missing, unexpected)

    # --- iteration, as torch.nn.Module yields it
    # ---------------------------------------------------
    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[Tuple[str, torch.Tensor]]:
        for name, p in self.cpp_module.named_parameters(recurse).items():
            yield prefix + ("." if prefix else "") + name, p

    def parameters(self, recurse: bool = True) -> Iterator[torch.Tensor]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[Tuple[str, torch.Tensor]]:
        for name, b in self.cpp_module.named_buffers(recurse).items():
            yield prefix + ("." if prefix else "") + name, b

    def buffers(self, recurse: bool = True) -> Iterator[torch.Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self) -> Iterator[Tuple[str, nn.Module]]:
        for name, child in self.cpp_module.named_children().items():
            yield name, _wrap(child)

    def children(self) -> Iterator[nn.Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(prefix=prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator[nn.Module]:
        for _, m in self.named_modules():
            yield m

    def __getattr__(self, name: str):
        children = self.__dict__.get("_modules")
        if children is not None and name in children:
            return _wrap(children[name])
        return super().__getattr__(name)

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, (nn.Module, torch.Tensor)) and name != "cpp_module":
            raise ConfigError(
                f"cannot set {type(self).__name__}.{name}: greymatter's layers live in C++ and "
                "cannot be replaced "
                "from Python. Build the model with the options you need (num_classes=, "
                "size_inner=, ...), change "
                "weights in place (with torch.no_grad(): layer.weight.copy_(w)) or "
                "load_state_dict, or write the "
                "model in PyTorch."
            )
        super().__setattr__(name, value)

    # --- mode, device, dtype: return self as torch.nn.Module's do
    # ----------------------------------
    def train(self, mode: bool = True):
        self.cpp_module.train(bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def to(self, *args, **kwargs):
        device, dtype, non_blocking, _ = torch._C._nn._parse_to(*args, **kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}"
            )

        # As torch.nn.Module.to: integer buffers (num_batches_tracked) keep their dtype.
        def convert(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, dtype if t.is_floating_point() else None, non_blocking)

        return self._apply(convert)

    def cuda(self, device=None):
        return self.to(
            torch.device("cuda")
            if device is None
            else torch.device("cuda", device)
            if isinstance(device, int)
            else device
        )

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(torch.float32)

    def double(self):
        return self.to(torch.float64)

    def half(self):
        return self.to(torch.float16)

    def zero_grad(self, set_to_none: bool = False) -> None:
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def __repr__(self) -> str:
        return _core._pytorch_repr(self.cpp_module)

    def num_parameters(self, trainable_only: bool = False) -> int:
        return num_parameters(self, trainable_only)


class _CppChild(_CppModuleMixin, ModuleWrapper):
    """A layer inside a greymatter model (``model.conv1``, ``model.features``): shares the C++
    tensors."""

    def __init__(self, cpp_module) -> None:
        super().__init__(cpp_module)
        self._finish_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _core._forward_module(self.cpp_module, x)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            # PyTorch's layer attributes: conv.out_channels, linear.in_features, bn.eps, ...
            attributes = (
                _core._layer_attributes(self.__dict__["cpp_module"])
                if "cpp_module" in self.__dict__
                else {}
            )
            if name not in attributes:
                raise
            value = attributes[name]
            return tuple(value) if isinstance(value, list) else value


class _CppSequential(_CppChild):
    """A C++ Sequential (children named 0, 1, ...): indexable, sliceable and iterable like
    nn.Sequential."""

    def __getitem__(self, index) -> nn.Module:
        names = list(self.cpp_module.named_children().keys())
        if isinstance(
            index, slice
        ):  # model.features[:7]: a PyTorch Sequential of views, for activations
            return nn.Sequential(OrderedDict((n, getattr(self, n)) for n in names[index]))
        if not isinstance(index, int):
            raise TypeError(
                f"{type(self).__name__} indices must be integers, got {type(index).__name__}"
            )
        if not -len(names) <= index < len(names):
            raise IndexError(
                f"index {index} is out of range for a Sequential of {len(names)} modules"
            )
        return getattr(self, names[index])

    def __len__(self) -> int:
        return len(self.cpp_module.named_children())

    def __iter__(self):
        return self.children()


def _wrap(cpp_child) -> nn.Module:
    names = list(cpp_child.named_children().keys())
    sequential = bool(names) and all(n.isdigit() for n in names)
    return (_CppSequential if sequential else _CppChild)(cpp_child)


def num_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (values, not tensors) of any ``nn.Module``.

    Args:
        model: the module.
        trainable_only: count only parameters that require grad.

    Returns:
        The count.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class _CppModel(_CppModuleMixin):
    """Base of the greymatter model classes (mixed in before the class torch::python::bind_module
    makes). ``config`` holds the constructor arguments, so checkpoints can rebuild the model."""

    config: Dict = {}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # builds the C++ module
        self._finish_init()

    def _extra_state(self) -> Dict:
        return {}

    def _set_extra_state(self, state: Dict) -> None:
        pass

    def __reduce_ex__(self, protocol):
        # copy.deepcopy(model) and torch.save(model) rebuild from config + tensors: the C++ module
        # itself cannot be pickled.
        state = {k: v.clone() for k, v in self.state_dict().items()}
        grads = {k: p.requires_grad for k, p in self.named_parameters()}
        return _rebuild, (dict(self.config), state, self.training, grads, self._extra_state())


def _rebuild(config, state, training, requires_grad, extra):
    model = from_config(config)
    if state:
        model.to(next(iter(state.values())).device)
    model.load_state_dict(state)
    model._set_extra_state(extra)
    for name, p in model.named_parameters():
        p.requires_grad_(requires_grad.get(name, p.requires_grad))
    return model.train(training)

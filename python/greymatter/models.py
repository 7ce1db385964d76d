"""Models: torch::nn modules written in C++, usable from Python as ordinary torch.nn.Modules.

``parameters()`` are the C++ tensors themselves, so a plain loop with torch.optim trains them;
``state_dict()`` / ``load_state_dict()`` use PyTorch's key names (``fc1.weight``,
``features.0.1.running_mean``, ...), so ``torch.save(model.state_dict(), "model.pth")`` files and
torchvision weights move between greymatter and PyTorch. ``print(model)`` reads as PyTorch's printout.
Sub-modules (``model.conv1``, ``model.features[0]``) are views of the C++ layers: their weights can be
read, changed in place and saved, and they can be called, but not replaced from Python.

Not here: the layers themselves (cpp/src/models) or training (trainer.py).
"""
import contextvars
import numbers
import os
import sys
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn.cpp import ModuleWrapper

from . import _core
from ._core import ConfigError, DataError

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


class IncompatibleKeys(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]


class _CppModuleMixin:
    """PyTorch's Module behaviour over a torch.nn.cpp.ModuleWrapper: the state_dict, printout, module
    iteration and to() that ModuleWrapper's copies of the C++ methods do not give."""

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
        # nn.Module.__init__ sets training = True: on a view of an existing C++ layer (model.base_model)
        # that would switch it and everything under it to train mode, so wait until init is done.
        if self.__dict__.get("_cpp_ready"):
            self.cpp_module.train(bool(mode))

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        out = OrderedDict() if destination is None else destination
        for name, t in _core._state_tensors(self.cpp_module):
            out[prefix + name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copies tensors into this model by PyTorch key name. strict=False loads the keys both sides
        have and reports the rest; a shape mismatch is always an error."""
        own = OrderedDict(_core._state_tensors(self.cpp_module))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            hint = ""
            if unexpected and all(k.startswith("module.") for k in unexpected):
                hint = " (the file was saved from nn.DataParallel: strip the 'module.' prefix from its keys)"
            raise ConfigError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys "
                              f"{unexpected}{hint}")
        shape_errors = [f"{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(t.shape)}"
                        for k, t in own.items() if k in state_dict and state_dict[k].shape != t.shape]
        if shape_errors:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: shape mismatch for " + "; ".join(shape_errors))
        with torch.no_grad():
            for k, t in own.items():
                if k in state_dict:
                    t.copy_(state_dict[k])
        return IncompatibleKeys(missing, unexpected)

    # --- iteration, as torch.nn.Module yields it ---------------------------------------------------
    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[Tuple[str, torch.Tensor]]:
        for name, p in self.cpp_module.named_parameters(recurse).items():
            yield prefix + ("." if prefix else "") + name, p

    def parameters(self, recurse: bool = True) -> Iterator[torch.Tensor]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, torch.Tensor]]:
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
                f"cannot set {type(self).__name__}.{name}: greymatter's layers live in C++ and cannot be replaced "
                "from Python. Build the model with the options you need (num_classes=, size_inner=, ...), change "
                "weights in place (with torch.no_grad(): layer.weight.copy_(w)) or load_state_dict, or write the "
                "model in PyTorch.")
        super().__setattr__(name, value)

    # --- mode, device, dtype: return self as torch.nn.Module's do ----------------------------------
    def train(self, mode: bool = True):
        self.cpp_module.train(bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def to(self, *args, **kwargs):
        device, dtype, non_blocking, _ = torch._C._nn._parse_to(*args, **kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")

        # As torch.nn.Module.to: integer buffers (num_batches_tracked) keep their dtype.
        def convert(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, dtype if t.is_floating_point() else None, non_blocking)

        return self._apply(convert)

    def cuda(self, device=None):
        return self.to(torch.device("cuda") if device is None else torch.device("cuda", device)
                       if isinstance(device, int) else device)

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
    """A layer inside a greymatter model (``model.conv1``, ``model.features``): shares the C++ tensors."""

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
            attributes = _core._layer_attributes(self.__dict__["cpp_module"]) if "cpp_module" in self.__dict__ else {}
            if name not in attributes:
                raise
            value = attributes[name]
            return tuple(value) if isinstance(value, list) else value


class _CppSequential(_CppChild):
    """A C++ Sequential (children named 0, 1, ...): indexable, sliceable and iterable like nn.Sequential."""

    def __getitem__(self, index) -> nn.Module:
        names = list(self.cpp_module.named_children().keys())
        if isinstance(index, slice):  # model.features[:7]: a PyTorch Sequential of views, for activations
            return nn.Sequential(OrderedDict((n, getattr(self, n)) for n in names[index]))
        if not isinstance(index, int):
            raise TypeError(f"{type(self).__name__} indices must be integers, got {type(index).__name__}")
        if not -len(names) <= index < len(names):
            raise IndexError(f"index {index} is out of range for a Sequential of {len(names)} modules")
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


class MNISTNet(_CppModel, _core.MNISTNet):
    """The tutorials' MLP: flatten -> [Linear -> ReLU (-> Dropout)] per hidden size -> Linear.
    Layers fc1, fc2, fc3 (for two hidden sizes)."""

    def __init__(self, hidden: Sequence[int] = (128, 64), num_classes: int = 10, dropout: float = 0.0,
                 in_features: int = 784) -> None:
        super().__init__(hidden=list(hidden), num_classes=num_classes, dropout=dropout, in_features=in_features)
        self.config = {"name": "MNISTNet", "hidden": list(hidden), "num_classes": num_classes, "dropout": dropout,
                       "in_features": in_features}


class SimpleCNN(_CppModel, _core.SimpleCNN):
    """The cheat sheet's CNN: conv1 (channels 3x3, padding 1) -> ReLU -> MaxPool(2) -> fc1.
    Input (B, in_channels, image_size, image_size)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, channels: int = 8) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, image_size=image_size, channels=channels)
        self.config = {"name": "SimpleCNN", "in_channels": in_channels, "num_classes": num_classes,
                       "image_size": image_size, "channels": channels}


class MNISTCNN(_CppModel, _core.MNISTCNN):
    """The MNIST challenge's CNN: per entry of `channels`, conv{i} (3x3, padding 1) (-> bn{i}) -> ReLU ->
    MaxPool(2); then fc1 (hidden) -> ReLU (-> dropout) -> fc2."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, channels: Sequence[int] = (32, 64),
                 batch_norm: bool = False, hidden: int = 128, dropout: float = 0.0, image_size: int = 28) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, channels=list(channels),
                         batch_norm=batch_norm, hidden=hidden, dropout=dropout, image_size=image_size)
        self.config = {"name": "MNISTCNN", "in_channels": in_channels, "num_classes": num_classes,
                       "channels": list(channels), "batch_norm": batch_norm, "hidden": hidden, "dropout": dropout,
                       "image_size": image_size}


class ExamModel(_CppModel, _core.ExamModel):
    """The exam's binary CNN: conv1 (channels, 3x3, no padding) -> ReLU -> MaxPool(2) -> fc1 (hidden) -> ReLU ->
    fc2 (1) -> sigmoid. Returns probabilities (B, 1) for BCELoss; sigmoid=False returns the logit instead
    (for BCEWithLogitsLoss)."""

    def __init__(self, in_channels: int = 3, image_size: int = 200, channels: int = 32, hidden: int = 64,
                 sigmoid: bool = True) -> None:
        super().__init__(in_channels=in_channels, image_size=image_size, channels=channels, hidden=hidden,
                         sigmoid=sigmoid)
        self.config = {"name": "ExamModel", "in_channels": in_channels, "image_size": image_size,
                       "channels": channels, "hidden": hidden, "sigmoid": sigmoid}


class BrainTumorCNN(_CppModel, _core.BrainTumorCNN):
    """The brain-tumour tutorial's CNN: five blocks conv{i} (3x3, padding 1) -> bn{i} -> ReLU -> MaxPool(2),
    then fc1 (flatten -> hidden) -> ReLU -> dropout -> fc2. image_size: any multiple of 32."""

    def __init__(self, in_channels: int = 3, num_classes: int = 4, image_size: int = 128,
                 channels: Sequence[int] = (32, 64, 128, 256, 512), dropout: float = 0.5, hidden: int = 256) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, image_size=image_size,
                         channels=list(channels), hidden=hidden, dropout=dropout)
        self.config = {"name": "BrainTumorCNN", "in_channels": in_channels, "num_classes": num_classes,
                       "image_size": image_size, "channels": list(channels), "dropout": dropout, "hidden": hidden}


class MobileNetV2(_CppModel, _core.MobileNetV2):
    """torchvision's MobileNetV2: same layers, key names, printout and init. Use mobilenet_v2() to load weights."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__(num_classes=num_classes, width_mult=width_mult, dropout=dropout)
        self.config = {"name": "mobilenet_v2", "num_classes": num_classes, "width_mult": width_mult,
                       "dropout": dropout}


class TransferClassifier(_CppModel, _core.TransferClassifier):
    """The transfer-learning tutorials' model (ClothingClassifierMobileNet): base_model (MobileNetV2 without its
    classifier) -> pooled features (B, 1280) -> [inner Linear(1280, size_inner) -> relu] -> [dropout] ->
    output_layer. With freeze=True the backbone does not train: its parameters do not require grad and it stays
    in eval mode (pretrained BatchNorm statistics) even in model.train(). weights: None, "IMAGENET1K_V1",
    "IMAGENET1K_V2"/"DEFAULT" or a .pth path, loaded into base_model (see mobilenet_v2)."""

    def __init__(self, backbone: str = "mobilenet_v2", num_classes: int = 10, size_inner: Optional[int] = None,
                 dropout: float = 0.0, freeze: bool = True, weights=None) -> None:
        if size_inner is not None:
            if not isinstance(size_inner, numbers.Integral) or isinstance(size_inner, bool) or size_inner < 1:
                raise ConfigError(f"TransferClassifier: size_inner must be a positive int or None, got {size_inner!r}")
            size_inner = int(size_inner)  # numpy integers from a sweep grid
        super().__init__(backbone=backbone, num_classes=num_classes, size_inner=size_inner or 0, dropout=dropout,
                         freeze=freeze)
        if weights is not None:
            _load_backbone(self.base_model, *_read_weights(weights))
        elif freeze and not _REBUILDING.get():
            file = _WEIGHT_FILES["IMAGENET1K_V1"].rsplit("/", 1)[-1]
            warnings.warn(_RANDOM_FROZEN_BACKBONE.format(file=file, folder=checkpoint_dir()), UserWarning,
                          stacklevel=_user_stacklevel())
        self.config = {"name": "TransferClassifier", "backbone": backbone, "num_classes": num_classes,
                       "size_inner": size_inner, "dropout": dropout, "freeze": freeze}

    @property
    def frozen(self) -> bool:
        return self.cpp_module._frozen

    def freeze(self) -> "TransferClassifier":
        """Backbone parameters stop requiring grad; the backbone runs in eval mode without autograd."""
        self.cpp_module.freeze()
        return self

    def unfreeze(self) -> "TransferClassifier":
        """The whole model trains (fine-tuning); the backbone follows train()/eval() again."""
        self.cpp_module.unfreeze()
        return self

    def _extra_state(self) -> Dict:
        return {"frozen": self.frozen}

    def _set_extra_state(self, state: Dict) -> None:
        if state.get("frozen", self.frozen) != self.frozen:
            self.freeze() if state["frozen"] else self.unfreeze()


_RANDOM_FROZEN_BACKBONE = (
    "TransferClassifier(weights=None, freeze=True): the frozen MobileNetV2 backbone keeps its random initial "
    "weights, so only the head trains, on features that barely depend on the image: it learns almost nothing. "
    "Pass pretrained weights: weights='path/to/mobilenet_v2.pth' (a MobileNetV2 state_dict on disk) or "
    "weights='IMAGENET1K_V1' (torchvision's {file} in {folder}/; never downloaded), "
    "or freeze=False to train the whole network from scratch.")

# Set while from_config rebuilds a saved model (checkpoint, deepcopy, pickle): its weights are loaded right
# after, so a TransferClassifier built without weights= is not a mistake there. A ContextVar, not
# warnings.catch_warnings, because sweeps build models on several threads at once.
_REBUILDING = contextvars.ContextVar("greymatter_models_rebuilding", default=False)


def _user_stacklevel() -> int:
    """warnings.warn's stacklevel, called from the function that warns, pointing at the first frame outside
    greymatter: the user's TransferClassifier(...) line, also when it went through get_model or gm.sweep."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level if frame is not None else 2


# --- pretrained weights ------------------------------------------------------------------------------
_WEIGHT_FILES = {
    "IMAGENET1K_V1": "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
    "IMAGENET1K_V2": "https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth",
}
_WEIGHT_FILES["DEFAULT"] = _WEIGHT_FILES["IMAGENET1K_V2"]  # as torchvision's MobileNet_V2_Weights.DEFAULT


def checkpoint_dir() -> Path:
    """Where torch hub keeps downloaded weights ($TORCH_HOME/hub/checkpoints); greymatter reads them there."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _read_weights(weights) -> Tuple[Dict[str, torch.Tensor], str]:
    """A state_dict and a description of where it came from, for weights given as a torchvision weights
    name ("IMAGENET1K_V1"), a torchvision weights enum, or a file path. Never downloads."""
    url = getattr(weights, "url", None)  # torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    if url is None and isinstance(weights, str) and weights.upper() in _WEIGHT_FILES:
        url = _WEIGHT_FILES[weights.upper()]
    if url is not None:
        path = checkpoint_dir() / url.rsplit("/", 1)[-1]
        if not path.is_file():
            raise DataError(
                f"MobileNetV2 weights {getattr(weights, 'name', weights)} not found at {path}. greymatter never "
                f"downloads: copy {path.name} (from {url}) into {path.parent}/ (set TORCH_HOME to use another "
                "folder), or pass weights='path/to/file.pth'.")
    elif isinstance(weights, (str, os.PathLike)):
        path = Path(weights)
        if not path.is_file():
            raise DataError(f"weights file not found: {path} (weights takes None, 'IMAGENET1K_V1', 'IMAGENET1K_V2', "
                            "'DEFAULT' or the path of a .pth state_dict)")
    else:
        raise ConfigError(f"weights must be None, 'IMAGENET1K_V1', 'IMAGENET1K_V2', 'DEFAULT' or a path, "
                          f"got {weights!r}")
    try:
        loaded = torch.load(path, map_location="cpu")
    except Exception as e:  # torch.load raises many types for a damaged file
        raise DataError(f"cannot read weights from {path}: {e}") from e
    if isinstance(loaded, nn.Module):
        loaded = loaded.state_dict()
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise DataError(f"{path} does not hold a state_dict (a dict of tensors)")
    return loaded, str(path)


def _load_backbone(model: nn.Module, state: Dict[str, torch.Tensor], source: str) -> None:
    """Loads the features.* tensors of a MobileNetV2 state_dict (torchvision's, or a TransferClassifier's
    base_model.*) into `model`, a MobileNetV2 or base_model; every features key must match."""
    state = {k[len("base_model."):] if k.startswith("base_model.") else k: v for k, v in state.items()}
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    own = [k for k in model.state_dict() if k.startswith("features.")]
    missing = [k for k in own if k not in features]
    unexpected = [k for k in features if k not in own]
    if missing or unexpected or not features:
        raise ConfigError(f"{source} is not a MobileNetV2 state_dict for this model: missing keys {missing[:5]}"
                          f"{' ...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
                          f"{' ...' if len(unexpected) > 5 else ''}")
    model.load_state_dict(features, strict=False)


def mobilenet_v2(weights=None, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> MobileNetV2:
    """torchvision.models.mobilenet_v2 in C++. weights: None (torchvision's random init), "IMAGENET1K_V1",
    "IMAGENET1K_V2" / "DEFAULT" (read from torch hub's checkpoint folder, never downloaded), a torchvision weights
    enum, or the path of a .pth state_dict. The classifier is loaded too when its shape fits num_classes;
    otherwise (e.g. num_classes=10 with ImageNet weights) only the features are loaded and the classifier
    starts fresh, as in the usual fine-tuning recipe."""
    model = MobileNetV2(num_classes=num_classes, width_mult=width_mult, dropout=dropout)
    if weights is not None:
        state, source = _read_weights(weights)
        _load_backbone(model, state, source)
        own = model.state_dict()
        head = {k: v for k, v in state.items() if k.startswith("classifier.")}
        if head and all(k in own and own[k].shape == v.shape for k, v in head.items()):
            model.load_state_dict(head, strict=False)
    return model


# --- registry: names the CLI and checkpoints use -------------------------------------------------------
_REGISTRY = {
    "mnistnet": MNISTNet,
    "simplecnn": SimpleCNN,
    "mnistcnn": MNISTCNN,
    "exammodel": ExamModel,
    "examnet": ExamModel,
    "braintumorcnn": BrainTumorCNN,
    "mobilenet_v2": mobilenet_v2,
    "mobilenetv2": mobilenet_v2,
    "transfer": TransferClassifier,
    "transferclassifier": TransferClassifier,
}

MODEL_NAMES = ("mnistnet", "simplecnn", "mnistcnn", "exammodel", "braintumorcnn", "mobilenet_v2", "transfer")


def get_model(name: str, **kwargs) -> nn.Module:
    """A model by its lower-case name (see MODEL_NAMES), built with kwargs:
    get_model("braintumorcnn", num_classes=4)."""
    try:
        factory = _REGISTRY[str(name).lower()]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}") from None
    try:
        return factory(**kwargs)
    except TypeError as e:  # an argument the model does not take
        raise ConfigError(f"{name}: {e}") from None


def from_config(config: Dict) -> nn.Module:
    """Rebuilds a model from its `config` dict (as saved in checkpoint metadata); weights come separately."""
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(f"a model config is a dict with a 'name' key, got {config!r}")
    kwargs = {k: v for k, v in config.items() if k != "name"}
    token = _REBUILDING.set(True)
    try:
        return get_model(config["name"], **kwargs)
    finally:
        _REBUILDING.reset(token)

"""The model classes: the tutorials' networks (MNISTNet, SimpleCNN, MNISTCNN, ExamModel,
BrainTumorCNN), torchvision's MobileNetV2 with its mobilenet_v2() factory, and the transfer-learning
TransferClassifier.

Each class is a C++ model (its layers are in cpp/src/models) with PyTorch's constructor signature
and a ``config`` dict of its arguments, from which checkpoints rebuild it. Not here: what makes them
torch.nn.Modules (_cpp_modules.py), reading weights files (weights.py) or building a model by name
(registry.py). """
import numbers
import os
import sys
import warnings
from typing import Dict, Optional, Sequence

from .. import _core
from .._core import ConfigError
from ._cpp_modules import _CppModel
from .registry import REBUILDING, register_model
from .weights import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    _WEIGHT_FILES,
    _load_backbone,
    _read_weights,
    checkpoint_dir,
)


@register_model("mnistnet", input_size=28, channels=1, idx=True)
class MNISTNet(_CppModel, _core.MNISTNet):
    """The tutorials' MLP: flatten -> [Linear -> ReLU (-> Dropout)] per hidden size -> Linear.
    Layers fc1, fc2, fc3 (for two hidden sizes). ``size_inner`` (the sweeps' name for an inner
    layer's width) replaces ``hidden`` by one hidden layer of that size."""

    def __init__(
        self,
        hidden: Sequence[int] = (128, 64),
        num_classes: int = 10,
        dropout: float = 0.0,
        in_features: int = 784,
        size_inner: Optional[int] = None,
    ) -> None:
        if size_inner is not None:
            hidden = (_positive_int(size_inner, "MNISTNet: size_inner"),)
        hidden = [int(h) for h in hidden]
        super().__init__(
            hidden=hidden, num_classes=num_classes, dropout=dropout, in_features=in_features
        )
        self.config = {
            "name": "MNISTNet",
            "hidden": hidden,
            "num_classes": num_classes,
            "dropout": dropout,
            "in_features": in_features,
        }


@register_model("simplecnn", input_size=28, channels=1, idx=True)
class SimpleCNN(_CppModel, _core.SimpleCNN):
    """The cheat sheet's CNN: conv1 (channels 3x3, padding 1) -> ReLU -> MaxPool(2) -> fc1.
    Input (B, in_channels, image_size, image_size)."""

    def __init__(
        self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, channels: int = 8
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            image_size=image_size,
            channels=channels,
        )
        self.config = {
            "name": "SimpleCNN",
            "in_channels": in_channels,
            "num_classes": num_classes,
            "image_size": image_size,
            "channels": channels,
        }


@register_model("mnistcnn", input_size=28, channels=1, idx=True)
class MNISTCNN(_CppModel, _core.MNISTCNN):
    """The MNIST challenge's CNN: per entry of `channels`, conv{i} (3x3, padding 1) (-> bn{i}) ->
    ReLU -> MaxPool(2); then fc1 (hidden) -> ReLU (-> dropout) -> fc2."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: Sequence[int] = (32, 64),
        batch_norm: bool = False,
        hidden: int = 128,
        dropout: float = 0.0,
        image_size: int = 28,
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            channels=list(channels),
            batch_norm=batch_norm,
            hidden=hidden,
            dropout=dropout,
            image_size=image_size,
        )
        self.config = {
            "name": "MNISTCNN",
            "in_channels": in_channels,
            "num_classes": num_classes,
            "channels": list(channels),
            "batch_norm": batch_norm,
            "hidden": hidden,
            "dropout": dropout,
            "image_size": image_size,
        }


@register_model("exammodel", input_size=200, loss="bce", aliases=("examnet",))
class ExamModel(_CppModel, _core.ExamModel):
    """The exam's binary CNN: conv1 (channels, 3x3, no padding) -> ReLU -> MaxPool(2) -> fc1
    (hidden) -> ReLU -> fc2 (1) -> sigmoid. Returns probabilities (B, 1) for BCELoss; sigmoid=False
    returns the logit instead (for BCEWithLogitsLoss)."""

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 200,
        channels: int = 32,
        hidden: int = 64,
        sigmoid: bool = True,
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            image_size=image_size,
            channels=channels,
            hidden=hidden,
            sigmoid=sigmoid,
        )
        self.config = {
            "name": "ExamModel",
            "in_channels": in_channels,
            "image_size": image_size,
            "channels": channels,
            "hidden": hidden,
            "sigmoid": sigmoid,
        }


@register_model("braintumorcnn", input_size=128)
class BrainTumorCNN(_CppModel, _core.BrainTumorCNN):
    """The brain-tumour tutorial's CNN: five blocks conv{i} (3x3, padding 1) -> bn{i} -> ReLU ->
    MaxPool(2), then fc1 (flatten -> hidden) -> ReLU -> dropout -> fc2. image_size: any multiple of
    32."""

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 4,
        image_size: int = 128,
        channels: Sequence[int] = (32, 64, 128, 256, 512),
        dropout: float = 0.5,
        hidden: int = 256,
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            image_size=image_size,
            channels=list(channels),
            hidden=hidden,
            dropout=dropout,
        )
        self.config = {
            "name": "BrainTumorCNN",
            "in_channels": in_channels,
            "num_classes": num_classes,
            "image_size": image_size,
            "channels": list(channels),
            "dropout": dropout,
            "hidden": hidden,
        }


class MobileNetV2(_CppModel, _core.MobileNetV2):
    """torchvision's MobileNetV2: same layers, key names, printout and init. Use mobilenet_v2() to
    load weights."""

    def __init__(
        self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2
    ) -> None:
        super().__init__(num_classes=num_classes, width_mult=width_mult, dropout=dropout)
        self.config = {
            "name": "mobilenet_v2",
            "num_classes": num_classes,
            "width_mult": width_mult,
            "dropout": dropout,
        }


@register_model(
    "transfer",
    input_size=224,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    weights="IMAGENET1K_V1",
    aliases=("transferclassifier",),
)
class TransferClassifier(_CppModel, _core.TransferClassifier):
    """The transfer-learning tutorials' model (ClothingClassifierMobileNet): base_model (MobileNetV2
    without its classifier) -> pooled features (B, 1280) -> [inner Linear(1280, size_inner) -> relu]
    -> [dropout] -> output_layer. With freeze=True the backbone does not train: its parameters do
    not require grad and it stays in eval mode (pretrained BatchNorm statistics) even in
    model.train(). weights: None, "IMAGENET1K_V1", "IMAGENET1K_V2"/"DEFAULT" or a .pth path, loaded
    into base_model (see mobilenet_v2)."""

    def __init__(
        self,
        backbone: str = "mobilenet_v2",
        num_classes: int = 10,
        size_inner: Optional[int] = None,
        dropout: float = 0.0,
        freeze: bool = True,
        weights=None,
    ) -> None:
        if size_inner is not None:
            size_inner = _positive_int(size_inner, "TransferClassifier: size_inner")
        super().__init__(
            backbone=backbone,
            num_classes=num_classes,
            size_inner=size_inner or 0,
            dropout=dropout,
            freeze=freeze,
        )
        if weights is not None:
            _load_backbone(self.base_model, *_read_weights(weights))
        elif freeze and not REBUILDING.get():
            file = _WEIGHT_FILES["IMAGENET1K_V1"].rsplit("/", 1)[-1]
            warnings.warn(
                _RANDOM_FROZEN_BACKBONE.format(file=file, folder=checkpoint_dir()),
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
        self.config = {
            "name": "TransferClassifier",
            "backbone": backbone,
            "num_classes": num_classes,
            "size_inner": size_inner,
            "dropout": dropout,
            "freeze": freeze,
        }

    @property
    def frozen(self) -> bool:
        return self.cpp_module._frozen

    def freeze(self) -> "TransferClassifier":
        """Backbone parameters stop requiring grad; the backbone runs in eval mode without
        autograd."""
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
    "TransferClassifier(weights=None, freeze=True): the frozen MobileNetV2 backbone keeps its "
    "random initial "
    "weights, so only the head trains, on features that barely depend on the image: it learns "
    "almost nothing. "
    "Pass pretrained weights: weights='path/to/mobilenet_v2.pth' (a MobileNetV2 state_dict on "
    "disk) or "
    "weights='IMAGENET1K_V1' (torchvision's {file} in {folder}/; never downloaded), "
    "or freeze=False to train the whole network from scratch."
)


def _positive_int(value, what: str) -> int:
    """`value` as an int (numpy integers from a sweep grid too), or a ConfigError naming `what`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{what} must be a positive int or None, got {value!r}")
    return int(value)


def _user_stacklevel() -> int:
    """warnings.warn's stacklevel, called from the function that warns, pointing at the first frame
    outside
    greymatter: the user's TransferClassifier(...) line, also when it went through get_model or
    gm.sweep."""
    # The greymatter folder, this one's parent: frames of gm.sweep, the CLI or get_model are
    # greymatter's too.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level if frame is not None else 2


@register_model(
    "mobilenet_v2",
    input_size=224,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    weights="IMAGENET1K_V1",
    aliases=("mobilenetv2",),
)
def mobilenet_v2(
    weights=None, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2
) -> MobileNetV2:
    """torchvision.models.mobilenet_v2 in C++. weights: None (torchvision's random init),
    "IMAGENET1K_V1", "IMAGENET1K_V2" / "DEFAULT" (read from torch hub's checkpoint folder, never
    downloaded), a torchvision weights enum, or the path of a .pth state_dict. The classifier is
    loaded too when its shape fits num_classes; otherwise (e.g. num_classes=10 with ImageNet
    weights) only the features are loaded and the classifier starts fresh, as in the usual
    fine-tuning recipe."""
    model = MobileNetV2(num_classes=num_classes, width_mult=width_mult, dropout=dropout)
    if weights is not None:
        state, source = _read_weights(weights)
        _load_backbone(model, state, source)
        own = model.state_dict()
        head = {k: v for k, v in state.items() if k.startswith("classifier.")}
        if head and all(k in own and own[k].shape == v.shape for k, v in head.items()):
            model.load_state_dict(head, strict=False)
    return model

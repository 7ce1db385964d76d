"""The model classes: the tutorials' networks (MNISTNet, SimpleCNN, MNISTCNN, ExamModel,
BrainTumorCNN), torchvision's MobileNetV2 with its mobilenet_v2() factory, and the transfer-learning
TransferClassifier.

Each class is a C++ model (its layers are in cpp/src/models) with PyTorch's constructor signature
and a ``config`` dict of its arguments, from which checkpoints rebuild it. Not here: what makes them
torch.nn.Modules (_cpp_modules.py), reading weights files (weights.py) or building a model by name
(registry.py).

Defaults are written once, in the C++ options structs (cpp/include/greymatter/models/): each class
takes its signature's defaults from a default-constructed ``_core.<Model>Options`` and always passes
every field to the C++ constructor. """
import numbers
import os
import sys
import warnings
from typing import Dict, Optional, Sequence

from .. import _core
from .._core import ConfigError
from .._enums import enum_member
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


# The C++ defaults, read once for the signatures below.
_MNISTNET = _core.MNISTNetOptions()
_SIMPLECNN = _core.SimpleCNNOptions()
_MNISTCNN = _core.MNISTCNNOptions()
_EXAMMODEL = _core.ExamModelOptions()
_BRAINTUMORCNN = _core.BrainTumorCNNOptions()
_MOBILENETV2 = _core.MobileNetV2Options()
_TRANSFER = _core.TransferClassifierOptions()


@register_model("mnistnet", input_size=28, channels=1, idx=True)
class MNISTNet(_CppModel, _core.MNISTNet):
    """The tutorials' MLP: flatten -> [Linear -> ReLU (-> Dropout)] per hidden size -> Linear.
    Layers fc1, fc2, fc3 (for two hidden sizes).

    Args:
        hidden: the width of each hidden layer.
        num_classes: outputs (logits).
        dropout: dropout after each hidden layer's ReLU; 0: none.
        in_features: values per input sample (784 for 28x28 images).
        size_inner: the sweeps' name for one inner layer's width: replaces ``hidden`` by
            ``(size_inner,)``.

    Raises:
        ConfigError: a size that is not a positive int.
    """

    def __init__(
        self,
        hidden: Sequence[int] = tuple(_MNISTNET.hidden),
        num_classes: int = _MNISTNET.num_classes,
        dropout: float = _MNISTNET.dropout,
        in_features: int = _MNISTNET.in_features,
        size_inner: Optional[int] = None,
    ) -> None:
        if size_inner is not None:
            hidden = (_positive_int(size_inner, "MNISTNet: size_inner"),)
        hidden = [int(h) for h in hidden]
        super().__init__(
            _core.MNISTNetOptions(
                hidden=hidden, num_classes=num_classes, dropout=dropout, in_features=in_features
            )
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

    Args:
        in_channels: channels of the input (B, in_channels, image_size, image_size).
        num_classes: outputs (logits).
        image_size: the side of the square input images.
        channels: conv1's output channels.
    """

    def __init__(
        self,
        in_channels: int = _SIMPLECNN.in_channels,
        num_classes: int = _SIMPLECNN.num_classes,
        image_size: int = _SIMPLECNN.image_size,
        channels: int = _SIMPLECNN.channels,
    ) -> None:
        super().__init__(
            _core.SimpleCNNOptions(
                in_channels=in_channels,
                num_classes=num_classes,
                image_size=image_size,
                channels=channels,
            )
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
    ReLU -> MaxPool(2); then fc1 (hidden) -> ReLU (-> dropout) -> fc2.

    Args:
        in_channels: channels of the input.
        num_classes: outputs (logits).
        channels: output channels of each conv block.
        batch_norm: a BatchNorm2d after each conv.
        hidden: fc1's width.
        dropout: dropout after fc1's ReLU; 0: none.
        image_size: the side of the square input images.
    """

    def __init__(
        self,
        in_channels: int = _MNISTCNN.in_channels,
        num_classes: int = _MNISTCNN.num_classes,
        channels: Sequence[int] = tuple(_MNISTCNN.channels),
        batch_norm: bool = _MNISTCNN.batch_norm,
        hidden: int = _MNISTCNN.hidden,
        dropout: float = _MNISTCNN.dropout,
        image_size: int = _MNISTCNN.image_size,
    ) -> None:
        super().__init__(
            _core.MNISTCNNOptions(
                in_channels=in_channels,
                num_classes=num_classes,
                channels=list(channels),
                batch_norm=batch_norm,
                hidden=hidden,
                dropout=dropout,
                image_size=image_size,
            )
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
    (hidden) -> ReLU -> fc2 (1) -> sigmoid.

    Args:
        in_channels: channels of the input.
        image_size: the side of the square input images.
        channels: conv1's output channels.
        hidden: fc1's width.
        sigmoid: return probabilities (B, 1) for ``loss="bce"``; False returns the logit instead
            (for ``"bce_with_logits"``).
    """

    def __init__(
        self,
        in_channels: int = _EXAMMODEL.in_channels,
        image_size: int = _EXAMMODEL.image_size,
        channels: int = _EXAMMODEL.channels,
        hidden: int = _EXAMMODEL.hidden,
        sigmoid: bool = _EXAMMODEL.sigmoid,
    ) -> None:
        super().__init__(
            _core.ExamModelOptions(
                in_channels=in_channels,
                image_size=image_size,
                channels=channels,
                hidden=hidden,
                sigmoid=sigmoid,
            )
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
    MaxPool(2), then fc1 (flatten -> hidden) -> ReLU -> dropout -> fc2.

    Args:
        in_channels: channels of the input.
        num_classes: outputs (logits).
        image_size: the side of the square input images, a multiple of 32.
        channels: output channels of the five blocks.
        dropout: dropout before fc2.
        hidden: fc1's width.
    """

    def __init__(
        self,
        in_channels: int = _BRAINTUMORCNN.in_channels,
        num_classes: int = _BRAINTUMORCNN.num_classes,
        image_size: int = _BRAINTUMORCNN.image_size,
        channels: Sequence[int] = tuple(_BRAINTUMORCNN.channels),
        dropout: float = _BRAINTUMORCNN.dropout,
        hidden: int = _BRAINTUMORCNN.hidden,
    ) -> None:
        super().__init__(
            _core.BrainTumorCNNOptions(
                in_channels=in_channels,
                num_classes=num_classes,
                image_size=image_size,
                channels=list(channels),
                hidden=hidden,
                dropout=dropout,
            )
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
    load weights.

    Args:
        num_classes: outputs of the classifier.
        width_mult: torchvision's width multiplier of every layer.
        dropout: dropout before the classifier.
    """

    def __init__(
        self,
        num_classes: int = _MOBILENETV2.num_classes,
        width_mult: float = _MOBILENETV2.width_mult,
        dropout: float = _MOBILENETV2.dropout,
    ) -> None:
        super().__init__(
            _core.MobileNetV2Options(
                num_classes=num_classes, width_mult=width_mult, dropout=dropout
            )
        )
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
    model.train().

    Args:
        backbone: ``"mobilenet_v2"`` (the only one).
        num_classes: outputs of output_layer (logits).
        size_inner: the inner layer's width; None: no inner layer.
        dropout: dropout before output_layer; 0: none.
        freeze: the backbone does not train (see above).
        weights: None, ``"IMAGENET1K_V1"``, ``"IMAGENET1K_V2"``/``"DEFAULT"`` or a .pth path,
            loaded into base_model (see mobilenet_v2). None with ``freeze=True`` warns: a frozen
            random backbone gives features no head learns from.

    Raises:
        ConfigError: an unknown backbone or a bad size.
        DataError: a weights file that is missing or does not fit.
    """

    def __init__(
        self,
        backbone: str = _TRANSFER.backbone.name.lower(),
        num_classes: int = _TRANSFER.num_classes,
        size_inner: Optional[int] = None,
        dropout: float = _TRANSFER.dropout,
        freeze: bool = _TRANSFER.freeze,
        weights=None,
    ) -> None:
        if size_inner is not None:
            size_inner = _positive_int(size_inner, "TransferClassifier: size_inner")
        network = enum_member(
            _core.Backbone,
            backbone,
            "TransferClassifier: unknown backbone {value!r}; available: {choices}",
        )
        super().__init__(
            _core.TransferClassifierOptions(
                backbone=network,
                num_classes=num_classes,
                size_inner=size_inner or 0,
                dropout=dropout,
                freeze=freeze,
            )
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
    "random initial weights, so only the head trains, on features that barely depend on the "
    "image: it learns almost nothing. Pass pretrained weights: "
    "weights='path/to/mobilenet_v2.pth' (a MobileNetV2 state_dict on disk) or "
    "weights='IMAGENET1K_V1' (torchvision's {file} in {folder}/; never downloaded), or "
    "freeze=False to train the whole network from scratch."
)


def _positive_int(value, what: str) -> int:
    """`value` as an int (numpy integers from a sweep grid too), or a ConfigError naming `what`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{what} must be a positive int or None, got {value!r}")
    return int(value)


def _user_stacklevel() -> int:
    """warnings.warn's stacklevel, called from the function that warns, pointing at the first frame
    outside greymatter: the user's TransferClassifier(...) line, also when it went through get_model
    or gm.sweep."""
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
    weights=None,
    num_classes: int = _MOBILENETV2.num_classes,
    width_mult: float = _MOBILENETV2.width_mult,
    dropout: float = _MOBILENETV2.dropout,
) -> MobileNetV2:
    """torchvision.models.mobilenet_v2 in C++.

    The classifier is loaded too when its shape fits num_classes; otherwise (e.g. num_classes=10
    with ImageNet weights) only the features are loaded and the classifier starts fresh, as in the
    usual fine-tuning recipe.

    Args:
        weights: None (torchvision's random init), "IMAGENET1K_V1", "IMAGENET1K_V2" / "DEFAULT"
            (read from torch hub's checkpoint folder, never downloaded), a torchvision weights
            enum, or the path of a .pth state_dict.
        num_classes: outputs of the classifier.
        width_mult: torchvision's width multiplier.
        dropout: dropout before the classifier.

    Returns:
        The MobileNetV2.

    Raises:
        DataError: a weights file that is missing (the message says where to put it) or does not
            fit.
    """
    model = MobileNetV2(num_classes=num_classes, width_mult=width_mult, dropout=dropout)
    if weights is not None:
        state, source = _read_weights(weights)
        _load_backbone(model, state, source)
        own = model.state_dict()
        head = {k: v for k, v in state.items() if k.startswith("classifier.")}
        if head and all(k in own and own[k].shape == v.shape for k, v in head.items()):
            model.load_state_dict(head, strict=False)
    return model

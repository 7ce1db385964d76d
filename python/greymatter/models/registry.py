"""Models by name: the lower-case names the CLI, sweeps and checkpoints use (get_model), and rebuilding a model
from the ``config`` dict saved with its weights (from_config). Not here: the models themselves (classifiers.py).
"""
from typing import Dict

from torch import nn

from .._core import ConfigError
from . import classifiers
from .classifiers import BrainTumorCNN, ExamModel, MNISTCNN, MNISTNet, SimpleCNN, TransferClassifier, mobilenet_v2

# Bound by assignment, not imported by name: CPython 3.11 compiles `_REBUILDING.set(...)` differently for an
# imported name, and sweep store keys hash from_config's bytecode (sweep._model_id); this keeps the old key.
_REBUILDING = classifiers._REBUILDING

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

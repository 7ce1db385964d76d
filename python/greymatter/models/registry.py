"""The model table: every model registers itself where it is defined (``@register_model``) with what
its consumers need — the CLI (choices, input size, normalization, IDX data, weights, loss), sweeps
(names and grid keys) and checkpoints (``from_config``). ``get_model`` builds a model by name.

This module imports no model: the model modules import it, so the table fills as they are imported
(``greymatter.models`` imports them all).
"""
import contextvars
import inspect
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

from torch import nn

from .._core import ConfigError

__all__ = ["ModelEntry", "register_model", "model_entry", "model_names", "get_model", "from_config"]


@dataclass(frozen=True)
class ModelEntry:
    """One model's facts, as ``register_model`` records them.

    Args:
        name: the lower-case name: ``--model``, ``gm.sweep("name")``, ``get_model("name")``.
        build: the class or function called with the model's keyword arguments.
        input_size: the side of the square images it is built for by default.
        channels: input channels by default.
        mean: the normalization of its inputs, per channel (one value: all).
        std: likewise.
        idx: takes MNIST-format 1x28x28 images (Fashion-MNIST, IDX folders).
        weights: its default pretrained weights (a torchvision weights name), or None.
        loss: the Trainer loss its output needs (``"bce"`` for a sigmoid output).
        aliases: other names it answers to.
    """

    name: str  # lower-case: --model, gm.sweep("name"), get_model("name")
    build: Callable[..., nn.Module]
    input_size: int  # side of the square images it is built for by default
    channels: int = 3  # input channels by default
    mean: Tuple[float, ...] = (0.5,)  # normalization of its inputs, per channel (one value: all)
    std: Tuple[float, ...] = (0.5,)
    idx: bool = False  # takes MNIST-format 1x28x28 images (Fashion-MNIST, IDX folders)
    weights: Optional[str] = None  # default pretrained weights (a torchvision weights name)
    loss: str = "cross_entropy"  # "bce" for a model whose output is a sigmoid probability
    aliases: Tuple[str, ...] = ()

    def takes(self, parameter: str) -> bool:
        """Whether ``build`` has a keyword parameter of that name."""
        return parameter in inspect.signature(self.build).parameters

    def default(self, parameter: str):
        """The default value of one of ``build``'s parameters."""
        return inspect.signature(self.build).parameters[parameter].default


_TABLE: Dict[str, ModelEntry] = {}  # name and aliases -> entry
_NAMES = []  # registration order, names only

# Set while from_config rebuilds a saved model (checkpoint, deepcopy, pickle): its weights are
# loaded right after, so a TransferClassifier built without weights= is not a mistake there. A
# ContextVar, not warnings.catch_warnings, because sweeps build models on several threads at once.
REBUILDING = contextvars.ContextVar("greymatter_models_rebuilding", default=False)


def register_model(
    name: str,
    *,
    input_size: int,
    channels: int = 3,
    mean: Sequence[float] = (0.5,),
    std: Sequence[float] = (0.5,),
    idx: bool = False,
    weights: Optional[str] = None,
    loss: str = "cross_entropy",
    aliases: Sequence[str] = (),
):
    """Decorator for a model class or factory function: adds it to the table under `name` and
    `aliases`.

    Args:
        name: the lower-case name.
        input_size: the side of the square images it is built for by default.
        channels: input channels by default.
        mean: the normalization of its inputs, per channel.
        std: likewise.
        idx: takes MNIST-format 1x28x28 images.
        weights: its default pretrained weights name, or None.
        loss: the Trainer loss its output needs.
        aliases: other names it answers to.

    Returns:
        The decorator, which returns the class or function unchanged.

    Raises:
        ValueError: a name or alias registered twice.
    """

    def decorate(build):
        entry = ModelEntry(
            name,
            build,
            input_size,
            channels,
            tuple(mean),
            tuple(std),
            idx,
            weights,
            loss,
            tuple(aliases),
        )
        for key in (name, *aliases):
            if key in _TABLE:
                raise ValueError(f"model name {key!r} is registered twice")
            _TABLE[key] = entry
        _NAMES.append(name)
        return build

    return decorate


def model_names() -> Tuple[str, ...]:
    """The registered names, in registration order.

    Returns:
        The names, aliases left out.
    """
    return tuple(_NAMES)


def model_entry(name: str) -> ModelEntry:
    """The table's entry for a name or alias.

    Args:
        name: a registered name or alias, in any case.

    Returns:
        Its ``ModelEntry``.

    Raises:
        ConfigError: an unknown name (the message lists the names).
    """
    try:
        return _TABLE[str(name).lower()]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(_NAMES)}") from None


def entry_of(build) -> Optional[ModelEntry]:
    """The entry whose ``build`` is this class or function, or None."""
    return next((e for e in _TABLE.values() if e.build is build), None)


def get_model(name: str, **kwargs) -> nn.Module:
    """A model by its name, built with keyword arguments: ``get_model("braintumorcnn",
    num_classes=4)``.

    Args:
        name: a name from ``model_names()`` or an alias.
        **kwargs: the model's arguments.

    Returns:
        The model.

    Raises:
        ConfigError: an unknown name or an argument the model does not take.
    """
    entry = model_entry(name)
    try:
        return entry.build(**kwargs)
    except TypeError as e:  # an argument the model does not take
        raise ConfigError(f"{name}: {e}") from None


def from_config(config: Dict) -> nn.Module:
    """Rebuilds a model from its ``.config`` dict (as saved in checkpoint metadata); weights come
    separately.

    Args:
        config: ``{"name": ..., argument: value, ...}``.

    Returns:
        The model, freshly initialized.

    Raises:
        ConfigError: a malformed config, an unknown name or an argument the model does not take.
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(f"a model config is a dict with a 'name' key, got {config!r}")
    kwargs = {k: v for k, v in config.items() if k != "name"}
    token = REBUILDING.set(True)
    try:
        return get_model(config["name"], **kwargs)
    finally:
        REBUILDING.reset(token)

"""Activations of named layers for one forward pass, and through them their gradients:
``capture(model, x, layers=["conv5"])``.

A greymatter model's forward runs in C++, so forward hooks registered on its layers' Python views
are never called; instead its forward hands each layer's output through a named tap, and this call
switches the taps on for one pass (greymatter/models/capture.h). A plain torch.nn.Module gets the
same call through ordinary forward hooks, removed again before it returns. Either way the
activations stay in the autograd graph (with grad enabled), so ``torch.autograd.grad(score,
activation)`` gives their gradients, as Grad-CAM needs; an activation that did not require grad (a
frozen backbone) is made a leaf that does. Not here: Grad-CAM or pictures (greymatter.plots)."""
from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import torch
from torch import nn

from .. import _core
from .._core import ConfigError

__all__ = ["Captured", "capture"]


class Captured(NamedTuple):
    """What ``capture`` returns.

    Args:
        output: the model's output for x.
        activations: layer name -> its output, in forward order.
        layers: every layer name this model can capture (a greymatter model's in forward order, a
            plain module's in named_modules() order).
    """

    output: torch.Tensor  # the model's output for x
    activations: Dict[str, torch.Tensor]  # layer name -> its output, in forward order
    # Every layer name this model can capture: a greymatter model's in forward order, a plain
    # module's in named_modules() order.
    layers: List[str]


def capture(
    model: nn.Module, x: torch.Tensor, layers: Optional[Union[str, Sequence[str]]] = None
) -> Captured:
    """Runs ``model(x)`` and returns its output with the outputs of ``layers``. The model's mode
    (train/eval) is left as it is. A layer that runs twice in one pass keeps its last output.

    Args:
        model: a greymatter model or any torch.nn.Module.
        x: its input batch.
        layers: PyTorch layer names ("conv5", "features.18", "base_model.features.18", "fc1"), one
            name or a list; None: every layer.

    Returns:
        A ``Captured`` (output, activations by layer name, every layer name).

    Raises:
        ConfigError: not a module or tensor, or a name the model does not have (the message lists
            those it has).
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"capture takes a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise ConfigError(f"capture takes an input tensor, got {type(x).__name__}")
    wanted = [layers] if isinstance(layers, str) else list(layers or [])
    if hasattr(model, "cpp_module"):
        output, recorded, names = _core._capture(model.cpp_module, x, wanted)
        return Captured(output, dict(recorded), list(names))
    return _capture_with_hooks(model, x, wanted)


def _capture_with_hooks(model: nn.Module, x: torch.Tensor, wanted: List[str]) -> Captured:
    modules = {name: m for name, m in model.named_modules() if name}
    missing = [name for name in wanted if name not in modules]
    if missing:
        raise ConfigError(
            f"{type(model).__name__} has no layer {missing[0]!r} to capture; its layers: "
            + ", ".join(modules)
        )
    recorded: Dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(module, inputs, output):
            if not isinstance(output, torch.Tensor):
                return None
            if torch.is_grad_enabled() and not output.requires_grad and output.is_floating_point():
                output = output.detach().requires_grad_()
            recorded[name] = output
            # The rest of the forward gets a copy: later in-place layers (ReLU(inplace=True)) must
            # not change what was recorded.
            return output.clone()

        return hook

    handles = [modules[n].register_forward_hook(hook_for(n)) for n in (wanted or modules)]
    try:
        output = model(x)
    finally:
        for h in handles:
            h.remove()
    return Captured(output, recorded, list(modules))

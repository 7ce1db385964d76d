"""What the C++ engine asks of a learner's own ``nn.Module`` that a greymatter model knows of
itself, each found once per sample shape with one zero sample through the module (eval mode, no
autograd):

- ``macs_per_sample``: the multiply-adds of its ``nn.Linear`` and convolution layers, counted with
  forward hooks, so the module gets the same thread budget as a greymatter model with the same
  layers;
- ``takes_channels_last``: whether its forward accepts a channels_last batch (the engine gives conv
  models those on CUDA with amp); one that ``view()``s a convolution's output does not.

The engine calls these through the module adapter in the bindings when an epoch starts.
Not here: what the answers decide (cpp/src/train/thread_budget.cpp, engine.cpp).
"""
import contextlib
from typing import Iterator, List, Sequence

import torch
from torch import nn

__all__ = ["macs_per_sample", "takes_channels_last"]

_COUNTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _layer_macs(layer: nn.Module, output: torch.Tensor) -> int:
    per_sample = output[0].numel()  # the first (batch) dimension is the one sample
    if isinstance(layer, nn.Linear):
        return per_sample * layer.in_features
    kernel = 1
    for k in layer.kernel_size:
        kernel *= k
    return per_sample * (layer.in_channels // layer.groups) * kernel


@contextlib.contextmanager
def _one_sample(module: nn.Module, sample_shape: Sequence[int]) -> Iterator[torch.Tensor]:
    """A zero sample (1, *sample_shape) on the module's device, with the module in eval mode (no
    BatchNorm statistics updated, no dropout) and autograd off; every mode restored after."""
    modes = [(m, m.training) for m in module.modules()]
    first = next(iter(module.parameters()), None)
    sample = torch.zeros(1, *sample_shape, device=first.device if first is not None else "cpu")
    module.eval()
    try:
        with torch.no_grad():
            yield sample
    finally:
        for m, training in modes:
            m.training = training


def macs_per_sample(module: nn.Module, sample_shape: Sequence[int]) -> int:
    """Multiply-adds of ``module``'s Linear and Conv layers for one sample of ``sample_shape``
    (e.g. (1, 28, 28)); -1 when the module cannot run on such a sample (its epoch then says why)."""
    counted: List[int] = []

    def count(layer, inputs, output):
        if isinstance(output, torch.Tensor) and output.dim() >= 1:
            counted.append(_layer_macs(layer, output))

    hooks = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, _COUNTED)]
    try:
        with _one_sample(module, sample_shape) as x:
            module(x)
    except Exception:  # noqa: BLE001 - the epoch's own forward raises it with the real batch
        return -1
    finally:
        for h in hooks:
            h.remove()
    return sum(counted)


def takes_channels_last(module: nn.Module, sample_shape: Sequence[int]) -> bool:
    """True when ``module`` runs on a channels_last (1, C, H, W) sample (3-D sample shapes only)."""
    if len(sample_shape) != 3:
        return False
    try:
        with _one_sample(module, sample_shape) as x:
            module(x.contiguous(memory_format=torch.channels_last))
    except RuntimeError:  # "view size is not compatible with input tensor's size and stride"
        return False
    return True

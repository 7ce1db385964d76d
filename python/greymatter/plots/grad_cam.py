"""Grad-CAM (Selvaraju et al., 2017): where in an image a convolutional layer found the evidence for
a class. The layer's activations A (K maps) and the gradient of the class score with respect to
them give one weight per map (the gradient's spatial mean); the heatmap is ReLU(sum_k w_k A_k),
upsampled bilinearly to the image and scaled to [0, 1]. Drawn as the image beside the heatmap over
it. Runs the model forward and backward once (greymatter.models.capture), for greymatter models and
plain torch.nn.Modules alike."""
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .._core import ConfigError
from ..models.capture import capture
from ._arrays import _class_log_probabilities, _class_name
from ._figures import _figure, _save
from ._images import _image
from ._layers import _conv_layer, _model_device, _one_image


def gradcam(
    model,
    image: torch.Tensor,
    layer: Optional[str] = None,
    target: Optional[int] = None,
    classes: Optional[Sequence[str]] = None,
    mean=None,
    std=None,
    alpha: float = 0.5,
    cmap: str = "jet",
    save: Optional[str] = None,
):
    """Grad-CAM of one transformed image: where in it the evidence for a class lies. The model
    runs in eval mode and is put back in its mode after.

    Args:
        model: a greymatter model or any torch.nn.Module.
        image: one transformed image (C, H, W) or (1, C, H, W).
        layer: a layer name with a 4-D output; None: the last convolution, or for a greymatter
            model the nearest enclosing layer it reports (e.g. "features.18" of MobileNetV2).
        target: the class explained; None: the predicted one (a binary model's single output
            counts as class 1, its negation as class 0).
        classes: the class names for the title.
        mean: the Normalize mean to undo for display.
        std: the Normalize std to undo.
        alpha: the heatmap's opacity over the image.
        cmap: a matplotlib colour map for the heatmap.
        save: a path to write the figure to (PNG), or None.

    Returns:
        A matplotlib Figure (shown inline in Jupyter); ``fig.heatmap`` (H, W) in [0, 1],
        ``fig.target``, ``fig.layer`` and ``fig.probabilities`` hold what is drawn.

    Raises:
        ConfigError: not one image, an unknown layer, a layer without a 4-D output, or a target
            out of range.
    """
    x = _one_image(image, "gradcam")
    heatmap, target, layer, probs = _gradcam_map(model, x, layer, target)
    shown, img_cmap = _image(x[0].detach().cpu(), mean, std)
    fig = _figure(figsize=(7.0, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.imshow(shown, cmap=img_cmap, vmin=0.0, vmax=1.0)
        ax.set_axis_off()
    right.imshow(heatmap, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0)
    left.set_title("image", fontsize=10)
    right.set_title(f"Grad-CAM of {layer}", fontsize=10)
    fig.suptitle(f"class {_class_name(classes, target)} (p={probs[target]:.2f})")
    fig.heatmap, fig.target, fig.layer, fig.probabilities = heatmap, target, layer, probs
    return _save(fig, save)


def _gradcam_map(model, x: torch.Tensor, layer: Optional[str], target: Optional[int]):
    """(heatmap (H, W) numpy in [0, 1], target, layer, class probabilities numpy)."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            cap = capture(model, x.to(_model_device(model)), [layer] if layer else None)
            layer = layer or _conv_layer(model, cap.layers, cap.activations, last=True)
            activation = cap.activations[layer]
            if activation.dim() != 4:
                raise ConfigError(
                    f"gradcam needs a layer with (B, C, H, W) maps; {layer} gives "
                    f"{tuple(activation.shape)}"
                )
            output = cap.output.reshape(1, -1)
            probs = np.exp(_class_log_probabilities(output.detach().float().cpu()))[0]
            target = int(probs.argmax()) if target is None else _check_target(target, len(probs))
            # One output: a binary model's score for class 1; class 0's evidence is its opposite.
            score = output[0, target] if output.size(1) > 1 else output[0, 0] * (2 * target - 1)
            (grad,) = torch.autograd.grad(score, activation)
    finally:
        model.train(was_training)
    weights = grad.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1): one weight per map
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))  # (1, 1, h, w)
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    peak = cam.max()
    cam = cam / peak if peak > 0 else cam
    return cam.detach().cpu().numpy(), target, layer, probs


def _check_target(target, n_classes: int) -> int:
    n = max(n_classes, 2)
    if not isinstance(target, (int, np.integer)) or not 0 <= int(target) < n:
        raise ConfigError(f"target must be a class index in [0, {n}), got {target!r}")
    return int(target)

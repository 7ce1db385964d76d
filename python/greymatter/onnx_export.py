"""``gm.export(model, "model.onnx", input_shape)``: a trained model as an ONNX file that runs
without Python or libtorch, with a metadata JSON beside it (model.json: classes, input size,
channels, normalisation, how the output becomes probabilities).

torch.onnx.export traces the model: a greymatter model's C++ forward calls ATen operators through
the dispatcher, where the tracer records them like any PyTorch model's, so one path serves both.
After writing, the file is checked twice: ``onnx.checker`` (the format) and a run in OpenCV's DNN
module (another runtime) on ``example`` images, whose outputs must match the model's within 1e-4.
Not here: reading checkpoints or run folders (greymatter/cli/export.py does that for the command
line)."""
import io
import json
import warnings
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ._core import ConfigError
from .train.checkpoint import metadata_path

__all__ = ["export", "ExportCheckFailed", "OPSET", "TOLERANCE"]

# OpenCV 4.6's DNN importer reads Clip (ReLU6) only with min/max as attributes, which opset 11 made
# inputs; every built-in model's operators are in opset 10.
OPSET = 10
TOLERANCE = 1e-4  # max |difference| between the ONNX runtime's outputs and the model's
PROBABILITIES = {  # how a loss's output becomes class probabilities
    "cross_entropy": "softmax",
    "bce_with_logits": "sigmoid",
    "bce": "none",
    "mse": "none",
}


class ExportCheckFailed(RuntimeError):
    """The written file is not valid ONNX, or another runtime computes other outputs from it."""


def export(
    model: nn.Module,
    path,
    input_shape: Sequence[int],
    classes: Optional[Sequence[str]] = None,
    mean: Optional[Sequence[float]] = None,
    std: Optional[Sequence[float]] = None,
    loss: Optional[str] = None,
    example: Optional[torch.Tensor] = None,
    check: bool = True,
    opset: int = OPSET,
) -> Dict:
    """Writes ``model`` (eval mode; put back in its mode after) to ``path`` as ONNX with input
    "input" (B, C, H, W) and output "output", the batch dimension left free, and its metadata JSON
    beside it (model.onnx -> model.json).

    Args:
        model: a greymatter model or any torch.nn.Module.
        path: the .onnx file to write.
        input_shape: (C, H, W) or (1, C, H, W) of one input.
        classes: the class names, for the metadata.
        mean: the Normalize mean the model's inputs had, for the metadata.
        std: the Normalize std, likewise.
        loss: how outputs become probabilities; default: "bce" for a sigmoid model,
            "cross_entropy" otherwise.
        example: a (B, C, H, W) batch of transformed images for the check; default: a seeded
            random batch of 2.
        check: the file must pass onnx.checker and give the model's outputs within 1e-4 in
            OpenCV's DNN module on ``example`` (needs Debian's python3-onnx and python3-opencv).
        opset: the ONNX opset (10 runs in OpenCV 4.6).

    Returns:
        The metadata written beside the file.

    Raises:
        ConfigError: not a module, a path without .onnx, an unknown loss or a bad example.
        ExportCheckFailed: the check found an invalid file or other outputs.
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"export takes a torch.nn.Module, got {type(model).__name__}")
    shape = _input_shape(input_shape)
    path = Path(path)
    if path.suffix != ".onnx":
        raise ConfigError(f"export writes an .onnx file, got {str(path)!r}")
    loss = loss or ("bce" if getattr(model, "config", {}).get("sigmoid") else "cross_entropy")
    if loss not in PROBABILITIES:
        raise ConfigError(f"unknown loss {loss!r}; choose one of: {', '.join(PROBABILITIES)}")
    if example is None:
        example = torch.randn((2,) + shape, generator=torch.Generator().manual_seed(0))
    elif not isinstance(example, torch.Tensor) or tuple(example.shape[1:]) != shape:
        got = tuple(example.shape) if isinstance(example, torch.Tensor) else type(example).__name__
        raise ConfigError(f"example must be a (B, {', '.join(map(str, shape))}) batch, got {got}")
    meta = _metadata(model, shape, classes, mean, std, loss, opset)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expected = model(example.to(device)).float().cpu()
            buffer = io.BytesIO()
            with warnings.catch_warnings():
                # The tracer warns about Python values it freezes (shapes read in check_input):
                # the batch size is left free below, and nothing else varies.
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                # A C++ forward has no Python signature for the exporter to read; one input
                # needs none.
                warnings.filterwarnings("ignore", "no signature found for builtin")
                torch.onnx.export(
                    model,
                    torch.zeros((1,) + shape, device=device),
                    buffer,
                    input_names=["input"],
                    output_names=["output"],
                    dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                    opset_version=opset,
                    do_constant_folding=True,
                )
    finally:
        model.train(was_training)
    data = _unshare_initializers(buffer.getvalue())
    if check:
        _check_format(data, path)
        _check_outputs(data, example, expected, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    metadata_path(path).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def _input_shape(input_shape) -> tuple:
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ConfigError(f"input_shape must be (C, H, W), got {input_shape!r}") from None
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(f"input_shape must be (C, H, W) or (1, C, H, W), got {input_shape!r}")
    return shape


def _unshare_initializers(data: bytes) -> bytes:
    """torch.onnx.export stores equal weight tensors once and reads the copies through Identity
    nodes (for example the zero biases that folding untrained BatchNorms into convolutions leaves);
    OpenCV's DNN module cannot run an Identity on a weight, so each copy becomes a weight of its own
    again. Without the onnx package the file is left as it is."""
    try:
        import onnx
    except ImportError:
        return data
    model = onnx.load_model_from_string(data)
    graph = model.graph
    weights = {w.name: w for w in graph.initializer}
    shared = [n for n in graph.node if n.op_type == "Identity" and n.input[0] in weights]
    if not shared:
        return data
    for node in shared:
        copy = onnx.TensorProto()
        copy.CopyFrom(weights[node.input[0]])
        copy.name = node.output[0]
        graph.initializer.append(copy)
        graph.node.remove(node)
    return model.SerializeToString()


def _check_format(data: bytes, path: Path) -> None:
    try:
        import onnx
    except ImportError:
        raise ConfigError(
            "export(check=True) needs the onnx package (Debian: python3-onnx); or pass check=False"
        ) from None
    try:
        onnx.checker.check_model(onnx.load_model_from_string(data), full_check=True)
    except Exception as e:  # onnx raises its own ValidationError and others
        raise ExportCheckFailed(f"{path}: onnx.checker rejects the exported model: {e}") from None


def _check_outputs(data: bytes, example: torch.Tensor, expected: torch.Tensor, path: Path) -> None:
    try:
        import cv2
    except ImportError:
        raise ConfigError(
            "export(check=True) runs the file in OpenCV's DNN module, which needs cv2 (Debian: "
            "python3-opencv); or pass check=False"
        ) from None
    try:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(data, dtype=np.uint8))
        net.setInput(example.float().cpu().numpy())
        got = net.forward()
    except cv2.error as e:
        raise ExportCheckFailed(f"{path}: OpenCV's DNN module cannot run the export: {e}") from None
    got = np.asarray(got).reshape(expected.shape)
    diff = float(np.abs(got - expected.numpy()).max())
    if not diff <= TOLERANCE:
        raise ExportCheckFailed(
            f"{path}: OpenCV's DNN module computes outputs up to {diff:.3g} away from the model's "
            f"(tolerance {TOLERANCE})"
        )


def _metadata(model, shape, classes, mean, std, loss, opset) -> Dict:
    channels = shape[0]

    def per_channel(values, default):
        v = [float(x) for x in (values if values is not None else default)]
        if len(v) == 1:
            v = v * channels
        if len(v) != channels:
            raise ConfigError(f"mean/std need 1 or {channels} values, got {len(v)}")
        return v

    return {
        "format": "onnx",
        "opset": opset,
        "input": {
            "name": "input",
            "shape": ["batch", *shape],
            "layout": "NCHW",
            "dtype": "float32",
        },
        "output": {"name": "output", "probabilities": PROBABILITIES[loss]},
        "image": {  # as a run folder's run.json describes its images
            "size": shape[1] if shape[1] == shape[2] else [shape[1], shape[2]],
            "channels": channels,
            "mean": per_channel(mean, [0.0]),
            "std": per_channel(std, [1.0]),
        },
        "classes": list(map(str, classes or [])),
        "loss": loss,
        "model": getattr(model, "config", None) or {"name": type(model).__name__},
    }

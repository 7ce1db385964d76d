"""What users pass in, as numpy: tensors/arrays/lists to arrays, class indices checked, class names,
and probabilities or logits to log-probabilities. Shared by the plot modules; draws nothing."""
import numpy as np
import torch

from .._core import ConfigError


def _array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _is_array(x) -> bool:
    return isinstance(x, (torch.Tensor, np.ndarray))


def _labels(x, name: str) -> np.ndarray:
    a = _array(x).reshape(-1)
    if a.dtype.kind == "f" and not np.all(a == np.round(a)):
        raise ConfigError(
            f"{name} must be class indices (integers), got values like {a[a != np.round(a)][0]}"
        )
    if a.dtype.kind not in "iuf" and a.size:
        raise ConfigError(f"{name} must be class indices (integers), got dtype {a.dtype}")
    return a.astype(np.int64)


def _class_name(classes, i: int) -> str:
    return str(classes[i]) if classes is not None and 0 <= i < len(classes) else str(i)


def _log_probabilities(scores: np.ndarray) -> np.ndarray:
    """(N, C) probabilities or logits -> log-probabilities. Rows already on the simplex are taken as
    probabilities; anything else as logits (log-softmax, stable for confident predictions)."""
    s = scores.astype(np.float64)
    if s.min() >= 0 and s.max() <= 1 and np.allclose(s.sum(1), 1.0, atol=1e-3):
        with np.errstate(divide="ignore"):
            return np.log(s)
    s = s - s.max(1, keepdims=True)
    return s - np.log(np.exp(s).sum(1, keepdims=True))


def _class_log_probabilities(scores) -> np.ndarray:
    """(N, C) scores, or binary (N,) / (N, 1) sigmoid probabilities or logits -> (N, C)
    log-probabilities."""
    s = _array(scores).astype(np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 1:  # binary: the score is for class 1
        if s.min() >= 0 and s.max() <= 1:
            with np.errstate(divide="ignore"):
                return np.stack([np.log1p(-s), np.log(s)], 1)
        return np.stack([-np.logaddexp(0, s), -np.logaddexp(0, -s)], 1)
    if s.ndim != 2:
        raise ConfigError(f"scores must be (N, C) probabilities or logits, got shape {s.shape}")
    return _log_probabilities(s)


def _check_labels(labels: np.ndarray, n_classes: int, name: str) -> None:
    bad = labels[(labels < 0) | (labels >= n_classes)]
    if bad.size:
        raise ConfigError(f"{name} has label {bad[0]}, out of range for {n_classes} classes")


def _batch(images, labels, name: str):
    n = len(images)
    if labels is not None and len(labels) != n:
        raise ConfigError(f"{name}: {n} images but {len(labels)} labels")
    return n

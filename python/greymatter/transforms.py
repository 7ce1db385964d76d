"""torchvision-style transforms. They are descriptions: the C++ pipeline runs them, fused.

Only the transforms a dataset supports are accepted; anything else raises ConfigError when the
dataset is built, not in the middle of an epoch.
"""
from typing import Sequence

from ._core import ConfigError

__all__ = ["Compose", "ToTensor", "Normalize"]


class Transform:
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)


class ToTensor(Transform):
    """uint8 HxWxC image -> float CxHxW in [0, 1]."""


class Normalize(Transform):
    """(x - mean) / std per channel, after ToTensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = tuple(float(m) for m in _as_sequence(mean, "mean"))
        self.std = tuple(float(s) for s in _as_sequence(std, "std"))
        if len(self.mean) != len(self.std):
            raise ConfigError(f"Normalize needs as many mean as std values, got {len(self.mean)} and {len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ConfigError(f"Normalize std must be non-zero, got {self.std}")


class Compose(Transform):
    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not isinstance(t, Transform):
                raise ConfigError(f"Compose takes greymatter.transforms objects, got {t!r}")

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


def flatten(transform) -> list:
    """The chain as a flat list (None -> [])."""
    if transform is None:
        return []
    if isinstance(transform, Compose):
        return [t for inner in transform.transforms for t in flatten(inner)]
    if isinstance(transform, Transform):
        return [transform]
    raise ConfigError(f"transform must be a greymatter.transforms object, got {transform!r}")


def _as_sequence(v, name):
    if isinstance(v, (int, float)):
        return (v,)
    try:
        return tuple(v)
    except TypeError:
        raise ConfigError(f"Normalize {name} must be a number or a sequence of numbers, got {v!r}") from None

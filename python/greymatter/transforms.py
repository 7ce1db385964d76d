"""torchvision-style transforms. They are descriptions: the C++ pipeline runs them, fused.

Names, parameters and defaults are torchvision's (0.14) and so are the results on images loaded the
way torchvision's ImageFolder loads them (PIL, ``convert("RGB")``): resizing is Pillow's antialiased
resampling, colour changes use PIL's integer arithmetic. The chain runs on uint8 pixels until one
last pass writes ``ToTensor`` + ``Normalize`` as float CHW (``ToTensor`` is implied if left out).

Random transforms draw from a counter-based generator keyed by (seed, epoch, sample index): a
DataLoader gives the same augmentations whatever its ``num_workers``. The draws follow torchvision's
``get_params`` algorithms, so their distributions match; the individual numbers differ from torch's
RNG.

Unsupported transforms, arguments or orders raise ``ConfigError`` when the dataset is built, not in
the middle of an epoch. A chain is also callable on one image (PIL image, HxWxC uint8 array, or
path): ``tf(img)`` returns the float tensor, as torchvision's would. """
import inspect
import math
import numbers
from enum import Enum
from typing import Optional, Sequence

import numpy as np
import torch

from . import _core
from ._core import ConfigError

__all__ = [
    "Compose",
    "ToTensor",
    "Normalize",
    "Resize",
    "CenterCrop",
    "RandomResizedCrop",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomRotation",
    "ColorJitter",
    "Grayscale",
    "InterpolationMode",
    "to_config",
    "from_config",
]


class InterpolationMode(Enum):
    """torchvision's InterpolationMode values greymatter supports (torchvision's own enum works
    too)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


class Transform:
    """Base class: a description with torchvision's attributes, turned into a C++ step by
    ``_spec``."""

    def _spec(self):
        """The step's C++ options struct (``_core.ResizeOptions``, ...)."""
        raise ConfigError(
            f"unsupported transform '{type(self).__name__}'; greymatter runs "
            f"{', '.join(name for name in _CLASSES if name not in _TENSOR_STEPS)}, "
            f"{' and '.join(_TENSOR_STEPS)}"
        )

    def __repr__(self) -> str:
        # torchvision's form: the constructor's arguments; private attributes stay out.
        args = ", ".join(f"{k}={_show(v)}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __call__(self, image, seed: Optional[int] = None):
        """Runs this chain on one image: a PIL image, a uint8 HxWxC / HxW array or tensor, or a file
        path.

        Returns the float tensor CxHxW. Random steps draw from ``seed`` (default: from torch's RNG).
        """
        pixels, channels = _pixels(image)
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        out, _ = _core.run_transforms(pixels, to_specs(self), channels, seed)
        return out


class ToTensor(Transform):
    """uint8 HxWxC image -> float CxHxW in [0, 1]."""

    def _spec(self):
        return _core.ToTensorOptions()


class Normalize(Transform):
    """(x - mean) / std per channel, after ToTensor.

    Args:
        mean: one value, or one per channel.
        std: as many values as ``mean``, none of them 0.
        inplace: accepted for torchvision's signature (the pipeline writes its own output).

    Raises:
        ConfigError: mean and std of different lengths, or a zero std.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = tuple(float(m) for m in _as_sequence(mean, "Normalize mean"))
        self.std = tuple(float(s) for s in _as_sequence(std, "Normalize std"))
        if len(self.mean) != len(self.std):
            raise ConfigError(
                f"Normalize needs as many mean as std values, got {len(self.mean)} and "
                f"{len(self.std)}"
            )
        if any(s == 0 for s in self.std):
            raise ConfigError(f"Normalize std must be non-zero, got {self.std}")

    def _spec(self):
        return _core.NormalizeOptions(mean=list(self.mean), std=list(self.std))


class Resize(Transform):
    """Resize to (h, w), or the shorter side to ``size`` keeping the aspect ratio (torchvision's
    rule).

    Pillow's antialiased resampling, as torchvision uses on PIL images (``antialias`` is accepted
    for compatibility; like torchvision on PIL images, antialiasing is always on).

    Args:
        size: an int (the shorter side; the aspect ratio is kept) or (h, w).
        interpolation: ``InterpolationMode.BILINEAR``, ``NEAREST`` or ``BICUBIC`` (torchvision's
            enum or its string works too).
        max_size: with an int ``size``, the longest the longer side may become.
        antialias: accepted for compatibility (always on).

    Raises:
        ConfigError: a size that is not positive, an unsupported interpolation, or ``max_size``
            with an (h, w) size.
    """

    def __init__(
        self,
        size,
        interpolation=InterpolationMode.BILINEAR,
        max_size: Optional[int] = None,
        antialias: Optional[bool] = None,
    ) -> None:
        self.size = _size(size, "Resize", allow_single=True)
        self.interpolation = _interpolation_mode(interpolation, "Resize")
        self.max_size = max_size
        self.antialias = antialias
        if max_size is not None and len(self.size) != 1:
            raise ConfigError(
                "Resize: max_size is only supported when size is an int (the shorter side)"
            )

    def __repr__(self) -> str:
        # A shorter-side size prints as the int it was given, as torchvision's does: Resize(size=32,
        # ...).
        text = super().__repr__()
        return (
            text.replace(f"size={self.size!r}", f"size={self.size[0]}", 1)
            if len(self.size) == 1
            else text
        )

    def _spec(self):
        return _core.ResizeOptions(
            size=list(self.size),
            interpolation=_core_interpolation(self.interpolation),
            max_size=0 if self.max_size is None else self.max_size,
        )


class CenterCrop(Transform):
    """Crop the centre (h, w); zero padding when the image is smaller, as torchvision.

    Args:
        size: an int (a square) or (h, w).

    Raises:
        ConfigError: a size that is not positive.
    """

    def __init__(self, size) -> None:
        self.size = _size(size, "CenterCrop")

    def _spec(self):
        return _core.CenterCropOptions(size=list(self.size))


class RandomResizedCrop(Transform):
    """A crop of random area (``scale``) and aspect ratio (``ratio``), resized to ``size``.

    Args:
        size: an int (a square) or (h, w) of the output.
        scale: (min, max) of the crop's area as a fraction of the image's.
        ratio: (min, max) of the crop's aspect ratio (width / height), drawn log-uniformly.
        interpolation: as for ``Resize``.
        antialias: accepted for compatibility (always on).

    Raises:
        ConfigError: a bad size, range or interpolation.
    """

    def __init__(
        self,
        size,
        scale=(0.08, 1.0),
        ratio=(3.0 / 4.0, 4.0 / 3.0),
        interpolation=InterpolationMode.BILINEAR,
        antialias: Optional[bool] = None,
    ) -> None:
        self.size = _size(size, "RandomResizedCrop")
        self.scale = _range(scale, "RandomResizedCrop scale")
        self.ratio = _range(ratio, "RandomResizedCrop ratio")
        if self.scale[0] < 0 or self.scale[1] <= 0:
            raise ConfigError(
                f"RandomResizedCrop scale must be non-negative with max > 0, got {self.scale}"
            )
        if self.ratio[0] <= 0:
            raise ConfigError(f"RandomResizedCrop ratio must be positive, got {self.ratio}")
        self.interpolation = _interpolation_mode(interpolation, "RandomResizedCrop")
        self.antialias = antialias

    def _spec(self):
        return _core.RandomResizedCropOptions(
            size=list(self.size),
            scale=self.scale,
            ratio=self.ratio,
            interpolation=_core_interpolation(self.interpolation),
        )


class _RandomFlip(Transform):
    def __init__(self, p: float = 0.5) -> None:
        if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ConfigError(f"{type(self).__name__} p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def _spec(self):
        return self._options(p=self.p)


class RandomHorizontalFlip(_RandomFlip):
    """Mirrored left to right with probability ``p``.

    Args:
        p: the probability of a flip, in [0, 1].
    """

    _options = _core.RandomHorizontalFlipOptions


class RandomVerticalFlip(_RandomFlip):
    """Upside down with probability ``p`` (MRI slices, leaves and other images without a natural
    "up").

    Args:
        p: the probability of a flip, in [0, 1].
    """

    _options = _core.RandomVerticalFlipOptions


class RandomRotation(Transform):
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means (-d, d)), about the
    centre.

    Nearest-neighbour only (torchvision's default); ``expand=True`` is refused because it would make
    the output size differ per sample.

    Args:
        degrees: a number d (the range (-d, d)) or (min, max), in degrees counter-clockwise.
        interpolation: ``InterpolationMode.NEAREST`` (others are refused when the chain is built).
        expand: must stay False.
        center: (x, y) to rotate about; None: the image's centre.
        fill: the value of pixels rotated in from outside, one number or one per channel.

    Raises:
        ConfigError: a negative single ``degrees``, a bad range, ``center`` or ``fill``.
    """

    def __init__(
        self,
        degrees,
        interpolation=InterpolationMode.NEAREST,
        expand: bool = False,
        center=None,
        fill=0,
    ) -> None:
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ConfigError(
                    "RandomRotation: if degrees is a single number, it must be non-negative, "
                    f"got {degrees}"
                )
            self.degrees = [-float(degrees), float(degrees)]
        else:
            self.degrees = [float(d) for d in _range(degrees, "RandomRotation degrees")]
        self.interpolation = _interpolation_mode(interpolation, "RandomRotation")
        self.expand = bool(expand)
        if center is not None and (not isinstance(center, Sequence) or len(center) != 2):
            raise ConfigError(f"RandomRotation center must be a sequence (x, y), got {center!r}")
        self.center = None if center is None else [float(c) for c in center]
        if fill is None:
            fill = 0
        if not isinstance(fill, (numbers.Number, Sequence)) or isinstance(fill, str):
            raise ConfigError(f"RandomRotation fill must be a number or a sequence, got {fill!r}")
        # A list whether given as tuple or list, like degrees and center: one form, so equal chains
        # compare equal.
        self.fill = fill if isinstance(fill, numbers.Number) else [float(f) for f in fill]

    def _spec(self):
        fill = (
            [float(self.fill)]
            if isinstance(self.fill, numbers.Number)
            else [float(f) for f in self.fill]
        )
        return _core.RandomRotationOptions(
            degrees=tuple(self.degrees),
            interpolation=_core_interpolation(self.interpolation),
            expand=self.expand,
            center=None if self.center is None else tuple(self.center),
            fill=fill,
        )


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order
    (torchvision's).

    Args:
        brightness: v (factors in [max(0, 1 - v), 1 + v]) or (min, max); 0 leaves it off.
        contrast: the same for contrast.
        saturation: the same for saturation.
        hue: v (shifts in [-v, v], v <= 0.5) or (min, max) within [-0.5, 0.5]; 0 leaves it off.

    Raises:
        ConfigError: a negative value or a range outside those bounds.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0) -> None:
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    def _spec(self):
        return _core.ColorJitterOptions(
            brightness=self.brightness,
            contrast=self.contrast,
            saturation=self.saturation,
            hue=self.hue,
        )


class Grayscale(Transform):
    """PIL's convert("L") (ITU-R 601-2 luma); ``num_output_channels=3`` repeats it.

    Args:
        num_output_channels: 1 or 3.

    Raises:
        ConfigError: any other number of channels.
    """

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ConfigError(
                "Grayscale num_output_channels should be either 1 or 3, got "
                f"{num_output_channels!r}"
            )
        self.num_output_channels = int(num_output_channels)

    def _spec(self):
        return _core.GrayscaleOptions(num_output_channels=self.num_output_channels)


class Compose(Transform):
    """A chain of transforms, run in order (as one fused C++ pipeline).

    Args:
        transforms: ``greymatter.transforms`` objects (Composes nest and are flattened).

    Raises:
        ConfigError: an object that is not a greymatter transform (a torchvision one is named with
            its greymatter equivalent).
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not isinstance(t, Transform):
                raise ConfigError(
                    f"Compose takes greymatter.transforms objects, got {t!r}" + _torchvision_hint(t)
                )

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
    raise ConfigError(
        f"transform must be a greymatter.transforms object, got {transform!r}"
        + _torchvision_hint(transform)
    )


def to_specs(transform) -> list:
    """The chain as the C++ pipeline takes it: one options struct per step
    (``_core.ResizeOptions``, ...)."""
    return [t._spec() for t in flatten(transform)]


def to_config(transform) -> list:
    """The chain as JSON-ready data: ``[{"name": "Resize", "size": [32, 32], "interpolation":
    "bilinear", ...}]``, one dict per step with its torchvision-named constructor arguments (tuples
    become lists, InterpolationMode its value; arguments that are None are left out). Nested
    Composes are flattened, as the pipeline runs them. ``from_config`` rebuilds the chain:
    ``from_config(to_config(t)) == t`` for a Compose of transforms.

    Args:
        transform: a transform, a Compose, or None (an empty list).

    Returns:
        A list of dicts, one per step.

    Raises:
        ConfigError: a step that is not one of this module's classes.
    """
    config = []
    for step in flatten(transform):
        if _CLASSES.get(type(step).__name__) is not type(
            step
        ):  # a subclass would come back as its parent
            raise ConfigError(
                f"to_config: {type(step).__name__} is not a greymatter.transforms class"
            )
        entry = {"name": type(step).__name__}
        for name in inspect.signature(type(step)).parameters:
            value = getattr(
                step, name, None
            )  # Normalize keeps no `inplace`: it changes nothing here
            if value is not None:
                entry[name] = _to_json(value)
        config.append(entry)
    return config


def from_config(config) -> "Compose":
    """The Compose a ``to_config`` list describes (e.g. best.json's ``"transform_config"``).

    Args:
        config: a list of ``{"name": ..., argument: value, ...}`` dicts.

    Returns:
        The chain as a Compose.

    Raises:
        ConfigError: a malformed entry, an unknown transform name or an argument it does not take.
    """
    if not isinstance(config, (list, tuple)):
        raise ConfigError(
            f"from_config takes a list of {{'name': ..., arguments}} dicts, got {config!r}"
        )
    steps = []
    for entry in config:
        if not isinstance(entry, dict) or "name" not in entry:
            raise ConfigError(f"from_config: each step is a dict with a 'name' key, got {entry!r}")
        name, kwargs = entry["name"], {k: v for k, v in entry.items() if k != "name"}
        if name not in _CLASSES:
            raise ConfigError(
                f"from_config: unknown transform {name!r}; known: {', '.join(_CLASSES)}"
            )
        try:
            steps.append(_CLASSES[name](**kwargs))
        except TypeError as e:  # an argument the class does not take
            raise ConfigError(f"from_config: {name}: {e}") from None
    return Compose(steps)


def _to_json(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    raise ConfigError(f"to_config: cannot describe {value!r} in JSON")


# The steps to_config / from_config know, by name (Compose is not a step: the chain is the list).
_CLASSES = {
    cls.__name__: cls
    for cls in (
        ToTensor,
        Normalize,
        Resize,
        CenterCrop,
        RandomResizedCrop,
        RandomHorizontalFlip,
        RandomVerticalFlip,
        RandomRotation,
        ColorJitter,
        Grayscale,
    )
}
_TENSOR_STEPS = ("ToTensor", "Normalize")  # the steps after the uint8 ones


# ---- argument helpers ---------------------------------------------------------------------------


def _torchvision_hint(t) -> str:
    module = type(t).__module__ or ""
    if module.startswith("torchvision"):
        return (
            f" (use greymatter.transforms.{type(t).__name__} instead of torchvision's: same "
            "arguments)"
        )
    return ""


def _show(v):
    return v.value if isinstance(v, Enum) else repr(v)


def _interpolation_mode(mode, owner: str) -> InterpolationMode:
    """greymatter's InterpolationMode for greymatter's or torchvision's enum, or its string."""
    value = getattr(mode, "value", mode)
    if isinstance(value, str):
        for member in InterpolationMode:
            if member.value == value.lower():
                return member
    raise ConfigError(
        f"{owner}: interpolation must be InterpolationMode.NEAREST, BILINEAR or BICUBIC, got "
        f"{mode!r}"
    )


def _core_interpolation(mode: InterpolationMode):
    """The C++ enum value of an InterpolationMode (the members share their names)."""
    return _core.Interpolation.__members__[mode.name]


def _size(size, owner: str, allow_single: bool = False):
    """int or (h, w) -> tuple; Resize keeps a single int as (size,) = the shorter side."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        values = (int(size),) if allow_single else (int(size), int(size))
    elif (
        isinstance(size, Sequence)
        and len(size) in (1, 2)
        and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)
    ):
        values = tuple(int(s) for s in size)
        if len(values) == 1 and not allow_single:
            values = (values[0], values[0])
    else:
        raise ConfigError(f"{owner} size must be an int or a sequence (h, w) of ints, got {size!r}")
    if any(v < 1 for v in values):
        raise ConfigError(f"{owner} size must be positive, got {size!r}")
    # Every image through the chain would be at least this large: a size past the pixel limit
    # (datasets.set_max_image_pixels) is a typo or an attack, and would take gigabytes per image.
    limit = _core.max_image_pixels()
    pixels = values[0] * values[-1]
    if limit and pixels > limit:
        raise ConfigError(
            f"{owner} size {size!r} makes images of at least {values[0]}x{values[-1]} = {pixels} "
            f"pixels, over the limit of {limit} (greymatter.datasets.set_max_image_pixels "
            f"raises it)"
        )
    return values


def _range(v, name: str):
    if (
        not isinstance(v, Sequence)
        or len(v) != 2
        or not all(isinstance(x, numbers.Real) for x in v)
    ):
        raise ConfigError(f"{name} must be a sequence (min, max), got {v!r}")
    lo, hi = float(v[0]), float(v[1])
    if not lo <= hi:
        raise ConfigError(f"{name} must be (min, max) with min <= max, got {v!r}")
    return (lo, hi)


def _jitter_range(value, name, center=1.0, bound=(0, math.inf), clip_first_on_zero=True):
    """torchvision's ColorJitter._check_input: a number v means [center - v, center + v]."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ConfigError(
                f"ColorJitter {name}: if it is a single number, it must be non negative, got "
                f"{value}"
            )
        lo, hi = center - float(value), center + float(value)
        if clip_first_on_zero:
            lo = max(lo, 0.0)
        if not bound[0] <= lo <= hi <= bound[1]:  # torchvision would only fail mid-epoch
            raise ConfigError(f"ColorJitter {name}={value} gives factors outside {bound}")
    elif isinstance(value, Sequence) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
        if not bound[0] <= lo <= hi <= bound[1]:
            raise ConfigError(f"ColorJitter {name} values should be between {bound}, got {value!r}")
    else:
        raise ConfigError(
            f"ColorJitter {name} should be a single number or a list/tuple with length 2, got "
            f"{value!r}"
        )
    if lo == hi == center:
        return None
    return (lo, hi)


def _as_sequence(v, name):
    if isinstance(v, (int, float)):
        return (v,)
    try:
        return tuple(v)
    except TypeError:
        raise ConfigError(f"{name} must be a number or a sequence of numbers, got {v!r}") from None


def _pixels(image):
    """(uint8 HxWxC tensor, channels as torchvision sees them) for a PIL image, array, tensor or
    path."""
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        return _core.read_image(str(image)), 3
    if hasattr(image, "convert") and hasattr(
        image, "mode"
    ):  # PIL image: torchvision keeps "L" as one channel
        mode = "L" if image.mode in ("L", "1") else "RGB"
        array = np.array(image.convert(mode))  # a writable copy
        return torch.from_numpy(array), 1 if mode == "L" else 3
    t = image if isinstance(image, torch.Tensor) else torch.from_numpy(np.array(image))
    if (
        t.dtype != torch.uint8
        or t.dim() not in (2, 3)
        or (t.dim() == 3 and t.shape[2] not in (1, 3))
    ):
        raise ConfigError(
            f"expected a PIL image, a path, or a uint8 array HxW / HxWx1 / HxWx3, got "
            f"{t.dtype} {tuple(t.shape)}"
        )
    channels = 1 if t.dim() == 2 or t.shape[2] == 1 else 3
    return t.contiguous(), channels

"""Small, deterministic image folders made from real photos, for tests, benchmarks and tutorials.

    from greymatter.sample_data import make_image_folder
    classes = ("glioma", "meningioma", "notumor", "pituitary")
    root = make_image_folder("data/Training", classes=classes, per_class=40, size=128,
                             variants=[("jpg", "L")], seed=0)

Each class is cut from its own photo of scikit-image's bundled data (astronaut, coffee, chelsea,
rocket, ...; no download), so classes look different and a small CNN can learn them. Every image is
a random crop of its class photo (30-100% of the area, aspect 3:4 to 4:3), flipped half the time,
resized with PIL and saved as the (format, mode) variant that comes next in ``variants``. The same
arguments always write the same files. Not a dataset loader: point
``greymatter.datasets.ImageFolder`` at the folder. """
import os
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple, Union

import numpy as np

__all__ = ["make_image_folder", "photo", "PHOTOS", "ALL_VARIANTS"]

# scikit-image's bundled photos, in the order classes take them.
PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "camera",
    "coins",
    "moon",
)

# Every (format, PIL mode) the folders can hold: what torchvision's loader meets in practice.
ALL_VARIANTS = (
    ("jpg", "RGB"),
    ("jpg", "L"),
    ("png", "RGB"),
    ("png", "L"),
    ("png", "RGBA"),
    ("png", "P"),
    ("png", "I;16"),
    ("bmp", "RGB"),
)

Size = Union[int, Tuple[int, int]]


def photo(name: str):
    """One of PHOTOS as an RGB PIL image."""
    from PIL import Image
    from skimage import data

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose from {', '.join(PHOTOS)}")
    array = getattr(data, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(array[..., :3]).astype(np.uint8), "RGB")


def make_image_folder(
    root,
    classes: Union[int, Sequence[str]] = 4,
    per_class: Union[int, Sequence[int]] = 8,
    size: Union[Size, Sequence[Size]] = 64,
    variants: Iterable[Tuple[str, str]] = (("jpg", "RGB"),),
    seed: int = 0,
    quality: int = 90,
) -> Path:
    """Writes ``root/<class>/<class>_<k>.<ext>`` and returns ``root`` as a Path.

    classes: a number (named after the photos) or names (photo i goes to class i, cycling).
    per_class: images per class, or one count per class (an imbalanced folder: [40, 4]).
    size: (h, w) or int (square) of every image, or a list of sizes used in turn.
    variants: (format, mode) pairs used in turn, e.g. ALL_VARIANTS; format is jpg, png or bmp, mode
    is a PIL mode (RGB, L, RGBA, P, I;16). JPEG and BMP only take RGB and L. 16-bit images hold the
    8-bit values (0-255), so PIL and greymatter both show the photo."""
    names = (
        [PHOTOS[i % len(PHOTOS)] for i in range(classes)]
        if isinstance(classes, int)
        else list(classes)
    )
    if not names:
        raise ValueError("classes must name at least one class")
    for name in names:
        _check_class_name(name)
    counts = [per_class] * len(names) if isinstance(per_class, int) else list(per_class)
    if len(counts) != len(names):
        raise ValueError(f"per_class has {len(counts)} counts for {len(names)} classes")
    sizes = _sizes(size)
    variants = [(fmt.lower().lstrip("."), mode) for fmt, mode in variants]
    for fmt, mode in variants:
        if fmt not in ("jpg", "jpeg", "png", "bmp"):
            raise ValueError(f"format must be jpg, png or bmp, got {fmt!r}")
        if fmt in ("jpg", "jpeg", "bmp") and mode not in ("RGB", "L"):
            raise ValueError(f"{fmt} files hold RGB or L images, not {mode!r}")
    rng = np.random.default_rng(seed)
    root = Path(root)
    sources = {}
    counter = 0
    for c, name in enumerate(names):
        if c % len(PHOTOS) not in sources:
            sources[c % len(PHOTOS)] = photo(PHOTOS[c % len(PHOTOS)])
        src = sources[c % len(PHOTOS)]
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(counts[c]):
            fmt, mode = variants[counter % len(variants)]
            h, w = sizes[counter % len(sizes)]
            counter += 1
            image = _random_view(src, rng, h, w)
            _save(image, folder / f"{name}_{k:04d}.{fmt}", fmt, mode, quality)
    return root


def _check_class_name(name) -> None:
    """A class is one folder directly under root: a name that is a path ('a/b', '..', '/etc')
    would write elsewhere, and a hidden one ('.x') is one ImageFolder ignores."""
    from ._core import ConfigError

    if not isinstance(name, str):
        raise ConfigError(f"class names must be strings, got {name!r}")
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise ConfigError(
            f"class name {name!r} is not a plain folder name: it must be non-empty, not start "
            f"with '.' and hold no '/', '\\' or NUL, so that it stays one folder under root"
        )


def _sizes(size) -> List[Tuple[int, int]]:
    def one(s):
        return (s, s) if isinstance(s, int) else (int(s[0]), int(s[1]))

    if isinstance(size, int) or (len(size) == 2 and all(isinstance(s, int) for s in size)):
        return [one(size)]
    return [one(s) for s in size]


def _random_view(src, rng, h: int, w: int):
    from PIL import Image

    sw, sh = src.size
    area = sw * sh * rng.uniform(0.3, 1.0)
    aspect = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
    cw = int(min(sw, max(8, round((area * aspect) ** 0.5))))
    ch = int(min(sh, max(8, round((area / aspect) ** 0.5))))
    x = int(rng.integers(0, sw - cw + 1))
    y = int(rng.integers(0, sh - ch + 1))
    view = src.crop((x, y, x + cw, y + ch)).resize((w, h), Image.BILINEAR)
    if rng.random() < 0.5:
        view = view.transpose(Image.FLIP_LEFT_RIGHT)
    return view


def _save(image, path: Path, fmt: str, mode: str, quality: int) -> None:
    from PIL import Image

    if mode == "I;16":
        array = np.asarray(image.convert("L")).astype(np.uint16)
        image = Image.fromarray(array, "I;16")
    elif mode == "P":
        image = image.convert("P", palette=Image.ADAPTIVE, colors=64)
    elif mode == "RGBA":
        image = image.convert("RGBA")
        alpha = np.asarray(image)[..., 3].copy()
        alpha[: alpha.shape[0] // 2] = 128  # a real alpha channel, which ImageFolder must drop
        image.putalpha(Image.fromarray(alpha))
    else:
        image = image.convert(mode)
    options = {"quality": quality} if fmt in ("jpg", "jpeg") else {}
    tmp = path.with_suffix(path.suffix + ".tmp")
    image.save(
        tmp, format={"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "bmp": "BMP"}[fmt], **options
    )
    os.replace(tmp, path)

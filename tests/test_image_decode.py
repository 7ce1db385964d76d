"""Decoding: every file mode gives exactly the pixels of PIL's Image.open(path).convert("RGB") (what
torchvision's ImageFolder loader returns), EXIF orientation is left alone as PIL leaves it."""
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from greymatter import _core


def pil_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def ours_rgb(path) -> np.ndarray:
    array = _core.read_image(str(path)).numpy()
    return (
        np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
    )  # grey stands for R = G = B


def write_png(path, array: np.ndarray, color_type: int, bit_depth: int, extra_chunks=()):
    """A minimal PNG writer, for variants PIL cannot write (16-bit RGB, grey+alpha 16-bit,
    palette+tRNS)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    h, w = array.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    rows = array.reshape(h, -1).astype(dtype)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))
    for kind, data in extra_chunks:
        body += chunk(kind, data)
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def test_every_variant_in_the_sample_folder_matches_pil(photo_folder):
    files = sorted(p for p in photo_folder.rglob("*") if p.is_file())
    assert len(files) == 24
    for path in files:
        ours = ours_rgb(path)
        assert ours.shape == pil_rgb(path).shape, path
        np.testing.assert_array_equal(ours, pil_rgb(path), err_msg=str(path))


def test_jpeg_decoders_agree_at_every_scale(photo_folder, large_jpeg_folder):
    """libjpeg directly (the default when the build found it) and through OpenCV give the same
    pixels."""
    jpegs = sorted(photo_folder.rglob("*.jpg")) + sorted(large_jpeg_folder.rglob("*.jpg"))
    for path in jpegs:
        for reduction in (1, 2, 4, 8):
            direct = _core.read_image(str(path), reduction)
            opencv = _core.read_image(str(path), reduction, via_opencv=True)
            assert torch.equal(direct, opencv), (path, reduction)
            h, w = pil_rgb(path).shape[:2]
            assert direct.shape[:2] == (-(-h // reduction), -(-w // reduction))


def test_grey_files_stay_one_channel(photo_folder):
    grey = [
        p
        for p in photo_folder.rglob("*")
        if p.is_file() and Image.open(p).mode in ("L", "I", "I;16")
    ]
    assert grey
    for path in grey:
        assert _core.read_image(str(path)).shape[2] == 1


def test_16_bit_pngs_convert_like_pil(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 65536, size=(7, 9), dtype=np.uint16)
    grey[0, :4] = [0, 255, 256, 65535]  # PIL saturates grey at 255 rather than rescaling
    write_png(tmp_path / "g16.png", grey, color_type=0, bit_depth=16)
    rgb = rng.integers(0, 65536, size=(7, 9, 3), dtype=np.uint16)
    write_png(tmp_path / "rgb16.png", rgb, color_type=2, bit_depth=16)
    rgba = rng.integers(0, 65536, size=(5, 4, 4), dtype=np.uint16)
    write_png(tmp_path / "rgba16.png", rgba, color_type=6, bit_depth=16)
    grey_alpha = rng.integers(0, 65536, size=(5, 4, 2), dtype=np.uint16)
    write_png(tmp_path / "la16.png", grey_alpha, color_type=4, bit_depth=16)
    for name in ("g16.png", "rgb16.png", "rgba16.png", "la16.png"):
        np.testing.assert_array_equal(
            ours_rgb(tmp_path / name), pil_rgb(tmp_path / name), err_msg=name
        )
    assert ours_rgb(tmp_path / "g16.png")[0, :4, 0].tolist() == [0, 255, 255, 255]


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
def test_palette_with_transparency_and_grey_alpha_match_pil(tmp_path):
    rng = np.random.default_rng(1)
    palette = rng.integers(0, 256, size=(16, 3), dtype=np.uint8)
    indices = rng.integers(0, 16, size=(6, 8), dtype=np.uint8)
    write_png(
        tmp_path / "p.png",
        indices,
        color_type=3,
        bit_depth=8,
        extra_chunks=[(b"PLTE", palette.tobytes()), (b"tRNS", bytes(range(0, 160, 10)))],
    )
    write_png(
        tmp_path / "la.png",
        rng.integers(0, 256, size=(6, 8, 2), dtype=np.uint8),
        color_type=4,
        bit_depth=8,
    )
    for name in ("p.png", "la.png"):
        np.testing.assert_array_equal(
            ours_rgb(tmp_path / name), pil_rgb(tmp_path / name), err_msg=name
        )
    assert _core.read_image(str(tmp_path / "la.png")).shape[2] == 1


def test_tiff_and_webp_match_pil(tmp_path):
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, size=(10, 12, 3), dtype=np.uint8))
    image.save(tmp_path / "a.tif")
    image.save(tmp_path / "a.webp", lossless=True)
    for name in ("a.tif", "a.webp"):
        np.testing.assert_array_equal(
            ours_rgb(tmp_path / name), pil_rgb(tmp_path / name), err_msg=name
        )


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_not_applied_as_pil(tmp_path, orientation):
    from greymatter.sample_data import photo

    image = photo("chelsea").resize((60, 40))  # not square, so a rotation would show in the shape
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)
    with Image.open(path) as check:
        assert check.getexif()[0x0112] == orientation
    ours = ours_rgb(path)
    assert ours.shape == (40, 60, 3)
    np.testing.assert_array_equal(ours, pil_rgb(path))

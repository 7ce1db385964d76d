"""Image files from strangers: a small file whose header claims a huge size is refused from the
header, naming the file and the size, before anything is decoded, through every path (ImageFolder +
DataLoader workers, ``transforms.Compose(...)(path)``, ``greymatter predict``); the process's peak
memory barely moves. The limit is PIL's default and ``set_max_image_pixels`` moves it. Transforms
whose output would be absurdly large fail when built, and ``make_image_folder`` refuses class names
that are not plain folder names."""
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import greymatter as gm
from greymatter import transforms as T
from greymatter.sample_data import make_image_folder

PIL_DEFAULT = (
    89_478_485  # PIL.Image.MAX_IMAGE_PIXELS, written out: the test does not trust either side
)
PEAK_GROWTH_LIMIT_MB = 200


def _png_with_size(path: Path, width: int, height: int) -> None:
    data = bytearray(_saved(path, "PNG"))
    data[16:24] = struct.pack(
        ">II", width, height
    )  # IHDR follows the 8-byte signature and chunk head
    path.write_bytes(bytes(data))


def _jpeg_with_size(path: Path, width: int, height: int, progressive: bool) -> None:
    data = bytearray(_saved(path, "JPEG", progressive=progressive))
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)  # after marker, length, precision
    path.write_bytes(bytes(data))


def _webp_lossy_with_size(path: Path, width: int, height: int) -> None:
    data = bytearray(_saved(path, "WEBP", quality=80))
    assert data[12:16] == b"VP8 " and data[23:26] == b"\x9d\x01\x2a"
    data[26:30] = struct.pack("<HH", width, height)  # 14-bit sizes, scale bits 0
    path.write_bytes(bytes(data))


def _webp_lossless_with_size(path: Path, width: int, height: int) -> None:
    data = bytearray(_saved(path, "WEBP", lossless=True))
    assert data[12:16] == b"VP8L" and data[20] == 0x2F
    bits = struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1)  # keep alpha hint and version
    data[21:25] = struct.pack("<I", bits | (width - 1) | ((height - 1) << 14))
    path.write_bytes(bytes(data))


def _saved(path: Path, fmt: str, **options) -> bytes:
    Image.new("RGB", (16, 16), (10, 200, 30)).save(path, fmt, **options)
    return path.read_bytes()


# name -> (writer, width, height): each claims more than PIL's default limit.
BOMBS = {
    "baseline.jpg": (lambda p, w, h: _jpeg_with_size(p, w, h, False), 65500, 65500),
    "progressive.jpg": (lambda p, w, h: _jpeg_with_size(p, w, h, True), 34464, 46341),
    "wide.png": (_png_with_size, 100_000, 100_000),
    "lossy.webp": (_webp_lossy_with_size, 16383, 16383),
    "lossless.webp": (_webp_lossless_with_size, 16384, 16384),
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """{name: (folder holding a good image and the bomb, bomb path, 'WxH')}; all small files."""
    out = {}
    for name, (write, w, h) in BOMBS.items():
        root = make_image_folder(
            tmp_path_factory.mktemp("bomb"), classes=("good",), per_class=2, size=32
        )
        path = root / "good" / name
        write(path, w, h)
        assert path.stat().st_size < 2048, path.stat().st_size
        out[name] = (root, path, f"{w}x{h}")
    return out


@pytest.fixture
def restore_limit():
    yield
    gm.datasets.set_max_image_pixels(gm.datasets.DEFAULT_MAX_IMAGE_PIXELS)


# Run in a child so that ru_maxrss (the peak, which never goes down) measures this path alone.
CHILD = r"""
import json, resource, sys, time
import greymatter as gm
from greymatter import transforms as T

path, root, how = sys.argv[1], sys.argv[2], sys.argv[3]
tf = T.Compose([T.Resize((32, 32)), T.ToTensor()])
good = gm.datasets.ImageFolder(root, transform=tf)
good_index = next(i for i, (p, _) in enumerate(good.samples) if p != path)
good[good_index]  # warm every code path on a real image first
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    if how == "loader":
        for _ in gm.DataLoader(good, batch_size=2, num_workers=2, shuffle=False):
            pass
    elif how == "compose":
        tf(path)
    message = None
except gm.DataError as e:
    message = str(e)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"message": message, "seconds": seconds, "growth_mb": (after - before) / 1024}))
"""


def _run_child(path: Path, root: Path, how: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(root), how],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("how", ["loader", "compose"])
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bomb_is_refused_from_its_header_in_little_time_and_memory(bombs, name, how):
    root, path, size = bombs[name]
    result = _run_child(path, root, how)
    assert result["message"] is not None, f"{name} through {how} decoded without a DataError"
    assert str(path) in result["message"] and size in result["message"], result["message"]
    assert str(PIL_DEFAULT) in result["message"], result["message"]
    assert result["seconds"] < 1.0, result
    assert result["growth_mb"] < PEAK_GROWTH_LIMIT_MB, result


PREDICT_CHILD = r"""
import json, resource, sys, time
from greymatter.cli import main

checkpoint, good, bomb = sys.argv[1:4]
assert main(["predict", "--checkpoint", checkpoint, good]) == 0  # warm: model loaded, paths run
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
code = main(["predict", "--checkpoint", checkpoint, bomb])
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "growth_mb": (after - before) / 1024}))
"""


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    from greymatter.cli import main

    out = tmp_path_factory.mktemp("run") / "x"
    argv = ["train", "--data", "fashion-mnist", "--epochs", "1", "--train-size", "300"]
    assert main(argv + ["--out", str(out)]) == 0
    return out / "best.pth"


@pytest.mark.parametrize("name", ["baseline.jpg", "progressive.jpg", "wide.png", "lossy.webp"])
def test_predict_refuses_a_bomb_in_little_time_and_memory(bombs, fashion_run, name):
    root, path, size = bombs[name]
    good = next(p for p in (root / "good").iterdir() if p != path)
    done = subprocess.run(
        [sys.executable, "-c", PREDICT_CHILD, str(fashion_run), str(good), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 2
    assert str(path) in done.stderr and size in done.stderr, done.stderr
    assert result["seconds"] < 1.0, result
    assert result["growth_mb"] < PEAK_GROWTH_LIMIT_MB, result


def test_predict_max_image_pixels_argument(tmp_path, fashion_run, capsys, restore_limit):
    from greymatter.cli import main

    root = make_image_folder(tmp_path / "big", classes=("a",), per_class=1, size=(900, 1200))
    path = next((root / "a").iterdir())
    argv = ["predict", "--checkpoint", str(fashion_run), str(path)]
    assert main(argv + ["--max-image-pixels", "1000000"]) == 2
    assert "1200x900" in capsys.readouterr().err
    assert main(argv + ["--max-image-pixels", "2000000"]) == 0
    capsys.readouterr()


def test_the_default_limit_is_pils(restore_limit):
    assert gm.datasets.get_max_image_pixels() == PIL_DEFAULT == gm.datasets.DEFAULT_MAX_IMAGE_PIXELS
    gm.datasets.set_max_image_pixels(None)
    assert gm.datasets.get_max_image_pixels() is None
    for bad in (0, -5, 1.5, "many", True):
        with pytest.raises(gm.ConfigError, match="set_max_image_pixels"):
            gm.datasets.set_max_image_pixels(bad)
    assert gm.datasets.get_max_image_pixels() is None  # a refused value changes nothing


def test_set_max_image_pixels_moves_the_limit_for_every_path(tmp_path, restore_limit):
    """A real 1200x900 photo (1,080,000 pixels): refused under a lower limit, read under a higher
    one."""
    root = make_image_folder(
        tmp_path / "big", classes=("a",), per_class=1, size=(900, 1200), variants=[("png", "RGB")]
    )
    path = next((root / "a").iterdir())
    tf = T.Compose([T.Resize((30, 40)), T.ToTensor()])
    gm.datasets.set_max_image_pixels(1_000_000)
    with pytest.raises(gm.DataError, match=r"1200x900 pixels .*1000000"):
        tf(path)
    ds = gm.datasets.ImageFolder(root, transform=tf)
    with pytest.raises(gm.DataError, match="1200x900"):
        next(iter(gm.DataLoader(ds, batch_size=1, num_workers=2)))
    gm.datasets.set_max_image_pixels(1_080_000)  # the limit itself is allowed
    expected = T.Compose([T.Resize((30, 40)), T.ToTensor()])(Image.open(path).convert("RGB"))
    assert tf(path).equal(expected)
    images, _ = next(iter(gm.DataLoader(ds, batch_size=1, num_workers=2)))
    assert images[0].equal(expected)


def test_skip_policy_leaves_a_bomb_out_at_construction(bombs):
    root, path, size = bombs["progressive.jpg"]
    with pytest.warns(UserWarning, match="skipped 1"):
        ds = gm.datasets.ImageFolder(
            root, transform=T.Compose([T.Resize((8, 8)), T.ToTensor()]), on_error="skip"
        )
    assert [p for p, _ in ds.skipped] == [str(path)]
    assert size in ds.skipped[0][1]
    assert len(ds) == 2


@pytest.mark.parametrize(
    "make", [lambda s: T.Resize(s), lambda s: T.CenterCrop(s), lambda s: T.RandomResizedCrop(s)]
)
def test_transforms_that_would_be_absurdly_large_fail_when_built(make, restore_limit):
    with pytest.raises(gm.ConfigError, match=r"100000.*over the limit of 89478485"):
        make((100000, 100000))
    with pytest.raises(gm.ConfigError, match="20000"):
        make(20000)  # at least 20000x20000
    assert make((224, 224)) is not None
    gm.datasets.set_max_image_pixels(None)
    assert make((100000, 100000)) is not None  # the user's call once the limit is lifted


def test_chain_built_in_cpp_checks_the_size_too(tmp_path, restore_limit):
    """A chain described while the limit was off is refused by the C++ check once it is back."""
    gm.datasets.set_max_image_pixels(None)
    chain = T.Compose([T.Resize((100000, 100000)), T.ToTensor()])
    gm.datasets.set_max_image_pixels(gm.datasets.DEFAULT_MAX_IMAGE_PIXELS)
    root = make_image_folder(tmp_path / "f", classes=("a",), per_class=1, size=8)
    with pytest.raises(gm.ConfigError, match=r"Resize: size \(100000, 100000\)"):
        gm.datasets.ImageFolder(root, transform=chain)
    with pytest.raises(gm.ConfigError, match="100000"):
        chain(root / "a" / "a_0000.jpg")


@pytest.mark.parametrize("name", ["..", "../escape", "a/b", "/etc", "", ".hidden", "x\\y", "nul\0"])
def test_make_image_folder_refuses_names_that_are_not_one_folder(tmp_path, name):
    root = tmp_path / "inside" / "root"
    with pytest.raises(gm.ConfigError, match="class name"):
        make_image_folder(root, classes=(name,), per_class=1, size=8)
    assert not (tmp_path / "inside").exists() or not any((tmp_path / "inside").rglob("*.jpg"))
    assert not list(tmp_path.rglob("*.jpg"))

"""ImageFolder's scan against torchvision's (classes, order, extensions), its differences (hidden
entries), folder errors, samples as tensors, and stratified random_split."""
from collections import Counter

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import greymatter as gm


def write_png(path, value=128, size=(6, 5)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)


@pytest.fixture
def tree(tmp_path):
    """Nested class folders whose sorted-walk order is easy to get wrong ('sub' < 'sub-dir' <
    'sub/deeper')."""
    root = tmp_path / "root"
    for rel in [
        "b/x.JPG",
        "b/sub/y.png",
        "b/sub-dir/z.jpeg",
        "b/sub/deeper/w.png",
        "b/a.png",
        "a/1.png",
        "a/10.png",
        "a/2.PNG",
        "c d/only.bmp",
    ]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}.get(path.suffix.lower(), "PNG")
        Image.fromarray(np.full((5, 6, 3), 90, np.uint8)).save(path, format=fmt)
    (root / "a" / "notes.txt").write_text("not an image")
    return root


def test_scan_matches_torchvision(tree):
    ours = gm.datasets.ImageFolder(tree)
    ref = torchvision.datasets.ImageFolder(str(tree))
    assert ours.classes == ref.classes == ["a", "b", "c d"]
    assert ours.class_to_idx == ref.class_to_idx
    assert ours.samples == ref.samples and ours.imgs == ref.imgs
    assert ours.targets == ref.targets
    assert len(ours) == len(ref) == 9


def test_hidden_folders_and_files_are_ignored_unlike_torchvision(tree):
    write_png(tree / ".ipynb_checkpoints" / "a-checkpoint.png")
    write_png(tree / "a" / ".hidden.png")
    write_png(tree / "b" / ".cache" / "thumb.png")
    ours = gm.datasets.ImageFolder(tree)
    ref = torchvision.datasets.ImageFolder(str(tree))
    assert ref.classes[0] == ".ipynb_checkpoints"  # the torchvision pitfall this avoids
    assert ours.classes == ["a", "b", "c d"]
    assert all("/." not in path for path, _ in ours.samples)
    assert len(ours) == 9


def test_extensions_filter_case_insensitively(tree):
    ours = gm.datasets.ImageFolder(tree, extensions=(".PNG", ".bmp"))
    assert sorted(p.rsplit("/", 1)[1] for p, _ in ours.samples if "/a/" in p) == [
        "1.png",
        "10.png",
        "2.PNG",
    ]
    with pytest.raises(gm.DataError, match="c d"):  # the bmp-only class has no accepted file left
        gm.datasets.ImageFolder(tree, extensions=".jpg")


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(gm.DataError, match="does not exist") as e:
        gm.datasets.ImageFolder(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(e.value) and isinstance(e.value, ValueError)
    (tmp_path / "flat").mkdir()
    write_png(tmp_path / "flat" / "img.png")
    with pytest.raises(gm.DataError, match="no class folders"):
        gm.datasets.ImageFolder(tmp_path / "flat")
    write_png(tmp_path / "root" / "cats" / "1.png")
    (tmp_path / "root" / "dogs").mkdir()
    (tmp_path / "root" / "dogs" / "readme.txt").write_text("x")
    with pytest.raises(gm.DataError, match=r"class folder '.*root/dogs'"):
        gm.datasets.ImageFolder(tmp_path / "root")


def test_items_are_tensors_equal_to_torchvision_totensor(photo_folder):
    ds = gm.datasets.ImageFolder(photo_folder)
    ref = torchvision.datasets.ImageFolder(
        str(photo_folder), transform=torchvision.transforms.ToTensor()
    )
    for i in range(len(ds)):
        x, y = ds[i]
        rx, ry = ref[i]
        assert x.dtype == torch.float32 and y == ry
        torch.testing.assert_close(x, rx, rtol=0, atol=0)
    assert "ImageFolder" in repr(ds) and str(photo_folder) in repr(ds)


def test_stratified_random_split_keeps_class_proportions(photo_folder):
    ds = gm.datasets.ImageFolder(photo_folder)  # 3 classes x 8
    train, val = gm.random_split(ds, [0.75, 0.25], seed=3, stratify=True)
    assert sorted(train.indices + val.indices) == list(range(24))
    assert Counter(ds.targets[i] for i in val.indices) == {0: 2, 1: 2, 2: 2}
    assert Counter(ds.targets[i] for i in train.indices) == {0: 6, 1: 6, 2: 6}
    again, _ = gm.random_split(ds, [0.75, 0.25], seed=3, stratify=True)
    other, _ = gm.random_split(ds, [0.75, 0.25], seed=4, stratify=True)
    assert again.indices == train.indices and other.indices != train.indices
    # counts work too, and a split of a split keeps stratifying
    a, b = gm.random_split(train, [9, 9], seed=0, stratify=True)
    assert Counter(ds.targets[i] for i in a.indices) == {0: 3, 1: 3, 2: 3}
    torch.testing.assert_close(a[0][0], ds[a.indices[0]][0])
    # unstratified keeps torch's split
    u, _ = gm.random_split(ds, [0.75, 0.25], seed=3)
    ref, _ = torch.utils.data.random_split(
        range(24), [0.75, 0.25], generator=torch.Generator().manual_seed(3)
    )
    assert u.indices == list(ref)


def test_sample_folders_are_deterministic(tmp_path):
    from greymatter.sample_data import ALL_VARIANTS, make_image_folder

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    names = ("glioma", "meningioma", "notumor", "pituitary")
    a = make_image_folder(
        tmp_path / "a", classes=names, per_class=3, size=(20, 30), variants=ALL_VARIANTS, seed=5
    )
    b = make_image_folder(
        tmp_path / "b", classes=names, per_class=3, size=(20, 30), variants=ALL_VARIANTS, seed=5
    )
    c = make_image_folder(
        tmp_path / "c", classes=names, per_class=3, size=(20, 30), variants=ALL_VARIANTS, seed=6
    )
    assert files(a) == files(b) and files(a) != files(c)
    ds = gm.datasets.ImageFolder(a)
    assert ds.classes == sorted(names) and len(ds) == 12
    assert {Image.open(p).size for p, _ in ds.samples} == {(30, 20)}
    assert {Image.open(p).mode for p, _ in ds.samples} >= {"RGB", "L", "RGBA", "P"}
    with pytest.raises(ValueError, match="RGBA"):
        make_image_folder(tmp_path / "d", variants=[("jpg", "RGBA")])

"""Deterministic transforms (Resize, CenterCrop, Grayscale, ToTensor, Normalize) against torchvision
on PIL images: whole chains on real photos in every file variant within mean <= 1/255 and max <=
8/255 after un-normalizing, Pillow's resampling arithmetic reproduced exactly, the reduced JPEG
decode within that tolerance, and unsupported chains refused at construction."""
import json

import numpy as np
import pytest
import torch
import torchvision
import torchvision.transforms as TV
from PIL import Image

import greymatter as gm
from greymatter import _core
from greymatter import transforms as T
from conftest import max_and_mean_levels

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# (greymatter chain, torchvision chain) pairs, before ToTensor + Normalize.
CHAINS = {
    "resize-short-side+crop": (
        [T.Resize(48), T.CenterCrop(40)],
        [TV.Resize(48), TV.CenterCrop(40)],
    ),
    "resize-hw": ([T.Resize((30, 50))], [TV.Resize((30, 50))]),
    "resize-max-size": (
        [T.Resize(24, max_size=30), T.CenterCrop(24)],
        [TV.Resize(24, max_size=30), TV.CenterCrop(24)],
    ),
    "upscale-bicubic": (
        [T.Resize((130, 70), interpolation=T.InterpolationMode.BICUBIC)],
        [TV.Resize((130, 70), interpolation=TV.InterpolationMode.BICUBIC)],
    ),
    "nearest": (
        [T.Resize((33, 21), interpolation=TV.InterpolationMode.NEAREST)],
        [TV.Resize((33, 21), interpolation=TV.InterpolationMode.NEAREST)],
    ),
    "crop-with-padding": ([T.CenterCrop((90, 71))], [TV.CenterCrop((90, 71))]),
    "grey-then-resize": (
        [T.Grayscale(), T.Resize((32, 32))],
        [TV.Grayscale(), TV.Resize((32, 32))],
    ),
    "resize-then-grey3": (
        [T.Resize((32, 40)), T.Grayscale(3)],
        [TV.Resize((32, 40)), TV.Grayscale(3)],
    ),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chains_on_real_photos_match_torchvision(photo_folder, name):
    ours_steps, ref_steps = CHAINS[name]
    grey = any(isinstance(t, T.Grayscale) and t.num_output_channels == 1 for t in ours_steps)
    mean, std = (MEAN[:1], STD[:1]) if grey else (MEAN, STD)
    ds = gm.datasets.ImageFolder(
        photo_folder, transform=T.Compose(ours_steps + [T.ToTensor(), T.Normalize(mean, std)])
    )
    ref = torchvision.datasets.ImageFolder(
        str(photo_folder),
        transform=TV.Compose(ref_steps + [TV.ToTensor(), TV.Normalize(mean, std)]),
    )
    for i in range(len(ds)):
        ours, ref_x = ds[i][0], ref[i][0]
        assert ours.shape == ref_x.shape, ds.samples[i][0]
        worst, mean_diff = max_and_mean_levels(ours, ref_x, std)
        assert mean_diff <= 1.0 and worst <= 8.0, (ds.samples[i][0], worst, mean_diff)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_resampling_is_pillows_arithmetic_exactly(mode):
    # Noise is the worst case for rounding: any difference in weights or rounding shows up.
    rng = np.random.default_rng(0)
    interpolation = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[mode]
    for (h, w), (oh, ow) in [
        ((37, 53), (10, 17)),
        ((64, 64), (64, 21)),
        ((20, 9), (61, 30)),
        ((300, 7), (3, 7)),
        ((5, 5), (1, 1)),
        ((48, 40), (47, 41)),
    ]:
        for channels in (1, 3):
            array = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
            pil = Image.fromarray(array[..., 0] if channels == 1 else array)
            expected = np.asarray(pil.resize((ow, oh), interpolation), dtype=np.float32) / 255
            expected = torch.from_numpy(expected.reshape(oh, ow, channels)).permute(2, 0, 1)
            ours, _ = _core.run_transforms(
                torch.from_numpy(array),
                T.to_specs(T.Resize((oh, ow), interpolation=mode)),
                channels,
            )
            torch.testing.assert_close(
                ours, expected, rtol=0, atol=0, msg=f"{(h, w)} -> {(oh, ow)} x{channels}"
            )


def test_reduced_jpeg_decode_stays_within_tolerance(large_jpeg_folder):
    tf = T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor()])
    ds = gm.datasets.ImageFolder(large_jpeg_folder, transform=tf)
    ref = torchvision.datasets.ImageFolder(
        str(large_jpeg_folder),
        transform=TV.Compose([TV.Resize(32), TV.CenterCrop(32), TV.ToTensor()]),
    )
    full = _core.ImageFileSource(
        [p for p, _ in ds.samples],
        ds.targets,
        T.to_specs(tf),
        _core.ImageFileOptions(reduced_decode=False),
    )
    reduced_somewhere = False
    for i in range(len(ds)):
        worst, mean_diff = max_and_mean_levels(ds[i][0], ref[i][0])
        assert mean_diff <= 1.0 and worst <= 8.0, (ds.samples[i][0], worst, mean_diff)
        reduced_somewhere |= not torch.equal(ds[i][0], full.get(i)[0])
        torch.testing.assert_close(full.get(i)[0], ref[i][0], rtol=0, atol=0)  # full decode: exact
    assert reduced_somewhere  # the reduced decode path really ran


def test_transform_is_callable_on_pil_images_arrays_and_paths(photo_folder):
    path = sorted(photo_folder.rglob("*.jpg"))[0]
    tf = T.Compose([T.Resize(20), T.CenterCrop(16), T.ToTensor(), T.Normalize(MEAN, STD)])
    ref = TV.Compose([TV.Resize(20), TV.CenterCrop(16), TV.ToTensor(), TV.Normalize(MEAN, STD)])
    image = Image.open(path).convert("RGB")
    torch.testing.assert_close(tf(image), ref(image), rtol=0, atol=1e-6)
    torch.testing.assert_close(tf(np.asarray(image)), ref(image), rtol=0, atol=1e-6)
    torch.testing.assert_close(tf(str(path)), ref(image), rtol=0, atol=1e-6)
    grey = image.convert("L")  # torchvision keeps mode L as one channel
    torch.testing.assert_close(
        T.Compose([T.Resize(20), T.ToTensor()])(grey),
        TV.Compose([TV.Resize(20), TV.ToTensor()])(grey),
        rtol=0,
        atol=0,
    )


def test_unsupported_chains_are_refused_at_construction(photo_folder):
    cases = [
        ([T.ToTensor(), T.Resize(32)], "move it before ToTensor"),
        ([T.Normalize((0.5,), (0.5,)), T.ToTensor()], "after ToTensor"),
        (
            [T.Grayscale(), T.ToTensor(), T.Normalize(MEAN, STD)],
            "3 values but the images have 1 channels",
        ),
        ([T.RandomRotation(10, expand=True)], "expand=True"),
        ([T.RandomRotation(10, interpolation=T.InterpolationMode.BILINEAR)], "NEAREST"),
        ([T.ToTensor(), T.ToTensor()], "twice"),
    ]
    for chain, message in cases:
        with pytest.raises(gm.ConfigError, match=message):
            gm.datasets.ImageFolder(photo_folder, transform=T.Compose(chain))
    with pytest.raises(gm.ConfigError, match="greymatter.transforms.Resize instead"):
        T.Compose([TV.Resize(32)])
    with pytest.raises(gm.ConfigError, match="size"):
        T.Resize(0)
    with pytest.raises(gm.ConfigError, match="max_size"):
        T.Resize((32, 32), max_size=40)
    with pytest.raises(gm.ConfigError, match="hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(gm.ConfigError, match="scale"):
        T.RandomResizedCrop(32, scale=(1.0, 0.5))
    with pytest.raises(gm.ConfigError, match="interpolation"):
        T.Resize(32, interpolation="lanczos")


def test_idx_datasets_keep_totensor_and_normalize(tiny_mnist):
    root, images, _ = tiny_mnist
    ds = gm.datasets.MNIST(
        root=root, transform=T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    )
    ref = TV.Compose([TV.ToTensor(), TV.Normalize((0.1307,), (0.3081,))])
    torch.testing.assert_close(ds[5][0], ref(images[5]), rtol=0, atol=1e-6)


def test_draft_decoding_trades_a_few_levels_for_speed(large_jpeg_folder):
    # 384 -> 96 is a quarter: the exact mode decodes at full size, draft=True at half size.
    chain = [T.Resize(96), T.CenterCrop(96), T.ToTensor()]
    draft = gm.datasets.ImageFolder(large_jpeg_folder, transform=T.Compose(chain), draft=True)
    exact = gm.datasets.ImageFolder(large_jpeg_folder, transform=T.Compose(chain))
    ref = torchvision.datasets.ImageFolder(
        str(large_jpeg_folder),
        transform=TV.Compose([TV.Resize(96), TV.CenterCrop(96), TV.ToTensor()]),
    )
    differs = False
    for i in range(len(draft)):
        torch.testing.assert_close(exact[i][0], ref[i][0], rtol=0, atol=0)
        worst, mean_diff = max_and_mean_levels(draft[i][0], ref[i][0])
        assert mean_diff <= 1.0 and worst <= 16.0, (
            draft.samples[i][0],
            worst,
            mean_diff,
        )  # the documented bound
        differs |= not torch.equal(draft[i][0], exact[i][0])
    assert differs


def test_to_config_round_trips_every_transform_class_through_json():
    chain = T.Compose(
        [
            T.Resize(256),
            T.Resize((32, 48), interpolation=T.InterpolationMode.BICUBIC, antialias=True),
            T.Resize(40, interpolation=T.InterpolationMode.NEAREST, max_size=64),
            T.CenterCrop(24),
            T.CenterCrop((20, 22)),
            T.RandomResizedCrop(
                (16, 18),
                scale=(0.5, 0.9),
                ratio=(0.8, 1.25),
                interpolation=T.InterpolationMode.BICUBIC,
            ),
            T.RandomHorizontalFlip(p=0.3),
            T.RandomVerticalFlip(),
            T.RandomRotation((-5, 20), center=(3, 4), fill=(1, 2, 3)),
            T.RandomRotation(15, fill=7),
            T.ColorJitter(0.2, (0.5, 1.5), 0.1, hue=(-0.1, 0.2)),
            T.ColorJitter(contrast=0.3),
            T.Grayscale(num_output_channels=3),
            T.Grayscale(),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ]
    )
    steps = {
        c.__name__
        for c in vars(T).values()
        if isinstance(c, type)
        and issubclass(c, T.Transform)
        and c not in (T.Transform, T.Compose)
        and not c.__name__.startswith("_")
    }
    config = T.to_config(chain)
    assert {step["name"] for step in config} == steps  # a new transform class must join this test
    assert config[1] == {
        "name": "Resize",
        "size": [32, 48],
        "interpolation": "bicubic",
        "antialias": True,
    }
    assert config[8] == {
        "name": "RandomRotation",
        "degrees": [-5.0, 20.0],
        "interpolation": "nearest",
        "expand": False,
        "center": [3.0, 4.0],
        "fill": [1.0, 2.0, 3.0],
    }
    assert config[-1] == {"name": "Normalize", "mean": list(MEAN), "std": list(STD)}

    rebuilt = T.from_config(json.loads(json.dumps(config)))
    assert rebuilt == chain and repr(rebuilt) == repr(chain)
    assert T.to_specs(rebuilt) == T.to_specs(chain)  # what the C++ pipeline runs
    assert T.to_config(rebuilt) == config
    # Nested Composes flatten, as the pipeline runs them; no transform is T.Compose([]).
    assert T.from_config(
        T.to_config(T.Compose([T.Compose([T.Resize(8)]), T.ToTensor()]))
    ) == T.Compose([T.Resize(8), T.ToTensor()])
    assert T.to_config(None) == [] and T.from_config([]) == T.Compose([])


def test_equal_arguments_in_other_forms_give_equal_transforms():
    # torchvision's enum, a string or greymatter's enum; a tuple or a list: one description, so
    # chains read back from JSON compare equal to the ones written.
    assert (
        T.Resize(32, interpolation=TV.InterpolationMode.NEAREST)
        == T.Resize(32, interpolation="nearest")
        == T.Resize(32, interpolation=T.InterpolationMode.NEAREST)
    )
    assert T.RandomRotation(10, fill=(1, 2, 3)) == T.RandomRotation(10, fill=[1.0, 2.0, 3.0])
    assert (
        T.Resize(32, interpolation=TV.InterpolationMode.BICUBIC).interpolation
        is T.InterpolationMode.BICUBIC
    )


def test_from_config_errors_name_the_step():
    with pytest.raises(
        gm.ConfigError, match="unknown transform 'Lanczos'; known: ToTensor, Normalize"
    ):
        T.from_config([{"name": "Lanczos"}])
    with pytest.raises(gm.ConfigError, match="from_config: Resize: .*'sise'"):
        T.from_config([{"name": "Resize", "sise": 32}])
    with pytest.raises(gm.ConfigError, match="Resize size must be positive"):
        T.from_config([{"name": "Resize", "size": [0, 4]}])
    with pytest.raises(gm.ConfigError, match="a dict with a 'name' key"):
        T.from_config([["Resize", 32]])
    with pytest.raises(gm.ConfigError, match="takes a list"):
        T.from_config("Resize(32)")


def test_repr_reads_like_torchvisions():
    # What a learner sees in print(transform) and in best.json's "transforms": torchvision's text,
    # without greymatter's cached internals.
    pairs = [
        (T.ToTensor(), TV.ToTensor()),
        (T.Normalize((0.5,), (0.5,)), TV.Normalize((0.5,), (0.5,))),
        (T.Resize((32, 32)), TV.Resize((32, 32))),
        (T.Resize(32), TV.Resize(32)),
        (T.CenterCrop(24), TV.CenterCrop(24)),
        (T.RandomHorizontalFlip(), TV.RandomHorizontalFlip()),
        (T.RandomVerticalFlip(0.2), TV.RandomVerticalFlip(0.2)),
        (T.Grayscale(), TV.Grayscale()),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
    assert "_code" not in repr(T.Compose([T.RandomResizedCrop(32), T.RandomRotation(10)]))

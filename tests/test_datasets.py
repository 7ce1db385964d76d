"""IDX datasets against torchvision's readers and the raw files; random_split against torch's."""
import gzip

import pytest
import torch
import torchvision
from torchvision.datasets.mnist import read_image_file, read_label_file

import torchvision.transforms as TV
from PIL import Image

import greymatter as gm
from greymatter import transforms as T
from conftest import FASHION, max_and_mean_levels
from test_transforms_random import replay


def test_fashion_mnist_matches_torchvision(tmp_path):
    ds = gm.datasets.FashionMNIST(train=False)
    assert len(ds) == 10000
    # Reference: torchvision's own IDX readers over decompressed copies of the Debian files.
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / stem).write_bytes(gzip.open(FASHION / f"{stem}.gz").read())
    images = read_image_file(str(tmp_path / "t10k-images-idx3-ubyte"))
    labels = read_label_file(str(tmp_path / "t10k-labels-idx1-ubyte"))
    assert torch.equal(ds.data, images) and torch.equal(ds.targets, labels)
    for i in (0, 1, 9999):
        x, y = ds[i]
        assert x.shape == (1, 28, 28) and x.dtype == torch.float32
        torch.testing.assert_close(
            x, torchvision.transforms.ToTensor()(images[i].numpy()), rtol=0, atol=0
        )
        assert y == int(labels[i])
    assert ds.classes[9] == "Ankle boot" and ds.class_to_idx["Trouser"] == 1


def test_normalize_matches_torchvision(tiny_mnist):
    root, images, labels = tiny_mnist
    t = gm.transforms.Compose(
        [gm.transforms.ToTensor(), gm.transforms.Normalize((0.1307,), (0.3081,))]
    )
    ds = gm.datasets.MNIST(root=root, train=True, transform=t)
    ref = torchvision.transforms.Compose(
        [torchvision.transforms.ToTensor(), torchvision.transforms.Normalize((0.1307,), (0.3081,))]
    )
    for i in (0, 7, 199):
        torch.testing.assert_close(ds[i][0], ref(images[i]), rtol=0, atol=1e-6)
        assert ds[i][1] == int(labels[i])


def test_raw_and_gz_files_and_torchvision_layout(tiny_mnist, tmp_path):
    root, images, _ = tiny_mnist
    test = gm.datasets.MNIST(root=root, train=False)  # raw (uncompressed) files
    assert len(test) == 50
    nested = tmp_path / "nested" / "MNIST" / "raw"
    nested.mkdir(parents=True)
    for f in root.glob("*ubyte*"):
        (nested / f.name).write_bytes(f.read_bytes())
    assert len(gm.datasets.MNIST(root=tmp_path / "nested", train=True)) == 200


def test_missing_folder_names_what_was_looked_for(tmp_path):
    with pytest.raises(gm.DataError, match="train-images-idx3-ubyte") as e:
        gm.datasets.MNIST(root=tmp_path / "nope")
    assert str(tmp_path / "nope") in str(e.value)
    assert isinstance(e.value, ValueError)


def test_truncated_file_is_a_data_error_naming_it(tiny_mnist):
    root, _, _ = tiny_mnist
    path = root / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(gm.DataError, match="t10k-images-idx3-ubyte.*truncated"):
        gm.datasets.MNIST(root=root, train=False)


def test_unsupported_transform_is_a_config_error(tiny_mnist):
    class Resize(gm.transforms.Transform):
        pass

    with pytest.raises(gm.ConfigError, match="Resize"):
        gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.Compose([Resize()]))
    with pytest.raises(gm.ConfigError, match="mean"):
        gm.transforms.Normalize((0.5, 0.5), (0.5,))


def test_random_split_matches_torch(tiny_mnist):
    ds = gm.datasets.MNIST(root=tiny_mnist[0])
    a, b = gm.random_split(ds, [0.8, 0.2], seed=42)
    ra, rb = torch.utils.data.random_split(
        range(200), [0.8, 0.2], generator=torch.Generator().manual_seed(42)
    )
    assert a.indices == list(ra) and b.indices == list(rb)
    torch.testing.assert_close(a[3][0], ds[ra[3]][0])
    with pytest.raises(gm.ConfigError, match="add up"):
        gm.random_split(ds, [100, 50])


def test_idx_datasets_run_image_chains_like_torchvision_on_mode_l_images(tiny_mnist):
    root, images, _ = tiny_mnist
    chain = [
        T.RandomRotation(15),
        T.Resize((40, 40)),
        T.ColorJitter(0.3, 0.3),
        T.ToTensor(),
        T.Normalize((0.1307,), (0.3081,)),
    ]
    ds = gm.datasets.MNIST(root=root, transform=T.Compose(chain))
    finish = TV.Compose([TV.ToTensor(), TV.Normalize((0.1307,), (0.3081,))])
    for i in (0, 3, 199):
        for epoch in (0, 1):
            ours, _ = ds.source.get(i, epoch, 4)
            rotation, jitter = ds.source.trace(i, epoch, 4)  # the Resize between them draws nothing
            image = TV.functional.resize(
                replay(Image.fromarray(images[i], mode="L"), [rotation], None), [40, 40]
            )
            expected = finish(replay(image, [jitter], None))
            assert ours.shape == (1, 40, 40)
            worst, mean_diff = max_and_mean_levels(ours, expected, (0.3081,))
            assert mean_diff <= 1.0 and worst <= 8.0, (i, epoch, worst, mean_diff)
    loader = gm.DataLoader(ds, batch_size=50, shuffle=True, seed=0, num_workers=2)
    assert [tuple(x.shape) for x, _ in loader] == [(50, 1, 40, 40)] * 4


def test_fashion_mnist_upscaled_to_three_channels_matches_torchvision():
    chain = [
        T.Grayscale(3),
        T.Resize((64, 64)),
        T.ToTensor(),
        T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ]
    ds = gm.datasets.FashionMNIST(train=False, transform=T.Compose(chain))
    ref = TV.Compose(
        [
            TV.Grayscale(3),
            TV.Resize((64, 64)),
            TV.ToTensor(),
            TV.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    for i in (0, 1, 9999):
        expected = ref(Image.fromarray(ds.data[i].numpy(), mode="L"))
        torch.testing.assert_close(ds[i][0], expected, rtol=0, atol=1e-6)
    with pytest.raises(gm.ConfigError, match="3 values but the images have 1 channels"):
        gm.datasets.FashionMNIST(
            train=False, transform=T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
        )


def test_datasets_pickle_by_rebuilding(tiny_mnist, tmp_path):
    """Dask workers and process pools receive datasets by pickle: the copy is rebuilt from the
    constructor arguments and yields the same samples."""
    import pickle

    from greymatter.sample_data import make_image_folder

    tf = gm.transforms.Compose([gm.transforms.Resize((16, 16)), gm.transforms.ToTensor()])
    folder = gm.datasets.ImageFolder(
        make_image_folder(tmp_path / "f", classes=2, per_class=3, size=32), transform=tf
    )
    mnist = gm.datasets.MNIST(root=tiny_mnist[0], transform=gm.transforms.ToTensor())
    for ds in (mnist, folder, gm.random_split(mnist, [0.5, 0.5], seed=1)[1]):
        copy = pickle.loads(pickle.dumps(ds))
        assert type(copy) is type(ds) and len(copy) == len(ds) and copy.classes == ds.classes
        for i in (0, len(ds) - 1):
            assert torch.equal(copy[i][0], ds[i][0]) and copy[i][1] == ds[i][1]

"""gm.export: ONNX files of the built-in models and a plain nn.Module, checked with onnx.checker and
run in OpenCV's DNN module (a runtime that is not torch) on real images: Fashion-MNIST and photos
(greymatter.sample_data), against greymatter's own outputs; the metadata JSON beside them."""
import json
import warnings

import cv2
import numpy as np
import onnx
import pytest
import torch
from torch import nn

import greymatter as gm
from greymatter.models import IMAGENET_MEAN, IMAGENET_STD

T = gm.transforms


def photos(tmp_path, size, mean, std, n=6):
    from greymatter.sample_data import make_image_folder

    root = make_image_folder(tmp_path / "photos", classes=3, per_class=2, size=size + 20, seed=4)
    ds = gm.datasets.ImageFolder(
        root, transform=T.Compose([T.Resize((size, size)), T.ToTensor(), T.Normalize(mean, std)])
    )
    return torch.stack([ds[i][0] for i in range(min(n, len(ds)))]), ds.classes


def randomize_running_stats(model) -> None:
    """Running statistics far from 0 and 1, so the exported eval-mode BatchNorm is exercised."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_mean"):
                t.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                t.uniform_(0.5, 2.0)


def run_in_opencv(path, x: torch.Tensor) -> torch.Tensor:
    net = cv2.dnn.readNetFromONNX(str(path))
    net.setInput(np.ascontiguousarray(x.numpy()))
    return torch.from_numpy(net.forward())


def check_export(model, path, x, **kwargs):
    """Exports, then checks the file here, independently of export's own checks."""
    mode = model.training
    meta = gm.export(model, path, tuple(x.shape[1:]), example=x, **kwargs)
    assert model.training == mode  # export runs in eval mode and puts the mode back
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    model.eval()
    with torch.no_grad():
        expected = model(x)
    got = run_in_opencv(path, x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() <= 1e-4
    # One image at a time too: the batch dimension is free.
    assert (run_in_opencv(path, x[:1]) - expected[:1]).abs().max().item() <= 1e-4
    assert json.loads(path.with_suffix(".json").read_text()) == meta
    return meta


def test_mnistnet_on_fashion_mnist(tmp_path):
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    test = gm.datasets.FashionMNIST(train=False, transform=tf)
    x = torch.stack([test[i][0] for i in range(32)])
    torch.manual_seed(0)
    model = gm.models.MNISTNet()
    meta = check_export(
        model, tmp_path / "mnist.onnx", x, classes=test.classes, mean=(0.5,), std=(0.5,)
    )
    assert meta["image"] == {"size": 28, "channels": 1, "mean": [0.5], "std": [0.5]}
    assert meta["classes"] == test.classes and meta["model"]["name"] == "MNISTNet"
    assert meta["input"]["shape"] == ["batch", 1, 28, 28]
    assert meta["output"] == {"name": "output", "probabilities": "softmax"}


def test_brain_tumor_cnn_on_photos(tmp_path):
    x, classes = photos(tmp_path, 128, (0.5,) * 3, (0.5,) * 3)
    torch.manual_seed(1)
    model = gm.models.BrainTumorCNN(num_classes=3)
    randomize_running_stats(model)
    model.train()  # export runs in eval mode (dropout off, running statistics)
    meta = check_export(model, tmp_path / "brain.onnx", x, classes=classes, mean=(0.5,), std=(0.5,))
    assert meta["image"] == {"size": 128, "channels": 3, "mean": [0.5] * 3, "std": [0.5] * 3}


def test_mobilenet_v2_transfer_classifier_on_photos(tmp_path):
    x, classes = photos(tmp_path, 224, IMAGENET_MEAN, IMAGENET_STD, n=4)
    torch.manual_seed(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbone weights (no weights file here)
        model = gm.models.TransferClassifier(num_classes=3, size_inner=32)
    randomize_running_stats(model)
    meta = check_export(
        model, tmp_path / "transfer.onnx", x, classes=classes, mean=IMAGENET_MEAN, std=IMAGENET_STD
    )
    assert meta["image"]["mean"] == list(IMAGENET_MEAN)
    assert meta["model"]["name"] == "TransferClassifier"


def test_untrained_batchnorms_fold_into_equal_biases_that_stay_separate_weights(tmp_path):
    """Default BatchNorm statistics fold into many equal conv biases, which torch stores once behind
    Identity nodes that OpenCV cannot run: export writes them as separate weights."""
    x, _ = photos(tmp_path, 64, IMAGENET_MEAN, IMAGENET_STD, n=3)
    torch.manual_seed(4)
    check_export(gm.models.mobilenet_v2(num_classes=3), tmp_path / "mobilenet.onnx", x)
    graph = onnx.load(str(tmp_path / "mobilenet.onnx")).graph
    assert "Identity" not in {n.op_type for n in graph.node}


def test_a_plain_module_and_a_binary_sigmoid_model(tmp_path):
    torch.manual_seed(3)
    plain = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 28 * 28, 5),
    )
    x = torch.randn(3, 1, 28, 28)
    meta = check_export(plain, tmp_path / "plain.onnx", x)
    assert meta["model"] == {"name": "Sequential"}
    assert meta["image"]["mean"] == [0.0] and meta["classes"] == []
    exam = gm.models.ExamModel(image_size=32)
    meta = check_export(exam, tmp_path / "exam.onnx", torch.randn(2, 3, 32, 32))
    assert meta["loss"] == "bce" and meta["output"]["probabilities"] == "none"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (28, 28)}, "input_shape must be"),
        ({"input_shape": "abc"}, "input_shape must be"),
        ({"input_shape": (1, 28, 28), "path": "model.pt"}, "writes an .onnx file"),
        ({"input_shape": (1, 28, 28), "mean": (0.1, 0.2)}, "mean/std need 1 or 1 values"),
        ({"input_shape": (1, 28, 28), "loss": "hinge"}, "unknown loss 'hinge'"),
        ({"input_shape": (1, 28, 28), "example": torch.zeros(2, 3, 28, 28)}, "example must be"),
    ],
)
def test_bad_arguments_are_config_errors_and_write_nothing(tmp_path, kwargs, message):
    kwargs = {"path": "model.onnx", **kwargs}
    kwargs["path"] = tmp_path / kwargs["path"]
    with pytest.raises(gm.ConfigError, match=message):
        gm.export(gm.models.MNISTNet(), **kwargs)
    assert list(tmp_path.iterdir()) == []

"""The torch.nn.Module surface of greymatter models, checked against what PyTorch's own modules do:
iteration, sub-modules, to()/train() returning self, dtype rules, save/load round trips, deepcopy
and pickling, the name registry, and a Python-built model trained by gm.Trainer."""
import copy

import pytest
import torch
import torchvision
from torch import nn

import greymatter as gm
from greymatter import transforms as T


def test_named_parameters_and_modules_iterate_like_pytorch():
    model, ref = gm.models.mobilenet_v2(width_mult=0.5), torchvision.models.mobilenet_v2(
        width_mult=0.5
    )
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert [n for n, _ in model.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in model.named_children()] == ["features", "classifier"]
    assert len(list(model.parameters())) == len(list(ref.parameters()))
    assert len(list(model.features.parameters())) == len(list(ref.features.parameters()))


def test_sub_modules_are_views_of_the_cpp_layers():
    model, ref = gm.models.mobilenet_v2(), torchvision.models.mobilenet_v2()
    model.load_state_dict(ref.state_dict())
    model.eval(), ref.eval()
    assert len(model.features) == len(ref.features) == 19
    assert repr(model.features[-1]) == repr(ref.features[-1])
    assert repr(model.classifier[1]) == "Linear(in_features=1280, out_features=1000, bias=True)"
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.features[0](x), ref.features[0](x))
        torch.testing.assert_close(model.features(x), ref.features(x))
        torch.testing.assert_close(
            model.features[:4](x), ref.features[:4](x)
        )  # activations of a prefix
        # Changing a sub-module's weight in place changes the model.
        model.classifier[1].bias.fill_(1.0)
        ref.classifier[1].bias.fill_(1.0)
        torch.testing.assert_close(model(x), ref(x))
    assert (
        model.classifier[1].weight.data_ptr()
        == model.state_dict()["classifier.1.weight"].data_ptr()
    )
    # PyTorch's layer attributes, as transfer-learning code reads them.
    pairs = [
        (model.classifier[1], ref.classifier[1]),
        (model.features[2].conv[1][0], ref.features[2].conv[1][0]),
        (model.features[0][1], ref.features[0][1]),
        (model.classifier[0], ref.classifier[0]),
    ]
    for ours, theirs in pairs:
        for attr in (
            "in_features",
            "out_features",
            "in_channels",
            "out_channels",
            "kernel_size",
            "stride",
            "padding",
            "dilation",
            "groups",
            "num_features",
            "eps",
            "momentum",
            "affine",
            "p",
        ):
            assert getattr(ours, attr, None) == getattr(theirs, attr, None), attr
    with pytest.raises(AttributeError):
        model.classifier[1].out_feature
    with pytest.raises(IndexError, match="out of range"):
        model.features[19]
    with pytest.raises(
        gm.ConfigError, match="cannot set MobileNetV2.classifier.*cannot be replaced"
    ):
        model.classifier = nn.Identity()
    with pytest.raises(gm.ConfigError, match="cannot set"):
        model.classifier[1].weight = nn.Parameter(torch.zeros(1000, 1280))


def test_viewing_a_sub_module_does_not_change_its_mode():
    with pytest.warns(
        UserWarning, match="random initial weights"
    ):  # frozen without weights= learns nothing
        model = gm.models.TransferClassifier(num_classes=2)  # frozen: base_model in eval mode
    model.train()
    for _ in range(2):
        assert not model.base_model.training and not model.base_model.features[3].training
    assert model.output_layer.training


def test_to_train_eval_return_self_and_follow_pytorch_dtype_rules():
    model = gm.models.BrainTumorCNN(image_size=32)
    assert model.to("cpu") is model and model.to(torch.device("cpu")) is model
    assert model.eval() is model and not model.training
    assert model.train() is model and model.training
    assert model.double() is model
    sd = model.state_dict()
    assert sd["conv1.weight"].dtype == torch.float64
    assert (
        sd["bn1.num_batches_tracked"].dtype == torch.int64
    )  # integer buffers keep their dtype, as in PyTorch
    assert model(torch.randn(2, 3, 32, 32, dtype=torch.float64)).dtype == torch.float64
    model.to(dtype=torch.float32)
    assert model.state_dict()["fc2.bias"].dtype == torch.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(torch.int32)


def test_torch_save_load_round_trip_with_batchnorm_buffers(tmp_path):
    model = gm.models.BrainTumorCNN(image_size=32)
    x = torch.randn(4, 3, 32, 32)
    model(x)  # train mode: updates running statistics and num_batches_tracked
    torch.save(model.state_dict(), tmp_path / "model.pth")
    loaded = gm.models.BrainTumorCNN(image_size=32)
    assert loaded.load_state_dict(torch.load(tmp_path / "model.pth")) == ([], [])
    assert loaded.state_dict()["bn3.num_batches_tracked"].item() == 1
    model.eval(), loaded.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_load_state_dict_reports_and_hints():
    model = gm.models.SimpleCNN()
    sd = model.state_dict()
    report = model.load_state_dict(
        {"conv1.weight": sd["conv1.weight"], "extra": torch.zeros(1)}, strict=False
    )
    assert report.missing_keys == [
        "conv1.bias",
        "fc1.weight",
        "fc1.bias",
    ] and report.unexpected_keys == ["extra"]
    with pytest.raises(gm.ConfigError, match="strip the 'module.' prefix"):
        model.load_state_dict({"module." + k: v for k, v in sd.items()})


def test_deepcopy_and_pickling_rebuild_the_model(tmp_path):
    model = gm.models.MNISTCNN(batch_norm=True, dropout=0.2).eval()
    x = torch.randn(3, 1, 28, 28)
    clone = copy.deepcopy(model)
    torch.save(model, tmp_path / "whole.pth")
    whole = torch.load(tmp_path / "whole.pth")
    for other in (clone, whole):
        assert type(other) is gm.models.MNISTCNN and not other.training
        with torch.no_grad():
            torch.testing.assert_close(other(x), model(x), rtol=0, atol=0)
    with torch.no_grad():
        clone.fc2.bias.add_(1.0)
    assert not torch.equal(clone.fc2.bias, model.fc2.bias)


@pytest.mark.parametrize(
    "name,kwargs,cls",
    [
        ("mnistnet", {"hidden": [32]}, gm.models.MNISTNet),
        ("simplecnn", {"in_channels": 3}, gm.models.SimpleCNN),
        ("mnistcnn", {"batch_norm": True}, gm.models.MNISTCNN),
        ("examnet", {"image_size": 40}, gm.models.ExamModel),
        ("exammodel", {}, gm.models.ExamModel),
        ("braintumorcnn", {"image_size": 64, "num_classes": 2}, gm.models.BrainTumorCNN),
        ("mobilenet_v2", {"num_classes": 5, "width_mult": 0.5}, gm.models.MobileNetV2),
        (
            "transfer",
            {"num_classes": 3, "size_inner": 10, "freeze": False},
            gm.models.TransferClassifier,
        ),
    ],
)
def test_registry_builds_and_configs_rebuild(name, kwargs, cls):
    model = gm.models.get_model(name, **kwargs)
    assert type(model) is cls
    rebuilt = gm.models.from_config(model.config)
    assert type(rebuilt) is cls and repr(rebuilt) == repr(model)
    assert rebuilt.load_state_dict(model.state_dict()) == ([], [])


def test_registry_errors_name_the_choices():
    with pytest.raises(
        gm.ConfigError, match="unknown model 'resnet'; choose one of: mnistnet, simplecnn"
    ):
        gm.models.get_model("resnet")
    with pytest.raises(gm.ConfigError, match="braintumorcnn.*hidden_size"):
        gm.models.get_model("braintumorcnn", hidden_size=3)
    with pytest.raises(gm.ConfigError, match="'name'"):
        gm.models.from_config({"num_classes": 3})


def test_a_python_built_cnn_trains_with_the_trainer():
    full = gm.datasets.FashionMNIST(train=True, transform=T.ToTensor())
    train, val = gm.Subset(full, range(0, 2000)), gm.Subset(full, range(2000, 2500))
    torch.manual_seed(0)
    model = gm.models.MNISTCNN(channels=(8, 16), hidden=32)
    tr = gm.Trainer(model, lr=2e-3, progress=False)
    hist = tr.fit(
        gm.DataLoader(train, batch_size=64, shuffle=True, seed=0),
        gm.DataLoader(val, batch_size=250),
        epochs=1,
    )
    assert hist.column("val_acc")[0] > 0.5  # chance is 0.1
    x = torch.stack([full[i][0] for i in range(2000, 2250)])
    y = torch.tensor([full[i][1] for i in range(2000, 2250)])
    with torch.no_grad():
        acc = (model.eval()(x).argmax(1) == y).float().mean().item()
    assert acc > 0.5

"""MobileNetV2 against torchvision's and TransferClassifier against the tutorial's
ClothingClassifierMobileNet: same printout, keys, outputs and gradients; weights from torch hub's
folder or a path, never downloaded; a frozen backbone stays in eval mode without autograd. Small
inputs (64x64) keep this fast on CPU."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

import greymatter as gm
from test_models_support import (
    ClothingClassifierMobileNet,
    assert_equivalent,
    fit_batch,
    max_rel_diff,
    randomize_batchnorm,
)


@pytest.fixture(scope="module")
def torchvision_state():
    torch.manual_seed(0)
    ref = torchvision.models.mobilenet_v2(weights=None)
    randomize_batchnorm(ref)
    return ref.state_dict()


def test_printout_and_keys_are_torchvisions():
    ref = torchvision.models.mobilenet_v2(weights=None, num_classes=7, width_mult=0.5)
    model = gm.models.mobilenet_v2(num_classes=7, width_mult=0.5)
    assert repr(model) == repr(ref)
    assert list(model.state_dict()) == list(ref.state_dict())
    assert [tuple(t.shape) for t in model.state_dict().values()] == [
        tuple(t.shape) for t in ref.state_dict().values()
    ]
    assert model.num_parameters() == sum(p.numel() for p in ref.parameters())


def test_mobilenet_v2_matches_torchvision():
    torch.manual_seed(1)
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([3, 7])
    assert_equivalent(
        gm.models.mobilenet_v2(num_classes=10),
        torchvision.models.mobilenet_v2(num_classes=10),
        x,
        F.cross_entropy,
        y,
    )


def test_init_follows_torchvision():
    torch.manual_seed(0)
    sd = gm.models.mobilenet_v2().state_dict()
    w = sd["features.18.0.weight"]  # (1280, 320, 1, 1): kaiming normal, fan_out = 1280
    assert abs(w.std().item() - (2.0 / 1280) ** 0.5) < 0.002 and abs(w.mean().item()) < 0.001
    assert abs(sd["classifier.1.weight"].std().item() - 0.01) < 0.0005
    assert (sd["classifier.1.bias"] == 0).all() and (sd["features.0.1.weight"] == 1).all()
    assert (sd["features.0.1.bias"] == 0).all()


def test_weights_from_a_path_and_from_torch_hub(tmp_path, monkeypatch, torchvision_state):
    torch.save(torchvision_state, tmp_path / "mine.pth")
    ref = torchvision.models.mobilenet_v2()
    ref.load_state_dict(torchvision_state)
    ref.eval()
    x = torch.randn(2, 3, 64, 64)
    model = gm.models.mobilenet_v2(weights=str(tmp_path / "mine.pth")).eval()
    with torch.no_grad():
        assert (model(x) - ref(x)).abs().max().item() <= 1e-4

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    with pytest.raises(
        gm.DataError,
        match=f"not found at {expected}.*never downloads.*copy mobilenet_v2-b0353104.pth",
    ):
        gm.models.mobilenet_v2(weights="IMAGENET1K_V1")
    expected.parent.mkdir(parents=True)
    torch.save(torchvision_state, expected)
    hub = gm.models.mobilenet_v2(weights="IMAGENET1K_V1").eval()
    torch.testing.assert_close(hub.state_dict(), model.state_dict(), rtol=0, atol=0)

    # Another class count: the features load, the classifier starts fresh with the new shape.
    ten = gm.models.mobilenet_v2(weights="IMAGENET1K_V1", num_classes=10)
    assert ten.state_dict()["classifier.1.weight"].shape == (10, 1280)
    torch.testing.assert_close(
        ten.state_dict()["features.17.conv.2.weight"],
        torchvision_state["features.17.conv.2.weight"],
        rtol=0,
        atol=0,
    )


def test_bad_weights_are_clear_errors(tmp_path):
    with pytest.raises(gm.DataError, match="weights file not found: .*nope.pth"):
        gm.models.mobilenet_v2(weights=str(tmp_path / "nope.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(gm.DataError, match="cannot read weights from .*junk.pth"):
        gm.models.mobilenet_v2(weights=str(tmp_path / "junk.pth"))
    torch.save(torchvision.models.mobilenet_v2(width_mult=0.5).state_dict(), tmp_path / "half.pth")
    with pytest.raises(gm.ConfigError, match="shape mismatch"):
        gm.models.mobilenet_v2(weights=str(tmp_path / "half.pth"))
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(gm.ConfigError, match="not a MobileNetV2 state_dict"):
        gm.models.mobilenet_v2(weights=str(tmp_path / "other.pth"))
    with pytest.raises(gm.ConfigError, match="weights must be"):
        gm.models.mobilenet_v2(weights=3)


@pytest.mark.parametrize("size_inner,dropout", [(None, 0.0), (32, 0.2)])
def test_transfer_classifier_matches_the_tutorial(size_inner, dropout, torchvision_state):
    torch.manual_seed(2)
    ref = ClothingClassifierMobileNet(size_inner=size_inner, num_classes=5, dropout=dropout)
    ref.base_model.load_state_dict(
        {k: v for k, v in torchvision_state.items() if k.startswith("features.")}
    )
    with pytest.warns(
        UserWarning, match="random initial weights"
    ):  # the tutorial's weights are loaded next
        model = gm.models.TransferClassifier(num_classes=5, size_inner=size_inner, dropout=dropout)
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict(ref.state_dict())
    x, y = torch.randn(3, 3, 64, 64), torch.tensor([0, 4, 2])

    model.eval(), ref.eval()
    with torch.no_grad():
        assert (model(x) - ref(x)).abs().max().item() <= 1e-4
        f = model.forward_features(x)
        assert f.shape == (3, 1280)
        torch.testing.assert_close(model.forward_head(f), model(x), rtol=0, atol=0)

    # Training with a frozen backbone: ours keeps it in eval mode, so compare with the tutorial's
    # model whose backbone is put in eval mode by hand.
    model.train(), ref.train(), ref.base_model.eval()
    assert model.training and not model.base_model.training and model.frozen
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    losses = []
    for net in (model, ref):
        torch.manual_seed(5)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) <= 1e-4
    ref_params = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        if name.startswith("base_model."):
            assert not p.requires_grad and p.grad is None, name
        else:
            assert max_rel_diff(p.grad, ref_params[name].grad) <= 1e-4, name
    assert all(
        torch.equal(model.state_dict()[k], v) for k, v in before.items()
    )  # BN statistics untouched
    assert not model.forward_features(x).requires_grad  # no graph through the frozen backbone


def test_unfreeze_trains_the_backbone_like_the_tutorial(torchvision_state):
    torch.manual_seed(3)
    ref = ClothingClassifierMobileNet(size_inner=16, num_classes=3)
    ref.base_model.load_state_dict(
        {k: v for k, v in torchvision_state.items() if k.startswith("features.")}
    )
    for p in ref.parameters():
        p.requires_grad = True
    model = gm.models.TransferClassifier(num_classes=3, size_inner=16, freeze=False)
    assert not model.frozen and all(p.requires_grad for p in model.parameters())
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([0, 2])
    assert_equivalent(model, ref, x, F.cross_entropy, y)

    model.freeze()
    assert model.frozen and model.num_parameters(trainable_only=True) == 1280 * 16 + 16 + 16 * 3 + 3
    model.train()
    assert not model.base_model.training
    model.unfreeze().train()
    assert (
        model.base_model.training
        and model.num_parameters(trainable_only=True) == model.num_parameters()
    )


def test_transfer_classifier_weights_and_options(tmp_path, torchvision_state):
    torch.save(torchvision_state, tmp_path / "tv.pth")
    model = gm.models.TransferClassifier(num_classes=4, weights=str(tmp_path / "tv.pth"))
    torch.testing.assert_close(
        model.state_dict()["base_model.features.5.conv.1.0.weight"],
        torchvision_state["features.5.conv.1.0.weight"],
        rtol=0,
        atol=0,
    )
    # A TransferClassifier checkpoint's base_model.* keys load as a backbone too.
    torch.save(model.state_dict(), tmp_path / "clf.pth")
    again = gm.models.TransferClassifier(num_classes=2, weights=str(tmp_path / "clf.pth"))
    torch.testing.assert_close(
        again.state_dict()["base_model.features.0.0.weight"],
        torchvision_state["features.0.0.weight"],
        rtol=0,
        atol=0,
    )
    with pytest.raises(
        gm.ConfigError, match="unknown backbone 'resnet18'; available: mobilenet_v2"
    ):
        gm.models.TransferClassifier(backbone="resnet18")
    with pytest.raises(gm.ConfigError, match="size_inner"):
        gm.models.TransferClassifier(size_inner=0)
    assert (
        gm.models.TransferClassifier(size_inner=np.int64(10), freeze=False).inner.out_features == 10
    )  # sweep grids
    with pytest.raises(
        ValueError, match=r"forward_head expects input of shape \(B, 1280\).*got \[2, 100\]"
    ):
        model.forward_head(torch.randn(2, 100))
    with pytest.raises(
        ValueError, match=r"MobileNetV2 expects input of shape \(B, 3, H, W\).*got \[2, 1, 64, 64\]"
    ):
        model(torch.randn(2, 1, 64, 64))


def test_a_frozen_backbone_without_weights_warns_at_the_users_line(tmp_path, torchvision_state):
    message = (
        r"TransferClassifier\(weights=None, freeze=True\).*learns almost nothing.*"
        r"weights='path/to/.*\.pth'.*freeze=False"
    )
    for build in (
        lambda: gm.models.TransferClassifier(num_classes=3),
        lambda: gm.models.get_model("transfer", num_classes=3),
    ):  # through the registry, as sweeps do
        with pytest.warns(UserWarning, match=message) as record:
            build()
        assert [w.filename for w in record] == [__file__]  # the user's line, not greymatter's
    torch.save(torchvision_state, tmp_path / "tv.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gm.models.TransferClassifier(num_classes=3, freeze=False)
        model = gm.models.TransferClassifier(num_classes=3, weights=str(tmp_path / "tv.pth"))
        # Rebuilding a saved model (checkpoint, deepcopy, pickle) loads its weights next: no
        # warning.
        gm.models.from_config(model.config)
        copy.deepcopy(model)


def test_plain_loop_trains_mobilenet_and_transfer_head():
    torch.manual_seed(4)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 3, (8,))
    losses = fit_batch(
        gm.models.mobilenet_v2(num_classes=3, dropout=0.0), x, y, F.cross_entropy, steps=15
    )
    assert losses[-1] < 0.5 * losses[0], losses
    # Unfrozen: a randomly initialised backbone's pooled features barely depend on the input, so
    # only fine-tuning can fit the batch (the frozen head's gradients are checked above).
    model = gm.models.TransferClassifier(num_classes=3, size_inner=32, freeze=False)
    losses = fit_batch(model, x, y, F.cross_entropy, steps=15)
    assert losses[-1] < 0.5 * losses[0], losses


def test_deepcopy_keeps_weights_and_frozen_state():
    with pytest.warns(UserWarning, match="random initial weights"):
        model = gm.models.TransferClassifier(num_classes=3, size_inner=8)
    model.unfreeze()  # the clone must follow the state, not the config's freeze=True
    model.base_model.features[0][0].weight.data.mul_(2)
    clone = copy.deepcopy(model.eval())
    assert type(clone) is gm.models.TransferClassifier and not clone.frozen and not clone.training
    torch.testing.assert_close(clone.state_dict(), model.state_dict(), rtol=0, atol=0)
    clone.output_layer.weight.data.zero_()  # independent tensors
    assert model.output_layer.weight.abs().sum() > 0

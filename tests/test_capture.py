"""Activations and gradients of named layers (gm.models.capture), Grad-CAM and feature maps of
greymatter models against the same weights in plain PyTorch models read with ordinary forward
hooks, written here; on real photos (greymatter.sample_data)."""
import warnings

import pytest
import torch
import torch.nn.functional as F
import torchvision

import greymatter as gm
from greymatter.models import capture
from test_models_support import (
    ClothingClassifierMobileNet,
    TutorialBrainTumorCNN,
    max_rel_diff,
    randomize_batchnorm,
)

T = gm.transforms


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Four transformed 128x128 RGB photos (one per class) and the Normalize they went through."""
    from greymatter.sample_data import make_image_folder

    root = make_image_folder(
        tmp_path_factory.mktemp("photos"), classes=4, per_class=1, size=160, seed=3
    )
    tf = T.Compose([T.Resize((128, 128)), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    ds = gm.datasets.ImageFolder(root, transform=tf)
    return torch.stack([ds[i][0] for i in range(len(ds))])


@pytest.fixture(scope="module")
def brain_pair():
    torch.manual_seed(0)
    ref = TutorialBrainTumorCNN(image_size=128)
    randomize_batchnorm(ref)
    model = gm.models.BrainTumorCNN(image_size=128)
    model.load_state_dict(ref.state_dict())
    return model.eval(), ref.eval()


def hooked(ref, x, modules):
    """The reference: ``ref(x)`` with ordinary forward hooks storing each module's output."""
    store = {}
    handles = [
        m.register_forward_hook(lambda mod, inp, out, name=name: store.__setitem__(name, out))
        for name, m in modules.items()
    ]
    try:
        out = ref(x)
    finally:
        for h in handles:
            h.remove()
    return out, store


def reference_gradcam(ref, x, module, target=None):
    """Grad-CAM as the recipe goes, on a plain PyTorch model with a forward hook."""
    out, store = hooked(ref, x, {"layer": module})
    a = store["layer"]
    target = int(out.argmax(1)) if target is None else target
    (grad,) = torch.autograd.grad(out[0, target], a)
    cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return (cam / cam.max() if cam.max() > 0 else cam).detach(), target


def test_capture_matches_forward_hooks_on_the_pytorch_model(brain_pair, photos):
    model, ref = brain_pair
    names = [f"{k}{i}" for i in range(1, 6) for k in ("conv", "bn")] + ["fc1", "fc2"]
    cap = capture(model, photos, names)
    out, store = hooked(ref, photos, {n: getattr(ref, n) for n in names})
    assert list(cap.activations) == names  # forward order
    assert cap.layers == names
    for name in names:
        assert cap.activations[name].shape == store[name].shape, name
        assert max_rel_diff(cap.activations[name], store[name]) <= 1e-4, name
    assert max_rel_diff(cap.output, out) <= 1e-4
    # Gradients of a class score with respect to inner layers. A max-pool window can hold two
    # maxima within rounding of each other (flat image regions), which the two models may resolve
    # differently, sending that gradient to the neighbour: compared are the per-map means, which
    # are what Grad-CAM uses, and the same either way.
    # Only after the last pooling (conv5, bn5) is nothing else between the layer and that window.
    ours = torch.autograd.grad(cap.output[:, 2].sum(), [cap.activations[n] for n in names[8:10]])
    theirs = torch.autograd.grad(out[:, 2].sum(), [store[n] for n in names[8:10]])
    for name, a, b in zip(names[8:10], ours, theirs):
        assert max_rel_diff(a.mean(dim=(2, 3)), b.mean(dim=(2, 3))) <= 1e-4, name


def test_taps_change_nothing_outside_a_capture(brain_pair, photos):
    model, _ = brain_pair
    with torch.no_grad():
        before = model(photos)
        cap = capture(model, photos, "conv2")
        after = model(photos)
    torch.testing.assert_close(after, before, rtol=0, atol=0)
    torch.testing.assert_close(cap.output, before, rtol=0, atol=0)
    assert list(cap.activations) == ["conv2"] and not cap.activations["conv2"].requires_grad


def test_unknown_layers_name_the_ones_there_are(brain_pair, photos):
    model, _ = brain_pair
    with pytest.raises(gm.ConfigError, match=r"no layer 'conv9'.*conv1, bn1, conv2"):
        capture(model, photos, ["conv1", "conv9"])
    with pytest.raises(gm.ConfigError, match="has no layer 'conv9'.*conv1, bn1"):
        capture(TutorialBrainTumorCNN(), photos, "conv9")
    capture(model, photos, "conv1")  # a failed capture leaves nothing attached


def test_gradcam_equals_the_pytorch_recipe_on_the_same_weights(brain_pair, photos, tmp_path):
    model, ref = brain_pair
    model.train()  # gradcam runs in eval mode and puts the mode back
    for image in photos[:2]:
        fig = gm.plots.gradcam(model, image, save=str(tmp_path / "cam.png"))
        expected, target = reference_gradcam(ref, image[None], ref.conv5)
        assert fig.layer == "conv5" and fig.target == target  # the last convolution
        assert fig.heatmap.shape == (128, 128)
        assert abs(fig.heatmap - expected.numpy()).max() <= 1e-4
        assert fig.heatmap.max() == pytest.approx(1.0)
    assert model.training
    model.eval()
    # Another layer and every class (a class without evidence there has an all-zero map); and the
    # same call on the plain PyTorch model (hooks).
    nonzero = 0
    for target in range(4):
        fig = gm.plots.gradcam(model, photos[3], layer="bn5", target=target, classes=list("abcd"))
        expected, _ = reference_gradcam(ref, photos[3:4], ref.bn5, target=target)
        assert fig.target == target and fig.layer == "bn5"
        assert abs(fig.heatmap - expected.numpy()).max() <= 1e-4, target
        fig_ref = gm.plots.gradcam(ref, photos[3], layer="bn5", target=target)
        assert abs(fig_ref.heatmap - expected.numpy()).max() <= 1e-4, target
        nonzero += bool(fig.heatmap.max() > 0)
    assert nonzero >= 2
    assert gm.plots.gradcam(ref, photos[0]).layer == "conv5"
    assert (tmp_path / "cam.png").stat().st_size > 0


def test_feature_maps_equal_the_hooked_layer_output(brain_pair, photos):
    model, ref = brain_pair
    fig = gm.plots.feature_maps(model, photos[1], n=8)
    _, store = hooked(ref, photos[1:2], {"conv1": ref.conv1})
    assert fig.layer == "conv1"  # the first convolution
    assert fig.maps.shape == (32, 128, 128)
    assert abs(fig.maps - store["conv1"][0].detach().numpy()).max() <= 1e-4
    fig = gm.plots.feature_maps(model, photos[1], layer="bn4")
    _, store = hooked(ref, photos[1:2], {"bn4": ref.bn4})
    assert abs(fig.maps - store["bn4"][0].detach().numpy()).max() <= 1e-4
    with pytest.raises(gm.ConfigError, match=r"fc1 gives \(1, 256\)"):
        gm.plots.feature_maps(model, photos[1], layer="fc1")


def test_mobilenet_blocks_are_captured_by_their_torchvision_names(photos):
    torch.manual_seed(1)
    ref = torchvision.models.mobilenet_v2(num_classes=4)
    randomize_batchnorm(ref)
    model = gm.models.mobilenet_v2(num_classes=4)
    model.load_state_dict(ref.state_dict())
    model.eval(), ref.eval()
    x = F.interpolate(photos[:2], size=(64, 64), mode="bilinear", align_corners=False)
    names = [f"features.{i}" for i in range(19)]
    cap = capture(model, x)
    assert cap.layers == names + ["classifier"]
    _, store = hooked(ref, x, {n: ref.features[i] for i, n in enumerate(names)})
    for name in names:
        assert max_rel_diff(cap.activations[name], store[name]) <= 1e-4, name


def test_gradcam_through_a_frozen_transfer_backbone(photos):
    torch.manual_seed(2)
    ref = ClothingClassifierMobileNet(size_inner=16, num_classes=4)
    randomize_batchnorm(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbone weights: loaded from ref next
        model = gm.models.TransferClassifier(num_classes=4, size_inner=16)
    model.load_state_dict(ref.state_dict())
    model.eval(), ref.eval()
    x = F.interpolate(photos[2:3], size=(96, 96), mode="bilinear", align_corners=False)
    fig = gm.plots.gradcam(model, x)
    assert fig.layer == "base_model.features.18"
    # The reference needs its input to require grad: its frozen backbone builds no graph.
    expected, target = reference_gradcam(
        ref, x.clone().requires_grad_(), ref.base_model.features[18]
    )
    assert fig.target == target
    assert abs(fig.heatmap - expected.numpy()).max() <= 1e-4
    assert model.frozen and not any(p.requires_grad for p in model.base_model.parameters())
    cap = capture(model, x, ["inner", "relu", "output_layer"])
    assert list(cap.activations) == ["inner", "relu", "output_layer"]
    assert torch.equal(cap.activations["relu"], cap.activations["inner"].relu())


def test_mlp_layers_and_errors_for_pictures_of_them():
    model = gm.models.MNISTNet(hidden=(32, 16))
    x = torch.randn(3, 1, 28, 28)
    cap = capture(model, x)
    assert cap.layers == ["fc1", "fc2", "fc3"]
    torch.testing.assert_close(cap.activations["fc1"], model.fc1(x.flatten(1)))
    torch.testing.assert_close(cap.activations["fc3"], cap.output)
    with pytest.raises(gm.ConfigError, match="no convolution layer"):
        gm.plots.gradcam(model, x[0])
    with pytest.raises(gm.ConfigError, match="one transformed image"):
        gm.plots.gradcam(model, x)
    with pytest.raises(gm.ConfigError, match="target must be a class index"):
        gm.plots.gradcam(gm.models.SimpleCNN(), x[0], target=10)


def test_binary_model_gradcam_uses_the_score_for_class_1_and_its_opposite_for_0():
    torch.manual_seed(3)
    model = gm.models.ExamModel(image_size=32).eval()
    x = torch.randn(3, 32, 32)
    one, zero = gm.plots.gradcam(model, x, target=1), gm.plots.gradcam(model, x, target=0)
    cap = capture(model.eval(), x[None], "conv1")
    (grad,) = torch.autograd.grad(cap.output[0, 0], cap.activations["conv1"])
    a = cap.activations["conv1"]
    for fig, sign in ((one, 1.0), (zero, -1.0)):
        cam = F.relu((sign * grad.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=(32, 32), mode="bilinear", align_corners=False)[0, 0]
        expected = cam / cam.max() if cam.max() > 0 else cam
        assert abs(fig.heatmap - expected.detach().numpy()).max() <= 1e-4
    p = float(cap.output[0, 0])
    assert gm.plots.gradcam(model, x).target == int(p > 0.5)

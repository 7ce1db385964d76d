"""Test-time augmentation in the engine's predict/evaluate loops (and the Python loop for plain
modules) against the mean of the passes over flipped and cropped images computed by hand."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import greymatter as gm
from greymatter import _core

T = gm.transforms


class PlainSimpleCNN(nn.Module):  # SimpleCNN in PyTorch: the Trainer runs it in its Python loop
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 14 * 14, 10)

    def forward(self, x):
        return self.fc1(F.max_pool2d(F.relu(self.conv1(x)), 2).flatten(1))


@pytest.fixture(scope="module")
def fashion_test():
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    ds = gm.Subset(gm.datasets.FashionMNIST(train=False, transform=tf), range(300))
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    y = torch.tensor([ds[i][1] for i in range(len(ds))])
    return ds, x, y


def mean_softmax(model, views):
    with torch.no_grad():
        return torch.stack([F.softmax(model(v), dim=1) for v in views]).mean(0)


def five_crops(x, scale=0.875):
    h, w = x.shape[-2:]
    ch, cw = int(scale * h + 0.5), int(scale * w + 0.5)  # 24.5 rounds up to 25
    corners = [(0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw), ((h - ch) // 2, (w - cw) // 2)]
    return [
        F.interpolate(x[..., t : t + ch, s : s + cw], size=(h, w), mode="bilinear")
        for t, s in corners
    ]


@pytest.mark.parametrize("make", [gm.models.SimpleCNN, PlainSimpleCNN], ids=["engine", "torch"])
def test_hflip_tta_is_the_mean_of_the_two_passes(fashion_test, make):
    ds, x, y = fashion_test
    torch.manual_seed(0)
    model = make()
    tr = gm.Trainer(model, progress=False)
    loader = gm.DataLoader(ds, batch_size=64)
    model.eval()
    expected = mean_softmax(model, [x, x.flip(3)])
    probs, labels = tr.predict(loader, tta="hflip")
    assert torch.equal(labels, y)
    torch.testing.assert_close(probs, expected, rtol=0, atol=1e-6)
    plain, _ = tr.predict(loader)  # the next call runs without TTA again
    torch.testing.assert_close(plain, mean_softmax(model, [x]), rtol=0, atol=1e-6)
    assert (plain - probs).abs().max() > 1e-3  # the flip does change the answer
    # evaluate scores the averaged probabilities: their cross-entropy and argmax.
    result = tr.evaluate(loader, tta=["hflip"])
    assert result["loss"] == pytest.approx(F.nll_loss(expected.log(), y).item(), rel=1e-5)
    assert result["accuracy"] == pytest.approx((expected.argmax(1) == y).float().mean().item())
    top = tr.predict_topk(x[:3], k=1, tta="hflip")
    assert [p for ((_, p),) in top] == pytest.approx(expected[:3].max(1).values.tolist(), abs=1e-6)


def test_vflip_and_crops_add_their_views(fashion_test):
    ds, x, _ = fashion_test
    torch.manual_seed(1)
    model = gm.models.SimpleCNN()
    tr = gm.Trainer(model, progress=False)
    model.eval()
    probs, _ = tr.predict(gm.DataLoader(ds, batch_size=100), tta=["vflip", "crops"])
    expected = mean_softmax(model, [x, x.flip(2)] + five_crops(x))
    torch.testing.assert_close(probs, expected, rtol=0, atol=1e-6)
    aug = _core.TtaAugmentation
    views = _core.TestTimeAugmentation([aug.HFLIP, aug.VFLIP, aug.CROPS])
    assert views.num_views == 8
    assert torch.equal(views.view(x[:2], 0), x[:2])
    assert torch.equal(views.view(x[:2], 1), x[:2].flip(3))


def test_binary_tta_averages_sigmoid_probabilities(fashion_test):
    ds, x, y = fashion_test
    keep = (y < 2).nonzero()[:, 0]
    torch.manual_seed(2)
    model = gm.models.MNISTNet(hidden=(8,), num_classes=1)
    tr = gm.Trainer(model, loss="bce_with_logits", progress=False)
    loader = gm.DataLoader(gm.Subset(ds, keep.tolist()), batch_size=16)
    probs, _ = tr.predict(loader, tta="hflip")
    with torch.no_grad():
        xs = x[keep]
        expected = (torch.sigmoid(model(xs)) + torch.sigmoid(model(xs.flip(3)))) / 2
    torch.testing.assert_close(probs, expected, rtol=0, atol=1e-6)
    result = tr.evaluate(loader, tta="hflip")
    bce = F.binary_cross_entropy(expected[:, 0].double(), y[keep].double()).item()
    assert result["loss"] == pytest.approx(bce, rel=1e-4)


def test_bad_tta_options_are_config_errors(fashion_test):
    ds, _, _ = fashion_test
    tr = gm.Trainer(gm.models.SimpleCNN(), progress=False)
    loader = gm.DataLoader(ds, batch_size=64)
    with pytest.raises(gm.ConfigError, match="unknown TTA augmentation 'rotate'.*hflip, vflip"):
        tr.predict(loader, tta="rotate")
    with pytest.raises(gm.ConfigError, match="listed twice"):
        tr.evaluate(loader, tta=["hflip", "hflip"])
    with pytest.raises(gm.ConfigError, match="tta takes"):
        tr.predict(loader, tta=3)
    with pytest.raises(gm.ConfigError, match="crop_scale"):
        _core.TestTimeAugmentation([_core.TtaAugmentation.CROPS], crop_scale=1.5)
    with pytest.raises(gm.ConfigError, match=r"\(B, C, H, W\)"):
        _core.TestTimeAugmentation([_core.TtaAugmentation.HFLIP]).view(torch.zeros(2, 784), 1)
    tr.predict(loader)  # a refused option leaves the trainer as it was

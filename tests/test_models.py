"""MNISTNet against the tutorial's PyTorch model: same logits, same state_dict keys, torch.optim
works."""
import pytest
import torch
from torch import nn

import greymatter as gm


def tutorial_mlp():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def test_logits_match_pytorch_sequential():
    ref = tutorial_mlp()
    m = gm.models.MNISTNet(hidden=(128, 64))
    seq_to_gm = {"1": "fc1", "3": "fc2", "5": "fc3"}
    m.load_state_dict(
        {f"{seq_to_gm[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in ref.state_dict().items()}
    )
    x = torch.rand(16, 1, 28, 28)
    assert (m(x) - ref(x)).abs().max().item() < 1e-5


def test_state_dict_keys_and_round_trip(tmp_path):
    m = gm.models.MNISTNet()
    assert list(m.state_dict()) == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
        "fc3.weight",
        "fc3.bias",
    ]
    torch.save(m.state_dict(), tmp_path / "model.pth")
    m2 = gm.models.MNISTNet()
    m2.load_state_dict(torch.load(tmp_path / "model.pth"))
    x = torch.rand(4, 784)
    torch.testing.assert_close(m(x), m2(x), rtol=0, atol=0)


def test_load_state_dict_reports_keys_and_shapes():
    m = gm.models.MNISTNet()
    sd = m.state_dict()
    sd["extra"] = torch.zeros(1)
    del sd["fc3.bias"]
    with pytest.raises(gm.ConfigError, match="fc3.bias.*extra"):
        m.load_state_dict(sd)
    report = m.load_state_dict(sd, strict=False)
    assert report.missing_keys == ["fc3.bias"] and report.unexpected_keys == ["extra"]
    with pytest.raises(gm.ConfigError, match="fc1.weight"):
        m.load_state_dict(gm.models.MNISTNet(hidden=(32, 64)).state_dict())


def test_plain_torch_optim_loop_lowers_the_loss():
    m = gm.models.MNISTNet(hidden=(64,))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]  # memorizes the batch


def test_wrong_input_shape_is_a_value_error():
    with pytest.raises(ValueError, match=r"784 values per sample, got \[2, 3, 28, 28\]"):
        gm.models.MNISTNet()(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match="floating-point tensor.*Byte"):
        gm.models.MNISTNet()(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_config_and_repr():
    m = gm.models.MNISTNet(hidden=(256,), dropout=0.1)
    assert "fc1" in repr(m) and "Linear(in_features=784, out_features=256" in repr(m)
    assert m.num_parameters() == 784 * 256 + 256 + 256 * 10 + 10
    with pytest.raises(gm.ConfigError, match="dropout"):
        gm.models.MNISTNet(dropout=1.5)

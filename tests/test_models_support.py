"""Helpers for the model tests (no tests here): load a plain-PyTorch reference's weights into a
greymatter model, compare outputs, gradients and BatchNorm statistics, and run the tutorials'
loop; the brain-tumour and transfer-learning tutorials' models written in plain PyTorch."""
import torch
import torch.nn.functional as F
import torchvision
from torch import nn


class TutorialBrainTumorCNN(nn.Module):  # five conv-bn-relu-pool blocks, fc1 -> dropout -> fc2
    def __init__(self, num_classes=4, image_size=128):
        super().__init__()
        widths = [3, 32, 64, 128, 256, 512]
        for i in range(1, 6):
            setattr(self, f"conv{i}", nn.Conv2d(widths[i - 1], widths[i], kernel_size=3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(widths[i]))
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(512 * (image_size // 32) ** 2, 256)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x):
        for i in range(1, 6):
            x = self.pool(F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x))))
        x = self.dropout(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


def randomize_batchnorm(ref: nn.Module) -> None:
    """Non-trivial running statistics and affine parameters, so eval mode exercises them."""
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def max_rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def assert_same_grads(model, ref: nn.Module) -> None:
    """Every gradient within 1e-4 relative. A conv bias just before a train-mode BatchNorm has an
    exact gradient of 0 (the BatchNorm subtracts it again); both sides then hold rounding noise, so
    such gradients (below 1e-4 of the largest) must only be negligible on both sides."""
    ref_params = dict(ref.named_parameters())
    largest = max(q.grad.abs().max().item() for q in ref_params.values() if q.grad is not None)
    for name, p in model.named_parameters():
        q = ref_params[name]
        if q.grad is None:
            assert p.grad is None, name
            continue
        assert p.grad is not None, name
        if q.grad.abs().max().item() < 1e-4 * largest:
            assert p.grad.abs().max().item() < 1e-4 * largest, name
        else:
            assert max_rel_diff(p.grad, q.grad) <= 1e-4, name


def assert_equivalent(
    model, ref: nn.Module, x: torch.Tensor, loss_fn, target: torch.Tensor, seed: int = 0
) -> None:
    """model gets ref's weights (strict: same key names, in the same order), then: eval outputs
    within 1e-4; in train mode, with the same dropout draws, losses and every gradient within 1e-4
    relative and the BatchNorm running statistics updated alike."""
    randomize_batchnorm(ref)
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict(ref.state_dict())

    model.eval(), ref.eval()
    with torch.no_grad():
        out, expected = model(x), ref(x)
    assert out.shape == expected.shape
    assert (out - expected).abs().max().item() <= 1e-4

    model.train(), ref.train()
    losses = []
    for net in (model, ref):
        net.zero_grad(set_to_none=True)
        torch.manual_seed(seed)  # the same dropout masks: both draw from the global generator
        loss = loss_fn(net(x), target)
        loss.backward()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) <= 1e-4 * max(1.0, abs(losses[1]))
    assert_same_grads(model, ref)
    ref_state = ref.state_dict()
    for name, t in model.state_dict().items():
        if "running" in name:
            assert max_rel_diff(t, ref_state[name]) <= 1e-4, name


def fit_batch(model, x: torch.Tensor, y: torch.Tensor, loss_fn, steps: int, lr: float = 1e-3):
    """The tutorials' five steps with torch.optim.Adam on one batch; returns the losses."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()  # 1. clear gradients
        outputs = model(x)  # 2. forward
        loss = loss_fn(outputs, y)  # 3. loss
        loss.backward()  # 4. backward
        optimizer.step()  # 5. update
        losses.append(loss.item())
    return losses


class ClothingClassifierMobileNet(nn.Module):  # the transfer-learning tutorial's model
    def __init__(self, size_inner=100, num_classes=10, dropout=0.0):
        super().__init__()
        self.base_model = torchvision.models.mobilenet_v2(weights=None)
        for p in self.base_model.parameters():
            p.requires_grad = False
        self.base_model.classifier = nn.Identity()
        self.inner = nn.Linear(1280, size_inner) if size_inner else None
        self.relu = nn.ReLU() if size_inner else None
        self.dropout = nn.Dropout(dropout) if dropout else None
        self.output_layer = nn.Linear(size_inner or 1280, num_classes)

    def forward(self, x):
        x = self.base_model(x)
        if self.inner is not None:
            x = self.relu(self.inner(x))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.output_layer(x)

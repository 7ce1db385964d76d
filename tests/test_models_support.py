"""Helpers for the model tests (no tests here): load a plain-PyTorch reference's weights into a
greymatter model, compare outputs, gradients and BatchNorm statistics, and run the tutorials'
loop."""
import torch
from torch import nn


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

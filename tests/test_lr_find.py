"""Trainer.lr_find: on Fashion-MNIST's MNISTNet its suggestion trains better in one epoch than a
hundredth or a hundred times it; fit after lr_find gives the history and weights fit gives without
it; the suggestion rule ignores NaN/inf, early spikes and the divergent tail; greymatter lr-find."""
import math

import pytest
import torch
from torch import nn

import greymatter as gm
from greymatter import cli
from greymatter.train.lr_finder import suggest


@pytest.fixture(scope="module")
def fashion():
    full = gm.datasets.FashionMNIST(train=True)
    return gm.Subset(full, range(6000)), gm.Subset(full, range(59000, 60000))


def fresh_trainer(lr=1e-3, seed=0, **kwargs):
    torch.manual_seed(seed)
    return gm.Trainer(gm.models.MNISTNet(), lr=lr, progress=False, **kwargs)


def test_the_suggestion_beats_a_hundredth_and_a_hundred_times_it(fashion):
    train, val = fashion
    loader = gm.DataLoader(train, batch_size=64, shuffle=True, seed=1)
    result = fresh_trainer().lr_find(loader, steps=100)
    assert 1e-6 < result.suggestion < 1.0 and result.suggestion == result.min_lr / 10
    # Adam blows up well before lr 10: the test stops there.
    assert result.stopped in ("diverged", "non-finite loss") and len(result.lrs) < 100
    assert len(result.lrs) == len(result.losses) and result.lrs == sorted(result.lrs)

    def one_epoch(lr):
        trainer = fresh_trainer(lr=lr)
        val_loader = gm.DataLoader(val, batch_size=500)
        trainer.fit(gm.DataLoader(train, batch_size=64, shuffle=True, seed=1), val_loader, epochs=1)
        return trainer.history.rows[0]["val_acc"]

    best = one_epoch(result.suggestion)
    assert best > one_epoch(result.suggestion / 100)
    assert best > one_epoch(result.suggestion * 100)


def _without_seconds(hist):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in hist.rows]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_fit_after_lr_find_is_fit_without_it(fashion, optimizer):
    train, val = fashion
    kwargs = dict(optimizer=optimizer, momentum=0.9 if optimizer == "sgd" else 0.0)

    def run(find_first):
        torch.manual_seed(0)
        model = gm.models.MNISTNet(dropout=0.2)  # dropout: torch's random state matters too
        trainer = gm.Trainer(model, lr=1e-3, scheduler="onecycle", progress=False, **kwargs)
        loader = gm.DataLoader(gm.Subset(train, range(2000)), batch_size=64, shuffle=True, seed=2)
        if find_first:
            trainer.lr_find(loader, steps=30)
            torch.manual_seed(123)  # fit reseeds from the Trainer's seed: this draw must not matter
        hist = trainer.fit(loader, gm.DataLoader(val, batch_size=500), epochs=2)
        return _without_seconds(hist), model.state_dict()

    (with_rows, with_state), (rows, state) = run(True), run(False)
    assert with_rows == rows
    for k in state:
        assert torch.equal(with_state[k], state[k]), k


def test_lr_find_restores_a_plain_torch_module(fashion):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.Linear(32, 10))
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = gm.Trainer(model, progress=False)
    loader = gm.DataLoader(gm.Subset(fashion[0], range(640)), batch_size=64, shuffle=True)
    result = trainer.lr_find(loader, start=1e-5, end=1.0, steps=12)
    assert len(result.lrs) <= 12 and result.lrs[0] == pytest.approx(1e-5)
    assert not model.training and all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # BatchNorm's running statistics included


def curve(steps, flat, low, spike_at=3):
    """lrs from 1e-6 up by 10**0.05 a step; losses flat at 2.3 (a spike of 50 at `spike_at`) until
    step `flat`, down linearly to 0.3 at step `low`, then up 3x a step, and NaN 10 steps later."""
    lrs = [10 ** (-6 + 0.05 * i) for i in range(steps)]
    losses = [2.3] * steps
    losses[spike_at] = 50.0
    for i in range(flat, low + 1):
        losses[i] = 2.3 - 2.0 * (i - flat) / (low - flat)
    for i in range(low + 1, low + 10):
        losses[i] = 0.3 * 3 ** (i - low)
    losses[low + 10] = math.nan
    return lrs, losses[: low + 11]


def test_suggest_ignores_nan_early_spikes_and_the_divergent_tail():
    lrs, losses = curve(60, flat=20, low=40)
    smoothed, min_lr, suggestion = suggest(lrs, losses, beta=0.0)  # no smoothing: exact points
    assert min_lr == lrs[40] and suggestion == pytest.approx(lrs[40] / 10)
    # The spike (one step above 4x the minimum) is read; the tail ends at its second such step:
    # 0.9 at step 41 is below 4 * 0.3, 2.7 at 42 above, 8.1 at 43 above again.
    assert smoothed[3] == 50.0 and smoothed[40] == pytest.approx(0.3) and len(smoothed) == 43
    # The default smoothing (beta 0.98) remembers ~50 steps: on a longer curve its minimum lags
    # the raw one by a few steps, and the spike neither ends the curve nor becomes its minimum.
    lrs, losses = curve(200, flat=60, low=160)
    smoothed, min_lr, _ = suggest(lrs, losses)
    assert lrs[160] <= min_lr <= lrs[170] and all(math.isfinite(v) for v in smoothed)
    assert 160 < len(smoothed) < 171
    assert suggest([1e-3], [math.inf]) == ([], None, None)
    assert suggest([1e-3, 1e-2], [2.0, math.nan]) == ([2.0], 1e-3, 1e-4)


def test_result_table_and_plot(fashion):
    loader = gm.DataLoader(gm.Subset(fashion[0], range(1280)), batch_size=64, shuffle=True)
    result = fresh_trainer().lr_find(loader, steps=20, end=1e-1)
    assert list(result.df.columns) == ["lr", "loss", "smoothed"] and len(result.df) == 20
    fig = result.plot()
    assert fig.suggestion == result.suggestion and fig.axes[0].get_xscale() == "log"
    assert "suggestion" in repr(result)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"start": 1.0, "end": 1e-3}, "0 < start < end"),
        ({"start": 0.0}, "0 < start < end"),
        ({"steps": 1}, "steps must be an integer >= 2"),
    ],
)
def test_bad_ranges_are_config_errors(fashion, kwargs, message):
    loader = gm.DataLoader(gm.Subset(fashion[0], range(64)), batch_size=64)
    with pytest.raises(gm.ConfigError, match=message):
        fresh_trainer().lr_find(loader, **kwargs)


def test_cli_lr_find_prints_the_suggestion_and_writes_the_plot(tmp_path, capsys):
    args = ["lr-find", "--train-size", "1000", "--steps", "25", "--out", str(tmp_path / "lr")]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "suggested lr:" in out and "a tenth of" in out
    assert (tmp_path / "lr" / "lr_find.png").stat().st_size > 1000
    table = (tmp_path / "lr" / "lr_find.csv").read_text().splitlines()
    assert table[0] == "lr,loss,smoothed" and 2 < len(table) <= 26
    assert cli.main(["lr-find", "--steps", "1", "--out", str(tmp_path / "x")]) == 2

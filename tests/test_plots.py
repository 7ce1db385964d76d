"""greymatter.plots: each figure checked for its axes, tiles, titles and the numbers it draws,
against values computed here with numpy / torch (confusion counts, cross-entropy ranking, softmax
top-k)."""
import numpy as np
import pandas as pd
import pytest
import torch
import torchvision.transforms as TV
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from torch import nn

import greymatter as gm
from greymatter import transforms as T

CLASSES = ["cat", "dog", "bird", "fish", "frog"]


@pytest.fixture
def hist():
    h = gm.History()
    lrs = [1e-3, 1e-3, 1e-4, 1e-4]
    for e, lr in enumerate(lrs, start=1):
        tr_acc, va_acc = 0.5 + 0.1 * e, 0.45 + 0.08 * e
        h.append(
            {
                "epoch": e,
                "train_loss": 1.0 / e,
                "train_acc": tr_acc,
                "val_loss": 1.2 / e,
                "val_acc": va_acc,
                "lr": lr,
                "gap": tr_acc - va_acc,
                "seconds": 0.1,
            }
        )
    h.best_epoch = 4
    return h


def _ydata(ax, label):
    return [np.asarray(line.get_ydata(), float) for line in ax.lines if line.get_label() == label][
        0
    ]


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def _is_color(text, name):
    return to_rgba(text.get_color()) == to_rgba(name)


# ------------------------------------------------------------------------------------------ curves
def test_curves_draw_train_and_validation(hist):
    fig = gm.plots.curves(hist)
    assert isinstance(fig, Figure) and _titles(fig) == ["Loss", "Accuracy"]
    loss, acc = fig.axes
    np.testing.assert_allclose(_ydata(loss, "train"), hist.column("train_loss"))
    np.testing.assert_allclose(_ydata(acc, "validation"), hist.column("val_acc"))


def test_curves_accept_dataframe_and_keras_dict(hist):
    keras = {
        "loss": hist.column("train_loss"),
        "accuracy": hist.column("train_acc"),
        "val_loss": hist.column("val_loss"),
        "val_accuracy": hist.column("val_acc"),
    }
    for source in (hist.df, keras):
        fig = gm.plots.curves(source)
        np.testing.assert_allclose(_ydata(fig.axes[1], "validation"), hist.column("val_acc"))
        np.testing.assert_allclose(fig.axes[1].lines[0].get_xdata(), [1, 2, 3, 4])


def test_curves_without_validation_draw_train_only():
    h = gm.History()
    for e in (1, 2):
        h.append({"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5})
    fig = gm.plots.curves(h)
    assert [line.get_label() for line in fig.axes[0].lines] == ["train"]


def test_metrics_2x2_panels(hist):
    fig = gm.plots.metrics_2x2(hist)
    assert _titles(fig) == ["Accuracy", "Loss", "Learning rate", "Train-validation accuracy gap"]
    acc, loss, lr, gap = fig.axes
    np.testing.assert_allclose(_ydata(acc, "train"), hist.column("train_acc"))
    np.testing.assert_allclose(_ydata(loss, "validation"), hist.column("val_loss"))
    np.testing.assert_allclose(_ydata(lr, "lr"), hist.column("lr"))
    assert lr.get_yscale() == "log"  # the lr changed
    expected_gap = np.subtract(hist.column("train_acc"), hist.column("val_acc"))
    np.testing.assert_allclose(_ydata(gap, "train - validation"), expected_gap)
    assert all("best epoch" in [line.get_label() for line in ax.lines] for ax in fig.axes)


def test_metrics_2x2_constant_lr_is_linear_and_gap_computed_when_missing(hist):
    rows = hist.df.drop(columns="gap").assign(lr=1e-3)
    fig = gm.plots.metrics_2x2(rows)
    assert fig.axes[2].get_yscale() == "linear"
    np.testing.assert_allclose(
        _ydata(fig.axes[3], "train - validation"), rows.train_acc - rows.val_acc
    )


def test_history_errors_name_the_problem():
    with pytest.raises(gm.ConfigError, match="train_loss"):
        gm.plots.curves({"foo": [1, 2]})
    with pytest.raises(gm.ConfigError, match="no epochs"):
        gm.plots.metrics_2x2(gm.History())
    with pytest.raises(gm.ConfigError, match="History"):
        gm.plots.curves(42)


# -------------------------------------------------------------------------------- confusion matrix
def test_confusion_matrix_counts_match_an_independent_count():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 5, 200))
    expected = np.zeros((5, 5), int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    fig = gm.plots.confusion_matrix(torch.as_tensor(y_true), list(y_pred), classes=CLASSES)
    np.testing.assert_array_equal(fig.counts, expected)
    assert fig.counts.sum() == 200
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASSES
    assert [t.get_text() for t in ax.get_yticklabels()] == CLASSES
    assert ax.get_xlabel() == "Predicted" and ax.get_ylabel() == "True"
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(expected.ravel())
    assert f"{np.trace(expected) / 200:.3f}" in ax.get_title()


def test_confusion_matrix_normalized_and_from_scores():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    logits = torch.zeros(6, 4)
    logits[torch.arange(6), torch.tensor([0, 1, 1, 1, 1, 0])] = 5.0  # argmax -> predictions
    fig = gm.plots.confusion_matrix(y_true, logits, normalize="true")
    # 4 classes (the scores' width), though class 3 never occurs; its row is zeros, not nan
    np.testing.assert_array_equal(
        fig.counts, [[1, 2, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    )
    np.testing.assert_allclose(
        fig.matrix, [[1 / 3, 2 / 3, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    )
    assert {t.get_text() for t in fig.axes[0].texts} >= {"0.33", "0.67", "1.00"}
    fig = gm.plots.confusion_matrix([0, 1], [0, 0], classes=CLASSES[:3], normalize="pred")
    np.testing.assert_allclose(fig.matrix, [[0.5, 0, 0], [0.5, 0, 0], [0, 0, 0]])


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(gm.ConfigError, match="out of range"):
        gm.plots.confusion_matrix([0, 7], [0, 1], classes=CLASSES)
    with pytest.raises(gm.ConfigError, match="3 true labels but 2"):
        gm.plots.confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(gm.ConfigError, match="normalize"):
        gm.plots.confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(gm.ConfigError, match="integers"):
        gm.plots.confusion_matrix([0.5, 1], [0, 1])
    with pytest.raises(gm.ConfigError, match="3 columns for 5 classes"):
        gm.plots.confusion_matrix([0, 1], torch.randn(2, 3), classes=CLASSES)


# ------------------------------------------------------------------------------------- image grids
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _rgb_batch(n=12, size=8):
    raw = torch.rand(n, 3, size, size)
    normalized = (raw - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    return raw, normalized, torch.arange(n) % len(CLASSES)


def test_samples_from_a_batch_unnormalize_and_title():
    raw, normalized, labels = _rgb_batch()
    fig = gm.plots.samples((normalized, labels), classes=CLASSES, n=10, mean=MEAN, std=STD)
    assert len(fig.axes) == 10
    assert _titles(fig) == [CLASSES[int(y)] for y in labels[:10]]
    for ax, img in zip(fig.axes, raw):
        np.testing.assert_allclose(
            ax.images[0].get_array(), img.permute(1, 2, 0).numpy(), atol=1e-5
        )


def test_samples_read_normalize_and_classes_from_a_greymatter_dataset(tiny_mnist):
    root, images, labels = tiny_mnist
    ds = gm.datasets.MNIST(
        root=root, transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    )
    fig = gm.plots.samples(ds, n=6, ncols=3)
    assert len(fig.axes) == 6 and fig.axes[3].get_subplotspec().rowspan.start == 1
    assert _titles(fig) == [ds.classes[y] for y in labels[:6]]
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(), images[5] / 255.0, atol=1e-6)


def test_samples_read_a_torchvision_normalize_and_take_indices():
    raw, normalized, labels = _rgb_batch(5)

    class Folder:  # a minimal torchvision-style dataset
        classes = CLASSES
        transform = TV.Compose([TV.ToTensor(), TV.Normalize(MEAN, STD)])

        def __len__(self):
            return 5

        def __getitem__(self, i):
            return normalized[i], int(labels[i])

    fig = gm.plots.samples(Folder(), indices=[4, 1])
    assert _titles(fig) == [CLASSES[4], CLASSES[1]]
    np.testing.assert_allclose(
        fig.axes[0].images[0].get_array(), raw[4].permute(1, 2, 0).numpy(), atol=1e-5
    )


def test_samples_rescale_unknown_normalization_and_reject_bad_shapes():
    fig = gm.plots.samples(torch.randn(3, 1, 6, 6) * 4)  # no labels, no mean/std
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (6, 6) and shown.min() == 0.0 and shown.max() == 1.0
    assert _titles(fig) == ["", "", ""]
    with pytest.raises(gm.ConfigError, match=r"shape \(2, 5, 5, 5\)"):
        gm.plots.samples((torch.rand(3, 2, 5, 5, 5), torch.zeros(3)))
    with pytest.raises(gm.ConfigError, match="3 images but 2 labels"):
        gm.plots.samples((torch.rand(3, 1, 5, 5), torch.zeros(2)))


def test_predictions_colour_titles_by_correctness():
    _, normalized, labels = _rgb_batch(6)
    preds = labels.clone()
    preds[[1, 4]] = (preds[[1, 4]] + 1) % len(CLASSES)
    fig = gm.plots.predictions(normalized, labels, preds, CLASSES, mean=MEAN, std=STD)
    assert len(fig.axes) == 6
    for i, ax in enumerate(fig.axes):
        assert ax.get_title() == f"{CLASSES[preds[i]]}\n(true: {CLASSES[labels[i]]})"
        assert _is_color(ax.title, "red" if i in (1, 4) else "green")
    assert fig._suptitle.get_text() == "4/6 correct"


def test_predictions_from_logits_show_the_softmax_confidence():
    _, normalized, labels = _rgb_batch(4)
    logits = torch.randn(4, len(CLASSES))
    probs = logits.softmax(1)
    fig = gm.plots.predictions(normalized, labels, logits, CLASSES, n=3)
    assert len(fig.axes) == 3
    for i, ax in enumerate(fig.axes):
        p = int(probs[i].argmax())
        assert ax.get_title().startswith(f"{CLASSES[p]} {float(probs[i, p]):.0%}\n")
        assert _is_color(ax.title, "green" if p == labels[i] else "red")


def test_top_losses_pick_the_highest_cross_entropy():
    torch.manual_seed(3)
    images, labels, logits = (
        torch.rand(30, 1, 6, 6),
        torch.randint(0, 4, (30,)),
        torch.randn(30, 4) * 3,
    )
    ce = nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = torch.argsort(ce, descending=True)[:9].tolist()
    names = ["a", "b", "c", "d"]
    for scores in (logits, logits.softmax(1).numpy()):  # logits or probabilities
        fig = gm.plots.top_losses(images, labels, scores, names, k=9)
        assert fig.indices == expected and len(fig.axes) == 9
        np.testing.assert_allclose(fig.losses, ce[expected].numpy(), rtol=1e-4)
    i = expected[0]
    pred, prob = int(logits[i].argmax()), float(logits.softmax(1)[i, labels[i]])
    assert (
        fig.axes[0].get_title()
        == f"{names[pred]}/{names[labels[i]]}\n{float(ce[i]):.2f} / {prob:.2f}"
    )


def test_top_losses_binary_sigmoid_outputs():
    images, labels, logits = (
        torch.rand(10, 1, 4, 4),
        torch.randint(0, 2, (10,)),
        torch.randn(10) * 4,
    )
    bce = nn.functional.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none")
    expected = torch.argsort(bce, descending=True)[:3].tolist()
    assert gm.plots.top_losses(images, labels, logits, k=3).indices == expected
    assert (
        gm.plots.top_losses(images, labels, torch.sigmoid(logits)[:, None], k=3).indices == expected
    )
    with pytest.raises(gm.ConfigError, match="out of range"):
        gm.plots.top_losses(images, labels + 2, logits)


# ------------------------------------------------------------------------------------------ filters
def test_filters_of_a_greymatter_mlp_are_28x28_tiles():
    model = gm.models.MNISTNet(hidden=(16, 8))
    fig = gm.plots.filters(model, n=12)
    assert fig.weight_name == "fc1.weight" and len(fig.axes) == 12
    weight = model.state_dict()["fc1.weight"]
    for i in (0, 11):
        np.testing.assert_allclose(
            fig.axes[i].images[0].get_array(), weight[i].reshape(28, 28).numpy(), rtol=1e-6
        )
    assert "12 of 16 units, 28x28" in fig._suptitle.get_text()


def test_filters_of_a_torch_conv_net_skip_non_weight_tensors():
    net = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 6, 5), nn.ReLU(), nn.Conv2d(6, 4, 3))
    fig = gm.plots.filters(net)
    assert fig.weight_name == "1.weight" and len(fig.axes) == 6
    shown = fig.axes[2].images[0].get_array()
    assert shown.shape == (5, 5, 3) and shown.min() >= 0 and shown.max() <= 1
    w = net[1].weight.detach()
    scaled = (w - w.min()) / (w.max() - w.min())  # one scale for the layer
    np.testing.assert_allclose(shown, scaled[2].permute(1, 2, 0).numpy(), rtol=1e-5, atol=1e-6)
    fig = gm.plots.filters(net, layer="3", channel=5)
    assert fig.weight_name == "3.weight" and len(fig.axes) == 4
    np.testing.assert_allclose(
        fig.axes[1].images[0].get_array(), net[3].weight[1, 5].detach().numpy(), rtol=1e-6
    )


def test_filters_of_a_tensor_and_errors():
    fig = gm.plots.filters(torch.randn(10, 3 * 8 * 8), n=4)  # RGB 8x8 inputs inferred
    assert len(fig.axes) == 4 and fig.axes[0].images[0].get_array().shape == (8, 8, 3)
    fig = gm.plots.filters(np.random.rand(5, 12), image_shape=(3, 4))
    assert fig.axes[0].images[0].get_array().shape == (3, 4)
    with pytest.raises(gm.ConfigError, match="50 inputs"):
        gm.plots.filters(torch.randn(4, 50))
    with pytest.raises(gm.ConfigError, match="choose one of"):
        gm.plots.filters(nn.Linear(784, 3), layer="conv1")
    with pytest.raises(gm.ConfigError, match="no Linear"):
        gm.plots.filters(nn.BatchNorm1d(4))
    with pytest.raises(gm.ConfigError, match="channel 9"):
        gm.plots.filters(torch.randn(2, 4, 3, 3), channel=9)


# ------------------------------------------------------------------------------------ sweep heatmap
def _sweep_table():
    rows = []
    for lr in (1e-1, 1e-3, 1e-2):
        for size in (None, 100, 10):
            acc = 0.5 + (0.3 if lr == 1e-3 else 0.1) + (size or 0) / 1000
            rows.append({"lr": lr, "size_inner": size, "best_val_acc": acc, "val_loss": 1 - acc})
    return pd.DataFrame(rows)


def test_sweep_heatmap_grid_matches_the_table():
    df = _sweep_table()
    fig = gm.plots.sweep_heatmap(df)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.001", "0.01", "0.1"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "10", "100"]
    assert ax.get_xlabel() == "size_inner" and ax.get_ylabel() == "lr"
    for _, row in df.iterrows():
        col = "none" if pd.isna(row.size_inner) else int(row.size_inner)
        assert fig.matrix.loc[row.lr, col] == pytest.approx(row.best_val_acc)
    assert len(ax.texts) == 9 and f"{df.best_val_acc.max():.3f}" in [t.get_text() for t in ax.texts]
    assert fig.best == {
        "lr": 1e-3,
        "size_inner": 100,
        "best_val_acc": pytest.approx(df.best_val_acc.max()),
    }
    assert len(ax.patches) == 1  # the best cell's outline


def test_sweep_heatmap_loss_best_is_min_and_repeats_are_averaged():
    df = pd.concat([_sweep_table(), _sweep_table().assign(val_loss=lambda d: d.val_loss + 0.2)])
    fig = gm.plots.sweep_heatmap(df, value="val_loss")
    assert fig.matrix.loc[0.1, 10] == pytest.approx((1 - 0.61) + 0.1)
    assert fig.best["lr"] == 1e-3 and fig.best["size_inner"] == 100
    partial = _sweep_table().iloc[1:]  # one configuration missing: its cell shows "-"
    assert "-" in [t.get_text() for t in gm.plots.sweep_heatmap(partial).axes[0].texts]
    with pytest.raises(gm.ConfigError, match="dropout"):
        gm.plots.sweep_heatmap(df, x="dropout")


# ----------------------------------------------------------------------------------------------
# topk
def test_topk_bars_follow_the_softmax():
    logits = torch.randn(1, len(CLASSES))
    probs, idx = logits.softmax(1)[0].topk(3)
    fig = gm.plots.topk(logits, CLASSES, k=3)
    assert [c for c, _ in fig.topk] == [CLASSES[i] for i in idx]
    np.testing.assert_allclose([p for _, p in fig.topk], probs.numpy(), rtol=1e-5)
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()][::-1] == [
        CLASSES[i] for i in idx
    ]  # most likely on top
    assert max(ax.patches, key=lambda b: b.get_y()).get_width() == pytest.approx(float(probs[0]))


def test_topk_takes_probabilities_and_pairs_and_rejects_batches():
    p = np.array([0.1, 0.6, 0.3])
    assert [c for c, _ in gm.plots.topk(p, k=5).topk] == ["1", "2", "0"]
    assert gm.plots.topk([("cat", 0.2), ("dog", 0.8)]).topk == [("dog", 0.8), ("cat", 0.2)]
    with pytest.raises(gm.ConfigError, match=r"probs\[i\]"):
        gm.plots.topk(torch.randn(3, 4))


# ----------------------------------------------------------------------------------------------
# save
def _lr_find_result():
    """What Trainer.lr_find returns, as far as the plot reads it."""
    from types import SimpleNamespace

    lrs = [10 ** (-5 + 0.25 * i) for i in range(16)]
    losses = [2.3 - 0.1 * i for i in range(12)] + [2.0, 6.0, 20.0, float("nan")]
    return SimpleNamespace(lrs=lrs, losses=losses, smoothed=losses[:13], suggestion=lrs[11] / 10)


def test_every_plot_saves_a_png_creating_the_folder(tmp_path, hist):
    images, labels, logits = (
        torch.rand(6, 1, 8, 8),
        torch.tensor([0, 1, 2, 0, 1, 2]),
        torch.randn(6, 3),
    )
    cnn = gm.models.SimpleCNN(image_size=8, num_classes=3)
    calls = {
        "curves": lambda s: gm.plots.curves(hist, save=s),
        "metrics_2x2": lambda s: gm.plots.metrics_2x2(hist, save=s),
        "confusion_matrix": lambda s: gm.plots.confusion_matrix(labels, logits, save=s),
        "samples": lambda s: gm.plots.samples((images, labels), save=s),
        "predictions": lambda s: gm.plots.predictions(images, labels, logits, save=s),
        "top_losses": lambda s: gm.plots.top_losses(images, labels, logits, k=4, save=s),
        "filters": lambda s: gm.plots.filters(torch.randn(4, 1, 3, 3), save=s),
        "sweep_heatmap": lambda s: gm.plots.sweep_heatmap(_sweep_table(), save=s),
        "topk": lambda s: gm.plots.topk(logits[0], save=s),
        "gradcam": lambda s: gm.plots.gradcam(cnn, images[0], save=s),
        "feature_maps": lambda s: gm.plots.feature_maps(cnn, images[0], save=s),
        "lr_finder": lambda s: gm.plots.lr_finder(_lr_find_result(), save=s),
    }
    assert sorted(calls) == sorted(gm.plots.__all__)
    for name, call in calls.items():
        path = tmp_path / "figures" / name / f"{name}.png"
        assert isinstance(call(str(path)), Figure)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000


def test_figures_show_in_jupyter_without_pyplot():
    """Jupyter displays an object through _repr_png_; the figures need no %matplotlib inline."""
    fig = gm.plots.confusion_matrix([0, 1, 1], [0, 1, 0])
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    import pickle

    assert isinstance(pickle.loads(pickle.dumps(fig)), gm.plots.PlotFigure)

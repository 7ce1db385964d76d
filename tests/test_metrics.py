"""Per-class reports of a really trained model against scikit-learn's classification_report, the
most confused pairs against counts made here, Trainer.evaluate(report=True), and bad inputs."""
from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.metrics import classification_report as sklearn_report

import greymatter as gm
from greymatter.metrics import classification_report, most_confused

T = gm.transforms


@pytest.fixture(scope="module")
def fashion():
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    train = gm.datasets.FashionMNIST(train=True, transform=tf)
    test = gm.datasets.FashionMNIST(train=False, transform=tf)
    return train, test, train.classes


@pytest.fixture(scope="module")
def trained(fashion):
    """An MNISTNet after one epoch on 12k Fashion-MNIST images: good, with real mistakes."""
    train, test, classes = fashion
    torch.manual_seed(0)
    tr = gm.Trainer(gm.models.MNISTNet(hidden=(64,)), progress=False)
    tr.fit(gm.DataLoader(gm.Subset(train, range(12000)), batch_size=64, shuffle=True), epochs=1)
    loader = gm.DataLoader(gm.Subset(test, range(2000)), batch_size=500)
    probs, labels = tr.predict(loader)
    return tr, loader, probs, labels, classes


def assert_matches_sklearn(report, labels, pred, names):
    expected = sklearn_report(
        labels,
        pred,
        labels=list(range(len(names))),
        target_names=names,
        output_dict=True,
        zero_division=0,
    )
    for row in names + ["macro avg", "weighted avg"]:
        ours = report.loc[row]
        assert ours["precision"] == pytest.approx(expected[row]["precision"], abs=1e-12), row
        assert ours["recall"] == pytest.approx(expected[row]["recall"], abs=1e-12), row
        assert ours["f1"] == pytest.approx(expected[row]["f1-score"], abs=1e-12), row
        assert ours["support"] == expected[row]["support"], row
    assert report.accuracy == pytest.approx(expected["accuracy"], abs=1e-12)


def test_report_of_a_trained_model_equals_scikit_learns(trained):
    _, _, probs, labels, classes = trained
    report = classification_report(labels, probs, classes)
    assert list(report.index) == list(classes) + ["macro avg", "weighted avg"]
    assert list(report.columns) == ["precision", "recall", "f1", "support"]
    assert 0.6 < report.accuracy < 1.0  # trained, and still wrong sometimes
    assert_matches_sklearn(report, labels.numpy(), probs.argmax(1).numpy(), list(classes))
    text = str(report)
    assert "Trouser" in text and "macro avg" in text and f"accuracy {report.accuracy:.4f}" in text
    # Logits give the same report as probabilities.
    logits = torch.log(probs.clamp_min(1e-30))
    assert classification_report(labels, logits, classes).equals(report)


def test_binary_sigmoid_outputs_report_two_classes(fashion):
    """T-shirt (0) against Trouser (1): a one-output model with BCE-with-logits, trained."""
    train, test, _ = fashion
    pick = lambda ds: gm.Subset(ds, torch.nonzero(ds.targets < 2)[:, 0].tolist())  # noqa: E731
    torch.manual_seed(0)
    tr = gm.Trainer(
        gm.models.MNISTNet(hidden=(16,), num_classes=1), loss="bce_with_logits", progress=False
    )
    tr.fit(gm.DataLoader(pick(train), batch_size=64, shuffle=True, seed=0), epochs=1)
    probs, labels = tr.predict(gm.DataLoader(pick(test), batch_size=256))
    assert probs.shape == (len(labels), 1)
    report = classification_report(labels, probs, ["T-shirt", "Trouser"])
    assert_matches_sklearn(
        report, labels.numpy(), (probs[:, 0] > 0.5).long().numpy(), ["T-shirt", "Trouser"]
    )
    # (N,) probabilities and logits read the same way.
    assert classification_report(labels, probs[:, 0], ["T-shirt", "Trouser"]).equals(report)
    assert classification_report(labels, torch.logit(probs), ["T-shirt", "Trouser"]).equals(report)


def test_most_confused_are_the_largest_off_diagonal_counts(trained):
    _, _, probs, labels, classes = trained
    pred = probs.argmax(1)
    counts = Counter(
        (classes[t], classes[p]) for t, p in zip(labels.tolist(), pred.tolist()) if t != p
    )
    top = most_confused(labels, probs, classes, k=5)
    assert len(top) == 5
    assert [c for *_, c in top] == sorted(counts.values(), reverse=True)[:5]
    for true, predicted, count in top:
        assert counts[(true, predicted)] == count
    assert most_confused(labels, probs, classes, k=100, min_count=3) == [
        t for t in most_confused(labels, probs, classes, k=100) if t[2] >= 3
    ]


def test_evaluate_report_matches_predict_and_keeps_the_default_return(trained):
    tr, loader, probs, labels, classes = trained
    plain = tr.evaluate(loader)
    assert set(plain) == {"loss", "accuracy"}
    result = tr.evaluate(loader, report=True)
    assert result["accuracy"] == pytest.approx(plain["accuracy"])
    assert result["report"].equals(classification_report(labels, probs, classes))
    assert result["report"].accuracy == pytest.approx(plain["accuracy"])


def test_a_class_never_predicted_scores_zero_not_nan():
    labels = np.array([0, 0, 1, 2, 2])
    probs = np.eye(3)[[0, 0, 0, 2, 0]]
    report = classification_report(labels, probs)
    assert report.loc["1", ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0]
    assert not report.isna().any().any()
    assert_matches_sklearn(report, labels, probs.argmax(1), ["0", "1", "2"])


@pytest.mark.parametrize(
    "labels, probs, classes, message",
    [
        ([0, 1], np.eye(3)[:3], None, "2 labels but 3 predictions"),
        ([0, 3], np.eye(3)[:2], None, "label 3, out of range for 3 classes"),
        ([0, 1], np.eye(3)[:2], ["a", "b"], "2 class names for predictions over 3 classes"),
        ([0.5, 1], np.eye(3)[:2], None, "class indices"),
        ([], np.zeros((0, 3)), None, "no predictions"),
    ],
)
def test_bad_inputs_are_config_errors(labels, probs, classes, message):
    with pytest.raises(gm.ConfigError, match=message):
        classification_report(labels, probs, classes)


def test_most_confused_rejects_a_bad_k():
    with pytest.raises(gm.ConfigError, match="k must be a positive integer"):
        most_confused([0], np.eye(2)[:1], k=0)

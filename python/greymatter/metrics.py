"""What a classifier gets right and wrong, per class, from its predictions: the classification
report (precision, recall, F1 and support per class, with macro and weighted averages, as
scikit-learn's classification_report computes them) and the most confused pairs of classes (as
fastai's ClassificationInterpretation.most_confused).

Inputs are what ``Trainer.predict`` returns: true labels (N) and (N, C) probabilities or logits, or
a binary model's (N,) / (N, 1) sigmoid probabilities or logits. Not here: pictures of them
(greymatter.plots.confusion_matrix) or running the model (Trainer.predict / evaluate)."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ._core import ConfigError
from .plots._arrays import _array, _check_labels, _class_log_probabilities, _labels

__all__ = ["ClassificationReport", "classification_report", "most_confused", "predicted_labels"]

COLUMNS = ["precision", "recall", "f1", "support"]
AVERAGES = ["macro avg", "weighted avg"]


class ClassificationReport(pd.DataFrame):
    """A DataFrame (one row per class, then "macro avg" and "weighted avg"; columns precision,
    recall, f1, support) that prints as a table with the overall accuracy under it. ``.accuracy``
    is that accuracy. Anything computed from it is a plain DataFrame."""

    _metadata = ["accuracy"]

    @property
    def _constructor(self):
        return pd.DataFrame

    def __repr__(self) -> str:
        return self.to_text()

    def to_text(self, digits: int = 4) -> str:
        table = self.to_string(
            formatters={c: (lambda v, d=digits: f"{v:.{d}f}") for c in COLUMNS[:3]}
        )
        support = int(self.loc[AVERAGES[0], "support"])
        return f"{table}\n\naccuracy {self.accuracy:.{digits}f} (n={support})"


def predicted_labels(probs) -> np.ndarray:
    """Class indices from (N, C) scores (argmax) or binary (N,) / (N, 1) sigmoid outputs
    (probabilities above 0.5, or logits above 0).

    Args:
        probs: (N, C) probabilities or logits, or a binary model's (N,) / (N, 1) outputs.

    Returns:
        The predicted class of each sample, (N,) int.
    """
    return _class_log_probabilities(probs).argmax(1)


def _counts(labels, probs, classes: Optional[Sequence[str]], what: str):
    """(true, predicted, class names) with every label checked against the number of classes."""
    true, scores = _labels(labels, "labels"), _array(probs)
    if true.size == 0 or scores.size == 0:
        raise ConfigError(f"{what}: no predictions to score")
    log_probs = _class_log_probabilities(scores)
    if true.shape[0] != log_probs.shape[0]:
        raise ConfigError(f"{what}: {true.shape[0]} labels but {log_probs.shape[0]} predictions")
    n_classes = log_probs.shape[1]
    if classes is None:
        names = [str(i) for i in range(n_classes)]
    else:
        names = [str(c) for c in classes]
        if len(names) != n_classes:
            raise ConfigError(
                f"{what}: {len(names)} class names for predictions over {n_classes} classes"
            )
    _check_labels(true, n_classes, "labels")
    return true, log_probs.argmax(1), names


def classification_report(labels, probs, classes: Optional[Sequence[str]] = None):
    """Per class: precision (of the samples predicted as it, the share that are), recall (of its
    samples, the share found), F1 (their harmonic mean) and support (its samples); then their
    unweighted mean over classes ("macro avg") and the mean weighted by support ("weighted avg").
    A class never predicted (or without samples) scores 0 where the ratio is 0/0, as
    scikit-learn's default does.

    Args:
        labels: the true class indices (N).
        probs: (N, C) probabilities or logits, or a binary model's (N,) / (N, 1) outputs.
        classes: the class names (the report's row names); None numbers them.

    Returns:
        A ClassificationReport (a pandas DataFrame; ``.accuracy`` the overall accuracy).

    Raises:
        ConfigError: no predictions, labels and predictions of different lengths, class names
            that do not fit, or labels out of range.
    """
    true, pred, names = _counts(labels, probs, classes, "classification_report")
    n = len(names)
    hits = np.bincount(true[true == pred], minlength=n).astype(np.float64)
    support = np.bincount(true, minlength=n).astype(np.float64)
    predicted = np.bincount(pred, minlength=n).astype(np.float64)

    def ratio(num, den):
        return np.divide(num, den, out=np.zeros(n), where=den > 0)

    precision, recall = ratio(hits, predicted), ratio(hits, support)
    f1 = ratio(2 * precision * recall, precision + recall)
    table = np.stack([precision, recall, f1, support], axis=1)
    macro = np.append(table[:, :3].mean(0), support.sum())
    weighted = np.append((table[:, :3] * support[:, None]).sum(0) / support.sum(), support.sum())
    report = ClassificationReport(
        np.vstack([table, macro, weighted]), index=names + AVERAGES, columns=COLUMNS
    )
    report["support"] = report["support"].astype(np.int64)
    report.accuracy = float(hits.sum() / support.sum())
    return report


def most_confused(
    labels, probs, classes: Optional[Sequence[str]] = None, k: int = 5, min_count: int = 1
) -> List[Tuple[str, str, int]]:
    """The k most frequent mistakes, most frequent first (ties in class order).

    Args:
        labels: the true class indices (N).
        probs: (N, C) probabilities or logits, or a binary model's (N,) / (N, 1) outputs.
        classes: the class names; None numbers them.
        k: how many pairs at most.
        min_count: pairs seen fewer times are left out.

    Returns:
        [(true class, predicted class, count), ...].

    Raises:
        ConfigError: a bad ``k``, or inputs as for ``classification_report``.
    """
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"most_confused: k must be a positive integer, got {k!r}")
    true, pred, names = _counts(labels, probs, classes, "most_confused")
    n = len(names)
    counts = np.bincount(true * n + pred, minlength=n * n).reshape(n, n)
    np.fill_diagonal(counts, 0)
    order = np.argsort(-counts.reshape(-1), kind="stable")
    pairs = [(names[i // n], names[i % n], int(counts.flat[i])) for i in order[:k]]
    return [p for p in pairs if p[2] >= max(1, min_count)]

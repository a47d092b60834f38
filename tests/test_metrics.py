"""mnist_cnn.metrics (scikit-learn) against definitions computed by hand: counting for the
confusion matrix, TP/FP/FN for precision/recall/F1, the Mann-Whitney pair count for the AUC."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mnist_cnn import metrics

g = torch.Generator().manual_seed(0)
LABELS = torch.randint(0, 10, (300,), generator=g)
PRED = torch.where(
    torch.rand(300, generator=g) < 0.7,
    LABELS,
    torch.randint(0, 10, (300,), generator=g),
)


def test_confusion_matrix_counts_pairs() -> None:
    cm = metrics.confusion_matrix(LABELS, PRED)
    ref = np.zeros((10, 10), dtype=int)
    for t, p in zip(LABELS.tolist(), PRED.tolist()):
        ref[t, p] += 1
    assert np.array_equal(cm, ref)
    assert metrics.accuracy(LABELS, PRED) == pytest.approx(np.trace(ref) / 300)


def test_precision_recall_f1_from_the_confusion_matrix() -> None:
    cm = metrics.confusion_matrix(LABELS, PRED)
    report = metrics.per_class_report(LABELS, PRED)
    for k in range(10):
        tp, fp, fn = (
            cm[k, k],
            cm[:, k].sum() - cm[k, k],
            cm[k, :].sum() - cm[k, k],
        )
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        assert report.precision[k] == pytest.approx(precision)
        assert report.recall[k] == pytest.approx(recall)
        assert report.f1[k] == pytest.approx(
            2 * precision * recall / (precision + recall)
        )
        assert report.support[k] == cm[k].sum()


def test_auc_equals_the_fraction_of_correctly_ordered_pairs() -> None:
    scores = torch.softmax(
        torch.randn(120, 10, generator=g)
        + 2 * torch.nn.functional.one_hot(LABELS[:120], 10),
        dim=1,
    )
    curves = metrics.roc_curves(LABELS[:120], scores)
    for k in (0, 3, 9):
        pos = scores[LABELS[:120] == k, k].tolist()
        neg = scores[LABELS[:120] != k, k].tolist()
        pairs = [
            (p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg)
        ]
        assert curves[k].auc == pytest.approx(sum(pairs) / len(pairs))
        assert curves[k].fpr[0] == 0 and curves[k].tpr[-1] == 1


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="two equal, non-empty 1-D arrays"):
        metrics.accuracy(LABELS, PRED[:10])
    with pytest.raises(ValueError, match=r"expected \(N, n_classes\)"):
        metrics.roc_curves(LABELS, torch.zeros(300))
    with pytest.raises(
        ValueError, match="class 0: needs both positive and negative"
    ):
        metrics.roc_curves(torch.zeros(5, dtype=torch.int64), torch.rand(5, 2))

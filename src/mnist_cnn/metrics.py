"""Evaluation metrics, computed with scikit-learn (a well-kept reference
implementation).

Explained in the chapter "Evaluation" (``book/evaluation.ipynb``), which also
computes one class's precision, recall and F1 by hand from the confusion matrix
and checks them against these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn import metrics as skm

__all__ = [
    "accuracy",
    "confusion_matrix",
    "ClassReport",
    "per_class_report",
    "RocCurve",
    "roc_curves",
]


def _np(t: torch.Tensor | np.ndarray) -> np.ndarray:
    return (
        t.detach().cpu().numpy()
        if isinstance(t, torch.Tensor)
        else np.asarray(t)
    )


def _check(
    labels: torch.Tensor | np.ndarray, predictions: torch.Tensor | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    y, p = _np(labels), _np(predictions)
    if y.shape != p.shape or y.ndim != 1 or y.size == 0:
        raise ValueError(
            f"labels {y.shape} and predictions {p.shape}: expected two "
            "equal, non-empty 1-D arrays."
        )
    return y, p


def accuracy(
    labels: torch.Tensor | np.ndarray, predictions: torch.Tensor | np.ndarray
) -> float:
    """Fraction of predictions equal to the labels."""
    y, p = _check(labels, predictions)
    return float(skm.accuracy_score(y, p))


def confusion_matrix(
    labels: torch.Tensor | np.ndarray,
    predictions: torch.Tensor | np.ndarray,
    n_classes: int = 10,
) -> np.ndarray:
    """``C[i, j]`` = number of images of class i predicted as j; rows are the
    true classes."""
    y, p = _check(labels, predictions)
    return skm.confusion_matrix(y, p, labels=list(range(n_classes)))


@dataclass(frozen=True)
class ClassReport:
    # (n_classes,): of the images predicted as k, the fraction that are k
    precision: np.ndarray
    # (n_classes,): of the images of class k, the fraction predicted as k
    recall: np.ndarray
    f1: np.ndarray  # (n_classes,): harmonic mean of precision and recall
    support: np.ndarray  # (n_classes,): images of each class


def per_class_report(
    labels: torch.Tensor | np.ndarray,
    predictions: torch.Tensor | np.ndarray,
    n_classes: int = 10,
) -> ClassReport:
    """Precision, recall, F1 and support of every class."""
    y, p = _check(labels, predictions)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, p, labels=list(range(n_classes)), zero_division=0
    )
    return ClassReport(precision, recall, f1, support)


@dataclass(frozen=True)
class RocCurve:
    fpr: np.ndarray  # false positive rate at each threshold
    tpr: np.ndarray  # true positive rate (recall) at each threshold
    # area under the curve: P(a random positive scores above a random negative)
    auc: float


def roc_curves(
    labels: torch.Tensor | np.ndarray, probabilities: torch.Tensor | np.ndarray
) -> list[RocCurve]:
    """One-vs-rest ROC curve and AUC of every class from ``(N, n_classes)``
    probabilities (or scores)."""
    y, prob = _np(labels), _np(probabilities)
    if prob.ndim != 2 or prob.shape[0] != y.shape[0]:
        raise ValueError(
            f"probabilities {prob.shape}: expected (N, n_classes) with N = "
            f"{y.shape[0]}."
        )
    curves = []
    for k in range(prob.shape[1]):
        positive = (y == k).astype(int)
        if positive.min() == positive.max():
            raise ValueError(
                f"class {k}: needs both positive and negative examples for a "
                "ROC curve."
            )
        fpr, tpr, _ = skm.roc_curve(positive, prob[:, k])
        curves.append(
            RocCurve(fpr, tpr, float(skm.roc_auc_score(positive, prob[:, k])))
        )
    return curves

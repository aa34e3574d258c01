"""Classification metrics: confusion matrix, per-class precision / recall / F1, macro and weighted means.

    precision_c = TP_c / (TP_c + FP_c),  recall_c = TP_c / (TP_c + FN_c),  F1_c = 2 P R / (P + R)

(0 where a denominator is 0, as scikit-learn's ``zero_division=0``). The weighted mean weights
each class by its support (its number of true samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``M[i, j]`` = number of samples of true class i predicted as j; shape ``(K, K)``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} has labels outside [0, {num_classes}): "
                             f"[{y.min()}, {y.max()}]")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict:
    """Per-class precision, recall, F1 and support; accuracy; macro and weighted averages."""
    K = len(class_names)
    M = confusion_matrix(y_true, y_pred, K).astype(np.float64)
    tp = np.diag(M)
    predicted, support = M.sum(axis=0), M.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    weights = support / support.sum() if support.sum() else np.zeros(K)
    per_class = {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": int(support[i])} for i, name in enumerate(class_names)}
    return {"per_class": per_class, "accuracy": float(tp.sum() / max(M.sum(), 1)),
            "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())},
            "weighted": {"precision": float(weights @ precision), "recall": float(weights @ recall),
                         "f1": float(weights @ f1)}}


def format_report(report: dict) -> str:
    """The report as a markdown table, like the Fashion-MNIST reference project's README."""
    lines = ["| Class | Precision | Recall | F1 | Support |", "|---|---:|---:|---:|---:|"]
    for name, r in report["per_class"].items():
        lines.append(f"| {name} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['support']} |")
    keys = ("precision", "recall", "f1")
    macro = " / ".join(f"{report['macro'][k]:.4f}" for k in keys)
    weighted = " / ".join(f"{report['weighted'][k]:.4f}" for k in keys)
    lines.append(f"\nAccuracy {report['accuracy']:.4f}; macro P/R/F1 {macro}; weighted P/R/F1 {weighted}")
    return "\n".join(lines)


def plot_confusion_matrix(M: np.ndarray, class_names: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Save the confusion matrix as a PNG (counts in each cell, rows = true class)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(M, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion matrix")
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(j, i, int(M[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if M[i, j] > M.max() / 2 else "black")
    fig.colorbar(im)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

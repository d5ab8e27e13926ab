"""Figures people look at instead of tables: side-by-side galleries and training curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display is assumed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .colour import lab_to_rgb, rgb_to_lab  # noqa: E402


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """The image as the model sees it: its own L with a = b = 0."""
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = 0
    return lab_to_rgb(lab)


def gallery(rows: list[tuple[str, list[np.ndarray]]], columns: list[str], path: Path, width: float = 3.0) -> Path:
    """A grid: one row per photo (its label, its images), one titled column per image kind."""
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(width * len(columns), width * 0.75 * len(rows)),
                             squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            ax = axes[r][c]
            ax.imshow(np.clip(image, 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[c])
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def training_curves(history: list[dict], path: Path) -> Path:
    """Training and validation MSE per epoch (the paper's Figure 10, with the loss it actually optimised)."""
    epochs = [int(h["epoch"]) + 1 for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [float(h["loss"]) for h in history], marker="o", label="training")
    ax.plot(epochs, [float(h["val_loss"]) for h in history], marker="o", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE of ab (network scale, -1..1)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)

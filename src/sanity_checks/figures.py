"""Figures. Functions build and return matplotlib figures; saving is ``files.save_figure``."""
import matplotlib

matplotlib.use("Agg")  # figures are written to files; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def training_curves(history, title=""):
    """Validation accuracy and last-batch loss per epoch (``history`` from ``train.train``)."""
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
    ax1.plot(epochs, [h.get("val_accuracy", np.nan) for h in history], marker="o")
    ax1.set(xlabel="epoch", ylabel="validation accuracy", title=title)
    ax2.plot(epochs, [h["loss"] for h in history], marker="o", color="tab:red")
    ax2.set(xlabel="epoch", ylabel="loss (last batch)")
    fig.tight_layout()
    return fig


def image_and_mask_rows(images, masks, titles=None, row_labels=("image", "mask")):
    """Two rows: images (N, H, W, 1|3) in [0, 1] and signed masks (N, H, W, C) shown diverging."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 2.8), squeeze=False)
    for i in range(n):
        img = images[i].squeeze()
        axes[0, i].imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
        mask = masks[i].sum(axis=-1) if masks[i].ndim == 3 else masks[i]
        span = np.abs(mask).max() or 1.0
        axes[1, i].imshow(mask / span, cmap="bwr", vmin=-1, vmax=1)
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for ax, label in zip(axes[:, 0], row_labels):
        ax.set_ylabel(label)
    fig.tight_layout()
    return fig

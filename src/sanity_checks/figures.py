"""Figures. Functions build and return matplotlib figures; saving is ``files.save_figure``.

Every figure is detached from pyplot before it is returned (:func:`detached`): scripts never open
windows, and a notebook shows a figure only where a cell returns or displays it.
"""
import matplotlib.pyplot as plt
import numpy as np


def detached(fig):
    """Remove ``fig`` from pyplot's figure manager (it stays usable: saving, displaying)."""
    plt.close(fig)
    return fig


def image_axes(axes, titles=None, fontsize=9):
    """Image panels: no ticks; optional titles (long ones, e.g. Inception block names, slanted)."""
    axes = np.ravel(axes)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if titles is not None:
        slant = any(len(t) > 10 for t in titles)
        for ax, t in zip(axes, titles):
            ax.set_title(t, fontsize=fontsize, rotation=45 if slant else 0, ha="left" if slant else "center")


#: Line colours for methods: tab10 without its grey (kept for controls and baselines).
METHOD_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                 "tab:olive", "tab:cyan")
#: Markers of methods beyond the nine colours (the tenth method: blue with squares, ...).
METHOD_MARKERS = ("o", "s", "^", "D", "v")
#: Controls and model-free baselines (edge detector, noise): greys and black, dashed or dotted, no markers,
#: so that they never look like a method.
CONTROL_COLORS = ("black", "dimgray", "darkgray")
CONTROL_LINES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))


#: Methods that ignore the model (``methods.baselines``): drawn as controls.
MODEL_FREE = ("edge",)


def method_styles(names):
    """One distinct style per method: solid lines with markers, the nine colours, then the same colours
    with other markers. Never grey, black or a broken line, which the figures keep for controls."""
    return {name: dict(color=METHOD_COLORS[i % len(METHOD_COLORS)], ls="-", ms=3,
                       marker=METHOD_MARKERS[(i // len(METHOD_COLORS)) % len(METHOD_MARKERS)])
            for i, name in enumerate(names)}


def control_styles(names):
    """One distinct style per control or baseline: greys and black, broken lines, no markers."""
    return {name: dict(color=CONTROL_COLORS[i % len(CONTROL_COLORS)], ls=CONTROL_LINES[i % len(CONTROL_LINES)],
                       lw=1.8, marker="")
            for i, name in enumerate(names)}


def line_styles(methods, controls):
    """{name: plot keywords}: :func:`method_styles` for ``methods``, :func:`control_styles` for ``controls``."""
    return {**method_styles(methods), **control_styles(controls)}


def legend_apart(ax, controls, fontsize=7):
    """Two legends right of ``ax``: the methods at the top, the controls (lines labelled with a label in
    ``controls``) at the bottom, so that the two never mix; returns them."""
    handles, labels = ax.get_legend_handles_labels()
    legends = []
    for title, is_control, loc, y in (("methods", False, "upper left", 1.0), ("controls", True, "lower left", 0.0)):
        part = [(h, lab) for h, lab in zip(handles, labels) if (lab in controls) == is_control]
        if part:
            if legends:   # keep the previous one: ax.legend replaces the axes' legend
                ax.add_artist(legends[-1])
                legends[-1].set_clip_on(False)
            legends.append(ax.legend(*zip(*part), title=title, fontsize=fontsize, title_fontsize=fontsize, loc=loc,
                                     bbox_to_anchor=(1.02, y)))
    return legends


def state_ticks(ax, labels, most=30):
    """Every model state on the x axis, its label on at most ``most`` of them (evenly, with the last)."""
    from .figure_states import grid_states

    x = np.arange(len(labels))
    ax.set_xticks(x)
    shown = set(grid_states(len(labels), most))
    ax.set_xticklabels([lab if i in shown else "" for i, lab in enumerate(labels)], rotation=60, ha="right",
                       fontsize=7)


def training_curves(history, title=""):
    """Validation accuracy and last-batch loss per epoch (``history`` from ``train.train``)."""
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
    ax1.plot(epochs, [h.get("val_accuracy", np.nan) for h in history], marker="o")
    ax1.set(xlabel="epoch", ylabel="validation accuracy", title=title)
    ax2.plot(epochs, [h["loss"] for h in history], marker="o", color="tab:red")
    ax2.set(xlabel="epoch", ylabel="loss (last batch)")
    fig.tight_layout()
    return detached(fig)


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
    image_axes(axes)
    for ax, label in zip(axes[:, 0], row_labels):
        ax.set_ylabel(label)
    fig.tight_layout()
    return detached(fig)


METRIC_LABELS = {"spearman_abs": "Spearman rank correlation (ABS)",
                 "spearman_signed": "Spearman rank correlation (no ABS)",
                 "ssim": "SSIM", "hog": "HOG similarity"}


def _show_image(ax, image):
    image = np.asarray(image)
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray")
    else:  # Inception inputs are in [-1, 1]
        ax.imshow(np.clip((image + 1) / 2 if image.min() < 0 else image, 0, 1))


def mask_grid(image, masks_by_step, step_labels, methods, labels=None, signed=False, title=""):
    """The paper's Figure 2: rows are methods, columns the input then each model state.

    ``masks_by_step``: {step label: {method: mask (H, W, C)}}. Absolute masks are drawn in gray
    (``metrics.abs_norm``), signed ones diverging in blue-white-red (``metrics.diverging_norm``).
    Of many states only about a dozen are shown, evenly spaced with the first and the last
    (:func:`~sanity_checks.figure_states.grid_states`); the title says how many of how many.
    """
    from .figure_states import grid_states
    from .metrics import abs_norm, diverging_norm

    labels = labels or {}
    shown = grid_states(len(step_labels))
    if len(shown) < len(step_labels):
        title = f"{title} ({len(shown)} of {len(step_labels)} states)".strip()
        step_labels = [step_labels[i] for i in shown]
    rows, cols = len(methods), len(step_labels) + 1
    fig, axes = plt.subplots(rows, cols, figsize=(1.15 * cols + 0.8, 1.15 * rows + 0.4), squeeze=False)
    for r, method in enumerate(methods):
        _show_image(axes[r, 0], image)
        axes[r, 0].set_ylabel(labels.get(method, method), rotation=0, ha="right", va="center", fontsize=8)
        for c, step in enumerate(step_labels, start=1):
            mask = masks_by_step[step][method]
            if signed:
                norm = diverging_norm(mask, mode="maxabs") if mask.ndim == 3 and mask.shape[-1] > 1 \
                    else diverging_norm(mask)
                axes[r, c].imshow(norm, cmap="bwr", vmin=-1, vmax=1)
            else:
                axes[r, c].imshow(abs_norm(mask), cmap="gray", vmin=0, vmax=1)
    image_axes(axes)
    image_axes(axes[0], ["input"] + list(step_labels), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return detached(fig)


def similarity_curves(summary, step_labels, methods, metric, labels=None, title="", ax=None):
    """Mean similarity to the trained model's masks per model state, +-1 std band, one line per method."""
    labels = labels or {}
    own_figure = ax is None
    if own_figure:
        fig, ax = plt.subplots(figsize=(min(14, max(5, 0.45 * len(step_labels) + 2)), 3.6))
    x = np.arange(len(step_labels))
    controls = [m for m in methods if m in MODEL_FREE]
    styles = line_styles([m for m in methods if m not in controls], controls)
    for method in methods:
        stats = [summary[method][s][metric] for s in step_labels]
        mean = np.array([s["mean"] for s in stats])
        std = np.array([s["std"] for s in stats])
        style = styles[method]
        ax.plot(x, mean, label=labels.get(method, method), **style)
        ax.fill_between(x, mean - std, mean + std, alpha=0.15 if method not in controls else 0.08,
                        color=style["color"])
    ax.axhline(0, color="gray", lw=0.5)
    state_ticks(ax, step_labels)
    ax.set_ylim(-1.05 if metric == "spearman_signed" else -0.1, 1.05)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title, fontsize=9)
    if own_figure:
        ax.legend(fontsize=7, loc="lower left", ncol=2)
        fig.tight_layout()
        return detached(fig)
    return ax


def bar_chart(summary, methods, metric, step, labels=None, title=""):
    """Mean +- std similarity per method at one model state (the data randomization figure)."""
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(max(4, 0.7 * len(methods) + 1), 3.2))
    stats = [summary[m][step][metric] for m in methods]
    ax.bar(range(len(methods)), [s["mean"] for s in stats], yerr=[s["std"] for s in stats], capsize=3,
           color="tab:blue")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xticks(range(len(methods)))
    ax.set_xticklabels([labels.get(m, m) for m in methods], rotation=45, ha="right", fontsize=8)
    ax.set_ylim(-1.05 if metric == "spearman_signed" else 0, 1.05)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return detached(fig)

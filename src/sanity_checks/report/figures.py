"""The report's figures, as the checks' specs declare them: the cascading-randomization curves and the
maps side by side (random logit, input invariance)."""
import os

import numpy as np

from ..checks import CHECKS
from ..checks.controls import EDGE, INPUT_NOISE, RANDOM
from ..checks.spec import CascadeFigure
from ..files import save_figure
from .markdown import label


def cascade_figure(rows, names, metric="spearman_abs"):
    import matplotlib.pyplot as plt

    from ..figures import method_styles

    orders = sorted({r["order"] for r in rows if r["check"] == "mprt"}, reverse=True)
    controls = {EDGE: dict(color="black", ls="--", lw=2), RANDOM: dict(color="black", ls=":", lw=2),
                INPUT_NOISE: dict(color="gray", ls="-.", lw=2)}
    styles = {**method_styles([n for n in names if n not in controls]), **controls}
    fig, axes = plt.subplots(1, len(orders), figsize=(5.2 * len(orders), 4), squeeze=False, sharey=True)
    for ax, order in zip(axes[0], orders):
        sel = [r for r in rows if r["check"] == "mprt" and r["order"] == order and r["metric"] == metric]
        steps = sorted({(r["step_index"], r["state"]) for r in sel})
        for name in names:
            means = [np.mean([r["value"] for r in sel if r["method"] == name and r["step_index"] == k])
                     for k, _ in steps]
            style = styles[name]
            ax.plot(range(len(steps)), means, marker="o", ms=3, label=label(name), **style)
        ax.set_xticks(range(len(steps)))
        ax.set_xticklabels([s for _, s in steps], rotation=60, ha="right", fontsize=7)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_title(f"cascading randomization, {order}", fontsize=9)
        ax.set_ylabel("Spearman (absolute maps) to the trained model's map")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def display_image(image):
    """An input as the model sees it, scaled to [0, 1] by its own range for display (whatever its range: [0, 1],
    0-255, [-1, 1], standardized); one channel as (H, W)."""
    image = np.asarray(image, dtype=np.float64)
    low, high = float(np.min(image)), float(np.max(image))
    scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return scaled[..., 0] if scaled.shape[-1] == 1 else scaled


def map_pairs_figure(images, left, right, names, titles, suptitle):
    """Rows: methods and controls; per image: the input, then the two maps (absolute, normalized)."""
    import matplotlib.pyplot as plt
    from ..metrics import abs_norm

    n = len(images)
    fig, axes = plt.subplots(len(names), 3 * n, figsize=(1.1 * 3 * n + 1.6, 1.1 * len(names) + 0.6), squeeze=False)
    for r, name in enumerate(names):
        for i in range(n):
            image = images[i]
            axes[r, 3 * i].imshow(display_image(image), cmap="gray", vmin=0, vmax=1)
            for j, maps in enumerate((left, right), start=1):
                if name in maps:
                    axes[r, 3 * i + j].imshow(abs_norm(maps[name][i]), cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(label(name), rotation=0, ha="right", va="center", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for i in range(n):
        for j, t in enumerate(["input"] + list(titles[i])):
            axes[0, 3 * i + j].set_title(t, fontsize=6)
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


def _split(maps, prefix):
    return {k.split("|", 1)[1]: v for k, v in maps.items() if k.startswith(prefix + "|")}


def _titles(figure, maps):
    """Per image, the figure's two titles formatted with the check's kept per-image arrays (e.g. classes)."""
    per_image = {k: v for k, v in maps.items() if "|" not in k and k != "images"}
    return [tuple(t.format(**{k: int(v[i]) for k, v in per_image.items()}) for t in figure.titles)
            for i in range(len(maps["images"]))]


def write_figures(out, rows, names, all_maps):
    """The figures each check's spec declares (:class:`~sanity_checks.checks.spec.CascadeFigure`,
    :class:`~sanity_checks.checks.spec.MapFigure`), in check order, for the checks with rows or maps."""
    written = []
    for check, spec in CHECKS.items():
        maps = all_maps.get(check) or {}
        for figure in spec.figures:
            if isinstance(figure, CascadeFigure):
                if any(r["check"] == check for r in rows):
                    written.append(save_figure(cascade_figure(rows, names), os.path.join(out, figure.file)))
                continue
            if "images" not in maps:
                continue
            right = _split(maps, figure.right)
            if figure.only_present and not right:
                continue
            fig = map_pairs_figure(maps["images"], _split(maps, figure.left), right,
                                   list(right) if figure.only_present else names, _titles(figure, maps),
                                   figure.suptitle)
            written.append(save_figure(fig, os.path.join(out, figure.file)))
    return [os.path.basename(p) for p in written]

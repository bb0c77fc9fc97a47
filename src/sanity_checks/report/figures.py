"""The report's figures: the cascading-randomization curves and the maps side by side (random logit,
input invariance)."""
import os

import numpy as np

from ..checks.controls import EDGE, INPUT_NOISE, RANDOM
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


def map_pairs_figure(images, left, right, names, titles, suptitle):
    """Rows: methods and controls; per image: the input, then the two maps (absolute, normalized)."""
    import matplotlib.pyplot as plt
    from ..metrics import abs_norm

    n = len(images)
    fig, axes = plt.subplots(len(names), 3 * n, figsize=(1.1 * 3 * n + 1.6, 1.1 * len(names) + 0.6), squeeze=False)
    for r, name in enumerate(names):
        for i in range(n):
            image = images[i]
            axes[r, 3 * i].imshow(image[..., 0] if image.shape[-1] == 1 else np.clip((image + 1) / 2, 0, 1),
                                  cmap="gray")
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


def write_figures(out, rows, names, all_maps):
    written = []
    if any(r["check"] == "mprt" for r in rows):
        written.append(save_figure(cascade_figure(rows, names), os.path.join(out, "cascading_curves.png")))
    maps = all_maps.get("random_logit") or {}
    if "images" in maps:
        titles = [(f"class {int(c)}", f"class {int(o)}") for c, o in zip(maps["classes"], maps["other_classes"])]
        written.append(save_figure(map_pairs_figure(maps["images"], _split(maps, "explained"), _split(maps, "other"),
                                                    names, titles, "random logit: explained class vs a random other class"),
                                   os.path.join(out, "random_logit_maps.png")))
    maps = all_maps.get("input_invariance") or {}
    if "images" in maps:
        shifted = _split(maps, "shifted")
        shifted_baseline = {f"{k}": v for k, v in _split(maps, "shifted baseline").items()}
        titles = [("model, x", "shifted, x + m")] * len(maps["images"])
        fig = map_pairs_figure(maps["images"], _split(maps, "original"), shifted, names, titles,
                               "input invariance (baseline methods: zero baseline)")
        written.append(save_figure(fig, os.path.join(out, "input_invariance_maps.png")))
        if shifted_baseline:
            fig = map_pairs_figure(maps["images"], _split(maps, "original"), shifted_baseline, list(shifted_baseline),
                                   titles, "input invariance, baseline shifted too")
            written.append(save_figure(fig, os.path.join(out, "input_invariance_shifted_baseline_maps.png")))
    return [os.path.basename(p) for p in written]

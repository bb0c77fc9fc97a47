"""The report's figures, as the checks' specs declare them: the cascading-randomization curves, the mask
grid over model states, and the maps side by side (random logit, input invariance)."""
import os

import numpy as np

from ..checks import CHECKS
from ..checks.controls import CONTROLS
from ..checks.spec import CascadeFigure, GridFigure
from ..files import save_figure
from .markdown import label


def cascade_figure(rows, names, metric="spearman_abs"):
    """Mean similarity to the trained model's map per state, one panel per order; every state is drawn,
    the controls in greys with broken lines and a legend block of their own (``figures.line_styles``)."""
    import matplotlib.pyplot as plt

    from ..figures import legend_apart, line_styles, state_ticks

    orders = sorted({r["order"] for r in rows if r["check"] == "mprt"}, reverse=True)
    controls = [n for n in names if n in CONTROLS]
    styles = line_styles([n for n in names if n not in CONTROLS], controls)
    n_states = max([len({r["step_index"] for r in rows if r["check"] == "mprt" and r["order"] == o}) for o in orders],
                   default=1)
    width = min(12.0, max(5.2, 0.2 * n_states + 2))
    fig, axes = plt.subplots(1, len(orders), figsize=(width * len(orders), 4), squeeze=False, sharey=True)
    for ax, order in zip(axes[0], orders):
        sel = [r for r in rows if r["check"] == "mprt" and r["order"] == order and r["metric"] == metric]
        steps = sorted({(r["step_index"], r["state"]) for r in sel})
        for name in names:
            means = [np.mean([r["value"] for r in sel if r["method"] == name and r["step_index"] == k])
                     for k, _ in steps]
            ax.plot(range(len(steps)), means, label=label(name), **styles[name])
        state_ticks(ax, [s for _, s in steps])
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_title(f"cascading randomization, {order}", fontsize=9)
        ax.set_ylabel("Spearman (absolute maps) to the trained model's map")
    legend_apart(axes[0, -1], {label(n) for n in controls})
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


def _display(image):
    """An input image as RGB in [0, 1] (Inception inputs are in [-1, 1])."""
    image = np.asarray(image, dtype=np.float64)
    if image.shape[-1] == 1:
        return np.repeat(np.clip(image, 0, 1), 3, axis=-1)
    return np.clip((image + 1) / 2 if image.min() < 0 else image, 0, 1)


def grid_states_of(maps):
    """{order: [(state index, state label, {name: (N, H, W) map})]} from a check's ``grid/`` maps, in state order."""
    from ..checks.mprt import parse_grid_key

    out = {}
    for key, value in maps.items():
        prefix, _, name = key.rpartition("|")
        parsed = parse_grid_key(prefix)
        if parsed:
            order, index, state = parsed
            out.setdefault(order, {}).setdefault((index, state), {})[name] = value
    return {order: [(i, s, by_name) for (i, s), by_name in sorted(states.items())] for order, states in out.items()}


def grid_figure(maps, names, image=0):
    """The paper's Figure 2, one panel per order: rows the methods and controls, columns the input then the
    kept states (absolute maps, ``metrics.abs_norm``), drawn as one mosaic per panel (fast at any size)."""
    import matplotlib.pyplot as plt

    orders = grid_states_of(maps)
    names = [n for n in names if any(n in by_name for states in orders.values() for _, _, by_name in states)]
    source = _display(maps["images"][image])
    h, w, pad = source.shape[0], source.shape[1], max(1, source.shape[0] // 14)
    n_cols = max(len(states) for states in orders.values()) + 1
    fig, axes = plt.subplots(len(orders), 1, figsize=(0.95 * n_cols + 1.8, (0.95 * len(names) + 0.9) * len(orders)),
                             squeeze=False)
    for ax, (order, states) in zip(axes[:, 0], sorted(orders.items(), reverse=True)):
        mosaic = np.ones((len(names) * (h + pad) - pad, (len(states) + 1) * (w + pad) - pad, 3))
        for r, name in enumerate(names):
            tiles = [source] + [np.repeat(np.asarray(by_name[name][image], np.float64)[..., None], 3, axis=-1)
                                if name in by_name else np.ones_like(source) for _, _, by_name in states]
            for c, tile in enumerate(tiles):
                mosaic[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tile
        ax.imshow(mosaic, interpolation="nearest")
        ax.set_xticks([c * (w + pad) + w / 2 for c in range(len(states) + 1)])
        ax.set_xticklabels(["input"] + [s for _, s, _ in states], rotation=45, ha="left", fontsize=7)
        ax.xaxis.tick_top()
        ax.set_yticks([r * (h + pad) + h / 2 for r in range(len(names))])
        ax.set_yticklabels([label(n) for n in names], fontsize=7)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_xlabel(f"cascading randomization {order}, image {image}: absolute maps at "
                      f"{len(states)} states", fontsize=8)
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
            if isinstance(figure, GridFigure):
                if "images" in maps and grid_states_of(maps):
                    written.append(save_figure(grid_figure(maps, names), os.path.join(out, figure.file)))
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

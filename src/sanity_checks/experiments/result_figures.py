"""The figures of a randomization result: the paper's mask grids and similarity curves, and the
noise test's curves per noise level with its accuracy (drawn with ``sanity_checks.figures``)."""
from .. import figures
from ..methods import LABELS
from . import results


def randomization_figures(result, model_name, prefix=""):
    """The Figure-2 mask grids (absolute and signed) and similarity-versus-block curves."""
    labels = [s.label for s in result.steps]
    summary = results.summarize(result.rows)
    mode = result.settings["mode"]
    first_image = {step: {m: masks[0] for m, masks in by_method.items()} for step, by_method in result.masks.items()}
    out = {}
    for signed in (False, True):
        out[f"{prefix}mask_grid_{'signed' if signed else 'abs'}.png"] = figures.mask_grid(
            result.images[0], first_image, labels, result.methods, LABELS, signed=signed,
            title=f"{model_name}: {mode} randomization, image 0 ({'signed' if signed else 'absolute'} masks)")
    for metric in result.metrics:
        out[f"{prefix}curves_{metric}.png"] = figures.similarity_curves(
            summary, labels, result.methods, metric, LABELS,
            title=f"{model_name}: {mode} randomization, {result.settings['n_images']} images")
    return out


def noise_figures(outcomes, levels, model_name, relative):
    """Similarity versus block, one panel per noise level, for each metric; test accuracy per step."""
    import matplotlib.pyplot as plt

    scale = "x the weights' std" if relative else "absolute"
    labels = [s.label for s in outcomes[0].steps]
    out = {}
    for metric in outcomes[0].metrics:
        fig, axes = plt.subplots(1, len(levels), figsize=(4.2 * len(levels), 3.8), squeeze=False, sharey=True)
        for ax, level, result in zip(axes[0], levels, outcomes):
            figures.similarity_curves(results.summarize(result.rows), labels, result.methods, metric, LABELS,
                                      title=f"noise std {level} ({scale})", ax=ax)
        axes[0, 0].legend(fontsize=7, loc="lower left", ncol=2)
        fig.suptitle(f"{model_name}: cascading noise, {outcomes[0].settings['n_images']} images", fontsize=10)
        fig.tight_layout()
        out[f"noise_curves_{metric}.png"] = figures.detached(fig)
    if not outcomes[0].accuracy:   # no labelled evaluation data (ImageNet image folders)
        return out
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for level, result in zip(levels, outcomes):
        ax.plot(labels, [result.accuracy[s] for s in labels], marker="o", label=f"std {level}")
    n_eval = outcomes[0].settings.get("accuracy_images")
    ax.set(ylabel=f"test accuracy ({n_eval} images)" if n_eval else "test accuracy", ylim=(0, 1.02),
           title=f"{model_name}: accuracy under cascading noise ({scale})")
    ax.tick_params(axis="x", rotation=60)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out["noise_accuracy.png"] = figures.detached(fig)
    return out

"""The CNN's first column (RESULTS 14, last subsection; README "How close the replication is"): every
number quoted, recomputed from ``doc/cnn_first_column.csv`` (written by ``bench/cnn_first_column.py``)
with pandas alone. ``bench/seed_spread_claims.py`` adds these to the sentences that
tests/test_replication_claims.py checks.

    PYTHONPATH=src .venv/bin/python bench/cnn_first_column_claims.py     # print the tables and claims
"""
import os
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from seed_spread_reference import ORIGINAL_COLUMNS, ORIGINAL_OTHER_RUN_COLUMNS  # noqa: E402

REPO = os.path.dirname(HERE)
METHODS = ("gradient", "smoothgrad", "guided_backprop")
VARIANTS = {
    "original": "the original's re-draw (truncated normal 0.1, biases 0.1; own class)",
    "std_0.01": "weights std 0.01 (the paper's appendix)",
    "bias_0": "biases 0",
    "normal": "weights N(0, 0.1), not truncated",
    "shuffled": "the trained weights permuted",
    "trained_class": "the trained model's class explained",
    "shared": "diagnostic: every top weight 1 (the sum of the fc1 units)",
    "random_vs_random": "diagnostic: two re-draws against each other"}
LABELS = {"gradient": "Gradient", "smoothgrad": "SmoothGrad", "guided_backprop": "Guided BackProp"}
REDRAWS = ("std_0.01", "bias_0", "normal", "shuffled", "trained_class")
#: The training budgets compared, in the order the tables give them:
#: (key, data, train_images, epochs, reg, label, short label).
BUDGETS = (
    ("mnist_e3", "mnist", 7000, 3, False,
     "MNIST, 7,000 digits, 3 epochs (420 steps), no penalty (the demo's quick CNN)", "MNIST, 420 steps, no penalty"),
    ("mnist_reg_e3", "mnist", 7000, 3, True, "MNIST, 7,000 digits, 3 epochs (420 steps), L2 penalty",
     "MNIST, 420 steps"),
    ("mnist_e50", "mnist", 7000, 50, True, "MNIST, 7,000 digits, 50 epochs (7,000 steps), L2 penalty (the study's CNN)",
     "MNIST, 7,000 steps"),
    ("mnist_e100", "mnist", 7000, 100, True, "MNIST, 7,000 digits, 100 epochs (14,000 steps), L2 penalty",
     "MNIST, 14,000 steps"),
    ("mnist_e200", "mnist", 7000, 200, True, "MNIST, 7,000 digits, 200 epochs (28,000 steps), L2 penalty",
     "MNIST, 28,000 steps"),
    ("mnist_e400", "mnist", 7000, 400, True,
     "MNIST, 7,000 digits, 400 epochs (56,000 steps, the original's count), L2 penalty", "MNIST, 56,000 steps"),
    ("fashion_8k_e3", "fashion", 8000, 3, False, "Fashion-MNIST, 8,000 images, 3 epochs (480 steps), no penalty",
     "Fashion-MNIST, 480 steps, no penalty"),
    ("fashion_7k_e50", "fashion", 7000, 50, True, "Fashion-MNIST, 7,000 images, 50 epochs (7,000 steps), L2 penalty",
     "Fashion-MNIST, 7,000 steps"))


#: The budgets the re-draw table shows (every model's rows are in the CSV and in the claims over all models).
REDRAW_BUDGETS = ("mnist_e3", "mnist_reg_e3", "mnist_e50", "mnist_e400", "fashion_8k_e3", "fashion_7k_e50")


def load(doc=os.path.join(REPO, "doc")):
    """The CSV's rows, images 0-9."""
    rows = pd.read_csv(os.path.join(doc, "cnn_first_column.csv"), dtype={"images": str})
    rows["reg"] = rows.reg.astype(str).str.lower() == "true"
    return rows[rows.images == "0-9"].reset_index(drop=True)


def measured(rows):
    """The budgets with rows in the CSV, in table order."""
    return [b for b in BUDGETS if not budget(rows, b[0]).empty]


def budget(rows, key):
    """The rows of one training budget (every seed measured)."""
    _, data, n, epochs, reg, _, _ = next(b for b in BUDGETS if b[0] == key)
    return rows[(rows.data == data) & (rows.train_images == n) & (rows.epochs == epochs) & (rows.reg == reg)]


def f3(v):
    return f"{v:.3f}".replace("-", "−")


def spread(values):
    """'mean [min, max]' over seeds, or the one value."""
    return f3(values.iloc[0]) if len(values) == 1 else f"{f3(values.mean())} [{f3(values.min())}, {f3(values.max())}]"


def seeds_of(r):
    seeds = sorted(int(s) for s in r.seed.unique())
    return ", ".join(map(str, seeds))


def budget_table(rows):
    """The first column after the original's re-draw, per training budget: mean [min, max] over seeds."""
    lines = ["| training (the CNN of section 1, seeds as given) | seeds | test accuracy | Gradient | SmoothGrad | "
             "Guided BackProp |", "|---|---|---|---|---|---|"]
    for key, *_, label, _ in measured(rows):
        r = budget(rows, key)
        r = r[r.variant == "original"]
        acc = r.groupby("seed").test_accuracy.first()
        cells = [label, seeds_of(r), f"{acc.min():.3f}-{acc.max():.3f}" if len(acc) > 1 else f"{acc.iloc[0]:.3f}"]
        cells += [spread(r[r.method == m].set_index("seed")["mean"]) for m in METHODS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def redraw_table(rows):
    """Every re-draw of the top layer, per budget: Gradient / SmoothGrad / Guided BackProp, each the mean
    over the budget's seeds (three re-draws per seed)."""
    shown = [b for b in measured(rows) if b[0] in REDRAW_BUDGETS]
    lines = ["| top layer re-drawn as | " + " | ".join(
        f"{short} (seeds {seeds_of(budget(rows, k))})" for k, *_, short in shown) + " |",
             "|---|" + "---|" * len(shown)]
    for variant, label in VARIANTS.items():
        cells = []
        for key, *_ in shown:
            r = budget(rows, key)
            means = r[r.variant == variant].groupby("method")["mean"].mean()
            cells.append(" / ".join(f"{means[m]:.3f}" for m in METHODS))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_model_differences(rows):
    """Each model's re-draw variants minus its original re-draw, per method: a frame with model, variant,
    method, diff."""
    base = rows[rows.variant == "original"].set_index(["model", "method"])["mean"]
    r = rows[rows.variant.isin(REDRAWS)].copy()
    r["diff"] = r["mean"].values - base.loc[list(zip(r.model, r.method))].values
    return r


def claims(rows):
    """{name: the number (or range) as the documents quote it}."""
    c = {}
    diffs = per_model_differences(rows)
    worst = diffs.loc[diffs["diff"].abs().idxmax()]
    c["fc_models"] = str(rows.model.nunique())
    c["fc_redraw_max_diff"] = f"{abs(worst['diff']):.3f}"
    c["fc_redraw_worst"] = f"{VARIANTS[worst.variant].split(' (')[0]}, {worst.model}, {LABELS[worst.method]}"
    c["fc_redraw_diff_range"] = f"{f3(diffs['diff'].min())} and {f3(diffs['diff'].max())}"
    c["fc_redraw_mean_diff_max"] = f"{diffs.groupby(['variant', 'method'])['diff'].mean().abs().max():.3f}"
    c["fc_draw_std_max"] = f"{rows[rows.variant.isin(('original',) + REDRAWS)].std_over_draws.max():.3f}"
    study = budget(rows, "mnist_e50")
    for m in METHODS:
        r = study[(study.method == m) & study.variant.isin(("original",) + REDRAWS)]
        c[f"fc_study_redraws_{m}"] = f"{r['mean'].min():.2f}-{r['mean'].max():.2f}"
        for v in ("shared", "random_vs_random"):
            r = study[(study.method == m) & (study.variant == v)]["mean"]
            c[f"fc_study_{v}_{m}"] = f"{r.min():.2f}-{r.max():.2f}"
        r = budget(rows, "mnist_e400")
        r = r[(r.method == m) & (r.variant == "random_vs_random")]["mean"]
        if len(r):
            c[f"fc_e400_random_vs_random_{m}"] = f"{r.min():.2f}-{r.max():.2f}"
    for key, *_ in measured(rows):
        r = budget(rows, key)
        r = r[r.variant == "original"]
        for m in METHODS:
            v = r[r.method == m]["mean"]
            c[f"fc_{key}_{m}"] = f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f})" if len(v) > 1 else f"{v.iloc[0]:.3f}"
            c[f"fc_{key}_{m}_mean"] = f"{v.mean():.3f}"
        c[f"fc_{key}_seeds"] = str(r.seed.nunique())
    # what a budget leaves of the gap: the original's two runs minus our mean over seeds
    for key, prefix in (("mnist_e50", "fc_gap"), ("mnist_e400", "fc_gap_e400")):
        r = budget(rows, key)
        r = r[r.variant == "original"]
        if r.empty:
            continue
        for m in METHODS:
            ours = r[r.method == m]["mean"]
            first, other = ORIGINAL_COLUMNS["cnn"][m][0], ORIGINAL_OTHER_RUN_COLUMNS["cnn"][m][0]
            c[f"{prefix}_{m}"] = f"{first - ours.mean():.3f} / {other - ours.mean():.3f}"
            c[f"{prefix}_highest_{m}"] = f"{first - ours.max():.3f}"
    return c


#: (document, sentence with {claim} fields): each must appear in its document, whitespace aside
#: (``bench/seed_spread_claims.py`` adds them to its own; ``cnn_first_*`` are that module's claims).
QUOTES = [
    ("README.md", "at most {fc_redraw_max_diff} from the original's re-draw on any of {fc_models} CNNs, "
                  "{fc_redraw_mean_diff_max} on average, three re-draws each"),
    ("README.md", "after 420 and 7,000 Adam steps on our 7,000 digits gives Gradient {fc_mnist_e3_gradient} → "
                  "{fc_mnist_e50_gradient} and SmoothGrad {fc_mnist_e3_smoothgrad} → {fc_mnist_e50_smoothgrad} (mean "
                  "(min-max) over three seeds each; Guided BackProp {fc_mnist_e3_guided_backprop_mean} → "
                  "{fc_mnist_e50_guided_backprop_mean}), and leaves {fc_gap_gradient} of Gradient's gap"),
    ("README.md", "480 → 7,000 steps move the first column far less (Gradient {fc_fashion_8k_e3_gradient_mean} → "
                  "{fc_fashion_7k_e50_gradient_mean}, three seeds each)"),
    ("doc/RESULTS.md", "ours {cnn_first_gradient}, {cnn_first_smoothgrad} and {cnn_first_guided_backprop} over every "
                       "seed and sample"),
    ("doc/RESULTS.md", "{cnn_budget_table}"),
    ("doc/RESULTS.md", "{cnn_redraw_table}"),
    ("doc/RESULTS.md", "7,000 Adam steps instead of 420 raise Gradient from {fc_mnist_e3_gradient} to "
                       "{fc_mnist_e50_gradient} and SmoothGrad from {fc_mnist_e3_smoothgrad} to "
                       "{fc_mnist_e50_smoothgrad} (mean (min-max) over seeds 0-2: the seeds' ranges are far apart), "
                       "Guided BackProp only from "
                       "{fc_mnist_e3_guided_backprop} to {fc_mnist_e50_guided_backprop}"),
    ("doc/RESULTS.md", "with the penalty, 420 steps give {fc_mnist_reg_e3_gradient}, {fc_mnist_reg_e3_smoothgrad} and "
                       "{fc_mnist_reg_e3_guided_backprop}"),
    ("doc/RESULTS.md", "after 7,000 steps the mean over seeds stays {fc_gap_gradient} (Gradient), {fc_gap_smoothgrad} "
                       "(SmoothGrad) and {fc_gap_guided_backprop} (Guided BackProp) below the original's two runs, the "
                       "highest seed's Gradient {fc_gap_highest_gradient} below the first run's"),
    ("doc/RESULTS.md", "7,000 steps on its first 7,000 images give Gradient {fc_fashion_7k_e50_gradient}, SmoothGrad "
                       "{fc_fashion_7k_e50_smoothgrad} and Guided BackProp {fc_fashion_7k_e50_guided_backprop}, "
                       "against {fc_fashion_8k_e3_gradient}, {fc_fashion_8k_e3_smoothgrad} and "
                       "{fc_fashion_8k_e3_guided_backprop} after 480 steps on 8,000 images"),
    ("doc/RESULTS.md", "after 14,000, 28,000 and 56,000 steps Gradient {fc_mnist_e100_gradient}, "
                       "{fc_mnist_e200_gradient} and {fc_mnist_e400_gradient}, SmoothGrad {fc_mnist_e100_smoothgrad}, "
                       "{fc_mnist_e200_smoothgrad} and {fc_mnist_e400_smoothgrad}, Guided BackProp "
                       "{fc_mnist_e100_guided_backprop}, {fc_mnist_e200_guided_backprop} and "
                       "{fc_mnist_e400_guided_backprop}"),
    ("doc/RESULTS.md", "the mean over seeds lies {fc_gap_e400_gradient} (Gradient), "
                       "{fc_gap_e400_smoothgrad} (SmoothGrad) and {fc_gap_e400_guided_backprop} (Guided BackProp) "
                       "from the original's two runs, the highest seed's Gradient {fc_gap_e400_highest_gradient} "
                       "below the first run's"),
    ("README.md", "after 56,000 steps (the original's count; three seeds) Gradient {fc_mnist_e400_gradient}, "
                  "SmoothGrad {fc_mnist_e400_smoothgrad} and Guided BackProp {fc_mnist_e400_guided_backprop}: the "
                  "original's first run inside our range for SmoothGrad and Guided BackProp, Gradient's gap down to "
                  "{fc_gap_e400_gradient}"),
    ("doc/RESULTS.md", "over the {fc_models} models their differences from the original's re-draw lie between "
                       "{fc_redraw_diff_range}, of both signs (the largest: {fc_redraw_worst}), and average at most "
                       "{fc_redraw_mean_diff_max} per re-draw and method; the draws' own standard deviation reaches "
                       "{fc_draw_std_max}"),
    ("doc/RESULTS.md", "every re-draw gives Gradient {fc_study_redraws_gradient}, SmoothGrad "
                       "{fc_study_redraws_smoothgrad} and Guided BackProp {fc_study_redraws_guided_backprop}"),
    ("doc/RESULTS.md", "reaches only {fc_study_shared_gradient}, {fc_study_shared_smoothgrad} and "
                       "{fc_study_shared_guided_backprop}"),
    ("doc/RESULTS.md", "after 56,000 steps two random top layers are as alike as {fc_e400_random_vs_random_gradient}, "
                       "{fc_e400_random_vs_random_smoothgrad} and {fc_e400_random_vs_random_guided_backprop}"),
    ("doc/RESULTS.md", "({fc_study_random_vs_random_gradient}, {fc_study_random_vs_random_smoothgrad}, "
                       "{fc_study_random_vs_random_guided_backprop})"),
]


if __name__ == "__main__":
    rows = load()
    for name, value in claims(rows).items():
        print(f"{name}: {value}")
    print("\n" + budget_table(rows) + "\n\n" + redraw_table(rows))

"""Every replication number README ("How close the replication is") and RESULTS section 14 quote,
recomputed from the committed CSVs (``doc/seed_spread*.csv``) with pandas alone, and the sentences
and tables that quote them (tests/test_replication_claims.py checks each is in its document).

    PYTHONPATH=src .venv/bin/python bench/seed_spread_claims.py     # print every table and claim
"""
import os
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from seed_spread_reference import ORIGINAL_COLUMNS, ORIGINAL_DATA, ORIGINAL_OTHER_RUN_COLUMNS  # noqa: E402
import cnn_first_column_claims  # noqa: E402

REPO = os.path.dirname(HERE)
CSVS = ("seed_spread.csv", "seed_spread_epochs.csv", "seed_spread_fashion7k.csv", "seed_spread_cnn_epochs.csv")
LABELS = {"gradient": "Gradient", "smoothgrad": "SmoothGrad", "gradient_x_input": "Gradient⊙Input",
          "integrated_gradients": "Integrated Gradients", "ig_smoothgrad": "IG-SmoothGrad",
          "guided_backprop": "Guided BackProp", "gradcam": "GradCAM", "guided_gradcam": "Guided GradCAM",
          "vargrad": "VarGrad"}
ORDER = ["gradient", "smoothgrad", "gradient_x_input", "integrated_gradients", "ig_smoothgrad", "guided_backprop",
         "gradcam", "guided_gradcam", "vargrad"]


def load(doc=os.path.join(REPO, "doc")):
    """The study's rows, |Spearman| only, per-state noise, the three CSVs in one frame (a run in two
    CSVs once)."""
    frames = [pd.read_csv(os.path.join(doc, name), dtype={"gradcam_resize": str, "images": str}, keep_default_na=False,
                          na_values={"mean": [""], "std": [""]}) for name in CSVS]
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[(rows.metric == "spearman_abs") & (rows.noise == "per-state")]
    keys = ["test", "data", "architecture", "seed", "first_image", "variant", "epochs", "train_images", "method",
            "state", "gradcam_resize"]
    return rows.drop_duplicates(subset=keys).reset_index(drop=True)


def f3(v):
    return f"{v:.3f}".replace("-", "−")


def pick(rows, test="cascading", arch="cnn", method=None, state="last", resize="tf1_bilinear", data="mnist",
         variant="default", epochs=50, train_images=None, seeds=None, firsts=None):
    """The rows of one evaluation: the last (or first) column, GradCAM upsampled as ``resize``."""
    r = rows[(rows.test == test) & (rows.architecture == arch) & (rows.data == data) & (rows.variant == variant)
             & rows.gradcam_resize.isin(["", resize])]
    r = r[r.state == (r.states if state == "last" else 1)]
    if method is not None:
        r = r[r.method == method]
    if epochs is not None:
        r = r[r.epochs == epochs]
    if train_images is not None:
        r = r[r.train_images == train_images]
    if seeds is not None:
        r = r[r.seed.isin(seeds)]
    if firsts is not None:
        r = r[r.first_image.isin(firsts)]
    return r


def cell(values):
    """'mean [min, max]' over seeds."""
    return f"{f3(values.mean())} [{f3(values.min())}, {f3(values.max())}]"


def inside(original, values):
    low, high = round(values.min(), 3), round(values.max(), 3)
    if low <= original <= high:
        return "yes"
    nearer = high if original > high else low
    return f"{'at the edge' if round(abs(original - nearer), 3) <= 0.005 else 'no'} ({original - nearer:+.3f})".replace("-", "−")


def spread_table(rows):
    """RESULTS 14's last-column table: both networks, three seeds on two image samples and the disjoint
    samples of seed 0, the original's two CNN runs beside them."""
    head = ("| method | original (its two runs) | CNN: seeds 0-2, images 0-9 | CNN: seeds 0-2, images 10-19 | "
            "CNN: seed 0, 6 samples | original inside? | original | MLP: seeds 0-2, images 0-9 | "
            "MLP: seeds 0-2, images 10-19 | MLP: seed 0, 10 samples | original inside? |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for method, resize, label in [(m, "tf1_bilinear", LABELS[m]) for m in ORDER] + [
            ("gradcam", "skimage", "GradCAM, upsampled as PAIR 0.2.1 (skimage)"),
            ("guided_gradcam", "skimage", "Guided GradCAM, upsampled as PAIR 0.2.1 (skimage)")]:
        cells = [label]
        for arch in ("cnn", "mlp"):
            r = pick(rows, arch=arch, method=method, resize=resize)
            if r.empty:
                cells += ["–"] * 5
                continue
            first, other = ORIGINAL_COLUMNS[arch].get(method), ORIGINAL_OTHER_RUN_COLUMNS.get(arch, {}).get(method)
            original = "–" if first is None else f"{first[-1]:.3f}" + (f"; {other[-1]:.3f}" if other else "")
            both = r[r.first_image.isin([0, 10])]
            samples = r[r.seed == 0]
            verdict = "–" if first is None else inside(first[-1], r["mean"])
            if other and verdict != "–":
                verdict += f"; the other run: {inside(other[-1], r['mean'])}"
            cells += [original, cell(both[both.first_image == 0]["mean"]), cell(both[both.first_image == 10]["mean"]),
                      f"[{f3(samples['mean'].min())}, {f3(samples['mean'].max())}]", verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def data_table(rows):
    """RESULTS 14's data randomization table (three random-label seeds, two image samples)."""
    lines = ["| method | CNN original (~) | CNN seeds 0-2, images 0-9 | CNN seeds 0-2, images 10-19 | MLP original (~) "
             "| MLP seeds 0-2, images 0-9 | MLP seeds 0-2, images 10-19 |", "|---|---|---|---|---|---|---|"]
    for method, resize, label in [(m, "tf1_bilinear", LABELS[m]) for m in ORDER] + [
            ("gradcam", "skimage", "GradCAM, upsampled as PAIR 0.2.1 (skimage)"),
            ("guided_gradcam", "skimage", "Guided GradCAM, upsampled as PAIR 0.2.1 (skimage)")]:
        cells = [label]
        for arch in ("cnn", "mlp"):
            r = pick(rows, test="data", arch=arch, method=method, resize=resize)
            original = ORIGINAL_DATA[arch].get(method)
            cells.append("–" if original is None else f"{original:.2f}")
            cells += ["–", "–"] if r.empty else [cell(r[r.first_image == f]["mean"]) for f in (0, 10)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def first_column_table(rows):
    """The first column (only the top block re-drawn), images 0-9: the original's two runs, ours."""
    methods = ("gradient", "smoothgrad", "guided_backprop")
    lines = ["| | " + " | ".join(f"{a.upper()} {LABELS[m]}" for a in ("cnn", "mlp") for m in methods) + " |",
             "|---|" + "---|" * 6]
    original = [f"{ORIGINAL_COLUMNS[a][m][0]:.3f}" + (f" / {ORIGINAL_OTHER_RUN_COLUMNS[a][m][0]:.3f}"
                                                     if a in ORIGINAL_OTHER_RUN_COLUMNS else "")
                for a in ("cnn", "mlp") for m in methods]
    lines.append("| original (the CNN's two stored runs) | " + " | ".join(original) + " |")

    def row(label, archs=("cnn", "mlp"), **kw):
        values = []
        for a in ("cnn", "mlp"):
            for m in methods:
                r = pick(rows, arch=a, method=m, state="first", firsts=[0], **kw) if a in archs else rows[:0]
                values.append("–" if r.empty else (f3(r["mean"].iloc[0]) if len(r) == 1
                                                   else f"{f3(r['mean'].min())}-{f3(r['mean'].max())}"))
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    row("ours, seeds 0-2 (MNIST, 7,000 digits, 50 epochs)", train_images=7000)
    row("ours, CNN 400 epochs (7,000 digits, 56,000 steps), seeds 0-2", archs=("cnn",), epochs=400)
    row("ours, MLP 400 epochs (7,000 digits, 56,000 steps), seed 0", archs=("mlp",), epochs=400)
    row("ours, Fashion-MNIST 7,000 images, 50 epochs (7,000 steps), seed 0", data="fashion", train_images=7000)
    row("ours, Fashion-MNIST 55,000 images, 50 epochs (55,000 steps), seed 0", data="fashion", train_images=55000)
    return "\n".join(lines)


#: The CNN's training budgets on our 7,000 digits (epochs), seeds 0-2, images 0-9.
CNN_EPOCHS = (50, 100, 200, 400)


def cnn_budget(rows, method, epochs, state="last", first=0):
    """One method's column of the CNN trained ``epochs`` epochs on 7,000 digits: seeds 0-2, images 0-9 (or the
    sample from ``first``)."""
    return pick(rows, method=method, state=state, epochs=epochs, train_images=7000, seeds=[0, 1, 2], firsts=[first])


def cnn_budget_table(rows):
    """The CNN's cascade after 7,000 to 56,000 Adam steps on the same 7,000 digits, mean [min, max] over seeds
    0-2 (images 0-9), the original's two runs beside it, and whether they lie inside the 56,000-step range."""
    measured = [e for e in CNN_EPOCHS if not cnn_budget(rows, "gradient", e).empty]
    steps = [int(cnn_budget(rows, "gradient", e).steps.iloc[0]) for e in measured]
    lines = ["| method | original (its two runs; 55,000 steps) | "
             + " | ".join(f"{e} epochs ({n:,} steps)" for e, n in zip(measured, steps))
             + f" | original inside the {steps[-1]:,}-step range? |",
             "|---|---|" + "---|" * len(measured) + "---|"]
    seeds = [cnn_budget(rows, "gradient", e).seed for e in measured]
    lines.append("| seeds | 1 each | " + " | ".join(", ".join(map(str, sorted(s))) for s in seeds) + " | |")
    acc = [cnn_budget(rows, "gradient", e).test_accuracy for e in measured]
    lines.append("| test accuracy | 0.992 | " + " | ".join(f"{a.min():.3f}-{a.max():.3f}" for a in acc) + " | |")
    for method, state in [(m, "last") for m in ORDER] + [(m, "first") for m in ("gradient", "smoothgrad",
                                                                                 "guided_backprop")]:
        first, other = ORIGINAL_COLUMNS["cnn"].get(method), ORIGINAL_OTHER_RUN_COLUMNS["cnn"].get(method)
        index = -1 if state == "last" else 0
        original = "–" if first is None else f"{first[index]:.3f}" + (f" / {other[index]:.3f}" if other else "")
        cells = [cell(cnn_budget(rows, method, e, state)["mean"]) for e in measured]
        longest = cnn_budget(rows, method, measured[-1], state)["mean"]
        verdict = "–" if first is None else inside(first[index], longest) + (
            f"; {inside(other[index], longest)}" if other else "")
        label = LABELS[method] + (", first column" if state == "first" else "")
        lines.append(f"| {label} | {original} | " + " | ".join(cells) + f" | {verdict} |")
    return "\n".join(lines)


def causes_table(rows):
    """RESULTS 14's "going after the causes" table: seed 0, images 0-9, one change at a time, as the
    difference from the default evaluation (one seed and one image sample each: no spread)."""
    cols = (("cnn", "ig_smoothgrad"), ("cnn", "guided_gradcam"), ("cnn", "gradcam"), ("mlp", "ig_smoothgrad"),
            ("mlp", "guided_backprop"))

    def value(arch, method, **kw):
        r = pick(rows, arch=arch, method=method, seeds=[0], firsts=[0], **kw)
        return r["mean"].iloc[0] if len(r) == 1 else None

    def diff(a, b):
        return "–" if a is None or b is None else f"{a - b:+.3f}".replace("-", "−")
    base = {c: value(*c) for c in cols}
    lines = ["| what changes (seed 0, images 0-9) | CNN IG-SmoothGrad | CNN Guided GradCAM | CNN GradCAM | "
             "MLP IG-SmoothGrad | MLP Guided BackProp | command |", "|---|---|---|---|---|---|---|",
             "| the default (per-state noise, each state's own class, the original's TF1 upsampling) | "
             + " | ".join(f3(base[c]) for c in cols) + " | `--variants default` |"]
    lines.append("| GradCAM upsampled as PAIR 0.2.1 (skimage) | " + " | ".join(
        diff(value(*c, resize="skimage"), base[c]) if "gradcam" in c[1] else "–" for c in cols)
        + " | `--variants skimage_resize` |")
    # the trained model's class, run when skimage was the default: GradCAM's against that default
    lines.append("| the trained model's class at every state (`--fixed-class`; GradCAM columns against the skimage "
                 "default, with which it was run) | " + " | ".join(
                     diff(value(*c, variant="fixed_class", resize="skimage"),
                          value(*c, resize="skimage") if "gradcam" in c[1] else base[c]) for c in cols)
                 + " | `--variants fixed_class` |")
    for epochs in (10, 200, 400):
        cells = [diff(value(*c, epochs=epochs), value(*c, epochs=50)) if c[0] == "mlp" else "–" for c in cols]
        steps = pick(rows, arch="mlp", method="gradient", epochs=epochs, seeds=[0], firsts=[0])["steps"].iloc[0]
        lines.append(f"| training {epochs} epochs instead of 50 ({int(steps):,} Adam steps; the original: 55,000) | "
                     + " | ".join(cells) + " | `--archs mlp --epochs 10 50 200 400` |")
    return "\n".join(lines)


def claims(rows):
    """{name: the number (or range) as the documents quote it}."""
    c = {}
    gg = pick(rows, method="guided_gradcam")
    gg_sk = pick(rows, method="guided_gradcam", resize="skimage")
    gc = pick(rows, method="gradcam")
    gc_sk = pick(rows, method="gradcam", resize="skimage")
    on = ["seed", "first_image"]
    d_gg = gg.merge(gg_sk, on=on).eval("mean_x - mean_y")
    d_gc = gc.merge(gc_sk, on=on).eval("mean_x - mean_y")
    c["tf1_lowers_gg"] = f"{-d_gg.max():.3f}-{-d_gg.min():.3f}"
    c["tf1_lowers_gc"] = f"{-d_gc.max():.3f}-{-d_gc.min():.3f}"
    c["gg_runs"] = str(len(gg))
    c["gg_second_run_below"] = f"{gg['mean'].min() - 0.246:.3f}"
    c["gg_runs_above"] = str(int((gg["mean"].round(3) > 0.282).sum()))
    lowest = gg.loc[gg["mean"].idxmin()]
    c["gg_lowest"] = f"{lowest['mean']:.3f} (seed {lowest.seed}, images {lowest.images})"
    c["gg_range"] = f"{gg['mean'].min():.3f}-{gg['mean'].max():.3f}"
    c["gg_sk_range"] = f"{gg_sk['mean'].min():.3f}-{gg_sk['mean'].max():.3f}"
    c["gg_gap_before"] = f"{gg_sk['mean'].mean() - 0.282:+.3f}"
    c["gg_gap_after"] = f"{gg['mean'].mean() - 0.282:+.3f}"
    c["gc_range"] = f"{gc['mean'].min():.3f}-{gc['mean'].max():.3f}"
    c["gc_sk_range"] = f"{gc_sk['mean'].min():.3f}-{gc_sk['mean'].max():.3f}"
    dg = pick(rows, test="data", method="guided_gradcam")
    dg_sk = pick(rows, test="data", method="guided_gradcam", resize="skimage")
    c["data_gg_range"] = f"{dg['mean'].min():.3f}-{dg['mean'].max():.3f}"
    c["data_gg_sk_range"] = f"{dg_sk['mean'].min():.3f}-{dg_sk['mean'].max():.3f}"
    dc = pick(rows, test="data", method="gradcam")
    c["data_gc_range"] = f"{dc['mean'].min():.3f}-{dc['mean'].max():.3f}"
    for arch in ("cnn", "mlp"):
        for m in ("ig_smoothgrad", "guided_backprop", "gradient", "smoothgrad"):
            r = pick(rows, arch=arch, method=m)
            c[f"{arch}_{m}_range"] = f"{r['mean'].min():.3f}-{r['mean'].max():.3f}"
            # the seed's share: std over the three seeds on one image sample, for images 0-9 / 10-19
            s = [pick(rows, arch=arch, method=m, seeds=[0, 1, 2], firsts=[f])["mean"].std(ddof=1) for f in (0, 10)]
            c[f"{arch}_{m}_seed_std"] = f"{s[0]:.3f} / {s[1]:.3f}"
            sample = pick(rows, arch=arch, method=m, seeds=[0])["mean"]
            c[f"{arch}_{m}_sample_std"] = f"{sample.std(ddof=1):.3f}"
    for m, resize in (("gradcam", "tf1_bilinear"), ("guided_gradcam", "tf1_bilinear")):
        s = [pick(rows, method=m, resize=resize, seeds=[0, 1, 2], firsts=[f])["mean"].std(ddof=1) for f in (0, 10)]
        c[f"cnn_{m}_seed_std"] = f"{s[0]:.3f} / {s[1]:.3f}"
        c[f"cnn_{m}_sample_std"] = f"{pick(rows, method=m, resize=resize, seeds=[0])['mean'].std(ddof=1):.3f}"
    e400 = pick(rows, arch="mlp", method="guided_backprop", epochs=400, seeds=[0], firsts=[0])["mean"].iloc[0]
    c["e400_gap_signed"] = f"{e400 - 0.044:+.3f}"
    igsg = pick(rows, method="ig_smoothgrad")["mean"]
    for arch in ("cnn", "mlp"):
        c[f"{arch}_igsg_seed0"] = f"{pick(rows, arch=arch, method='ig_smoothgrad', seeds=[0], firsts=[0])['mean'].iloc[0]:.3f}"
    c["cnn_igsg_below_lowest_readme"] = f"{0.361 - igsg.min():+.3f} / {0.338 - igsg.min():+.3f}".replace("-", "−")
    c["cnn_igsg_lowest"] = f"{igsg.min():.3f}"
    c["cnn_igsg_below_lowest"] = f"{0.361 - igsg.min():+.3f} / {0.338 - igsg.min():+.3f}"
    c["second_run_gc_diff"] = f"{0.151 - gc['mean'].min():+.3f}".replace("-", "−")
    c["second_run_gc_below"] = f"{gc['mean'].min() - 0.151:.3f}"
    # the training budget (MLP): 50 / 200 / 400 epochs on 7,000 digits, seed 0, images 0-9
    for e in (10, 50, 200, 400):
        for m in ("guided_backprop", "gradient", "ig_smoothgrad"):
            for state in ("last", "first"):
                r = pick(rows, arch="mlp", method=m, state=state, epochs=e, seeds=[0], firsts=[0], train_images=7000)
                c[f"mlp_e{e}_{m}_{state}"] = f"{r['mean'].iloc[0]:.3f}"
    steps = pick(rows, arch="mlp", method="gradient", epochs=400, seeds=[0], firsts=[0])["steps"].iloc[0]
    c["mlp_e400_steps"] = f"{int(steps):,}"
    # the CNN's budget: 50 -> 400 epochs on 7,000 digits, seeds 0-2, images 0-9
    for e in CNN_EPOCHS:
        for m in ORDER:
            for state in ("last", "first"):
                v = cnn_budget(rows, m, e, state)["mean"]
                if len(v):
                    c[f"cnn_e{e}_{m}_{state}"] = f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f})"
                    c[f"cnn_e{e}_{m}_{state}_mean"] = f"{v.mean():.3f}"
            v = cnn_budget(rows, m, e, "last", first=10)["mean"]
            if len(v):
                c[f"cnn_e{e}_{m}_last_images10"] = f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f})"
    for n, label in ((7000, "7k"), (55000, "55k")):
        for m in ("guided_backprop", "gradient", "smoothgrad"):
            for state in ("first", "last"):
                r = pick(rows, arch="mlp", data="fashion", method=m, state=state, train_images=n, firsts=[0])
                c[f"fashion{label}_{m}_{state}"] = f"{r['mean'].iloc[0]:.3f}"
    for m in ("gradient", "smoothgrad", "guided_backprop"):
        r = pick(rows, method=m, state="first", train_images=7000)
        c[f"cnn_first_{m}"] = f"{r['mean'].min():.2f}-{r['mean'].max():.2f}"
        r = pick(rows, arch="mlp", method=m, state="first", train_images=7000, firsts=[0])
        c[f"mlp_first_{m}"] = f"{r['mean'].min():.2f}-{r['mean'].max():.2f}"
    return c


#: (document, sentence with {claim} fields): each must appear in its document, whitespace aside.
QUOTES = [
    ("README.md", "the CNN's Guided GradCAM, {gg_range} over three seeds and six image samples (ten runs)"),
    ("README.md", "{gg_runs_above} of the {gg_runs} runs lie above the original's 0.282"),
    ("README.md", "lowest {gg_lowest}"),
    ("README.md", "lowers Guided GradCAM by {tf1_lowers_gg} per run (GradCAM by {tf1_lowers_gc})"),
    ("README.md", "the mean gap to 0.282 from {gg_gap_before} to {gg_gap_after}"),
    ("README.md", "ours {mlp_guided_backprop_range} over every seed and sample"),
    ("README.md", "MLP Guided BackProp 0.903 against {mlp_first_guided_backprop}, CNN Gradient 0.601 / 0.642 "
                  "against {cnn_first_gradient}"),
    ("README.md", "Guided BackProp {fashion7k_guided_backprop_first} → {fashion55k_guided_backprop_first} against "
                  "0.903, Gradient {fashion7k_gradient_first} → {fashion55k_gradient_first} against 0.234"),
    ("README.md", "Guided BackProp's last column from {mlp_e50_guided_backprop_last} to "
                  "{mlp_e400_guided_backprop_last} (one seed, one image sample)"),
    ("README.md", "its first column from {mlp_e50_guided_backprop_first} to {mlp_e400_guided_backprop_first}"),
    ("README.md", "data randomization Guided GradCAM {data_gg_range} against about 0.57"),
    ("README.md", "MLP 0.518 → {mlp_igsg_seed0}, CNN 0.475 → {cnn_igsg_seed0}, section 4's shared-noise numbers"),
    ("README.md", "(all our runs: {mlp_ig_smoothgrad_range} on the MLP, containing the original's 0.345; "
                  "{cnn_ig_smoothgrad_range} on the CNN, from which the original's 0.361 / 0.338 lie "
                  "{cnn_igsg_below_lowest_readme};"),
    ("README.md", "GradCAM (0.151, {second_run_gc_diff} from our lowest)"),
    ("README.md", "still {e400_gap_signed} from the original"),
    ("README.md", "Gradient {cnn_first_gradient} against 0.601 / 0.642, SmoothGrad {cnn_first_smoothgrad} against "
                  "0.536 / 0.582, Guided BackProp {cnn_first_guided_backprop} against 0.888 / 0.902; all our seeds "
                  "and samples"),
    ("README.md", "(second run 0.246, {gg_second_run_below} below our lowest)"),
    ("README.md", "moves Guided GradCAM to {cnn_e400_guided_gradcam_last}, around both of the original's runs, but "
                  "IG-SmoothGrad ({cnn_e400_ig_smoothgrad_last_mean}) and Guided BackProp "
                  "({cnn_e400_guided_backprop_last_mean}) further from them"),
    ("doc/RESULTS.md", "{spread_table}"),
    ("doc/RESULTS.md", "{data_table}"),
    ("doc/RESULTS.md", "{first_column_table}"),
    ("doc/RESULTS.md", "{causes_table}"),
    ("doc/RESULTS.md", "{cnn_budget_cascade_table}"),
    ("doc/RESULTS.md", "Guided GradCAM {cnn_e50_guided_gradcam_last} → {cnn_e400_guided_gradcam_last} and GradCAM "
                       "{cnn_e50_gradcam_last} → {cnn_e400_gradcam_last}"),
    ("doc/RESULTS.md", "On images 10-19 (`--first-images 0 10`) the same: Guided GradCAM "
                       "{cnn_e50_guided_gradcam_last_images10} → {cnn_e400_guided_gradcam_last_images10}, GradCAM "
                       "{cnn_e50_gradcam_last_images10} → {cnn_e400_gradcam_last_images10}, IG-SmoothGrad "
                       "{cnn_e50_ig_smoothgrad_last_images10} → {cnn_e400_ig_smoothgrad_last_images10} and Guided "
                       "BackProp {cnn_e50_guided_backprop_last_images10} → {cnn_e400_guided_backprop_last_images10}"),
    ("doc/RESULTS.md", "SmoothGrad {cnn_e50_smoothgrad_last} → {cnn_e400_smoothgrad_last} (0.213), but IG-SmoothGrad "
                       "{cnn_e50_ig_smoothgrad_last} → {cnn_e400_ig_smoothgrad_last} and Guided BackProp "
                       "{cnn_e50_guided_backprop_last} → {cnn_e400_guided_backprop_last}"),
    ("doc/RESULTS.md", "lowers Guided GradCAM by {tf1_lowers_gg} in every run (GradCAM by {tf1_lowers_gc})"),
    ("doc/RESULTS.md", "the ten runs give {gg_range} with the original's upsampling against {gg_sk_range}"),
    ("doc/RESULTS.md", "{gg_runs_above} of the {gg_runs} runs stay above the original's 0.282"),
    ("doc/RESULTS.md", "lowest, {gg_lowest}"),
    ("doc/RESULTS.md", "the mean gap to 0.282 goes from {gg_gap_before} to {gg_gap_after}"),
    ("doc/RESULTS.md", "GradCAM {gc_range} (PAIR 0.2.1's: {gc_sk_range})"),
    ("doc/RESULTS.md", "the original's other run, 0.151, lies {second_run_gc_below} below our lowest"),
    ("doc/RESULTS.md", "Guided GradCAM {data_gg_range} with the original's upsampling ({data_gg_sk_range} with "
                       "PAIR 0.2.1's) against about 0.57"),
    ("doc/RESULTS.md", "standard deviation of the mean across the three seeds (images 0-9 / 10-19) is "
                       "{cnn_ig_smoothgrad_seed_std} for the CNN's IG-SmoothGrad, {mlp_ig_smoothgrad_seed_std} for "
                       "the MLP's, {cnn_gradcam_seed_std} for GradCAM, {cnn_guided_gradcam_seed_std} for Guided "
                       "GradCAM and {cnn_guided_backprop_seed_std} for the CNN's Guided BackProp"),
    ("doc/RESULTS.md", "across the disjoint samples of seed 0 it is {cnn_ig_smoothgrad_sample_std} (CNN "
                       "IG-SmoothGrad), {mlp_ig_smoothgrad_sample_std} (MLP IG-SmoothGrad), "
                       "{cnn_gradcam_sample_std} (GradCAM), {cnn_guided_gradcam_sample_std} (Guided GradCAM) and "
                       "{cnn_guided_backprop_sample_std} (CNN Guided BackProp)"),
    ("doc/RESULTS.md", "six disjoint image samples of one model and three seeds it ranges "
                       "{cnn_ig_smoothgrad_range}"),
    ("doc/RESULTS.md", "the original's two runs, 0.361 and 0.338, lie {cnn_igsg_below_lowest} from our lowest "
                       "mean"),
    ("doc/RESULTS.md", "over all our seeds and image samples {mlp_ig_smoothgrad_range}"),
    ("doc/RESULTS.md", "{mlp_guided_backprop_range} over all our seeds and samples of the default 50-epoch models"),
    ("doc/RESULTS.md", "Guided BackProp's last column {mlp_e50_guided_backprop_last}, {mlp_e200_guided_backprop_last}"
                       " and {mlp_e400_guided_backprop_last} after 50, 200 and 400 epochs ({mlp_e400_steps} steps)"),
    ("doc/RESULTS.md", "its first column {mlp_e50_guided_backprop_first}, {mlp_e200_guided_backprop_first} and "
                       "{mlp_e400_guided_backprop_first}"),
    ("doc/RESULTS.md", "Gradient's first column {mlp_e50_gradient_first} → {mlp_e400_gradient_first}"),
    ("doc/RESULTS.md", "Guided BackProp {fashion7k_guided_backprop_first} → {fashion55k_guided_backprop_first} "
                       "(original MNIST MLP 0.903), Gradient {fashion7k_gradient_first} → "
                       "{fashion55k_gradient_first} (0.234), SmoothGrad {fashion7k_smoothgrad_first} → "
                       "{fashion55k_smoothgrad_first} (0.255)"),
    ("doc/RESULTS.md", "its Guided BackProp last column is {fashion7k_guided_backprop_last} and "
                       "{fashion55k_guided_backprop_last}"),
]


def quotes(rows):
    """[(document, the sentence with its numbers filled in)]."""
    first = cnn_first_column_claims.load()
    values = {**claims(rows), **cnn_first_column_claims.claims(first)}
    values.update(spread_table=spread_table(rows), data_table=data_table(rows),
                  first_column_table=first_column_table(rows), causes_table=causes_table(rows),
                  cnn_budget_cascade_table=cnn_budget_table(rows),
                  cnn_budget_table=cnn_first_column_claims.budget_table(first),
                  cnn_redraw_table=cnn_first_column_claims.redraw_table(first))
    return [(doc, text.format(**values)) for doc, text in QUOTES + cnn_first_column_claims.QUOTES]


if __name__ == "__main__":
    rows = load()
    for name, value in claims(rows).items():
        print(f"{name}: {value}")
    for table in (spread_table, data_table, first_column_table, causes_table, cnn_budget_table):
        print("\n" + table(rows))


"""Hedström et al. 2024 ("Sanity Checks Revisited"), the Fashion-MNIST LeNet table, on our PyTorch engine.

    PYTHONPATH=src nice -n 10 python bench/hedstrom_lenet.py --train --seeds 0 1 2

``--train`` trains their LeNet (``hedstrom_lenet_model.py``) once per seed with their recipe: SGD lr 0.01,
momentum 0.9, batch 128, ``--epochs`` (default 20) on all 60,000 Fashion-MNIST training images (our
train + validation splits), cross-entropy, augmentation RandomAffine(degrees=(0, 10), scale=(0.8, 1.1))
then RandomHorizontalFlip(p=0.25) per image, no input normalization. Every random choice (initial
weights, batch order, augmentation) comes from ``torch.Generator``s seeded by the seed. Each model is
saved as ``<models>/seed<k>.pt`` (a state dict) with ``seed<k>.json`` (test accuracy, seed, epochs,
seconds). Without ``--train`` the saved models are evaluated; ``--weights FILE`` scores another state dict
of the same LeNet (e.g. the one MetaQuantus ships) and only prints.

Then per seed, on the first ``--images`` (1,000) test images, explaining the true label, trained model
against the fully randomized one (every block re-drawn from its initializer, our default strategy):

* MPRT: Spearman rank correlation of the absolute maps (``similarity("spearman_abs")``), mean over images;
* eMPRT: (H_random - H_trained) / H_trained, H the entropy of the 100-bin histogram of the absolute map,
  mean over the images whose trained map is not constant (a constant map has entropy 0; how many were
  left out is the metric ``emprt_undefined``).

Methods: gradient, smoothgrad (20 samples, sigma 0.1 of each image's range), integrated_gradients (20 steps,
zero baseline), gradcam (layer conv2; ours: ReLU, scaled to max 1, skimage resize), gradient_x_input,
gradcam_signed (GradCAM of conv2 as Captum's LayerGradCam gives it by default, which their code used: no
ReLU, bilinear upsampling), guided_backprop (checked equal to gradient: their ReLUs are functional calls),
captum_gradient_shap (Captum's GradientSHAP with Quantus's defaults, as their code ran it: 5 samples, stdevs 0,
zero baseline), zennit_epsilon (their LRP-Eps: ε 1e-6 in every conv and linear layer), lrp_zplus (their LRP-Z+:
Zennit's z+ rule in every conv and linear layer), and a random control: a map of uniform [0, 1) values drawn afresh for each model
state. The paper's GradCAM value is printed beside both GradCAM rows. Writes ``doc/hedstrom_lenet.csv`` (seed, metric, method, value)
and prints a Markdown table beside the paper's values.
"""
import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from hedstrom_lenet_model import HedstromLeNet, augment  # noqa: E402

#: The paper's Fashion-MNIST LeNet values (Table of "Sanity Checks Revisited").
PAPER = {
    "mprt": {"random": 0.006, "gradient": 0.020, "smoothgrad": 0.079, "integrated_gradients": 0.463,
             "gradcam": -0.033, "gradient_x_input": 0.466},
    "emprt": {"gradient": 0.033, "smoothgrad": 0.020, "integrated_gradients": -0.006, "gradcam": -0.019},
}
METHODS = ("gradient", "smoothgrad", "integrated_gradients", "gradcam", "gradient_x_input", "guided_backprop",
           "captum_gradient_shap", "zennit_epsilon")
RANDOM = "random"
#: LRP-z+ as their ``ZPlus`` composite (``src/setup_explanations.py``): Zennit's z+ rule in every convolution
#: and linear layer (stabilizer 1e-6) over Zennit's base layer map. Our built-in ``zennit_epsilon_plus`` is z+
#: in convolutions only (ε in linear layers), so the bench builds theirs.
LRP_ZPLUS = "lrp_zplus"
#: GradCAM as Captum's ``LayerGradCam`` computes it by default (Quantus's "LayerGradCam", their column):
#: no ReLU on sum_k alpha_k A_k, bilinear upsampling (``torch.nn.functional.interpolate``), no scaling.
SIGNED_GRADCAM = "gradcam_signed"
SETTINGS = {
    "smoothgrad": {"nsamples": 20, "stdev_spread": 0.1},
    "integrated_gradients": {"x_steps": 20, "baseline": None},
    "gradcam": {"layer": "conv2"},
    # their GradientShap runs with Quantus's defaults (their settings sit under the misspelt key
    # "GradientShape"): Captum's n_samples 5 and stdevs 0, an all-zero baseline
    "captum_gradient_shap": {"n_samples": 5, "stdevs": 0.0, "baselines": 0.0},
    "zennit_epsilon": {"epsilon": 1e-6, "stabilizer": 1e-6},   # their LRP-Eps
}
BINS = 100
INPUT_SHAPE = (28, 28, 1)


def train(x, y, x_test, y_test, seed, epochs=20, batch_size=128, lr=0.01, momentum=0.9, log=print):
    """Train their LeNet on ``x`` (N, 28, 28, 1) float32 / ``y`` (N,) int; returns (module, metadata)."""
    init = torch.Generator().manual_seed(seed)
    order = torch.Generator().manual_seed(seed + 1_000_000)
    aug = torch.Generator().manual_seed(seed + 2_000_000)
    model = HedstromLeNet()
    with torch.no_grad():   # the default initialization, drawn from our generator instead of the global one
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                torch.nn.init.kaiming_uniform_(module.weight, a=5 ** 0.5, generator=init)
                bound = 1 / module.weight[0].numel() ** 0.5
                module.bias.uniform_(-bound, bound, generator=init)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(xt), generator=order).split(batch_size):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(augment(xt[batch], aug)), yt[batch])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        log(f"seed {seed} epoch {epoch + 1}/{epochs}: loss {total / len(xt):.4f} ({time.time() - start:.0f} s)")
    seconds = time.time() - start
    model.eval()
    accuracy = float((predict(model, x_test).argmax(1) == y_test).mean())
    return model, {"seed": seed, "epochs": epochs, "seconds": round(seconds, 1), "test_accuracy": accuracy,
                   "batch_size": batch_size, "lr": lr, "momentum": momentum, "train_images": len(xt)}


def predict(module, x, batch_size=1000):
    with torch.no_grad():
        return np.concatenate([module(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size].transpose(0, 3, 1, 2))))
                               .numpy() for i in range(0, len(x), batch_size)])


def random_maps(shape, seed, state):
    """The random control: uniform [0, 1) values, a fresh draw per model state."""
    return np.random.default_rng([seed, 23, state]).random(shape, dtype=np.float32)


def signed_gradcam(model, images, labels, layer="conv2"):
    """GradCAM without the ReLU, upsampled bilinearly (align_corners=False): (N, H, W, 1)."""
    values, grads = model.layer_values_and_gradients(images, labels, layer)   # (N, h, w, K)
    maps = np.einsum("nk,nhwk->nhw", grads.mean(axis=(1, 2)), values)
    up = torch.nn.functional.interpolate(torch.from_numpy(maps[:, None]), size=images.shape[1:3], mode="bilinear",
                                         align_corners=False)
    return up.numpy().transpose(0, 2, 3, 1)


def lrp_zplus(model, images, labels, stabilizer=1e-6):
    """Their LRP-z+: Zennit's ``Gradient`` attributor with z+ in every conv and linear layer, relevance
    started at the one-hot of ``labels``: (N, H, W, 1). (This LeNet has no softmax and no batch norm.)"""
    from sanity_checks.engines.pytorch.zennit_methods import import_zennit
    import_zennit()
    from zennit import composites, rules, types
    from zennit.attribution import Gradient
    layer_map = composites.layer_map_base(stabilizer) + [(types.Convolution, rules.ZPlus(stabilizer=stabilizer)),
                                                         (torch.nn.Linear, rules.ZPlus(stabilizer=stabilizer))]
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    start = torch.eye(10)[torch.as_tensor(np.asarray(labels, dtype=np.int64))]
    with Gradient(model=model.module, composite=composites.LayerMapComposite(layer_map=layer_map)) as attributor:
        _, relevance = attributor(x, start)
    return relevance.detach().numpy().transpose(0, 2, 3, 1).astype(np.float32)


def explain(model, images, labels, seed, state):
    from sanity_checks.methods import compute_masks
    maps = compute_masks(model, images, list(METHODS), classes=labels, seed=seed, settings=SETTINGS)
    # their ReLUs are functional calls, invisible to backward hooks: Guided BackProp is the gradient
    if not np.array_equal(maps["guided_backprop"], maps["gradient"]):
        raise AssertionError("guided_backprop differs from gradient on a LeNet without ReLU modules")
    maps[LRP_ZPLUS] = lrp_zplus(model, images, labels)
    maps[SIGNED_GRADCAM] = signed_gradcam(model, images, labels)
    maps[RANDOM] = random_maps(images.shape, seed, state)
    return maps


def evaluate(module, images, labels, seed=0):
    """{metric: {method: mean over images}} for ``module`` (left unchanged) on ``images`` (N, 28, 28, 1)."""
    from sanity_checks.checks.emprt import discrete_entropy
    from sanity_checks.loading import load_model
    from sanity_checks.metrics import similarity
    from sanity_checks.randomize import Randomizer

    model = load_model(module, input_shape=INPUT_SHAPE, device="cpu")
    labels = np.asarray(labels, dtype=np.int64)
    trained = explain(model, images, labels, seed, 0)
    randomizer = Randomizer(model, seed=seed)
    randomizer.randomize(model.architecture.block_names)
    try:
        randomized = explain(model, images, labels, seed, 1)
    finally:
        randomizer.restore()

    def entropy(a):
        a = np.abs(np.asarray(a, dtype=np.float64)).ravel()
        return discrete_entropy(np.histogram(a, bins=BINS)[0])

    out = {"mprt": {}, "emprt": {}, "emprt_undefined": {}}
    for name in trained:
        a, b = trained[name], randomized[name]
        out["mprt"][name] = float(np.mean([similarity("spearman_abs", a[i], b[i]) for i in range(len(a))]))
        h0 = np.array([entropy(m) for m in a])
        h1 = np.array([entropy(m) for m in b])
        defined = h0 > 0   # an all-zero (constant) trained map has entropy 0: the ratio is undefined
        out["emprt"][name] = float(np.mean((h1[defined] - h0[defined]) / h0[defined])) if defined.any() else float("nan")
        out["emprt_undefined"][name] = int((~defined).sum())
    return out


def table(results):
    """Markdown: metric, method, the paper, our mean, each seed."""
    seeds = sorted(results)
    lines = ["| metric | method | paper | ours, mean | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "|---|---|---:|---:|" + "---:|" * len(seeds)]
    for metric in ("mprt", "emprt"):
        for method in (RANDOM,) + METHODS + (LRP_ZPLUS, SIGNED_GRADCAM):
            values = [results[s][metric][method] for s in seeds]
            paper = PAPER[metric].get("gradcam" if method == SIGNED_GRADCAM else method)
            lines.append(f"| {'MPRT' if metric == 'mprt' else 'eMPRT'} | {method} | "
                         f"{'—' if paper is None else f'{paper:.3f}'} | {np.mean(values):.3f} | "
                         + " | ".join(f"{v:.3f}" for v in values) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", action="store_true", help="train the models first (else load them)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--images", type=int, default=1000, help="first N test images (default 1000)")
    parser.add_argument("--models", default="models/hedstrom_lenet")
    parser.add_argument("--data", default="data", help="data root (default data)")
    parser.add_argument("--csv", default="doc/hedstrom_lenet.csv")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--weights", help="score this state dict of the LeNet instead (e.g. one of theirs), with the "
                                          "first --seeds for the randomization and the noise; prints, writes no CSV")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from sanity_checks.data import load_dataset
    data = load_dataset("fashion", root=args.data)
    if args.weights:
        module = HedstromLeNet()
        module.load_state_dict(torch.load(args.weights, weights_only=True, map_location="cpu"))
        module.eval()
        accuracy = float((predict(module, data.x_test).argmax(1) == data.y_test).mean())
        print(f"{args.weights}: test accuracy {accuracy:.4f}")
        seed = args.seeds[0]
        results = {seed: evaluate(module, data.x_test[:args.images], data.y_test[:args.images], seed=seed)}
        print(table(results))
        return results
    folder = Path(args.models)
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    for seed in args.seeds:
        weights, meta_file = folder / f"seed{seed}.pt", folder / f"seed{seed}.json"
        if args.train:
            module, meta = train(np.concatenate([data.x_val, data.x_train]), np.concatenate([data.y_val, data.y_train]),
                                 data.x_test, data.y_test, seed, epochs=args.epochs)
            torch.save(module.state_dict(), weights)
            meta_file.write_text(json.dumps(meta, indent=1) + "\n")
        else:
            module = HedstromLeNet()
            module.load_state_dict(torch.load(weights, weights_only=True))
            module.eval()
            meta = json.loads(meta_file.read_text())
        print(f"seed {seed}: test accuracy {meta['test_accuracy']:.4f}, {meta['epochs']} epochs, "
              f"{meta['seconds']:.0f} s training", flush=True)
        start = time.time()
        images, labels = data.x_test[:args.images], data.y_test[:args.images]
        results[seed] = evaluate(module, images, labels, seed=seed)
        print(f"seed {seed}: evaluation {time.time() - start:.0f} s", flush=True)
    if args.csv:
        os.makedirs(os.path.dirname(args.csv) or ".", exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["seed", "metric", "method", "value"])
            for seed in sorted(results):
                for metric, values in results[seed].items():
                    for method, value in values.items():
                        writer.writerow([seed, metric, method, f"{value:.6f}"])
    print(table(results))
    return results


if __name__ == "__main__":
    main()

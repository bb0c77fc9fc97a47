"""Benchmark: a full cascading randomization on the PyTorch engine, ours against the peers' way.

The cascade is every model state of ``cascading`` randomization (the trained model, then the top block,
the top two blocks, ... all blocks: 6 states for Hedström et al.'s LeNet), each explained by Gradient,
SmoothGrad (``--nsamples`` 20, noise 0.1 of each image's range) and Integrated Gradients (``--x-steps``
20, zero baseline) for ``--images`` (100) 28x28x1 images, each explained for one fixed class (its true
label, or the trained model's top class with ``--random-images``) in every state.

- ours: one ``TorchModel`` loaded once, ``Randomizer`` changing the blocks in memory, one
  ``compute_masks`` call per state with all images (images, noise samples and IG steps batched).
- the peers' way (Quantus-like MPRT): the trained model explained twice (once for the explanations
  the metric is given, once inside its loop), then per randomized state a fresh ``copy.deepcopy`` of
  the trained module with the state's layers re-initialized by their ``reset_parameters()``, and every
  image explained alone through plain autograd: Gradient one call, SmoothGrad one noisy copy per call,
  IG one path point per call (batch of 1 each time). Its SmoothGrad draws the very noise ours draws
  (each image's ``noise_rng(seed, image id)``, one sample at a time), so on the same weights its masks
  equal ours (tests/test_bench_torch_cascade.py).

The peers' way runs on the first ``--baseline-steps`` randomized states (default: all) and on the first
``--baseline-fraction`` of the images (default 1); a cut is extrapolated by counts (time per image x
images, mean time per randomized state x states) and printed as such.

Usage (from the repo root)::

    PYTHONPATH=src python bench/bench_torch_cascade.py [--images 100] [--weights models/hedstrom_lenet/seed0.pt]
    PYTHONPATH=src python bench/bench_torch_cascade.py --random-images

The last three lines are ``ceiling: <batched vs one-at-a-time input gradient, this run>x`` (time per
input gradient one image at a time, the faster of our ``input_gradients`` at batch 1 and the plain
autograd call of the peers' way, over the best batch size's, on the same model after the cascade, with the
same threads), ``speedup: <peers' way / ours>x`` for the whole cascade and ``share: <speedup / ceiling>``.
"""
import argparse
import copy
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from hedstrom_lenet_model import HedstromLeNet  # noqa: E402
from sanity_checks import methods  # noqa: E402
from sanity_checks.loading import load_model  # noqa: E402
from sanity_checks.methods.smoothing import noise_rng, noise_sigmas  # noqa: E402
from sanity_checks.randomize import Randomizer  # noqa: E402

INPUT_SHAPE = (28, 28, 1)
NAMES = ("gradient", "smoothgrad", "integrated_gradients")
DEFAULT_WEIGHTS = (os.path.join(REPO, "models", "hedstrom_lenet", "seed0.pt"),)


def settings_of(nsamples=20, x_steps=20, stdev_spread=0.1):
    return {"smoothgrad": {"nsamples": nsamples, "stdev_spread": stdev_spread},
            "integrated_gradients": {"x_steps": x_steps, "baseline": None}}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=100, help="images explained (default 100)")
    p.add_argument("--random-images", action="store_true", help="uniform random images instead of Fashion-MNIST")
    p.add_argument("--data", default=os.path.join(REPO, "data"), help="data root (default data)")
    p.add_argument("--weights", help="a state dict of the LeNet (default: models/hedstrom_lenet/seed0.pt if "
                                     "there, else random weights, torch seed 0)")
    p.add_argument("--nsamples", type=int, default=20)
    p.add_argument("--x-steps", type=int, default=20)
    p.add_argument("--baseline-steps", type=int, default=None,
                   help="time the peers' way on the first N randomized states (default: all), extrapolated")
    p.add_argument("--baseline-fraction", type=float, default=1.0,
                   help="time the peers' way on this fraction of the images (default 1), extrapolated")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for both ways (default 1: on a shared machine more threads spin and the "
                        "one-image calls slow down by 10x or more; 0 keeps torch's default)")
    p.add_argument("--ceiling-evals", type=int, default=1000, help="gradients per batched timing (default 1000)")
    return p.parse_args(argv)


def lenet(weights=None):
    """(module, description): the LeNet with ``weights`` or the first default file found, else random."""
    module = HedstromLeNet()
    path = weights or next((p for p in DEFAULT_WEIGHTS if os.path.exists(p)), None)
    if path:
        module.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
        return module.eval(), f"weights {path}"
    torch.manual_seed(0)
    return HedstromLeNet().eval(), "random weights (torch seed 0; no trained weights found)"


def bench_images(args, module):
    if args.random_images:
        x = np.random.default_rng(args.seed).random((args.images, *INPUT_SHAPE), dtype=np.float32)
        with torch.no_grad():
            y = module(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).argmax(1).numpy()
        return x, y.astype(np.int64), f"{args.images} uniform random images, each for the model's top class"
    from sanity_checks.data import load_dataset
    data = load_dataset("fashion", root=args.data, verbose=False)
    return (data.x_test[:args.images].astype(np.float32), data.y_test[:args.images].astype(np.int64),
            f"the first {args.images} Fashion-MNIST test images, each for its true label")


# ---------------------------------------------------------------------------------- ours
def ours(model, x, classes, steps, settings, seed, log=print):
    """Seconds per state and the masks of the last state."""
    randomizer = Randomizer(model, seed=seed)
    times, masks = [], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", methods.DegenerateMaskWarning)
        start = time.perf_counter()
        for _, step in randomizer.through(steps):
            masks = methods.compute_masks(model, x, list(NAMES), classes=classes, seed=seed, settings=settings)
            times.append(time.perf_counter() - start)
            log(f"  ours, state {step.label}: {times[-1]:.2f} s")
            start = time.perf_counter()
    return times, masks


# ---------------------------------------------------------------------------------- the peers' way
def plain_gradient(module, point, cls):
    """d logit[cls] / d input of one image (1, C, H, W) float32, plain autograd."""
    point = point.detach().requires_grad_(True)
    gradient, = torch.autograd.grad(module(point)[0, cls], point)
    return gradient


def _chw(image):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)[None]))


def _hwc(t):
    return t[0].numpy().transpose(1, 2, 0)


def explain_one(module, image, cls, image_id, settings, seed):
    """{method: (H, W, C)} of one image, one model input per call (the peers' way)."""
    out = {"gradient": _hwc(plain_gradient(module, _chw(image), cls))}
    sg = settings["smoothgrad"]
    rng = noise_rng(seed, image_id)
    sigma = float(noise_sigmas(image[None], sg["stdev_spread"])[0])
    total = torch.zeros((1,) + image.shape[2:] + image.shape[:2])
    for _ in range(sg["nsamples"]):
        total += plain_gradient(module, _chw(image + sigma * rng.standard_normal(image.shape)), cls)
    out["smoothgrad"] = _hwc(total) / sg["nsamples"]
    steps = settings["integrated_gradients"]["x_steps"]
    total = torch.zeros_like(total)
    for alpha in np.linspace(0, 1, steps):
        total += plain_gradient(module, _chw(alpha * image.astype(np.float64)), cls)
    out["integrated_gradients"] = _hwc(total) * image / steps
    return out


def randomized_copy(module, layers, seed):
    """A fresh deep copy of ``module`` with the modules ``layers`` re-initialized (``reset_parameters``)."""
    fresh = copy.deepcopy(module)
    torch.manual_seed(seed)
    for name in layers:
        fresh.get_submodule(name).reset_parameters()
    return fresh.eval()


def state_layers(model, blocks):
    """The names of the modules owning the parameters of ``blocks`` (TorchModel block -> module names)."""
    names = [p.name for p in model.parameters() if any(model.architecture.block(b).owns(p.name) for b in blocks)]
    return list(dict.fromkeys(n.rpartition(".")[0] for n in names))


def peers_state(module, x, classes, settings, seed):
    """Masks {method: (n, H, W, C)} of ``module`` for ``x``, one image at a time."""
    maps = [explain_one(module, x[i], int(classes[i]), i, settings, seed) for i in range(len(x))]
    return {name: np.stack([m[name] for m in maps]) for name in NAMES}


# ---------------------------------------------------------------------------------- the ceiling
def batching_ceiling(model, module, x, classes, evals=1000, batch1_evals=200, batch_sizes=(16, 64, 250, 1000),
                     repeats=3, log=print):
    """(time per input gradient one image at a time) / (at the best batch size), medians of ``repeats``."""
    xs = np.resize(x, (evals,) + x.shape[1:]).astype(np.float32)
    cs = np.resize(classes, evals)
    sizes = [b for b in batch_sizes if b <= evals]
    n = min(batch1_evals, evals)
    for b in sizes:
        model.input_gradients(xs[:b], cs[:b], batch_size=b)   # warm-up
    times = {b: [] for b in sizes}
    one = {"ours at batch 1": [], "plain autograd": []}
    for _ in range(repeats):
        for b in sizes:
            start = time.perf_counter()
            model.input_gradients(xs, cs, batch_size=b)
            times[b].append((time.perf_counter() - start) / evals)
        start = time.perf_counter()
        for i in range(n):
            model.input_gradients(xs[i:i + 1], cs[i:i + 1], batch_size=1)
        one["ours at batch 1"].append((time.perf_counter() - start) / n)
        start = time.perf_counter()
        for i in range(n):
            plain_gradient(module, _chw(xs[i]), int(cs[i]))
        one["plain autograd"].append((time.perf_counter() - start) / n)
    per = {b: float(np.median(t)) for b, t in times.items()}
    way = min(one, key=lambda k: np.median(one[k]))
    batch1 = float(np.median(one[way]))
    log("batch 1: " + "; ".join(f"{k} {np.median(t) * 1e3:.3f} ms" for k, t in one.items()) +
        f" (the faster, {way}, counts)")
    for b in sizes:
        log(f"batch {b:>5}: {per[b] * 1e3:.4f} ms per gradient (median of {len(times[b])})")
    best = min(per, key=per.get)
    return batch1 / per[best], best


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    module, weights_text = lenet(args.weights)
    x, classes, image_text = bench_images(args, module)
    settings = settings_of(args.nsamples, args.x_steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the functional ReLUs' guided-coverage warning: no guided method here
        model = load_model(module, input_shape=INPUT_SHAPE, device="cpu")
    steps = Randomizer(model, seed=args.seed).steps("cascading")
    total = len(steps)
    print(f"HedstromLeNet, {weights_text}; {image_text}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print(f"cascade: {total} model states ({', '.join(s.label for s in steps)})")
    print(f"methods: gradient, smoothgrad ({args.nsamples} samples, noise 0.1), integrated_gradients "
          f"({args.x_steps} steps, zero baseline)", flush=True)

    ours_times, _ = ours(model, x, classes, steps, settings, args.seed, log=lambda s: print(s, flush=True))
    ours_total = sum(ours_times)
    print(f"ours: {ours_total:.2f} s for the cascade; {ours_total / len(x) * 1e3:.1f} ms per image", flush=True)

    n_images = max(1, min(len(x), int(round(args.baseline_fraction * len(x)))))
    image_scale = len(x) / n_images
    n_random = min(args.baseline_steps if args.baseline_steps is not None else total - 1, total - 1)
    parts = []
    for label, blocks, repeat in [(steps[0].label, (), 2)] + [(s.label, s.blocks, 1) for s in steps[1:1 + n_random]]:
        for _ in range(repeat):
            start = time.perf_counter()
            state = randomized_copy(module, state_layers(model, blocks), args.seed) if blocks else module
            peers_state(state, x[:n_images], classes[:n_images], settings, args.seed)
            parts.append((label, bool(blocks), (time.perf_counter() - start) * image_scale))
            print(f"  peers' way, state {label}: {parts[-1][2]:.2f} s" +
                  (f" (extrapolated: {n_images} of {len(x)} images timed, x {image_scale:g})" if image_scale != 1
                   else ""), flush=True)
    trained = sum(t for _, randomized, t in parts if not randomized)
    randomized = [t for _, r, t in parts if r]
    peers_total = trained + float(np.mean(randomized)) * (total - 1)
    how = []
    if image_scale != 1:
        how.append(f"{n_images} of {len(x)} images timed, scaled by the image count")
    if n_random < total - 1:
        how.append(f"{n_random} of {total - 1} randomized states timed, {np.mean(randomized):.2f} s each x "
                   f"{total - 1}")
    print(f"peers' way: {peers_total:.2f} s for the cascade (the trained model twice"
          + (f"; extrapolated: {'; '.join(how)}" if how else "; nothing extrapolated") + ")", flush=True)

    print("batching ceiling on this model (time per input gradient, all images repeated to "
          f"{args.ceiling_evals}):", flush=True)
    ceiling, _ = batching_ceiling(model, module, x, classes, evals=args.ceiling_evals,
                                  log=lambda s: print("  " + s, flush=True))
    speedup = peers_total / ours_total
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"ceiling: {ceiling:.1f}x")
    print(f"speedup: {speedup:.1f}x")
    print(f"share: {speedup / ceiling:.2f}")


if __name__ == "__main__":
    main()

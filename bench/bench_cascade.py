"""Benchmark: a full cascading randomization our way against the original's way.

The cascade is every model state of ``cascading`` randomization (the trained model, then the top
block, the top two blocks, ... all blocks: 18 states for Inception v3, 5 for the MNIST CNN), each
explained by the original's methods at the original's settings (Gradient, SmoothGrad,
Gradient⊙Input, Guided BackProp, GradCAM, Guided GradCAM, IG, IG-SmoothGrad; no GradCAM for the
MLP) for one image (Inception v3, the first of doc/data) or the first 10 test images (MNIST).

- ours: one ``GraphModel`` loaded once, ``Randomizer`` changing the blocks in memory, one
  ``compute_masks`` call per state (images, noise samples and IG steps batched). The first state
  also pays the one-off construction of the guided-backprop tower and the GradCAM gradient.
- the original's way, per state: a fresh graph, the checkpoint restored from disk, the state's
  blocks re-initialized by their initializer ops (``tf.initialize_variables``), then PAIR
  ``saliency.tf1`` objects (its ``GuidedBackprop`` saves the session to /tmp and re-imports the
  graph) called one image at a time, the class being each image's argmax.

Timing the original's way on every state would take hours for Inception v3, so it runs on the
first ``--original-steps`` states (default 2) with the noise samples and IG steps cut to
``--original-fraction`` of the original's (default 0.1 for Inception v3, 1 for MNIST). Each
method's time is scaled back by its count of gradient calls (SmoothGrad: nsamples, IG: x_steps,
IG-SmoothGrad: nsamples x x_steps; PAIR makes one batch-of-1 session run per call, so the time is
linear in them), and the mean time per state is extrapolated to the whole cascade. Ours runs at the
original settings on the first ``--steps`` states (default: all) and is extrapolated the same way
if cut. Every extrapolation is printed as such. Masks are not compared here: bench/bench_methods.py
checks ours against PAIR's.

Usage (from the repo root)::

    python bench/bench_cascade.py --model models/inceptionv3 [--steps 3] [--original-steps 2]
    python bench/bench_cascade.py --model models/cnn_mnist

The last three lines are ``ceiling: <batched vs one-at-a-time input gradient, this run>x``
(bench_gradient_batch.batching_ceiling on the same model, after the cascade), ``speedup: <original
way / ours>x`` for the whole cascade and ``share: <speedup / ceiling>``.
"""
import argparse
import os
import sys
import time
import warnings
from types import SimpleNamespace

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks.compat import tf, tf1  # noqa: E402  (before saliency imports TensorFlow)
from sanity_checks import imagenet, methods  # noqa: E402
from sanity_checks.loading import load_model  # noqa: E402
from sanity_checks.model import CHECKPOINT_NAME  # noqa: E402
from sanity_checks.randomize import Randomizer  # noqa: E402

from bench_gradient_batch import batching_ceiling  # noqa: E402  (the same directory)
from bench_methods import PairBaseline  # noqa: E402

#: The methods the original notebooks and randomize_inceptionv3.py computed, in their order.
ORIGINAL_METHODS = imagenet.NOTEBOOK_METHODS


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a model folder: models/inceptionv3 or a trained MNIST model")
    p.add_argument("--images", type=int, default=None, help="images (default: 1 for Inception v3, 10 for MNIST)")
    p.add_argument("--image-dir", default=os.path.join(REPO, "doc", "data"), help="Inception v3 images")
    p.add_argument("--data-root", default=os.path.join(REPO, "data"), help="MNIST data folder")
    p.add_argument("--steps", type=int, default=None, help="time our way on the first N states (default: all)")
    p.add_argument("--original-steps", type=int, default=2,
                   help="time the original way on the first N states (default 2), extrapolated to all")
    p.add_argument("--original-fraction", type=float, default=None,
                   help="the original way's noise samples and IG steps, as a fraction of the original settings "
                        "(default 0.1 for Inception v3, 1 for MNIST); times are scaled back per method")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ceiling-evals", type=int, default=None,
                   help="gradients per batch size for the ceiling (default 1250, 32 for Inception v3)")
    return p.parse_args(argv)


def checkpoint_of(folder, model):
    if model.architecture.name == "inception_v3":
        return imagenet.checkpoint_prefix(folder)
    return os.path.join(folder, CHECKPOINT_NAME)


def bench_images(args, model):
    inception = model.architecture.name == "inception_v3"
    n = args.images or (1 if inception else 10)
    if inception:
        demo = imagenet.load_image_dir(args.image_dir, n)
        return demo.x_test, f"{n} image(s) from {args.image_dir}"
    from sanity_checks.data import load_dataset
    data = load_dataset(model.metadata.get("data", "mnist"), root=args.data_root, verbose=False)
    return data.x_test[:n].astype(np.float32), f"the first {n} {data.name} test images"


def gradient_calls(name, settings):
    """Gradient evaluations per image (PAIR: one batch-of-1 session run each)."""
    s = settings.get(name, {})
    return {"smoothgrad": s.get("nsamples"), "integrated_gradients": s.get("x_steps"),
            "ig_smoothgrad": s.get("nsamples", 0) * s.get("x_steps", 0), "vargrad": s.get("nruns")}.get(name) or 1


def reduced_settings(settings, fraction):
    out = {name: dict(s) for name, s in settings.items()}
    for name, s in out.items():
        for key in ("nsamples", "x_steps", "nruns"):
            if key in s:
                s[key] = max(1, int(round(s[key] * fraction)))
    return out


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


# ---------------------------------------------------------------------------------- ours
def ours(model, x, names, steps, n_measured, seed):
    randomizer = Randomizer(model, seed=seed)
    times = []
    with randomizer, warnings.catch_warnings():
        warnings.simplefilter("ignore", methods.DegenerateMaskWarning)
        for step in steps[:n_measured]:
            start = time.perf_counter()
            randomizer.randomize(step.blocks)
            classes = model.predict(x)
            methods.compute_masks(model, x, names, classes=classes, seed=seed)
            times.append(time.perf_counter() - start)
            print(f"  ours, state {step.label}: {times[-1]:.1f} s", flush=True)
    return times


# ---------------------------------------------------------------------------------- the original way
def original_state(architecture, prefix, blocks, x, names, settings, seed):
    """One model state the original's way; returns {part: seconds}, methods at ``settings``."""
    out = {}
    start = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default():
        inputs = tf1.placeholder(tf.float32, (None,) + tuple(architecture.input_shape))
        logits, end_points = architecture.build(inputs)
        session = tf1.Session(graph=graph)
        tf1.train.Saver(var_list=tf1.global_variables()).restore(session, prefix)
        owned = [v for v in tf1.trainable_variables()
                 if any(architecture.block(b).owns(v.op.name) for b in blocks)]
        if owned:
            session.run(tf1.variables_initializer(owned))
    out["graph, restore, re-init"] = time.perf_counter() - start
    shim = SimpleNamespace(graph=graph, session=session, logits=logits, inputs=inputs, end_points=end_points,
                           architecture=architecture)
    start = time.perf_counter()
    pair = PairBaseline(shim, settings, seed)   # its GuidedBackprop (save to /tmp, re-import) is built on first use
    classes = np.array([int(np.argmax(session.run(logits, {inputs: xi[None]})[0])) for xi in x])
    out["PAIR set-up, classes"] = time.perf_counter() - start
    done = {}
    for name in names:
        done[name], out[name] = timed(getattr(pair, name), x, classes, done)
    session.close()
    return out


def main(argv=None):
    args = parse_args(argv)
    model = load_model(args.model)
    prefix = checkpoint_of(args.model, model)
    inception = model.architecture.name == "inception_v3"
    x, image_text = bench_images(args, model)
    names = [m for m in ORIGINAL_METHODS if m in methods.available_methods(model)]
    settings = {name: methods.method_settings(name) for name in names}
    steps = Randomizer(model, seed=args.seed).steps("cascading")
    total = len(steps)
    fraction = args.original_fraction if args.original_fraction is not None else (0.1 if inception else 1.0)
    weights = model.metadata.get("data_source") or model.metadata.get("architecture")
    print(f"model {args.model} ({model.architecture.name}; {weights}); {image_text}")
    print(f"cascade: {total} model states ({', '.join(s.label for s in steps)})")
    print(f"methods at the original's settings: {', '.join(names)}")

    n_ours = min(args.steps or total, total)
    ours_times = ours(model, x, names, steps, n_ours, args.seed)
    per_state = np.mean(ours_times[1:]) if len(ours_times) > 1 else ours_times[0]
    ours_total = sum(ours_times) + (total - n_ours) * per_state
    note = "" if n_ours == total else f" (measured {n_ours} of {total} states, the rest at {per_state:.1f} s each)"
    print(f"ours: {ours_total:.1f} s for the cascade{note}; {ours_total / len(x):.1f} s per image", flush=True)

    n_original = min(args.original_steps, total)
    reduced = reduced_settings(settings, fraction)
    scale = {name: gradient_calls(name, settings) / gradient_calls(name, reduced) for name in names}
    state_times = []
    for step in steps[:n_original]:
        parts = original_state(model.architecture, prefix, step.blocks, x, names, reduced, args.seed)
        scaled = {part: t * scale.get(part, 1.0) for part, t in parts.items()}
        state_times.append(sum(scaled.values()))
        print(f"  original way, state {step.label}: {state_times[-1]:.1f} s (" + ", ".join(
            f"{part} {t:.1f}" + (f" [x{scale[part]:g}]" if scale.get(part, 1.0) != 1.0 else "")
            for part, t in scaled.items()) + ")", flush=True)
    original_per_state = float(np.mean(state_times))
    original_total = original_per_state * total
    how = (f"measured {n_original} of {total} states" +
           (f" at {fraction:g} of the noise samples and IG steps, scaled back per method" if fraction != 1 else "")
           + f"; {original_per_state:.1f} s per state x {total}")
    print(f"original way: {original_total:.1f} s for the cascade ({how}); {original_total / len(x):.1f} s per image")
    print("batching ceiling on this model (time per input gradient):", flush=True)
    evals = args.ceiling_evals or (32 if inception else 1250)
    sizes = (4, 8, 16, 32) if inception else (25, 50, 125, 250, 625, 1250)
    ceiling, _ = batching_ceiling(model, evals=evals, batch1_evals=min(200, max(8, evals // 4)),
                                  batch_sizes=sizes, log=lambda line: print("  " + line, flush=True),
                                  images=x)
    speedup = original_total / ours_total
    print(f"ceiling: {ceiling:.1f}x")
    print(f"speedup: {speedup:.1f}x")
    print(f"share: {speedup / ceiling:.2f}")


if __name__ == "__main__":
    main()

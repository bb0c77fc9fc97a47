"""Benchmark: cascading randomization of a user's Keras model, ours against the per-image PAIR way.

Two Keras 3 models made here (nothing downloaded), saved as ``.keras`` and loaded with
``sanity_checks.loading.load_model`` as a user's file would be:

- ``mobilenet``: ``keras.applications.MobileNetV2(weights=None)`` at 96x96x3, 10 classes, batch-norm
  statistics perturbed (an untrained MobileNetV2 has ~1e-13 gradients);
- ``mnist_cnn``: a Keras copy of our MNIST CNN (conv 5x5x32, pool, conv 5x5x64, pool, FC 1024, FC 10).

For the first ``--steps`` states of the cascade (the trained model, then the top block, ...), the
masks of Gradient, SmoothGrad, Integrated Gradients, Guided BackProp and GradCAM for ``--images``
images are computed (1) our way: ``Randomizer`` in memory, one ``compute_masks`` per state, images,
noise samples and IG steps batched; (2) the per-image PAIR way on the same model states: PAIR's
``saliency.tf1`` classes over the same graph and session, one image and one gradient per
``session.run`` (bench_methods.PairBaseline), its GuidedBackprop rebuilt per state (timed apart).
Both at the original's settings (SmoothGrad 50 samples, IG 50 steps) unless ``--nsamples`` /
``--x-steps`` say otherwise.

In the same run, the batching ceiling: time per input gradient at batch 1 over the best time per
gradient at batch sizes up to ``--max-batch``; "share" = our speed-up / that ceiling (what part of
what batching can give at all we get).

Usage (from the repo root)::

    python bench/bench_keras_cascade.py [--models mobilenet mnist_cnn] [--steps 3] [--images N]
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks.compat import tf  # noqa: E402,F401  (before saliency imports TensorFlow)
from sanity_checks import methods  # noqa: E402
from sanity_checks.keras.eager import eager_mode  # noqa: E402
from sanity_checks.loading import load_model  # noqa: E402
from sanity_checks.randomize import Randomizer  # noqa: E402

from bench_gradient_batch import batching_ceiling  # noqa: E402  (the same directory)
from bench_methods import PairBaseline, pair_gradcam  # noqa: E402

METHODS = ["gradient", "smoothgrad", "integrated_gradients", "guided_backprop", "gradcam"]
DEFAULT_IMAGES = {"mobilenet": 4, "mnist_cnn": 10}


class PairPerState(PairBaseline):
    """PairBaseline with its GradCAM object built once per model, and PAIR's GuidedBackprop rebuilt
    for every model state (it copies the weights the session holds when it is built: without the
    rebuild it would explain the trained model at every state); the rebuild is timed apart."""

    def __init__(self, *args):
        super().__init__(*args)
        layer = self.settings["gradcam"]["layer"] or self.model.architecture.gradcam_layer
        self.cam = self.pair.GradCam(*self.args, conv_layer=self.model.end_points[layer])

    def new_state(self):
        start = time.perf_counter()
        self._guided = self.pair.GuidedBackprop(*self.args)
        return time.perf_counter() - start

    def gradcam(self, x, classes, done):
        return pair_gradcam(self.cam, x, [self.feed(c) for c in classes], self.settings["gradcam"]["resize"])


def make_mobilenet(seed=0):
    import keras
    keras.utils.set_random_seed(seed)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.moving_mean.assign(rng.normal(0, 0.2, layer.moving_mean.shape).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype(np.float32))
    return model


def make_mnist_cnn(seed=0):
    import keras
    keras.utils.set_random_seed(seed)
    L = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(32, 5, padding="same", activation="relu", name="hidden1"), L.MaxPooling2D(2, padding="same"),
        L.Conv2D(64, 5, padding="same", activation="relu", name="hidden2"), L.MaxPooling2D(2, padding="same"),
        L.Flatten(), L.Dense(1024, activation="relu", name="fc1"), L.Dense(10, name="softmax_linear")],
        name="mnist_cnn_keras")


MODELS = {"mobilenet": make_mobilenet, "mnist_cnn": make_mnist_cnn}


def bench(name, args):
    folder = tempfile.mkdtemp(prefix="bench_keras_")
    path = os.path.join(folder, f"{name}.keras")
    with eager_mode():
        MODELS[name](args.seed).save(path)
    start = time.perf_counter()
    model = load_model(path, log=lambda *a: None)
    load_s = time.perf_counter() - start
    arch = model.architecture
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(size=(args.images or DEFAULT_IMAGES[name], *arch.input_shape)).astype(np.float32)
    settings = {"smoothgrad": {"nsamples": args.nsamples}, "integrated_gradients": {"x_steps": args.x_steps}}
    full = {m: methods.method_settings(m, settings.get(m)) for m in METHODS}
    print(f"\n{name}: {arch.description}; loaded in {load_s:.1f} s; {len(arch.blocks)} blocks "
          f"(cascade of {len(arch.blocks) + 1} states), GradCAM layer {arch.gradcam_layer}; {len(x)} images; "
          f"SmoothGrad {args.nsamples} samples, IG {args.x_steps} steps", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", methods.DegenerateMaskWarning)
        # warm-up, untimed, after both ways added their ops to the graph: towers, executors, batch shapes
        baseline = PairPerState(model, full, args.seed)
        baseline.new_state()
        warm = x[:1], model.predict(x[:1])
        for method in ("gradient", "guided_backprop", "gradcam"):
            getattr(baseline, method)(*warm, {})
        methods.compute_masks(model, x, METHODS, seed=args.seed, settings=settings)
        randomizer = Randomizer(model, seed=args.seed)
        steps = randomizer.steps("cascading")[:args.steps]
        ours_s = pair_s = pair_setup_s = 0.0
        with randomizer:
            for step in steps:
                randomizer.randomize(step.blocks)
                start = time.perf_counter()
                methods.compute_masks(model, x, METHODS, seed=args.seed, settings=settings)
                ours_s += time.perf_counter() - start
                pair_setup_s += baseline.new_state()
                start = time.perf_counter()
                classes = np.array([model.predict(xi[None])[0] for xi in x])
                done = {}
                for method in METHODS:
                    done[method] = getattr(baseline, method)(x, classes, done)
                pair_s += time.perf_counter() - start
                print(f"  state {step.label}: ours {ours_s:.2f} s, PAIR way {pair_s:.2f} s "
                      f"+ {pair_setup_s:.2f} s GuidedBackprop rebuilds so far", flush=True)
    masks = len(steps) * len(x) * len(METHODS)
    speedup = pair_s / ours_s
    ceiling, info = batching_ceiling(model, evals=256, batch1_evals=64, batch_sizes=(8, 16, 32, 64, 128, 256),
                                     seed=args.seed, log=lambda line: print("  " + line, flush=True))
    one, best_batch = info["batch1"], info["best_batch"]
    best = info["per_gradient"][best_batch]
    print(f"{name}: ours {masks / ours_s:.1f} masks/s; PAIR way {masks / pair_s:.1f} masks/s without its per-state "
          f"GuidedBackprop rebuild ({speedup:.1f}x), {masks / (pair_s + pair_setup_s):.1f} masks/s with it "
          f"({(pair_s + pair_setup_s) / ours_s:.1f}x)")
    print(f"{name}: batching ceiling {ceiling:.1f}x ({one * 1e3:.2f} ms per gradient at batch 1, "
          f"{best * 1e3:.2f} ms at batch {best_batch}); share {speedup / ceiling:.2f} (speed-up without the "
          f"rebuilds / ceiling)")
    model.close()
    return speedup, ceiling


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--steps", type=int, default=3, help="cascade states timed (default 3)")
    p.add_argument("--images", type=int, default=None, help="images per state (default: mobilenet 4, mnist_cnn 10)")
    p.add_argument("--nsamples", type=int, default=50, help="SmoothGrad noise samples (default 50, the original's)")
    p.add_argument("--x-steps", type=int, default=50, help="IG steps (default 50, the original's)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for name in args.models:
        bench(name, args)


if __name__ == "__main__":
    main()

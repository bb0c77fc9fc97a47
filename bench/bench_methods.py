"""Benchmark: our batched methods against PAIR saliency 0.2.1's per-image TF1 classes.

Every method at the original's settings (``sanity_checks.methods.DEFAULT_SETTINGS``) for 10
MNIST test images on the CNN, computed two ways in one run:

- ours: ``compute_masks`` (images x noise samples x IG steps stacked into few session runs);
- PAIR: one ``GetMask`` / ``GetSmoothedMask`` per image as the original notebooks call them
  (y = logits[0][neuron_selector]), fed the very same noise samples (``np.random.normal`` is
  replaced for the duration of that call by one that returns our samples in order), and
  VarGrad as the original's ``utils.vargrad`` loop over ``GetMask``.

It prints, per method, both timings and the largest difference of the masks relative to the
largest |PAIR mask|. Its last three lines are::

    ceiling: <batched vs one-at-a-time input gradient on this model, this run>x
    speedup: <total PAIR time / total ours>x
    share: <speedup / ceiling>

The ceiling (bench_gradient_batch.batching_ceiling, measured after the methods in the same process)
is what batching alone can gain on this machine; the share says how much of it we reach (target:
at least 0.9 for the MNIST CNN).

Usage (from the repo root)::

    python bench/bench_methods.py [--model models/cnn_mnist] [--images 10] [--data-root data] [--check-batch1]
"""
import argparse
import os
import sys
import time
import warnings
from contextlib import contextmanager

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks.compat import tf, tf1  # noqa: E402  (before saliency imports TensorFlow)
from sanity_checks import methods  # noqa: E402
from sanity_checks.loading import load_model  # noqa: E402
from sanity_checks.model import GraphModel  # noqa: E402

from bench_gradient_batch import batching_ceiling  # noqa: E402  (the same directory)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained model folder (default: a random-weight CNN, seed 0)")
    parser.add_argument("--images", type=int, default=10, help="number of test images (default 10)")
    parser.add_argument("--data-root", default=os.path.join(REPO, "data"), help="data folder (default <repo>/data)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of the noisy methods (default 0)")
    parser.add_argument("--check-batch1", action="store_true",
                        help="for a method whose masks differ from PAIR's by more than 1e-5, recompute ours with "
                             "batch_size=1 (PAIR's per-input rounding) and report that difference too (slow)")
    return parser.parse_args(argv)


def load_images(n, root):
    """(images (n, 28, 28, 1) float32, description): MNIST test images, else seeded random ones."""
    try:
        from sanity_checks.data import load_dataset
        data = load_dataset("mnist", root=root, verbose=False)
        return data.x_test[:n].astype(np.float32), f"the first {n} MNIST test images ({data.source})"
    except Exception as error:   # the data module is optional here: any failure falls back
        rng = np.random.default_rng(0)
        images = rng.uniform(0, 1, (n, 28, 28, 1)).astype(np.float32)
        return images, f"{n} seeded random images (MNIST unavailable: {type(error).__name__}: {error})"


@contextmanager
def feeding_noise(samples):
    """Make ``np.random.normal`` return ``samples`` one by one (PAIR's GetSmoothedMask draws)."""
    queue = iter(samples)
    original = np.random.normal

    def normal(loc=0.0, scale=1.0, size=None):
        sample = next(queue)
        assert tuple(np.shape(sample)) == tuple(size), (np.shape(sample), size)
        return sample

    np.random.normal = normal
    try:
        yield
    finally:
        np.random.normal = original
    if next(queue, None) is not None:
        raise RuntimeError("PAIR drew fewer noise samples than it was given")


def pair_gradcam(cam, x, feeds, resize):
    """PAIR 0.2.1's GradCAM of each image, (N, H, W, 1), upsampled as ``resize`` says: "skimage" is PAIR
    0.2.1's own; "tf1_bilinear" (our default) is PAIR 0.0.4's, the original's: the map PAIR computes,
    scaled to max 1, then TF1's resize_bilinear."""
    if resize == "skimage":
        return np.stack([cam.GetMask(xi, feed, three_dims=False) for xi, feed in zip(x, feeds)])[..., None]
    from sanity_checks.methods.gradcam import resize_maps
    maps = np.stack([cam.GetMask(xi, feed, should_resize=False, three_dims=False) for xi, feed in zip(x, feeds)])
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return resize_maps(maps / np.where(peak > 0, peak, 1)[:, None, None], x.shape[1:3], resize)[..., None]


class PairBaseline:
    """PAIR's TF1 classes over a GraphModel, one image per call, as the original wrapper builds them."""

    def __init__(self, model, settings, seed):
        import saliency.tf1 as pair
        self.pair, self.model, self.settings, self.seed = pair, model, settings, seed
        with model.graph.as_default():
            self.selector = tf1.placeholder(tf.int32, [])
            self.y = model.logits[0][self.selector]
        self.args = (model.graph, model.session, self.y, model.inputs)
        self.gradient_saliency = pair.GradientSaliency(*self.args)
        self.ig = pair.IntegratedGradients(*self.args)
        self._guided = None

    def feed(self, c):
        return {self.selector: int(c)}

    def noise(self, x, nsamples, stdev_spread):
        return methods.smoothing_noise(x, nsamples, stdev_spread, seed=self.seed)

    # one function per method: (x (N, H, W, C), classes, masks computed so far) -> (N, H, W, C)
    def gradient(self, x, classes, done):
        return np.stack([self.gradient_saliency.GetMask(xi, self.feed(c)) for xi, c in zip(x, classes)])

    def gradient_x_input(self, x, classes, done):
        return done["gradient"] * x

    def integrated_gradients(self, x, classes, done):
        s = self.settings["integrated_gradients"]
        return np.stack([self.ig.GetMask(xi, self.feed(c), x_baseline=s["baseline"], x_steps=s["x_steps"])
                         for xi, c in zip(x, classes)])

    def guided_backprop(self, x, classes, done):
        if self._guided is None:   # saves the session to /tmp and copies the graph, as PAIR does
            self._guided = self.pair.GuidedBackprop(*self.args)
        return np.stack([self._guided.GetMask(xi, self.feed(c)) for xi, c in zip(x, classes)])

    def gradcam(self, x, classes, done):
        layer = self.settings["gradcam"]["layer"] or self.model.architecture.gradcam_layer
        cam = self.pair.GradCam(*self.args, conv_layer=self.model.end_points[layer])
        return pair_gradcam(cam, x, [self.feed(c) for c in classes], self.settings["gradcam"]["resize"])

    def guided_gradcam(self, x, classes, done):
        return done["guided_backprop"] * done["gradcam"]

    def _smoothed(self, get_smoothed, x, classes, nsamples, stdev_spread, **kwargs):
        out = []
        for xi, c, noise in zip(x, classes, self.noise(x, nsamples, stdev_spread)):
            with feeding_noise(noise):
                out.append(get_smoothed(xi, self.feed(c), stdev_spread=stdev_spread, nsamples=nsamples, **kwargs))
        return np.stack(out)

    def smoothgrad(self, x, classes, done):
        s = self.settings["smoothgrad"]
        return self._smoothed(self.gradient_saliency.GetSmoothedMask, x, classes, s["nsamples"], s["stdev_spread"],
                              magnitude=s["magnitude"])

    def ig_smoothgrad(self, x, classes, done):
        s = self.settings["ig_smoothgrad"]
        return self._smoothed(self.ig.GetSmoothedMask, x, classes, s["nsamples"], s["stdev_spread"],
                              magnitude=s["magnitude"], x_steps=s["x_steps"], x_baseline=s["baseline"])

    def vargrad(self, x, classes, done):
        """The original ``utils.vargrad``: np.var over nruns GetMask at x + noise, per image."""
        s = self.settings["vargrad"]
        noise = self.noise(x, s["nruns"], s["stdev_spread"])
        return np.stack([np.var([self.gradient_saliency.GetMask(xi + n, self.feed(c)) for n in xi_noise], axis=0)
                         for xi, c, xi_noise in zip(x, classes, noise)])

    def edge(self, x, classes, done):
        from sanity_checks.edge import edge_detector
        return np.stack([edge_detector(xi) for xi in x])


def timed(fn, *args, **kwargs):
    """(result, wall seconds, process CPU seconds of all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def relative_difference(ours, theirs):
    """(max |ours - theirs| / max |theirs|, count of elements off by more than 1e-5 of that max)."""
    theirs = np.asarray(theirs, np.float64)
    scale = np.abs(theirs).max() or 1.0
    diff = np.abs(np.asarray(ours, np.float64) - theirs) / scale
    return float(diff.max()), int(np.sum(diff > 1e-5))


def main(argv=None):
    args = parse_args(argv)
    if args.model:
        model, model_text = load_model(args.model), f"model {args.model}"
    else:
        model, model_text = GraphModel("cnn", seed=0), "random-weight CNN (seed 0)"
    x, image_text = load_images(args.images, args.data_root)
    names = methods.available_methods(model)
    settings = {name: methods.method_settings(name) for name in names}
    print(f"{model_text}; {image_text}")
    print(f"methods at the original's settings: {', '.join(names)}")

    # warm-up, untimed: build every tower and gradient op, and let oneDNN prepare its kernels for the
    # batch shapes the timed runs use (a new batch shape costs a one-off set-up), for both ways. It runs
    # the full settings: a shortened run misses the last, partial batch of each chunk, whose one-off
    # set-up then lands in the timing (measured: ig_smoothgrad 8.9 s cold, 6.9 s warm).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", methods.DegenerateMaskWarning)
        methods.compute_masks(model, x, names, seed=args.seed)
        methods.gradient(model, x[:1])

    # each method is timed our way and then PAIR's way, one right after the other, so that both
    # see the same load on a shared machine; the explained class counts as a step of its own
    baseline = PairBaseline(model, settings, args.seed)
    rows = {}
    classes, ours_s, ours_cpu = timed(methods.resolve_classes, model, x)
    pair_classes, pair_s, pair_cpu = timed(lambda: np.array([model.predict(xi[None])[0] for xi in x]))
    assert np.array_equal(classes, pair_classes)
    rows["(explained class)"] = (ours_s, pair_s, ours_cpu, pair_cpu, None)
    ours_masks, pair_masks = {}, {}
    for name in names:   # compute_masks of parts not computed yet, then the method: what one call shares
        parts = [part for _, part, _ in methods.registry.SPECS[name].parts]
        subset = [n for n in parts if n not in ours_masks] + [name]
        masks, ours_s, ours_cpu = timed(methods.compute_masks, model, x, subset, classes=classes, seed=args.seed)
        ours_masks.update(masks)
        pair_masks[name], pair_s, pair_cpu = timed(getattr(baseline, name), x, classes, pair_masks)
        rows[name] = (ours_s, pair_s, ours_cpu, pair_cpu, relative_difference(ours_masks[name], pair_masks[name]))
    together, together_s, together_cpu = timed(methods.compute_masks, model, x, names, seed=args.seed)

    print(f"\n{'method':22s} {'ours s':>8s} {'PAIR s':>8s} {'ratio':>7s}  {'max rel diff':>12s}  {'>1e-5':>6s}")
    for name, (ours_s, pair_s, _, _, diff) in rows.items():
        line = f"{name:22s} {ours_s:8.3f} {pair_s:8.3f} {pair_s / max(ours_s, 1e-9):6.1f}x"
        if diff is not None:
            rel, count = diff
            same = relative_difference(together[name], ours_masks[name])[0]
            assert same < 1e-6, f"{name}: compute_masks of all methods differs from per method ({same})"
            line += f"  {rel:12.2e}  {count:6d}"
            if count and args.check_batch1:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", methods.DegenerateMaskWarning)
                    one = methods.compute_masks(model, x, [name], classes=classes, seed=args.seed, batch_size=1)
                line += f"  (ours at batch_size=1: {relative_difference(one[name], pair_masks[name])[0]:.2e})"
        print(line)
    ours_total, pair_total = (sum(r[i] for r in rows.values()) for i in (0, 1))
    ours_cpu, pair_cpu = (sum(r[i] for r in rows.values()) for i in (2, 3))
    print(f"{'total':22s} {ours_total:8.3f} {pair_total:8.3f} {pair_total / ours_total:6.1f}x")
    print(f"process CPU time: ours {ours_cpu:.2f} s, PAIR {pair_cpu:.2f} s ({pair_cpu / ours_cpu:.1f}x); "
          f"ours as one compute_masks call of all methods: {together_s:.2f} s wall, {together_cpu:.2f} s CPU")
    print("max rel diff = max |ours - PAIR| / max |PAIR| over the images; >1e-5 = elements off by more than 1e-5 of "
          "that max.\nIn a noisy method these come from an input on a max-pool/ReLU near-tie, which TensorFlow rounds "
          "differently in a batch of 1 and a large batch (see --check-batch1).")
    print("\nbatching ceiling on this model (time per input gradient):", flush=True)
    ceiling, _ = batching_ceiling(model, log=lambda line: print("  " + line, flush=True), images=x)
    speedup = pair_total / ours_total
    print(f"ceiling: {ceiling:.1f}x")
    print(f"speedup: {speedup:.1f}x")
    print(f"share: {speedup / ceiling:.2f}")


if __name__ == "__main__":
    main()

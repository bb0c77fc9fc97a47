"""Benchmark: the cost of one input gradient against the batch size, the ceiling of batching.

All methods at the original settings need about 1,400 input gradients per image (1,250 of them for
IG-SmoothGrad), so what batching can gain over one image per ``session.run`` is bounded by
(time per gradient at batch 1) / (time per gradient at the best batch size). This script measures
both on one model in one run and prints that bound as its last line, ``ceiling: <ratio>x``.
:func:`batching_ceiling` is the same measurement for the other benchmarks (bench_methods.py,
bench_cascade.py print it beside their speed-up, in the same run).

It also prints the arithmetic rate of each batch size: GFLOP/s of input gradients, counted from the
network's multiply-adds (:func:`multiply_adds`: every Conv2D and MatMul of the forward pass). One input
gradient is the forward pass plus the backward pass to the input (data gradients only: no weight
gradients are computed), about 2 x the multiply-adds, 2 FLOPs each.

``--save FILE`` / ``--compare FILE`` keep the batched gradients of the run's inputs and compare another
run's (another thread setting, oneDNN option or batch size) with them: the largest difference relative
to the largest |gradient|.

Usage (from the repo root)::

    python bench/bench_gradient_batch.py [--model models/cnn_mnist] [--evals 1250] [--batch1-evals 200]
    python bench/bench_gradient_batch.py --model <inception folder> --evals 32 --batch1-evals 8 --batch-sizes 4 8 16 32
"""
import argparse
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks import compat  # noqa: E402,F401
from sanity_checks.loading import load_model  # noqa: E402
from sanity_checks.model import GraphModel  # noqa: E402

BATCH_SIZES = (25, 50, 125, 250, 625, 1250)


def multiply_adds(model):
    """Multiply-adds of one image's forward pass: the Conv2D, depthwise and MatMul ops of the model's own
    tower (not the guided tower, randomization or gradient ops), from their static shapes."""
    total = 0
    for op in model.graph.get_operations():
        if op.name.startswith(("guided/", "gradients", "set_weights", "randomize")):
            continue
        if op.type == "Conv2D":
            out = op.outputs[0].shape.as_list()            # (N, H, W, C_out)
            kernel = op.inputs[1].shape.as_list()          # (kh, kw, C_in, C_out)
            total += out[1] * out[2] * out[3] * kernel[0] * kernel[1] * kernel[2]
        elif op.type == "DepthwiseConv2dNative":
            out = op.outputs[0].shape.as_list()            # (N, H, W, C_in * multiplier)
            kernel = op.inputs[1].shape.as_list()          # (kh, kw, C_in, multiplier)
            total += out[1] * out[2] * out[3] * kernel[0] * kernel[1]
        elif op.type == "MatMul":
            a, b = (t.shape.as_list() for t in op.inputs)
            k = a[0] if op.get_attr("transpose_a") else a[1]
            m = b[0] if op.get_attr("transpose_b") else b[1]
            total += k * m
    return total


def gradient_flops(model):
    """FLOPs of one input gradient: (forward + backward to the input) x multiply-adds x 2."""
    return 2 * 2 * multiply_adds(model)


def _per_image_gradient(model):
    """The original's one-image gradient: d logits[0][class] / d input, the class fed as a scalar."""
    from sanity_checks.compat import tf, tf1

    with model.graph.as_default():
        selector = tf1.placeholder(tf.int32, [], name="bench_class")
        return tf.gradients(model.logits[0][selector], model.inputs)[0], selector


def batching_ceiling(model, evals=1250, batch1_evals=200, batch_sizes=BATCH_SIZES, log=print, seed=0, repeats=3,
                     images=None):
    """Measure the time per input gradient at each batch size and at batch 1.

    Inputs: ``images`` (the benchmark's own, repeated to ``evals``, each for its predicted class), else
    uniform random ones in the model's input range with random classes.

    Returns ``(ceiling, info)``: ceiling = (time per gradient at batch 1) / (at the best batch size);
    info holds ``per_gradient`` {batch: s}, ``batch1`` s, ``best_batch``, ``gflops`` {batch: GFLOP/s}
    and the batched gradients of the inputs (``gradients``, from the largest batch size).

    Each time is the median of ``repeats`` timings, the batch sizes taking turns: on a shared virtual
    machine single timings of the same work vary by +-15%, and the best of six single timings would
    bias the ceiling upwards (and every share measured against it downwards).

    One at a time is timed two ways, and the faster counts: our batched gradient op fed one image, and
    the per-image op of the original (PAIR's ``logits[0][class]``, a scalar, fed the class as an int),
    which skips the gather and the batch sum and so costs less per call. Timing only ours would charge
    the one-at-a-time side with our batch machinery and overstate what batching can give.
    """
    rng = np.random.default_rng(seed)
    if images is not None:   # the benchmark's own images, repeated, each explained for its predicted class
        x = np.resize(np.asarray(images, np.float32), (evals, *model.architecture.input_shape))
        classes = model.predict(x).astype(np.int32)
    else:
        low, high = model.architecture.input_range or (0.0, 1.0)
        x = rng.uniform(low, high, size=(evals, *model.architecture.input_shape)).astype(np.float32)
        classes = rng.integers(0, model.architecture.num_classes, evals).astype(np.int32)
    flops = gradient_flops(model)
    sizes = [b for b in batch_sizes if b <= evals]
    model.input_gradients(x[:1], classes[:1], batch_size=1)                                  # warm-up
    for batch_size in sizes:
        model.input_gradients(x[:batch_size], classes[:batch_size], batch_size=batch_size)  # this shape's set-up
    n = min(batch1_evals, evals)
    per_image_gradient, selector = _per_image_gradient(model)
    model.session.run(per_image_gradient, {model.inputs: x[:1], selector: int(classes[0])})   # warm-up
    timings, one_ways, gradients = {b: [] for b in sizes}, {"ours": [], "per-image op": []}, None
    for _ in range(max(1, int(repeats))):
        for batch_size in sizes:
            start = time.perf_counter()
            gradients = model.input_gradients(x, classes, batch_size=batch_size)
            timings[batch_size].append((time.perf_counter() - start) / evals)
        start = time.perf_counter()
        for i in range(n):
            model.input_gradients(x[i:i + 1], classes[i:i + 1], batch_size=1)
        one_ways["ours"].append((time.perf_counter() - start) / n)
        start = time.perf_counter()
        for i in range(n):
            model.session.run(per_image_gradient, {model.inputs: x[i:i + 1], selector: int(classes[i])})
        one_ways["per-image op"].append((time.perf_counter() - start) / n)
    per_gradient = {b: float(np.median(timings[b])) for b in sizes}
    one_way = min(one_ways, key=lambda way: np.median(one_ways[way]))
    timings[1] = one_ways[one_way]
    one = float(np.median(timings[1]))
    log("batch 1, " + "; ".join(f"{way}: {np.median(t) * 1e3:.3f} ms" for way, t in one_ways.items()) +
        f" (the faster, {one_way}, counts)")
    gflops = {b: flops / t / 1e9 for b, t in per_gradient.items()}
    gflops[1] = flops / one / 1e9
    for batch_size in sizes + [1]:
        t = one if batch_size == 1 else per_gradient[batch_size]
        log(f"batch {batch_size:>5}: {t * 1e3:8.3f} ms per gradient, {gflops[batch_size]:6.1f} GFLOP/s "
            f"(median of {len(timings[batch_size])}: {', '.join(f'{v * 1e3:.3f}' for v in timings[batch_size])})")
    best = min(per_gradient, key=per_gradient.get)
    return one / per_gradient[best], {"per_gradient": per_gradient, "batch1": one, "best_batch": best,
                                      "gflops": gflops, "flops_per_gradient": flops, "gradients": gradients}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained model folder (default: a random-weight CNN, seed 0)")
    parser.add_argument("--evals", type=int, default=1250, help="gradients per batched timing (default 1250)")
    parser.add_argument("--batch1-evals", type=int, default=200, help="gradients timed one at a time (default 200)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES),
                        help=f"batch sizes to time (default {' '.join(map(str, BATCH_SIZES))})")
    parser.add_argument("--save", help="write the batched gradients to this .npy file")
    parser.add_argument("--compare", help="compare the batched gradients with this .npy file (from --save)")
    args = parser.parse_args(argv)
    model = load_model(args.model) if args.model else GraphModel("cnn", seed=0)
    threads = {k: os.environ[k] for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS")
               if k in os.environ}
    print(f"{model.architecture.name}: {multiply_adds(model) / 1e6:,.1f} M multiply-adds per image, "
          f"{gradient_flops(model) / 1e9:.3f} GFLOP per input gradient; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; {threads or 'default thread and oneDNN settings'}", flush=True)
    ceiling, info = batching_ceiling(model, args.evals, args.batch1_evals, args.batch_sizes)
    if args.save:
        np.save(args.save, info["gradients"])
    if args.compare:
        reference = np.load(args.compare)
        diff = np.abs(info["gradients"] - reference).max() / (np.abs(reference).max() or 1.0)
        print(f"gradients against {args.compare}: max |difference| / max |gradient| = {diff:.2e}")
    print(f"best batch {info['best_batch']}: {info['gflops'][info['best_batch']]:.1f} GFLOP/s")
    print(f"ceiling: {ceiling:.1f}x")


if __name__ == "__main__":
    main()

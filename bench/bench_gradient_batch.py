"""Benchmark: the cost of one input gradient against the batch size, the ceiling of batching.

All methods at the original settings need about 1,400 input gradients per image (1,250 of them for
IG-SmoothGrad), so what batching can gain over one image per ``session.run`` is bounded by
(time per gradient at batch 1) / (time per gradient at the best batch size). This script measures
both on one model in one run and prints that bound as its last line, ``ceiling: <ratio>x``.

Usage (from the repo root)::

    python bench/bench_gradient_batch.py [--model models/cnn_mnist] [--evals 1250] [--batch1-evals 200]
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained model folder (default: a random-weight CNN, seed 0)")
    parser.add_argument("--evals", type=int, default=1250, help="gradients per batched timing (default 1250)")
    parser.add_argument("--batch1-evals", type=int, default=200, help="gradients timed one at a time (default 200)")
    args = parser.parse_args(argv)
    model = load_model(args.model) if args.model else GraphModel("cnn", seed=0)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.evals, *model.architecture.input_shape)).astype(np.float32)
    classes = rng.integers(0, model.architecture.num_classes, args.evals).astype(np.int32)
    model.input_gradients(x[:50], classes[:50], batch_size=50)    # warm-up
    per_eval = {}
    for batch_size in [b for b in BATCH_SIZES if b <= args.evals]:
        start = time.perf_counter()
        model.input_gradients(x, classes, batch_size=batch_size)
        per_eval[batch_size] = (time.perf_counter() - start) / args.evals
        print(f"batch {batch_size:>5}: {per_eval[batch_size] * 1e3:.3f} ms per gradient", flush=True)
    n = min(args.batch1_evals, args.evals)
    start = time.perf_counter()
    for i in range(n):
        model.input_gradients(x[i:i + 1], classes[i:i + 1], batch_size=1)
    one = (time.perf_counter() - start) / n
    print(f"batch     1: {one * 1e3:.3f} ms per gradient")
    best = min(per_eval, key=per_eval.get)
    print(f"ceiling: {one / per_eval[best]:.1f}x")


if __name__ == "__main__":
    main()

"""Benchmark: the whole sanity-check report, check by check: time per image and the share of time
spent inside the model (TensorFlow ``Session.run``), every check run as the report runs it (each image
in model calls of its own, batched over its maps, noisy copies and deletion steps).

The share is measured in the same run: every ``Session.run`` of every session (the model's and the
input-invariance check's shifted copy) is timed, and its total is divided by the check's wall time.
The rest is numpy/scipy/skimage work around the model: the similarity metrics (one call per image,
method, state and metric), histograms, building the deleted images, and the random draws.

Usage (from the repo root)::

    python bench/bench_report.py --model models/cnn_fashion_quick2 --images 100 --quick --smprt-samples 10

Prints one line per check and a total; ``--quick`` uses few noise samples and IG steps (the report's
smoke-test setting) so that 100 images and all methods fit in minutes on 2 cores.
"""
import argparse
import os
import sys
import time
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks.compat import tf1  # noqa: E402
from sanity_checks.checks import CHECKS  # noqa: E402
from sanity_checks.checks.spec import command_line_options  # noqa: E402
from sanity_checks.experiments.inputs import test_images  # noqa: E402
from sanity_checks.methods import QUICK_SETTINGS  # noqa: E402
from sanity_checks.loading import load_model  # noqa: E402
from sanity_checks.report import check_settings  # noqa: E402


class SessionTimer:
    """Patch ``tf1.Session.run`` to add up the time spent inside TensorFlow."""

    def __init__(self):
        self.seconds = 0.0
        self.calls = 0
        self._run = tf1.Session.run
        timer = self

        def run(session, *args, **kwargs):
            start = time.perf_counter()
            try:
                return timer._run(session, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - start
                timer.calls += 1
        tf1.Session.run = run

    def reset(self):
        self.seconds, self.calls = 0.0, 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--images", type=int, default=100)
    p.add_argument("--methods", nargs="+", default=None)
    p.add_argument("--checks", nargs="+", default=list(CHECKS))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--smprt-samples", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default="data")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    model = load_model(args.model)
    _, images, _ = test_images(model, args.images, args.data_root)
    ids = np.arange(len(images))
    # every check's command-line option at its default (from the specs), but the sMPRT samples asked here
    defaults = {option.dest: default for option, default in command_line_options(CHECKS.values())}
    options = argparse.Namespace(**{**defaults, "methods": args.methods, "smprt_samples": args.smprt_samples})
    settings = check_settings(options, QUICK_SETTINGS if args.quick else None)
    timer = SessionTimer()
    model.predict_logits(images[:2])   # the first session run pays one-off costs
    print(f"{model.architecture.name}, {len(images)} images, methods: {args.methods or 'all'}, "
          f"{'quick' if args.quick else 'original'} method settings, sMPRT samples {args.smprt_samples}")
    print(f"{'check':<18}{'seconds':>10}{'s/image':>10}{'in model':>10}{'runs':>8}")
    total = model_total = 0.0
    for check in args.checks:
        timer.reset()
        start = time.perf_counter()
        CHECKS[check].run(model, images, ids, seed=args.seed, settings=settings[check])
        seconds = time.perf_counter() - start
        total += seconds
        model_total += timer.seconds
        print(f"{check:<18}{seconds:>10.1f}{seconds / len(images):>10.3f}{timer.seconds / seconds:>10.0%}"
              f"{timer.calls:>8}")
    print(f"{'total':<18}{total:>10.1f}{total / len(images):>10.3f}{model_total / total:>10.0%}")


if __name__ == "__main__":
    main()

"""Long runs (sanity_checks.runs): what parts and merge cost, and what a 2-worker pool gains.

On one random CNN, the first N MNIST test images through a cascading randomization, all methods at
--quick settings (``--original-settings``: the original's, the paper-scale work per image), measured
in this run:

1. batched:   the pre-runs code path (every model state, all images in one compute_masks call);
2. in memory: model_randomization.run (images explained one at a time, the canonical shapes that
              make results independent of the split), no files;
3. parts:     the same work as a serial job: a part per task, then the merge (the files' cost);
4. pool:      the same job on 2 spawned workers x 1 TensorFlow thread (worker start included).

Prints seconds and ratios: parts vs in memory is the overhead of parts + merge (target <= 5%);
in memory vs batched is the price of split-independent bytes; pool vs parts the pool's gain.

    .venv/bin/python bench/bench_runs.py --images 8 --repeats 2
    .venv/bin/python bench/bench_runs.py --images 4 --repeats 1 --original-settings

``--inception FOLDER`` instead times one Inception v3 input gradient (batch 8, this process's
TensorFlow threads: set TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS) on the checkpoint in
FOLDER (a random one is written there first if it holds none), and the process's peak memory:

    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 nice -n 10 .venv/bin/python bench/bench_runs.py \
        --inception /tmp/random_inceptionv3
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from sanity_checks import compat  # noqa: E402,F401
import numpy as np  # noqa: E402


def batched_run(model, images, methods, settings, seed):
    """The pre-runs loop: every state, all images batched in one compute_masks call."""
    from sanity_checks import metrics as metrics_module
    from sanity_checks.methods import compute_masks
    from sanity_checks.randomize import Randomizer

    randomizer = Randomizer(model, seed=seed)
    reference = None
    with randomizer:
        for step in randomizer.steps("cascading"):
            randomizer.randomize(step.blocks)
            masks = compute_masks(model, images, methods, seed=seed, settings=settings)
            reference = reference or masks
            for m in methods:
                for n in range(len(images)):
                    for metric in ("spearman_abs", "spearman_signed", "ssim"):
                        metrics_module.similarity(metric, reference[m][n], masks[m][n])


def cascade_job_maker(n_images, data_root, settings):
    """A random CNN saved in a temporary folder and the first ``n_images`` MNIST test images:
    ``(root, model, images, methods, make_job)``, ``make_job(images_per_task)`` giving the cascading
    randomization job on them (all methods at ``settings``), as the runners build it."""
    from sanity_checks.data import load_dataset
    from sanity_checks.experiments import jobs
    from sanity_checks.methods import available_methods
    from sanity_checks.model import GraphModel
    from sanity_checks.randomize import Strategy

    root = tempfile.mkdtemp(prefix="bench_runs-")
    folder = os.path.join(root, "cnn")
    model = GraphModel("cnn", seed=8)
    model.save(folder, {"data": "mnist"})
    data = load_dataset("mnist", root=data_root)   # pool workers load the same images from here
    images = data.x_test[:n_images]
    methods = available_methods(model)

    def make_job(images_per_task):
        return jobs.model_randomization_job(
            model, folder, images, runs_=[(None, "cascading", Strategy())], blocks=None, order="top-down",
            methods=methods, metrics=None, seed=0, fixed_class=False, method_settings=settings,
            eval_images=0, data_root=data_root, image_dir=None, data=(data, images, None),
            images_per_task=images_per_task)

    return root, model, images, methods, make_job


def inception_gradient_time(folder, repeats=2):
    """Seconds per Inception v3 input gradient (batch 8) and peak RSS in MB."""
    import resource

    from sanity_checks import imagenet

    if not imagenet.checkpoint_prefix(folder):
        imagenet.write_random_checkpoint(folder, seed=0)
    model = imagenet.load_inception_v3(folder)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 299, 299, 3)).astype(np.float32)
    classes = np.zeros(16, np.int64)
    model.input_gradients(x[:8], classes[:8])   # warm up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        model.input_gradients(x, classes)
        best = min(best, (time.perf_counter() - start) / len(x))
    return best, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--inception", default=None, metavar="FOLDER",
                   help="time Inception v3 input gradients instead (a random checkpoint is written to FOLDER)")
    p.add_argument("--images", type=int, default=8, help="the first N MNIST test images")
    p.add_argument("--data-root", default="data", help="where MNIST is (default data/; make data fills it)")
    p.add_argument("--repeats", type=int, default=2, help="best of this many runs per variant")
    p.add_argument("--images-per-task", type=int, default=None)
    p.add_argument("--original-settings", action="store_true",
                   help="the methods at the original's settings instead of --quick (the paper-scale work per image)")
    args = p.parse_args(argv)
    if args.inception:
        seconds, rss = inception_gradient_time(args.inception, args.repeats)
        threads = os.environ.get("TF_NUM_INTRAOP_THREADS", "default")
        print(f"Inception v3, {threads} TensorFlow thread(s): {seconds:.3f} s per input gradient (batch 8), "
              f"peak memory {rss:.0f} MB; x 1,380 gradients per image and state (original settings) = "
              f"{1380 * seconds:.0f} s")
        return

    from sanity_checks import runs
    from sanity_checks.experiments import jobs, model_randomization
    from sanity_checks.methods import QUICK_SETTINGS

    settings = None if args.original_settings else QUICK_SETTINGS
    root, model, images, methods, make_job = cascade_job_maker(args.images, args.data_root, settings)
    per_task = args.images_per_task or jobs.IMAGES_PER_TASK

    def parts_run(backend=None, images_per_task=per_task):
        out = tempfile.mkdtemp(dir=root)
        job = make_job(images_per_task)
        runs.run(job, out, backend(job) if backend else None, progress=False)
        shutil.rmtree(out)

    variants = {
        "batched (pre-runs code path)": lambda: batched_run(model, images, methods, settings, 0),
        "in memory, one image at a time": lambda: model_randomization.run(
            model, images, methods=methods, method_settings=settings, seed=0, progress=False),
        f"serial job, parts + merge ({per_task} images/task)": parts_run,
        "serial job, parts + merge (1 image/task)": lambda: parts_run(images_per_task=1),
        "pool 2 workers x 1 thread, parts + merge": lambda: parts_run(lambda job: runs.Pool(job.work, 2, threads=1)),
    }
    variants["in memory, one image at a time"]()   # warm up graph paths (guided tower, GradCAM gradient)
    times = {}
    for name, fn in variants.items():
        best = np.inf
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        times[name] = best
        print(f"{name:<48} {best:7.2f} s", flush=True)
    names = list(times)
    base = times[names[1]]
    print(f"\n{args.images} images x 5 states, {len(methods)} methods "
          f"({'original settings' if args.original_settings else '--quick'}), {runs.cpu_count()} cores")
    print(f"parts + merge overhead vs in memory:     {100 * (times[names[2]] / base - 1):+.1f}%")
    print(f"one image at a time vs batched:          {times[names[1]] / times[names[0]]:.2f}x the time")
    print(f"1 image per task vs {per_task}:                 {100 * (times[names[3]] / times[names[2]] - 1):+.1f}%")
    print(f"pool 2x1 vs serial job:                  {times[names[2]] / times[names[4]]:.2f}x faster")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

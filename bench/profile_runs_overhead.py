"""Benchmark: the bookkeeping cost of a resumable run (parts written, manifest, merge), measured
directly with cProfile instead of as a difference of two wall times.

On this 2-core virtual machine two wall times of the same work differ by +-20% from run to run (the
host takes CPU time away), more than the overhead of parts and merge (target <= 5%), so
``bench_runs.py``'s difference of walls cannot show it. This script profiles a serial job (parts +
merge, as the runners run it) and the in-memory run of the same work in one process, and prints,
for each, the wall time and the time inside the functions that do the work (``compute_masks``, the
similarities), and for the job everything outside its tasks' work: the wall time minus the time in
``runs.run_task`` (building the job, hashing the checkpoint, the manifest, parts written and read
back, the merge).

    .venv/bin/python bench/profile_runs_overhead.py                 # 4 images, original settings
    .venv/bin/python bench/profile_runs_overhead.py --images 8 --quick --images-per-task 4
"""
import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sanity_checks import compat  # noqa: E402,F401


def profiled(fn):
    """(wall seconds, {function name: cumulative seconds}) of one call of ``fn``."""
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    fn()
    profile.disable()
    wall = time.perf_counter() - start
    cumulative = {}
    for (path, _, name), row in pstats.Stats(profile).stats.items():
        key = "runs.run_task" if (name == "run_task" and path.endswith(os.path.join("runs", "runners.py"))) else name
        cumulative[key] = cumulative.get(key, 0.0) + row[3]
    return wall, cumulative


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=4, help="the first N MNIST test images (default 4)")
    p.add_argument("--images-per-task", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="the --quick method settings (default: the original's)")
    p.add_argument("--data-root", default="data")
    args = p.parse_args(argv)

    from sanity_checks import runs
    from sanity_checks.experiments import model_randomization
    from sanity_checks.methods import QUICK_SETTINGS

    from bench_runs import cascade_job_maker   # the same directory

    settings = QUICK_SETTINGS if args.quick else None
    root, model, images, methods, make_job = cascade_job_maker(args.images, args.data_root, settings)

    def job_run():
        runs.run(make_job(args.images_per_task), tempfile.mkdtemp(dir=root), None, progress=False)

    def in_memory():
        model_randomization.run(model, images, methods=methods, method_settings=settings, seed=0, progress=False)

    in_memory()   # warm-up: graph paths and kernel shapes
    print(f"{args.images} images, {args.images_per_task} per task, 5 states, {len(methods)} methods "
          f"({'--quick' if args.quick else 'original settings'})")
    for name, fn in (("serial job (parts + merge)", job_run), ("in memory", in_memory)):
        wall, cumulative = profiled(fn)
        line = (f"{name:<28} wall {wall:7.2f} s | compute_masks {cumulative.get('compute_masks', 0.0):7.2f} s, "
                f"similarity {cumulative.get('similarity', 0.0):5.2f} s")
        if "runs.run_task" in cumulative:
            outside = wall - cumulative["runs.run_task"]
            line += (f" | outside the tasks {outside:.3f} s = {100 * outside / wall:.2f}% of the wall time "
                     f"(write_part {cumulative.get('write_part', 0.0):.3f} s, read_part "
                     f"{cumulative.get('read_part', 0.0):.3f} s, merge {cumulative.get('merge', 0.0):.3f} s)")
        print(line, flush=True)

if __name__ == "__main__":
    main()

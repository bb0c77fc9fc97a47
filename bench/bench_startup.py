"""Benchmark: a short run as a whole process against a bare ``import tensorflow``, in the same run.

A new user's first check (issue 15): the model randomization test, independent, Gradient only, one
metric, 100 test images of a Fashion-MNIST CNN::

    run_model_randomization.py --model M --mode independent --methods gradient --metrics spearman_abs \\
        --images 100 --out <tmp>

timed as a whole process (start-up, imports, data, graph, masks, accuracy, files), against
``python -c "import tensorflow"``: what no TensorFlow program can avoid. Also the start-up of
``import sanity_checks``, of the shim (``import sanity_checks.compat``: TensorFlow itself, graph mode)
and of each command-line script's ``--help``. Each repeat times every process once, interleaved, so
that a change of load on the machine hits both sides of a ratio; ratios are the median over repeats
of the per-repeat ratios. The last line is ``run / bare import: <ratio>x`` (target: at most 2x).

``--src`` times another checkout's ``src/``; ``--before SRC`` also times a second one (e.g. the code
before a change: ``git archive <commit> src | tar -x -C /tmp/before``) in the same repeats, so both
sides see the same load.

Usage (from the repo root)::

    python bench/bench_startup.py --model models/cnn_fashion [--repeats 3] [--src src] [--data-root data]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ("run_model_randomization", "run_data_randomization", "parameter_and_input_saliency", "run_pruning_check",
           "train_cnn_models", "train_mlp_models", "demo", "fetch_data")


def timed(command, env, cwd):
    """Wall time of one process; raises if it fails (a benchmark of a failing run means nothing)."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def import_tree(stderr):
    """``python -X importtime`` lines -> [(self us, depth, name, [indices of the entry's subtree])]."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, _, name = line[len("import time:"):].split("|")
        own = int(own)
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        entries.append([own, depth, name.strip(), []])
    # importtime writes a module after everything it imported: its subtree is the run of deeper
    # entries right before it
    for i, entry in enumerate(entries):
        j = i - 1
        while j >= 0 and entries[j][1] > entry[1]:
            j -= 1
        entry[3] = list(range(j + 1, i + 1))
    return entries


def import_costs(stderr, roots=("tf_keras", "tf_slim")):
    """Seconds: total imports, TensorFlow's subtree, and each of ``roots``' subtrees without TensorFlow's
    (tf-keras imports TensorFlow when it comes first, and -X importtime charges TF to it)."""
    entries = import_tree(stderr)
    tf_part = set().union(*[set(e[3]) for e in entries if e[2] == "tensorflow"])
    costs = {"total": sum(e[0] for e in entries) / 1e6,
             "tensorflow": sum(entries[i][0] for i in tf_part) / 1e6}
    for root in roots:   # the package and its submodules (-X importtime may list only the latter)
        own = set().union(*[set(e[3]) for e in entries if e[2] == root or e[2].startswith(root + ".")])
        costs[root] = sum(entries[i][0] for i in own - tf_part) / 1e6
    costs["beyond TensorFlow"] = costs["total"] - costs["tensorflow"]
    return costs


def importtime_report(srcs, python):
    """For each src/ and script: ``-X importtime`` of ``--help`` (plus ``import sanity_checks.compat``)."""
    base_env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")}
    print(f"{'python -X importtime ...':<52} {'total s':>8} {'TF s':>6} {'beyond TF':>9} {'tf_keras':>8} "
          f"{'tf_slim':>8}")
    for label, src in srcs:
        env = {**base_env, "PYTHONPATH": src}
        targets = [("-c import sanity_checks.compat", ["-c", "import sanity_checks.compat"])]
        targets += [(f"{script}.py --help", [os.path.join(src, f"{script}.py"), "--help"]) for script in SCRIPTS
                    if os.path.isfile(os.path.join(src, f"{script}.py"))]
        for name, tail in targets:
            done = subprocess.run([python, "-X", "importtime", *tail], env=env, capture_output=True, text=True)
            c = import_costs(done.stderr)
            print(f"{label + name:<52} {c['total']:>8.2f} {c['tensorflow']:>6.2f} {c['beyond TensorFlow']:>9.2f} "
                  f"{c['tf_keras']:>8.2f} {c['tf_slim']:>8.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a Fashion-MNIST CNN folder (train_cnn_models.py --data fashion)")
    parser.add_argument("--images", type=int, default=100, help="test images of the run (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="times each process is timed (default 3)")
    parser.add_argument("--src", default=os.path.join(REPO, "src"), help="the src/ folder to time (default this one)")
    parser.add_argument("--data-root", default=os.path.join(REPO, "data"), help="data folder (default <repo>/data)")
    parser.add_argument("--before", default=None, help="a second src/ folder timed in the same repeats")
    parser.add_argument("--no-help", action="store_true", help="time only the bare import and the run")
    parser.add_argument("--importtime", action="store_true",
                        help="instead: -X importtime of each script's --help, TensorFlow's part and tf-keras' "
                             "and tf-slim's (without the TensorFlow they import when they come first)")
    args = parser.parse_args(argv)
    if args.importtime:
        importtime_report([(label, os.path.abspath(src)) for label, src in (("", args.src), ("before: ", args.before))
                           if src], sys.executable)
        return

    python = sys.executable
    base_env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")}
    work = tempfile.mkdtemp(prefix="bench_startup-")
    commands = {"bare import tensorflow": ([python, "-c", "import tensorflow"], base_env)}
    for label, src in (("", args.src), ("before: ", args.before)):
        if src is None:
            continue
        src = os.path.abspath(src)
        env = {**base_env, "PYTHONPATH": src}
        run = [python, os.path.join(src, "run_model_randomization.py"), "--model", os.path.abspath(args.model),
               "--mode", "independent", "--methods", "gradient", "--metrics", "spearman_abs", "--images",
               str(args.images), "--data-root", os.path.abspath(args.data_root), "--out", os.path.join(work, "quick")]
        print(f"{label or 'code: '}{src}\n  run: {' '.join(run[1:])}")
        commands[f"{label}run"] = (run, env)
        if not args.no_help:
            commands[f"{label}import sanity_checks"] = ([python, "-c", "import sanity_checks"], env)
            commands[f"{label}import sanity_checks.compat"] = ([python, "-c", "import sanity_checks.compat"], env)
            for script in SCRIPTS:
                path = os.path.join(src, f"{script}.py")
                if os.path.isfile(path):
                    commands[f"{label}{script}.py --help"] = ([python, path, "--help"], env)
    print(f"{args.repeats} repeats, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start",
          flush=True)
    times = {name: [] for name in commands}
    try:
        for _ in range(args.repeats):
            for name, (command, env) in commands.items():
                times[name].append(timed(command, env, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare = times["bare import tensorflow"]
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'process':<42} {'median s':>9} {'min s':>7} {'/ bare':>7}")
    for name, values in times.items():
        ratio = statistics.median(v / b for v, b in zip(values, bare))
        print(f"{name:<42} {statistics.median(values):>9.2f} {min(values):>7.2f} {ratio:>6.2f}x")
    if "before: run" in times:
        before = statistics.median(r / b for r, b in zip(times["before: run"], bare))
        print(f"before: run / bare import: {before:.2f}x")
    ratio = statistics.median(r / b for r, b in zip(times["run"], bare))
    print(f"run / bare import: {ratio:.2f}x")


if __name__ == "__main__":
    main()

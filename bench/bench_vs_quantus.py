"""Side by side with the peer: our runner against Quantus 0.6's MPRT, whole processes, on one model and one set of images.

Workload: independent model parameter randomization (every block alone, plus the trained model), Spearman
rank correlation of absolute maps, the first ``--images`` (100) test images, each explained for the trained
model's top class in every state, by Gradient, then by SmoothGrad with ``--nsamples`` (50) noisy copies of noise
std 0.15 x (max - min) of each image (our ``stdev_spread``; Quantus has no convention of its own here: its
``explain_func`` is ours to give, see below).

- ours: ``src/run_model_randomization.py --mode independent --methods gradient|smoothgrad --metrics spearman_abs
  --images N --fixed-class --eval-images 0`` (no per-state test accuracy: Quantus measures none), as a user
  runs it, writing its results and figures to a fresh folder;
- Quantus: ``bench/quantus_peer.py run`` in its own environment: ``quantus.MPRT(layer_order="independent")``
  on a copy of the same weights in the peer's framework, ``explain_func`` a batched input gradient (one
  GradientTape / autograd call per batch Quantus hands it, 64 images) or SmoothGrad as ours defines it with
  every noisy copy of a batch in calls of up to 1,024 rows. That is the fastest way we know to give
  Quantus these explanations: its built-in TensorFlow SmoothGrad goes through tf-explain (one extra
  package, an absolute noise std), its torch one through Captum's NoiseTunnel (absolute std too).
  Quantus explains the trained model twice per run (once for ``a_batch``, once inside its loop); ours once.

Engines: ``--engine tf`` (default): our TensorFlow CNN (``--model``, default ``models/cnn_fashion`` or
``models/quick/cnn_fashion``) against a Keras 2 copy under TensorFlow 2.15, in a virtual
environment the bench makes once under ``--cache`` (``quantus-tf``: ``pip install quantus==0.6.0
tensorflow-cpu==2.15.1``; Quantus does not run on Keras 3). ``--engine torch``: Hedström et al.'s LeNet
(``bench/hedstrom_lenet_model.py``, ``--weights``, default ``models/hedstrom_lenet/seed0.pt`` or else one epoch
of their recipe trained once into the cache) against the same module under Quantus, in ``quantus-torch``: a
virtual environment that sees the project's packages (a ``.pth`` file) and adds Quantus 0.6 (``pip install
quantus==0.6.0``), leaving the project's own environment untouched.

Before timing, the copy's logits are checked against ours (``max logit difference``). Then per run and
workload ours and Quantus's process run one after the other (which goes first alternates between runs),
``--runs`` (3) times; medians, and the ratio of the two sides run by run (on a busy machine the load changes
between runs more than between the two halves of one). The last lines are ``ratio gradient: R`` and ``ratio smoothgrad: R``, our median
wall time over Quantus's (below 1: ours is faster). ``--quick``: 4 images, 5 samples, 1 run (a smoke test).

    PYTHONPATH=src .venv/bin/python bench/bench_vs_quantus.py [--engine tf|torch] [--images 100] [--runs 3]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPO / "src"))

QUANTUS = "quantus==0.6.0"
PEER_PACKAGES = {"tf": [[QUANTUS, "tensorflow-cpu==2.15.1"], [QUANTUS, "tensorflow==2.15.1"]], "torch": [[QUANTUS]]}
WORKLOADS = ("gradient", "smoothgrad")
ROOTS = (REPO,)
DEFAULT_TF_MODELS = ("models/cnn_fashion", "models/quick/cnn_fashion")
DEFAULT_TORCH_WEIGHTS = ("models/hedstrom_lenet/seed0.pt",)
#: The copy's logits may differ from ours by this much times the largest logit (float32, other kernels: 7e-6 of 12.9
#: for the Keras 2 copy of our CNN, 0 for the same torch module)
LOGIT_TOLERANCE = 1e-5
LENET_SPEC = f"{HERE / 'hedstrom_lenet_model.py'}:make_model"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", choices=("tf", "torch"), default="tf")
    p.add_argument("--images", type=int, default=None, help="first N test images (default 100; --quick 4)")
    p.add_argument("--runs", type=int, default=None, help="runs of each side per workload (default 3; --quick 1)")
    p.add_argument("--nsamples", type=int, default=None, help="SmoothGrad samples (default 50; --quick 5)")
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    p.add_argument("--quick", action="store_true", help="4 images, 5 SmoothGrad samples, 1 run: a smoke test")
    p.add_argument("--model", default=None, help="our TensorFlow model folder (--engine tf)")
    p.add_argument("--weights", default=None, help="a state dict of the LeNet (--engine torch)")
    p.add_argument("--data-root", default=str(REPO / "data"), help="data root (default data/)")
    p.add_argument("--threads", type=int, default=None,
                   help="framework threads on both sides (default: each side's own default)")
    p.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "sanity-checks-bench"),
                   help="where the peer's environments, the LeNet's weights and scratch files go")
    p.add_argument("--no-install", action="store_true", help="stop if the peer's environment is not there yet")
    args = p.parse_args(argv)
    for name, default, quick in (("images", 100, 4), ("runs", 3, 1), ("nsamples", 50, 5)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
    return args


# ------------------------------------------------------------------------------------ the peer's environment
def peer_python(engine, cache, install=True, log=print):
    """The Python of the peer's virtual environment under ``cache``, made on first use (see the module doc)."""
    venv = Path(cache) / f"quantus-{engine}"
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    if stamp.exists():
        return python
    if not install:
        raise SystemExit(f"error: no Quantus environment at {venv}; run without --no-install to make it")
    if engine == "tf" and sys.version_info[:2] > (3, 11):
        raise SystemExit("error: TensorFlow 2.15 (the last with Keras 2, which Quantus needs) has no wheels for "
                         f"Python {sys.version_info[0]}.{sys.version_info[1]}; run the bench with Python 3.9-3.11")
    log(f"making the peer's environment {venv} (once; pip output in {venv}.log)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    if engine == "torch":   # the project's packages (torch, captum...) seen from the new environment, not copied
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        import sysconfig
        Path(site, "sanity-checks-project.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    with open(f"{venv}.log", "w") as out:
        for packages in PEER_PACKAGES[engine]:
            done = subprocess.run([str(python), "-m", "pip", "install", *packages], stdout=out, stderr=out)
            if done.returncode == 0:
                stamp.write_text(" ".join(packages) + "\n")
                return python
    raise SystemExit(f"error: pip could not install {PEER_PACKAGES[engine]} into {venv}: see {venv}.log")


# ------------------------------------------------------------------------------------ model and images
def first_existing(candidates):
    return next((str(root / c) for c in candidates for root in ROOTS if (root / c).exists()), None)


def lenet_weights(args, log=print):
    """``--weights``, else the trained seed-0 LeNet if on disk, else one epoch of their recipe, trained once."""
    path = args.weights or first_existing(DEFAULT_TORCH_WEIGHTS)
    if path:
        return path, f"LeNet weights {path}"
    path = Path(args.cache) / "hedstrom_lenet_seed0_1epoch.pt"
    if not path.exists():
        import torch
        import hedstrom_lenet
        from sanity_checks.data import load_dataset
        data = load_dataset("fashion", root=args.data_root, verbose=False)
        log("no trained LeNet found: training one epoch of Hedström et al.'s recipe (seed 0), once")
        module, _ = hedstrom_lenet.train(np.concatenate([data.x_val, data.x_train]),
                                         np.concatenate([data.y_val, data.y_train]), data.x_test, data.y_test,
                                         seed=0, epochs=1, log=log)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(module.state_dict(), f"{path}.tmp")
        os.replace(f"{path}.tmp", path)
    return str(path), f"LeNet weights {path} (1 epoch, seed 0: no trained LeNet on disk)"


def our_model(args):
    """(spec and options for our runner, the loaded model, a description, the data set name)."""
    from sanity_checks.loading import load_model
    if args.engine == "tf":
        folder = args.model or first_existing(DEFAULT_TF_MODELS)
        if not folder:
            raise SystemExit("error: no trained CNN found; train one: src/train_cnn_models.py --data fashion "
                             "--savemodelpath models/ (or pass --model FOLDER)")
        model = load_model(folder)
        data = model.metadata.get("data", "fashion") if isinstance(getattr(model, "metadata", None), dict) \
            else "fashion"
        return ["--model", folder], model, f"our CNN {folder}", data
    weights, description = lenet_weights(args)
    with warnings.catch_warnings():   # (that Guided BackProp cannot hook its functional ReLUs: not used here)
        warnings.simplefilter("ignore")
        model = load_model(LENET_SPEC, weights=weights, input_shape=(28, 28, 1), device="cpu")
    return ["--model", LENET_SPEC, "--weights", weights, "--data", "fashion"], model, description, "fashion"


def prepare_inputs(model, images, path):
    """Write what the peer needs (see ``quantus_peer.py``): the images, the trained model's top class of each
    (what ``--fixed-class`` explains), our logits, our input gradients for those classes and our weights.
    Returns the classes."""
    logits = model.predict_logits(images)
    classes = logits.argmax(1).astype(np.int64)
    gradients = model.input_gradients(images, classes)
    weights = {f"w:{name}": value for name, value in model.get_weights().items()}
    tmp = f"{path}.tmp.npz"
    np.savez(tmp, x=images.astype(np.float32), classes=classes, logits=logits.astype(np.float32),
             gradients=gradients.astype(np.float32), **weights)
    os.replace(tmp, path)
    return classes


def test_images(data, root, n):
    from sanity_checks.data import load_dataset
    return load_dataset(data, root=root, verbose=False).x_test[:n].astype(np.float32)


# ------------------------------------------------------------------------------------ the commands
def logit_check(stdout):
    """(max difference, largest logit) from ``quantus_peer.py check``'s line."""
    found = re.search(r"max logit difference: (\S+) \(largest logit (\S+)\)", stdout)
    if not found:
        raise SystemExit(f"error: the peer's check printed no logit difference: {stdout[-500:]!r}")
    return float(found.group(1)), float(found.group(2))


def our_command(spec_args, workload, args, out):
    command = [sys.executable, str(REPO / "src" / "run_model_randomization.py"), *spec_args, "--mode", "independent",
               "--methods", workload, "--metrics", "spearman_abs", "--images", str(args.images), "--fixed-class",
               "--eval-images", "0", "--data-root", args.data_root, "--out", str(out)]
    if workload == "smoothgrad":
        command += ["--set", f"smoothgrad.nsamples={args.nsamples}", "--set", "smoothgrad.stdev_spread=0.15"]
    if args.threads:
        command += ["--threads", str(args.threads)]
    return command


def peer_command(python, inputs, workload, args):
    command = [str(python), str(HERE / "quantus_peer.py"), "run", str(inputs), "--engine", args.engine,
               "--method", workload, "--nsamples", str(args.nsamples), "--stdev-spread", "0.15"]
    return command + (["--threads", str(args.threads)] if args.threads else [])


def timed(command, env):
    """(wall seconds, stdout) of a whole process; a failure stops the bench with its last lines."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(command[:3])}... failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def our_scores(out):
    """Mean spearman_abs per model state from our run's summary.json (a one-line digest)."""
    import json
    summary = json.loads((Path(out) / "summary.json").read_text())["summary"]
    means = [f"{step} {metrics['spearman_abs']['mean']:.3f}" for method in summary.values()
             for step, metrics in method.items() if "spearman_abs" in metrics]
    return "mean Spearman: " + ", ".join(means)


def median_line(side, workload, times):
    spread = f" (runs: {', '.join(f'{t:.2f}' for t in times)})" if len(times) > 1 else ""
    return f"{side} {workload}: median {statistics.median(times):.2f} s{spread}"


def ratio_lines(ours, peers):
    """``ratio <workload>: R`` lines, R = our median wall time / Quantus's."""
    return [f"ratio {w}: {statistics.median(ours[w]) / statistics.median(peers[w]):.2f}" for w in ours]


def main(argv=None):
    args = parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    python = peer_python(args.engine, cache, install=not args.no_install)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    spec_args, model, description, data = our_model(args)
    images = test_images(data, args.data_root, args.images)
    inputs = cache / f"inputs-{args.engine}.npz"
    prepare_inputs(model, images, inputs)
    model.close()
    print(f"{description}; the first {len(images)} {data} test images, each for the trained model's top class")
    check = subprocess.run([str(python), str(HERE / "quantus_peer.py"), "check", str(inputs), "--engine",
                            args.engine], capture_output=True, text=True, env=env)
    if check.returncode != 0:
        raise SystemExit(f"error: the peer's copy of the model failed:\n{check.stderr[-3000:]}")
    print(f"the peer's copy ({'Keras 2, TensorFlow 2.15' if args.engine == 'tf' else 'torch'}): "
          f"{check.stdout.strip()}")
    diff, largest = logit_check(check.stdout)
    if not diff <= LOGIT_TOLERANCE * max(1.0, largest):
        raise SystemExit(f"error: the peer's copy does not give our logits (max difference {diff:.3g}, allowed "
                         f"{LOGIT_TOLERANCE:g} x the largest logit): the comparison would not be of one model")
    ours = {w: [] for w in args.workloads}
    peers = {w: [] for w in args.workloads}
    scratch = Path(tempfile.mkdtemp(prefix="vs-quantus-", dir=cache))
    try:
        for run in range(args.runs):
            for workload in args.workloads:
                sides = ["ours", "quantus"] if run % 2 == 0 else ["quantus", "ours"]
                for side in sides:
                    if side == "ours":
                        out = scratch / f"ours-{workload}-{run}"
                        seconds, _ = timed(our_command(spec_args, workload, args, out), env)
                        ours[workload].append(seconds)
                        digest = our_scores(out)
                        shutil.rmtree(out, ignore_errors=True)
                    else:
                        seconds, stdout = timed(peer_command(python, inputs, workload, args), env)
                        peers[workload].append(seconds)
                        digest = stdout.strip().splitlines()[-1] if stdout.strip() else ""
                    print(f"run {run + 1}/{args.runs} {side} {workload}: {seconds:.2f} s"
                          + (f"  [{digest}]" if digest else ""), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for workload in args.workloads:
        print(median_line("ours", workload, ours[workload]))
        print(median_line("quantus", workload, peers[workload]))
        if args.runs > 1:   # the two sides of one run saw about the same load: on a busy machine the steadier figure
            print(f"ours / quantus run by run, {workload}: "
                  + ", ".join(f"{a / b:.2f}" for a, b in zip(ours[workload], peers[workload])))
    for line in ratio_lines(ours, peers):
        print(line)
    return ours, peers


if __name__ == "__main__":
    main()

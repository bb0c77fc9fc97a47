"""The peer's side of ``bench_vs_quantus.py``: Quantus 0.6's MPRT on a copy of our model, run as a whole process
in the peer's own environment (TensorFlow 2.15 + Keras 2 + Quantus 0.6, or torch + Quantus 0.6).

It imports nothing of ours: what it needs comes in one ``.npz`` written by the bench (``inputs_file``): the
images ``x`` (N, H, W, C) exactly as our runner reads them, the class each image is explained for
(``classes``: the trained model's top class, as our ``--fixed-class``), our model's ``logits`` for ``x`` and
its input ``gradients`` for those classes, and our model's weights (``w:<name>`` arrays, under our engine's
variable names).

    python quantus_peer.py check INPUTS.npz --engine tf|torch      # the copy's logits against ours
    python quantus_peer.py run INPUTS.npz --engine tf|torch --method gradient|smoothgrad [--nsamples 50]

``check`` prints ``max logit difference: D (largest logit L)`` and how far :func:`explain`'s gradients are from ours. ``run`` calls
``quantus.MPRT(layer_order="independent")`` (Spearman, absolute and max-normalised maps, Quantus's defaults)
with ``explain_func`` = :func:`explain`: the input gradient of the explained logit, one batched GradientTape
(traced once as a ``tf.function``) or autograd call per batch Quantus hands it, or SmoothGrad as ours defines it (``nsamples`` noisy copies of
each image, noise std ``stdev_spread`` x (max - min) of that image, the plain mean of their gradients), all
copies of a batch in as few calls as ``--max-rows`` allows. It prints the mean score per randomized layer.

The copy of our Fashion-MNIST/MNIST CNN in Keras 2 (:func:`keras_copy`) and of the LeNet in torch
(:func:`torch_copy`) are the parts ``tests/test_bench_vs_quantus.py`` checks without Quantus installed (with the
project's ``tf_keras``, Keras 2 on TensorFlow 2.16+).
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CNN_LAYERS = ("hidden1", "hidden2", "fc1", "softmax_linear")


# ------------------------------------------------------------------------------------ the copies
def keras_module():
    """Keras 2: ``tf.keras`` up to TensorFlow 2.15, ``tf_keras`` after (Keras 3 is another library)."""
    import tensorflow as tf
    major, minor = (int(v) for v in tf.__version__.split(".")[:2])
    if (major, minor) >= (2, 16):
        import tf_keras
        return tf_keras
    return tf.keras


def keras_copy(keras, weights):
    """Our CNN (``sanity_checks/models/mnist_cnn.py``: conv 5x5x32 SAME + ReLU, max-pool 2 SAME, conv 5x5x64,
    max-pool, flatten (NHWC order, as ``tf.reshape``), FC 1024 + ReLU, FC 10) as a Keras 2 ``Sequential`` with
    our weights (``weights``: {``hidden1/weights``: array, ...})."""
    L = keras.layers
    model = keras.Sequential([
        L.InputLayer(input_shape=(28, 28, 1)),
        L.Conv2D(32, 5, padding="same", activation="relu", name="hidden1"),
        L.MaxPooling2D(2, 2, padding="same"),
        L.Conv2D(64, 5, padding="same", activation="relu", name="hidden2"),
        L.MaxPooling2D(2, 2, padding="same"),
        L.Flatten(),
        L.Dense(1024, activation="relu", name="fc1"),
        L.Dense(10, name="softmax_linear"),
    ])
    for name in CNN_LAYERS:
        model.get_layer(name).set_weights([weights[f"{name}/weights"], weights[f"{name}/biases"]])
    return model


def torch_copy(weights):
    """Hedström et al.'s LeNet (``hedstrom_lenet_model.py``) with our weights ({``conv1.weight``: array, ...})."""
    import torch
    sys.path.insert(0, HERE)
    from hedstrom_lenet_model import HedstromLeNet
    module = HedstromLeNet()
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})
    return module.eval()


def read_inputs(path):
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    weights = {k[2:]: v for k, v in data.items() if k.startswith("w:")}
    return data["x"].astype(np.float32), data["classes"].astype(np.int64), data["logits"], weights


def peer_model(engine, weights):
    return keras_copy(keras_module(), weights) if engine == "tf" else torch_copy(weights)


def peer_logits(engine, model, x):
    if engine == "tf":
        return np.asarray(model(x, training=False))
    import torch
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).numpy()


# ------------------------------------------------------------------------------------ the explain_func
def input_gradients(model, x, targets):
    """d logit[target] / d x for a batch, one call (GradientTape for Keras, autograd for torch)."""
    if hasattr(model, "parameters") and not hasattr(model, "get_weights"):
        import torch
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).requires_grad_(True)
        out = model(t)
        score = out.gather(1, torch.as_tensor(targets, dtype=torch.int64).reshape(-1, 1)).sum()
        gradient, = torch.autograd.grad(score, t)
        return gradient.numpy()
    x = np.asarray(x, np.float32)
    # Quantus hands a Keras model channels-last images, except inside MPRT's loop, where the unwrapped model
    # gets its channels-first copy: take both, answer in the layout given
    channels_first = x.shape[1:] != tuple(model.input_shape[1:]) and x.shape[1] == model.input_shape[-1]
    gradient = keras_gradient(model)(np.moveaxis(x, 1, -1) if channels_first else x,
                                     np.asarray(targets, np.int64).reshape(-1)).numpy()
    return np.moveaxis(gradient, -1, 1) if channels_first else gradient


_COMPILED = {}


def keras_gradient(model):
    """The batched input gradient of ``model`` as a ``tf.function`` (traced once per model, any batch size): twice
    as fast as the same GradientTape run eagerly on SmoothGrad's batches of 1,024 noisy images here. MPRT hands
    two Keras models (the trained one and one clone whose weights it changes in place), so two traces."""
    if id(model) not in _COMPILED:
        import tensorflow as tf

        @tf.function(input_signature=[tf.TensorSpec([None, *model.input_shape[1:]], tf.float32),
                                      tf.TensorSpec([None], tf.int64)])
        def gradient(t, targets):
            with tf.GradientTape() as tape:
                tape.watch(t)
                score = tf.reduce_sum(tf.gather(model(t, training=False), targets[:, None], batch_dims=1))
            return tape.gradient(score, t)

        _COMPILED[id(model)] = (model, gradient)   # the model kept alive: its id stays its own
    return _COMPILED[id(model)][1]


def explain(model, inputs, targets, method="gradient", nsamples=50, stdev_spread=0.15, max_rows=1024, seed=0,
            **_):
    """Quantus's ``explain_func``: (n, ...) maps of ``inputs`` for ``targets`` (see the module docstring)."""
    x = np.asarray(inputs, np.float32)
    targets = np.asarray(targets).reshape(-1)
    if method == "gradient":
        return input_gradients(model, x, targets)
    n = len(x)
    flat = x.reshape(n, -1)
    sigma = (stdev_spread * (flat.max(1) - flat.min(1))).reshape((n,) + (1,) * (x.ndim - 1))
    rng = np.random.default_rng(seed)
    total = np.zeros_like(x)
    per_call = max(1, max_rows // n)
    done = 0
    while done < nsamples:
        k = min(per_call, nsamples - done)
        noisy = (x[None] + sigma[None] * rng.standard_normal((k,) + x.shape, dtype=np.float32)).astype(np.float32)
        grads = input_gradients(model, noisy.reshape((k * n,) + x.shape[1:]), np.tile(targets, k))
        total += grads.reshape((k,) + x.shape).sum(0)
        done += k
    return total / nsamples


# ------------------------------------------------------------------------------------ the commands
def check(args):
    """Print how far the copy's logits, and the explain_func's gradients, are from ours."""
    x, classes, logits, weights = read_inputs(args.inputs)
    model = peer_model(args.engine, weights)
    diff = float(np.abs(peer_logits(args.engine, model, x) - logits).max())
    line = f"max logit difference: {diff:.3g} (largest logit {float(np.abs(logits).max()):.3g})"
    with np.load(args.inputs, allow_pickle=False) as f:
        ours = f["gradients"] if "gradients" in f.files else None
    if ours is not None:
        given = x if args.engine == "tf" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        theirs = explain(model, given, classes, method="gradient")
        theirs = theirs if args.engine == "tf" else theirs.transpose(0, 2, 3, 1)
        line += (f"; explain_func's gradients: max difference {float(np.abs(theirs - ours).max()):.3g} "
                 f"(largest {float(np.abs(ours).max()):.3g})")
    print(line)
    return diff


def torch_only():
    """Make the torch environment a torch user's: Quantus imports TensorFlow whenever it finds it, and the
    project's environment, which ``quantus-torch`` sees, holds TensorFlow 2.21 with Keras 3 (which Quantus does
    not support and a torch user would not load): hide it. torchvision (which Quantus's optional zennit
    imports) goes through our loader's ``import_torchvision``, as for our side (see its docstring)."""
    for name in ("tensorflow", "tf_keras", "keras", "tf_explain"):
        sys.modules[name] = None   # importlib.util.find_spec then says "not installed"
    try:
        from sanity_checks.engines.pytorch.loading import import_torchvision
    except ImportError:
        return
    try:
        import_torchvision()
    except Exception:  # noqa: BLE001  (no torchvision at all: Quantus does without it)
        pass


def run(args):
    if args.engine == "torch":
        torch_only()
    import quantus
    x, classes, _, weights = read_inputs(args.inputs)
    model = peer_model(args.engine, weights)
    if args.engine == "torch":
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        x_batch, channel_first, extra = np.ascontiguousarray(x.transpose(0, 3, 1, 2)), True, {"device": "cpu"}
    else:
        if args.threads:
            import tensorflow as tf
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        x_batch, channel_first, extra = x, False, {}
    metric = quantus.MPRT(layer_order="independent", similarity_func=quantus.similarity_func.correlation_spearman,
                          abs=True, normalise=True, disable_warnings=True, display_progressbar=False)
    start = time.perf_counter()
    scores = metric(model=model, x_batch=x_batch, y_batch=classes, a_batch=None, channel_first=channel_first,
                    explain_func=explain, explain_func_kwargs={"method": args.method, "nsamples": args.nsamples,
                                                               "stdev_spread": args.stdev_spread,
                                                               "max_rows": args.max_rows},
                    batch_size=args.batch_size, **extra)
    seconds = time.perf_counter() - start
    means = ", ".join(f"{layer} {np.mean(values):.3f}" for layer, values in scores.items())
    print(f"quantus {quantus.__version__} MPRT independent, {args.method}: {len(scores)} entries "
          f"({len(scores) - 1} randomized layers), {seconds:.2f} s in the call; mean Spearman: {means}")
    return scores


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("check", "run"))
    p.add_argument("inputs", help=".npz written by bench_vs_quantus.py")
    p.add_argument("--engine", choices=("tf", "torch"), default="tf")
    p.add_argument("--method", choices=("gradient", "smoothgrad"), default="gradient")
    p.add_argument("--nsamples", type=int, default=50)
    p.add_argument("--stdev-spread", type=float, default=0.15)
    p.add_argument("--max-rows", type=int, default=1024, help="largest batch one gradient call takes (SmoothGrad)")
    p.add_argument("--batch-size", type=int, default=64, help="Quantus's batch_size (its default 64)")
    p.add_argument("--threads", type=int, default=None, help="framework threads (default: the framework's)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return check(args) if args.command == "check" else run(args)


if __name__ == "__main__":
    main()

"""How closely the built-in library methods (methods/library_methods.py) agree with the libraries' own output.

For every method: max |ours - library| / max |library| on the same model, images and classes (0 = the same
numbers; float32 masks against a float64 reference differ by float32 rounding, < 6e-8).

- PAIR's XRAI, Guided IG, Blur IG (their defaults) on our TensorFlow CNN (random weights, seed 7) and on the
  numpy MLP, against PAIR's classes image by image on the model's ``call_model_function`` (PAIR's batch size
  set to ours; PAIR 0.2.1's Guided IG given a numpy whose ``quantile`` still takes ``interpolation=``);
- Captum's attributions and Zennit's composites (their defaults) on a small PyTorch CNN with batch norm and
  a final softmax, against the libraries called on the network without the softmax (the logits); the noisy
  ones with Captum's global draws replaced by ours (as tests/test_torch_library_methods.py does).

- the same PAIR methods on a user's Keras 3 model (conv, batch norm with moved statistics, ReLU, conv, dense,
  a final Softmax layer; built here, saved to ``.keras``, loaded as a user would: rebuilt in our graph), against
  PAIR's classes fed by an eager ``tf.GradientTape`` of the Keras model up to its logits; and a Quantus-style
  ``explain_func`` (a GradientTape gradient of the Keras model handed over, at its logits) against our
  ``gradient``, at the trained state and with the top block re-drawn.

Two side measurements behind choices in the code: Blur IG at PAIR's default batch (1 step per call) against
ours (all steps in one call), and Guided IG with the gradients of both images taken in one call (what
``guided_ig`` no longer does) against one image per call.

Usage (from the repo root; ``keras``, ``pair`` or ``torch`` runs those rows only)::

    PYTHONPATH=src .venv/bin/python bench/library_methods_agreement.py [keras|pair|torch]
"""
import types
import warnings

import numpy as np

from sanity_checks import compat  # noqa: F401  (TensorFlow shim first)


def relative(ours, reference):
    reference = np.asarray(reference, np.float64)
    return float(np.abs(np.asarray(ours, np.float64) - reference).max() / np.abs(reference).max())


def pair_rows(model, x, label, call=None):
    import saliency.core as core
    import saliency.core.guided_ig as pair_guided_ig
    from sanity_checks.methods import pair_methods

    shim = types.SimpleNamespace(**vars(np))
    shim.quantile = lambda a, q, interpolation="linear": np.quantile(a, q, method=interpolation)
    pair_guided_ig.np = shim
    classes, size = model.predict(x), model.architecture.batch_size
    call = call or model.call_model_function()   # PAIR fed by the model itself, or by the framework (Keras)

    def pair(mask, n=len(x)):
        return np.stack([np.asarray(mask(x[i], {"class_idx": int(classes[i])})) for i in range(n)])
    rows = [(label, "xrai", relative(pair_methods.xrai(model, x[:1], classes[:1])[..., 0], pair(
        lambda xi, a: core.XRAI().GetMask(xi, call, call_model_args=a, batch_size=size), 1))),
            (label, "guided_ig", relative(pair_methods.guided_ig(model, x, classes), pair(
                lambda xi, a: core.GuidedIG().GetMask(xi, call, call_model_args=a))))]
    blur = pair_methods.blur_ig(model, x, classes)
    rows.append((label, "blur_ig", relative(blur, pair(
        lambda xi, a: core.BlurIG().GetMask(xi, call, call_model_args=a, batch_size=size)))))
    rows.append((label, "blur_ig against PAIR at batch 1", relative(blur, pair(
        lambda xi, a: core.BlurIG().GetMask(xi, call, call_model_args=a)))))
    rows.append((label, "guided_ig, both images per call", relative(batched_guided_ig(model, x, classes),
                                                                    pair_methods.guided_ig(model, x, classes))))
    return rows


def batched_guided_ig(model, x, classes, steps=200):
    """Guided IG (PAIR's defaults) with every image's gradient of a step taken in one call."""
    from sanity_checks.methods.pair_methods import _guided_ig_step

    x = x.astype(np.float64)
    path, attr, base = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    l1 = np.abs(x).reshape(len(x), -1).sum(axis=1)
    for step in range(steps):
        grads = model.input_gradients(path, classes)
        for i in range(len(x)):
            _guided_ig_step(path[i], attr[i], x[i], base[i], grads[i], step, steps, 0.25, 0.02, l1[i])
    return attr.astype(np.float32)


def torch_rows():
    import torch

    from sanity_checks.engines.pytorch import captum_methods, captum_noisy, zennit_methods

    from small_torch_cnn import small_torch_cnn

    torch.set_num_threads(1)
    net, model, x, classes = small_torch_cnn()
    logits = net[:-1]
    t, target = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(classes.astype(np.int64))

    def nhwc(a):
        return a.detach().numpy().transpose(0, 2, 3, 1)
    import captum.attr as ca
    references = {
        "captum_saliency": ca.Saliency(logits).attribute(t, target=target),
        "captum_input_x_gradient": ca.InputXGradient(logits).attribute(t, target=target),
        "captum_integrated_gradients": ca.IntegratedGradients(logits).attribute(t, target=target),
        "captum_guided_backprop": ca.GuidedBackprop(logits).attribute(t, target=target),
        "captum_deconvolution": ca.Deconvolution(logits).attribute(t, target=target),
        "captum_deeplift": ca.DeepLift(logits).attribute(t, target=target),
        "captum_occlusion": ca.Occlusion(logits).attribute(t, sliding_window_shapes=(1, 4, 4), target=target),
        "captum_layer_gradcam": ca.LayerAttribution.interpolate(
            ca.LayerGradCam(logits, logits[5]).attribute(t, target=target), (12, 12)).repeat(1, 3, 1, 1)}
    rows = [("torch", name, relative(getattr(captum_methods, name)(model, x, classes), nhwc(reference)))
            for name, reference in references.items()]
    noise, idx, alpha = captum_noisy.keyed_draws(x, 5, 0.0, seed=0, n_baselines=1)
    ours = captum_noisy.captum_gradient_shap(model, x, classes)
    rows.append(("torch", "captum_gradient_shap", relative(ours, nhwc(with_draws(
        noise, idx, alpha, lambda: ca.GradientShap(logits).attribute(t, baselines=torch.zeros(1, 3, 12, 12),
                                                                    target=target))))))
    noise, _, _ = captum_noisy.keyed_draws(x, 5, 1.0, seed=0)
    ours = captum_noisy.captum_noise_tunnel(model, x, classes)
    rows.append(("torch", "captum_noise_tunnel", relative(ours, nhwc(with_draws(
        noise, None, None, lambda: ca.NoiseTunnel(ca.Saliency(logits)).attribute(t, target=target))))))
    zennit_methods.import_zennit()
    from zennit.attribution import Gradient
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.composites import EpsilonAlpha2Beta1, EpsilonPlus, LayerMapComposite, layer_map_base
    from zennit.rules import Epsilon
    from zennit.types import Convolution
    composites = {"zennit_epsilon": LayerMapComposite(layer_map_base() + [(Convolution, Epsilon()),
                                                                           (torch.nn.Linear, Epsilon())],
                                                      canonizers=[SequentialMergeBatchNorm()]),
                  "zennit_epsilon_plus": EpsilonPlus(canonizers=[SequentialMergeBatchNorm()]),
                  "zennit_epsilon_alpha2_beta1": EpsilonAlpha2Beta1(canonizers=[SequentialMergeBatchNorm()])}
    for name, composite in composites.items():
        with Gradient(model=logits, composite=composite) as attributor:
            reference = nhwc(attributor(t.clone(), torch.eye(5)[target])[1])
        rows.append(("torch", name, relative(getattr(zennit_methods, name)(model, x, classes), reference)))
    return rows


def keras_rows(folder):
    """PAIR's XRAI, Guided IG, Blur IG (defaults) on a user's Keras model against PAIR on an eager tape; a
    Quantus-style tape gradient of the handed-over model against ours, trained and with the top re-drawn."""
    import os

    import keras
    import saliency.core as core

    from sanity_checks import methods
    from sanity_checks.compat import tf
    from sanity_checks.keras.eager import eager_mode
    from sanity_checks.loading import load_model
    from sanity_checks.randomize import Randomizer

    path = os.path.join(folder, "user_net.keras")
    with eager_mode():
        keras.utils.set_random_seed(3)
        inputs = keras.Input((28, 28, 1))
        h = keras.layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
        h = keras.layers.BatchNormalization(name="bn")(h)
        h = keras.layers.ReLU(name="relu")(h)
        h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(h)
        h = keras.layers.Dense(5, name="top")(keras.layers.Flatten(name="flat")(h))
        net = keras.Model(inputs, keras.layers.Softmax(name="softmax")(h))
        bn = net.get_layer("bn")
        bn.set_weights([w + r for w, r in zip(bn.get_weights(), (0.2, -0.1, 0.3, 0.5))])
        net.save(path)
        logits_net = keras.Model(net.inputs, net.get_layer("top").output)
    model = load_model(path, log=lambda *a: None)

    def call(x, call_model_args=None, expected_keys=None):
        with eager_mode():
            x = tf.convert_to_tensor(np.asarray(x, np.float32))
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = tf.reduce_sum(logits_net(x, training=False)[:, call_model_args["class_idx"]])
            return {core.INPUT_OUTPUT_GRADIENTS: tape.gradient(score, x).numpy()}

    x = np.random.default_rng(2018).random((2, 28, 28, 1), dtype=np.float32)
    rows = [("Keras", name, value) for _, name, value in pair_rows(model, x, "", call=call)][:3]

    def tape_gradient(model, inputs, targets):   # the model handed over ends in its softmax: its logits' layer
        t = tf.convert_to_tensor(inputs)
        top = keras.Model(model.inputs, model.get_layer("top").output)
        with tf.GradientTape() as tape:
            tape.watch(t)
            scores = tf.gather(top(t, training=False), targets, axis=1, batch_dims=1)
        return tape.gradient(scores, t).numpy()

    methods.register_method("keras_tape_gradient", tape_gradient, convention="quantus")
    masks = {}
    for state in ("trained", "top re-drawn"):
        if state == "top re-drawn":
            Randomizer(model, seed=0).randomize(["top"])
        masks[state] = methods.compute_masks(model, x, ["gradient", "keras_tape_gradient"], classes=[0, 1])
        rows.append(("Keras", f"Quantus-style tape gradient, {state}",
                     relative(masks[state]["keras_tape_gradient"], masks[state]["gradient"])))
    rows.append(("Keras", "(our gradient, top re-drawn against trained: the state changes the masks)",
                 relative(masks["top re-drawn"]["gradient"], masks["trained"]["gradient"])))
    model.close()
    return rows


def with_draws(noise, idx, alpha, run):
    """``run()`` with Captum's global draws (torch.normal, np.random.choice / uniform) returning ours."""
    import torch
    saved = torch.normal, np.random.choice, np.random.uniform
    n, s = noise.shape[:2]
    torch.normal = lambda *a, **k: torch.from_numpy(noise.reshape((n * s,) + noise.shape[2:]).transpose(0, 3, 1, 2).copy())
    if idx is not None:
        np.random.choice = lambda *a, **k: idx.reshape(-1)
        np.random.uniform = lambda *a, **k: alpha.reshape(-1)
    try:
        return run()
    finally:
        torch.normal, np.random.choice, np.random.uniform = saved


def main(parts=("pair", "torch", "keras")):
    import tempfile

    warnings.simplefilter("ignore")
    from sanity_checks.engines.numpy_mlp import NumpyMLP
    from sanity_checks.model import GraphModel

    x = np.random.default_rng(2018).random((2, 28, 28, 1), dtype=np.float32)
    rows = []
    if "pair" in parts:
        rows += pair_rows(GraphModel("cnn", seed=7), x, "TF CNN")
        rows += pair_rows(NumpyMLP(input_shape=(28, 28, 1), hidden=(64, 32), grid=(4, 4, 4), seed=1), x,
                          "numpy MLP")
    if "torch" in parts:
        rows += torch_rows()
    if "keras" in parts:
        with tempfile.TemporaryDirectory() as folder:
            rows += keras_rows(folder)
    print("| model | method | max abs difference / max abs of the library's |\n|---|---|---|")
    for model, name, value in rows:
        print(f"| {model} | {name} | {value:.1e} |")


if __name__ == "__main__":
    import sys
    main(tuple(sys.argv[1:]) or ("pair", "torch", "keras"))

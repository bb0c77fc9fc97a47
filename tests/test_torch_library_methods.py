"""Captum's attributions, Zennit's LRP composites and PAIR's XRAI / Guided IG / Blur IG on a PyTorch model, each
against its library's own output: a small CNN with batch norm ending in a softmax (the library is given the
network without it: the logits, as the engine explains), the same images and classes."""
import copy
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")
nn = torch.nn

from sanity_checks.engines.numpy_mlp import NumpyMLP  # noqa: E402
from sanity_checks.engines.pytorch import captum_methods, captum_noisy, zennit_methods  # noqa: E402
from sanity_checks.methods import pair_methods  # noqa: E402
from sanity_checks.methods.base import MethodError  # noqa: E402

pytestmark = pytest.mark.xdist_group("pytorch")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Many small torch calls: on a shared machine one thread is several times faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small():
    """(the user's network, its logits (the same modules without the softmax), the engine's model, images, classes)."""
    spec = importlib.util.spec_from_file_location("small_torch_cnn", REPO / "bench" / "small_torch_cnn.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    net, model, x, classes = bench.small_torch_cnn()   # bench/library_methods_agreement.py's network
    assert len(set(classes.tolist())) > 1
    return net, net[:-1], model, x, classes


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def close(ours, expected, tolerance=1e-5):
    """Equal within ``tolerance`` of the reference's largest value (and not all zero)."""
    scale = np.abs(expected).max()
    assert scale > 0 and ours.shape == expected.shape and ours.dtype == np.float32
    error = np.abs(ours - expected).max() / scale
    assert error <= tolerance, error


# ------------------------------------------------------------------------------------------ Captum
def test_captum_methods_equal_captums_own(small):
    net, logits, model, x, classes = small
    t, target = nchw(x), torch.from_numpy(classes.astype(np.int64))
    expected = {
        "saliency": captum_attr.Saliency(logits).attribute(t, target=target),
        "input_x_gradient": captum_attr.InputXGradient(logits).attribute(t, target=target),
        "integrated_gradients": captum_attr.IntegratedGradients(logits).attribute(t, target=target),
        "guided_backprop": captum_attr.GuidedBackprop(logits).attribute(t, target=target),
        "deconvolution": captum_attr.Deconvolution(logits).attribute(t, target=target),
        "deeplift": captum_attr.DeepLift(logits).attribute(t, target=target),
        "occlusion": captum_attr.Occlusion(logits).attribute(t, sliding_window_shapes=(1, 4, 4), target=target),
    }
    for name, reference in expected.items():
        close(getattr(captum_methods, f"captum_{name}")(model, x, classes), nhwc(reference))
    cam = captum_attr.LayerGradCam(logits, logits[5]).attribute(t, target=target)
    cam = nhwc(captum_attr.LayerAttribution.interpolate(cam, (12, 12)))
    assert model.architecture.gradcam_layer == "5"
    close(captum_methods.captum_layer_gradcam(model, x, classes), np.repeat(cam, 3, axis=-1))
    # settings reach Captum
    close(captum_methods.captum_saliency(model, x, classes, abs=False),
          nhwc(captum_attr.Saliency(logits).attribute(t, target=target, abs=False)))
    close(captum_methods.captum_occlusion(model, x, classes, sliding_window_shapes=[3, 2, 2], strides=[3, 2, 2],
                                          baselines=0.5),
          nhwc(captum_attr.Occlusion(logits).attribute(t, sliding_window_shapes=(3, 2, 2), strides=(3, 2, 2),
                                                        baselines=0.5, target=target)))


def feed_captums_draws(monkeypatch, noise, idx=None, alpha=None):
    """Captum's global draws replaced by ours, in the order it consumes them (image-major rows i * S + s)."""
    n, s = noise.shape[:2]
    monkeypatch.setattr(torch, "normal", lambda *a, **k: nchw(noise.reshape((n * s,) + noise.shape[2:])))
    if idx is not None:
        monkeypatch.setattr(np.random, "choice", lambda *a, **k: idx.reshape(-1))
        monkeypatch.setattr(np.random, "uniform", lambda *a, **k: alpha.reshape(-1))


def test_gradient_shap_equals_captums_own_given_the_same_draws(small, monkeypatch):
    net, logits, model, x, classes = small
    ours = captum_noisy.captum_gradient_shap(model, x, classes, n_samples=4, stdevs=0.1, baselines=[0.0, 0.5, 1.0],
                                             seed=7)
    noise, idx, alpha = captum_noisy.keyed_draws(x, 4, 0.1, seed=7, n_baselines=3)
    assert len(np.unique(idx)) > 1 and noise.std() > 0.05
    feed_captums_draws(monkeypatch, noise, idx, alpha)
    refs = nchw(captum_noisy.baseline_images([0.0, 0.5, 1.0], x.shape[1:]))
    expected = captum_attr.GradientShap(logits).attribute(nchw(x), baselines=refs, n_samples=4, stdevs=0.1,
                                                          target=torch.from_numpy(classes.astype(np.int64)))
    close(ours, nhwc(expected))


@pytest.mark.parametrize("base, nt_type", [("saliency", "smoothgrad"), ("saliency", "smoothgrad_sq"),
                                           ("input_x_gradient", "vargrad")])
def test_noise_tunnel_equals_captums_own_given_the_same_noise(small, monkeypatch, base, nt_type):
    net, logits, model, x, classes = small
    ours = captum_noisy.captum_noise_tunnel(model, x, classes, attribution=base, nt_type=nt_type, nt_samples=3,
                                            stdevs=0.2, seed=2)
    noise, _, _ = captum_noisy.keyed_draws(x, 3, 0.2, seed=2)
    feed_captums_draws(monkeypatch, noise)
    method = {"saliency": captum_attr.Saliency, "input_x_gradient": captum_attr.InputXGradient}[base](logits)
    expected = captum_attr.NoiseTunnel(method).attribute(nchw(x), nt_type=nt_type, nt_samples=3, stdevs=0.2,
                                                         target=torch.from_numpy(classes.astype(np.int64)))
    close(ours, nhwc(expected))


def test_noisy_methods_take_their_draws_from_our_keyed_streams_only(small):
    net, logits, model, x, classes = small
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    for method in (captum_noisy.captum_gradient_shap, captum_noisy.captum_noise_tunnel):
        settings = {"stdevs": 0.1} if method is captum_noisy.captum_gradient_shap else {}
        whole = method(model, x, classes, seed=3, **settings)
        split = np.concatenate([method(model, x[:1], classes[:1], seed=3, image_ids=[0], **settings),
                                method(model, x[1:], classes[1:], seed=3, image_ids=[1, 2], batch_size=7, **settings)])
        assert whole.tobytes() == split.tobytes()
        assert not np.array_equal(whole, method(model, x, classes, seed=4, **settings))
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state))


def test_an_images_mask_does_not_depend_on_the_images_beside_it(small):
    """Up to rounding: torch's own bytes for an image move by 1e-7 with its place in a batch (the engine's
    gradient too); Captum's IG runs image by image, so its grouping of steps is the image's own."""
    net, logits, model, x, classes = small
    for entry in captum_methods.LIBRARY_METHODS + zennit_methods.LIBRARY_METHODS:
        settings = {"strides": (1, 2, 2)} if entry["name"] == "captum_occlusion" else {}
        whole = entry["function"](model, x, classes, batch_size=2, **settings)
        close(entry["function"](model, x[1:], classes[1:], batch_size=2, **settings), whole[1:], 1e-6)
    ig = captum_methods.captum_integrated_gradients
    assert ig(model, x, classes)[1:].tobytes() == ig(model, x[1:], classes[1:]).tobytes()


# ------------------------------------------------------------------------------------------ Zennit
def test_zennit_composites_equal_zennits_own_with_the_batch_norm_canonizer(small):
    zennit_methods.import_zennit()
    from zennit.attribution import Gradient
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.composites import EpsilonAlpha2Beta1, EpsilonPlus, LayerMapComposite, layer_map_base
    from zennit.rules import Epsilon
    from zennit.types import Convolution

    net, logits, model, x, classes = small
    weights = model.get_weights()
    one_hot = torch.eye(5)[torch.from_numpy(classes.astype(np.int64))]

    def zennit(composite, start=one_hot):
        reference = copy.deepcopy(logits)
        with Gradient(model=reference, composite=composite) as attributor:
            return nhwc(attributor(nchw(x), start)[1])

    epsilon = layer_map_base() + [(Convolution, Epsilon()), (nn.Linear, Epsilon())]
    expected = {"epsilon": zennit(LayerMapComposite(epsilon, canonizers=[SequentialMergeBatchNorm()])),
                "epsilon_plus": zennit(EpsilonPlus(canonizers=[SequentialMergeBatchNorm()])),
                "epsilon_alpha2_beta1": zennit(EpsilonAlpha2Beta1(canonizers=[SequentialMergeBatchNorm()]))}
    for kind, reference in expected.items():
        close(getattr(zennit_methods, f"zennit_{kind}")(model, x, classes), reference)
    # the canonizer matters here, and is undone: the engine's weights and the user's module are as they were
    plain = zennit_methods.zennit_epsilon_plus(model, x, classes, canonizer=None)
    close(plain, zennit(EpsilonPlus()))
    assert np.abs(plain - expected["epsilon_plus"]).max() > 1e-3 * np.abs(plain).max()
    assert all(np.array_equal(v, weights[k]) for k, v in model.get_weights().items())
    close(zennit_methods.zennit_epsilon_alpha2_beta1(model, x, classes, attr_output="logit", epsilon=0.1),
          zennit(EpsilonAlpha2Beta1(epsilon=0.1, canonizers=[SequentialMergeBatchNorm()]),
                 lambda output: output * one_hot))


# ------------------------------------------------------------------------------------------ PAIR on PyTorch
def test_pair_methods_equal_pairs_own_on_a_pytorch_model(small, monkeypatch):
    import saliency.core as core
    import saliency.core.guided_ig as pair_guided_ig
    import saliency.core.xrai as pair_xrai

    net, logits, model, x, classes = small
    shim = types.SimpleNamespace(**vars(np))
    shim.quantile = lambda a, q, interpolation="linear": np.quantile(a, q, method=interpolation)
    monkeypatch.setattr(pair_guided_ig, "np", shim)   # PAIR 0.2.1's Guided IG predates numpy 2
    segments, cache = pair_xrai._get_segments_felzenszwalb, {}

    def segments_once(im):   # XRAI's slow part, a function of the image alone: ours and PAIR's share it
        if im.tobytes() not in cache:
            cache[im.tobytes()] = segments(im)
        return cache[im.tobytes()]
    monkeypatch.setattr(pair_xrai, "_get_segments_felzenszwalb", segments_once)
    call = model.call_model_function()

    def pair(mask, n=3):
        return np.stack([np.asarray(mask(x[i], {"class_idx": int(classes[i])})) for i in range(n)])
    close(pair_methods.guided_ig(model, x, classes, x_steps=30),
          pair(lambda xi, args: core.GuidedIG().GetMask(xi, call, call_model_args=args, x_steps=30)), 1e-6)
    close(pair_methods.blur_ig(model, x, classes, batch_size=10),
          pair(lambda xi, args: core.BlurIG().GetMask(xi, call, call_model_args=args, batch_size=10)), 1e-6)
    bases = [np.zeros(x.shape[1:], np.float32), np.ones(x.shape[1:], np.float32)]
    close(pair_methods.xrai(model, x[:1], classes[:1], algorithm="fast", steps=20, baselines=[0.0, 1.0])[..., 0],
          pair(lambda xi, args: core.XRAI().GetMask(xi, call, call_model_args=args, baselines=bases,
                                                    batch_size=model.architecture.batch_size,
                                                    extra_parameters=core.XRAIParameters(steps=20, algorithm="fast")),
               n=1).astype(np.float32), 1e-6)


# ------------------------------------------------------------------------------------------ the hand-over
def test_the_list_is_whole_and_imports_no_framework():
    code = ("import sys; from sanity_checks.methods.library_methods import LIBRARY_METHODS as L; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'captum', 'zennit'))); "
            "print(' '.join(m['name'] for m in L))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]"
    names = out[1].split()
    assert len(set(names)) == len(names) >= 16
    from sanity_checks.methods.library_methods import LIBRARY_METHODS
    for entry in LIBRARY_METHODS:
        assert set(entry) == {"name", "label", "function", "defaults", "needs", "library", "noisy"}
        assert set(entry["needs"]) <= {"conv_layer", "pytorch"}
        assert (entry["library"] is None) == (entry["name"] in ("xrai", "guided_ig", "blur_ig"))


def test_torch_methods_refuse_other_engines_and_bad_settings(small):
    net, logits, model, x, classes = small
    other = NumpyMLP(input_shape=(12, 12, 3), hidden=(8,), grid=None)
    with pytest.raises(MethodError, match="captum_deeplift explains PyTorch models only"):
        captum_methods.captum_deeplift(other, x)
    with pytest.raises(MethodError, match="zennit_epsilon explains PyTorch models only"):
        zennit_methods.zennit_epsilon(other, x)
    with pytest.raises(MethodError, match="nt_type must be one of"):
        captum_noisy.captum_noise_tunnel(model, x, classes, nt_type="mean")
    with pytest.raises(MethodError, match="unknown Captum attribution 'lime'"):
        captum_noisy.captum_noise_tunnel(model, x, classes, attribution="lime")
    with pytest.raises(MethodError, match="unknown setting"):
        captum_methods.captum_saliency(model, x, classes, absolute=True)
    with pytest.raises(MethodError, match="canonizer must be one of"):
        zennit_methods.zennit_epsilon_plus(model, x, classes, canonizer="merge")

"""PAIR 0.2.1's XRAI, Guided IG and Blur IG as built-in methods (methods/pair_methods.py): on the numpy engine,
equal to PAIR's own classes called image by image on the same call_model_function, with PAIR's defaults as
ours (the PyTorch model: tests/test_torch_library_methods.py)."""
import inspect
import types

import numpy as np
import pytest
import saliency.core as core
import saliency.core.guided_ig as pair_guided_ig

from sanity_checks.engines.numpy_mlp import NumpyMLP
from sanity_checks.methods import pair_methods
from sanity_checks.methods.base import MethodError

DEFAULTS = {entry["name"]: entry["defaults"] for entry in pair_methods.LIBRARY_METHODS}


@pytest.fixture(scope="module")
def mlp():
    model = NumpyMLP(input_shape=(16, 16, 1), hidden=(64, 32), grid=(4, 4, 4), seed=1)
    x = np.random.default_rng(5).random((2, 16, 16, 1), dtype=np.float32)
    return model, x, model.predict(x)


def pair_numpy2(monkeypatch):
    """PAIR 0.2.1's Guided IG calls ``np.quantile(interpolation=)``, gone in numpy 2: give its module a numpy
    that still takes it (the test's own patch; our guided_ig uses ``method=``)."""
    shim = types.SimpleNamespace(**vars(np))
    shim.quantile = lambda a, q, interpolation="linear": np.quantile(a, q, method=interpolation)
    monkeypatch.setattr(pair_guided_ig, "np", shim)


def pair_masks(model, x, classes, mask):
    call = model.call_model_function()
    return np.stack([np.asarray(mask(call, x[i], {"class_idx": int(classes[i])})) for i in range(len(x))])


def defaults_of(function, names):
    params = inspect.signature(function).parameters
    return {name: params[name].default for name in names}


def test_our_defaults_are_pairs_own():
    assert DEFAULTS["guided_ig"] == defaults_of(core.GuidedIG.GetMask, ["x_steps", "fraction", "max_dist", "x_baseline"])
    assert DEFAULTS["blur_ig"] == defaults_of(core.BlurIG.GetMask, ["max_sigma", "steps", "grad_step", "sqrt"])
    params = core.XRAIParameters()
    assert DEFAULTS["xrai"] == {"steps": params.steps, "area_threshold": params.area_threshold,
                                "algorithm": params.algorithm, "baselines": None,
                                "min_pixel_diff": params.experimental_params["min_pixel_diff"]}
    for entry in pair_methods.LIBRARY_METHODS:
        keywords = inspect.signature(entry["function"]).parameters
        assert {k: keywords[k].default for k in entry["defaults"]} == entry["defaults"]


def test_guided_ig_equals_pairs_own(mlp, monkeypatch):
    model, x, classes = mlp
    pair_numpy2(monkeypatch)
    for settings in ({}, {"x_steps": 20, "fraction": 0.1, "max_dist": 1.0, "x_baseline": 0.5}):
        ours = pair_methods.guided_ig(model, x, classes, **settings)
        kwargs = {**settings, "x_baseline": np.full(x.shape[1:], settings.get("x_baseline", 0.0), np.float32)}
        expected = pair_masks(model, x, classes,
                              lambda call, xi, args: core.GuidedIG().GetMask(xi, call, call_model_args=args, **kwargs))
        assert np.array_equal(ours, expected.astype(np.float32)), np.abs(ours - expected).max()
        assert np.abs(ours).max() > 0


def test_blur_ig_equals_pairs_own_and_steps_the_uneven_path_rightly(mlp):
    model, x, classes = mlp
    ours = pair_methods.blur_ig(model, x, classes)
    expected = pair_masks(model, x, classes, lambda call, xi, args: core.BlurIG().GetMask(
        xi, call, call_model_args=args, batch_size=model.architecture.batch_size))
    assert np.array_equal(ours, expected) and np.abs(ours).max() > 0
    # sqrt spacing: PAIR weights a batch of steps by its last step's size, right only one step per batch
    ours = pair_methods.blur_ig(model, x, classes, sqrt=True, steps=20)

    def pair(batch_size):
        return pair_masks(model, x, classes, lambda call, xi, args: core.BlurIG().GetMask(
            xi, call, call_model_args=args, sqrt=True, steps=20, batch_size=batch_size))
    assert np.array_equal(ours, pair(1))
    assert not np.allclose(ours, pair(10), atol=1e-3)


def test_xrai_equals_pairs_own_and_segments_each_image_once(mlp, monkeypatch):
    import saliency.core.xrai as pair_xrai

    model, x, classes = mlp
    segmented = []
    segments = pair_xrai._get_segments_felzenszwalb
    monkeypatch.setattr(pair_xrai, "_get_segments_felzenszwalb", lambda im: segmented.append(1) or segments(im))
    monkeypatch.setattr(pair_methods, "_segment_cache", type(pair_methods._segment_cache)())
    ours = pair_methods.xrai(model, x[:1], classes[:1])
    assert ours.shape == x[:1].shape and ours.dtype == np.float32
    assert np.array_equal(ours[..., 0], ours[..., -1]) and len(segmented) == 1
    expected = pair_masks(model, x[:1], classes[:1], lambda call, xi, args: core.XRAI().GetMask(
        xi, call, call_model_args=args, batch_size=model.architecture.batch_size))
    assert np.array_equal(ours[..., 0], expected.astype(np.float32)) and len(segmented) == 2
    # another model state explains the same image: PAIR's segments again, from the cache
    weights = model.get_weights()
    try:
        model.set_weights({"logits/weights": weights["logits/weights"][:, ::-1].copy()})
        again = pair_methods.xrai(model, x[:1], classes[:1], algorithm="fast")
    finally:
        model.set_weights(weights)
    assert len(segmented) == 2 and not np.array_equal(again, ours)


def test_bad_settings_are_refused_in_one_line(mlp):
    model, x, classes = mlp
    with pytest.raises(MethodError, match="algorithm must be 'full' or 'fast'"):
        pair_methods.xrai(model, x, classes, algorithm="quick")
    with pytest.raises(MethodError, match="fraction, max_dist in"):
        pair_methods.guided_ig(model, x, classes, fraction=2)
    with pytest.raises(MethodError, match="x_baseline of shape"):
        pair_methods.guided_ig(model, x, classes, x_baseline=np.zeros((3, 3)))

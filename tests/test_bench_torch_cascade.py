"""bench/bench_torch_cascade.py: the peers' way (one image, one noisy copy, one path point per call) gives our
masks, so the benchmark times the same work both ways."""
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import bench_torch_cascade as bench  # noqa: E402

pytestmark = pytest.mark.xdist_group("pytorch")


def test_the_peers_masks_equal_ours_on_two_images_trained_and_with_the_top_block_reset():
    from sanity_checks import methods
    from sanity_checks.loading import load_model

    torch.manual_seed(0)
    module = bench.HedstromLeNet().eval()
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    classes = np.array([3, 7])
    settings = bench.settings_of(nsamples=4, x_steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model(module, input_shape=bench.INPUT_SHAPE, device="cpu")
    layers = bench.state_layers(model, ("fc3",))
    assert layers == ["fc3"]
    fresh = bench.randomized_copy(module, layers, seed=5)
    assert not torch.equal(fresh.fc3.weight, module.fc3.weight) and torch.equal(fresh.fc2.weight, module.fc2.weight)
    for state in (module, fresh):
        model.set_weights({k: v.detach().numpy() for k, v in state.state_dict().items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", methods.DegenerateMaskWarning)
            ours = methods.compute_masks(model, x, list(bench.NAMES), classes=classes, seed=0, settings=settings)
        theirs = bench.peers_state(state, x, classes, settings, seed=0)
        for name in bench.NAMES:
            scale = np.abs(ours[name]).max()
            np.testing.assert_allclose(theirs[name], ours[name], rtol=0, atol=1e-5 * scale, err_msg=name)

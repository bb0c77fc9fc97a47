"""bench/hedstrom_lenet.py: their LeNet's shape, the batched augmentation against torchvision's own, one
training step, and the MPRT / eMPRT evaluation on a few images of an untrained model."""
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import hedstrom_lenet as bench  # noqa: E402
from hedstrom_lenet_model import HedstromLeNet, affine_batch, affine_params, augment  # noqa: E402

pytestmark = pytest.mark.xdist_group("pytorch")


def test_their_lenet_maps_28x28_images_to_10_logits_with_their_parameter_names():
    module = HedstromLeNet()
    assert module(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert shapes["conv1.weight"] == (6, 1, 5, 5) and shapes["conv2.weight"] == (16, 6, 5, 5)
    assert shapes["fc1.weight"] == (120, 400) and shapes["fc3.weight"] == (10, 84)
    assert sum(v.numel() for v in module.parameters()) == 61706


def test_the_batched_affine_is_torchvisions_affine_image_by_image():
    from sanity_checks.engines.pytorch.loading import import_torchvision
    import_torchvision()
    import torchvision.transforms.functional as TF
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(16, 1, 28, 28, generator=gen)
    angle, scale, _ = affine_params(16, gen)
    assert float(angle.min()) >= 0 and float(angle.max()) <= 10 and 0.8 <= float(scale.min()) <= float(scale.max()) <= 1.1
    ours = affine_batch(x, angle, scale)
    theirs = torch.stack([TF.affine(x[i], angle=float(angle[i]), translate=[0, 0], scale=float(scale[i]), shear=[0.0, 0.0])
                          for i in range(16)])
    assert torch.equal(ours, theirs)


def test_the_augmentation_is_a_function_of_the_generator():
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    a = augment(x, torch.Generator().manual_seed(3))
    b = augment(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)


def test_training_one_epoch_on_a_few_images_is_seeded(rng):
    torch.set_num_threads(1)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    first, meta = bench.train(x, y, x[:16], y[:16], seed=4, epochs=1, log=lambda *a: None)
    second, _ = bench.train(x, y, x[:16], y[:16], seed=4, epochs=1, log=lambda *a: None)
    for (name, p), q in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(p, q), name
    assert meta["epochs"] == 1 and meta["seed"] == 4 and 0 <= meta["test_accuracy"] <= 1


def test_the_evaluation_of_an_untrained_model_runs_and_gives_values_in_range(random_digits):
    torch.set_num_threads(1)
    torch.manual_seed(0)   # (the test's module only; the bench draws its own through generators)
    module = HedstromLeNet().eval()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    images = np.concatenate([random_digits, random_digits[:2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = bench.evaluate(module, images, np.array([0, 1, 2, 3, 4]), seed=1)
    for name, value in before.items():
        assert torch.equal(module.state_dict()[name], value), name
    methods = {bench.RANDOM, bench.SIGNED_GRADCAM, bench.LRP_ZPLUS, *bench.METHODS}
    assert set(results["mprt"]) == methods and set(results["emprt"]) == methods
    # their ReLUs are functional calls: Guided BackProp is the gradient (the bench also checks the maps)
    for metric in ("mprt", "emprt"):
        assert results[metric]["guided_backprop"] == results[metric]["gradient"]
    for value in results["mprt"].values():
        assert -1 <= value <= 1
    for name, value in results["emprt"].items():
        assert np.isnan(value) or value > -1, name
    assert all(0 <= n <= 5 for n in results["emprt_undefined"].values())
    table = bench.table({1: results})
    assert "| MPRT | integrated_gradients | 0.463 |" in table


def test_their_lrp_zplus_gives_nonnegative_relevance_on_nonnegative_inputs(random_digits):
    """z+ keeps only positive weights: with inputs >= 0 (and ReLU'd activations) no relevance is negative,
    where the gradient-like LRP-ε gives both signs."""
    from sanity_checks.loading import load_model
    torch.set_num_threads(1)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model(HedstromLeNet().eval(), input_shape=bench.INPUT_SHAPE, device="cpu")
    images = np.clip(random_digits, 0, None).astype(np.float32)
    relevance = bench.lrp_zplus(model, images, np.arange(len(images)))
    assert relevance.shape == images.shape and relevance.min() >= 0 and relevance.max() > 0

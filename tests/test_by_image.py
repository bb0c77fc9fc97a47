"""Blocks of image ids (sanity_checks.by_image): an image's logits and masks are the same bytes whichever
images share its run, on both engines, and task boundaries fall on the blocks."""
import numpy as np
import pytest

from sanity_checks import by_image, runs
from sanity_checks.runs.tasks import check_per_task

#: Gradient, Guided BackProp, GradCAM (computed together in blocks of 16 images), SmoothGrad with 30
#: samples (blocks of 8 images) and IG with 50 steps (blocks of 4)
METHODS = ["gradient", "guided_backprop", "gradcam", "smoothgrad", "integrated_gradients"]
SETTINGS = {"smoothgrad": {"nsamples": 30}, "integrated_gradients": {"x_steps": 50}}
#: (first id, last id + 1) of runs from --first-image: inside a block, across two, the padded last
#: block, an image alone in its block
SPLITS = [(18, 20), (14, 19), (33, 36), (5, 6)]


def explain(model, x, ids):
    classes = by_image.predicted_classes(model, x, ids)
    return by_image.logits(model, x, ids), by_image.masks(model, x, ids, METHODS, classes, 3, SETTINGS)


def assert_any_split_gives_the_same_bytes(model):
    """36 images (ids 0..35: two blocks of 16 and a last one of 4, padded) against runs of a few."""
    x = np.random.default_rng(5).random((36, 28, 28, 1), dtype=np.float32)
    ids = np.arange(36)
    logits, masks = explain(model, x, ids)
    for lo, hi in SPLITS:
        part_logits, part_masks = explain(model, x[lo:hi], ids[lo:hi])
        assert part_logits.tobytes() == logits[lo:hi].tobytes(), (lo, hi)
        for name in METHODS:
            assert part_masks[name].tobytes() == masks[name][lo:hi].tobytes(), (name, lo, hi)
    # a cheap method's image is computed among 16 rows, not alone: its block, not a call of its own, decides
    alone = model.input_gradients(x[20:21], by_image.predicted_classes(model, x, ids)[20:21])
    np.testing.assert_allclose(alone[0], masks["gradient"][20], rtol=1e-4, atol=1e-6)


def test_any_split_of_the_images_gives_the_same_bytes_tensorflow(random_cnn):
    assert_any_split_gives_the_same_bytes(random_cnn)


def test_any_split_of_the_images_gives_the_same_bytes_pytorch():
    torch = pytest.importorskip("torch")
    from sanity_checks.loading import load_model

    torch.manual_seed(0)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 84), nn.ReLU(), nn.Linear(84, 10))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # a few small calls: threads only wait on each other (10x slower on a busy machine)
    try:
        assert_any_split_gives_the_same_bytes(load_model(net, input_shape=(28, 28, 1), device="cpu"))
    finally:
        torch.set_num_threads(threads)


def test_blocks_put_each_image_at_its_id_modulo_the_block_and_pad_with_copies():
    calls = by_image.blocks([18, 19, 33, 18, 16], 16)
    assert [members for _, members in calls] == [[(2, 0), (3, 1), (0, 4)], [(1, 2)], [(2, 3)]]  # id 18 twice
    fill, _ = calls[0]
    assert fill[:4] == [4, 0, 0, 1] and fill[4:] == [0] * 12
    mnist, inception = 28 * 28, 299 * 299 * 3
    assert [by_image.block_size(rows, mnist) for rows in (1, 5, 40, 50, 100, 1250)] == [16, 16, 8, 4, 2, 1]
    assert by_image.block_size(1, inception) == 1 and by_image.block_size(1, 32 * 32 * 3) == 16
    assert by_image.method_rows({"nsamples": 25, "x_steps": 50, "stdev_spread": 0.15}) == 1250


def test_tasks_fall_on_blocks_from_any_first_image_and_other_sizes_are_one_line():
    ids = list(range(18, 58))   # a run from --first-image 18: positions 0..39
    tasks = runs.image_tasks(range(40), 16, ids=ids, block=16)
    assert [(ids[t.images[0]], ids[t.images[-1]]) for t in tasks] == [(18, 31), (32, 47), (48, 57)]
    assert [t.key for t in tasks] == ["images-000000-000013", "images-000014-000029", "images-000030-000039"]
    assert [len(t.images) for t in runs.image_tasks(range(40), 4, ids=ids, block=16)][:2] == [2, 4]
    assert [check_per_task(n, 16) for n in (1, 2, 4, 8, 16, 32, 48)] == [1, 2, 4, 8, 16, 32, 48]
    for bad in (3, 12, 24):
        with pytest.raises(runs.RunError, match=r"^--images-per-task must be a multiple of 16 or divide it "
                                                 r"\(1, 2, 4, 8\).*got " + str(bad) + "$"):
            check_per_task(bad, 16)

"""Inception v3: architecture, checkpoint loading (V1 and V2, refusals), block randomization,
methods on 299x299x3 masks, preprocessing, class names and the runner.

The graph is built once per module from a randomly initialized checkpoint written to a temporary
folder and read back through ``load_model``, the path the real TF-slim checkpoint takes.
"""
import os

import numpy as np
import pytest

from sanity_checks import imagenet
from sanity_checks.compat import tf, tf1
from sanity_checks.errors import DataError, ModelError
from sanity_checks.experiments import model_randomization
from sanity_checks.methods import compute_masks
from sanity_checks.loading import load_model
from sanity_checks.model import GraphModel
from sanity_checks.models import get_architecture
from sanity_checks.models.inception_v3 import BLOCK_NAMES
from sanity_checks.randomize import Randomizer

# one pytest worker builds this module's random Inception v3 once (make test runs 2 workers)
pytestmark = pytest.mark.xdist_group("inception")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_DIR = os.path.join(REPO, "doc", "data")


@pytest.fixture(scope="module")
def checkpoint_folder(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("models") / "inceptionv3")
    imagenet.write_random_checkpoint(folder, seed=0)
    return folder


@pytest.fixture(scope="module")
def model(checkpoint_folder):
    model = load_model(checkpoint_folder)
    yield model
    model.close()


@pytest.fixture(scope="module")
def cat():
    """The first demo image, (1, 299, 299, 3) in [-1, 1]."""
    return imagenet.load_image_dir(DEMO_DIR, 1).x_test


def _write_checkpoint(prefix, values, version=tf1.train.SaverDef.V2):
    """A checkpoint holding ``values`` ({name: array}) without building any network."""
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf1.get_variable(name, value.shape, tf.as_dtype(value.dtype), tf1.zeros_initializer())
                     for name, value in values.items()]
        feeds = [tf1.placeholder(v.dtype.base_dtype, v.shape) for v in variables]
        assign = [v.assign(f) for v, f in zip(variables, feeds)]
        saver = tf1.train.Saver(var_list=variables, write_version=version)
        with tf1.Session() as session:
            session.run(assign, dict(zip(feeds, values.values())))
            saver.save(session, prefix, write_meta_graph=False, write_state=False)


# ---------------------------------------------------------------------------------- architecture
def test_architecture_declares_the_original_17_blocks_top_first():
    arch = get_architecture("inception_v3")
    assert arch.block_names == list(BLOCK_NAMES)
    assert arch.block_names[:4] == ["Logits", "Mixed_7c", "Mixed_7b", "Mixed_7a"]
    assert arch.block_names[-1] == "Conv2d_1a_3x3" and len(arch.blocks) == 17
    assert all(b.scope == "InceptionV3/" + b.name for b in arch.blocks)
    assert (arch.input_shape, arch.num_classes, arch.gradcam_layer) == ((299, 299, 3), 1001, "Mixed_7c")
    assert model_randomization.default_metrics((299, 299)) == ["spearman_abs", "spearman_signed", "ssim", "hog"]


def test_variables_blocks_and_aux_logits(model):
    trainable = [v.op.name for v in model.variables if v.trainable]
    frozen = [v.op.name for v in model.variables if not v.trainable]
    # conv kernels, batch-norm beta (no gamma: scale=False) and the two logits biases
    assert {n.rsplit("/", 1)[1] for n in trainable} == {"weights", "beta", "biases"}
    assert all(n.endswith(("moving_mean", "moving_variance")) for n in frozen) and len(frozen) == 2 * 96
    owners = {n: [b.name for b in model.architecture.blocks if b.owns(n)] for n in trainable}
    assert all(len(o) <= 1 for o in owners.values())
    unowned = sorted(n for n, o in owners.items() if not o)
    assert unowned and all(n.startswith("InceptionV3/AuxLogits/") for n in unowned)
    assert "Mixed_7c" in model.end_points and model.end_points["Mixed_7c"].shape.as_list() == [None, 8, 8, 2048]


def test_load_model_reads_the_checkpoint_it_was_given(model, checkpoint_folder):
    assert model.metadata["architecture"] == "inception_v3" and model.metadata["data"] == "imagenet"
    assert model.metadata["random_weights"] is True and "seed 0" in model.metadata["data_source"]
    reader = tf1.train.load_checkpoint(os.path.join(checkpoint_folder, imagenet.CHECKPOINT_NAME))
    weights = model.get_weights()
    for name in ("InceptionV3/Conv2d_1a_3x3/weights", "InceptionV3/Logits/Conv2d_1c_1x1/weights",
                 "InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/BatchNorm/moving_variance"):
        np.testing.assert_array_equal(weights[name], reader.get_tensor(name))


def test_a_v1_checkpoint_single_file_is_read(model, tmp_path):
    """The 2016 release is one V1 file ``inception_v3.ckpt`` with no ``.index``."""
    snapshot = model.get_weights()
    values = dict(snapshot)
    values["InceptionV3/Conv2d_1a_3x3/weights"] = values["InceptionV3/Conv2d_1a_3x3/weights"] + 1.0
    prefix = str(tmp_path / imagenet.CHECKPOINT_NAME)
    _write_checkpoint(prefix, values, tf1.train.SaverDef.V1)
    assert sorted(os.listdir(tmp_path)) == [imagenet.CHECKPOINT_NAME]
    assert imagenet.checkpoint_prefix(str(tmp_path)) == prefix and imagenet.is_inception_folder(str(tmp_path))
    try:
        model.restore(prefix)
        np.testing.assert_array_equal(model.get_weights()["InceptionV3/Conv2d_1a_3x3/weights"],
                                      values["InceptionV3/Conv2d_1a_3x3/weights"])
    finally:
        model.set_weights(snapshot)


# ---------------------------------------------------------------------------------- refusals
def test_missing_checkpoint_says_how_to_get_it(tmp_path):
    for folder in (tmp_path / "inceptionv3", tmp_path / "empty_inceptionv3"):
        if folder.name.startswith("empty"):
            folder.mkdir()
        with pytest.raises(ModelError) as err:
            load_model(str(folder))
        message = str(err.value)
        assert "\n" not in message
        assert os.path.join(str(folder), "inception_v3.ckpt") in message
        assert imagenet.DOWNLOAD_URL in message and "tar -xzf inception_v3_2016_08_28.tar.gz" in message


def test_a_checkpoint_with_another_class_count_is_refused(model, tmp_path):
    values = {name: np.zeros(v.shape.as_list(), np.float32) for name, v in
              ((v.op.name, v) for v in model.variables)}
    values["InceptionV3/Logits/Conv2d_1c_1x1/weights"] = np.zeros((1, 1, 2048, 10), np.float32)
    values["InceptionV3/Logits/Conv2d_1c_1x1/biases"] = np.zeros(10, np.float32)
    folder = tmp_path / "inceptionv3"
    folder.mkdir()
    _write_checkpoint(str(folder / imagenet.CHECKPOINT_NAME), values)
    with pytest.raises(ModelError) as err:
        load_model(str(folder))
    message = str(err.value)
    assert "does not fit inception_v3 (1001 classes)" in message
    assert "InceptionV3/Logits/Conv2d_1c_1x1/weights (checkpoint [1, 1, 2048, 10], model [1, 1, 2048, 1001])" \
        in message
    assert "2 of 388 variables" in message


def test_a_checkpoint_of_another_network_is_refused_before_restoring(model, tmp_path):
    with GraphModel("cnn", seed=0) as cnn:
        saved = cnn.save(str(tmp_path / "cnn"))
    before = model.get_weights()
    with pytest.raises(ModelError) as err:
        model.restore(os.path.join(saved, "model.ckpt"))
    message = str(err.value)
    assert "388 of 388 variables do not match" in message and "InceptionV3/Conv2d_1a_3x3/weights" in message
    assert "the checkpoint holds 8 variables: fc1/biases" in message
    assert all(before[n].tobytes() == w.tobytes() for n, w in model.get_weights().items())


# ---------------------------------------------------------------------------------- randomization
def test_randomizing_a_block_changes_exactly_its_trainable_variables(model):
    before = model.get_weights()
    randomizer = Randomizer(model, seed=0)
    with randomizer:
        changed_names = set(randomizer.randomize(["Logits", "Mixed_7c"]))
        after = model.get_weights()
    restored = model.get_weights()
    expected = {v.op.name for v in model.variables if v.trainable
                and v.op.name.startswith(("InceptionV3/Logits/", "InceptionV3/Mixed_7c/"))}
    assert changed_names == expected and len(expected) == 2 + 18
    differ = {n for n in before if before[n].tobytes() != after[n].tobytes()}
    # BN beta and the logits biases re-initialize to zeros: random-checkpoint zeros stay zeros
    assert differ == {n for n in expected if n.endswith("weights")}
    assert all(not after[n].any() for n in expected if n.endswith(("beta", "biases")))
    assert all(before[n].tobytes() == restored[n].tobytes() for n in before)


def test_reinit_draws_from_slim_variance_scaling(model):
    """REFERENCE A3: truncated normal with std parameter sqrt(1.3 * 2 / fan_in), cut at 2 of it."""
    name = "InceptionV3/Mixed_7c/Branch_0/Conv2d_0a_1x1/weights"   # (1, 1, 2048, 320): fan_in 2048
    with Randomizer(model, seed=5) as randomizer:
        randomizer.randomize(["Mixed_7c"])
        value = model.get_weights()[name]
    sigma = np.sqrt(1.3 * 2 / 2048)
    assert np.abs(value).max() <= 2 * sigma * (1 + 1e-6)
    assert abs(value.std() / np.sqrt(2 / 2048) - 1) < 0.02     # the truncation brings it back to sqrt(2 / fan_in)
    assert abs(value.mean()) < 0.002


# ---------------------------------------------------------------------------------- methods
def test_short_cascade_gives_299x299x3_masks_and_restores_the_model(model, cat):
    before = model.get_weights()
    result = model_randomization.run(
        model, cat, mode="cascading", blocks=["Logits", "Mixed_7c"],
        methods=["gradient", "guided_backprop", "gradcam", "integrated_gradients"],
        metrics=["spearman_abs", "hog"], method_settings={"integrated_gradients": {"x_steps": 4}}, progress=False)
    assert [s.label for s in result.steps] == ["original", "Logits", "Mixed_7c"]
    for step in result.masks.values():
        assert all(m.shape == (1, 299, 299, 3) and m.dtype == np.float32 for m in step.values())
    assert len(result.rows) == 3 * 4 * 2
    original = [r["value"] for r in result.rows if r["step"] == "original"]
    assert np.allclose(original, 1.0)
    assert all(np.isfinite(r["value"]) for r in result.rows)
    gradcam = result.masks["original"]["gradcam"]
    assert 0.0 <= gradcam.min() and gradcam.max() <= 1.0
    assert all(before[n].tobytes() == w.tobytes() for n, w in model.get_weights().items())


def test_guided_backprop_follows_the_session_and_shares_variables(model, cat):
    n_variables = len(model.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES))
    original = compute_masks(model, cat, ["guided_backprop"], classes=1)["guided_backprop"]
    assert len(model.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)) == n_variables
    with Randomizer(model, seed=0) as randomizer:
        randomizer.randomize(["Conv2d_1a_3x3"])   # the lowest block: GBP is not invariant to it
        low = compute_masks(model, cat, ["guided_backprop"], classes=1)["guided_backprop"]
    again = compute_masks(model, cat, ["guided_backprop"], classes=1)["guided_backprop"]
    assert not np.allclose(low, original)
    np.testing.assert_allclose(again, original, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------- images, classes
def test_load_image_is_the_originals_preprocessing(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, 70, 4), dtype=np.uint8)
    path = str(tmp_path / "rgba.png")
    Image.fromarray(pixels, "RGBA").save(path)
    x = imagenet.load_image(path)
    expected = np.asarray(Image.fromarray(pixels, "RGBA").convert("RGB").resize((299, 299), Image.LANCZOS),
                          np.float32) / 127.5 - 1
    assert x.shape == (299, 299, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x, expected)
    assert -1.0 <= x.min() and x.max() <= 1.0

    with pytest.raises(DataError, match="does not exist"):
        imagenet.load_image(str(tmp_path / "nothing.jpg"))
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(DataError, match="cannot read image"):
        imagenet.load_image(str(tmp_path / "text.jpg"))
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(DataError, match="no images"):
        imagenet.image_files(str(tmp_path / "empty_dir"))


def test_class_names_follow_slim_numbering():
    names = imagenet.class_names()
    assert len(names) == 1001 and names[0] == "background"
    assert names[1] == "tench" and names[1000] == "toilet_tissue"
    assert imagenet.class_name(282) == "tabby" and imagenet.wordnet_id(1) == "n01440764"
    assert imagenet.wordnet_id(0) is None
    wnids = [imagenet.wordnet_id(k) for k in range(1, 1001)]
    assert wnids == sorted(wnids) and len(set(wnids)) == 1000
    with pytest.raises(ModelError):
        imagenet.class_name(1001)


def test_demo_images_and_the_200_validation_ids():
    files = imagenet.image_files(DEMO_DIR)
    assert len(files) >= 4 and os.path.basename(files[0]) == "cat_chelsea.jpg"
    rows = [line.split("\t") for line in open(os.path.join(DEMO_DIR, "imagenet_200_val_ids.txt"))
            if line.startswith("ILSVRC2012_val_")]
    assert len(rows) == 200 and len({r[0] for r in rows}) == 200
    lists = {}
    for file, name, label, cls in rows:
        lists.setdefault(name, set()).add(int(label))
        assert imagenet.class_name(int(label) + 1) == cls.strip()
    assert len(lists) == 10 and all(len(labels) == 1 for labels in lists.values())


# ---------------------------------------------------------------------------------- runner
def test_runner_on_an_image_folder(checkpoint_folder, tmp_path, capsys):
    from sanity_checks.cli.randomization import model_randomization_main
    out = tmp_path / "out"
    model_randomization_main(["--model", checkpoint_folder, "--blocks", "Logits", "--images", "1",
                              "--methods", "gradient", "gradcam", "--metrics", "spearman_signed", "hog",
                              "--image-dir", DEMO_DIR, "--out", str(out)])
    printed = capsys.readouterr().out
    assert "cat_chelsea.jpg: class" in printed
    assert (out / "results.csv").is_file() and (out / "curves_hog.png").is_file()


def test_input_invariance_refuses_a_first_layer_followed_by_batch_norm(model):
    from sanity_checks.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="BatchNorm/beta is used by FusedBatchNorm"):
        model.shifted_input_model(-1.0)

"""The PyTorch engine behind the model contract: the same masks as the TensorFlow engine for the same
weights, every method against Captum's own, randomization that reaches every parameter in forward
order, and loading that refuses bad input with one line."""
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from sanity_checks import methods  # noqa: E402
from sanity_checks.engines.pytorch.loading import load_torch  # noqa: E402
from sanity_checks.engines.pytorch.structure import GuidedCoverageWarning  # noqa: E402
from sanity_checks.errors import ModelError, UnsupportedError  # noqa: E402
from sanity_checks.loading import load_model  # noqa: E402
from sanity_checks.randomize import Randomizer, Strategy  # noqa: E402
from test_checks import KINDERMANS_WITHOUT_NOISE, assert_kindermans, values  # noqa: E402

pytestmark = pytest.mark.xdist_group("pytorch")


class MnistCNN(nn.Module):
    """Our TensorFlow MNIST CNN (models/mnist_cnn.py) in PyTorch, module names after its end points."""

    def __init__(self):
        super().__init__()
        self.hidden1 = nn.Conv2d(1, 32, 5, padding=2)
        self.hidden1_act = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.hidden2 = nn.Conv2d(32, 64, 5, padding=2)
        self.hidden2_act = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(7 * 7 * 64, 1024)
        self.fc1_act = nn.ReLU()
        self.softmax_linear = nn.Linear(1024, 10)

    def forward(self, x):
        x = self.pool1(self.hidden1_act(self.hidden1(x)))
        x = self.pool2(self.hidden2_act(self.hidden2(x)))
        x = x.permute(0, 2, 3, 1).flatten(1)   # TensorFlow's (H, W, C) flattening order
        return self.softmax_linear(self.fc1_act(self.fc1(x)))


def copy_weights(graph_model, module):
    """The TensorFlow CNN's variables into the PyTorch module (kernels (kh, kw, in, out) -> (out, in, kh, kw))."""
    w = graph_model.get_weights()
    with torch.no_grad():
        for scope in ("hidden1", "hidden2"):
            getattr(module, scope).weight.copy_(torch.from_numpy(w[f"{scope}/weights"].transpose(3, 2, 0, 1).copy()))
            getattr(module, scope).bias.copy_(torch.from_numpy(w[f"{scope}/biases"]))
        for scope in ("fc1", "softmax_linear"):
            getattr(module, scope).weight.copy_(torch.from_numpy(w[f"{scope}/weights"].T.copy()))
            getattr(module, scope).bias.copy_(torch.from_numpy(w[f"{scope}/biases"]))
    return module


@pytest.fixture(scope="module")
def twins(random_cnn):
    """(our TensorFlow CNN, the same weights as a PyTorch model loaded through load_model)."""
    module = copy_weights(random_cnn, MnistCNN())
    return random_cnn, load_model(module, input_shape=(28, 28, 1), device="cpu"), module


def test_the_same_weights_give_the_same_masks_in_both_engines(twins, random_digits):
    graph_model, torch_model, _ = twins
    x = random_digits
    np.testing.assert_allclose(torch_model.predict_logits(x), graph_model.predict_logits(x), rtol=1e-5, atol=1e-5)
    classes = graph_model.predict(x)
    settings = {"gradcam": {"layer": "hidden2_hconv_act"}, "guided_gradcam": {"layer": "hidden2_hconv_act"}}
    expected = methods.compute_masks(graph_model, x, classes=classes, seed=3, settings=settings)
    torch_settings = {"gradcam": {"layer": "hidden2_act"}, "guided_gradcam": {"layer": "hidden2_act"}}
    ours = methods.compute_masks(torch_model, x, classes=classes, seed=3, settings=torch_settings)
    assert list(ours) == list(expected)
    for name in expected:
        scale = np.abs(expected[name]).reshape(len(x), -1).max(axis=1).reshape(-1, 1, 1, 1)
        error = np.abs(ours[name] - expected[name]) / np.maximum(scale, 1e-30)
        assert error.max() < 1e-5, (name, error.max())


def test_the_users_module_is_never_modified(twins, random_digits):
    _, torch_model, module = twins
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with Randomizer(torch_model, seed=2) as randomizer:
        randomizer.randomize(torch_model.architecture.block_names)
        torch_model.input_gradients(random_digits, [0, 1, 2], guided=True)
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


# ------------------------------------------------------------------------------------------ against Captum
@pytest.fixture(scope="module")
def small():
    """A small trained-looking CNN with batch norm, and images."""
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 5))
    torch.manual_seed(0)
    for p in net.parameters():
        nn.init.normal_(p, std=0.3)
    net[1].running_mean.uniform_(-0.5, 0.5)
    net[1].running_var.uniform_(0.5, 1.5)
    x = np.random.default_rng(0).random((3, 16, 16, 3), dtype=np.float32)
    return net.eval(), load_model(net, input_shape=(16, 16, 3), device="cpu"), x


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def test_methods_equal_captums_own(small):
    captum_attr = pytest.importorskip("captum.attr")
    net, model, x = small
    classes = model.predict(x)
    target = torch.from_numpy(classes.astype(np.int64))
    t = nchw(x).requires_grad_(True)
    ours = methods.compute_masks(model, x, classes=classes, seed=0,
                                 settings={"gradcam": {"layer": "4"}, "guided_gradcam": {"layer": "4"},
                                           "integrated_gradients": {"x_steps": 30}})
    np.testing.assert_allclose(ours["gradient"], nhwc(captum_attr.Saliency(net).attribute(t, target, abs=False)),
                               atol=1e-6)
    np.testing.assert_allclose(ours["gradient_x_input"], nhwc(captum_attr.InputXGradient(net).attribute(t, target)),
                               atol=1e-6)
    np.testing.assert_allclose(ours["guided_backprop"], nhwc(captum_attr.GuidedBackprop(net).attribute(t, target)),
                               atol=1e-6)
    # PAIR's IG averages the gradients at linspace(0, 1, n): Captum's left Riemann sum over n - 1 steps holds the
    # first n - 1 of them, the last one is the gradient at the image itself (Input x Gradient with a zero baseline)
    left = captum_attr.IntegratedGradients(net).attribute(t, target=target, n_steps=29, method="riemann_left")
    expected = (nhwc(left) * 29 + nhwc(captum_attr.InputXGradient(net).attribute(t, target))) / 30
    np.testing.assert_allclose(ours["integrated_gradients"], expected, atol=1e-5)
    # GradCAM: Captum's layer map (ReLU'd), normalized and upsampled as ours
    from sanity_checks.methods.gradcam import resize_maps
    cam = captum_attr.LayerGradCam(net, net[4]).attribute(t, target, relu_attributions=True)[:, 0].detach().numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1)
    expected = resize_maps(cam / np.where(peak > 0, peak, 1)[:, None, None], (16, 16))
    np.testing.assert_allclose(ours["gradcam"][..., 0], expected, atol=1e-5)
    np.testing.assert_allclose(ours["guided_gradcam"], ours["guided_backprop"] * ours["gradcam"], atol=1e-7)
    # SmoothGrad: the mean of Captum's Saliency over our documented noise (NoiseTunnel with that noise)
    noise = methods.smoothing_noise(x, 50, 0.15, seed=0)
    saliency = captum_attr.Saliency(net)
    expected = np.mean([nhwc(saliency.attribute(nchw((x + noise[:, s]).astype(np.float32)).requires_grad_(True),
                                                target, abs=False)) for s in range(50)], axis=0)
    np.testing.assert_allclose(ours["smoothgrad"], expected, atol=1e-5)


# ------------------------------------------------------------------------------------------ randomization
class Mixed(nn.Module):
    """A head registered before the body, batch norm, multi-head attention and a bare parameter."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 4)
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.norm = nn.BatchNorm2d(16)
        self.attention = nn.MultiheadAttention(16, 2, batch_first=True)
        self.token = nn.Parameter(torch.zeros(1, 1, 16))

    def forward(self, x):
        x = torch.relu(self.norm(self.conv(x)))                # a functional ReLU
        tokens = torch.cat([self.token.expand(len(x), 1, 16), x.flatten(2).transpose(1, 2)], dim=1)
        tokens, _ = self.attention(tokens, tokens, tokens)
        return self.head(tokens[:, 0])


@pytest.fixture
def mixed():
    torch.manual_seed(1)
    net = Mixed()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)   # trained values differ from every initializer
    with pytest.warns(GuidedCoverageWarning, match="Guided BackProp equals Gradient"):
        model = load_model(net, input_shape=(4, 4, 3), device="cpu")
    return net, model


def test_blocks_follow_the_forward_pass_and_hold_every_parameter(mixed):
    net, model = mixed
    blocks = model.architecture.blocks
    assert [b.name for b in blocks] == ["head", "attention", "conv", "(model)"]
    assert blocks[2].variables[:2] == ("conv.weight", "conv.bias") and "norm.weight" in blocks[2].variables
    held = {v for b in blocks for v in b.variables}
    assert {n for n, _ in net.named_parameters()} <= held


def test_a_full_cascade_changes_every_parameter_and_each_step_exactly_its_block(mixed):
    net, model = mixed
    trained = model.get_weights()
    state = torch.random.get_rng_state()
    randomizer = Randomizer(model, seed=4)
    with randomizer:
        for step in randomizer.steps("cascading"):
            randomizer.randomize(step.blocks)
            now = model.get_weights()
            changed = {n for n in now if not np.array_equal(now[n], trained[n])}
            expected = {v for b in step.blocks for v in model.architecture.block(b).variables
                        if model.parameter(v).trainable}
            assert changed == expected, step.label
        assert changed == {n for n, _ in net.named_parameters()}   # the last step: every parameter
    assert torch.equal(torch.random.get_rng_state(), state)     # the user's global generator untouched
    assert all(np.array_equal(v, trained[k]) for k, v in model.get_weights().items())


def test_redraws_come_from_each_modules_own_initializer_keyed_per_name(mixed):
    _, model = mixed
    again = model.initial_value("attention.in_proj_weight", 7)
    np.testing.assert_array_equal(again, model.initial_value("attention.in_proj_weight", 7))
    assert not np.array_equal(again, model.initial_value("attention.in_proj_weight", 8))
    bound = np.sqrt(6 / (16 + 48))                               # xavier_uniform of (48, 16)
    assert np.abs(again).max() <= bound and np.abs(again).max() > 0.8 * bound
    np.testing.assert_array_equal(model.initial_value("norm.weight", 3), np.ones(16, np.float32))


class LeNet(nn.Module):
    """Hedström et al.'s LeNet (MetaQuantus): its ReLUs are functional calls."""

    def __init__(self):
        super().__init__()
        self.conv_1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool_1 = nn.MaxPool2d(2, 2)
        self.conv_2 = nn.Conv2d(6, 16, 5)
        self.pool_2 = nn.MaxPool2d(2, 2)
        self.fc_1 = nn.Linear(400, 120)
        self.fc_2 = nn.Linear(120, 84)
        self.fc_3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool_1(torch.nn.functional.relu(self.conv_1(x)))
        x = self.pool_2(torch.nn.functional.relu(self.conv_2(x)))
        x = x.reshape(x.shape[0], -1)   # (their .view fails on this CPU build of torch with gradients)
        x = torch.nn.functional.relu(self.fc_1(x))
        x = torch.nn.functional.relu(self.fc_2(x))
        return self.fc_3(x)


class Shifted(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.token = nn.Parameter(torch.zeros(1, 3, 4, 4))

    def forward(self, x):
        return self.conv(x + self.token).flatten(1)


def test_functional_relus_are_named_and_guided_backprop_equals_the_gradient():
    with pytest.warns(GuidedCoverageWarning, match=r"4 ReLU\(s\) are functional calls .*relu.*Guided BackProp equals Gradient"):
        model = load_model(LeNet(), input_shape=(28, 28, 1), device="cpu")
    assert model.guided_equals_gradient
    x = np.random.default_rng(2).random((2, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.input_gradients(x, [1, 2], guided=True), model.input_gradients(x, [1, 2]))


# ------------------------------------------------------------------------------------------ the engine's edges
def test_a_final_softmax_module_is_looked_through():
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3), nn.Softmax(dim=1))
    model = load_model(net, input_shape=(2, 2, 3), device="cpu")
    x = np.random.default_rng(1).random((2, 2, 2, 3), dtype=np.float32)
    expected = net[1](torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).flatten(1)).detach().numpy()
    np.testing.assert_allclose(model.predict_logits(x), expected, atol=1e-6)


def test_input_invariance_is_compensated_in_the_first_layer(small):
    _, model, x = small
    shifted, name = model.shifted_input_model(-1.0)
    assert name == "0.bias"
    np.testing.assert_allclose(shifted.predict_logits(x - 1), model.predict_logits(x), atol=1e-4)
    classes = model.predict(x)
    np.testing.assert_allclose(shifted.input_gradients(x - 1, classes), model.input_gradients(x, classes), atol=1e-6)


def test_input_invariance_on_a_max_pool_cnn_is_kindermans_result(twins, random_digits):
    """The max-pool CNN on digit-like images: Gradient and Guided BackProp exactly invariant (the ties over the
    zero background broken as in the original), Gradient x Input and zero-baseline IG not."""
    from sanity_checks.checks import input_invariance

    _, model, _ = twins
    result = input_invariance.run(model, random_digits, [0, 1, 2], settings={
        "methods": KINDERMANS_WITHOUT_NOISE,
        "method_settings": {"integrated_gradients": {"x_steps": 5}}})
    assert_kindermans(result.rows, KINDERMANS_WITHOUT_NOISE)


class Gated(nn.Module):
    """Ends with a Sigmoid module that gates the output (z * sigmoid(z)), not an output activation."""

    def __init__(self):
        super().__init__()
        self.fc, self.gate = nn.Linear(48, 2), nn.Sigmoid()

    def forward(self, x):
        z = self.fc(x.flatten(1))
        return z * self.gate(z)


def test_emprt_model_output_of_a_single_output_is_its_sigmoid_s_two_outcomes_and_absent_for_a_regression():
    """A single logit behind a final sigmoid: eMPRT's model-output entropy is the Bernoulli entropy of the
    probability torch itself computes (scipy's entropy of [p, 1 - p]), before and after the randomization,
    marked ``sigmoid``; a single output without a sigmoid has no distribution and no model-output rows."""
    from scipy import stats

    from sanity_checks.checks import emprt
    from sanity_checks.contract import FINAL_ACTIVATION
    from sanity_checks.report.markdown import model_entropy_line

    def bernoulli(net, x):
        with torch.no_grad():
            p = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()[:, 0].astype(np.float64)
        return stats.entropy(np.stack([p, 1 - p]), axis=0)

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(48, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
    x = np.random.default_rng(3).random((3, 4, 4, 3), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model(net, input_shape=(4, 4, 3), device="cpu")
        assert model.metadata[FINAL_ACTIVATION] == "Sigmoid"
        before = bernoulli(model.module, x)
        rows = emprt.run(model, x, [0, 1, 2], seed=5, settings={"methods": ["gradient"]}).rows
        # the check's own randomization, repeated
        with Randomizer(model, Strategy(emprt.DEFAULTS["randomization"]), seed=5) as randomizer:
            randomizer.randomize(model.architecture.block_names)
            after = bernoulli(model.module, x)
        regression = load_model(nn.Sequential(nn.Flatten(), nn.Linear(48, 1)), input_shape=(4, 4, 3), device="cpu")
        assert FINAL_ACTIVATION not in regression.metadata
        regression_rows = emprt.run(regression, x, [0, 1, 2], seed=5, settings={"methods": ["gradient"]}).rows
    mine = [r for r in rows if r["method"] == emprt.MODEL_OUTPUT]
    assert {r["detail"] for r in mine} == {"sigmoid"}
    np.testing.assert_allclose(values(mine, emprt.MODEL_OUTPUT, "entropy_original"), before, rtol=1e-5)
    np.testing.assert_allclose(values(mine, emprt.MODEL_OUTPUT, "entropy_randomized"), after, rtol=1e-5)
    np.testing.assert_allclose(values(mine, emprt.MODEL_OUTPUT, "entropy_increase"), (after - before) / before,
                               rtol=1e-4)
    assert np.abs(after - before).max() > 1e-3                          # the randomization moved the output
    assert "output entropy (the sigmoid's two outcomes) changes by" in model_entropy_line(rows, 0)
    assert not [r for r in regression_rows if r["method"] == emprt.MODEL_OUTPUT]
    assert values(regression_rows, "gradient", "entropy_increase")        # the maps' rows are all there
    assert model_entropy_line(regression_rows, 0) == ""


def test_sigmoid_entropy_is_finite_where_the_probability_rounds_to_0_or_1():
    from sanity_checks.checks import emprt

    z = np.array([[-800.0], [-30.0], [0.0], [2.0], [30.0], [800.0]])
    p = 1 / (1 + np.exp(-np.clip(z[:, 0], -30, 30)))
    expected = -(p * np.log(p) + (1 - p) * np.log1p(-p))
    h = emprt.sigmoid_entropy(z)
    assert np.isfinite(h).all() and h[2] == pytest.approx(np.log(2))
    np.testing.assert_allclose(h[2:4], expected[2:4], rtol=1e-12)
    np.testing.assert_allclose(h[[1, 4]], expected[[1, 4]], rtol=0, atol=1e-14)   # ~2.9e-12, where 1 - p rounds
    assert 0 <= h[0] < 1e-300 and 0 <= h[5] < 1e-300


def test_report_on_a_sigmoid_head_without_relu_refuses_random_logit_and_shows_guided_as_gradient(tmp_path):
    """A single-output sigmoid model with tanh only: the random-logit test is refused in one line, the rest
    runs, and Guided BackProp (which equals Gradient here) is shown as "= Gradient", not judged."""
    from sanity_checks import report

    net = nn.Sequential(nn.Flatten(), nn.Linear(48, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model(net, input_shape=(4, 4, 3), device="cpu")
        assert model.guided_equals_gradient and model.architecture.num_classes == 1
        x = np.random.default_rng(2).random((2, 4, 4, 3), dtype=np.float32)
        # the sigmoid is looked through, as a softmax: the explained score is the logit
        assert model.metadata["explained"] == "pre-sigmoid logits (the input of the final Sigmoid)"
        with torch.no_grad():
            logit = net[:-1](torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
        np.testing.assert_allclose(model.predict_logits(x), logit, rtol=1e-6, atol=1e-7)
        gated = load_model(Gated(), input_shape=(4, 4, 3), device="cpu")   # a Sigmoid last, as a gate: kept
        assert "explained" not in gated.metadata
        with torch.no_grad():
            z = gated.module.fc(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).flatten(1))
        np.testing.assert_allclose(gated.predict_logits(x), (z * torch.sigmoid(z)).numpy(), rtol=1e-6, atol=1e-7)
        path, cells = report.run_report(model, x, [0, 1], tmp_path, ["random_logit", "faithfulness"], progress=None,
                                        settings={c: {"methods": ["gradient", "guided_backprop"]} for c in report.CHECKS})
    text = open(path).read()
    assert "- **random_logit**: the random-logit test needs two classes or more; the model has 1 output" in text
    assert "**A single output.**" in text and "**Guided BackProp equals Gradient here:**" in text
    assert "| Guided BackProp | = Gradient (no ReLU-family activation) |" in text
    assert cells[("guided_backprop", "faithfulness")].verdict == "= Gradient"


def test_input_invariance_is_refused_with_its_reason(mixed):
    with pytest.raises(UnsupportedError, match="changes the input in its own code"):
        load_model(Shifted(), input_shape=(4, 4, 3), device="cpu").shifted_input_model(-1.0)
    free = load_model(nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2)),
                      input_shape=(4, 4, 3), device="cpu")
    with pytest.raises(UnsupportedError, match="has none"):
        free.shifted_input_model(-1.0)


def test_bad_models_and_images_are_one_clear_line():
    with pytest.raises(ModelError, match=r"output must be \(batch, classes\), got shape \(2, 4, 2, 2\)"):
        load_model(nn.Conv2d(3, 4, 3), input_shape=(4, 4, 3), device="cpu")
    with pytest.raises(ModelError, match="cannot take images of shape"):
        load_model(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), input_shape=(5, 5, 3), device="cpu")
    with pytest.raises(ModelError, match="needs the shape of its images"):
        load_torch(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)))


class TwoStages(nn.Module):
    """A stem and a ``layer1`` of two residual-style blocks (``layer1.0``, ``layer1.1``), as torchvision's
    ResNets name them, and a head."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.layer1 = nn.Sequential(*[nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                                    nn.Conv2d(4, 4, 1)) for _ in range(2)])
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        return self.fc(self.layer1(x).mean(dim=(2, 3)))


def test_blocks_by_stage_follow_the_module_paths_and_layers_keeps_each_module():
    from sanity_checks.stages import stage_of

    net = TwoStages()
    by_stage = load_model(net, input_shape=(6, 6, 3), device="cpu")
    assert by_stage.architecture.block_names == ["fc", "layer1.1", "layer1.0", "conv1"]
    assert set(by_stage.architecture.block("layer1.0").variables) == {
        f"layer1.0.{n}" for n in ("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                  "3.weight", "3.bias")}
    by_layer = load_model(net, input_shape=(6, 6, 3), device="cpu", grouping="layers")
    assert by_layer.architecture.block_names == ["fc", "layer1.1.3", "layer1.1.0", "layer1.0.3", "layer1.0.0", "conv1"]
    assert stage_of("features.denseblock2.denselayer5.conv1", "torch") == "features.denseblock2.denselayer5"
    assert stage_of("features.4.0.block.1.0", "torch") == "features.4"
    assert stage_of("features.0", "torch") == "features.0"

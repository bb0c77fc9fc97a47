"""bench/bench_vs_quantus.py's own parts, without Quantus (the bench makes its environment; the suite never
installs TensorFlow 2.15): the peer's copies of our models give our logits, its explain_func gives our
gradients in either layout Quantus hands it, and the bench's last lines."""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import bench_vs_quantus as bench  # noqa: E402
import quantus_peer as peer  # noqa: E402


def test_the_keras_2_copy_of_our_cnn_gives_our_logits(random_cnn, random_digits, tmp_path):
    pytest.importorskip("tf_keras")
    inputs = tmp_path / "inputs.npz"
    classes = bench.prepare_inputs(random_cnn, random_digits, inputs)
    assert np.array_equal(classes, random_cnn.predict_logits(random_digits).argmax(1))
    done = subprocess.run([sys.executable, str(REPO / "bench" / "quantus_peer.py"), "check", str(inputs),
                           "--engine", "tf"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    diff, largest = bench.logit_check(done.stdout)   # eager Keras 2 against our graph
    assert diff < 1e-5 and largest > 0, done.stdout
    # and the explain_func given to Quantus (a tf.function over the Keras model) computes our input gradients
    found = re.search(r"explain_func's gradients: max difference (\S+) \(largest (\S+)\)", done.stdout)
    assert found and float(found.group(1)) <= 1e-5 * float(found.group(2)), done.stdout


def test_the_torch_copy_and_the_explain_func_give_our_logits_and_gradients(random_digits, tmp_path):
    torch = pytest.importorskip("torch")
    from hedstrom_lenet_model import HedstromLeNet
    from sanity_checks.loading import load_model

    torch.manual_seed(0)
    ours = load_model(HedstromLeNet(), input_shape=(28, 28, 1), device="cpu")
    inputs = tmp_path / "inputs.npz"
    classes = bench.prepare_inputs(ours, random_digits, inputs)
    assert peer.check(peer.parse_args(["check", str(inputs), "--engine", "torch"])) < 1e-5
    x, _, _, weights = peer.read_inputs(inputs)
    module = peer.torch_copy(weights)
    chw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    expected = ours.input_gradients(random_digits, classes)
    gradient = peer.explain(module, chw, classes, method="gradient")
    np.testing.assert_allclose(gradient.transpose(0, 2, 3, 1), expected, atol=1e-6 * np.abs(expected).max())
    # noise of std 0: SmoothGrad is the gradient, whatever the chunks of noisy copies (2 rows per call here)
    smooth = peer.explain(module, chw, classes, method="smoothgrad", nsamples=5, stdev_spread=0.0, max_rows=2)
    np.testing.assert_allclose(smooth, gradient, atol=1e-6 * np.abs(expected).max())


def test_the_bench_ends_with_one_ratio_line_per_workload_and_runs_our_cli_as_documented(tmp_path):
    ours, peers = {"gradient": [3.0, 1.0, 2.0], "smoothgrad": [6.0]}, {"gradient": [4.0, 4.0, 5.0], "smoothgrad": [3.0]}
    assert bench.ratio_lines(ours, peers) == ["ratio gradient: 0.50", "ratio smoothgrad: 2.00"]
    assert bench.median_line("ours", "gradient", ours["gradient"]) == \
        "ours gradient: median 2.00 s (runs: 3.00, 1.00, 2.00)"
    args = bench.parse_args(["--quick", "--engine", "torch", "--cache", str(tmp_path)])
    assert (args.images, args.runs, args.nsamples) == (4, 1, 5)
    command = bench.our_command(["--model", "m"], "smoothgrad", args, tmp_path / "out")
    for flags in (["--mode", "independent"], ["--metrics", "spearman_abs"], ["--images", "4"], ["--fixed-class"],
                  ["--set", "smoothgrad.nsamples=5"], ["--set", "smoothgrad.stdev_spread=0.15"]):
        assert any(command[i:i + len(flags)] == flags for i in range(len(command))), flags
    with pytest.raises(SystemExit, match="no Quantus environment"):
        bench.peer_python("torch", tmp_path, install=False)

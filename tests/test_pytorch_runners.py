"""PyTorch models through the runners and the report, from the command line as a user gives them: a
factory in their file with a state dict, a torchvision architecture; bad input is one line, nothing written."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("pytorch_runners")

NET = '''
import torch.nn as nn


def make_model(classes=10):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, classes))


def broken():
    raise ValueError("no such layer size")
'''


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    """my_net.py with a factory, its state dict, a whole pickled model, and 28x28x1 images."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "my_net.py").write_text(NET)
    sys.path.insert(0, str(folder))
    try:
        import my_net
        torch.manual_seed(0)
        model = my_net.make_model()
    finally:
        sys.path.remove(str(folder))
    torch.save(model.state_dict(), folder / "weights.pt")
    torch.save(model, folder / "whole.pt")
    torch.save(my_net.make_model(classes=5).state_dict(), folder / "five.pt")
    torch.save(my_net.make_model().state_dict(), folder / "other.pt")   # another draw: a stand-in random-label model
    (folder / "truncated.pt").write_bytes((folder / "weights.pt").read_bytes()[:1000])
    np.save(folder / "images.npy", np.random.default_rng(0).random((20, 28, 28, 1), dtype=np.float32))
    return folder


def run(script, *args, cwd=REPO):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, str(REPO / "src" / script), *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=900)


def test_a_users_state_dict_runs_serially_in_a_pool_shards_and_dask_to_the_same_bytes(user_files, tmp_path):
    """20 images: two blocks of image ids, the last padded. Two shards of 8-image tasks, each run serially,
    against one block per task on Dask; 4-image tasks on a pool of two from --first-image 14 (inside a
    block): the same rows, digit for digit."""
    common = ["--model", f"{user_files / 'my_net.py'}:make_model", "--weights", user_files / "weights.pt",
              "--npy", user_files / "images.npy", "--quick", "--eval-images", 0,
              "--methods", "gradient", "smoothgrad", "--threads", 1]   # the same threads: the same bytes
    for shard in ("1/2", "2/2"):
        sharded = run("run_model_randomization.py", *common, "--images", 20, "--out", tmp_path / "serial",
                      "--images-per-task", 8, "--shard", shard)
        assert sharded.returncode == 0, sharded.stderr[-2000:]
    expected = (tmp_path / "serial" / "results.csv").read_bytes()
    if importlib.util.find_spec("distributed"):
        dask = run("run_model_randomization.py", *common, "--images", 20, "--out", tmp_path / "dask",
                   "--dask", "local:2")
        assert dask.returncode == 0, dask.stderr[-2000:]
        assert (tmp_path / "dask" / "results.csv").read_bytes() == expected
    pool = run("run_model_randomization.py", *common, "--images", 6, "--first-image", 14, "--images-per-task", 4,
               "--out", tmp_path / "pool", "--workers", 2)
    assert pool.returncode == 0, pool.stderr[-2000:]
    every = set(expected.decode().splitlines()[1:])   # rows: image id, method, state, metric, value, class...
    rows = (tmp_path / "pool" / "results.csv").read_text().splitlines()[1:]
    assert sorted({int(line.split(",")[0]) for line in rows}) == list(range(14, 20))
    assert all(line in every for line in rows)   # digit for digit
    summary = json.loads((tmp_path / "serial" / "summary.json").read_text())
    assert summary["settings"]["blocks"] == ["11", "9", "7", "3", "0"]   # the Linear and Conv2d modules, top first
    assert summary["model"] == f"{user_files / 'my_net.py'}:make_model"
    # the versions record the engines the run imported: a PyTorch model's run never imports TensorFlow
    assert "torch" in summary["versions"] and "tensorflow" not in summary["versions"]


def test_a_torchvision_architecture_by_name():
    from sanity_checks.experiments import model_randomization
    from sanity_checks.loading import load_model

    model = load_model("torchvision:resnet18(num_classes=10)", input_shape=(32, 32, 3), device="cpu")
    # at 32x32 layer4 is 1x1: GradCAM takes the last output larger than that; blocks are its stages
    assert model.architecture.gradcam_layer == "layer3" and model.architecture.block_names[:3] == [
        "fc", "layer4.1", "layer4.0"] and len(model.architecture.blocks) == 10
    images = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
    result = model_randomization.run(model, images, methods=["gradient", "gradcam"], metrics=["spearman_abs"],
                                     blocks=["fc", "layer4.1"], progress=False)
    assert [s.label for s in result.steps] == ["original", "fc", "layer4.1"]


def test_a_timm_architecture_by_name_loads_and_explains():
    """timm's tiny test ViT, random weights (no download): its class token and position embedding, bare
    parameters, are a block of their own, and randomizing them changes the Gradient map."""
    if importlib.util.find_spec("timm") is None:   # not importorskip: timm imports torchvision, which the engine
        pytest.skip("timm is not installed")          # loads its own way (engines.pytorch.loading.import_torchvision)
    from sanity_checks.experiments import model_randomization
    from sanity_checks.loading import load_model

    model = load_model("timm:test_vit(num_classes=10, img_size=32)", input_shape=(32, 32, 3), device="cpu")
    blocks = model.architecture.block_names
    assert blocks[:2] == ["head", "blocks.5"] and blocks[-2:] == ["patch_embed.proj", "(model)"]
    assert {p.name for p in model.parameters() if model.architecture.block("(model)").owns(p.name)} \
        == {"cls_token", "pos_embed"}
    # GradCAM's default: the patch embedding's map, not an attention block's 4-D (heads, tokens, head_dim)
    assert model.architecture.gradcam_layer == "patch_embed.proj"
    images = np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)
    result = model_randomization.run(model, images, methods=["gradient"], metrics=["spearman_abs"],
                                     blocks=["head", "(model)"], mode="independent", progress=False)
    assert [s.label for s in result.steps] == ["original", "head", "(model)"]
    values = [r["value"] for r in result.rows if r["step"] == "(model)"]
    assert len(values) == 2 and max(values) < 0.999


@pytest.mark.parametrize("model, extra, message", [
    ("{dir}/my_net.py:make_modle", [], "my_net.py has no 'make_modle'; it defines: broken, make_model, nn"),
    ("{dir}/my_net.py:broken", [], "calling broken failed: ValueError: no such layer size"),
    ("{dir}/nothere.py:make_model", [], "no file"),
    ("{dir}/my_net.py:make_model", ["--weights", "{dir}/five.pt"],
     r"five.pt does not fit the model: 2 of another shape: 11.weight \(file \(5, 84\), model \(10, 84\)\)"),
    ("{dir}/my_net.py:make_model", ["--weights", "{dir}/whole.pt"], "holds more than weights .*--trust-model-code"),
    ("{dir}/my_net.py:make_model", ["--weights", "{dir}/truncated.pt"], "truncated or not a file torch.save wrote"),
    ("{dir}/my_net.py:make_model", ["--weights", "{dir}/missing.pt"], "weights file .*missing.pt does not exist"),
    ("{dir}/my_net.py:make_model", ["--input-shape", 32, 32, 3], r"cannot take images of shape \(32, 32, 3\)"),
    ("torchvision:resnet18(num_classes=ten)", [], "must be literal keyword arguments"),
])
def test_bad_input_is_one_line_and_nothing_is_written(user_files, tmp_path, capsys, model, extra, message):
    import re

    from sanity_checks import cli
    from sanity_checks.cli.randomization import model_randomization_main

    extra = [str(e).format(dir=user_files) for e in extra]
    argv = ["--model", model.format(dir=user_files), *extra, "--npy", str(user_files / "images.npy"), "--images", "1",
            "--methods", "gradient", "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as stop:
        cli.run(model_randomization_main, argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and re.search(message, lines[0]), err[-1500:]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_trusted_pickled_model_loads(user_files):
    from sanity_checks.loading import load_model

    model = load_model(f"{user_files / 'my_net.py'}:make_model", weights=str(user_files / "whole.pt"),
                       trust_model_code=True, input_shape=(28, 28, 1), device="cpu")
    assert model.architecture.num_classes == 10


def test_without_torch_the_install_line_is_given(user_files, tmp_path):
    code = ("import sys\n"
            "class NoTorch:\n"   # as on a machine where torch is not installed
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch' or name.startswith('torch.'):\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "from sanity_checks import cli\nfrom sanity_checks.cli.randomization import model_randomization_main\n"
            f"cli.run(model_randomization_main, ['--model', {str(user_files / 'my_net.py') + ':make_model'!r}, "
            f"'--npy', {str(user_files / 'images.npy')!r}, '--out', {str(tmp_path / 'out')!r}])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 2
    assert "error: PyTorch models need torch, which is not installed: pip install -r requirements-torch.txt" \
        in done.stderr


def test_readme_pytorch_commands_work_in_a_fresh_folder(tmp_path):
    """The README's 'Your own PyTorch model' commands, pasted into a folder holding src/ and data/."""
    import re

    section = (REPO / "README.md").read_text().split("## Your own PyTorch model", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert len(commands) == 4
    os.symlink(REPO / "src", tmp_path / "src")
    os.symlink(REPO / "data", tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{tmp_path}"}
    for command in commands:
        if command.startswith(".venv/bin/python "):
            command = f"{sys.executable} {command.split(' ', 1)[1]}"
        done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, (command, done.stderr[-2000:])
    assert (tmp_path / "results" / "my_torch_cascading" / "mask_grid_abs.png").is_file()
    assert "| Gradient |" in (tmp_path / "results" / "my_torch_report" / "report.md").read_text()



def test_parameter_saliency_refuses_a_pytorch_model_in_one_line(user_files):
    from sanity_checks import parameter_saliency as ps
    from sanity_checks.errors import SanityCheckError
    from sanity_checks.loading import load_model

    model = load_model(f"{user_files / 'my_net.py'}:make_model", input_shape=(28, 28, 1), device="cpu")
    with pytest.raises(SanityCheckError, match="parameter-space saliency runs on TensorFlow models"):
        ps.ParameterSaliency(model)


def test_data_randomization_takes_the_random_label_models_own_weights(user_files, tmp_path, capsys):
    from sanity_checks import cli
    from sanity_checks.cli.randomization import data_randomization_main

    common = ["--model", f"{user_files / 'my_net.py'}:make_model", "--random-model",
              f"{user_files / 'my_net.py'}:make_model", "--weights", str(user_files / "weights.pt"),
              "--npy", str(user_files / "images.npy"), "--images", "2", "--methods", "gradient"]
    with pytest.raises(SystemExit):
        cli.run(data_randomization_main, common + ["--out", str(tmp_path / "refused")])
    assert "give the random-label model's with --random-weights" in capsys.readouterr().err
    result = data_randomization_main(common + ["--random-weights", str(user_files / "other.pt"),
                                               "--out", str(tmp_path / "out")])
    values = [r["value"] for r in result.rows if r["step"] == "random labels" and r["metric"] == "spearman_abs"]
    assert len(values) == 2 and max(values) < 0.99   # two different models, not the true-label model twice
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["settings"]["random_loading"]["weights"].endswith("other.pt")


def test_the_libraries_methods_go_through_every_check_of_the_report(user_files, tmp_path):
    """Captum's, Zennit's and PAIR's methods by name on a user's PyTorch model: a row of their own in every check."""
    out = tmp_path / "report"
    done = run("sanity_report.py", "--model", f"{user_files / 'my_net.py'}:make_model", "--weights",
               user_files / "weights.pt", "--npy", user_files / "images.npy", "--images", 2, "--quick",
               "--smprt-samples", 2, "--deletion-steps", 4, "--threads", 1, "--out", out,
               "--methods", "captum_deeplift", "zennit_epsilon_plus", "blur_ig")
    assert done.returncode == 0, done.stderr[-2000:]
    text = (out / "report.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| method |"))
    checks = len(header.strip("|").split("|")) - 1
    for name in ("captum_deeplift", "zennit_epsilon_plus", "blur_ig"):
        from sanity_checks.methods import method_label
        row = next(line for line in text.splitlines() if line.startswith(f"| {method_label(name)} |"))
        assert len(row.strip("|").split("|")) - 1 == checks
        assert "not run" not in row.lower()

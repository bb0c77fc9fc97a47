"""A user's own method: registered from Python or a --method-module file, in each of the three conventions
(ours, PAIR's CoreSaliency, Quantus' explain_func), each equal to its direct computation; through the
runners serially, in a pool of two, killed and resumed, to the same bytes; a method that raises, returns
the wrong shape or NaN is one line naming it and the image, and the other methods' results are kept."""
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import methods
from sanity_checks.errors import SanityCheckError
from sanity_checks.methods import failures, user_module
from test_numpy_engine import bars, csv_rows, trained  # noqa: F401  (a module-scoped fixture)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def x():
    return bars(3, 1)[0]


def squared_gradient(model, images, classes, power=2):
    return model.input_gradients(images, classes) ** power


# ------------------------------------------------------------------------------------ registry
def test_a_registered_method_is_a_method_like_the_others(trained, x, registered):
    registered("squared", squared_gradient, label="Gradient²", defaults={"power": 2})
    assert methods.LABELS["squared"] == "Gradient²" and methods.method_label("squared") == "Gradient²"
    assert methods.DEFAULT_SETTINGS["squared"] == {"power": 2}
    assert "squared" in methods.available_methods(trained) and "squared" in methods.METHODS
    with pytest.raises(SanityCheckError, match="valid settings: power"):
        methods.method_settings("squared", {"p": 3})
    masks = methods.compute_masks(trained, x, ["gradient", "squared"], settings={"squared": {"power": 3}})
    np.testing.assert_array_equal(masks["squared"], squared_gradient(trained, x, trained.predict(x), power=3))
    methods.unregister_method("squared")
    assert "squared" not in methods.LABELS and "squared" not in methods.available_methods(trained)


def test_bad_registrations_are_one_line(registered):
    with pytest.raises(SanityCheckError, match="built-in method"):
        registered("gradient", squared_gradient)
    with pytest.raises(SanityCheckError, match="a method name is letters"):
        registered("my.method", squared_gradient)
    with pytest.raises(SanityCheckError, match="unknown need.*'gpu'"):
        registered("m", squared_gradient, needs=("gpu",))
    with pytest.raises(SanityCheckError, match="unknown convention 'captum'"):
        registered("m", squared_gradient, convention="captum")
    with pytest.raises(SanityCheckError, match="CoreSaliency subclass or instance"):
        registered("m", squared_gradient, convention="pair")


def test_a_missing_library_or_an_unmet_need_is_refused_before_any_work(trained, x, registered):
    registered("from_elsewhere", squared_gradient, library="surely-not-installed-lib==1.0", default=False)
    registered("torch_only", squared_gradient, needs=("pytorch",))
    registered("quantus_style", lambda model, inputs, targets: inputs, convention="quantus")
    assert "from_elsewhere" not in methods.available_methods(trained)
    assert "torch_only" not in methods.available_methods(trained)
    with pytest.raises(SanityCheckError, match=r"needs surely-not-installed-lib==1.0, which is not installed: "
                                               r"pip install 'surely-not-installed-lib==1.0'"):
        methods.compute_masks(trained, x, ["gradient", "from_elsewhere"])
    with pytest.raises(SanityCheckError, match="torch_only runs on PyTorch models only"):
        methods.resolve_settings(trained, ["torch_only"])
    with pytest.raises(SanityCheckError, match="quantus_style needs the model's own framework model"):
        methods.resolve_settings(trained, ["quantus_style"])


# ------------------------------------------------------------------------------------ conventions
def test_pair_convention_equals_pair_called_directly(trained, x, registered):
    import saliency.core as sc

    registered("pair_ig", sc.IntegratedGradients, defaults={"x_steps": 7, "batch_size": 7})
    registered("pair_gradcam", sc.GradCam(), needs=("conv_layer",), defaults={"three_dims": True}, convention="pair")
    assert methods.registry.get_spec("pair_ig").convention == "pair"   # found by its GetMask
    classes = trained.predict(x)
    masks = methods.compute_masks(trained, x, ["pair_ig", "pair_gradcam"], classes=classes)
    call, layered = trained.call_model_function(), trained.call_model_function(layer="hidden1")
    for i, (image, c) in enumerate(zip(x, classes)):
        np.testing.assert_array_equal(masks["pair_ig"][i], sc.IntegratedGradients().GetMask(
            image, call, {"class_idx": int(c)}, x_steps=7, batch_size=7))
        np.testing.assert_array_equal(masks["pair_gradcam"][i], sc.GradCam().GetMask(
            image, layered, {"class_idx": int(c)}, three_dims=True)[..., :1])   # one map, in the image's channel
    assert masks["pair_gradcam"].any() and masks["pair_ig"].any()


def test_quantus_convention_gets_the_torch_module_in_nchw_and_equals_the_direct_call(registered):
    torch = pytest.importorskip("torch")
    from sanity_checks.loading import load_model

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 6 * 5, 3))
    model = load_model(net, input_shape=(6, 5, 3))
    seen = []

    def explain(model, inputs, targets, **kwargs):   # Quantus' explain_func: the user's module, numpy NCHW
        seen.append((type(model), inputs.shape, kwargs))
        x = torch.tensor(inputs, requires_grad=True)
        model(x)[torch.arange(len(x)), torch.as_tensor(targets)].sum().backward()
        return (x.grad * kwargs["scale"]).numpy()

    registered("quantus_gradient", explain, convention="quantus", defaults={"scale": 2.0})
    images = np.random.default_rng(0).random((4, 6, 5, 3), dtype=np.float32)
    classes = np.array([0, 2, 1, 2])
    masks = methods.compute_masks(model, images, ["quantus_gradient", "gradient"], classes=classes)
    assert seen[0] == (torch.nn.Sequential, (4, 3, 6, 5), {"scale": 2.0})
    direct = explain(model.framework_model(), np.ascontiguousarray(images.transpose(0, 3, 1, 2)), classes, scale=2.0)
    np.testing.assert_array_equal(masks["quantus_gradient"], direct.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(masks["quantus_gradient"], 2 * masks["gradient"], rtol=1e-5, atol=1e-7)
    # a single-channel answer is copied into every channel, as PAIR's three_dims
    registered("quantus_sum", lambda model, inputs, targets: inputs.sum(axis=1), convention="quantus")
    summed = methods.compute_masks(model, images, ["quantus_sum"], classes=classes)["quantus_sum"]
    np.testing.assert_allclose(summed, np.repeat(images.sum(axis=3, keepdims=True), 3, axis=3), rtol=1e-6)


# ------------------------------------------------------------------------------------ failures
def test_a_failing_method_is_one_line_naming_it_and_the_image(trained, x, registered):
    def raises_on_second(model, images, classes):
        if np.allclose(images[0], x[1]):
            raise ValueError("cannot explain\nthis one")
        return model.input_gradients(images, classes)

    registered("raises", raises_on_second)
    registered("nan", lambda model, images, classes: np.full(images.shape, np.nan))
    registered("flat", lambda model, images, classes: np.zeros(images.shape[:3]))
    with pytest.raises(SanityCheckError, match=r"^method raises failed on image 11: ValueError: cannot explain this one$"):
        methods.compute_masks(trained, x[1:2], ["gradient", "raises"], image_ids=[11])
    with pytest.raises(SanityCheckError, match=r"^method nan failed on images 0, 1, 2: returned NaN or infinite values$"):
        methods.compute_masks(trained, x, ["nan"])
    with pytest.raises(SanityCheckError, match=r"returned masks of shape \(3, 12, 12\), not the images' \(3, 12, 12, 1\)"):
        methods.compute_masks(trained, x, ["flat"])
    with failures.collecting() as log:   # inside a run's task: recorded, zeros, the others go on
        masks = methods.compute_masks(trained, x, ["gradient", "nan"])
    assert log == [("nan", i, "returned NaN or infinite values") for i in range(3)]
    assert not masks["nan"].any() and masks["gradient"].any()


def test_the_report_leaves_failing_methods_out_once_and_keeps_the_others(trained, x, registered, tmp_path, capfd):
    from sanity_checks import report

    def raises_on_second(model, images, classes):
        if np.allclose(images[0], x[1]):
            raise ValueError("cannot explain this one")
        return model.input_gradients(images, classes)

    registered("raises", raises_on_second)
    registered("nan", lambda model, images, classes: np.full(images.shape, np.nan))
    settings = {check: {"methods": ["gradient", "raises", "nan"]} for check in ("mprt", "random_logit")}
    report.run_report(trained, x[:2], [0, 1], tmp_path / "one", checks=["mprt", "random_logit"], settings=settings,
                      progress=False, images_per_task=1)
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if "failed on" in line]
    assert lines == ["note: method raises failed on image 1: ValueError: cannot explain this one (mprt, random_logit); "
                     "it is left out of the results",
                     "note: method nan failed on images 0, 1: returned NaN or infinite values (mprt, random_logit); "
                     "it is left out of the results"]
    rows = list(csv_rows(tmp_path / "one" / "mprt.csv"))
    assert {r["method"] for r in rows} >= {"gradient"} and not {r["method"] for r in rows} & {"raises", "nan"}
    # the same numbers as a run of the good method alone
    alone = {check: {"methods": ["gradient"]} for check in ("mprt", "random_logit")}
    report.run_report(trained, x[:2], [0, 1], tmp_path / "alone", checks=["mprt", "random_logit"], settings=alone,
                      progress=False, images_per_task=1)
    for name in ("mprt.csv", "random_logit.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "alone" / name).read_bytes(), name
    # resumed from the parts on disk: the same lines, the same files
    report.run_report(trained, x[:2], [0, 1], tmp_path / "one", checks=["mprt", "random_logit"], settings=settings,
                      progress=False, images_per_task=1)
    assert [line for line in capfd.readouterr().err.splitlines() if "failed on" in line] == lines
    assert (tmp_path / "one" / "mprt.csv").read_bytes() == (tmp_path / "alone" / "mprt.csv").read_bytes()


def test_the_randomization_runners_leave_a_failing_method_out_and_keep_the_others(trained, x, registered, tmp_path,
                                                                                  capfd):
    from sanity_checks import runs
    from sanity_checks.experiments import jobs
    from sanity_checks.randomize import Strategy

    registered("nan", lambda model, images, classes: np.full(images.shape, np.nan))
    trained.save(tmp_path / "mlp.npz")
    np.save(tmp_path / "images.npy", x)

    def cascade(methods_, out):
        job = jobs.model_randomization_job(
            trained, str(tmp_path / "mlp.npz"), x, runs_=[(None, "cascading", Strategy())], blocks=None,
            order="top-down", methods=methods_, metrics=None, seed=0, fixed_class=False, method_settings=None,
            eval_images=0, data_root=str(tmp_path), image_dir=None, images_per_task=2,
            user_images={"npy": str(tmp_path / "images.npy")})
        return runs.run(job, str(out), progress=False)[0]

    result = cascade(["nan", "gradient"], tmp_path / "with")
    assert [line for line in capfd.readouterr().err.splitlines() if "failed on" in line] == [
        "note: method nan failed on images 0, 1, 2: returned NaN or infinite values; it is left out of the results"]
    alone = cascade(["gradient"], tmp_path / "alone")
    assert result.methods == alone.methods == ["gradient"] and result.rows == alone.rows
    np.testing.assert_array_equal(result.masks[result.steps[-1].label]["gradient"],
                                  alone.masks[alone.steps[-1].label]["gradient"])


# ------------------------------------------------------------------------------------ a method module, end to end
METHOD_MODULE = '''
import os
import time

from sanity_checks.methods import register_method


def gradient_squared(model, images, classes, power=2):
    time.sleep(float(os.environ.get("SLOW_METHOD", "0")))
    return model.input_gradients(images, classes) ** power


register_method("gradient_squared", gradient_squared, label="Gradient squared", defaults={"power": 2})
'''
N_IMAGES = 5


def cascade(folder, out, workers=1, shard=None, dask=None):
    """A cascading randomization of the saved numpy MLP with the module's method, as the runner builds it
    (without TensorFlow: the pool's workers start in seconds); its merged result (None: a shard left parts missing)."""
    from sanity_checks import loading, runs
    from sanity_checks.experiments import jobs
    from sanity_checks.randomize import Strategy

    folder = Path(folder)
    user_module.load_method_module(str(folder / "my_methods.py"))
    model = loading.load_model(str(folder / "mlp.npz"))
    images = np.load(folder / "images.npy")
    job = jobs.model_randomization_job(
        model, str(folder / "mlp.npz"), images, runs_=[(None, "cascading", Strategy())], blocks=None,
        order="top-down", methods=["gradient", "gradient_squared"], metrics=None, seed=0, fixed_class=False,
        method_settings=None, eval_images=0, data_root=str(folder), image_dir=None, images_per_task=1,
        user_images={"npy": str(folder / "images.npy")})
    backend = runs.Pool(job.work, workers, threads=1) if workers > 1 else None
    if dask:
        backend = runs.Dask(job.work, dask)
    merged = runs.run(job, str(out), backend, shard=shard, progress=False)
    return merged and merged[0]


def result_bytes(result):
    return ([(r["method"], r["step"], r["image"], r["metric"], np.float64(r["value"]).tobytes()) for r in result.rows],
            {step: {m: v.tobytes() for m, v in masks.items()} for step, masks in result.masks.items()})


def test_a_method_module_runs_in_a_pool_of_two_killed_resumed_to_the_serial_bytes(trained, tmp_path):
    """The pool's workers import the module the run records; killed, the run resumes from the parts the pool
    wrote, to the serial run's bytes; another version of the module is refused like any changed setting."""
    from sanity_checks import runs

    (tmp_path / "my_methods.py").write_text(METHOD_MODULE)
    trained.save(tmp_path / "mlp.npz")
    np.save(tmp_path / "images.npy", bars(N_IMAGES, 1)[0])
    script = (f"import sys; sys.path.insert(0, {str(REPO / 'tests')!r}); from test_user_methods import cascade; "
              f"cascade({str(tmp_path)!r}, {str(tmp_path / 'pool')!r}, workers=2)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SLOW_METHOD": "0.05"}
    process = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    parts, deadline = tmp_path / "pool" / "parts", time.time() + 300
    while len(list(parts.glob("images-*.npz")) if parts.exists() else []) < 1:
        assert process.poll() is None and time.time() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)   # the pool's workers follow their parent
    process.wait()
    assert 1 <= len(list(parts.glob("images-*.npz"))) < N_IMAGES, "the run was not killed mid-run"
    try:
        serial = cascade(tmp_path, tmp_path / "serial")
        assert serial.methods == ["gradient", "gradient_squared"]
        assert result_bytes(cascade(tmp_path, tmp_path / "pool")) == result_bytes(serial)   # resumed
        user_module.unload_all()
        (tmp_path / "my_methods.py").write_text(METHOD_MODULE + "\n# edited\n")
        with pytest.raises(runs.RunError, match="holds a run with another method_modules"):
            cascade(tmp_path, tmp_path / "pool")
    finally:
        user_module.unload_all()


def test_shards_with_a_method_module_merge_to_the_serial_bytes(trained, tmp_path):
    """Shard 1/2 in a fresh process that imports the module the run records (as --method-module does), shard 2/2
    here: the last one merges, to the serial run's bytes. (The CLI, by hand: run_model_randomization.py
    --method-module my_methods.py --shard 1/2, then 2/2, gives the serial run's results.csv byte for byte.)"""
    (tmp_path / "my_methods.py").write_text(METHOD_MODULE)
    trained.save(tmp_path / "mlp.npz")
    np.save(tmp_path / "images.npy", bars(N_IMAGES, 1)[0])
    script = (f"import sys; sys.path.insert(0, {str(REPO / 'tests')!r}); from test_user_methods import cascade; "
              f"assert cascade({str(tmp_path)!r}, {str(tmp_path / 'sharded')!r}, shard=(1, 2)) is None")
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO / "src")},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "parts missing" in done.stderr, done.stderr[-3000:]
    try:
        merged = cascade(tmp_path, tmp_path / "sharded", shard=(2, 2))
        assert merged.methods == ["gradient", "gradient_squared"]
        assert result_bytes(merged) == result_bytes(cascade(tmp_path, tmp_path / "serial"))
    finally:
        user_module.unload_all()


def test_dask_workers_import_the_method_module_to_the_serial_bytes(trained, tmp_path):
    """A local Dask cluster's workers import the module the run records, as a pool's do: the serial bytes."""
    pytest.importorskip("distributed")
    (tmp_path / "my_methods.py").write_text(METHOD_MODULE)
    trained.save(tmp_path / "mlp.npz")
    np.save(tmp_path / "images.npy", bars(N_IMAGES, 1)[0])
    try:
        on_dask = cascade(tmp_path, tmp_path / "dask", dask="local:2")
        assert on_dask.methods == ["gradient", "gradient_squared"]
        assert result_bytes(on_dask) == result_bytes(cascade(tmp_path, tmp_path / "serial"))
    finally:
        user_module.unload_all()


def test_a_method_registered_in_this_process_only_is_refused_before_workers_start(trained, x, registered,
                                                                                   tmp_path):
    """A notebook's (or __main__'s) method is invisible to spawned pool or Dask workers: one line naming the fix,
    before any worker starts or anything is written; a method from a recorded module, or one the run does not
    use, is no obstacle."""
    from sanity_checks import runs
    from sanity_checks.checks import jobs

    registered("notebook_method", squared_gradient)
    explicit = {"mprt": {"methods": ["notebook_method"]}}
    line = (r"^method\(s\) notebook_method registered in this process only: the workers of a pool \(--workers\) "
            r"start fresh processes that cannot see it; put it in a module and pass --method-module FILE.py "
            r"\(from Python: .*load_method_module.*\), or run serially$")
    for settings in (explicit, {"mprt": {}}):   # named, or chosen by default (a check that names no method)
        job = jobs.in_memory_job(trained, x, [0, 1, 2], checks=["mprt"], seed=0, check_settings=settings)
        with pytest.raises(SanityCheckError, match=line):
            runs.Pool(job.work, 2)
    if importlib.util.find_spec("distributed"):
        with pytest.raises(SanityCheckError, match="the workers of Dask"):
            runs.Dask(job.work, "local:2")
    # a run that does not use it, and a method from a module the run records, go to the workers
    job = jobs.in_memory_job(trained, x, [0, 1, 2], checks=["mprt"], seed=0,
                             check_settings={"mprt": {"methods": ["gradient"]}})
    runs.Pool(job.work, 2).close()
    methods.unregister_method("notebook_method")
    (tmp_path / "my_methods.py").write_text(METHOD_MODULE)
    user_module.load_method_module(str(tmp_path / "my_methods.py"))
    job = jobs.in_memory_job(trained, x, [0, 1, 2], checks=["mprt"], seed=0,
                             check_settings={"mprt": {"methods": ["gradient_squared"]}})
    runs.Pool(job.work, 2).close()
    # replaced in this process after the module registered it: refused again
    registered("gradient_squared", squared_gradient)
    with pytest.raises(SanityCheckError, match="gradient_squared registered in this process only"):
        runs.Pool(job.work, 2)


def test_readme_own_method_example_works_in_a_fresh_folder(tmp_path):
    """The README's 'Your own method': its module and commands, pasted into a folder holding src/ and data/."""
    import re

    section = (REPO / "README.md").read_text().split("## Your own method\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert len(code.strip().splitlines()) <= 11 and len(commands) == 2
    (tmp_path / code.splitlines()[0].split()[1].rstrip(":")).write_text(code)   # "# my_methods.py: ..."
    os.symlink(REPO / "src", tmp_path / "src")
    os.symlink(REPO / "data", tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for command in commands:
        command = f"{sys.executable} {command.split(' ', 1)[1]}"   # .venv/bin/python: the interpreter running the tests
        done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (command, done.stderr[-2000:])
    report = (tmp_path / "results" / "my_method_report" / "report.md").read_text()
    assert "| Abs. Gradient⊙Input |" in report and "| Gradient |" in report

"""Long runs (sanity_checks.runs): parts, resume, damaged parts, settings, shards, the process pool,
and, end to end through run_model_randomization.py, byte-identical outputs whatever ran the tasks
(serial with one block of 16 images per task, a 2-worker pool with a worker SIGKILLed, shards, Dask,
tasks of 4 and 8 images, a run from --first-image inside a block) and after a SIGKILLed run resumes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import runs
from sanity_checks.runs import job as run_module   # the module whose write_part run() calls

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ a toy job
class ToyRunner:
    """image id -> its square; logs every task it computes (to count recomputations)."""

    def __init__(self, config):
        self.config = config

    def run_task(self, task):
        with open(self.config["log"], "a") as f:
            f.write(f"{task.key} {os.getpid()}\n")
        time.sleep(self.config.get("delay", 0))
        return {"square": np.array([i * i for i in task.images], np.float64)}


def toy_runner(config):
    return ToyRunner(config)


class ToyJob(runs.Job):
    def __init__(self, tmp_path, n=5, per_task=2, seed=0, delay=0.0):
        self.n, self.per_task = n, per_task
        self.work = runs.Work("test_runs:toy_runner", {"log": str(tmp_path / "log.txt"), "delay": delay})
        self.settings = {"n": n, "seed": seed}

    def tasks(self):
        return runs.image_tasks(range(self.n), self.per_task)

    def merge(self, parts):
        found = runs.parts_by_image(parts)
        return [float(found[i][0]["square"][found[i][1]]) for i in range(self.n)]


def computed(tmp_path):
    log = tmp_path / "log.txt"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def test_parts_resume_and_mixed_groupings_merge_alike(tmp_path):
    out = tmp_path / "out"
    assert runs.run(ToyJob(tmp_path), out, progress=False) == [0, 1, 4, 9, 16]
    assert sorted(computed(tmp_path)) == ["images-000000-000001", "images-000002-000003", "images-000004-000004"]
    assert runs.run(ToyJob(tmp_path), out, progress=False) == [0, 1, 4, 9, 16]
    assert len(computed(tmp_path)) == 3   # nothing recomputed
    # parts of another grouping cover the images already: a 3-per-task run computes only what is missing
    os.remove(out / "parts" / "images-000002-000003.npz")
    assert runs.run(ToyJob(tmp_path, per_task=3), out, progress=False) == [0, 1, 4, 9, 16]
    assert computed(tmp_path)[3:] == ["images-000000-000002", "images-000003-000004"]   # 2 and 3 were missing
    assert runs.run(ToyJob(tmp_path, per_task=1), out, progress=False) == [0, 1, 4, 9, 16]
    assert len(computed(tmp_path)) == 5   # every image covered by the parts of two groupings
    assert not [p for p in (out / "parts").iterdir() if p.name.startswith(".")]   # no temporary file left


def test_damaged_parts_are_recomputed_never_merged(tmp_path):
    out = tmp_path / "out"
    runs.run(ToyJob(tmp_path), out, progress=False)
    part = out / "parts" / "images-000002-000003.npz"
    part.write_bytes(part.read_bytes()[:-40])                       # truncated
    other = out / "parts" / "images-000000-000001.npz"
    data = bytearray(other.read_bytes())
    at = data.index(np.float64(1.0).tobytes())                      # flip a stored value: the zip CRC catches it
    data[at:at + 8] = np.float64(7.0).tobytes()
    other.write_bytes(bytes(data))
    assert runs.run(ToyJob(tmp_path), out, progress=False) == [0, 1, 4, 9, 16]
    assert sorted(computed(tmp_path)[3:]) == ["images-000000-000001", "images-000002-000003"]
    assert (out / "parts" / "images-000002-000003.npz.damaged").exists()
    # a part is data only: a pickled object array in it is refused at reading
    np.savez(out / "parts" / "images-000004-000004.npz", square=np.array([object()], dtype=object))
    assert runs.read_part(out / "parts" / "images-000004-000004.npz", "x") is None


def test_other_settings_are_refused_naming_the_setting(tmp_path):
    out = tmp_path / "out"
    runs.run(ToyJob(tmp_path), out, progress=False)
    with pytest.raises(runs.RunError, match=r"another seed \(0 there, 1 now\)"):
        runs.run(ToyJob(tmp_path, seed=1), out, progress=False)
    assert len(computed(tmp_path)) == 3


def test_shards_share_an_output_folder_and_the_last_one_merges(tmp_path, capsys):
    out = tmp_path / "out"
    assert runs.run(ToyJob(tmp_path), out, shard=(1, 2), progress=False) is None
    assert "images-000002-000003" in capsys.readouterr().err
    with pytest.raises(runs.RunError, match="1 of 3 parts missing.*images-000002-000003"):
        runs.run(ToyJob(tmp_path), out, merge_only=True, progress=False)
    assert runs.run(ToyJob(tmp_path), out, shard=(2, 2), progress=False) == [0, 1, 4, 9, 16]
    assert sorted(computed(tmp_path)) == ["images-000000-000001", "images-000002-000003", "images-000004-000004"]
    assert runs.run(ToyJob(tmp_path), out, merge_only=True, progress=False) == [0, 1, 4, 9, 16]
    with pytest.raises(runs.RunError, match="K/N"):
        runs.parse_shard("3/2")


def test_pool_rebuilds_after_a_worker_is_killed(tmp_path, capsys):
    """Two spawn workers; one is SIGKILLed mid-run: the pool is rebuilt and every task finishes."""
    job = ToyJob(tmp_path, n=6, per_task=1, delay=0.4)
    pool = runs.Pool(job.work, 2, threads=1)
    killed = []
    original = run_module.write_part

    def write_and_kill(out, task, arrays, run_id):
        path = original(out, task, arrays, run_id)
        if not killed:   # after the first part: kill a worker busy with another task
            pid = int((tmp_path / "log.txt").read_text().split()[-1])
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)
        return path

    run_module.write_part, saved = write_and_kill, run_module.write_part
    try:
        assert runs.run(job, tmp_path / "out", backend=pool, progress=False) == [i * i for i in range(6)]
    finally:
        run_module.write_part = saved
    assert "a pool worker died" in capsys.readouterr().err
    assert len({line.split()[1] for line in (tmp_path / "log.txt").read_text().splitlines()}) >= 3


# ------------------------------------------------------------------------------------ end to end
SCRIPT = REPO / "src" / "run_model_randomization.py"
OUTPUTS = ["results.csv", "summary.json", "mask_grid_abs.png", "mask_grid_signed.png", "curves_spearman_abs.png",
           "curves_spearman_signed.png", "curves_ssim.png", "run.json"]
N_IMAGES = 20   # two blocks of image ids (by_image.BLOCK), the last padded


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """(command prefix, environment) of a quick cascading run of a random CNN on fake MNIST."""
    from sanity_checks.data import IDX_FILES, write_idx
    from sanity_checks.model import GraphModel

    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(3)
    arrays = {"x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), "y_train": np.arange(20) % 10,
              "x_test": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "y_test": np.arange(30) % 10}
    for key, base in IDX_FILES.items():
        write_idx(root / "data" / "mnist" / f"{base}.gz", np.asarray(arrays[key], np.uint8))
    with GraphModel("cnn", seed=8) as model:
        model.save(root / "cnn", {"data": "mnist", "labels": "true"})
    command = [sys.executable, str(SCRIPT), "--model", str(root / "cnn"), "--data-root", str(root / "data"),
               "--images", str(N_IMAGES), "--quick", "--methods", "gradient", "smoothgrad", "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return command, env


def start(cli, out, *extra):
    command, env = cli
    return subprocess.Popen(command + ["--out", str(out), *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-3000:]
    return stderr


def image_parts(out):
    folder = Path(out) / "parts"
    return sorted(p.name for p in folder.glob("images-*.npz")) if folder.exists() else []


def assert_same_outputs(a, b):
    for name in OUTPUTS:
        assert (Path(a) / name).read_bytes() == (Path(b) / name).read_bytes(), name


@pytest.fixture(scope="module")
def serial(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "out"
    finish(start(cli, out))   # one block of 16 images per task, by default
    assert image_parts(out) == ["images-000000-000015.npz", "images-000016-000019.npz"]
    return out


def wait_for_parts(out, count, process, timeout=600):
    deadline = time.time() + timeout
    while len(image_parts(out)) < count:
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline, "no part written"
        time.sleep(0.02)
    return image_parts(out)


def test_a_sigkilled_run_resumes_to_the_same_bytes_and_recomputes_only_what_is_missing(cli, serial, tmp_path):
    out = tmp_path / "out"
    process = start(cli, out, "--images-per-task", "4")
    wait_for_parts(out, 2, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = image_parts(out)
    assert 2 <= len(done) < N_IMAGES // 4, "the run was not killed mid-run"
    stamps = {name: os.stat(out / "parts" / name).st_mtime_ns for name in done}
    truncated = out / "parts" / done[0]
    truncated.write_bytes(truncated.read_bytes()[:100])
    stderr = finish(start(cli, out, "--images-per-task", "4"))
    assert f"part {done[0]} is damaged" in stderr
    for name in done[1:]:   # finished parts were not recomputed
        assert os.stat(out / "parts" / name).st_mtime_ns == stamps[name]
    assert os.stat(truncated).st_size > 100
    assert_same_outputs(out, serial)


def test_pool_of_two_with_a_worker_killed_gives_the_serial_bytes(cli, serial, tmp_path):
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    process = start(cli, out, "--workers", "2", "--images-per-task", "4")
    wait_for_parts(out, 1, process)
    workers = [p for p in psutil.Process(process.pid).children()
               if any("spawn_main" in part for part in p.cmdline())]
    assert len(workers) == 2
    workers[0].send_signal(signal.SIGKILL)
    assert len(image_parts(out)) < N_IMAGES // 4, "the pool finished before a worker was killed"
    stderr = finish(process)
    assert "a pool worker died" in stderr
    assert_same_outputs(out, serial)


def test_shards_and_eight_images_per_task_give_the_serial_bytes(cli, serial, tmp_path):
    out = tmp_path / "out"
    first = start(cli, out, "--shard", "1/2", "--images-per-task", "8")
    assert "parts missing" in finish(first) or (out / "results.csv").exists()
    finish(start(cli, out, "--shard", "2/2", "--images-per-task", "8"))
    assert image_parts(out) == ["images-000000-000007.npz", "images-000008-000015.npz", "images-000016-000019.npz"]
    assert_same_outputs(out, serial)


def test_a_run_from_an_image_inside_a_block_gives_its_images_the_serial_bytes(cli, serial, tmp_path):
    """Images 14..19 from --first-image 14: tasks cut at id 16, each image computed in its block of ids
    (with copies where this run has no image), so its rows are those of the run from image 0."""
    out = tmp_path / "out"
    finish(start(cli, out, "--first-image", "14", "--images", "6"))
    assert image_parts(out) == ["images-000000-000001.npz", "images-000002-000005.npz"]   # ids 14-15, 16-19
    key = ("image", "method", "step", "metric")
    every = {tuple(r[k] for k in key): r["value"] for r in csv_rows(serial / "results.csv")}
    later = list(csv_rows(out / "results.csv"))
    assert sorted({int(r["image"]) for r in later}) == list(range(14, 20))
    assert [r["value"] for r in later] == [every[tuple(r[k] for k in key)] for r in later]   # digit for digit


def csv_rows(path):
    import csv
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_dask_local_cluster_gives_the_serial_bytes(cli, serial, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    finish(start(cli, out, "--dask", "local:2"))
    assert_same_outputs(out, serial)


def test_changed_settings_are_refused_on_one_line(cli, serial):
    from sanity_checks.cli.randomization import model_randomization_main

    command, _ = cli
    with pytest.raises(runs.RunError, match=r"holds a run with another seed \(0 there, 5 now\); use another --out"):
        model_randomization_main(command[2:] + ["--out", str(serial), "--seed", "5"])
    assert json.loads((serial / "run.json").read_text())["settings"]["seed"] == 0
    with pytest.raises(runs.RunError, match=r"--images-per-task must be a multiple of 16 or divide it .* got 3$"):
        model_randomization_main(command[2:] + ["--out", str(serial.parent / "other"), "--images-per-task", "3"])
    assert not (serial.parent / "other" / "run.json").exists()


def test_a_dask_scheduler_that_does_not_answer_is_one_line_after_the_timeout():
    import socket

    pytest.importorskip("distributed")
    with socket.socket() as s:   # a port on this machine that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(runs.RunError, match=rf"no Dask scheduler answered at {address} within 2 s .*"
                                            rf"dask worker {address}.*--dask local:N"):
        runs.make_backend(runs.Work("sanity_checks.experiments.jobs:model_randomization_runner", {}), dask=address,
                          dask_timeout=2)

"""The report: verdict rules on known inputs, and the command line end to end on a small setting."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import report
from sanity_checks.checks.controls import EDGE, INPUT_NOISE, RANDOM
from sanity_checks.cli.report import main as report_main
from sanity_checks.errors import SanityCheckError
from sanity_checks.model import GraphModel


def test_verdicts_follow_the_controls():
    column = report.TABLE[0]           # randomization top-down: lower is better
    indices = report.bootstrap_indices(20, 0, "t")
    control = {i: 1.0 for i in range(20)}
    assert report.judge({i: 0.1 + 0.01 * i for i in range(20)}, control, column, indices).verdict == "pass"
    assert report.judge(dict(control), control, column, indices).verdict == "fail"      # as unchanged as the edge map
    noisy = {i: 1.0 + (0.2 if i % 2 else -0.2) for i in range(20)}
    assert report.judge(noisy, control, column, indices).verdict == "inconclusive"
    assert report.combine(["pass", "inconclusive"]) == "inconclusive" and report.combine(["pass", "fail"]) == "fail"
    faith = report.TABLE[-1]           # faithfulness against the random control
    assert report.judge({i: 2.0 for i in range(20)}, {i: 3.0 + 0.1 * (i % 3) for i in range(20)}, faith,
                        indices).verdict == "pass"
    assert report.judge({i: 4.0 for i in range(20)}, {i: 3.0 + 0.1 * (i % 3) for i in range(20)}, faith,
                        indices).verdict == "fail"


def test_a_verdict_needs_the_minimum_effect_against_an_independent_computation():
    """Made-up scores; the verdict recomputed here from the rule as the report states it: with
    improvement g = -mean(method - control) (lower is better) and its 95% bootstrap interval,
    pass when the interval lies above δ, fail when below δ (or d = 0 everywhere), else inconclusive."""
    rng = np.random.default_rng(5)
    n = 40
    column = report.TABLE[0]                     # randomization top-down: lower is better
    indices = report.bootstrap_indices(n, 0, "effect")
    control = rng.uniform(0.3, 0.9, n)
    seen = set()
    for shift, spread in [(0.01, 0.002), (0.02, 0.01), (0.1, 0.01), (0.05, 0.06), (0.0, 0.0)]:
        method = control - shift + rng.normal(0, spread, n)
        d = method - control
        lo, hi = np.percentile(d[indices].mean(axis=1), [2.5, 97.5])   # interval of mean(d)
        for delta in (0.0, 0.01, 0.05, 0.2):
            expected = ("fail" if np.all(d == 0) else "pass" if -hi > delta else "fail" if -lo < delta
                        else "inconclusive")
            cell = report.judge(dict(enumerate(method)), dict(enumerate(control)), column, indices, delta)
            assert cell.verdict == expected, (shift, spread, delta)
            seen.add(expected)
    assert seen == {"pass", "fail", "inconclusive"}
    # the case: a difference of 0.01 on many images passed "different from the control", and
    # fails "clearly below it" (the improvement is certainly smaller than the default δ)
    many = report.bootstrap_indices(400, 0, "many")
    control = dict(enumerate(rng.uniform(0.3, 0.9, 400)))
    slightly = {i: v - 0.01 + rng.normal(0, 0.005) for i, v in control.items()}
    assert report.judge(slightly, control, column, many, 0.0).verdict == "pass"
    assert report.judge(slightly, control, column, many, report.MIN_EFFECT["mprt"]).verdict == "fail"
    # eMPRT: higher is better, δ above the control
    emprt = next(c for c in report.TABLE if c.check == "emprt")
    edge = {i: 0.0 for i in range(n)}
    rising = {i: 0.2 + 0.01 * (i % 5) for i in range(n)}
    assert report.judge(rising, edge, emprt, indices, 0.05).verdict == "pass"
    assert report.judge(rising, edge, emprt, indices, 0.3).verdict == "fail"


def test_faithfulness_effect_is_a_fraction_of_the_logit_drop_and_the_rules_state_it():
    from sanity_checks.checks.common import row
    rows = [row("faithfulness", image, RANDOM, "logit", value, step_index=k)
            for image, curve in ((0, (5.0, 2.0, 1.0)), (1, (3.0, 3.5, 0.0))) for k, value in enumerate(curve)]
    deltas = report.min_effects(rows, {"faithfulness": 0.1})
    assert deltas["faithfulness"] == pytest.approx(0.1 * (4.0 + 3.0) / 2)
    assert deltas["randomization top-down"] == report.MIN_EFFECT["mprt"]
    assert report.parse_min_effect(["0.1", "faithfulness=0.02"]) == {**dict.fromkeys(report.MIN_EFFECT, 0.1),
                                                                    "faithfulness": 0.02}
    with pytest.raises(SanityCheckError, match="DELTA >= 0"):
        report.parse_min_effect(["-1"])
    text = report.rules({"mprt": 0.07})
    assert "randomization 0.07" in text and "entirely below −δ" in text


def test_the_table_the_minimum_effects_and_the_command_line_come_from_the_check_specs():
    """A check is declared once (its SPEC): its columns, δ and options reach the table and the parser."""
    import argparse

    from sanity_checks.checks import CHECKS
    from sanity_checks.checks.spec import CheckSpec, Column, Option, command_line_options, settings_from_options
    from sanity_checks.cli.report import parser

    specs = list(CHECKS.values())
    assert report.TABLE == tuple(column for spec in specs for column in spec.columns)
    assert all(column.check == spec.name for spec in specs for column in spec.columns)
    assert report.MIN_EFFECT == {spec.name: spec.min_effect for spec in specs if spec.min_effect is not None}
    p = parser()
    help_text = " ".join(p.format_help().split())
    args = p.parse_args(["--model", "m", "--out", "o", "--smprt-samples", "3", "--randomization", "uniform"])
    settings = report.check_settings(args, None)
    assert list(settings) == list(CHECKS)
    for spec in specs:
        assert set(settings[spec.name]) == {"methods", "method_settings"} | {o.setting for o in spec.options}
        for option in spec.options:
            default = spec.defaults[option.setting]
            assert option.flag in help_text and " ".join(option.help.format(default=default).split()) in help_text
            asked = {"nsamples": 3, "randomization": "uniform"}.get(option.setting, default)
            assert settings[spec.name][option.setting] == asked, (spec.name, option.flag)
    assert settings["random_logit"] == {"methods": None, "method_settings": None}   # a check without options
    # a made-up check, registered nowhere: one spec gives its option, default and setting; the shared
    # --randomization is added once (argparse refuses a flag added twice)
    level = Option("--made-up-level", "level", "made up: level (default {default})", type=int)
    made_up = CheckSpec("made_up", run=None, row_group=("method",), defaults={"level": 2, "randomization": "reinit"},
                        columns=(Column("made up", "made_up", "ssim", "lower", (EDGE,)),), min_effect=0.1,
                        options=(level, CHECKS["mprt"].options[0]))
    q = argparse.ArgumentParser()
    for option, default in command_line_options(specs + [made_up]):
        q.add_argument(option.flag, **option.argparse_kwargs(default))
    assert "made up: level (default 2)" in q.format_help() and level.dest == "made_up_level"
    assert settings_from_options(made_up, q.parse_args(["--made-up-level", "5"])) == {"level": 5,
                                                                                      "randomization": "reinit"}
    # a shared flag with another default is refused
    other = CheckSpec("other", None, ("method",), {"randomization": "shuffle"}, options=(CHECKS["mprt"].options[0],))
    with pytest.raises(ValueError, match="--randomization"):
        command_line_options(specs + [other])


def test_report_cli_end_to_end(model_folder, data_root, tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["--model", str(model_folder), "--out", str(out), "--images", "3", "--quick", "--smprt-samples", "2",
            "--deletion-steps", "5", "--methods", "gradient", "gradient_x_input", "guided_backprop",
            "--data-root", str(data_root)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path, cells = report_main(argv)
    text = open(path).read()
    assert "| method | randomization top-down | randomization bottom-up | sMPRT | eMPRT | random logit | " \
           "input invariance | faithfulness |" in text
    for name in ("Gradient", "Gradient⊙Input", "Guided BackProp", "Control: uniform noise",
                 "Control: input × uniform noise", "Control: edge detector"):
        assert f"| {name} |" in text
    assert "Verdict rules" in text and "## Input invariance, per baseline" in text
    assert "minimum effect δ = 0.05" in text and "judged against the uniform noise control, minimum effect δ = 0.05 ×" \
        in text
    # the controls behave as the rules say they must
    assert cells[(EDGE, "randomization top-down")].verdict == "fail"
    assert cells[(EDGE, "randomization bottom-up")].verdict == "fail"
    assert cells[(RANDOM, "faithfulness")].verdict == "fail"
    assert cells[(INPUT_NOISE, "random logit")].verdict == "fail"
    assert cells[(EDGE, "input invariance")].verdict == "pass"
    assert cells[("gradient_x_input", "input invariance")].verdict == "fail"
    # the header shows readable values only, warns that 3 images cannot carry the intervals, and the settings
    # are in run.json (key "report"), not in report.md
    header = text.split("\n")[2]
    assert header.startswith(f"Model `{model_folder}` (") and "None" not in header and "3 images (ids 0..2)" in header
    assert "**Too few images for these intervals.** This report stands on 3 images" in text
    assert "it resamples these 3 scores only" in text
    assert "```json" not in text and "in `run.json` (key `report`)" in text
    recorded = json.load(open(out / "run.json"))
    assert recorded["report"]["about"]["images"] == 3 and "settings" in recorded and "mprt" in recorded["report"]["checks"]
    said = recorded["report"]["about"]["warnings"]   # the run's warnings, each kind with its counts
    assert isinstance(said, dict) and all(f"{kind}" in text for kind in said)
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "report.html", "cascading_curves.png", "mask_grid.png", "random_logit_maps.png",
            "input_invariance_maps.png",
            "mprt.csv", "mprt.json", "faithfulness.csv"} <= names
    # a second run finds every part done, computes nothing and writes the same report
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()}
    report_main(argv)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()} == stamps
    assert open(path).read() == text
    with pytest.raises(SanityCheckError, match=r"another seed \(0 there, 1 now\)"):
        report_main(argv[:-2] + ["--seed", "1", "--data-root", argv[-1]])


def test_a_check_that_cannot_run_is_reported_and_the_rest_still_runs(tmp_path, random_digits):
    import dataclasses

    from sanity_checks.models import get_architecture

    cnn = get_architecture("cnn")
    # the input squared before the first layer: no bias can compensate a shift there (W m measured on the
    # constant image is not the change of W x^2), and the logits check refuses it
    model = GraphModel(dataclasses.replace(cnn, build=lambda inputs: cnn.build(inputs * inputs)), seed=2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path, cells = report.run_report(model, random_digits[:2], [0, 1], tmp_path, ["input_invariance", "faithfulness"],
                                            settings={c: {"methods": ["gradient"]} for c in report.CHECKS},
                                            progress=None)
    finally:
        model.close()
    text = open(path).read()
    assert "## Checks not run" in text and "- **input_invariance**: the shifted model's logits differ" in text
    assert ("gradient", "faithfulness") in cells and ("gradient", "input invariance") not in cells


# ------------------------------------------------------------------------------------ long runs
def report_files(out):
    """{name: bytes} of every file the report writes (parts excluded)."""
    return {p.name: p.read_bytes() for p in Path(out).iterdir() if p.is_file()}


def test_report_bytes_do_not_depend_on_grouping_or_workers_and_a_removed_part_is_recomputed(
        model_folder, data_root, tmp_path):
    """Two cheap checks on 4 images: one task (= each check's run on all images), 1 image per task,
    a removed part recomputed alone, and a 2-worker pool with 2 images per task give the same bytes.
    Images are explained in 16-row calls (by_image's blocks), which round with the thread count: the
    pool's one-thread workers are compared with a one-thread process, not with this test process (whose
    threads earlier tests set)."""
    from test_runs import image_parts

    argv = ["--model", str(model_folder), "--data-root", str(data_root), "--images", "4", "--quick",
            "--checks", "random_logit", "faithfulness", "--deletion-steps", "2", "--methods", "gradient",
            "gradient_x_input", "--threads", "1"]

    def run(out, *extra):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return report_main(argv + ["--out", str(out), *extra])

    run(tmp_path / "serial", "--images-per-task", "4")
    assert image_parts(tmp_path / "serial") == ["images-000000-000003.npz"]
    expected = report_files(tmp_path / "serial")
    assert {"report.md", "random_logit.csv", "random_logit_maps.npz", "random_logit_maps.png",
            "faithfulness.csv", "run.json"} <= set(expected)

    one = tmp_path / "one"
    run(one, "--images-per-task", "1")
    assert report_files(one) == expected
    parts = image_parts(one)
    assert len(parts) == 4
    stamps = {name: os.stat(one / "parts" / name).st_mtime_ns for name in parts}
    os.remove(one / "parts" / parts[1])
    run(one, "--images-per-task", "1")
    assert image_parts(one) == parts
    for name in parts[:1] + parts[2:]:   # the others were not recomputed
        assert os.stat(one / "parts" / name).st_mtime_ns == stamps[name]
    assert report_files(one) == expected

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    single = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "src" / "sanity_report.py"),
                             *argv, "--out", str(tmp_path / "single")], capture_output=True, text=True, env=env,
                            timeout=600)
    assert single.returncode == 0, single.stderr[-2000:]
    run(tmp_path / "pool", "--images-per-task", "2", "--workers", "2")
    assert image_parts(tmp_path / "pool") == ["images-000000-000001.npz", "images-000002-000003.npz"]
    assert report_files(tmp_path / "pool") == report_files(tmp_path / "single")


def test_cascading_curves_give_every_line_its_own_style():
    """Nine methods and three controls: twelve lines, no two with the same colour and line style, and
    no method drawn in the grey or black the controls use."""
    import matplotlib.colors as mcolors

    from sanity_checks.report import cascade_figure

    methods = ["gradient", "smoothgrad", "vargrad", "gradient_x_input", "integrated_gradients", "ig_smoothgrad",
               "guided_backprop", "gradcam", "guided_gradcam"]
    names = methods + [EDGE, RANDOM, INPUT_NOISE]
    rows = [{"check": "mprt", "order": "top-down", "metric": "spearman_abs", "method": name, "step_index": k,
             "state": f"s{k}", "value": 1.0 - k / 4} for name in names for k in range(3)]
    fig = cascade_figure(rows, names)
    lines = [line for line in fig.axes[0].get_lines() if line.get_label() and not line.get_label().startswith("_")]
    assert len(lines) == 12
    styles = {(mcolors.to_hex(line.get_color()), line.get_linestyle()) for line in lines}
    assert len(styles) == 12
    controls = {"#000000", "#808080", mcolors.to_hex("tab:gray")}
    assert not any(mcolors.to_hex(line.get_color()) in controls for line in lines[:9])


def test_figures_show_the_input_scaled_for_display_whatever_its_range():
    from sanity_checks.report.figures import display_image

    pixels = np.arange(48, dtype=np.float32).reshape(4, 4, 3) * 5.0   # 0-235, as --npy images in 0-255
    shown = display_image(pixels)
    assert shown.min() == 0.0 and shown.max() == 1.0 and shown.shape == (4, 4, 3)
    np.testing.assert_allclose(display_image(pixels / 255.0 * 2 - 1), shown, atol=1e-6)   # [-1, 1]: the same
    assert display_image(np.full((2, 2, 1), 7.0)).shape == (2, 2) and not display_image(np.full((2, 2, 1), 7.0)).any()


def test_the_report_names_a_model_under_the_working_folder_by_a_relative_path(tmp_path, monkeypatch):
    """An absolute --model inside the folder the report runs from is shown relative to it (committed reports
    name no machine's folders); paths elsewhere and non-paths stay as given."""
    from sanity_checks.report.about import shown_path
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.py").write_text("")
    outside = tmp_path.parent
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "models") == "models"
    assert shown_path(f"{tmp_path / 'models' / 'net.py'}:make_model") == "models/net.py:make_model"
    assert shown_path(outside) == str(outside)
    assert shown_path("torchvision:resnet18") == "torchvision:resnet18"
    assert shown_path("models") == "models"


def test_the_runs_warnings_are_a_note_of_the_report():
    from sanity_checks.report.about import notes
    about = {"images": 20, "warnings": {"GradCAM: all-zero maps": {"states": 3, "of_states": 5, "images": [0, 1],
                                                                   "elsewhere": 0}}}
    said = [line for line in notes(about) if line.startswith("**Warnings during the run**")]
    assert said == ["**Warnings during the run** (1 kind; where they occurred is in run.json): "
                    "GradCAM: all-zero maps (at 3 of 5 model states)."]
    assert not [line for line in notes({"images": 20, "warnings": {}}) if "Warnings" in line]

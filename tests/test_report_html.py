"""report.html in a real browser (headless Chromium over its DevTools pipe, ``tests/browser.py``): the
verdict table is on screen in the verdicts' colours, it sorts by a check, the page loads nothing from
outside and reports no error. And figures stay readable whatever the number of model states."""
import io
import re
import warnings

import numpy as np
import pytest
from browser import Browser, chromium

from sanity_checks import report
from sanity_checks.checks.common import CheckResult, row
from sanity_checks.checks.controls import CONTROLS, EDGE, INPUT_NOISE, RANDOM
from sanity_checks.checks.jobs import Merged
from sanity_checks.checks.mprt import grid_key
from sanity_checks.report.html import VERDICT_COLOURS, render

N_IMAGES = 12


def mprt_result(n_states=3):
    """Made-up cascading results: Gradient's map changes (pass), Guided BackProp's barely (fail), VarGrad's
    as much as the input × noise control on average but with a wide spread (inconclusive); the edge
    control never changes. Grid maps at every state, a gradient of grey levels, with two images."""
    rng = np.random.default_rng(0)
    last = {"gradient": lambda: rng.uniform(0.0, 0.2), "guided_backprop": lambda: rng.uniform(0.94, 0.96),
            "vargrad": lambda: 0.5 + rng.choice([-0.5, 0.45]), EDGE: lambda: 1.0,
            INPUT_NOISE: lambda: rng.uniform(0.5, 0.55), RANDOM: lambda: rng.uniform(-0.05, 0.05)}
    rows, maps = [], {"images": rng.uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)}
    for order in ("top-down", "bottom-up"):
        for k in range(n_states):
            state = "original" if k == 0 else f"block{k}"
            for name, draw in last.items():
                for image in range(N_IMAGES):
                    value = 1.0 if k == 0 else draw() if k == n_states - 1 else 0.5 * (1.0 + draw())
                    rows.append(row("mprt", image, name, "spearman_abs", value, state=state, order=order,
                                    step_index=k))
                maps[f"{grid_key(order, k, state)}|{name}"] = np.full((2, 8, 8), k / n_states, np.float16)
    return CheckResult(rows, {"keep_maps": 2}, maps)


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("html_report")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path, cells = report.write_outputs(str(out), Merged({"mprt": mprt_result()}, {"faithfulness": "a reason"}),
                                           list(range(N_IMAGES)), header="Model `made up`; 12 images.")
    return out, cells


def test_the_page_is_one_self_contained_file_that_says_what_report_md_says(report_folder):
    out, cells = report_folder
    page = (out / "report.html").read_text()
    text = (out / "report.md").read_text()
    assert (cells[("gradient", "randomization top-down")].verdict, cells[("guided_backprop", "randomization top-down")]
            .verdict, cells[("vargrad", "randomization top-down")].verdict) == ("pass", "fail", "inconclusive")
    # every figure report.md names is embedded, and nothing is fetched from anywhere
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert set(figures) == {"cascading_curves.png", "mask_grid.png"}
    assert page.count('src="data:image/png;base64,') == len(figures)
    assert not re.search(r"""(src|href)=["'](?!data:)""", page) and "<link" not in page and "@import" not in page
    # the markdown's words are there: the table's cells, the rules, the checks not run
    assert "0.1" in page and "Verdict rules" in page and "a reason" in page
    for name in ("Gradient", "Guided BackProp", "VarGrad", "Control: edge detector"):
        assert f"<td>{name}</td>" in page


def test_a_verdict_the_page_does_not_know_is_shown_and_sorted_after_the_known_ones():
    """The page reads verdict strings generically: a cell "**invalid** (3 of 12 images)" gets its colour,
    an unknown word none, and both keep their text."""
    page = render("| method | a |\n|---|---|\n| x | 0.5 [0.4, 0.6] **pass** |\n"
                  "| y | n/a **invalid** (3 of 12 images constant) |\n| z | 0.1 **weird** |\n", ".")
    assert 'class="verdict v-invalid" data-verdict="invalid"' in page and "(3 of 12 images constant)" in page
    assert "<td>0.1 <strong>weird</strong></td>" in page


def _colour(hex_colour):
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.skipif(chromium() is None, reason="no Chromium binary (Debian: apt-get install chromium; make test "
                                               "installs it when it can)")
def test_the_page_opens_in_chromium_shows_the_coloured_table_sorts_and_reports_no_error(report_folder):
    import matplotlib.image as mpimg

    out, cells = report_folder
    with Browser() as browser:
        page = browser.open((out / "report.html").as_uri())
        table = "document.querySelector('table.sortable')"
        methods = f"Array.from({table}.tBodies[0].rows).map(r => r.cells[0].textContent)"
        assert page.evaluate(methods) == [report.label(n) for n in ["gradient", "guided_backprop", "vargrad",
                                                                     *CONTROLS]]
        # the screenshot shows every verdict colour of the table, where the DOM puts the cells
        shot = (mpimg.imread(io.BytesIO(page.screenshot())) * 255).round().astype(int)[..., :3]
        boxes = page.evaluate(f"Array.from({table}.querySelectorAll('td.verdict')).map(td => {{"
                              "const b = td.getBoundingClientRect(); return [td.dataset.verdict, "
                              "Math.round(b.left + 3 + window.scrollX), Math.round(b.top + 3 + window.scrollY)]; })")
        assert {v for v, _, _ in boxes} == {"pass", "fail", "inconclusive"}
        for verdict, x, y in boxes:
            assert tuple(shot[y, x]) == _colour(VERDICT_COLOURS[verdict]), (verdict, x, y)
        assert sum(1 for verdict, _, _ in boxes if verdict == "pass") == \
            sum(1 for cell in cells.values() if cell.verdict == "pass")
        # click "randomization top-down": passes first, then inconclusive, then fails; again: reversed
        page.evaluate(f"{table}.tHead.rows[0].cells[1].click()")
        verdicts = f"Array.from({table}.tBodies[0].rows).map(r => r.cells[1].dataset.verdict)"
        ranked = page.evaluate(verdicts)
        assert ranked == sorted(ranked, key=["pass", "inconclusive", "fail"].index)
        assert page.evaluate(methods)[0] in ("Gradient", "Control: uniform noise")
        page.evaluate(f"{table}.tHead.rows[0].cells[1].click()")
        assert page.evaluate(verdicts) == ranked[::-1]
        assert page.errors() == []
        # the error check sees errors: a page that throws and loads a missing file
        broken = out / "broken.html"
        broken.write_text('<html><body><script>undefinedFunction()</script><img src="missing.png"></body></html>')
        assert len(browser.open(broken.as_uri()).errors()) >= 2


def test_a_mask_grid_of_a_hundred_states_shows_a_dozen_with_the_first_and_last_and_curves_show_all():
    from types import SimpleNamespace

    from sanity_checks.experiments.result_figures import randomization_figures
    from sanity_checks.figure_states import grid_states
    from sanity_checks.randomize import Step

    assert grid_states(5) == [0, 1, 2, 3, 4]
    shown = grid_states(100)
    assert len(shown) <= 12 and shown[0] == 0 and shown[-1] == 99 and np.ptp(np.diff(shown)) <= 1
    steps = [Step("original", ())] + [Step(f"block{k}", ()) for k in range(1, 100)]
    rows = [{"method": m, "step": s.label, "step_index": k, "metric": "spearman_abs", "value": 1 - k / 100, "image": 0}
            for m in ("gradient", "edge") for k, s in enumerate(steps)]
    mask = np.ones((6, 6, 1), np.float32)
    result = SimpleNamespace(steps=steps, rows=rows, methods=["gradient", "edge"], metrics=["spearman_abs"],
                             images=np.zeros((1, 6, 6, 1), np.float32), settings={"mode": "cascading", "n_images": 1},
                             masks={s.label: {"gradient": mask[None], "edge": mask[None]} for s in steps})
    figs = randomization_figures(result, "fake")
    grid = figs["mask_grid_abs.png"]
    titles = [ax.get_title() for ax in grid.axes if ax.get_title()]
    assert len(titles) <= 13 and titles[:2] == ["input", "original"] and titles[-1] == "block99"
    assert len(grid.axes) == 2 * len(titles)
    curve = figs["curves_spearman_abs.png"].axes[0]
    lines = {line.get_label(): line for line in curve.get_lines() if not line.get_label().startswith("_")}
    assert all(len(line.get_xdata()) == 100 for line in lines.values())
    # the edge detector is drawn as a control: grey or black, a broken line, no marker
    assert lines["Edge detector"].get_linestyle() != "-" and lines["Edge detector"].get_marker() in ("", "None")
    assert lines["Gradient"].get_linestyle() == "-"


def test_a_finished_report_folder_is_rendered_again_and_a_folder_without_one_is_refused(report_folder, tmp_path):
    from sanity_checks.cli.report_html import main
    from sanity_checks.errors import SanityCheckError

    out, _ = report_folder
    before = (out / "report.html").read_bytes()
    assert main([str(out)]) == [str(out / "report.html")] and (out / "report.html").read_bytes() == before
    with pytest.raises(SanityCheckError, match="no report.md in"):
        main([str(tmp_path)])
    assert not (tmp_path / "report.html").exists()

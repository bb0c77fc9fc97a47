"""Every notebook runs top to bottom, cell by cell, on the quick setting (SANITY_CHECKS_QUICK=1)."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebook").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("SANITY_CHECKS_QUICK", "1")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    assert not any("helper" in cell.source and "def " in cell.source for cell in notebook.cells
                   if cell.cell_type == "code"), "notebooks call the package instead of defining helpers"
    images = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if "image/png" in out.get("data", {})]
    assert images, "a notebook shows at least one figure"


def test_fashion_joins_the_data_randomization_notebook_only_with_its_trained_models(tmp_path, monkeypatch):
    """At the full setting the notebook runs Fashion-MNIST only when all four trained models are there
    (demo.trained_models_present), under models_dir or $SANITY_CHECKS_MODELS."""
    from sanity_checks.demo import trained_models_present
    from sanity_checks.model import METADATA_NAME

    monkeypatch.delenv("SANITY_CHECKS_MODELS", raising=False)
    names = ["cnn_fashion", "mlp_fashion", "cnn_fashion_randlabels", "mlp_fashion_randlabels"]
    for name in names[:3]:
        (tmp_path / name).mkdir()
        (tmp_path / name / METADATA_NAME).write_text("{}")
    assert trained_models_present("fashion", models_dir=str(tmp_path))
    assert not trained_models_present("fashion", randlabels=True, models_dir=str(tmp_path))
    (tmp_path / names[3]).mkdir()
    (tmp_path / names[3] / METADATA_NAME).write_text("{}")
    assert trained_models_present("fashion", randlabels=True, models_dir=str(tmp_path))
    monkeypatch.setenv("SANITY_CHECKS_MODELS", str(tmp_path))
    assert trained_models_present("fashion", randlabels=True, models_dir="nowhere")
    assert not trained_models_present("mnist", models_dir=str(tmp_path))


def test_refresh_drops_the_notes_about_stale_outputs():
    """A markdown cell tagged outputs-note describes the committed outputs only; re-executing drops it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("refresh", NOTEBOOKS[0].parent / "refresh.py")
    refresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refresh)
    note = nbformat.v4.new_markdown_cell("these outputs predate the default")
    note.metadata["tags"] = [refresh.OUTPUTS_NOTE]
    other = nbformat.v4.new_markdown_cell("kept")
    other.metadata["tags"] = ["something-else"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"), note, other])
    assert refresh.drop_outputs_notes(notebook) == 1
    assert [c.source for c in notebook.cells] == ["1", "kept"]

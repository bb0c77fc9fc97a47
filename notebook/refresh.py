"""Execute the committed notebooks at the original settings and write them back with their outputs,
so that a reader sees every table and figure without running anything (as the original's were).

    make notebooks                                    # the MNIST, data-randomization and parameter-space notebooks
    make notebooks MODELS=../sanity_models           # trained models kept outside the repository
    .venv/bin/python notebook/refresh.py notebook/data_randomization.ipynb   # one notebook

The notebooks find their trained models under ``models/`` (or ``$SANITY_CHECKS_MODELS``) as
``<arch>_<data>[_randlabels]``; a missing one is replaced by a quick model, and the notebook says so
in its output. SANITY_CHECKS_QUICK is cleared here (the original settings). Figures are embedded at
``--dpi`` (default 60) so that the repository stays small. The Inception v3 notebooks are not in the
default list: they stay empty until real weights are present. CI (tests/test_notebooks.py) runs a
copy of every notebook in memory in the quick setting and never writes these files.

A markdown cell tagged ``outputs-note`` says how a notebook's committed outputs differ from what the
current code gives (e.g. outputs made before a default changed); re-executing makes it untrue, so
the refresh drops it.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = ["cnn_mnist_cascading_randomization.ipynb", "cnn_mnist_independent_randomization.ipynb",
           "mlp_mnist_cascading_randomization.ipynb", "mlp_mnist_cascading_noisification.ipynb",
           "data_randomization.ipynb", "parameter_space_saliency.ipynb"]


#: The tag of a markdown note about stale committed outputs, dropped when the notebook is re-executed.
OUTPUTS_NOTE = "outputs-note"


def drop_outputs_notes(notebook):
    """Remove the cells tagged ``outputs-note`` (true of the old outputs only); how many."""
    kept = [c for c in notebook.cells if OUTPUTS_NOTE not in c.get("metadata", {}).get("tags", [])]
    dropped = len(notebook.cells) - len(kept)
    notebook.cells = kept
    return dropped


def tidy_outputs(notebook):
    """Drop stderr streams (TensorFlow's start-up log lines, not results) and store every PNG as a
    256-colour palette image (plots and masks look the same at a third of the size)."""
    import base64
    import io

    from PIL import Image

    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        for output in cell.outputs:
            data = output.get("data", {})
            if "image/png" in data:
                image = Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB")
                buffer = io.BytesIO()
                image.quantize(256).save(buffer, format="PNG", optimize=True)
                data["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")


def refresh(path, dpi, timeout):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    drop_outputs_notes(notebook)
    # The inline backend's resolution, set before the first cell (the kernel reads it at its first figure)
    setup = nbformat.v4.new_code_cell(
        f"%config InlineBackend.rc = {{'figure.dpi': {dpi}, 'savefig.dpi': {dpi}}}")
    notebook.cells.insert(0, setup)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    notebook.cells.pop(0)
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    if errors:
        sys.exit(f"{path}: a cell failed ({errors[0].get('ename')}: {errors[0].get('evalue')}); not written")
    tidy_outputs(notebook)
    for number, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        cell.execution_count = number  # in order, as if run top to bottom once
    tmp = path + ".tmp"
    nbformat.write(notebook, tmp)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", default=[os.path.join(HERE, n) for n in DEFAULT])
    p.add_argument("--dpi", type=int, default=60, help="resolution of the embedded figures (default 60)")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    args = p.parse_args(argv)
    os.environ.pop("SANITY_CHECKS_QUICK", None)
    for path in args.notebooks:
        start = time.time()
        refresh(path, args.dpi, args.timeout)
        print(f"{path}: {time.time() - start:.0f} s, {os.path.getsize(path) / 1024:.0f} KiB", flush=True)


if __name__ == "__main__":
    main()

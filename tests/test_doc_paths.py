"""Commands in the committed documents run from the repository root on a fresh clone: no document
names a path that exists only on the machine a run was made on (/work/..., /tmp/..., /home/...,
/root/...). Model folders are named relative to the root, beside the command that makes them."""
import glob
import json
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MACHINE_LOCAL = re.compile(r"(?<![\w.~-])/(?:work|tmp|home|root)/")


def documents():
    """The committed documents: README, models/README, everything text-like under doc/, the notebooks."""
    paths = [os.path.join(REPO, "README.md"), os.path.join(REPO, "models", "README.md")]
    for ext in ("md", "html", "csv", "json", "txt"):
        paths += glob.glob(os.path.join(REPO, "doc", "**", f"*.{ext}"), recursive=True)
    paths += glob.glob(os.path.join(REPO, "notebook", "*.ipynb"))
    return sorted(p for p in paths if os.path.isfile(p))


def text_of(path):
    """A document's text; for a notebook its cells' sources and text outputs, for a page its text (not
    embedded images, whose base64 can spell anything)."""
    with open(path, encoding="utf-8") as f:
        if path.endswith(".html"):   # embedded figures' base64 left out
            return re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", f.read())
        if not path.endswith(".ipynb"):
            return f.read()
        notebook = json.load(f)
    parts = []
    for cell in notebook["cells"]:
        parts.append("".join(cell.get("source", [])))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", [])))
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/"):
                    parts.append("".join(value))
    return "\n".join(parts)


def test_the_pattern_finds_machine_paths_only():
    assert MACHINE_LOCAL.search("--model /work/models/seeds/cnn_mnist_seed0")
    assert MACHINE_LOCAL.search("(`/tmp/sanity_checks_random_inceptionv3`)")
    assert not MACHINE_LOCAL.search("--model models/seeds/cnn_mnist_seed0 --out results/work/x")
    assert not MACHINE_LOCAL.search("read from `/usr/share/datasets/fashion-mnist/`")


@pytest.mark.parametrize("path", documents(), ids=lambda p: os.path.relpath(p, REPO))
def test_no_document_names_a_machine_local_path(path):
    text = text_of(path)
    found = [line.strip()[:160] for line in text.splitlines() if MACHINE_LOCAL.search(line)]
    assert not found, f"{os.path.relpath(path, REPO)} names machine-local paths: {found}"

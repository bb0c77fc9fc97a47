"""Atomic writes: complete or absent, never half-written; a failure leaves the old content."""
import json

import pytest

from sanity_checks.files import atomic_folder, atomic_path, save_json


def test_atomic_path_failure_leaves_the_old_file(tmp_path):
    target = tmp_path / "r.json"
    save_json({"a": 1}, target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp, open(tmp, "w") as f:
            f.write("{half")
            raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_atomic_folder_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "model"
    with atomic_folder(target) as tmp:
        (tmp_path / tmp / "weights").write_text("v1")
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp_path / tmp / "weights").write_text("half")
            raise RuntimeError("interrupted")
    assert (target / "weights").read_text() == "v1"
    with atomic_folder(target) as tmp:
        (tmp_path / tmp / "weights2").write_text("v2")
    assert sorted(p.name for p in target.iterdir()) == ["weights2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary or old folder left

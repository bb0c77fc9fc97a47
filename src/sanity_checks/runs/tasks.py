"""Tasks: the units of work a job is cut into, each named by the key of its part file."""
from dataclasses import dataclass

from .errors import RunError


@dataclass(frozen=True)
class Task:
    """One unit of work. ``key`` names its part file; ``images``: the image ids it covers."""

    key: str
    images: tuple = ()
    kind: str = "images"


def image_tasks(image_ids, per_task, kind="images"):
    """Tasks over ``image_ids`` in groups of ``per_task`` consecutive ids, keyed by first and last id."""
    if int(per_task) < 1:
        raise RunError(f"--images-per-task must be >= 1, got {per_task}")
    ids = [int(i) for i in image_ids]
    groups = [tuple(ids[i:i + per_task]) for i in range(0, len(ids), int(per_task))]
    return [Task(f"{kind}-{g[0]:06d}-{g[-1]:06d}", g, kind) for g in groups]

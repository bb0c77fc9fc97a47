"""Tasks: the units of work a job is cut into, each named by the key of its part file."""
from dataclasses import dataclass

from .errors import RunError


@dataclass(frozen=True)
class Task:
    """One unit of work. ``key`` names its part file; ``images``: the image ids it covers."""

    key: str
    images: tuple = ()
    kind: str = "images"


def check_per_task(per_task, block=1):
    """``per_task`` as an int, refused (one line) unless it is a multiple of ``block`` or divides it,
    so that no task straddles two blocks of image ids."""
    per_task, block = int(per_task), int(block)
    if per_task < 1:
        raise RunError(f"--images-per-task must be >= 1, got {per_task}")
    if per_task % block and block % per_task:
        divisors = ", ".join(str(d) for d in range(1, block) if block % d == 0)
        raise RunError(f"--images-per-task must be a multiple of {block} or divide it ({divisors}): images are "
                       f"explained in blocks of {block} consecutive image ids; got {per_task}")
    return per_task


def image_tasks(images, per_task, kind="images", ids=None, block=1):
    """Tasks over ``images`` (e.g. positions 0..N-1 in the run), keyed by their first and last.

    Without ``ids``: groups of ``per_task`` consecutive images. With ``ids`` (one per image, e.g. the
    test-set indices of a run from ``--first-image``): the images whose ids fall in one range
    ``[k * per_task, (k + 1) * per_task)``, so that no task straddles two of the blocks of ``block``
    ids images are explained in (``per_task`` must be a multiple of ``block`` or divide it): with
    16, a run from image 18 has a first task of 14 images (ids 18..31), then tasks of 16.
    """
    per_task = check_per_task(per_task, block)
    images = [int(i) for i in images]
    if ids is None:
        groups = [tuple(images[i:i + per_task]) for i in range(0, len(images), per_task)]
    else:
        ids = [int(i) for i in ids]
        if len(ids) != len(images):
            raise RunError(f"{len(ids)} image ids for {len(images)} images")
        by_range = {}
        for image, image_id in zip(images, ids):
            by_range.setdefault(image_id // per_task, []).append(image)
        groups = [tuple(g) for g in by_range.values()]
    return [Task(f"{kind}-{g[0]:06d}-{g[-1]:06d}", g, kind) for g in groups]

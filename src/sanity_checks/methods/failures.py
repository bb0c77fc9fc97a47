"""A method that fails at run time: it raises, returns masks of the wrong shape, or not finite ones.

Outside a run it is an error, one line naming the method and the image (:class:`MethodError`). Inside a
run's task (``with collecting() as log:``, entered by the runners around a task) the failure is recorded
instead, the method's masks of those images are zeros so the other methods go on, and the task's part
carries the records (:func:`to_array`); the merge leaves the method out of the results and says so once,
one line per method (:func:`describe`), however many images, model states and tasks it failed at.
"""
import contextlib
import threading

import numpy as np

from .base import MethodError

_LOCAL = threading.local()   # a Dask worker runs tasks in threads
KEY = "method_failures"      # the part's array of records


@contextlib.contextmanager
def collecting():
    """Record the failures of the methods computed inside (a list of (method, image id, message))."""
    previous = getattr(_LOCAL, "log", None)
    _LOCAL.log = []
    try:
        yield _LOCAL.log
    finally:
        _LOCAL.log = previous


@contextlib.contextmanager
def rows_of_images(image_of_row):
    """Inside, a failure names ``image_of_row(id)``: the image a row's id stands for (sMPRT's noisy copies)."""
    previous = getattr(_LOCAL, "image_of_row", None)
    _LOCAL.image_of_row = image_of_row
    try:
        yield
    finally:
        _LOCAL.image_of_row = previous


def line(method, images, message):
    """One line: the method, the images it failed on (the first five), what went wrong."""
    images = sorted(set(int(i) for i in images))
    shown = ", ".join(map(str, images[:5])) + (f" and {len(images) - 5} more" if len(images) > 5 else "")
    return f"method {method} failed on image{'s' if len(images) > 1 else ''} {shown}: {message}"


def failed(method, image_ids, message):
    """Report method ``method`` failing on ``image_ids``: recorded when collecting, else raised."""
    log = getattr(_LOCAL, "log", None)
    image_of_row = getattr(_LOCAL, "image_of_row", None)
    if image_of_row is not None:
        image_ids = [image_of_row(int(i)) for i in image_ids]
    if log is None:
        raise MethodError(line(method, image_ids, message))
    log.extend((method, int(i), message) for i in dict.fromkeys(int(i) for i in image_ids))


def check(method, masks, shape, image_ids):
    """``masks`` as float32 of ``shape``, its failing images (wrong shape: all; not finite: those) zeroed and
    reported through :func:`failed`."""
    try:
        masks = np.asarray(masks, dtype=np.float32)
    except (TypeError, ValueError) as err:
        masks, message = None, f"returned {type(masks).__name__}, not an array of numbers ({err})"
    else:
        message = (None if masks.shape == tuple(shape)
                   else f"returned masks of shape {masks.shape}, not the images' {tuple(shape)}")
    if message:
        failed(method, image_ids, message)
        return np.zeros(shape, np.float32)
    bad = ~np.isfinite(masks.reshape(len(masks), -1)).all(axis=1)
    if bad.any():
        failed(method, np.asarray(image_ids)[bad], "returned NaN or infinite values")
        masks = masks.copy()
        masks[bad] = 0.0
    return masks


def to_array(log):
    """The records as a unicode array for a part file (no pickled objects): 'method\\timage\\tmessage'."""
    text = list(dict.fromkeys(f"{m}\t{i}\t{' '.join(str(msg).split())}" for m, i, msg in log))
    return np.asarray(text, dtype=str) if text else np.zeros(0, dtype="<U1")


def from_arrays(arrays):
    """{method: ([image ids], first message)} from the record arrays of several parts, in order."""
    out = {}
    for array in arrays:
        for text in np.asarray(array).tolist():
            method, image, message = str(text).split("\t", 2)
            images, first = out.setdefault(method, ([], message))
            images.append(int(image))
    return out


def describe(found, where="", order=()):
    """One line per failed method (in the ``order`` of the run's methods), saying it is left out of the results."""
    rank = {m: i for i, m in enumerate(order)}
    return [line(method, found[method][0], found[method][1]) + f"{where}; it is left out of the results"
            for method in sorted(found, key=lambda m: (rank.get(m, len(rank)), m))]

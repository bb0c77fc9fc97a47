"""Progress inside a task: a bar over the model states a loop goes through, with the time per state,
an estimate of the rest, and the state and method at work.

Off unless this process turned it on (:func:`enable`): ``runs.run`` does so where its own task bar is
shown and stderr is a terminal, so pool and Dask workers (other processes) and logs stay quiet.
"""
import sys

_enabled = False
_bar = None   # the innermost bar of this process, shown with the method at work


def enable(on=True):
    """Show state bars in this process (``on``), or not."""
    global _enabled
    _enabled = bool(on)


def enabled():
    return _enabled


def wanted(progress):
    """A runner's ``progress`` option: on only where stderr is a terminal."""
    return bool(progress) and sys.stderr.isatty()


def states(steps, desc=None, show=None):
    """Yield the ``steps`` (a list) under a bar, when shown (``show``; default :func:`enabled`)."""
    global _bar
    if not (enabled() if show is None else show):
        yield from steps
        return
    import shutil

    from tqdm.auto import tqdm

    outer = _bar
    width = shutil.get_terminal_size((100, 24)).columns   # a terminal that reports 0 columns shows no bar
    bar = tqdm(steps, desc=desc or "model states", unit="state", leave=False, mininterval=0.5, ncols=width)
    _bar = bar
    try:
        for step in bar:
            bar.set_postfix_str(getattr(step, "label", str(step)), refresh=False)
            yield step
    finally:
        bar.close()
        _bar = outer


def method(label):
    """The method now computing (shown beside the state on the current bar)."""
    if _bar is not None:
        state = _bar.postfix.split(" · ")[0] if _bar.postfix else ""
        _bar.set_postfix_str(f"{state} · {label}" if state else label)

"""Import what a command draws with while its model computes.

A run imports matplotlib (about 0.6 s of CPU) only to draw its figures once the tasks are done.
TensorFlow's and torch's kernels release the GIL while they compute, so the same import on a thread
during the tasks costs little wall time: on a short run (100 images, Gradient) it is a tenth of the
whole. Nothing changes in what is computed or drawn, only when the modules are imported: a later
``import`` of one of them waits for this thread's (Python's per-module import lock) and returns it.
"""
import contextlib
import importlib
import threading

#: What a command's figures need: matplotlib's pyplot, the figure builders, and the Agg canvas they
#: are saved with.
FIGURE_MODULES = ("sanity_checks.experiments.result_figures", "matplotlib.backends.backend_agg")


@contextlib.contextmanager
def imported_meanwhile(names=FIGURE_MODULES):
    """Import ``names`` on a thread while the ``with`` body runs; the thread is joined on leaving.

    An import that fails here is left for the import at the point of use to raise, where it belongs.
    """
    def work():
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:
                continue

    thread = threading.Thread(target=work, name="imports-meanwhile", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        thread.join()

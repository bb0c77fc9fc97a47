"""Worker threads: TensorFlow's and torch's threads per worker, set through the environment before either
loads (``SANITY_CHECKS_THREADS`` is read by the PyTorch engine, which calls ``torch.set_num_threads``)."""
import contextlib
import os
import sys


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_threads(workers):
    """TensorFlow threads per worker: the cores shared out, at least one."""
    return max(1, cpu_count() // max(1, int(workers)))


def thread_environment(threads):
    return {"TF_NUM_INTRAOP_THREADS": str(int(threads)), "TF_NUM_INTEROP_THREADS": str(int(threads)),
            "SANITY_CHECKS_THREADS": str(int(threads))}


def limit_threads(threads):
    """Make this process's TensorFlow use ``threads`` threads; only works before its first session."""
    os.environ.update(thread_environment(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    if "tensorflow" in sys.modules:
        import tensorflow as tf
        with contextlib.suppress(RuntimeError):   # too late: sessions exist (the env still reaches children)
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))


@contextlib.contextmanager
def _environment(values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

"""The method: the per-filter saliency profile of one image, built once in the model's TF graph, its input-space
saliency (a second-order gradient), and the ranking of filters by standardized saliency."""
from dataclasses import dataclass

import numpy as np

from ..compat import tf, tf1
from ..errors import SanityCheckError

DEFAULT_K = 10
DEFAULT_BOOST = 100.0
COSINE_EPS = 1e-8            # as torch.nn.CosineSimilarity


@dataclass(frozen=True)
class Layer:
    """One parameter tensor of the profile: ``shape[-1]`` filters (output units) from ``start``."""
    variable: str          # e.g. 'hidden1/weights'
    kind: str              # 'conv' (4-D kernel, HWIO) or 'dense' (2-D, (in, out))
    shape: tuple
    start: int

    @property
    def size(self):
        return self.shape[-1]

    @property
    def stop(self):
        return self.start + self.size


class ParameterSaliency:
    """The per-filter saliency profile of a :class:`~sanity_checks.model.GraphModel`, built once in its graph.

    Args:
        model: a GraphModel; any architecture (kernels are found by their rank, not by name).
        dense: also profile fully connected layers (2-D variables), one entry per output unit.
        signed: aggregate ``mean(g)`` instead of ``mean(|g|)`` (the original's ``--signed``); its
            reference statistics are then computed with the same aggregation.

    Variables the loss does not depend on (e.g. an auxiliary head) are left out; so is a 1x1
    convolution over a 1x1 map (a fully connected layer, see :func:`_kernel_kinds`) unless ``dense``.
    """

    def __init__(self, model, dense=False, signed=False):
        if not hasattr(model, "graph"):   # built in the TensorFlow engine's graph: not behind the contract
            raise SanityCheckError(f"parameter-space saliency runs on TensorFlow models (our model folders, Inception "
                                   f"v3, Keras files); {model.architecture.name} is a "
                                   f"{model.architecture.description or type(model).__name__} model")
        self.model, self.dense, self.signed = model, bool(dense), bool(signed)
        kinds = _kernel_kinds(model)
        candidates = [v for v in model.variables if kinds.get(v.op.name) == "conv"
                      or dense and kinds.get(v.op.name) == "dense"]
        with model.graph.as_default(), tf1.name_scope("parameter_saliency"):
            log_probs = tf.nn.log_softmax(model.logits)
            loss = -tf.reduce_sum(tf.gather(log_probs, model.classes, axis=1, batch_dims=1))
            pairs = [(v, g) for v, g in zip(candidates, tf.gradients(loss, candidates)) if g is not None]
            if not pairs:
                raise SanityCheckError(f"{model.architecture.name} has no convolution kernels the loss depends on"
                                       + ("" if dense else "; try dense=True"))
            self.layers, parts, start = [], [], 0
            for v, g in pairs:
                shape = tuple(v.shape.as_list())
                self.layers.append(Layer(v.op.name, kinds[v.op.name], shape, start))
                start += shape[-1]
                per_unit = tf.reshape(g if signed else tf.abs(g), [-1, shape[-1]])
                parts.append(tf.reduce_mean(per_unit, axis=0))
            self.n_filters = start
            self._profile = tf.concat(parts, axis=0)
            self._mean = tf1.placeholder(tf.float32, [self.n_filters], name="mean")
            self._std = tf1.placeholder(tf.float32, [self.n_filters], name="std")
            self._boosted = tf1.placeholder(tf.float32, [self.n_filters], name="boosted")
            z = (self._profile - self._mean) / self._std
            norms = tf.norm(z) * tf.norm(self._boosted)
            self._cosine = tf.reduce_sum(z * self._boosted) / tf.maximum(norms, COSINE_EPS)
            # Second order: d cosine / d input flows back through the kernel gradients.
            self._input_gradient = tf.gradients(self._cosine, model.inputs)[0]

    @property
    def aggregation(self):
        return "mean" if self.signed else "mean_abs"

    def settings(self):
        """What determines a profile: written beside cached statistics."""
        return {"architecture": self.model.architecture.name, "aggregation": self.aggregation, "dense": self.dense,
                "layers": [[layer.variable, layer.size] for layer in self.layers]}

    def describe(self, index):
        """'hidden2/weights filter 17' for profile entry ``index``."""
        for layer in self.layers:
            if layer.start <= index < layer.stop:
                return f"{layer.variable} {'filter' if layer.kind == 'conv' else 'unit'} {index - layer.start}"
        raise IndexError(f"filter {index} out of range 0..{self.n_filters - 1}")

    def _feed(self, image, label):
        x = self.model.check_images(image)
        if len(x) != 1:
            raise ValueError("one image at a time: a batch would sum its images' gradients")
        return {self.model.inputs: x, self.model.classes: self.model.check_classes(label, 1)}

    def profiles(self, images, labels, progress=False):
        """Naive (unstandardized) profiles (N, F) float32, one session run per image."""
        from tqdm.auto import tqdm

        images = self.model.check_images(images)
        labels = self.model.check_classes(labels, len(images))
        out = np.empty((len(images), self.n_filters), np.float32)
        for i in tqdm(range(len(images)), desc="parameter saliency", unit="image", disable=not progress,
                      leave=False, mininterval=1.0):
            out[i] = self.model.session.run(self._profile, self._feed(images[i], labels[i]))
        return out

    def input_saliency(self, image, label, stats=None, k=DEFAULT_K, boost_factor=DEFAULT_BOOST, top=None):
        """Input-space saliency of one image: d cos(z, boosted z) / d input.

        ``stats``: :class:`SaliencyStats` (None: the naive profile, mu = 0, sigma = 1). ``top``: the
        filters to boost (default: the ``k`` largest signed z, as the original).
        """
        feed = self._feed(image, label)
        mean, std = (np.zeros(self.n_filters), np.ones(self.n_filters)) if stats is None else (stats.mean, stats.std)
        feed.update({self._mean: mean, self._std: std})
        profile = self.model.session.run(self._profile, feed)
        z = (profile.astype(np.float64) - mean) / std
        top = rank_filters(z, "salient", rank="signed")[:k] if top is None else np.asarray(top, dtype=np.int64)
        boosted = z.copy()
        boosted[top] *= boost_factor
        feed[self._boosted] = boosted
        gradient, cosine = self.model.session.run([self._input_gradient, self._cosine], feed)
        return InputSaliency(gradient[0], profile, z, top, float(cosine))


def _kernel_kinds(model):
    """{variable name: 'conv' | 'dense'} for the trainable 4-D and 2-D variables.

    A 4-D kernel every convolution of which sees a 1x1 spatial input (tf-slim Inception's
    ``Logits/Conv2d_1c_1x1``) is a fully connected layer in disguise: it counts as 'dense', so the
    default profile covers the same layers as the original's (PyTorch's Linear layers are 2-D).
    """
    spatial = {}  # variable op name -> spatial input shapes of the convolutions reading it
    for op in model.graph.get_operations():
        if op.type in ("Conv2D", "DepthwiseConv2dNative"):
            source = op.inputs[1].op
            while source.type in ("Identity", "ReadVariableOp") and source.inputs:
                source = source.inputs[0].op
            spatial.setdefault(source.name, []).append(tuple(op.inputs[0].shape.as_list()[1:3]))
    kinds = {}
    for v in model.variables:
        if v.trainable and v.shape.rank == 2:
            kinds[v.op.name] = "dense"
        elif v.trainable and v.shape.rank == 4:
            uses = spatial.get(v.op.name, [])
            kinds[v.op.name] = "dense" if uses and all(shape == (1, 1) for shape in uses) else "conv"
    return kinds


@dataclass
class InputSaliency:
    gradient: np.ndarray     # (H, W, C) d cosine / d input
    profile: np.ndarray      # (F,) naive saliency
    z: np.ndarray            # (F,) standardized saliency
    top: np.ndarray          # the boosted filters
    cosine: float            # cos(z, boosted z) at the image


def rank_filters(z, order="salient", rank="signed", rng=None):
    """All filter ids in pruning/boosting order.

    ``order``: 'salient' (largest first), 'least' (smallest first) or 'random' (a permutation from
    ``rng``, a np.random.Generator). ``rank``: 'signed' ranks by z (the original's top-k) or 'abs'
    by |z| (the public pruning script). Ties keep filter order (stable sort).
    """
    z = np.asarray(z, dtype=np.float64)
    if order == "random":
        if rng is None:
            raise ValueError("order='random' needs rng (a np.random.Generator)")
        return rng.permutation(len(z))
    if rank not in ("signed", "abs"):
        raise ValueError(f"rank must be 'signed' or 'abs', got {rank!r}")
    key = np.abs(z) if rank == "abs" else z
    if order == "salient":
        return np.argsort(-key, kind="stable")
    if order == "least":
        return np.argsort(key, kind="stable")
    raise ValueError(f"order must be 'salient', 'least' or 'random', got {order!r}")

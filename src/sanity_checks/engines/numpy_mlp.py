"""A reference model in numpy alone: a small ReLU network with analytic gradients, behind the contract.

It proves that every method, randomization, check, runner and the report depend on
:mod:`sanity_checks.contract` only (its tests run them all without TensorFlow ever being imported),
and it is the fastest model the tests have.

The network: the image (H, W, C) flattened, then dense ReLU layers ``hidden1``, ``hidden2``, ... and a
dense ``logits`` layer. ``hidden1``'s units can be read as a grid (``grid=(h, w, K)``, h*w*K units),
which gives GradCAM a "convolutional" layer to read. Parameters are ``<layer>/weights`` (fan_in,
units) and ``<layer>/biases``; each layer is one block, ``logits`` first. Everything is computed in
float64 and returned as float32.

- weights are drawn He-normal (std sqrt(2 / fan_in)) and biases 0, from ``np.random.default_rng``
  keyed by the seed and the parameter's name (``initial_value``), so a model's draw depends on
  nothing else;
- :meth:`NumpyMLP.fit` trains it by plain mini-batch SGD on the cross-entropy (analytic gradients);
- :meth:`NumpyMLP.save` writes one ``.npz`` (no pickles) that :func:`load` and
  ``sanity_checks.loading.load_model`` read back, so pool and Dask workers can load it too.
"""
import json
import os

import numpy as np

from ..contract import Architecture, Block, Model, Parameter
from ..errors import ModelError
from ..files import atomic_path
from ..random_streams import parameter_rng

#: The key of the ``.npz`` entry that holds the model's configuration (JSON text).
CONFIG_KEY = "numpy_mlp_config"


class NumpyMLP(Model):
    """A ReLU MLP on images, in numpy.

    Args:
        input_shape: (H, W, C) of one image.
        hidden: units of each hidden layer.
        num_classes: output classes.
        grid: the shape (h, w, K) ``hidden1`` is read as by GradCAM (h*w*K == hidden[0]); None: no
            GradCAM layer.
        seed: the initial draw's seed.
        metadata: what the model's file says of it (e.g. {"data": ...}).
    """

    def __init__(self, input_shape=(12, 12, 1), hidden=(64, 32), num_classes=3, grid=(4, 4, 4), seed=0,
                 metadata=None, name="numpy_mlp"):
        input_shape, hidden = tuple(int(d) for d in input_shape), tuple(int(u) for u in hidden)
        if grid is not None and (not hidden or int(np.prod(grid)) != hidden[0]):
            raise ModelError(f"grid {tuple(grid)} must hold hidden1's {hidden[0] if hidden else 0} units")
        self.config = {"input_shape": list(input_shape), "hidden": list(hidden), "num_classes": int(num_classes),
                       "grid": None if grid is None else [int(d) for d in grid], "name": name}
        self.layer_names = [f"hidden{i}" for i in range(1, len(hidden) + 1)] + ["logits"]
        sizes = [int(np.prod(input_shape))] + list(hidden) + [int(num_classes)]
        self._shapes = {}
        for layer, fan_in, units in zip(self.layer_names, sizes[:-1], sizes[1:]):
            self._shapes[f"{layer}/weights"] = (fan_in, units)
            self._shapes[f"{layer}/biases"] = (units,)
        self.architecture = Architecture(
            name=name, build=None, input_shape=input_shape, num_classes=int(num_classes),
            blocks=tuple(Block(layer, layer) for layer in reversed(self.layer_names)),
            gradcam_layer="hidden1" if grid is not None else None, batch_size=256,
            description=f"numpy MLP {'-'.join(map(str, sizes))}", input_range=(0.0, 1.0))
        self.metadata = dict(metadata or {})
        self.weights = {name: self.initial_value(name, seed) for name in self._shapes}
        self.input_shift = 0.0   # m of a shifted-input model (:meth:`shifted_input_model`)

    # ------------------------------------------------------------------ forward and backward
    def _layers(self, weights=None):
        weights = self.weights if weights is None else weights
        return [(weights[f"{layer}/weights"].astype(np.float64), weights[f"{layer}/biases"].astype(np.float64))
                for layer in self.layer_names]

    def _forward(self, x, weights=None):
        """Pre-activations and activations of every layer, float64; x is (N, H, W, C)."""
        h = x.reshape(len(x), -1).astype(np.float64)
        layers = self._layers(weights)
        pres, acts = [], []
        for i, (w, b) in enumerate(layers):
            if i == 0 and self.input_shift:   # (W (x + m) - W m) + b, W m on a constant batch shaped like h
                pre = (h @ w - np.full_like(h, self.input_shift) @ w) + b
            else:
                pre = h @ w + b
            h = pre if i == len(layers) - 1 else np.maximum(pre, 0.0)
            pres.append(pre)
            acts.append(h)
        return pres, acts

    def _backward(self, pres, classes, guided=False):
        """(d logit[class] / d input (N, D), {hidden layer: d logit[class] / d its activations})."""
        layers = self._layers()
        g = np.zeros_like(pres[-1])
        g[np.arange(len(g)), classes] = 1.0
        at_output = {}
        for i in range(len(layers) - 1, -1, -1):
            if i < len(layers) - 1:                      # through hidden layer i's ReLU
                at_output[self.layer_names[i]] = g
                g = g * (pres[i] > 0)
                if guided:                               # Springenberg et al.: positive gradients only
                    g = g * (g > 0)
            g = g @ layers[i][0].T
        return g, at_output

    def _batches(self, x, batch_size):
        step = int(batch_size or self.architecture.batch_size)
        return [slice(start, start + step) for start in range(0, len(x), step)]

    # ------------------------------------------------------------------ the contract's calls
    def predict_logits(self, x, batch_size=None):
        x = self.check_images(x)
        out = [self._forward(x[part])[1][-1] for part in self._batches(x, batch_size)]
        return (np.concatenate(out) if out else np.zeros((0, self.architecture.num_classes))).astype(np.float32)

    def input_gradients(self, x, classes, guided=False, batch_size=None):
        x = self.check_images(x)
        classes = self.check_classes(classes, len(x))
        out = np.zeros(x.shape, np.float32)
        for part in self._batches(x, batch_size):
            gradient, _ = self._backward(self._forward(x[part])[0], classes[part], guided)
            out[part] = gradient.reshape(x[part].shape)
        return out

    def layer_shapes(self):
        grid = self.config["grid"]
        shapes = {layer: (units,) for layer, units in zip(self.layer_names, self.config["hidden"])}
        if grid is not None:
            shapes["hidden1"] = tuple(grid)
        shapes["logits"] = (self.architecture.num_classes,)
        return shapes

    def layer_values_and_gradients(self, x, classes, layer, batch_size=None):
        shapes = self.layer_shapes()
        if layer not in shapes or layer == "logits":
            raise ModelError(f"unknown layer {layer!r}; valid layers: {', '.join(n for n in shapes if n != 'logits')}")
        x = self.check_images(x)
        classes = self.check_classes(classes, len(x))
        index = self.layer_names.index(layer)
        values, grads = [], []
        for part in self._batches(x, batch_size):
            pres, acts = self._forward(x[part])
            _, at_output = self._backward(pres, classes[part])
            values.append(acts[index])
            grads.append(at_output[layer])
        shape = (len(x),) + shapes[layer]
        return (np.concatenate(values).reshape(shape).astype(np.float32),
                np.concatenate(grads).reshape(shape).astype(np.float32))

    def parameters(self):
        return [Parameter(name, shape, "float32", True) for name, shape in self._shapes.items()]

    def get_weights(self):
        return {name: value.copy() for name, value in self.weights.items()}

    def set_weights(self, values):
        unknown = set(values) - set(self._shapes)
        if unknown:
            raise ModelError(f"no such variables: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            value = np.asarray(value, dtype=np.float32)
            if value.shape != self._shapes[name]:
                raise ModelError(f"{name}: shape {value.shape}, the model's is {self._shapes[name]}")
            self.weights[name] = value.copy()

    def initial_value(self, name, seed):
        """He-normal weights (std sqrt(2 / fan_in)), zero biases; the draw is keyed by (seed, name)."""
        shape = self._shapes[name]
        if name.endswith("/biases"):
            return np.zeros(shape, np.float32)
        std = np.sqrt(2.0 / shape[0])
        return (parameter_rng(seed, name).standard_normal(shape) * std).astype(np.float32)

    def shifted_input_model(self, shift):
        """A copy whose hidden1 computes (W (x + m) - W m) + b, W m computed in every call on a constant batch
        of the call's shape (the weights themselves unchanged): on x + m it computes what this model computes
        on x, in a batch of any size."""
        shifted = NumpyMLP.from_config(self.config, self.get_weights(), self.metadata)
        shifted.input_shift = float(shift)
        return shifted, "hidden1/biases"

    # ------------------------------------------------------------------ training and files
    def fit(self, x, y, epochs=20, learning_rate=0.1, batch_size=32, seed=0):
        """Mini-batch SGD on the mean cross-entropy, the images shuffled each epoch by a generator of
        ``seed``. Returns the training accuracy."""
        x = self.check_images(x)
        y = self.check_classes(y, len(x))
        order_rng = np.random.default_rng(seed)
        params = {name: value.astype(np.float64) for name, value in self.weights.items()}
        for _ in range(int(epochs)):
            order = order_rng.permutation(len(x))
            for start in range(0, len(x), int(batch_size)):
                batch = order[start:start + int(batch_size)]
                pres, acts = self._forward(x[batch], params)
                g = np.exp(pres[-1] - pres[-1].max(axis=1, keepdims=True))
                g /= g.sum(axis=1, keepdims=True)             # softmax; minus the one-hot label below
                g[np.arange(len(batch)), y[batch]] -= 1.0
                g /= len(batch)
                inputs = [x[batch].reshape(len(batch), -1).astype(np.float64)] + acts[:-1]
                for i in range(len(self.layer_names) - 1, -1, -1):
                    layer = self.layer_names[i]
                    grad_w, grad_b = inputs[i].T @ g, g.sum(axis=0)
                    if i:
                        g = (g @ params[f"{layer}/weights"].T) * (pres[i - 1] > 0)
                    params[f"{layer}/weights"] -= learning_rate * grad_w
                    params[f"{layer}/biases"] -= learning_rate * grad_b
        self.weights = {k: v.astype(np.float32) for k, v in params.items()}
        return self.accuracy(x, y)

    @classmethod
    def from_config(cls, config, weights=None, metadata=None):
        model = cls(config["input_shape"], config["hidden"], config["num_classes"], config["grid"],
                    metadata=metadata, name=config.get("name", "numpy_mlp"))
        if weights is not None:
            model.set_weights(weights)
        return model

    def save(self, path):
        """One ``.npz``: the configuration and metadata as JSON text, the weights as arrays (no pickles)."""
        header = json.dumps({"config": self.config, "metadata": self.metadata}, sort_keys=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{CONFIG_KEY: np.array(header)}, **self.weights)
        return path


def is_numpy_mlp_file(path):
    """Whether ``path`` is a ``.npz`` written by :meth:`NumpyMLP.save`."""
    path = os.fspath(path)
    if not (path.endswith(".npz") and os.path.isfile(path)):
        return False
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return CONFIG_KEY in arrays.files
    except (OSError, ValueError):
        return False


def load(path):
    """The :class:`NumpyMLP` saved in ``path`` (read without pickles; the file is never written)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            header = json.loads(str(arrays[CONFIG_KEY]))
            weights = {name: arrays[name] for name in arrays.files if name != CONFIG_KEY}
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(f"cannot read {path} as a numpy model: {err}") from None
    return NumpyMLP.from_config(header["config"], weights, header.get("metadata"))

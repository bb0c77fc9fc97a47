"""The PyTorch engine of the model contract: a ``torch.nn.Module`` behind :class:`~sanity_checks.contract.Model`.

- The user's module is never modified: the engine works on a deep copy (in eval mode, float32, on
  ``device``), whose in-place activations are made out-of-place so that hooks can see them.
- The toolkit's images stay (N, H, W, C) at the contract; the engine transposes them to the module's
  channels-first layout and transposes gradients and 4-D layer values back.
- Logits: a final ``nn.Softmax`` / ``nn.LogSoftmax`` / ``nn.Sigmoid`` module is looked through (its input
  is the explained score), as the TensorFlow engine does for Keras models.
- Input gradients through autograd, in batches; Guided BackProp through backward hooks on the
  ReLU-family modules (only positive gradients pass, through active units); GradCAM on a forward-hooked
  module, by its ``named_modules()`` name (default: the last 4-D output of more than 1x1).
- Blocks, GradCAM's default layer and guided coverage come from one probe pass (``structure``);
  re-draws from each module's own initializer (``initializers``); input invariance (``shift``).
"""
import copy
import os

import numpy as np

from ... import stages
from ...contract import FINAL_ACTIVATION, Architecture, Model, Parameter, explained_logits
from ...errors import ModelError
from ...stages import DEFAULT_GROUPING
from . import initializers, structure


def default_device():
    """The first GPU torch sees, else the CPU."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


class TorchModel(Model):
    """A PyTorch image classifier.

    Args:
        module: the ``torch.nn.Module`` (copied; the original is left as it is).
        input_shape: (H, W, C) of one image as the toolkit holds it; the module gets (N, C, H, W).
        device: 'cpu', 'cuda' or 'cuda:N' (default: the first GPU, else the CPU).
        metadata: what the model's files say of it (data set, labels, ...).
        name: the architecture's name (default: the module's class name).
        batch_size: images per forward pass.
        quiet: no guided-coverage warning (copies made by the engine itself).
        grouping: 'stages' (modules merged by the stages their paths show, torchvision's ``layer3.1``) or
            'layers' (one block per module owning parameters); see :mod:`sanity_checks.stages`.
    """

    framework, framework_layout = "pytorch", "NCHW"

    def __init__(self, module, input_shape, *, device=None, metadata=None, name=None, batch_size=64, quiet=False,
                 grouping=DEFAULT_GROUPING):
        import torch

        if os.environ.get("SANITY_CHECKS_THREADS"):   # a pool or Dask worker's share of the cores
            torch.set_num_threads(int(os.environ["SANITY_CHECKS_THREADS"]))
        self.device = torch.device(device or default_device())
        self.module = copy.deepcopy(module).to(self.device).float().eval()
        for sub in self.module.modules():
            if getattr(sub, "inplace", False):
                sub.inplace = False
        self._submodules = dict(self.module.named_modules())
        shape = tuple(int(d) for d in input_shape)
        if len(shape) != 3:
            raise ModelError(f"input_shape is (H, W, C) of one image, got {input_shape}")
        try:
            self.probe_result = structure.probe(self.module, shape, self.device)
        except (RuntimeError, TypeError, ValueError) as err:
            raise ModelError(f"the model cannot take images of shape {shape} (H, W, C; it gets them as "
                             f"(N, {shape[2]}, {shape[0]}, {shape[1]})): {str(err).splitlines()[0]}") from None
        out = self.probe_result.output_shape
        if len(out) != 2 or out[1] < 1:
            raise ModelError(f"the model's output must be (batch, classes), got shape {out}")
        name = name or type(module).__name__
        self.architecture = Architecture(
            name=name, build=None, input_shape=shape, num_classes=int(out[1]),
            blocks=stages.group(structure.blocks(self.module, self.probe_result), "torch", grouping),
            gradcam_layer=structure.default_gradcam_layer(self.probe_result, shape[:2]), batch_size=int(batch_size),
            description=f"PyTorch {type(module).__name__}")
        self.metadata = dict(metadata or {})
        if self.probe_result.softmax is not None:
            self.metadata["explained"] = explained_logits(self.probe_result.activation)
            self.metadata[FINAL_ACTIVATION] = self.probe_result.activation
        guided, functional = structure.guided_coverage(self.module)
        self._guided_modules = [self._submodules[n] for n in guided]
        self.guided_equals_gradient = (not guided) if quiet else structure.warn_guided_coverage(name, guided,
                                                                                                functional)
        self._softmax_input = None
        if self.probe_result.softmax is not None:
            self._submodules[self.probe_result.softmax].register_forward_hook(self._keep_softmax_input)
        self._tensors = dict(self.module.named_parameters())
        self._tensors.update({n: b for n, b in self.module.named_buffers() if b.is_floating_point()})
        params = {n for n, _ in self.module.named_parameters()}   # the rest are float buffers (not trained)
        self._parameters = [Parameter(name, tuple(t.shape), str(t.dtype).replace("torch.", ""), name in params)
                            for name, t in self._tensors.items()]
        self._trained = self.get_weights()

    # ------------------------------------------------------------------ helpers
    def _keep_softmax_input(self, module, inputs, output):
        self._softmax_input = inputs[0]

    def _forward(self, x):
        """Logits of a (N, C, H, W) tensor: a final softmax module's input, else the output."""
        out = self.module(x)
        return self._softmax_input if self.probe_result.softmax is not None else out

    def _to_torch(self, x):
        import torch
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(self.device)

    @staticmethod
    def _to_numpy(t):
        """A tensor back to numpy, 4-D ones from (N, C, H, W) to (N, H, W, C)."""
        value = t.detach().cpu().numpy()
        return value.transpose(0, 2, 3, 1) if value.ndim == 4 else value

    def _batches(self, n, batch_size):
        step = int(batch_size or self.architecture.batch_size)
        return [slice(start, start + step) for start in range(0, n, step)]

    def _class_scores(self, logits, classes):
        import torch
        index = torch.as_tensor(np.asarray(classes, dtype=np.int64), device=self.device)[:, None]
        return logits.gather(1, index).sum()

    # ------------------------------------------------------------------ the contract's calls
    def predict_logits(self, x, batch_size=None):
        import torch

        x = self.check_images(x)
        out = np.zeros((len(x), self.architecture.num_classes), np.float32)
        with torch.no_grad():
            for part in self._batches(len(x), batch_size):
                out[part] = self._forward(self._to_torch(x[part])).cpu().numpy()
        return out

    def input_gradients(self, x, classes, guided=False, batch_size=None):
        import torch

        x = self.check_images(x)
        classes = self.check_classes(classes, len(x))
        hooks = [m.register_full_backward_hook(_guided_hook) for m in self._guided_modules] if guided else []
        out = np.zeros(x.shape, np.float32)
        try:
            for part in self._batches(len(x), batch_size):
                t = self._to_torch(x[part]).requires_grad_(True)
                gradient, = torch.autograd.grad(self._class_scores(self._forward(t), classes[part]), t)
                out[part] = self._to_numpy(gradient)
        finally:
            for hook in hooks:
                hook.remove()
        return out

    def layer_shapes(self):
        return {name: (shape[1:] + shape[:1] if len(shape) == 3 else shape)
                for name, shape in self.probe_result.shapes.items() if name}

    def layer_values_and_gradients(self, x, classes, layer, batch_size=None):
        import torch

        if layer not in self.layer_shapes():
            raise ModelError(f"unknown layer {layer!r}; valid layers: {', '.join(self.layer_shapes())}")
        x = self.check_images(x)
        classes = self.check_classes(classes, len(x))
        kept = {}
        hook = self._submodules[layer].register_forward_hook(lambda mod, inputs, output: kept.__setitem__("v", output))
        values, grads = [], []
        try:
            for part in self._batches(len(x), batch_size):
                scores = self._class_scores(self._forward(self._to_torch(x[part])), classes[part])
                gradient, = torch.autograd.grad(scores, kept["v"])
                values.append(self._to_numpy(kept["v"]))
                grads.append(self._to_numpy(gradient))
        finally:
            hook.remove()
        return np.concatenate(values).astype(np.float32), np.concatenate(grads).astype(np.float32)

    def framework_model(self):
        """The engine's copy of the module (eval mode), holding the weights set now."""
        return self.module

    def parameters(self):
        return self._parameters

    def get_weights(self):
        return {name: t.detach().cpu().numpy().copy() for name, t in self._tensors.items()}

    def set_weights(self, values):
        import torch

        unknown = set(values) - set(self._tensors)
        if unknown:
            raise ModelError(f"no such variables: {', '.join(sorted(unknown))}")
        with torch.no_grad():
            for name, value in values.items():
                target = self._tensors[name]
                value = np.asarray(value)
                if tuple(value.shape) != tuple(target.shape):
                    raise ModelError(f"{name}: shape {value.shape}, the model's is {tuple(target.shape)}")
                target.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(target.device, target.dtype))

    def initial_value(self, name, seed):
        if name not in self._tensors:
            raise ModelError(f"no such variable: {name}")
        return initializers.redraw(self.module, name, seed, self._trained[name])

    def shifted_input_model(self, shift):
        from .shift import shifted_model
        return shifted_model(self, shift)


def _guided_hook(module, grad_input, grad_output):
    """Guided backprop through a ReLU-family module: of its ordinary input gradient (the output gradient
    gated by the active units), only the positive part passes (Springenberg et al.)."""
    return tuple(None if g is None else g.clamp(min=0) for g in grad_input)

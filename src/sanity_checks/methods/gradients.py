"""Gradient, Gradient⊙Input and Guided BackProp: one batched gradient run each.

Same values as PAIR's ``GradientSaliency`` / ``GuidedBackprop`` (``tf.gradients`` of the class's
pre-softmax logit w.r.t. the input), for a whole batch per ``session.run``.
"""
from .base import finish, resolve_classes


def gradient(model, images, classes=None, *, batch_size=None):
    """d logit[class] / d input, signed. (N, H, W, C) -> (N, H, W, C) float32."""
    x = model.check_images(images)
    classes = resolve_classes(model, x, classes, batch_size)
    return finish(model.input_gradients(x, classes, batch_size=batch_size), "gradient")


def gradient_x_input(model, images, classes=None, *, batch_size=None, gradient_masks=None):
    """Gradient ⊙ input, elementwise (the original's "Input-Grad"). (N, H, W, C) float32.

    ``gradient_masks``: the gradient of these images and classes if already computed.
    """
    x = model.check_images(images)
    if gradient_masks is None:
        gradient_masks = gradient(model, x, classes, batch_size=batch_size)
    return finish(gradient_masks * x, "gradient_x_input")


def guided_backprop(model, images, classes=None, *, batch_size=None):
    """Guided backprop (ReLU gradients gated by positive gradient and positive activation).

    Runs the model's guided tower, which shares the session's current weights.
    (N, H, W, C) -> (N, H, W, C) float32.
    """
    x = model.check_images(images)
    classes = resolve_classes(model, x, classes, batch_size)
    return finish(model.input_gradients(x, classes, guided=True, batch_size=batch_size), "guided_backprop")

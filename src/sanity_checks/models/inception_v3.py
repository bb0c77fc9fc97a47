"""Inception v3 on ImageNet, as the original's ``Inceptionv3_Wrapper`` builds it (REFERENCE A3).

tf-slim's ``inception_v3(is_training=False, num_classes=1001)`` under ``inception_v3_arg_scope()``:
weight decay 4e-5, batch norm decay 0.9997, epsilon 0.001, no gamma (``scale=False``), conv kernels
initialized by ``variance_scaling_initializer()`` (truncated normal, std sqrt(1.3 * 2 / fan_in)).
Inputs are (299, 299, 3) in [-1, 1] (``sanity_checks.imagenet.load_image``); the logits are the
main head's ``InceptionV3/Logits/SpatialSqueeze``, 1001 classes with 0 = background, so class
``k`` is ImageNet class ``k - 1`` of the usual 1000 (``sanity_checks.imagenet.class_names``).

Blocks: the 17 of the original's cascading order, top first. Each owns the variables under
``InceptionV3/<block>/``; the max-pool blocks between them have no variables and are not listed.
The auxiliary head ``InceptionV3/AuxLogits`` is built (its variables are in the public checkpoint)
but belongs to no block, so it is never randomized, as in the original: it branches off Mixed_6e
and does not feed the main logits, so it cannot change any mask.
"""
from .. import compat  # the shim must run before tf_slim.nets imports its layers
from ..contract import Architecture, Block

SCOPE = "InceptionV3"
NUM_CLASSES = 1001
IMAGE_SIZE = 299

#: The original's ``inception_block_names()``: the cascading order, top (logits) first.
BLOCK_NAMES = ("Logits", "Mixed_7c", "Mixed_7b", "Mixed_7a", "Mixed_6e", "Mixed_6d", "Mixed_6c", "Mixed_6b",
               "Mixed_6a", "Mixed_5d", "Mixed_5c", "Mixed_5b", "Conv2d_4a_3x3", "Conv2d_3b_1x1",
               "Conv2d_2b_3x3", "Conv2d_2a_3x3", "Conv2d_1a_3x3")


def build(inputs, num_classes=NUM_CLASSES):
    """``inputs``: float32 (N, 299, 299, 3) in [-1, 1]. Returns ``(logits (N, num_classes), end_points)``.

    ``end_points`` are tf-slim's: every block by name ('Mixed_7c' is GradCAM's layer), plus
    'AuxLogits', 'PreLogits', 'Logits' and 'Predictions'.
    """
    slim = compat.load_slim()  # tf-slim (and tf-keras) only when an Inception graph is built
    from tf_slim.nets import inception_v3 as slim_inception

    with slim.arg_scope(slim_inception.inception_v3_arg_scope()):
        logits, end_points = slim_inception.inception_v3(
            inputs, num_classes=num_classes, is_training=False, scope=SCOPE)
    return logits, dict(end_points)


ARCHITECTURE = Architecture(
    name="inception_v3",
    build=build,
    input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
    input_range=(-1.0, 1.0),
    num_classes=NUM_CLASSES,
    blocks=tuple(Block(name, f"{SCOPE}/{name}") for name in BLOCK_NAMES),
    gradcam_layer="Mixed_7c",
    # On CPU, larger batches gained nothing per image (0.16-0.34 s per input gradient measured for
    # batches of 1 to 16, 2 cores) and only cost memory.
    batch_size=8,
    description="Inception v3 (TF-slim), ImageNet, 1001 classes (0 = background)",
)

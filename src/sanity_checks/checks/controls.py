"""The controls shown beside every method in every check.

- :data:`RANDOM`: uniform noise U(0, 1) of the image's shape, drawn fresh per model state from a
  generator seeded by (run seed, image id, state). It knows nothing of the model or the image, and
  changes completely between states: it scores best on every randomization test (Binder et al.
  2023) and no better than chance on faithfulness.
- :data:`EDGE`: the Sobel edge map of the image (``sanity_checks.edge``), the paper's Fig. 1
  baseline. It knows the image but not the model: it never changes under randomization.
- :data:`INPUT_NOISE`: the image times uniform noise, x ⊙ u, u drawn fresh per state like the
  random control (Adebayo et al. 2018, Sec. 5.2: "the input dominates the product"). It knows the
  image but not the model, and changes completely between states except for the input's
  structure: on MNIST-like images with a zero background, two such maps still rank-correlate at
  ~0.99 in absolute value. A method that changes no more than this under randomization shows
  only the input's structure (Gradient⊙Input and Integrated Gradients on MNIST).

A verdict is read against them (see ``sanity_checks.report``).
"""
import numpy as np

from ..edge import edge_detector
from ..random_streams import draw_rng

RANDOM = "control_random"
EDGE = "control_edge"
INPUT_NOISE = "control_input_noise"
CONTROLS = (RANDOM, INPUT_NOISE, EDGE)
LABELS = {RANDOM: "Control: uniform noise", EDGE: "Control: edge detector",
          INPUT_NOISE: "Control: input × uniform noise"}


def random_maps(shape, image_ids, seed, state, what="control_random"):
    """(N, *shape) float32 uniform noise; image i's map is drawn from (seed, image_ids[i], state) alone."""
    return np.stack([draw_rng(seed, i, f"{what}/{state}").random(tuple(shape)) for i in image_ids]
                    ).astype(np.float32)


def input_noise_maps(images, image_ids, seed, state):
    """(N, H, W, C) float32 x ⊙ u, u ~ U(0, 1) drawn from (seed, image id, state) alone."""
    images = np.asarray(images, dtype=np.float32)
    return images * random_maps(images.shape[1:], image_ids, seed, state, "control_input_noise")


def edge_maps(images):
    """(N, H, W, C) float32 Sobel edge magnitude of each image."""
    return edge_detector(np.asarray(images, dtype=np.float64)).astype(np.float32)


def control_maps(images, image_ids, seed, state):
    images = np.asarray(images)
    return {RANDOM: random_maps(images.shape[1:], image_ids, seed, state),
            INPUT_NOISE: input_noise_maps(images, image_ids, seed, state), EDGE: edge_maps(images)}

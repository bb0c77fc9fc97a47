"""The LeNet of Hedström et al. 2024 ("Sanity Checks Revisited"), as MetaQuantus defines it
(``metaquantus/helpers/models.py``), and the batched version of their training augmentation.

Architecture: conv 1→6 5×5 padding 2, ReLU, max-pool 2, conv 6→16 5×5, ReLU, max-pool 2,
fc 400→120→84→10 with ReLUs between. The module names are theirs (``conv1``, ``conv2``, ``fc1``,
``fc2``, ``fc3``), so a state dict of theirs loads here. The ReLUs are functional calls, as theirs:
backward hooks cannot see them, so Guided BackProp on this model is the plain gradient (our engine
warns so).

Input: (N, 1, 28, 28) in [0, 1] (no normalization); output: (N, 10) logits.
"""
import math

import torch
import torch.nn.functional as F


class HedstromLeNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, kernel_size=5, stride=1, padding=2)
        self.max_pool_1 = torch.nn.MaxPool2d(kernel_size=2)
        self.conv2 = torch.nn.Conv2d(6, 16, kernel_size=5, stride=1, padding=0)
        self.max_pool_2 = torch.nn.MaxPool2d(kernel_size=2)
        self.fc1 = torch.nn.Linear(16 * 5 * 5, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        x = self.max_pool_1(F.relu(self.conv1(x)))
        x = self.max_pool_2(F.relu(self.conv2(x)))
        x = x.reshape(x.shape[0], 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def make_model():
    """Factory for ``--model bench/hedstrom_lenet_model.py:make_model``."""
    return HedstromLeNet()


#: Their augmentation: RandomAffine(degrees=(0, 10), scale=(0.8, 1.1)), RandomHorizontalFlip(p=0.25).
DEGREES = (0.0, 10.0)
SCALE = (0.8, 1.1)
FLIP_P = 0.25


def affine_params(n, generator):
    """Per-image rotation angle (degrees), scale and flip flag, drawn from ``generator`` (a
    ``torch.Generator``) uniformly in the ranges of :data:`DEGREES` / :data:`SCALE`, flip with
    probability :data:`FLIP_P`."""
    u = torch.rand(n, 3, generator=generator, dtype=torch.float64)
    angle = DEGREES[0] + (DEGREES[1] - DEGREES[0]) * u[:, 0]
    scale = SCALE[0] + (SCALE[1] - SCALE[0]) * u[:, 1]
    flip = u[:, 2] < FLIP_P
    return angle, scale, flip


def affine_batch(x, angle, scale):
    """``torchvision.transforms.functional.affine(x[i], angle[i], [0, 0], scale[i], [0, 0])`` for every
    image of ``x`` (N, C, H, W) at once: nearest interpolation, zero fill, centre of rotation the image
    centre (torchvision's convention: a positive angle turns the image counter-clockwise). The sampling
    grid is torchvision's inverse matrix, (1/s)[[cos a, sin a], [-sin a, cos a]], in normalized
    coordinates (no translation or shear, and H = W, so the normalization does not change it)."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError("affine_batch takes square images")
    rad = angle * (math.pi / 180.0)
    cos, sin = torch.cos(rad) / scale, torch.sin(rad) / scale
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, sin, zero], 1), torch.stack([-sin, cos, zero], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def augment(x, generator):
    """Their training augmentation of a batch (N, 1, H, W): random affine, then horizontal flip."""
    angle, scale, flip = affine_params(x.shape[0], generator)
    x = affine_batch(x, angle, scale)
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)

"""A model's own stages, read from its layer names: the randomization blocks of a real network grouped
so that it has tens of model states, not hundreds.

Models we did not write (``keras.applications``, torchvision, timm) name their layers by stage and
block: DenseNet's ``conv5_block16_1_conv``, ConvNeXt's ``convnext_tiny_stage_2_block_4_layernorm``,
EfficientNet's ``block6a_expand_conv``, MobileNet's ``expanded_conv_3_project``, torchvision's
``layer3.1.conv2``. :func:`stage_of` reads the block such a name belongs to (``conv5_block16``,
``..._stage_2_block_4``, ``block6a``, ``expanded_conv_3``, ``layer3.1``), and :func:`group` merges the
per-layer blocks of one stage into one block, placed where its topmost layer was (blocks stay top
first, in the forward pass's order). A layer whose name shows no stage stays a block of its own, under
its own name, so a model whose names show none keeps exactly its per-layer blocks.

Groupings: ``"stages"`` (the default for Keras and PyTorch models) and ``"layers"`` (one block per
weighted layer, batch norm folded in, as before; ``--blocks layers``). Models that declare their blocks
(our CNN, MLP and Inception v3) keep them whatever the grouping.
"""
import re

from .contract import Block
from .errors import SanityCheckError

GROUPINGS = ("stages", "layers")
DEFAULT_GROUPING = "stages"

#: Keras names (nested models joined by "/"): the first matching pattern gives the stage.
_KERAS_STAGES = (
    re.compile(r"^(.*?block_?\d+[a-z]?)(?=[_/]|$)"),          # conv5_block16_*, stage_2_block_4_*, block6a_*
    re.compile(r"^(.*?expanded_conv(?:_\d+)?)(?=_[a-z])"),    # MobileNet's expanded_conv_3_*
    re.compile(r"^(.*?[a-z]+\d+)(?=_[a-z])"),                 # DenseNet's transitions pool2_conv, pool2_bn
    re.compile(r"^((?:.*_)?stem)(?=/)"),                       # a stem sub-model: convnext_tiny_stem/...
)


def check_grouping(grouping):
    if grouping not in GROUPINGS:
        raise SanityCheckError(f"unknown block grouping {grouping!r}; valid: {', '.join(GROUPINGS)}")
    return grouping


def _torch_stage(path):
    """torchvision/timm module paths: the first indexed child (``layer3.1`` of ``layer3.1.conv2``,
    ``features.4`` of ``features.4.0.block.1.0``), else the deepest numbered parent
    (``features.denseblock2.denselayer5`` of ``...denselayer5.conv1``), else the module itself."""
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        if part.isdigit():
            return ".".join(parts[:i + 1])
    for i in range(len(parts) - 2, -1, -1):
        if re.fullmatch(r"[A-Za-z_]+\d+", parts[i]):
            return ".".join(parts[:i + 1])
    return path


def stage_of(name, style="keras"):
    """The stage (block of layers) layer ``name`` belongs to, or ``name`` itself when it shows none.
    ``style``: 'keras' (names with '_', nesting with '/') or 'torch' (module paths with '.')."""
    if style == "torch":
        return _torch_stage(name)
    for pattern in _KERAS_STAGES:
        found = pattern.match(name)
        if found and found.group(1) != name:
            return found.group(1)
    return name


def group(blocks, style="keras", grouping=DEFAULT_GROUPING):
    """``blocks`` (top first, each with its variable list) merged by :func:`stage_of` their names, for
    ``grouping`` 'stages'; unchanged for 'layers'. A stage of one layer keeps that layer's name; a stage
    sits where its topmost layer was; its variables are its layers', top first."""
    if check_grouping(grouping) == "layers":
        return tuple(blocks)
    members = {}   # stage -> [blocks], in the order met (top first)
    for block in blocks:
        members.setdefault(stage_of(block.name, style), []).append(block)
    out = []
    for stage, parts in members.items():
        if len(parts) == 1:
            out.append(parts[0])
        else:
            out.append(Block(stage, variables=tuple(v for b in parts for v in b.variables)))
    return tuple(out)

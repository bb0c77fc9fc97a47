"""A Keras model's blocks, top first: each weighted leaf layer (batch norm folded into the layer that
feeds it), or the user's layer groups ``{block: [layer-name regex, ...]}``. A layer whose weights are all
non-trainable (an adapted Normalization) is no block: randomization leaves such weights, so its step
would change nothing."""
import json
import re

from ..errors import ModelError
from .. import stages
from ..models import Block
from ..stages import DEFAULT_GROUPING
from .layers import backing_variable, is_container, walk_layers


def derive_blocks(builder, groups=None, grouping=DEFAULT_GROUPING):
    """(blocks, top first, the paths of the layers left out because all their weights are non-trainable).

    Blocks: each weighted leaf layer (batch norm folded into the layer feeding it), merged by the stages
    their names show (``grouping`` 'stages', :mod:`sanity_checks.stages`; 'layers': not merged), or the
    layer groups of ``groups`` ({block: [regex, ...]}, matched from the start of each layer path)."""
    call = builder.calls[0]
    records = call["records"]
    producer = {}   # output tensor name -> path
    for path, (out, _) in records.items():
        producer.setdefault(out.name, path)
    layers = dict(walk_layers(builder.model))
    weighted = [path for path in records if path in layers and not is_container(layers[path])
                and layers[path].weights]
    units = {}      # host path -> [paths]
    order = []
    for path in weighted:
        layer = layers[path]
        host = path
        if type(layer).__name__ in ("BatchNormalization", "SyncBatchNormalization"):
            source = records[path][1]
            feeding = producer.get(getattr(source, "name", None))
            if feeding in units:
                host = feeding
        if host == path:
            units[path] = [path]
            order.append(path)
        else:
            units[host].append(path)
    inert = [host for host in order if not any(backing_variable(w).trainable for p in units[host]
                                               for w in layers[p].weights)]
    order = [host for host in order if host not in inert]
    # Layers with weights the call never reached (e.g. a head not on the output's path) are no block.
    def variables_of(paths):
        return tuple(backing_variable(w).op.name for p in paths for w in layers[p].weights)

    blocks = []
    if groups:
        compiled = {name: [re.compile(p) for p in patterns] for name, patterns in groups.items()}
        assigned = {}
        for host in order:
            for name, patterns in compiled.items():
                if any(p.match(path) for path in units[host] for p in patterns):
                    assigned.setdefault(name, []).append(host)
                    break
        empty = [name for name in groups if name not in assigned]
        if empty:
            raise ModelError(f"blocks {', '.join(empty)} match no layer with trainable weights; layers: "
                             + ", ".join(order[:12]) + (", ..." if len(order) > 12 else ""))
        placed, seen = [], set()   # a group sits where its topmost layer is: scan top first
        for host in reversed(order):
            name = next((n for n, hosts in assigned.items() if host in hosts), host)
            if name not in seen:
                seen.add(name)
                placed.append(name)
        for name in placed:
            hosts = assigned.get(name, [name])
            blocks.append(Block(name, variables=variables_of([p for h in hosts for p in units[h]])))
        return tuple(blocks), inert
    for host in reversed(order):
        blocks.append(Block(host, variables=variables_of(units[host])))
    return stages.group(blocks, "keras", grouping), inert


def read_blocks_file(path):
    if path is None:
        return None
    try:
        with open(path) as f:
            groups = json.load(f)
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read blocks file {path}: {err}") from None
    if not isinstance(groups, dict) or not all(isinstance(v, (list, str)) for v in groups.values()):
        raise ModelError(f"{path} must hold a JSON object {{block name: [layer-name regex, ...]}}")
    return {name: [patterns] if isinstance(patterns, str) else list(patterns) for name, patterns in groups.items()}
